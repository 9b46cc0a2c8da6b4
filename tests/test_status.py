"""`sempi status`: one screen that says what `timer status`, `notify list --unread`,
`chat list --unread`, `task due` and `scheduler list` say, only what the actor may
see; `--short`, the prompt's line, agrees with it, and fails silently by exit code.
(That the fast path answers `--short` as the full CLI does is tests/test_fastpath.py.)"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import ADMIN_EMAIL, actor
from tests.helpers import DOER, EXTERNAL, HELPER, OUTSIDER, assert_one_line_error, ok

# Monday 16 November 2026, 10:30 in Rome (the conftest clock).
RESP = "resp@sempi.test"


@pytest.fixture
def firm(db, clock, org):
    """DOER responsible for tasks overdue, due today, due this week, next week, done
    late, removed; HELPER's task awaiting DOER's approval; Alfa's fiscal deadlines
    (quarterly VAT) with DOER in its work group; a message in the general chat;
    OUTSIDER and Alfa's external user see none of DOER's work."""
    from sempi_cli.services.chat.messages import MessageService
    from sempi_cli.services.scheduler.runner import SchedulerService
    from sempi_cli.services.tasks.flow import TaskFlow
    from sempi_cli.services.tasks.input import TaskInput
    from sempi_cli.services.tasks.tasks import TaskService

    org.staff(DOER, HELPER, OUTSIDER, RESP)
    studio = org.practice("Studio Rossi")
    alfa = org.client(
        "Alfa Srl", studio, 1, responsible=RESP, fiscal_profile={"iva_periodicity": "trimestrale"}
    )
    org.group(alfa, DOER)
    org.user(EXTERNAL, "Esterno", "external", client=alfa)
    tasks = TaskService(db, clock, org.admin)

    def task(title, deadline, who=DOER, **kw):
        data = TaskInput(title, responsibles=[who], deadline=deadline, client=alfa, **kw)
        return tasks.add(data)[0]["id"]

    ids = {
        "overdue": task("F24 di ottobre", "2026-11-10 18:00"),
        "overdue2": task("Intrastat", "2026-11-12 18:00"),
        "today": task("Telefonata", "2026-11-16 18:00"),
        "week": task("Bilancio", "2026-11-20 18:00", time_tracking=True),
        "later": task("Dichiarazione", "2026-12-10 18:00"),
        "done": task("Fatto in ritardo", "2026-11-01 18:00"),
        "removed": task("Tolto", "2026-11-02 18:00"),
        "elsewhere": task("Di un altro", "2026-11-01 18:00", who=HELPER),
    }
    doer = actor(db, DOER)
    TaskFlow(db, clock, doer).change("done", [ids["done"]])
    tasks.remove([ids["removed"]])
    asked = TaskService(db, clock, doer).add(
        TaskInput("Da approvare", responsibles=[HELPER], client=alfa, approval_required=True)
    )[0]["id"]
    TaskFlow(db, clock, actor(db, HELPER)).change("done", [asked])
    ids["asked"] = asked
    SchedulerService(db, clock, org.admin).run(start=date(2026, 11, 1), end=date(2027, 3, 31))
    MessageService(db, clock, org.admin).send("general", "Buongiorno a tutti")
    return ids


def overview(cli, who=DOER):
    return json.loads(ok(cli("status", "--json", as_user=who)).stdout)


def test_the_screen_says_what_each_command_says(cli, db, clock, firm):
    from sempi_cli.services.scheduler.views import DeadlineQuery, ScheduleViews
    from sempi_cli.services.tasks.queries import TaskQueries

    doer = actor(db, DOER)
    seen = overview(cli)
    due = TaskQueries(db, clock, doer).due()
    ids = lambda rows: [r["id"] for r in rows]  # noqa: E731
    assert ids(seen["overdue"]) == ids(due["overdue"]) == [firm["overdue"], firm["overdue2"]]
    assert ids(seen["due_this_week"]) == ids(due["today"] + due["this_week"])
    assert ids(seen["due_this_week"]) == [firm["today"], firm["week"]]
    assert [t["id"] for t in seen["awaiting_my_approval"]] == [firm["asked"]]
    assert overview(cli, HELPER)["awaiting_my_approval"] == []
    unread = json.loads(ok(cli("notify", "list", "--unread", "--json", as_user=DOER)).stdout)
    assert seen["unread_notifications"] == len(unread) > 0
    chats = json.loads(ok(cli("chat", "list", "--unread", "--json", as_user=DOER)).stdout)
    assert seen["unread_chats"] == len(chats) == 1
    assert seen["unread_chat_messages"] == 1
    deadlines = ScheduleViews(db, clock, doer).list(DeadlineQuery(statuses=["upcoming"], limit=5))
    assert [d["task_id"] for d in seen["next_deadlines"]] == [d["task_id"] for d in deadlines]
    assert seen["next_deadlines"] and all(
        d["due_date"] >= "2026-11-16" for d in seen["next_deadlines"]
    )
    assert seen["user"] == DOER


def test_the_timer_with_its_warning(cli, db, clock, firm):
    clock.set(datetime(2026, 11, 16, 20, 0, tzinfo=UTC))  # 21:00 in Rome
    ok(cli("timer", "start", str(firm["week"]), as_user=DOER))
    clock.advance(timedelta(hours=1, minutes=5))
    timer = overview(cli)["timer"]
    assert (timer["task_id"], timer["task"], timer["elapsed_seconds"]) == (
        firm["week"],
        "Bilancio",
        65 * 60,
    )
    assert timer["warning"] is None
    clock.advance(timedelta(hours=2))  # past midnight in Rome
    assert overview(cli)["timer"]["warning"] == "running since before midnight"
    screen = ok(cli("status", as_user=DOER)).stdout
    assert f"Timer: task {firm['week']} (Bilancio), 3:05 since 16/11/2026 21:00." in screen
    assert "Warning: it is running since before midnight" in screen


def test_the_table_screen_has_every_section(cli, firm):
    screen = ok(cli("status", as_user=DOER)).stdout
    lines = screen.splitlines()
    assert lines[0] == "Timer: not running."
    assert lines[1].startswith("Unread: ") and "1 chat(s) (1 message(s))" in lines[1]
    for title in ("Overdue (2)", "Due this week (2)", "Awaiting my approval (1)"):
        assert title in lines
    assert any(line.startswith("Next deadlines (") for line in lines)
    assert "F24 di ottobre" in screen and "16/11/2026 18:00" in screen


def test_a_long_list_is_cut_on_the_screen_and_whole_in_json(cli, db, clock, firm):
    from sempi_cli.services.tasks.input import TaskInput
    from sempi_cli.services.tasks.tasks import TaskService

    service = TaskService(db, clock, actor(db, ADMIN_EMAIL))
    for n in range(6):
        service.add(TaskInput(f"Arretrato {n}", responsibles=[DOER], deadline="2026-11-03 18:00"))
    assert len(overview(cli)["overdue"]) == 8
    screen = ok(cli("status", as_user=DOER)).stdout
    assert "Overdue (8)" in screen and "... and 3 more: sempi task due" in screen


def test_others_see_only_their_own(cli, firm):
    outsider = overview(cli, OUTSIDER)
    assert outsider["overdue"] == outsider["due_this_week"] == []
    assert outsider["next_deadlines"] == []  # not in Alfa's work group
    external = overview(cli, EXTERNAL)
    assert external["unread_chats"] == 0  # the general chat is for internal users
    assert all(d["client"] == "Alfa Srl" for d in external["next_deadlines"])


def test_status_needs_a_login_and_says_so(cli, firm):
    assert_one_line_error(cli("status", as_user=None), 7, "not logged in")


# --- --short ------------------------------------------------------------------------------


def test_short_agrees_with_the_screen(cli, db, clock, firm, monkeypatch):
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    full = overview(cli)
    short = json.loads(ok(cli("status", "--short", "--json", as_user=DOER)).stdout)
    assert short == {
        "timer": None,
        "unread": full["unread_notifications"],
        "overdue": len(full["overdue"]),
    }
    line = ok(cli("status", "--short", as_user=DOER)).stdout
    assert line == f"{full['unread_notifications']} unread \u00b7 2 overdue\n"


@pytest.mark.parametrize(
    ("env", "utf8"),
    [
        ({"LC_ALL": "it_IT.UTF-8"}, True),
        ({"LC_ALL": "it_IT.utf8"}, True),
        ({"LC_ALL": "C", "LANG": "it_IT.UTF-8"}, False),
        ({"LC_CTYPE": "en_US.UTF-8"}, True),
        ({"LC_CTYPE": "POSIX", "LANG": "it_IT.UTF-8"}, False),
        ({"LANG": "it_IT.ISO-8859-1"}, False),
        ({}, False),
    ],
)
def test_short_draws_symbols_only_in_a_utf8_locale(cli, db, firm, monkeypatch, env, utf8):
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ok(cli("timer", "start", str(firm["week"]), as_user=DOER))
    line = ok(cli("status", "--short", as_user=DOER)).stdout
    if utf8:
        assert line.startswith(f"\u23f1 0:00 #{firm['week']} \u00b7 ")
    else:
        assert line.startswith(f"timer 0:00 #{firm['week']} | ") and line.isascii()


def test_short_prints_nothing_when_there_is_nothing_to_say(cli, firm):
    ok(cli("notify", "read", "--all", as_user=OUTSIDER))  # the general chat's message
    assert ok(cli("status", "--short", as_user=OUTSIDER)).stdout == ""


@pytest.mark.parametrize(
    ("setup", "code"),
    [("logout", 7), ("no-store", 10), ("foreign", 10)],
)
def test_short_fails_silently_with_the_exit_code(cli, firm, store_path, tmp_path, setup, code):
    args = ["status", "--short"]
    if setup == "no-store":
        args = ["--db", str(tmp_path / "none.db"), *args]
    elif setup == "foreign":
        (tmp_path / "x.db").write_text("not a store")
        args = ["--db", str(tmp_path / "x.db"), *args]
    result = cli(*args, as_user=None if setup == "logout" else DOER)
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", "")
    loud = cli("--debug", *args, as_user=None if setup == "logout" else DOER)
    assert loud.exit_code == code and loud.stderr.startswith("Error: ")  # --debug tells why


def test_short_counts_what_task_due_counts(db, clock, firm):
    """The prompt's overdue count is `task due`'s overdue list: not a completed task,
    not a removed one, not someone else's."""
    from sempi_cli.services.notify.centre import NotificationService
    from sempi_cli.services.ops.glance import Glance, overdue_tasks, unread_notifications
    from sempi_cli.services.tasks.queries import TaskQueries

    doer = actor(db, DOER)
    due = TaskQueries(db, clock, doer).due()
    now = clock.now().isoformat(timespec="seconds")
    assert overdue_tasks(db, doer.id, now) == len(due["overdue"])
    centre = NotificationService(db, clock, doer)
    assert unread_notifications(db, doer.id) == centre.unread_count()
    centre.read(all_unread=True)
    assert Glance(db, clock, doer).short()["unread"] == 0


def test_the_settings_the_fast_path_reads_default_as_sempi_config_says():
    from sempi_cli.services.settings import SETTINGS
    from sempi_cli.services.settings_read import DEFAULTS

    assert {key: SETTINGS[key].default for key in DEFAULTS} == DEFAULTS


def test_short_is_a_snapshot_of_now(db, clock, firm):
    from sempi_cli.services.ops.glance import Glance

    clock.set(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))  # Bilancio and Telefonata now late too
    assert Glance(db, clock, actor(db, DOER)).short()["overdue"] == 4
