"""The engine: a profile and a date range -> dated deadlines, with overrides."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sempi_cli.fiscal.calendar import Shift, is_working_day
from sempi_cli.fiscal.engine import Deadline, Override, Planner, deadline_of, deadlines
from sempi_cli.fiscal.rules import RULES, find_rule
from sempi_cli.services.clients.profile import PROFILE_FIELDS, defaults

ACC1_2026 = ("ACC-1", "2026")  # nominal 30 Jun 2026, a Tuesday
DL = "DL 84/2025 art. 13"


def profile(**fields: object) -> dict[str, object]:
    return {**defaults(), **fields}


def only(found: list[Deadline], rule_id: str) -> list[Deadline]:
    return [d for d in found if d.rule_id == rule_id]


# -- deadline_of ---------------------------------------------------------------------


def test_deadline_of_without_override():
    deadline = deadline_of(find_rule("REDDITI"), 2026, 0)
    assert deadline.rule_id == "REDDITI"
    assert deadline.period == "2026"  # Redditi 2026, filed in 2026 for the tax year 2025
    assert deadline.tax_year == 2025
    assert deadline.period_name == "2026 (periodo d'imposta 2025)"
    assert deadline.nominal_date == date(2026, 10, 31)
    assert deadline.due_date == date(2026, 11, 2)
    assert deadline.override_reason is None
    assert [s.reason for s in deadline.shifts][0] == "sabato"


def test_a_periods_tax_year_is_its_own_year_unless_it_is_a_forms_year():
    assert deadline_of(find_rule("LIPE"), 2025, 4).tax_year == 2025  # due in 2026
    assert deadline_of(find_rule("IVA-SALDO"), 2025, 0).tax_year == 2025  # due 16 Mar 2026
    assert deadline_of(find_rule("ACC-1"), 2026, 0).period_name == "2026"
    cu = deadline_of(find_rule("CU"), 2026, 0)
    assert (cu.period, cu.tax_year, cu.due_date) == ("2026", 2025, date(2026, 3, 16))


def test_override_moves_the_date_and_says_proroga_first():
    override = Override(date(2026, 7, 21), DL)
    deadline = deadline_of(find_rule("ACC-1"), 2026, 0, override)
    assert deadline.nominal_date == date(2026, 6, 30)
    assert deadline.due_date == date(2026, 7, 21)
    assert deadline.override_reason == DL
    assert deadline.shifts == (Shift(date(2026, 6, 30), date(2026, 7, 21), f"proroga: {DL}"),)


def test_override_on_a_sunday_still_shifts():
    override = Override(date(2026, 7, 19), DL)  # a Sunday
    deadline = deadline_of(find_rule("ACC-1"), 2026, 0, override)
    assert deadline.due_date == date(2026, 7, 20)
    assert len(deadline.shifts) == 2
    first, second = deadline.shifts
    assert first.reason.startswith("proroga")
    assert (first.from_date, first.to_date) == (date(2026, 6, 30), date(2026, 7, 19))
    assert second == Shift(date(2026, 7, 19), date(2026, 7, 20), "domenica")


def test_override_into_the_august_window_gets_the_august_rule():
    """Rule F covers whatever falls due 1-20 August, an extended date included."""
    deadline = deadline_of(find_rule("ACC-1"), 2026, 0, Override(date(2026, 8, 3), DL))
    assert deadline.due_date == date(2026, 8, 20)
    assert deadline.shifts[0].reason.startswith("proroga")
    assert "Ferragosto" in deadline.shifts[1].reason


def test_override_covers():
    everyone = Override(date(2026, 7, 21), DL)
    some = Override(date(2026, 7, 21), DL, applies_to=("isa_subject", "forfettario"))
    assert everyone.covers(profile())
    assert not some.covers(profile())
    assert some.covers(profile(isa_subject=True))
    assert some.covers(profile(forfettario=True))
    assert some.covers({"forfettario": True})
    assert not some.covers({})


# -- Planner with overrides ----------------------------------------------------------


def test_override_for_everyone():
    overrides = {ACC1_2026: Override(date(2026, 7, 21), DL)}
    planner = Planner(date(2026, 6, 1), date(2026, 7, 31), overrides)
    for p in (profile(), profile(isa_subject=True), profile(forfettario=True)):
        (acc1,) = only(planner.for_profile(p), "ACC-1")
        assert acc1.due_date == date(2026, 7, 21)
        assert acc1.override_reason == DL
        assert acc1.shifts[0].reason.startswith("proroga")


def test_override_only_for_profiles_with_a_listed_flag():
    overrides = {ACC1_2026: Override(date(2026, 7, 21), DL, applies_to=("isa_subject",))}
    planner = Planner(date(2026, 6, 1), date(2026, 7, 31), overrides)
    (isa,) = only(planner.for_profile(profile(isa_subject=True)), "ACC-1")
    (plain,) = only(planner.for_profile(profile()), "ACC-1")
    assert isa.due_date == date(2026, 7, 21)
    assert isa.override_reason == DL
    assert plain.due_date == date(2026, 6, 30)
    assert plain.override_reason is None
    assert plain.shifts == ()


def test_override_moves_a_deadline_in_or_out_of_the_range():
    overrides = {ACC1_2026: Override(date(2026, 7, 21), DL, applies_to=("isa_subject",))}
    june = Planner(date(2026, 6, 1), date(2026, 6, 30), overrides)
    july = Planner(date(2026, 7, 1), date(2026, 7, 31), overrides)
    assert only(june.for_profile(profile()), "ACC-1")
    assert not only(june.for_profile(profile(isa_subject=True)), "ACC-1")
    assert not only(july.for_profile(profile()), "ACC-1")
    assert only(july.for_profile(profile(isa_subject=True)), "ACC-1")


def test_override_of_another_period_changes_nothing():
    overrides = {("ACC-1", "2025"): Override(date(2025, 7, 21), DL)}
    (acc1,) = only(deadlines(profile(), date(2026, 6, 1), date(2026, 6, 30), overrides), "ACC-1")
    assert acc1.due_date == date(2026, 6, 30)


# -- Planner: sharing, boundaries, order ---------------------------------------------


def test_planner_shares_results_for_equal_profiles():
    planner = Planner(date(2026, 1, 1), date(2026, 12, 31))
    first = planner.for_profile(profile(iva_periodicity="mensile"))
    again = planner.for_profile(profile(iva_periodicity="mensile"))
    reordered = planner.for_profile(
        dict(reversed(list(profile(iva_periodicity="mensile").items())))
    )
    assert again is first
    assert reordered is first
    other = planner.for_profile(profile())
    assert other is not first
    # the dated deadline of a shared rule is one object for every profile
    (redditi,) = only(first, "REDDITI")
    assert only(other, "REDDITI")[0] is redditi


def test_deadlines_equals_planner():
    p = profile(iva_periodicity="trimestrale", sostituto_imposta=True)
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    assert deadlines(p, start, end) == Planner(start, end).for_profile(p)


def test_range_includes_both_ends():
    day = date(2026, 11, 2)  # REDDITI 2026 and 770 2026, shifted from 31 Oct
    p = profile(sostituto_imposta=True)
    found = deadlines(p, day, day)
    assert {(d.rule_id, d.period) for d in found} == {("REDDITI", "2026"), ("770", "2026")}
    assert all(d.due_date == day for d in found)
    assert not only(deadlines(p, day + timedelta(days=1), date(2026, 11, 20)), "REDDITI")
    assert not only(deadlines(p, date(2026, 10, 1), day - timedelta(days=1)), "REDDITI")
    assert only(deadlines(p, date(2026, 10, 1), day), "REDDITI")
    assert only(deadlines(p, day, date(2026, 12, 31)), "REDDITI")


def test_range_selects_by_due_date_not_nominal_date():
    # IVA-M 2026-07: nominal 16 Aug, due 20 Aug
    p = profile(iva_periodicity="mensile")
    assert not only(deadlines(p, date(2026, 8, 16), date(2026, 8, 19)), "IVA-M")
    (july,) = only(deadlines(p, date(2026, 8, 20), date(2026, 8, 20)), "IVA-M")
    assert july.period == "2026-07"
    # LIPE 2025-Q4: nominal 28 Feb 2026, due 2 Mar 2026
    assert not only(deadlines(p, date(2026, 2, 28), date(2026, 3, 1)), "LIPE")
    assert only(deadlines(p, date(2026, 3, 2), date(2026, 3, 2)), "LIPE")


def test_results_are_sorted_by_due_date():
    p = profile(
        iva_periodicity="mensile",
        sostituto_imposta=True,
        has_employees=True,
        intra1_goods="mensile",
        issues_bollo_efatture=True,
    )
    found = deadlines(p, date(2026, 1, 1), date(2026, 12, 31))
    keys = [(d.due_date, d.rule_id, d.period) for d in found]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_a_full_year_for_a_monthly_vat_payer():
    found = deadlines(profile(iva_periodicity="mensile"), date(2026, 1, 1), date(2026, 12, 31))
    periods = {}
    for d in found:
        periods.setdefault(d.rule_id, []).append(d.period)
    assert periods["IVA-M"] == ["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]
    assert periods["LIPE"] == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert periods["IVA-SALDO"] == ["2025"]  # a payment, named by the year it settles
    assert periods["DICH-IVA"] == ["2026"]  # a form, named by the year it is filed
    assert periods["IVA-ACC"] == ["2026"]
    assert periods["REDDITI"] == ["2026"]
    assert periods["ACC-1"] == ["2026"]
    assert periods["ACC-2"] == ["2026"]
    assert set(periods) == {"IVA-M", "LIPE", "IVA-SALDO", "DICH-IVA", "IVA-ACC"} | {
        "REDDITI",
        "ACC-1",
        "ACC-2",
    }


def test_forfettario_calendar_has_no_vat_deadlines():
    p = profile(forfettario=True, has_foreign_purchases=True)
    found = deadlines(p, date(2026, 1, 1), date(2026, 12, 31))
    assert {d.rule_id for d in found} == {"AF-TD17-19", "REDDITI", "ACC-1", "ACC-2"}
    assert len(only(found, "AF-TD17-19")) == 12


# -- properties ----------------------------------------------------------------------


def _field_strategy(field):
    return st.booleans() if field.choices is None else st.sampled_from(field.choices)


profiles = st.fixed_dictionaries({f.name: _field_strategy(f) for f in PROFILE_FIELDS})
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@settings(deadline=None)
@given(profiles, starts, st.integers(0, 500))
def test_planner_returns_exactly_the_deadlines_due_in_the_range(p, start, length):
    end = start + timedelta(days=length)
    found = deadlines(p, start, end)
    for d in found:
        assert start <= d.due_date <= end
        assert is_working_day(d.due_date)
        assert d.nominal_date <= d.due_date <= d.nominal_date + timedelta(days=25)
        assert find_rule(d.rule_id).applies(p)
    keys = [(d.due_date, d.rule_id, d.period) for d in found]
    assert keys == sorted(keys)
    # nothing missing: every applicable period of every year near the range, by brute force
    expected = {
        (rule.id, rule.period(y, i))
        for rule in RULES
        if rule.applies(p)
        for year in range(start.year - 3, end.year + 2)
        for y, i in rule.periods(year)
        if start <= deadline_of(rule, y, i).due_date <= end
    }
    assert {(d.rule_id, d.period) for d in found} == expected
