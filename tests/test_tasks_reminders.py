"""Reminders on tasks (`sempi task remind`) and the inbox they land in (`sempi notify`).

The clock stands at NOW (2026-11-16 09:30 UTC, 10:30 in Rome); the task's
deadline is 20/11/2026 18:00 Rome (17:00 UTC).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sempi_cli.services.tasks.reminders import format_before, parse_before
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, actor, json_at_once, store_digest
from tests.helpers import assert_one_line_error, ok

S1, S2, S3 = "s1@sempi.test", "s2@sempi.test", "s3@sempi.test"
RO = "ro@rossi.test"  # a practice operator with no work group: sees no task
DEADLINE = "20/11/2026 18:00"


@pytest.fixture
def recipients(org):
    """Staff S1, S2, S3; RO, an operator of Studio Rossi in no work group."""
    for email, name in ((S1, "Staff One"), (S2, "Staff Two"), (S3, "Staff Three")):
        org.user(email, name)
    org.user(RO, "Rossi Operator", "studio-operator", studio=org.practice("Studio Rossi"))


@pytest.fixture
def task(cli, db, clock, recipients) -> int:
    """Created by the administrator; S1 responsible, S2 participant; S3 has nothing to do with it.
    S1 and S2 turned their task notifications off: these inboxes hold reminders only."""
    from sempi_cli.services.notify.prefs import PreferenceService

    for user in (S1, S2):
        PreferenceService(db, clock, actor(db, user)).set("task", "off")
    rows = ok(
        cli(
            "task", "add", "Liquidazione IVA novembre", "-r", S1, "--participant", S2,
            "-d", DEADLINE, "--json",
        ),
        json=True,
    )  # fmt: skip
    return rows[0]["id"]


def remind(cli, *args, as_user=ADMIN_EMAIL):
    return cli("task", "remind", *args, "--json", as_user=as_user)


def run(cli, *args, as_user=ADMIN_EMAIL) -> dict:
    return ok(cli("task", "remind", "run", *args, "--json", as_user=as_user), json=True)


def inbox(cli, user, *args) -> list[dict]:
    return ok(cli("notify", "list", *args, "--json", as_user=user), json=True)


# --- adding --------------------------------------------------------------------------


def test_before_goes_to_the_responsible_by_default(cli, task):
    [row] = ok(remind(cli, "add", str(task), "--before", "2d"), json=True)
    assert row["recipient"] == S1
    assert row["before_minutes"] == 2 * 24 * 60
    assert row["due_at"] == "2026-11-18T18:00+01:00"
    assert row["when"] == "2d before the deadline"
    assert (row["state"], row["delivered_at"], row["created_by"]) == ("pending", None, ADMIN_EMAIL)
    history = ok(cli("task", "history", str(task), "--json"), json=True)
    assert [h["action"] for h in history][-1] == "add_reminder"
    assert S1 in history[-1]["new"]


def test_a_deadline_in_year_one_has_no_time_before_it(cli, task):
    """Nothing refuses a deadline on 02/01/0001; counting back from it was an internal
    OverflowError (found by fuzzing): a new --before is past, an old one is due."""
    ok(remind(cli, "add", str(task), "--before", "2d"))
    ok(cli("task", "edit", str(task), "--deadline", "02/01/0001"))
    assert_one_line_error(remind(cli, "add", str(task), "--before", "3d", "--to", S2), 6, "past")
    [row] = ok(remind(cli, "list", str(task)), json=True)
    assert row["due_at"].startswith("0001-01-01")
    assert [r["task_id"] for r in run(cli)["reminders"]] == [task]


def test_at_to_several_people_makes_one_reminder_each(cli, task):
    rows = ok(
        remind(cli, "add", str(task), "--at", "17/11/2026 09:00", "--to", S1, "--to", S2,
               "--to", S1, "--to", "me"), json=True
    )  # fmt: skip
    assert [r["recipient"] for r in rows] == [S1, S2, ADMIN_EMAIL]
    assert {r["due_at"] for r in rows} == {"2026-11-17T09:00+01:00"}
    assert {r["remind_at"] for r in rows} == {"2026-11-17T09:00+01:00"}
    assert len({r["id"] for r in rows}) == 3
    listed = ok(remind(cli, "list", str(task)), json=True)
    assert [r["id"] for r in listed] == [r["id"] for r in rows]


def test_a_date_alone_rings_when_the_office_opens(cli, task):
    [row] = ok(remind(cli, "add", str(task), "--at", "tomorrow"), json=True)
    assert row["due_at"] == "2026-11-17T09:00+01:00"


def test_the_same_reminder_twice_is_a_conflict(cli, task, store_path):
    ok(remind(cli, "add", str(task), "--before", "1d"), json=True)
    before = store_digest(store_path)
    line = assert_one_line_error(
        remind(cli, "add", str(task), "--before", "24h", "--to", S2, "--to", S1), 4
    )
    assert S1 in line
    assert store_digest(store_path) == before


# --- delivering ----------------------------------------------------------------------


def test_delivered_exactly_when_due_and_only_once(cli, task):
    [row] = ok(remind(cli, "add", str(task), "--at", "17/11/2026 09:00"), json=True)  # 08:00 UTC
    cli.clock.advance(timedelta(hours=22, minutes=29, seconds=59))  # 07:59:59 UTC
    assert run(cli)["delivered"] == 0
    assert ok(remind(cli, "list", str(task)), json=True)[0]["state"] == "pending"
    assert inbox(cli, S1) == []
    cli.clock.advance(timedelta(seconds=1))
    result = run(cli)
    assert result["delivered"] == 1
    assert [r["reminder_id"] for r in result["reminders"]] == [row["id"]]
    assert run(cli)["delivered"] == 0
    cli.clock.advance(timedelta(days=3))
    assert run(cli)["delivered"] == 0
    [note] = inbox(cli, S1)
    assert note["kind"] == "reminder" and note["task_id"] == task and note["read"] is False
    assert "Liquidazione IVA novembre" in note["text"] and "20/11/2026 18:00" in note["text"]
    [listed] = ok(remind(cli, "list", str(task)), json=True)
    assert listed["state"] == "delivered"
    assert listed["notification_id"] == note["id"]
    assert listed["delivered_at"] == "2026-11-17T08:00:00+00:00"


def test_a_moved_deadline_moves_a_relative_reminder(cli, task):
    ok(remind(cli, "add", str(task), "--before", "1d"), json=True)  # due 19/11 18:00 Rome
    ok(cli("task", "edit", str(task), "--deadline", "25/11/2026 18:00", "--json"), json=True)
    assert ok(remind(cli, "list", str(task)), json=True)[0]["due_at"] == "2026-11-24T18:00+01:00"
    cli.clock.set(datetime(2026, 11, 19, 17, 0, tzinfo=UTC))  # the old due time
    assert run(cli)["delivered"] == 0
    cli.clock.set(datetime(2026, 11, 24, 16, 59, 59, tzinfo=UTC))
    assert run(cli)["delivered"] == 0
    cli.clock.advance(timedelta(seconds=1))
    assert run(cli)["delivered"] == 1
    assert len(inbox(cli, S1)) == 1


def test_a_deadline_moved_earlier_makes_the_reminder_due_now(cli, task):
    ok(remind(cli, "add", str(task), "--before", "2d"), json=True)
    ok(cli("task", "edit", str(task), "--deadline", "17/11/2026 12:00", "--json"), json=True)
    [row] = ok(remind(cli, "list", str(task)), json=True)
    assert row["state"] == "due"
    assert run(cli)["delivered"] == 1


def test_a_removed_deadline_holds_a_relative_reminder(cli, task):
    ok(remind(cli, "add", str(task), "--before", "1d"), json=True)
    ok(cli("task", "edit", str(task), "--deadline", "", "--json"), json=True)
    assert ok(remind(cli, "list", str(task)), json=True)[0]["state"] == "no_deadline"
    cli.clock.advance(timedelta(days=30))
    assert run(cli)["delivered"] == 0


def test_completed_and_removed_tasks_deliver_nothing(cli, task):
    other = ok(cli("task", "add", "Altro incarico", "-r", S1, "-d", DEADLINE, "--json"), json=True)[
        0
    ]["id"]
    ok(remind(cli, "add", str(task), "--before", "1d"), json=True)
    ok(remind(cli, "add", str(other), "--at", "18/11/2026 09:00"), json=True)
    ok(cli("task", "done", str(task), "--json"), json=True)
    ok(cli("task", "remove", str(other), "--yes", "--json"), json=True)
    cli.clock.advance(timedelta(days=10))
    assert run(cli)["delivered"] == 0
    assert inbox(cli, S1) == []
    assert ok(remind(cli, "list", str(task)), json=True)[0]["state"] == "task_completed"


def test_dry_run_delivers_nothing(cli, task, store_path):
    ok(remind(cli, "add", str(task), "--at", "16/11/2026 11:00"), json=True)
    cli.clock.advance(timedelta(hours=1))
    before = store_digest(store_path)
    result = run(cli, "--dry-run")
    assert (result["dry_run"], result["delivered"]) == (True, 1)
    assert result["reminders"][0]["notification_id"] is None
    assert store_digest(store_path) == before
    assert run(cli)["delivered"] == 1


def test_a_recipient_who_lost_the_task_gets_nothing(cli, task):
    ok(remind(cli, "add", str(task), "--at", "16/11/2026 11:00", "--to", S2), json=True)
    ok(cli("task", "edit", str(task), "--remove-participant", S2, "--json"), json=True)
    cli.clock.advance(timedelta(hours=1))
    result = run(cli)
    assert (result["delivered"], result["withheld"]) == (0, 1)
    assert inbox(cli, S2) == []
    assert ok(remind(cli, "list", str(task)), json=True)[0]["state"] == "withheld"
    assert run(cli)["withheld"] == 0


def test_the_job_runs_as_a_firm_user(cli, task):
    ok(remind(cli, "add", str(task), "--at", "16/11/2026 11:00"), json=True)
    cli.clock.advance(timedelta(hours=1))
    line = assert_one_line_error(cli("task", "remind", "run", as_user=RO), 8)
    assert "firm user" in line
    assert_one_line_error(cli("task", "remind", "run", as_user=None), 7)
    assert inbox(cli, S1) == []
    assert run(cli, as_user=S3)["delivered"] == 1  # any firm user, not only administrators


@pytest.mark.slow
def test_two_runs_at_once_in_real_processes_deliver_each_reminder_once(store_path, db, tmp_path):
    """Reminders due in real time, delivered by four `sempi` processes started together."""
    from sempi_cli.clock import FixedClock
    from sempi_cli.services.tasks.input import TaskInput
    from sempi_cli.services.tasks.reminders import ReminderService
    from sempi_cli.services.tasks.tasks import TaskService

    real_now = datetime.now(UTC)
    past = FixedClock(real_now - timedelta(minutes=10))
    admin = actor(db, ADMIN_EMAIL)
    due_at = (real_now - timedelta(minutes=5)).isoformat(timespec="seconds")
    count = 40
    for n in range(count):
        [created] = TaskService(db, past, admin).add(
            TaskInput(title=f"Incarico {n}", responsibles=[ADMIN_EMAIL])
        )
        ReminderService(db, past, admin).add(created["id"], at=due_at, to=["me"])
    sempi = str(Path(sys.executable).parent / "sempi")
    env = {**os.environ, "SEMPI_DB": str(store_path), "SEMPI_HOME": str(tmp_path / "home")}
    login = subprocess.run(
        [sempi, "login", "-e", ADMIN_EMAIL, "--password-stdin"],
        env=env, input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    runs = json_at_once([sempi, "--json", "task", "remind", "run"], env, 4)
    delivered = [run["delivered"] for run in runs]
    assert sum(delivered) == count, delivered
    rows = db.execute("SELECT source FROM notifications WHERE kind = 'reminder'").fetchall()
    assert len(rows) == count
    assert (
        db.execute("SELECT count(*) FROM reminders WHERE delivered_at IS NULL").fetchone()[0] == 0
    )


# --- the inbox -----------------------------------------------------------------------


@pytest.fixture
def delivered(cli, task) -> list[int]:
    """Three reminders delivered: two to S1 (11:00, 12:00 Rome), one to S2."""
    ok(remind(cli, "add", str(task), "--at", "16/11/2026 11:00", "--to", S1, "--to", S2), json=True)
    cli.clock.advance(timedelta(hours=1))
    assert run(cli)["delivered"] == 2
    ok(cli("task", "edit", str(task), "--title", "F24 ritenute novembre", "--json"), json=True)
    ok(remind(cli, "add", str(task), "--at", "16/11/2026 12:00", "--to", S1), json=True)
    cli.clock.advance(timedelta(hours=1))
    assert run(cli)["delivered"] == 1
    return [n["id"] for n in inbox(cli, S1)]


def test_the_inbox_shows_only_ones_own(cli, delivered):
    s1 = inbox(cli, S1)
    assert [n["id"] for n in s1] == delivered and len(delivered) == 2
    assert s1[0]["id"] > s1[1]["id"]  # newest first
    [s2] = inbox(cli, S2)
    assert s2["id"] not in delivered
    assert inbox(cli, ADMIN_EMAIL) == []  # not even a firm administrator sees others'
    assert inbox(cli, S3) == []


def test_inbox_filters(cli, delivered):
    newest, oldest = delivered
    assert [n["id"] for n in inbox(cli, S1, "--search", "f24")] == [newest]
    assert [n["id"] for n in inbox(cli, S1, "--search", "100%")] == []
    assert [n["id"] for n in inbox(cli, S1, "--since", "2026-11-16 12:00")] == [newest]
    assert [n["id"] for n in inbox(cli, S1, "--kind", "reminder", "--limit", "1")] == [newest]
    line = assert_one_line_error(cli("notify", "list", "--kind", "gossip", as_user=S1), 6)
    assert "--kind" in line
    assert_one_line_error(cli("notify", "list", "--since", "someday", as_user=S1), 6, "--since")
    table = cli("notify", "list", as_user=S1)
    assert "16/11/2026 12:30" in table.stdout and "2 unread" in table.stderr


def test_read_some_then_all(cli, delivered, store_path):
    newest, oldest = delivered
    result = ok(cli("notify", "read", str(oldest), "--json", as_user=S1), json=True)
    assert result == {"marked_read": 1, "unread": 1}
    assert [n["id"] for n in inbox(cli, S1, "--unread")] == [newest]
    assert (
        ok(cli("notify", "read", str(oldest), "--json", as_user=S1), json=True)["marked_read"] == 0
    )
    [s2_note] = inbox(cli, S2)
    before = store_digest(store_path)
    # Someone else's notification is "not found", and nothing is marked at all.
    line = assert_one_line_error(
        cli("notify", "read", str(newest), str(s2_note["id"]), as_user=S1), 3
    )
    assert f"notification {s2_note['id']} not found" in line
    assert assert_one_line_error(cli("notify", "read", "999", as_user=S1), 3)
    assert store_digest(store_path) == before
    assert ok(cli("notify", "read", "--all", "--json", as_user=S1), json=True) == {
        "marked_read": 1,
        "unread": 0,
    }
    assert inbox(cli, S1, "--unread") == []
    assert inbox(cli, S2, "--unread") == [s2_note]  # S2's stays unread


def test_read_needs_ids_or_all(cli, delivered, store_path):
    before = store_digest(store_path)
    assert_one_line_error(cli("notify", "read", as_user=S1), 2)
    assert_one_line_error(cli("notify", "read", str(delivered[0]), "--all", as_user=S1), 2)
    assert store_digest(store_path) == before


def test_notify_is_idempotent_by_source(db, clock, recipients):
    from sempi_cli.errors import InvalidData
    from sempi_cli.services.notify.centre import NotificationService

    service = NotificationService(db, clock, actor(db, ADMIN_EMAIL))
    s1 = actor(db, S1).id
    first = service.notify(s1, "reminder", "Promemoria", "test:1")
    assert isinstance(first, int)
    assert service.notify(s1, "reminder", "Promemoria again", "test:1") is None
    assert db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 1
    with pytest.raises(InvalidData, match="kind"):
        service.notify(s1, "gossip", "x", "test:2")


# --- bad input and access ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["999", "--at", "tomorrow"], 3, "task 999 not found"),
        (["{task}", "--at", "someday"], 6, "--at"),
        (["{task}", "--at", "31/02/2026 09:00"], 6, "--at"),
        (["{task}", "--at", "16/11/2026 10:00"], 6, "in the past"),
        (["{nodeadline}", "--before", "2d"], 5, "no deadline"),
        (["{task}", "--before", "2d", "--at", "tomorrow"], 2, "not both"),
        (["{task}"], 2, "--before"),
        (["{task}", "--before", "soon"], 6, "--before"),
        (["{task}", "--before", "0d"], 6, "--before"),
        (["{task}", "--before", "5d"], 6, "already past"),
        (["{task}", "--before", "400d"], 6, "--before"),
        (["{task}", "--at", "tomorrow", "--to", "nobody@sempi.test"], 6, "--to"),
        (["{task}", "--at", "tomorrow", "--to", S3], 6, "not one of task"),
        (["{task}", "--at", "tomorrow", "--to", S2, "--to", "nobody"], 6, "--to"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(cli, task, store_path, args, code, words):
    nodeadline = ok(cli("task", "add", "Senza scadenza", "-r", S1, "--json"), json=True)[0]["id"]
    args = [a.format(task=task, nodeadline=nodeadline) for a in args]
    before = store_digest(store_path)
    line = assert_one_line_error(cli("task", "remind", "add", *args), code)
    assert words in line
    assert store_digest(store_path) == before


def test_an_unrelated_operator_sees_no_task_and_no_reminder(cli, task, store_path):
    [row] = ok(remind(cli, "add", str(task), "--before", "1d"), json=True)
    before = store_digest(store_path)
    assert_one_line_error(
        cli("task", "remind", "add", str(task), "--at", "tomorrow", "--to", "me", as_user=RO),
        3,
        f"task {task} not found",
    )
    assert_one_line_error(cli("task", "remind", "list", str(task), as_user=RO), 3)
    assert_one_line_error(
        cli("task", "remind", "remove", str(row["id"]), as_user=RO),
        3,
        f"reminder {row['id']} not found",
    )
    assert store_digest(store_path) == before


def test_a_participant_reminds_only_themselves(cli, task):
    [mine] = ok(remind(cli, "add", str(task), "--before", "1d"), json=True)  # the creator's, to S1
    line = assert_one_line_error(
        cli("task", "remind", "add", str(task), "--before", "2d", as_user=S2), 8
    )
    assert "only for yourself" in line and "--to me" in line
    assert_one_line_error(
        cli("task", "remind", "add", str(task), "--before", "2d", "--to", S1, as_user=S2), 8
    )
    [own] = ok(remind(cli, "add", str(task), "--before", "2d", "--to", "me", as_user=S2), json=True)
    assert own["recipient"] == S2
    # S2 sees only the reminders to or by them; the responsible sees them all.
    assert [r["id"] for r in ok(remind(cli, "list", str(task), as_user=S2), json=True)] == [
        own["id"]
    ]
    assert {r["id"] for r in ok(remind(cli, "list", str(task), as_user=S1), json=True)} == {
        mine["id"],
        own["id"],
    }
    assert_one_line_error(cli("task", "remind", "remove", str(mine["id"]), as_user=S2), 3)


def test_the_responsible_reminds_the_task_people(cli, task):
    rows = ok(remind(cli, "add", str(task), "--before", "3h", "--to", S2, "--to", ADMIN_EMAIL,
                     as_user=S1), json=True)  # fmt: skip
    assert [r["recipient"] for r in rows] == [S2, ADMIN_EMAIL]
    assert {r["created_by"] for r in rows} == {S1}


# --- removing ------------------------------------------------------------------------


def test_remove_a_pending_reminder(cli, task, store_path):
    [row] = ok(remind(cli, "add", str(task), "--before", "1d"), json=True)
    before = store_digest(store_path)
    assert ok(remind(cli, "remove", str(row["id"]), "--dry-run"), json=True)[0]["id"] == row["id"]
    assert store_digest(store_path) == before
    ok(remind(cli, "remove", str(row["id"]), as_user=S1), json=True)  # the recipient may cancel it
    assert ok(remind(cli, "list", str(task)), json=True) == []
    assert (
        ok(cli("task", "history", str(task), "--json"), json=True)[-1]["action"]
        == "remove_reminder"
    )
    assert_one_line_error(cli("task", "remind", "remove", str(row["id"])), 3)


def test_a_delivered_reminder_cannot_be_removed(cli, task, store_path):
    [row] = ok(remind(cli, "add", str(task), "--at", "16/11/2026 11:00"), json=True)
    cli.clock.advance(timedelta(hours=1))
    run(cli)
    before = store_digest(store_path)
    assert_one_line_error(cli("task", "remind", "remove", str(row["id"])), 5, "delivered")
    assert store_digest(store_path) == before


# --- the lead time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes", "short"),
    [
        ("2d", 2880, "2d"),
        ("1w", 10080, "7d"),
        ("3h", 180, "3h"),
        ("90m", 90, "1h30m"),
        ("1d 12h", 2160, "1d12h"),
        ("1w2d", 12960, "9d"),
        ("01:30", 90, "1h30m"),
        ("1.5h", 90, "1h30m"),
    ],
)
def test_parse_before(text, minutes, short):
    assert parse_before(text) == minutes
    assert format_before(minutes) == short


@pytest.mark.parametrize("text", ["", "d", "2x", "-1d", "0m", "1d-2h", "9" * 40 + "d"])
def test_parse_before_refuses(text):
    from sempi_cli.errors import InvalidData

    with pytest.raises(InvalidData):
        parse_before(text)


def test_store_sql_reads_the_stored_deadline_form():
    """The job's SQL computes 'deadline minus lead time' with strftime('%s'): it must
    understand the '+00:00' form every *_at column is stored in."""
    conn = sqlite3.connect(":memory:")
    seconds = conn.execute("SELECT CAST(strftime('%s', '2026-11-20T17:00:00+00:00') AS INTEGER)")
    assert seconds.fetchone()[0] == int(datetime(2026, 11, 20, 17, tzinfo=UTC).timestamp())


def test_cron_jobs_are_silent_with_quiet(cli):
    """A nightly job with -q prints nothing on success (cron mails any output)."""
    for command in (["task", "remind", "run", "-q"], ["task", "recur", "run", "-q"]):
        result = cli(*command)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == "" and result.stderr == ""
