"""The fiscal profile through time: a change applies from a day (`client edit
--from`, by default the law's: the next 1 January for VAT periodicity and regime,
today for the rest), the history is kept (`client show --as-of`), and the
scheduler owes each period by the profile in force during it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sempi_cli.fiscal.engine import Planner, owing_profile
from sempi_cli.fiscal.rules import find_rule
from sempi_cli.services.clients import history
from sempi_cli.services.clients.profile import PROFILE_FIELDS, defaults
from tests.conftest import ADMIN_EMAIL, store_digest
from tests.helpers import assert_one_line_error, ok

RESP = "resp@sempi.test"
DECEMBER = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def beta(org, clock):
    """A quarterly VAT payer of Studio Rossi; today is 7 December 2026."""
    clock.set(DECEMBER)
    rossi = org.practice("Studio Rossi")
    org.user(RESP, "Resp")
    return org.client(
        "Beta Snc", rossi, 2, responsible=RESP, fiscal_profile={"iva_periodicity": "trimestrale"}
    )


def show(cli, client, *extra):
    return json.loads(ok(cli("client", "show", str(client), *extra, "--json")).stdout)


def edit(cli, client, *extra):
    return json.loads(ok(cli("client", "edit", str(client), *extra, "--json")).stdout)


def run(cli, *args):
    return json.loads(ok(cli("scheduler", "run", *args, "--json")).stdout)


def periods(db, client, rule):
    return sorted(
        r[0]
        for r in db.execute(
            "SELECT period FROM deadlines WHERE client_id = ? AND rule_id = ? AND state = 'active'",
            (client, rule),
        )
    )


# --- the case: monthly VAT decided in December ------------------------------------


def test_monthly_vat_decided_in_december_starts_in_january(cli, db, beta):
    edited = edit(cli, beta, "-p", "iva_periodicity=mensile")
    assert edited["iva_periodicity"] == "trimestrale"  # still, today
    assert edited["profile_changes"] == [
        {"from": "2027-01-01", "changes": "iva_periodicity=mensile"}
    ]
    run(cli, "--from", "2026-12-01", "--to", "2027-12-31")
    # no monthly deadline for November or December 2026: those months were quarterly
    assert periods(db, beta, "IVA-M") == [f"2027-{m:02d}" for m in range(1, 12)]
    assert periods(db, beta, "IVA-T4") == ["2026-Q4"]  # the last quarter is still owed
    assert periods(db, beta, "IVA-T") == []  # nothing quarterly in 2027


def test_an_explicit_from_day_is_obeyed(cli, db, beta):
    edit(cli, beta, "-p", "iva_periodicity=mensile", "--from", "01/12/2026")
    run(cli, "--from", "2026-12-01", "--to", "2027-03-31")
    assert periods(db, beta, "IVA-M")[:2] == ["2026-12", "2027-01"]
    # October and November were quarterly: the quarter they belong to is owed too
    assert periods(db, beta, "IVA-T4") == ["2026-Q4"]


def test_a_change_the_scheduler_already_generated_is_cancelled_from_its_day(cli, db, beta):
    run(cli, "--from", "2026-12-01", "--to", "2027-12-31")
    assert periods(db, beta, "IVA-T") == ["2027-Q1", "2027-Q2", "2027-Q3"]
    edit(cli, beta, "-p", "iva_periodicity=mensile")
    report = run(cli, "--from", "2026-12-01", "--to", "2027-12-31")
    cancelled = {
        (c["rule_id"], c["period"]) for c in report["changes"] if c["action"] == "cancelled"
    }
    assert cancelled == {("IVA-T", "2027-Q1"), ("IVA-T", "2027-Q2"), ("IVA-T", "2027-Q3")}
    assert periods(db, beta, "IVA-T4") == ["2026-Q4"]


# --- defaults and the history ---------------------------------------------------------------


def test_other_fields_change_from_today(cli, beta):
    edited = edit(cli, beta, "-p", "has_employees=yes")
    assert edited["has_employees"] is True
    assert edited["profile_changes"] == [{"from": "2026-12-07", "changes": "has_employees=yes"}]
    assert show(cli, beta, "--as-of", "06/12/2026")["has_employees"] is False


def test_one_edit_with_fields_of_both_kinds_dates_each_by_its_own_rule(cli, beta):
    edited = edit(cli, beta, "-p", "iva_periodicity=mensile", "-p", "sostituto_imposta=yes")
    assert edited["profile_changes"] == [
        {"from": "2026-12-07", "changes": "sostituto_imposta=yes"},
        {"from": "2027-01-01", "changes": "iva_periodicity=mensile"},
    ]


def test_show_as_of_gives_the_profile_in_force_that_day(cli, beta):
    edit(cli, beta, "-p", "iva_periodicity=mensile")
    assert show(cli, beta)["iva_periodicity"] == "trimestrale"
    later = show(cli, beta, "--as-of", "01/01/2027")
    assert later["iva_periodicity"] == "mensile" and later["profile_as_of"] == "2027-01-01"
    assert show(cli, beta, "--as-of", "31/12/2026")["iva_periodicity"] == "trimestrale"
    out = ok(cli("client", "show", str(beta), "--as-of", "2027-02-01")).stdout
    assert "01/01/2027" in out and "iva_periodicity=mensile" in out  # the history, for people


def test_from_start_corrects_the_profile_since_the_first_day(cli, db, beta):
    edit(cli, beta, "-p", "iva_periodicity=mensile", "--from", "start")
    assert show(cli, beta)["iva_periodicity"] == "mensile"
    assert show(cli, beta)["profile_changes"] == []
    assert (
        db.execute("SELECT count(*) FROM client_profiles WHERE client_id = ?", (beta,)).fetchone()[
            0
        ]
        == 1
    )


def test_a_later_change_keeps_an_earlier_one_from_its_day_on(cli, beta):
    edit(cli, beta, "-p", "iva_periodicity=mensile")  # from 1 January
    edit(cli, beta, "-p", "has_employees=yes", "--from", "01/12/2026")
    later = show(cli, beta, "--as-of", "01/02/2027")
    assert later["iva_periodicity"] == "mensile" and later["has_employees"] is True


def test_changing_back_before_it_applies_leaves_no_trace(cli, db, beta):
    edit(cli, beta, "-p", "iva_periodicity=mensile")
    edit(cli, beta, "-p", "iva_periodicity=trimestrale")
    assert show(cli, beta)["profile_changes"] == []
    assert (
        db.execute("SELECT count(*) FROM client_profiles WHERE client_id = ?", (beta,)).fetchone()[
            0
        ]
        == 1
    )


def test_the_same_value_again_writes_nothing(cli, store_path, beta):
    edit(cli, beta, "-p", "iva_periodicity=mensile")
    before = store_digest(store_path)
    edit(cli, beta, "-p", "iva_periodicity=mensile")
    assert store_digest(store_path) == before


def test_the_audit_log_says_what_changed_from_which_day(cli, beta):
    edit(cli, beta, "-p", "iva_periodicity=mensile")
    log = json.loads(
        ok(cli("audit", "list", "--object", "client", "--id", str(beta), "--json")).stdout
    )
    assert log[0]["action"] == "profile"
    assert log[0]["details"]["changes"] == [
        {"from": "2027-01-01", "field": "iva_periodicity", "old": "trimestrale", "new": "mensile"}
    ]


def test_client_list_filters_by_the_profile_in_force_today(cli, beta):
    edit(cli, beta, "-p", "iva_periodicity=mensile")

    def listed(iva):
        rows = json.loads(ok(cli("client", "list", "--iva", iva, "--json")).stdout)
        return [r["id"] for r in rows]

    assert listed("trimestrale") == [beta] and listed("mensile") == []


def test_explain_judges_a_period_by_the_profile_in_force_then(cli, beta):
    edit(cli, beta, "-p", "iva_periodicity=mensile")
    january = json.loads(
        ok(cli("scheduler", "explain", str(beta), "IVA-M", "2027-01", "--json")).stdout
    )
    assert january["applies"] is True and january["profile"]["iva_periodicity"] == "mensile"
    error = assert_one_line_error(cli("scheduler", "explain", str(beta), "IVA-M", "2026-12"), 3)
    assert "iva_periodicity=trimestrale" in error


# --- bad input: one line, nothing written --------------------------------------------------


def test_a_version_made_inconsistent_is_refused_by_its_day(cli, store_path, beta):
    edit(cli, beta, "-p", "forfettario=yes", "-p", "iva_periodicity=none")  # from 1 January
    before = store_digest(store_path)
    error = assert_one_line_error(
        cli("client", "edit", str(beta), "-p", "iva_periodicity=mensile", "--from", "01/12/2026"),
        6,
        "iva_periodicity",
    )
    assert "2027-01-01" in error and "forfettario" in error
    assert store_digest(store_path) == before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--from", "01/12/2026", "--name", "Beta Due Snc"], "--from"),  # no --profile
        (["-p", "iva_periodicity=mensile", "--from", "31/02/2027"], "--from"),
        (["-p", "iva_periodicity=mensile", "--from", "mai"], "--from"),
    ],
)
def test_bad_from_is_refused_and_writes_nothing(cli, store_path, beta, args, field):
    before = store_digest(store_path)
    assert_one_line_error(cli("client", "edit", str(beta), *args), 6, field)
    assert store_digest(store_path) == before


def test_bad_as_of_is_refused(cli, beta):
    assert_one_line_error(cli("client", "show", str(beta), "--as-of", "32/01/2027"), 6, "--as-of")


def test_another_practice_cannot_read_the_history(cli, org, beta):
    verdi = org.practice("Studio Verdi")
    org.user("sadmin@verdi.test", "Sadmin", "studio-admin", studio=verdi)
    assert_one_line_error(
        cli("client", "show", str(beta), "--as-of", "01/01/2027", as_user="sadmin@verdi.test"),
        3,
    )


# --- the rules, as properties -----------------------------------------------------------------

FIELD_VALUES = {f.name: (f.choices or (True, False)) for f in PROFILE_FIELDS}
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))
changes = st.dictionaries(
    st.sampled_from(["iva_periodicity", "has_employees", "sostituto_imposta", "inps_ivs"]),
    st.none(),
    min_size=1,
).flatmap(lambda names: st.fixed_dictionaries({n: st.sampled_from(FIELD_VALUES[n]) for n in names}))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(days, changes), max_size=5), days)
def test_a_change_holds_from_its_day_and_leaves_the_days_before(edits, probe):
    versions = [history.first(defaults(), "2026-01-01T00:00:00+00:00", None)]
    for day, values in edits:
        before = versions
        versions = history.with_changes(versions, values, date(2026, 12, 7), day)
        for name, value in values.items():
            assert history.in_force(versions, max(day, probe)).profile[name] == value
        if probe < day:
            assert (
                history.in_force(versions, probe).profile == history.in_force(before, probe).profile
            )
    # no two versions in a row are the same profile, and they are in order
    assert all(a.profile != b.profile for a, b in pairwise(versions))
    assert [v.valid_from for v in versions] == sorted({v.valid_from for v in versions})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            days, st.sampled_from(("mensile", "trimestrale", "trimestrale_speciale", "none"))
        ),
        min_size=1,
        max_size=4,
    )
)
def test_the_scheduler_owes_a_period_only_by_a_version_in_force_during_it(switches):
    versions = [(date.min, {**defaults(), "iva_periodicity": "trimestrale"})]
    for day, iva in sorted(switches):
        if day > versions[-1][0]:
            versions.append((day, {**defaults(), "iva_periodicity": iva}))
    planner = Planner(date(2025, 1, 1), date(2027, 12, 31))
    owed = planner.for_history(versions)
    for deadline in owed:
        rule = find_rule(deadline.rule_id)
        year, index = rule.parse_period(deadline.period)
        assert rule.applies(owing_profile(versions, rule, year, index))
    # one version: the same as a client whose profile never changed
    assert planner.for_history(versions[:1]) == planner.for_profile(versions[0][1])


# --- the migration --------------------------------------------------------------------------


def test_m015_moves_each_profile_into_its_first_version(tmp_path, clock, monkeypatch):
    from sempi_cli.services.org.firm import create_store
    from sempi_cli.store import migrations, open_store
    from tests.conftest import ADMIN_PASSWORD, piva

    path = tmp_path / "m014" / "sempi.db"
    with monkeypatch.context() as before_m015:
        before_m015.setattr(migrations, "STEPS", migrations.STEPS[:14])
        before_m015.setattr(migrations, "LATEST", 14)
        conn, _ = create_store(path, clock, "Studio", ADMIN_EMAIL, "Anna", ADMIN_PASSWORD)
        studio = conn.execute(
            "INSERT INTO studios (name, created_at, updated_at) VALUES ('Rossi', 'x', 'x')"
            " RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO clients (studio_id, ragione_sociale, taxpayer_kind, partita_iva,"
            " iva_periodicity, has_employees, created_at, updated_at)"
            " VALUES (?, 'Alfa', 'societa_capitali', ?, 'mensile', 1, '2026-01-01', '2026-02-01')",
            (studio, piva(1)),
        )
        conn.close()
    conn = open_store(path)
    conn.row_factory = sqlite3.Row
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    columns = {r[1] for r in conn.execute("PRAGMA table_info(clients)")}
    assert "iva_periodicity" not in columns and "partita_iva" in columns
    (version,) = history.of_client(conn, 1)
    assert version.valid_from == history.FROM_THE_START
    assert version.profile == {**defaults(), "iva_periodicity": "mensile", "has_employees": True}
    assert version.recorded_at == "2026-02-01"
    indexes = {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'clients'")
    }
    assert {"clients_studio_cf", "clients_studio_piva", "clients_name"} <= indexes
    conn.close()
