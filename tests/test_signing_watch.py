"""The signatures watch (services/signing/watch.py, run by `sempi task remind run`):
undecided signers reminded 3 days before a request's due date and on the last day,
once each; a request past its day reads and is marked expired, its sender told."""

# ruff: noqa: F811 (office, imported from test_signing_requests, is a fixture)
from __future__ import annotations

from datetime import timedelta

import pytest

from sempi_cli.services.signing.watch import SignWatch, mark_for
from tests.conftest import ADMIN_EMAIL, actor
from tests.helpers import data, ok
from tests.test_signing_requests import (  # noqa: F401 (office is a fixture)
    MARIO,
    STAFF,
    accept,
    events,
    office,
    request,
    totp_now,
)

# The test clock reads Monday 16 November 2026 (tests/conftest.py).


def run(db, clock, *, dry_run: bool = False) -> dict:
    return SignWatch(db, clock, actor(db, ADMIN_EMAIL)).run(dry_run=dry_run)


def reminders(db, user_id: int) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT text FROM notifications WHERE user_id = ? AND kind = 'signature'"
            " AND text LIKE '%to be signed%' OR (user_id = ? AND text LIKE '%until today%')"
            " ORDER BY id",
            (user_id, user_id),
        )
    ]


@pytest.mark.parametrize(
    ("days", "mark"), [(5, None), (4, None), (3, 3), (2, 3), (1, 3), (0, 0), (-1, None)]
)
def test_the_mark_a_day_has_reached(days, mark):
    assert mark_for(days) == mark


def test_undecided_signers_are_reminded_at_each_mark_once(cli, db, clock, office):
    made = data(request(cli, office, MARIO, STAFF, due="2026-11-19"))  # 3 days from today
    ok(accept(cli, made["id"], totp_now(clock, office), STAFF))  # STAFF decided
    assert run(db, clock) == {"reminded": 1, "expired": []}
    assert run(db, clock) == {"reminded": 0, "expired": []}  # a re-run tells no one twice
    [text] = reminders(db, office["mario"])
    assert f"Request {made['id']}" in text and "within 3 days" in text
    assert reminders(db, office["staff"]) == []
    clock.advance(timedelta(days=2))  # 1 day left: the 3-day mark, already told
    assert run(db, clock)["reminded"] == 0
    clock.advance(timedelta(days=1))  # the last day
    assert run(db, clock)["reminded"] == 1
    assert "until today" in reminders(db, office["mario"])[-1]


def test_a_request_first_seen_inside_a_mark_gets_that_mark_once(cli, db, clock, office):
    data(request(cli, office, MARIO, due="2026-11-17"))  # 1 day left
    assert run(db, clock)["reminded"] == 1
    assert "within 1 day" in reminders(db, office["mario"])[0]


def test_no_reminder_far_from_the_due_date_or_without_one(cli, db, clock, office):
    data(request(cli, office, MARIO, due="2026-12-31"))
    data(request(cli, office, MARIO))
    assert run(db, clock) == {"reminded": 0, "expired": []}


def test_past_its_day_a_request_reads_expired_then_the_watch_writes_it(cli, db, clock, office):
    made = data(request(cli, office, MARIO, STAFF, due="2026-11-17"))
    clock.advance(timedelta(days=2))
    shown = data(cli("--format", "json", "sign", "status", str(made["id"]), as_user=STAFF))
    assert shown["status"] == "expired"
    listed = data(cli("--format", "json", "sign", "list", "--status", "expired", as_user=STAFF))
    assert [r["id"] for r in listed] == [made["id"]]
    assert data(cli("--format", "json", "sign", "list", "--status", "sent",
                    as_user=STAFF)) in (None, [])  # fmt: skip
    assert run(db, clock, dry_run=True) == {"reminded": 0, "expired": [made["id"]]}
    assert db.execute("SELECT status FROM sign_requests").fetchone()[0] == "sent"  # dry run
    assert run(db, clock) == {"reminded": 0, "expired": [made["id"]]}
    assert db.execute("SELECT status FROM sign_requests").fetchone()[0] == "expired"
    assert events(db, made["id"])[-1] == ("expired", None, "system")
    assert run(db, clock)["expired"] == []  # once
    told = db.execute(
        "SELECT text FROM notifications WHERE user_id = ? AND text LIKE '%expired unsigned%'",
        (office["staff"],),
    ).fetchall()
    assert len(told) == 1 and "17/11/2026" in told[0][0]


def test_the_nightly_job_runs_the_watch(cli, db, clock, office):
    data(request(cli, office, MARIO, due="2026-11-18"))
    result = data(cli("--format", "json", "task", "remind", "run"))
    assert result["signature_reminders"] == 1 and result["signature_requests_expired"] == []
    said = cli("task", "remind", "run")
    assert said.exit_code == 0


def test_a_reminder_is_written_in_the_signers_language(cli, db, clock, office):
    ok(cli("user", "edit", MARIO, "--language", "it"))
    data(request(cli, office, MARIO, due="2026-11-18"))
    run(db, clock)
    [text] = db.execute(
        "SELECT text FROM notifications WHERE user_id = ? AND kind = 'signature'"
        " AND text LIKE '%entro%'",
        (office["mario"],),
    ).fetchone()
    assert "2 giorni" in text


def test_only_a_firm_user_runs_the_watch(db, clock, office):
    from sempi_cli.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        SignWatch(db, clock, actor(db, MARIO)).run()
