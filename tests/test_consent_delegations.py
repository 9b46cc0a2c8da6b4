"""The delegations watch (`sempi consent delegations`, and the nightly job that tells
each client's responsible at 60 and 15 days before a delegation expires).

The clock stands at NOW, 16/11/2026 in Rome: a delegation valid until 2027-01-15
has 60 days left, one valid until 2026-12-01 has 15.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sempi_cli.errors import InvalidData
from sempi_cli.services.consent.delegations import (
    DelegationWatch,
    mark_for,
    source_of,
    window_days,
)
from tests.conftest import ADMIN_EMAIL, actor
from tests.helpers import assert_one_line_error, ok

S1, S2 = "s1@sempi.test", "s2@sempi.test"
RA, RO = "ra@rossi.test", "ro@rossi.test"  # Studio Rossi's administrator and an operator
BA = "ba@bianchi.test"  # Studio Bianchi's administrator


@pytest.fixture
def firm(org) -> dict:
    """Alfa (S1 responsible) and Beta (S2 responsible) of Studio Rossi; Gamma (S2) of
    Studio Bianchi. RO, Rossi's operator, is in no work group."""
    org.staff(S1, S2)
    rossi, bianchi = org.practice("Studio Rossi"), org.practice("Studio Bianchi")
    org.user(RA, "Rossi Admin", "studio-admin", studio=rossi)
    org.user(RO, "Rossi Operator", "studio-operator", studio=rossi)
    org.user(BA, "Bianchi Admin", "studio-admin", studio=bianchi)
    return {
        "alfa": org.client("Alfa srl", rossi, 1, responsible=S1),
        "beta": org.client("Beta srl", rossi, 2, responsible=S2),
        "gamma": org.client("Gamma srl", bianchi, 3, responsible=S2),
    }


def delegate(db, clock, client: int, kind: str, until: str, reference: str = "REF-1") -> None:
    """Record a delegation as onboarding does."""
    from sempi_cli.services.onboarding.input import Delegation
    from sempi_cli.services.onboarding.onboard import upsert_delegations
    from sempi_cli.store import write_transaction

    with write_transaction(db):
        upsert_delegations(db, [(client, Delegation(kind, reference, until))], "t", None)


def watch(db, clock, who: str = ADMIN_EMAIL) -> DelegationWatch:
    return DelegationWatch(db, clock, actor(db, who))


def notices(db, email: str) -> list[tuple[str, str]]:
    return [
        tuple(r)
        for r in db.execute(
            "SELECT n.source, n.text FROM notifications n JOIN users u ON u.id = n.user_id"
            " WHERE u.email = ? AND n.kind = 'consent' ORDER BY n.id",
            (email,),
        )
    ]


def run(db, clock) -> dict:
    return watch(db, clock).run()


# --- the parts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"), [("60d", 60), ("60", 60), ("8w", 56), ("2m", 60), ("1y", 365), (" 90D ", 90)]
)
def test_window_is_read_in_days(text, days):
    assert window_days(text) == days


@pytest.mark.parametrize("text", ["", "d", "60x", "-5d", "sixty", "5y"])
def test_unreadable_or_too_long_window_is_invalid(text):
    with pytest.raises(InvalidData):
        window_days(text)


@pytest.mark.parametrize(
    ("days_left", "mark"), [(61, None), (60, 60), (16, 60), (15, 15), (0, 15), (-3, 15)]
)
def test_the_latest_mark_passed(days_left, mark):
    assert mark_for(days_left) == mark


# --- the nightly notices --------------------------------------------------------------


def test_responsible_is_told_once_at_60_and_once_at_15_days(db, clock, firm):
    delegate(db, clock, firm["alfa"], "cassetto_fiscale", "2027-01-16")  # 61 days left
    assert run(db, clock)["notified"] == 0
    clock.advance(timedelta(days=1))  # 60 days left
    first = run(db, clock)
    assert first["notified"] == 1
    assert first["delegations"][0] | {} == {
        "client_id": firm["alfa"], "kind": "cassetto_fiscale", "valid_until": "2027-01-16",
        "days_left": 60, "mark": 60, "recipient": S1,
    }  # fmt: skip
    assert run(db, clock)["notified"] == 0  # the same night again
    for _ in range(44):  # 59 .. 16 days left: nothing new
        clock.advance(timedelta(days=1))
        assert run(db, clock)["notified"] == 0
    clock.advance(timedelta(days=1))  # 15 days left
    assert run(db, clock)["delegations"][0]["mark"] == 15
    for _ in range(20):  # down to after the expiry: never again
        clock.advance(timedelta(days=1))
        assert run(db, clock)["notified"] == 0
    sent = notices(db, S1)
    assert [s for s, _ in sent] == [
        source_of(firm["alfa"], "cassetto_fiscale", "2027-01-16", 60),
        source_of(firm["alfa"], "cassetto_fiscale", "2027-01-16", 15),
    ]
    assert (
        "Alfa srl: the cassetto fiscale delegation REF-1 expires on 16/01/2027, in 60 days"
        in (sent[0][1])
    )
    assert "in 15 days" in sent[1][1]


def test_first_seen_past_both_marks_is_told_once(db, clock, firm):
    delegate(db, clock, firm["alfa"], "inps", "2026-11-26")  # 10 days left
    delegate(db, clock, firm["beta"], "inps", "2026-10-01")  # already expired
    result = run(db, clock)
    assert sorted((d["client_id"], d["mark"]) for d in result["delegations"]) == [
        (firm["alfa"], 15),
        (firm["beta"], 15),
    ]
    assert "expired on 01/10/2026" in notices(db, S2)[0][1]
    clock.advance(timedelta(days=30))
    assert run(db, clock)["notified"] == 0
    assert len(notices(db, S1)) == len(notices(db, S2)) == 1


def test_first_seen_between_the_marks_gets_both_in_turn(db, clock, firm):
    delegate(db, clock, firm["alfa"], "inps", "2026-12-26")  # 40 days left
    assert [d["mark"] for d in run(db, clock)["delegations"]] == [60]
    clock.advance(timedelta(days=25))  # 15 left
    assert [d["mark"] for d in run(db, clock)["delegations"]] == [15]


def test_each_responsible_hears_only_of_their_clients(db, clock, firm):
    delegate(db, clock, firm["alfa"], "cassetto_fiscale", "2027-01-15")
    run(db, clock)
    assert len(notices(db, S1)) == 1
    for other in (S2, RA, RO, BA, ADMIN_EMAIL):
        assert notices(db, other) == []


def test_a_renewed_delegation_starts_over(db, clock, firm):
    delegate(db, clock, firm["alfa"], "inps", "2026-12-01")
    assert run(db, clock)["notified"] == 1
    delegate(db, clock, firm["alfa"], "inps", "2027-01-15", "REF-2")  # renewed: 60 days left
    assert run(db, clock)["delegations"][0]["mark"] == 60


def test_a_client_without_responsible_tells_nobody(db, clock, firm, org):
    delta = org.client("Delta srl", org.practice("Studio Verdi"), 4)
    delegate(db, clock, delta, "inps", "2026-12-01")
    result = run(db, clock)
    assert (result["notified"], result["withheld"]) == (0, 1)
    assert (
        db.execute("SELECT count(*) FROM notifications WHERE kind = 'consent'").fetchone()[0] == 0
    )


def test_dry_run_tells_nobody(db, clock, firm):
    delegate(db, clock, firm["alfa"], "inps", "2026-12-01")
    assert watch(db, clock).run(dry_run=True)["notified"] == 1
    assert notices(db, S1) == []
    assert run(db, clock)["notified"] == 1


def test_only_firm_users_run_the_watch(cli, db, clock, firm):
    from sempi_cli.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        watch(db, clock, RA).run()


def test_the_cron_job_runs_the_watch_and_a_rerun_tells_nobody_again(cli, db, clock, firm):
    delegate(db, clock, firm["alfa"], "cassetto_fiscale", "2027-01-15")
    delegate(db, clock, firm["gamma"], "inps", "2026-12-01")
    first = ok(cli("task", "remind", "run", "--json"), json=True)
    assert first["delegation_notices"] == 2
    again = cli("task", "remind", "run")
    assert again.exit_code == 0 and "delegation" not in again.stderr
    assert ok(cli("task", "remind", "run", "--json"), json=True)["delegation_notices"] == 0
    assert len(notices(db, S1)) == 1 and len(notices(db, S2)) == 1
    quiet = cli("task", "remind", "run", "-q")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")


# --- the listing ----------------------------------------------------------------------


@pytest.fixture
def recorded(db, clock, firm) -> dict:
    delegate(db, clock, firm["alfa"], "cassetto_fiscale", "2027-01-15", "CF-A")  # 60 days
    delegate(db, clock, firm["alfa"], "inps", "2027-06-30", "INPS-A")  # 226 days
    delegate(db, clock, firm["beta"], "inps", "2026-12-01", "INPS-B")  # 15 days
    delegate(db, clock, firm["beta"], "camera_commercio", "2026-11-01", "CCIAA-B")  # expired
    delegate(db, clock, firm["gamma"], "inps", "2026-11-20", "INPS-G")  # 4 days, Bianchi
    return firm


def listed(cli, *args, as_user=ADMIN_EMAIL) -> list[tuple]:
    rows = ok(cli("consent", "delegations", *args, "--json", as_user=as_user), json=True)
    return [(r["client"], r["kind"], r["days_left"]) for r in rows]


def test_list_within_the_window_soonest_first_expired_included(cli, recorded):
    assert listed(cli) == [
        ("Beta srl", "camera_commercio", -15),
        ("Gamma srl", "inps", 4),
        ("Beta srl", "inps", 15),
        ("Alfa srl", "cassetto_fiscale", 60),
    ]
    assert ("Alfa srl", "inps", 226) in listed(cli, "--expiring", "1y")
    assert listed(cli, "--expiring", "10d") == [
        ("Beta srl", "camera_commercio", -15),
        ("Gamma srl", "inps", 4),
    ]


def test_list_has_the_columns_and_responsible(cli, recorded):
    rows = ok(cli("consent", "delegations", "--expiring", "5d", "--json"), json=True)
    assert rows[1] == {
        "client_id": recorded["gamma"], "client": "Gamma srl", "kind": "inps",
        "reference": "INPS-G", "valid_until": "2026-11-20", "days_left": 4, "responsible": S2,
    }  # fmt: skip
    table = cli("consent", "delegations")
    assert table.exit_code == 0 and "Alfa srl" in table.stdout
    assert "4 delegation(s) expire within 60d." in table.stderr


def test_list_shows_only_the_clients_one_may_see(cli, recorded):
    assert [r[0] for r in listed(cli, as_user=S1)] == ["Alfa srl"]
    assert {r[0] for r in listed(cli, as_user=RA)} == {"Alfa srl", "Beta srl"}
    assert [r[0] for r in listed(cli, as_user=BA)] == ["Gamma srl"]
    assert listed(cli, as_user=RO) == []


def test_list_by_practice(cli, recorded):
    assert [r[0] for r in listed(cli, "--studio", "Studio Bianchi")] == ["Gamma srl"]
    assert_one_line_error(
        cli("consent", "delegations", "--studio", "Studio Bianchi", as_user=RA), 3, "not found"
    )


def test_unreadable_window_is_one_line_exit_6(cli, recorded):
    assert_one_line_error(cli("consent", "delegations", "--expiring", "soon"), 6, "soon")
