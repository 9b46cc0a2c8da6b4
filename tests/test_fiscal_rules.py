"""The rules table (FISCAL_RULES.md §3): nominal and due dates worked out by hand,
who each rule applies to, and the period syntax."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sempi_cli.fiscal.calendar import is_working_day
from sempi_cli.fiscal.engine import deadline_of
from sempi_cli.fiscal.rules import CADENCES, RULES, RULES_BY_ID, find_rule
from sempi_cli.services.clients.profile import defaults

D = date.fromisoformat

# (rule, period, nominal, due): written out from FISCAL_RULES §3 and a 2026-2027
# calendar (2026: 25 Apr Sat, 16 May Sat, 31 May Sun, 25 Jul Sat, 15-16 Aug Sat-Sun,
# 25 Oct Sun, 31 Oct Sat, 27 Dec Sun; 2027: 16 Jan Sat, 28 Feb Sun).
BY_HAND = [
    # IVA-M: month M -> 16 of M+1
    ("IVA-M", "2026-01", "2026-02-16", "2026-02-16"),
    ("IVA-M", "2026-04", "2026-05-16", "2026-05-18"),
    ("IVA-M", "2026-07", "2026-08-16", "2026-08-20"),  # Sun -> Mon 17 -> rule F
    ("IVA-M", "2026-12", "2027-01-16", "2027-01-18"),  # December -> January Y+1
    # IVA-T: Q1 16 May, Q2 16 Aug, Q3 16 Nov
    ("IVA-T", "2026-Q1", "2026-05-16", "2026-05-18"),
    ("IVA-T", "2026-Q2", "2026-08-16", "2026-08-20"),
    ("IVA-T", "2026-Q3", "2026-11-16", "2026-11-16"),
    # IVA-T4: Q4 with the annual balance, 16 Mar Y+1
    ("IVA-T4", "2026-Q4", "2027-03-16", "2027-03-16"),
    # IVA-TS: as IVA-T, Q4 -> 16 Feb Y+1
    ("IVA-TS", "2026-Q1", "2026-05-16", "2026-05-18"),
    ("IVA-TS", "2026-Q2", "2026-08-16", "2026-08-20"),
    ("IVA-TS", "2026-Q3", "2026-11-16", "2026-11-16"),
    ("IVA-TS", "2026-Q4", "2027-02-16", "2027-02-16"),
    # IVA-ACC: 27 Dec
    ("IVA-ACC", "2026", "2026-12-27", "2026-12-28"),
    ("IVA-ACC", "2025", "2025-12-27", "2025-12-29"),  # NT+ Fisco: shifted to 29 Dec 2025
    # IVA-SALDO: 16 Mar Y+1
    ("IVA-SALDO", "2025", "2026-03-16", "2026-03-16"),
    ("IVA-SALDO", "2026", "2027-03-16", "2027-03-16"),
    # LIPE: 31 May, 30 Sep, 30 Nov, end of Feb Y+1
    ("LIPE", "2026-Q1", "2026-05-31", "2026-06-01"),
    ("LIPE", "2026-Q2", "2026-09-30", "2026-09-30"),
    ("LIPE", "2026-Q3", "2026-11-30", "2026-11-30"),
    ("LIPE", "2026-Q4", "2027-02-28", "2027-03-01"),
    ("LIPE", "2025-Q4", "2026-02-28", "2026-03-02"),  # non-leap: Sat 28 Feb -> Mon 2 Mar
    ("LIPE", "2027-Q4", "2028-02-29", "2028-02-29"),  # leap: Tue 29 Feb
    # INTRA-M: 25 of M+1, no August rule
    ("INTRA-M", "2026-03", "2026-04-25", "2026-04-27"),
    ("INTRA-M", "2026-07", "2026-08-25", "2026-08-25"),
    ("INTRA-M", "2024-07", "2024-08-25", "2024-08-26"),  # Sun -> Mon, W only
    ("INTRA-M", "2029-07", "2029-08-25", "2029-08-27"),  # Sat -> Mon, W only
    # INTRA-T: 25 Apr, 25 Jul, 25 Oct, 25 Jan Y+1
    ("INTRA-T", "2026-Q1", "2026-04-25", "2026-04-27"),
    ("INTRA-T", "2026-Q2", "2026-07-25", "2026-07-27"),
    ("INTRA-T", "2026-Q3", "2026-10-25", "2026-10-26"),
    ("INTRA-T", "2026-Q4", "2027-01-25", "2027-01-25"),
    # RA, INPS-DIP, INPS-GS-C: 16 of M+1
    ("RA", "2026-07", "2026-08-16", "2026-08-20"),
    ("RA", "2026-12", "2027-01-16", "2027-01-18"),
    ("INPS-DIP", "2026-05", "2026-06-16", "2026-06-16"),
    ("INPS-DIP", "2026-07", "2026-08-16", "2026-08-20"),
    ("INPS-GS-C", "2026-10", "2026-11-16", "2026-11-16"),
    ("INPS-GS-C", "2026-07", "2026-08-16", "2026-08-20"),
    # INPS-GS-P: 30 Jun, 30 Nov
    ("INPS-GS-P", "2026-R1", "2026-06-30", "2026-06-30"),
    ("INPS-GS-P", "2026-R2", "2026-11-30", "2026-11-30"),
    # INPS-IVS: 16 May, 16 Aug, 16 Nov, 16 Feb Y+1
    ("INPS-IVS", "2026-Q1", "2026-05-16", "2026-05-18"),
    ("INPS-IVS", "2026-Q2", "2026-08-16", "2026-08-20"),
    ("INPS-IVS", "2026-Q3", "2026-11-16", "2026-11-16"),
    ("INPS-IVS", "2026-Q4", "2027-02-16", "2027-02-16"),
    # INAIL (autoliquidazione 2026, on the wages of 2025): 16 Feb; dichiarazione
    # retribuzioni end of Feb, both of the year they are named by
    ("INAIL", "2026", "2026-02-16", "2026-02-16"),
    ("INAIL", "2027", "2027-02-16", "2027-02-16"),
    ("INAIL-DICH", "2026", "2026-02-28", "2026-03-02"),
    ("INAIL-DICH", "2027", "2027-02-28", "2027-03-01"),
    ("INAIL-DICH", "2028", "2028-02-29", "2028-02-29"),
    # AF-TD16, AF-TD17-19: 15 of M+1
    ("AF-TD16", "2026-02", "2026-03-15", "2026-03-16"),
    ("AF-TD16", "2026-07", "2026-08-15", "2026-08-20"),  # Sat+holiday, Sun, Mon 17 -> F
    ("AF-TD17-19", "2026-01", "2026-02-15", "2026-02-16"),
    ("AF-TD17-19", "2026-11", "2026-12-15", "2026-12-15"),
    # BOLLO: as LIPE
    ("BOLLO", "2026-Q1", "2026-05-31", "2026-06-01"),
    ("BOLLO", "2026-Q2", "2026-09-30", "2026-09-30"),
    ("BOLLO", "2026-Q3", "2026-11-30", "2026-11-30"),
    ("BOLLO", "2026-Q4", "2027-02-28", "2027-03-01"),
    # The yearly forms are named by the year they are filed in (the tax year before):
    # DICH-IVA: 30 Apr
    ("DICH-IVA", "2026", "2026-04-30", "2026-04-30"),
    ("DICH-IVA", "2027", "2027-04-30", "2027-04-30"),
    # CU: 16 Mar; CU-AUT: 30 Apr (from the 2026 campaign, tax year 2025)
    ("CU", "2026", "2026-03-16", "2026-03-16"),
    ("CU", "2027", "2027-03-16", "2027-03-16"),
    ("CU-AUT", "2026", "2026-04-30", "2026-04-30"),
    ("CU-AUT", "2027", "2027-04-30", "2027-04-30"),
    # 770, REDDITI: 31 Oct
    ("770", "2026", "2026-10-31", "2026-11-02"),
    ("REDDITI", "2026", "2026-10-31", "2026-11-02"),
    ("REDDITI", "2027", "2027-10-31", "2027-11-02"),  # Sun, Mon 1 Nov Ognissanti
    # IVA-SALDO: a payment named by the year it settles, 16 Mar Y+1
    ("IVA-SALDO", "2025", "2026-03-16", "2026-03-16"),
    # ACC-1 30 Jun, ACC-2 30 Nov
    ("ACC-1", "2026", "2026-06-30", "2026-06-30"),
    ("ACC-2", "2026", "2026-11-30", "2026-11-30"),
    ("ACC-2", "2025", "2025-11-30", "2025-12-01"),
    # IMU: 16 Jun, 16 Dec
    ("IMU", "2026-R1", "2026-06-16", "2026-06-16"),
    ("IMU", "2026-R2", "2026-12-16", "2026-12-16"),
    ("IMU", "2027-R1", "2027-06-16", "2027-06-16"),
]


@pytest.mark.parametrize(("rule_id", "period", "nominal", "due"), BY_HAND)
def test_nominal_and_due_dates_by_hand(rule_id, period, nominal, due):
    rule = find_rule(rule_id)
    year, index = rule.parse_period(period)
    assert rule.due(year, index) == D(nominal)
    deadline = deadline_of(rule, year, index)
    assert (deadline.rule_id, deadline.period) == (rule_id, period)
    assert deadline.nominal_date == D(nominal)
    assert deadline.due_date == D(due)
    assert deadline.legal_basis == rule.legal_basis


def test_every_rule_has_a_row_by_hand():
    assert {row[0] for row in BY_HAND} == set(RULES_BY_ID)


def test_intrastat_is_not_subject_to_the_august_rule():
    assert {r.id for r in RULES if not r.august_rule} == {"INTRA-M", "INTRA-T"}
    intra = find_rule("INTRA-M")
    july = deadline_of(intra, 2026, 7)
    assert july.due_date == date(2026, 8, 25)
    assert july.shifts == ()
    weekend = deadline_of(intra, 2029, 7)  # 25 Aug 2029 is a Saturday
    assert weekend.due_date == date(2029, 8, 27)
    assert [s.reason for s in weekend.shifts] == ["sabato", "domenica"]
    assert not any("Ferragosto" in s.reason for s in weekend.shifts)


@pytest.mark.parametrize(
    ("year", "due", "reasons"),
    [
        # 16 Aug 2022 Tue -> 20 Aug Sat -> Mon 22 Aug
        (2022, date(2022, 8, 22), ["Ferragosto", "sabato", "domenica"]),
        # 16 Aug 2023 Wed -> 20 Aug Sun -> Mon 21 Aug
        (2023, date(2023, 8, 21), ["Ferragosto", "domenica"]),
    ],
)
def test_iva_t_q2_when_20_august_is_a_weekend(year, due, reasons):
    deadline = deadline_of(find_rule("IVA-T"), year, 2)
    assert deadline.nominal_date == date(year, 8, 16)
    assert deadline.due_date == due
    assert len(deadline.shifts) == len(reasons)
    for step, reason in zip(deadline.shifts, reasons, strict=True):
        assert reason in step.reason


def test_cu_aut_exists_from_the_cu_2026_only():
    rule = find_rule("CU-AUT")
    assert rule.periods(2025) == []
    assert rule.periods(2026) == [(2026, 0)]
    assert rule.parse_period("2026") == (2026, 0)
    assert rule.tax_year(2026) == 2025
    with pytest.raises(ValueError):
        rule.parse_period("2025")


FORMS = {"CU", "CU-AUT", "770", "REDDITI", "DICH-IVA", "INAIL", "INAIL-DICH"}


def test_the_yearly_forms_are_named_by_their_year_and_name_the_tax_year_beside_it():
    assert {r.id for r in RULES if r.period_is == "form_year"} == FORMS
    for rule in RULES:
        assert rule.period_is in ("tax_year", "form_year")
        if rule.id in FORMS:
            # filed in the year it is named by, about the year before
            assert rule.due(2026, 0).year == 2026, rule.id
            assert rule.tax_year(2026) == 2025
        else:
            assert rule.tax_year(2026) == 2026
    cu = find_rule("CU")
    assert f"{cu.label} {cu.period_name(2026, 0)}" == (
        "Certificazione Unica 2026 (periodo d'imposta 2025)"
    )
    inail = find_rule("INAIL-DICH")
    assert inail.period_name(2026, 0) == "2026 (retribuzioni 2025)"
    assert find_rule("LIPE").period_name(2026, 2) == "2026-Q2"


def test_only_a_yearly_rule_may_be_named_by_its_forms_year():
    from dataclasses import replace

    with pytest.raises(ValueError, match="only a yearly rule"):
        replace(find_rule("LIPE"), period_is="form_year")
    with pytest.raises(ValueError, match="period_is"):
        replace(find_rule("CU"), period_is="payment_year")


def test_iva_t_has_only_three_quarters_and_iva_t4_only_the_fourth():
    assert find_rule("IVA-T").periods(2026) == [(2026, 1), (2026, 2), (2026, 3)]
    assert find_rule("IVA-T4").periods(2026) == [(2026, 4)]
    assert find_rule("IVA-T4").parse_period("2026-Q4") == (2026, 4)
    with pytest.raises(ValueError):
        find_rule("IVA-T4").parse_period("2026-Q1")


# -- the table itself ----------------------------------------------------------------


def test_rules_table_is_consistent():
    assert len(RULES_BY_ID) == len(RULES)
    assert all(RULES_BY_ID[r.id] is r for r in RULES)
    expected_indexes = {
        "month": set(range(1, 13)),
        "quarter": {1, 2, 3, 4},
        "year": {0},
        "instalment": set(range(1, 13)),
    }
    for rule in RULES:
        assert rule.cadence in CADENCES
        assert rule.indexes
        assert set(rule.indexes) <= expected_indexes[rule.cadence], rule.id
        assert rule.legal_basis and rule.label and rule.checklist
        assert rule.lead_days > 0


@settings(max_examples=300)
@given(st.sampled_from(RULES), st.integers(2000, 2100), st.data())
def test_nominal_date_comes_after_the_month_or_quarter_it_concerns(rule, year, data):
    if rule.cadence not in ("month", "quarter"):
        return
    index = data.draw(st.sampled_from(rule.indexes))
    last_month = index if rule.cadence == "month" else index * 3
    y, m = (year + 1, 1) if last_month == 12 else (year, last_month + 1)
    assert rule.due(year, index) >= date(y, m, 1)
    assert rule.due(year, index) < date(y + 1, m, 1)


@settings(max_examples=300)
@given(st.sampled_from(RULES), st.integers(2000, 2100), st.data())
def test_every_rule_every_year_gives_a_lawful_due_date(rule, year, data):
    if not rule.periods(year):
        return
    index = data.draw(st.sampled_from(rule.indexes))
    deadline = deadline_of(rule, year, index)
    nominal, due, steps = deadline.nominal_date, deadline.due_date, deadline.shifts
    assert nominal <= due <= nominal + timedelta(days=25)
    assert is_working_day(due)
    if steps:
        assert steps[0].from_date == nominal
        assert steps[-1].to_date == due
        assert all(a.to_date == b.from_date for a, b in zip(steps, steps[1:], strict=False))
    else:
        assert due == nominal
    if rule.august_rule:
        assert not (date(due.year, 8, 1) <= due <= date(due.year, 8, 19))
    else:
        assert not any("Ferragosto" in s.reason for s in steps)


# -- periods -------------------------------------------------------------------------


def test_every_period_round_trips():
    for rule in RULES:
        for year in (2000, 2025, 2026, 2027, 2100):
            for y, index in rule.periods(year):
                text = rule.period(y, index)
                assert rule.parse_period(text) == (y, index), (rule.id, text)


@pytest.mark.parametrize(
    ("rule_id", "period", "pair"),
    [
        ("IVA-M", "2026-05", (2026, 5)),
        ("IVA-M", "2026-12", (2026, 12)),
        ("LIPE", "2026-Q2", (2026, 2)),
        ("REDDITI", "2026", (2026, 0)),
        ("IMU", "2026-R2", (2026, 2)),
    ],
)
def test_good_periods(rule_id, period, pair):
    rule = find_rule(rule_id)
    assert rule.parse_period(period) == pair
    assert rule.period(*pair) == period


@pytest.mark.parametrize(
    ("rule_id", "period"),
    [
        ("IVA-M", "2026-13"),
        ("IVA-M", "2026-00"),
        ("IVA-M", "2026-5"),
        ("IVA-M", "2026"),
        ("IVA-M", "2026-Q2"),
        ("LIPE", "2026-Q5"),
        ("LIPE", "2026-Q0"),
        ("LIPE", "2026-05"),  # a month for a quarterly rule
        ("LIPE", "2026-R1"),
        ("IVA-T", "2026-Q4"),  # IVA-T has Q1-Q3; Q4 is IVA-T4
        ("CU-AUT", "2025"),
        ("REDDITI", "2026-05"),
        ("REDDITI", "2026-Q1"),
        ("REDDITI", "1999"),
        ("IMU", "2026-R3"),
        ("IMU", "2026-05"),
        ("IVA-M", ""),
        ("IVA-M", "garbage"),
        ("IVA-M", "26-05"),
        ("IVA-M", "2026/05"),
        ("IVA-M", "2026-05-01"),
        ("LIPE", "2026-Q2x"),
        ("LIPE", "Q2-2026"),
        ("LIPE", "2026-Q12"),
    ],
)
def test_bad_periods_raise_value_error(rule_id, period):
    with pytest.raises(ValueError):
        find_rule(rule_id).parse_period(period)


@settings(max_examples=300)
@given(st.sampled_from(RULES), st.text(max_size=12))
def test_parse_period_raises_only_value_error(rule, text):
    try:
        pair = rule.parse_period(text)
    except ValueError:
        return
    assert pair in rule.periods(pair[0])
    assert rule.parse_period(rule.period(*pair)) == pair


def test_find_rule():
    assert find_rule("IVA-M") is RULES_BY_ID["IVA-M"]
    assert find_rule("iva-m") is RULES_BY_ID["IVA-M"]
    assert find_rule("770").id == "770"
    for unknown in ("IVA-X", "", "AF-TD20"):
        with pytest.raises(ValueError):
            find_rule(unknown)


# -- who each rule applies to --------------------------------------------------------

ALWAYS = {"REDDITI", "ACC-1", "ACC-2"}
VAT_COMMON = {"IVA-ACC", "IVA-SALDO", "LIPE", "DICH-IVA"}
VAT_RULES = {"IVA-M", "IVA-T", "IVA-T4", "IVA-TS"} | VAT_COMMON


def applied(**fields: object) -> set[str]:
    profile = {**defaults(), **fields}
    return {rule.id for rule in RULES if rule.applies(profile)}


def test_default_profile_gets_only_the_rules_for_everyone():
    assert applied() == ALWAYS
    assert {rule.id for rule in RULES if rule.applies({})} == ALWAYS


@pytest.mark.parametrize(
    ("fields", "extra"),
    [
        ({"iva_periodicity": "mensile"}, {"IVA-M"} | VAT_COMMON),
        ({"iva_periodicity": "mensile", "contabilita_presso_terzi": True}, {"IVA-M"} | VAT_COMMON),
        ({"iva_periodicity": "trimestrale"}, {"IVA-T", "IVA-T4"} | VAT_COMMON),
        ({"iva_periodicity": "trimestrale_speciale"}, {"IVA-TS"} | VAT_COMMON),
        ({"iva_periodicity": "none"}, set()),
        # forfettario: no VAT rules, but the TD17-19 integrations when buying abroad
        ({"forfettario": True}, set()),
        ({"forfettario": True, "has_foreign_purchases": True}, {"AF-TD17-19"}),
        ({"has_foreign_purchases": True}, {"AF-TD17-19"}),
        ({"has_reverse_charge_purchases": True}, {"AF-TD16"}),
        # INTRASTAT: each flow on its own
        ({"intra1_goods": "mensile"}, {"INTRA-M"}),
        ({"intra1_services": "mensile"}, {"INTRA-M"}),
        ({"intra2_goods": "mensile"}, {"INTRA-M"}),
        ({"intra2_services": "mensile"}, {"INTRA-M"}),
        ({"intra1_goods": "trimestrale"}, {"INTRA-T"}),
        ({"intra1_services": "trimestrale"}, {"INTRA-T"}),
        ({"intra1_goods": "mensile", "intra1_services": "trimestrale"}, {"INTRA-M", "INTRA-T"}),
        ({"intra1_goods": "trimestrale", "intra2_goods": "mensile"}, {"INTRA-M", "INTRA-T"}),
        # withholding agents and employers
        ({"sostituto_imposta": True}, {"RA", "CU", "CU-AUT", "770"}),
        ({"has_employees": True}, {"RA", "INPS-DIP", "INAIL", "INAIL-DICH", "CU", "770"}),
        ({"gs_committente": True}, {"INPS-GS-C"}),
        ({"inps_gs_professionista": True}, {"INPS-GS-P"}),
        ({"inps_ivs": "artigiano"}, {"INPS-IVS"}),
        ({"inps_ivs": "commerciante"}, {"INPS-IVS"}),
        ({"inps_ivs": "none"}, set()),
        ({"issues_bollo_efatture": True}, {"BOLLO"}),
        ({"imu_owner": True}, {"IMU"}),
        ({"isa_subject": True}, set()),
    ],
)
def test_who_each_rule_applies_to(fields, extra):
    assert applied(**fields) == ALWAYS | extra


def test_lipe_for_monthly_and_quarterly_payers_not_forfettari():
    lipe = find_rule("LIPE")
    for periodicity in ("mensile", "trimestrale", "trimestrale_speciale"):
        assert lipe.applies({**defaults(), "iva_periodicity": periodicity})
    assert not lipe.applies(defaults())
    assert not lipe.applies({**defaults(), "forfettario": True})


def test_forfettario_gets_no_vat_rules_even_with_everything_else_on():
    profile = {
        f: True
        for f, v in defaults().items()
        if isinstance(v, bool) and f != "contabilita_presso_terzi"
    }
    assert applied(**profile) & VAT_RULES == set()
    assert "AF-TD17-19" in applied(**profile)
    assert ALWAYS <= applied(**profile)


def test_every_rule_applies_to_someone():
    everything = {
        "iva_periodicity": "mensile",
        "intra1_goods": "mensile",
        "intra1_services": "trimestrale",
        "sostituto_imposta": True,
        "has_employees": True,
        "gs_committente": True,
        "inps_ivs": "artigiano",
        "inps_gs_professionista": True,
        "has_reverse_charge_purchases": True,
        "has_foreign_purchases": True,
        "issues_bollo_efatture": True,
        "imu_owner": True,
    }
    quarterly = {**everything, "iva_periodicity": "trimestrale"}
    special = {**everything, "iva_periodicity": "trimestrale_speciale"}
    assert applied(**everything) | applied(**quarterly) | applied(**special) == set(RULES_BY_ID)


def test_predicates_read_only_their_declared_fields():
    """``fields`` is what ``explain`` shows: flipping any other field changes nothing."""
    base = defaults()
    flips = {
        f: (not v if isinstance(v, bool) else "mensile" if f != "inps_ivs" else "artigiano")
        for f, v in base.items()
    }
    flips["iva_periodicity"] = "mensile"
    for rule in RULES:
        for field, value in flips.items():
            if field in rule.fields:
                continue
            changed = {**base, field: value}
            assert rule.applies(changed) == rule.applies(base), (rule.id, field)
