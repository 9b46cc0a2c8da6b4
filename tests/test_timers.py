"""`sempi timer`: the one running timer, pauses in the history, entries by hand,
overlaps, forgotten timers, reports; bad input changes nothing."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, NOW, actor, store_digest
from tests.helpers import DOER, HELPER, OUTSIDER, SEMPI, WATCHER, assert_one_line_error, ok


@pytest.fixture
def tasks(db, clock, org):
    """Two clients; tasks with time tracking where DOER is responsible, HELPER a
    participant and WATCHER an observer; one task that does not track time."""
    from sempi_cli.services.tasks.input import TaskInput
    from sempi_cli.services.tasks.tasks import TaskService

    org.staff(DOER, HELPER, WATCHER, OUTSIDER)
    studio = org.practice("Studio Rossi")
    alfa = org.client("Alfa Srl", studio, 1)
    beta = org.client("Beta Srl", studio, 2)
    service = TaskService(db, clock, org.admin)

    def task(title, **kw):
        kw.setdefault("time_tracking", True)
        data = TaskInput(
            title, responsibles=[DOER], participants=[HELPER], observers=[WATCHER], **kw
        )
        return service.add(data)[0]["id"]

    return {
        "a": task("Liquidazione IVA", client=alfa, planned="1h"),
        "b": task("Bilancio", client=beta, planned="2h"),
        "ordinary": task("LIPE", client=alfa, kind="ordinary", time_tracking=None),
        "off": task("Senza timer", client=alfa, time_tracking=False),
        "alfa": alfa,
        "beta": beta,
    }


def js(cli, *args, as_user=DOER):
    return json.loads(ok(cli("timer", *args, "--json", as_user=as_user)).stdout)


def running(db):
    return [
        tuple(r)
        for r in db.execute(
            "SELECT user_id, task_id FROM time_entries WHERE ended_at IS NULL AND removed_at IS NULL"
        )
    ]


# --- the timer ------------------------------------------------------------------------


def test_start_pause_is_an_interval_and_a_pause_in_the_history(cli, clock, tasks, db):
    started = js(cli, "start", str(tasks["a"]))
    assert started["task_id"] == tasks["a"] and started["paused"] is None
    clock.advance(timedelta(minutes=25))
    paused = js(cli, "pause")
    assert paused["seconds"] == 25 * 60 and paused["id"] == started["id"]
    show = json.loads(ok(cli("task", "show", str(tasks["a"]), "--json", as_user=DOER)).stdout)
    assert show["timer_pauses"] == 1
    history = json.loads(ok(cli("task", "history", str(tasks["a"]), "--json")).stdout)
    assert [h["action"] for h in history][-2:] == ["timer_start", "pause"]
    assert js(cli, "status") == {"running": False}


def test_starting_another_task_pauses_the_running_one_and_says_so(cli, clock, tasks, db):
    js(cli, "start", str(tasks["a"]))
    clock.advance(timedelta(minutes=10))
    result = ok(cli("timer", "start", str(tasks["b"]), as_user=DOER))
    assert f"Paused the timer on task {tasks['a']} (10 min)" in result.stderr
    assert running(db) == [(actor(db, DOER).id, tasks["b"])]
    status = js(cli, "status")
    assert status["task_id"] == tasks["b"] and status["warning"] is None


def test_participants_track_time_too_and_each_has_one_timer(cli, tasks, db):
    js(cli, "start", str(tasks["a"]))
    js(cli, "start", str(tasks["a"]), as_user=HELPER)
    assert len(running(db)) == 2


def test_ordinary_tasks_track_time_by_default(cli, tasks):
    assert js(cli, "start", str(tasks["ordinary"]))["task_id"] == tasks["ordinary"]


@pytest.mark.parametrize(
    ("args", "user", "code", "words"),
    [
        (["start", "off"], DOER, 5, "time tracking is off"),
        (["start", "a"], WATCHER, 8, "only the responsible and the participants"),
        (["start", "a"], OUTSIDER, 3, "not found"),
        (["start", "999"], DOER, 3, "not found"),
        (["pause"], DOER, 5, "no timer of yours is running"),
        (["add", "a", "--duration", "forever", "-m", "x"], DOER, 6, "--duration"),
        (["add", "a", "--duration", "0m", "-m", "x"], DOER, 6, "--duration"),
        (["add", "a", "--duration", "1h"], DOER, 6, "--comment"),
        (["add", "a", "--duration", "1h", "-m", "  "], DOER, 6, "--comment"),
        (
            ["add", "a", "--from", "2026-11-16 09:00", "--to", "2026-11-16 08:00", "-m", "x"],
            DOER,
            6,
            "--from",
        ),
        (
            ["add", "a", "--from", "2026-11-16 09:00", "--to", "tomorrow", "-m", "x"],
            DOER,
            6,
            "--to",
        ),
        (["add", "a", "--from", "yesterday"], DOER, 2, "--duration"),
        (["add", "a", "--from", "the other day", "--duration", "1h", "-m", "x"], DOER, 6, "--from"),
        (["add", "b", "--duration", "1h", "-m", "x"], OUTSIDER, 3, "not found"),
        (["log", "b"], OUTSIDER, 3, "not found"),
        (["report", "--from", "2026-11-10", "--to", "2026-11-01"], DOER, 6, "--from"),
        (["report", "--by", "year"], DOER, 6, "--by"),
        (["report", "--round", "soon"], DOER, 6, "--round"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(cli, tasks, store_path, args, user, code, words):
    args = [str(tasks[a]) if a in tasks else a for a in args]
    ignore = ("audit_log",) if code == 8 else ()  # a refusal is audited
    before = store_digest(store_path, ignore)
    assert_one_line_error(cli("timer", *args, as_user=user), code, words)
    assert store_digest(store_path, ignore) == before


def test_starting_the_running_task_again_is_refused(cli, tasks, store_path):
    js(cli, "start", str(tasks["a"]))
    before = store_digest(store_path)
    assert_one_line_error(
        cli("timer", "start", str(tasks["a"]), as_user=DOER), 5, "already running"
    )
    assert store_digest(store_path) == before


# --- entries by hand --------------------------------------------------------------------


def test_manual_entry_is_flagged_and_keeps_its_comment(cli, tasks):
    entry = js(cli, "add", str(tasks["a"]), "--duration", "1h30m", "-m", "Telefonata")
    assert entry["manual"] is True and entry["comment"] == "Telefonata"
    assert entry["seconds"] == 5400 and entry["ended_at"] == NOW.isoformat()
    table = ok(cli("timer", "log", as_user=DOER)).stdout
    line = next(line for line in table.splitlines() if "Telefonata" in line)
    assert "!" in line and "1:30" in line
    history = json.loads(ok(cli("task", "history", str(tasks["a"]), "--json")).stdout)
    assert history[-1]["action"] == "time_add"


@pytest.mark.parametrize(
    ("args", "seconds", "start"),
    [
        (["--duration", "90m"], 5400, "2026-11-16T08:00:00+00:00"),
        (["--duration", "1.5h", "--from", "2026-11-16 08:00"], 5400, "2026-11-16T07:00:00+00:00"),
        (["--duration", "01:30", "--to", "2026-11-16 08:00"], 5400, "2026-11-16T05:30:00+00:00"),
        (
            ["--from", "13/11/2026 09:00", "--to", "13/11/2026 12:15"],
            11700,
            "2026-11-13T08:00:00+00:00",
        ),
    ],
)
def test_manual_entry_forms(cli, tasks, args, seconds, start):
    entry = js(cli, "add", str(tasks["a"]), *args, "-m", "a mano")
    assert (entry["seconds"], entry["started_at"]) == (seconds, start)


def test_overlapping_entries_of_one_person_are_refused(cli, clock, tasks, store_path):
    js(
        cli,
        "add",
        str(tasks["a"]),
        "--from",
        "2026-11-16 08:00",
        "--to",
        "2026-11-16 09:00",
        "-m",
        "x",
    )
    before = store_digest(store_path)
    result = cli(
        "timer",
        "add",
        str(tasks["b"]),
        "--from",
        "2026-11-16 08:30",
        "--to",
        "2026-11-16 09:30",
        "-m",
        "y",
        as_user=DOER,
    )
    assert_one_line_error(result, 5, "overlaps entry")
    assert store_digest(store_path) == before
    # Touching is not overlapping; another person's time is theirs.
    js(
        cli,
        "add",
        str(tasks["b"]),
        "--from",
        "2026-11-16 09:00",
        "--to",
        "2026-11-16 09:30",
        "-m",
        "z",
    )
    js(
        cli,
        "add",
        str(tasks["b"]),
        "--from",
        "2026-11-16 08:00",
        "--to",
        "2026-11-16 09:00",
        "-m",
        "w",
        as_user=HELPER,
    )
    # A running timer counts up to now.
    js(cli, "start", str(tasks["a"]))
    clock.advance(timedelta(hours=1))
    result = cli("timer", "add", str(tasks["b"]), "--duration", "10m", "-m", "v", as_user=DOER)
    assert_one_line_error(result, 5, "running")


def test_edit_and_remove_own_entries_firm_admins_any(cli, tasks, db, store_path):
    entry = js(cli, "add", str(tasks["a"]), "--duration", "1h", "-m", "x")
    edited = js(cli, "edit", str(entry["id"]), "--duration", "45m", "-m", "corretto")
    assert edited["seconds"] == 2700 and edited["comment"] == "corretto"
    before = store_digest(store_path, ("audit_log",))
    assert_one_line_error(
        cli("timer", "remove", str(entry["id"]), as_user=HELPER), 8, "someone else's"
    )
    assert_one_line_error(
        cli("timer", "remove", str(entry["id"]), as_user=OUTSIDER), 3, "not found"
    )
    assert store_digest(store_path, ("audit_log",)) == before
    js(cli, "edit", str(entry["id"]), "--to", "2026-11-16 10:05", as_user=ADMIN_EMAIL)
    assert js(cli, "remove", str(entry["id"]), as_user=ADMIN_EMAIL)["removed"] is True
    assert js(cli, "log") == []
    actions = [
        h["action"]
        for h in json.loads(ok(cli("task", "history", str(tasks["a"]), "--json")).stdout)
    ]
    # comment, end and length by the owner; end and length by the administrator
    assert actions.count("time_edit") == 5 and actions[-1] == "time_remove"


def test_editing_a_timed_entry_makes_it_manual_and_wants_a_comment(cli, clock, tasks, store_path):
    entry = js(cli, "start", str(tasks["a"]))
    clock.advance(timedelta(hours=2))
    js(cli, "pause")
    before = store_digest(store_path)
    assert_one_line_error(
        cli("timer", "edit", str(entry["id"]), "--duration", "1h", as_user=DOER), 6, "--comment"
    )
    assert store_digest(store_path) == before
    edited = js(cli, "edit", str(entry["id"]), "--duration", "1h", "-m", "dimenticato")
    assert edited["manual"] is True and edited["seconds"] == 3600


# --- forgotten timers -----------------------------------------------------------------


def test_a_forgotten_timer_is_reported_and_notified_once(cli, clock, tasks, db):
    js(cli, "start", str(tasks["a"]))
    assert js(cli, "check", as_user=ADMIN_EMAIL) == []
    clock.advance(timedelta(hours=10))
    assert "more than 10 h" in js(cli, "status")["warning"]
    assert "Warning" in ok(cli("timer", "status", as_user=DOER)).stderr
    found = js(cli, "check", as_user=ADMIN_EMAIL)
    assert [f["notified"] for f in found] == [True]
    assert [f["notified"] for f in js(cli, "check", as_user=ADMIN_EMAIL)] == [False]
    inbox = json.loads(ok(cli("notify", "list", "--kind", "timer", "--json", as_user=DOER)).stdout)
    assert [n["kind"] for n in inbox] == ["timer"] and "timer edit" in inbox[0]["text"]


def test_a_timer_over_midnight_is_forgotten_and_the_limit_is_a_setting(cli, clock, tasks):
    ok(cli("config", "set", "timer.max_running_hours", "20"))
    clock.set(datetime(2026, 11, 16, 21, 0, tzinfo=UTC))  # 22:00 in Rome
    js(cli, "start", str(tasks["a"]))
    clock.advance(timedelta(hours=2))  # past midnight in Rome, 2 h only
    assert js(cli, "status")["warning"] == "running since before midnight"


# --- reports ----------------------------------------------------------------------------


def test_report_spent_planned_overrun_and_rounding(cli, clock, tasks):
    js(
        cli,
        "add",
        str(tasks["a"]),
        "--from",
        "2026-11-10 09:00",
        "--to",
        "2026-11-10 10:10",
        "-m",
        "x",
    )
    js(
        cli,
        "add",
        str(tasks["a"]),
        "--from",
        "2026-11-10 11:00",
        "--to",
        "2026-11-10 11:05",
        "-m",
        "y",
        as_user=HELPER,
    )
    js(
        cli,
        "add",
        str(tasks["b"]),
        "--from",
        "2026-11-12 09:00",
        "--to",
        "2026-11-12 10:00",
        "-m",
        "z",
    )
    by_task = js(cli, "report", "--by", "task", "--round", "15m", as_user=ADMIN_EMAIL)
    a = next(r for r in by_task if r["group"] == tasks["a"])
    assert (a["spent_seconds"], a["planned_seconds"], a["overrun_seconds"]) == (4500, 3600, 900)
    assert a["billed_seconds"] == 75 * 60 + 15 * 60  # each entry rounded up: 1:15 + 0:15
    by_client = js(cli, "report", "--by", "client", as_user=ADMIN_EMAIL)
    assert [(r["name"], r["spent_seconds"], r["overrun_seconds"]) for r in by_client] == [
        ("Alfa Srl", 4500, 900),
        ("Beta Srl", 3600, 0),
    ]
    by_user = js(cli, "report", "--by", "user", as_user=ADMIN_EMAIL)
    assert [(r["name"], r["spent_seconds"]) for r in by_user] == [(DOER, 7800), (HELPER, 300)]
    by_day = js(cli, "report", "--by", "day", as_user=ADMIN_EMAIL)
    assert [(r["group"], r["spent_seconds"]) for r in by_day] == [
        ("2026-11-10", 4500),
        ("2026-11-12", 3600),
    ]
    by_week = js(cli, "report", "--by", "week", "--from", "2026-11-01", as_user=ADMIN_EMAIL)
    assert [(r["name"], r["group"]) for r in by_week] == [("2026-W46", "2026-11-09")]
    practice = js(cli, "report", "--by", "practice", as_user=ADMIN_EMAIL)
    assert [(r["name"], r["spent_seconds"]) for r in practice] == [("Studio Rossi", 8100)]
    rows = list(
        csv.DictReader(
            io.StringIO(
                ok(
                    cli("timer", "report", "--by", "month", "--format", "csv", as_user=ADMIN_EMAIL)
                ).stdout
            )
        )
    )
    assert [(r["group"], r["spent_seconds"]) for r in rows] == [("2026-11", "8100")]
    # The raw entries are never rounded.
    assert sorted(e["seconds"] for e in js(cli, "log")) == [3600, 4200]
    # A period that excludes them; someone who sees none of the tasks sees nothing.
    assert (
        js(cli, "report", "--from", "2026-11-11", "--to", "2026-11-11", as_user=ADMIN_EMAIL) == []
    )
    assert js(cli, "report", as_user=OUTSIDER) == []


@pytest.mark.parametrize(
    ("args", "field"),
    [(("--to", "9999-12-31"), "--to"), (("--from", "0001-01-01", "--to", "today"), "--from")],
)
def test_report_over_the_calendars_edge_is_refused_by_name(cli, tasks, args, field):
    """A day with no next day, or no first instant in UTC, is out of range (6), not an
    internal error (the fuzz test found 'timer report --to 9999-12-31')."""
    assert_one_line_error(
        cli("timer", "report", *args, as_user=ADMIN_EMAIL), 6, field, "out of range"
    )


@pytest.mark.parametrize(
    "args",
    [
        ("--from", "9999-12-31 23:30", "--duration", "1h"),
        ("--to", "01/01/0001 23:30", "--duration", "9999h"),
    ],
)
def test_a_duration_off_the_calendar_is_refused_by_name(cli, tasks, args):
    """Not an internal OverflowError (found by fuzzing)."""
    result = cli("timer", "add", str(tasks["a"]), *args, "-m", "x", as_user=DOER)
    assert_one_line_error(result, 6, "--duration", "leaves the calendar")


def test_rome_day_in_sql_matches_zoneinfo(db):
    from sempi_cli.clock import ROME, iso_utc
    from sempi_cli.store.sql import rome_day

    sql = f"SELECT {rome_day(db, ':s')}"

    @settings(max_examples=300, deadline=None)
    @given(st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31), timezones=st.just(UTC)))
    def check(at):
        stored = iso_utc(at)
        assert (
            db.execute(sql, {"s": stored}).fetchone()[0] == at.astimezone(ROME).date().isoformat()
        )

    check()
    for stored, day in (  # the switch instants themselves
        ("2026-03-29T00:59:59+00:00", "2026-03-29"),
        ("2026-10-24T22:00:00+00:00", "2026-10-25"),  # 00:00 summer time
        ("2026-10-24T21:59:59+00:00", "2026-10-24"),
        ("2026-10-25T23:00:00+00:00", "2026-10-26"),  # 00:00 winter time
    ):
        assert db.execute(sql, {"s": stored}).fetchone()[0] == day


intervals = st.lists(
    st.tuples(
        st.integers(0, 40 * 24 * 3600),  # start, seconds after 2026-10-10 00:00 UTC
        st.integers(0, 6 * 3600),  # length
        st.sampled_from(("a", "b", "ordinary")),
        st.sampled_from((DOER, HELPER)),
    ),
    max_size=40,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    entries=intervals,
    by=st.sampled_from(("task", "user", "client", "practice", "day", "week", "month")),
)
def test_report_sums_equal_the_raw_intervals(db, clock, tasks, entries, by):
    """Whatever the grouping, the groups add up to the raw intervals started in the period."""
    from sempi_cli.clock import ROME, iso_utc
    from sempi_cli.services.timers.reports import TimerReports

    origin = datetime(2026, 10, 10, tzinfo=UTC)
    users = {DOER: actor(db, DOER).id, HELPER: actor(db, HELPER).id}
    with db:
        db.execute("DELETE FROM time_entries")
        db.executemany(
            "INSERT INTO time_entries (task_id, user_id, started_at, ended_at, seconds,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    tasks[task],
                    users[user],
                    iso_utc(origin + timedelta(seconds=s)),
                    iso_utc(origin + timedelta(seconds=s + n)),
                    n,
                    iso_utc(origin),
                    iso_utc(origin),
                )
                for s, n, task, user in entries
            ],
        )
    first, last = "2026-10-20", "2026-11-05"
    raw = sum(
        n
        for s, n, _, _ in entries
        if first <= (origin + timedelta(seconds=s)).astimezone(ROME).date().isoformat() <= last
    )
    rows = TimerReports(db, clock, actor(db, ADMIN_EMAIL)).report(by, first, last, "15m")
    assert sum(r["spent_seconds"] for r in rows) == raw
    assert sum(r["billed_seconds"] for r in rows) >= raw


# --- two processes ------------------------------------------------------------------------


@pytest.mark.slow
def test_two_processes_starting_at_once_leave_one_timer_running(tasks, db, store_path):
    """Real processes, one session, two tasks, started at the same moment: each start
    pauses what runs, so exactly one timer runs afterwards and nothing is lost."""
    db.execute(
        "UPDATE tasks SET responsible_id = (SELECT id FROM users WHERE email = ?)", (ADMIN_EMAIL,)
    )
    env = {**os.environ, "SEMPI_DB": str(store_path), "SEMPI_HOME": str(store_path.parent)}
    login = subprocess.run(
        [SEMPI, "login", "-e", ADMIN_EMAIL, "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert login.returncode == 0, login.stderr
    for _attempt in range(3):
        procs = [
            subprocess.Popen(
                [SEMPI, "timer", "start", str(tasks[name])],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("a", "b")
        ]
        outs = [p.communicate(timeout=60) for p in procs]
        codes = [p.returncode for p in procs]
        # Both succeed (the second pauses the first), or one finds its own task
        # already running from the round before and is refused cleanly (exit 5).
        assert all(c in (0, 5) for c in codes), outs
        assert all("Traceback" not in err for _, err in outs)
        admin_id = actor(db, ADMIN_EMAIL).id
        assert [r[0] for r in running(db)] == [admin_id]
    entries = db.execute(
        "SELECT count(*), count(ended_at) FROM time_entries WHERE removed_at IS NULL"
    ).fetchone()
    assert entries[0] - entries[1] == 1
    pauses = db.execute("SELECT count(*) FROM task_history WHERE action = 'pause'").fetchone()[0]
    assert pauses == entries[1]


def test_a_huge_duration_by_hand_is_one_line_not_an_overflow(cli, tasks, store_path):
    before = store_digest(store_path)
    result = cli(
        "timer", "add", str(tasks["a"]), "--duration", "99999999h", "-m", "x", as_user=DOER
    )
    assert_one_line_error(result, 6, "--duration", "longer than 9999 hours")
    assert store_digest(store_path) == before


def test_the_firms_time_stays_the_firms(cli, org, tasks):
    """The client's external user sees none of the firm's entries nor their comments
    (log, show, report); the practice's operator sees the firm's times but only their
    own comments; firm users see everything."""
    ext, operator = "mario@alfa.test", "operatore@rossi.test"
    studio = org.db.execute(
        "SELECT studio_id FROM clients WHERE id = ?", (tasks["alfa"],)
    ).fetchone()[0]
    org.user(ext, role="external", client=tasks["alfa"])
    org.user(operator, role="studio-operator", studio=studio)
    org.group(tasks["alfa"], operator)
    entry = js(
        cli, "add", str(tasks["a"]), "--duration", "2h", "-m", "telefonata riservata col cliente"
    )

    assert js(cli, "log", str(tasks["a"]), as_user=ext) == []
    from sempi_cli.errors import NotFound
    from sempi_cli.services.timers.timers import TimerService

    with pytest.raises(NotFound):
        TimerService(org.db, org.clock, actor(org.db, ext)).show(entry["id"])
    report = js(
        cli, "report", "--by", "user", "--from", "2026-01-01", "--to", "2026-12-31", as_user=ext
    )
    assert report == [] or all(row["name"] == ext for row in report)
    assert DOER not in json.dumps(report)

    seen = js(cli, "log", str(tasks["a"]), as_user=operator)
    assert [(e["user"], e["seconds"], e["comment"]) for e in seen] == [(DOER, 7200, None)]
    shown = TimerService(org.db, org.clock, actor(org.db, operator)).show(entry["id"])
    assert shown["comment"] is None and shown["seconds"] == 7200

    assert (
        js(cli, "log", str(tasks["a"]), as_user=WATCHER)[0]["comment"]
        == "telefonata riservata col cliente"
    )
