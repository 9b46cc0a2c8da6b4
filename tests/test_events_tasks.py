"""The events of tasks and deadlines: each written in the transaction of its change
(task.created by hand, by a template and by a recurrence; task.updated; every
status change and what it means; task.commented; the scheduler's deadline.created,
deadline.moved and deadline.cancelled in bulk), none for a refused or rehearsed
command, and read only by those who see the task."""

from __future__ import annotations

import json
from datetime import date

import pytest

from sempi_cli.services import event_log
from tests.conftest import ADMIN_EMAIL, actor
from tests.helpers import (
    CREATOR,
    DOER,
    HELPER,
    assert_one_line_error,
    data,
    ok,
    one,
)

OTHER_PRACTICE = "op@verdi.test"  # an operator of another practice than Alfa's


def events(cli, *args: str, as_user: str = ADMIN_EMAIL) -> list[dict]:
    """`sempi events list --json` (a firm administrator reads every event)."""
    return data(cli("--json", "events", "list", *args, as_user=as_user)) or []


def kinds(cli, since: int = 0) -> list[str]:
    return [e["kind"] for e in events(cli, "--since", str(since))]


def last_id(db) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])


def user_id(db, email: str) -> int:
    return int(db.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0])


# --- task.created ---------------------------------------------------------------------


def test_what_reacts_to_task_created_finds_the_task_whole(cli, db, people, monkeypatch):
    """A reactor (a rule, a before-hook) sees the new task's people and tags: the event
    is written once they are."""
    import sys
    import types

    seen = []
    spy = types.ModuleType("sempi_test_spy")

    def react(db, clock, actor, event):
        task = event["object"]["id"]
        seen.append((
            sorted(r[0] for r in db.execute("SELECT tag FROM task_tags WHERE task_id = ?", (task,))),
            db.execute("SELECT count(*) FROM task_members WHERE task_id = ?", (task,)).fetchone()[0],
        ))  # fmt: skip

    spy.prepare = lambda db, kind: react if kind == "task.created" else None
    monkeypatch.setitem(sys.modules, "sempi_test_spy", spy)
    monkeypatch.setattr(event_log, "REACTORS", (*event_log.REACTORS, "sempi_test_spy"))
    ok(cli("task", "add", "Invio F24", "-r", DOER, "--participant", HELPER, "--tag", "f24",
           "-c", str(people["client"]), as_user=CREATOR))  # fmt: skip
    assert seen == [(["f24"], 1)]


def test_a_task_added_by_hand_is_one_event_per_task(cli, db, people):
    made = ok(
        cli(
            "task", "add", "Invio F24", "-r", DOER, "-r", HELPER, "-c", str(people["client"]),
            "-d", "2026-11-20", "--json", as_user=CREATOR,
        ),
        json=True,
    )  # fmt: skip
    created = events(cli, "--kind", "task.created")
    assert [e["object"] for e in created] == [{"type": "task", "id": t["id"]} for t in made]
    first = created[0]
    assert first["client_id"] == people["client"]
    assert first["actor"] == {"id": user_id(db, CREATOR), "email": CREATOR}
    assert first["changes"] == {}
    assert first["data"] == {
        "title": "Invio F24",
        "status": "pending",
        "responsible_id": user_id(db, DOER),
        "creator_id": user_id(db, CREATOR),
        "deadline": "2026-11-20T17:00:00+00:00",  # 18:00 in Rome
        "template_id": None,
        "parent_id": None,
    }
    assert created[1]["data"]["responsible_id"] == user_id(db, HELPER)


def test_a_subtask_names_its_parent(cli, people):
    parent = one(cli, "Bilancio", "-c", str(people["client"]))
    child = one(cli, "Nota integrativa", "--parent", str(parent["id"]))
    event = events(cli, "--kind", "task.created")[-1]
    assert event["object"]["id"] == child["id"]
    assert event["data"]["parent_id"] == parent["id"]
    assert event["client_id"] == people["client"]  # the parent's


def test_a_task_from_a_template_names_the_template(cli, db, people):
    ok(cli("task", "template", "add", "lipe", "--title", "LIPE", "--json"))
    template = db.execute("SELECT id FROM task_templates WHERE name = 'lipe'").fetchone()[0]
    [task] = ok(cli("task", "add", "--template", "lipe", "--json"), json=True)
    [event] = events(cli, "--kind", "task.created")
    assert event["object"]["id"] == task["id"]
    assert event["data"]["template_id"] == template
    assert event["data"]["title"] == "LIPE"


def test_each_occurrence_of_a_recurring_template_is_a_task_created(db, clock, cli, people):
    from sempi_cli.services.templates.recurring import RecurrenceService
    from sempi_cli.services.templates.rrule import Rule
    from sempi_cli.services.templates.templates import TemplateInput

    admin = actor(db, ADMIN_EMAIL)
    recurring = RecurrenceService(db, clock, admin)
    recurring.templates.add(
        TemplateInput(name="check", title="Controllo", responsible=DOER, client=people["client"])
    )
    template = db.execute("SELECT id FROM task_templates WHERE name = 'check'").fetchone()[0]
    recurring.recur("check", Rule("daily", date(2026, 11, 14)))
    assert recurring.run()["created"] == 3  # 14, 15, 16 November
    created = events(cli, "--kind", "task.created")
    tasks = [r[0] for r in db.execute("SELECT id FROM tasks WHERE template_id = ? ORDER BY id",
                                      (template,))]  # fmt: skip
    assert [e["object"]["id"] for e in created] == tasks
    assert {e["client_id"] for e in created} == {people["client"]}
    assert {e["data"]["template_id"] for e in created} == {template}
    assert {e["data"]["responsible_id"] for e in created} == {user_id(db, DOER)}
    assert {e["actor"]["email"] for e in created} == {ADMIN_EMAIL}
    recurring.run()  # nothing new: no event
    assert len(events(cli, "--kind", "task.created")) == 3


# --- task.updated -----------------------------------------------------------------------


def test_an_edit_is_one_task_updated_with_the_before_and_after(cli, db, people):
    task = one(cli, "F24", "-r", DOER, "-t", "iva")
    mark = last_id(db)
    ok(
        cli(
            "task", "edit", str(task["id"]), "--title", "F24 ritenute", "-d", "2026-11-30",
            "--add-participant", HELPER, "--tag", "f24", as_user=CREATOR,
        )
    )  # fmt: skip
    [event] = events(cli, "--since", str(mark))
    assert event["kind"] == "task.updated"
    assert event["object"] == {"type": "task", "id": task["id"]}
    assert event["actor"]["email"] == CREATOR
    assert event["data"] == {"title": "F24 ritenute"}
    assert event["changes"] == {
        "title": {"old": "F24", "new": "F24 ritenute"},
        "deadline": {"old": None, "new": "2026-11-30T17:00:00+00:00"},
        "participants": {"old": [], "new": [user_id(db, HELPER)]},
        "tags": {"old": ["iva"], "new": ["f24", "iva"]},
    }


def test_an_edit_that_changes_nothing_writes_no_event(cli, db, people):
    task = one(cli, "F24", "-r", DOER)
    mark = last_id(db)
    ok(cli("task", "edit", str(task["id"]), "--title", "F24", as_user=CREATOR))
    assert kinds(cli, mark) == []


def test_moving_a_task_to_another_client_says_so_for_its_subtasks_too(cli, db, people):
    top = one(cli, "Bilancio", "-c", str(people["client"]))
    sub = one(cli, "Nota", "--parent", str(top["id"]))
    mark = last_id(db)
    ok(cli("task", "edit", str(top["id"]), "--client", str(people["other_client"])))
    updated = events(cli, "--since", str(mark))
    assert {e["object"]["id"] for e in updated} == {top["id"], sub["id"]}
    for event in updated:
        assert event["kind"] == "task.updated"
        assert event["client_id"] == people["other_client"]  # where it is now
        assert event["changes"]["client_id"] == {
            "old": people["client"],
            "new": people["other_client"],
        }


def test_reassigning_someone_s_tasks_is_task_updated(cli, db, people):
    task = one(cli, "F24", "-r", DOER)
    mark = last_id(db)
    ok(cli("task", "reassign", "--from", DOER, "--to", HELPER, "--yes"))
    [event] = events(cli, "--since", str(mark))
    assert event["kind"] == "task.updated" and event["object"]["id"] == task["id"]
    assert event["changes"] == {
        "responsible_id": {"old": user_id(db, DOER), "new": user_id(db, HELPER)}
    }


# --- status changes ---------------------------------------------------------------------


def test_every_transition_is_status_changed_and_completion_says_so(cli, db, people):
    task = one(cli, "F24", "-r", DOER, "-c", str(people["client"]))
    task_id = str(task["id"])
    mark = last_id(db)
    ok(cli("task", "start", task_id, as_user=DOER))
    ok(cli("task", "done", task_id, as_user=DOER))
    ok(cli("task", "reopen", task_id, as_user=DOER))
    ok(cli("task", "defer", task_id, as_user=DOER))
    written = events(cli, "--since", str(mark))
    assert [e["kind"] for e in written] == [
        "task.status_changed", "task.status_changed", "task.completed",
        "task.status_changed", "task.status_changed",
    ]  # fmt: skip
    assert [e["data"].get("verb") for e in written] == ["start", "done", "done", "reopen", "defer"]
    assert [e["changes"]["status"] for e in written] == [
        {"old": "pending", "new": "in_progress"},
        {"old": "in_progress", "new": "completed"},
        {"old": "in_progress", "new": "completed"},
        {"old": "completed", "new": "pending"},
        {"old": "pending", "new": "deferred"},
    ]
    for event in written:
        assert event["object"] == {"type": "task", "id": task["id"]}
        assert event["client_id"] == people["client"]
        assert event["actor"]["email"] == DOER
        assert event["data"]["title"] == "F24"
    assert written[0]["data"] == {"title": "F24", "verb": "start", "reason": None}


def test_approval_and_return_have_their_own_events(cli, db, people):
    task_id = str(one(cli, "Dichiarazione IVA", "-r", DOER, "--approval")["id"])
    ok(cli("task", "done", task_id, as_user=DOER))
    [waiting] = events(cli, "--kind", "task.status_changed")
    assert waiting["changes"]["status"] == {"old": "pending", "new": "awaiting_approval"}
    assert events(cli, "--kind", "task.completed") == []  # not yet: it awaits approval

    mark = last_id(db)
    ok(cli("task", "return", task_id, "--reason", "Manca la ricevuta", as_user=CREATOR))
    changed, returned = events(cli, "--since", str(mark))
    assert (changed["kind"], returned["kind"]) == ("task.status_changed", "task.returned")
    assert changed["data"] == {"title": "Dichiarazione IVA", "verb": "return",
                               "reason": "Manca la ricevuta"}  # fmt: skip
    assert returned["data"] == {"title": "Dichiarazione IVA", "reason": "Manca la ricevuta"}
    assert returned["changes"]["status"] == {"old": "awaiting_approval", "new": "in_progress"}
    assert returned["actor"]["email"] == CREATOR

    ok(cli("task", "done", task_id, as_user=DOER))
    mark = last_id(db)
    ok(cli("task", "approve", task_id, as_user=CREATOR))
    written = events(cli, "--since", str(mark))
    assert [e["kind"] for e in written] == [
        "task.status_changed", "task.completed", "task.approved",
    ]  # fmt: skip
    assert [e["changes"] for e in written] == 3 * [
        {"status": {"old": "awaiting_approval", "new": "completed"}}
    ]


def test_a_refused_or_rehearsed_command_leaves_no_event(cli, db, people):
    task_id = str(one(cli, "F24", "-r", DOER)["id"])
    ok(cli("checklist", "add", task_id, "Ricevuta"))
    mark = last_id(db)
    assert_one_line_error(cli("task", "done", task_id, as_user=DOER), 5, "open checklist item")
    assert_one_line_error(
        cli("task", "add", "X", "-d", "someday", as_user=CREATOR), 6, "--deadline"
    )
    assert_one_line_error(
        cli("task", "edit", task_id, "-d", "mai", as_user=CREATOR), 6, "--deadline"
    )
    assert_one_line_error(cli("task", "approve", task_id, as_user=CREATOR), 5)
    assert kinds(cli, mark) == []
    other = str(one(cli, "G", "-r", DOER)["id"])
    mark = last_id(db)
    done = ok(cli("task", "done", other, "--dry-run", "--json", as_user=DOER), json=True)
    assert done[0]["status"] == "completed"  # it says what would happen...
    assert kinds(cli, mark) == []  # ...and writes nothing
    # two tasks at once, the second refused: the first's events go with its change
    assert_one_line_error(cli("task", "done", other, task_id, as_user=DOER), 5)
    assert kinds(cli, mark) == []


# --- task.commented ---------------------------------------------------------------------


def test_a_comment_is_an_event_without_its_text(cli, db, people):
    task_id = one(cli, "F24", "-r", DOER, "-c", str(people["client"]))["id"]
    said = ok(cli("task", "comment", str(task_id), "Ricevuta allegata", "--json", as_user=DOER))
    comment = json.loads(said.stdout)
    [event] = events(cli, "--kind", "task.commented")
    assert event["object"] == {"type": "task", "id": task_id}
    assert event["client_id"] == people["client"]
    assert event["actor"]["email"] == DOER
    assert event["data"] == {"comment_id": comment["id"], "author_id": event["actor"]["id"]}
    assert "Ricevuta allegata" not in json.dumps(event)
    assert_one_line_error(cli("task", "comment", str(task_id), "  ", as_user=DOER), 6)
    assert len(events(cli, "--kind", "task.commented")) == 1


# --- who reads them ---------------------------------------------------------------------


def test_a_task_s_events_are_read_by_who_sees_the_task_only(cli, org, people):
    verdi = org.practice("Studio Verdi")
    org.user(OTHER_PRACTICE, "Verdi", "studio-operator", studio=verdi)
    task = one(cli, "F24", "-r", DOER, "-c", str(people["client"]))
    ok(cli("task", "start", str(task["id"]), as_user=DOER))
    seen = {(e["kind"], e["object"]["id"]) for e in events(cli, as_user=DOER)}
    assert seen >= {("task.created", task["id"]), ("task.status_changed", task["id"])}
    assert [e for e in events(cli, as_user=OTHER_PRACTICE) if e["object"]["type"] == "task"] == []
    assert_one_line_error(
        cli("events", "list", "--client", str(people["client"]), as_user=OTHER_PRACTICE), 3
    )


# --- the scheduler's deadlines ----------------------------------------------------------

YEAR = ("--from", "2027-01-01", "--to", "2027-12-31")


@pytest.fixture
def fiscal(org):
    """Alfa: monthly VAT payer (responsible RESP); Beta: quarterly, ISA subject."""
    rossi = org.practice("Studio Rossi")
    org.user("resp@sempi.test", "Resp")
    alfa = org.client("Alfa Srl", rossi, 1, responsible="resp@sempi.test",
                      fiscal_profile={"iva_periodicity": "mensile"})  # fmt: skip
    beta = org.client("Beta Snc", rossi, 2, responsible="resp@sempi.test",
                      fiscal_profile={"iva_periodicity": "trimestrale", "isa_subject": True})  # fmt: skip
    return {"alfa": alfa, "beta": beta}


def run(cli, *args: str) -> dict:
    return data(cli("scheduler", "run", *args, "--json"))


def test_a_run_writes_deadline_created_once_per_deadline_naming_its_task(cli, db, fiscal):
    mark = last_id(db)
    report = run(cli, *YEAR)
    deadlines = db.execute(
        "SELECT d.id, d.client_id, d.rule_id, d.period, d.due_date, d.task_id, t.title,"
        " t.responsible_id, t.deadline FROM deadlines d JOIN tasks t ON t.id = d.task_id"
        " ORDER BY d.id"
    ).fetchall()
    assert report["created"] == len(deadlines) > 0
    created = events(cli, "--since", str(mark), "--kind", "deadline.created")
    assert len(created) == len(deadlines)
    by_id = {e["object"]["id"]: e for e in created}
    assert set(by_id) == {d["id"] for d in deadlines}
    for d in deadlines:
        event = by_id[d["id"]]
        assert event["object"]["type"] == "deadline"
        assert event["client_id"] == d["client_id"]
        assert event["actor"]["email"] == ADMIN_EMAIL
        assert event["changes"] == {}
        assert event["data"] == {"rule_id": d["rule_id"], "period": d["period"],
                                 "due_date": d["due_date"], "task_id": d["task_id"],
                                 "title": d["title"], "responsible_id": d["responsible_id"],
                                 "unassigned": False}  # fmt: skip
    # one event a deadline: no task.created of its own for the deadline's task
    assert events(cli, "--since", str(mark), "--kind", "task.created") == []

    mark = last_id(db)
    assert run(cli, *YEAR)["created"] == 0
    assert kinds(cli, mark) == []  # nothing new, nothing said


def test_an_override_writes_deadline_moved_and_the_task_s_update(cli, db, fiscal):
    run(cli, *YEAR)
    ok(
        cli(
            "scheduler", "override", "add", "ACC-1", "2027", "2027-07-21",
            "--reason", "DL 84/2027 art. 13", "--applies-to", "isa_subject",
        )
    )  # fmt: skip
    mark = last_id(db)
    run(cli, *YEAR)
    beta = db.execute(
        "SELECT id, task_id FROM deadlines WHERE client_id = ? AND rule_id = 'ACC-1'"
        " AND period = '2027'",
        (fiscal["beta"],),
    ).fetchone()
    moved, updated = events(cli, "--since", str(mark))
    assert moved["kind"] == "deadline.moved"
    assert moved["object"] == {"type": "deadline", "id": beta["id"]}
    assert moved["client_id"] == fiscal["beta"]
    assert moved["changes"] == {"due_date": {"old": "2027-06-30", "new": "2027-07-21"}}
    assert moved["data"] == {"rule_id": "ACC-1", "period": "2027", "due_date": "2027-07-21",
                             "task_id": beta["task_id"]}  # fmt: skip
    assert updated["kind"] == "task.updated"
    assert updated["object"] == {"type": "task", "id": beta["task_id"]}
    assert updated["changes"] == {
        "deadline": {"old": "2027-06-30T16:00:00+00:00", "new": "2027-07-21T16:00:00+00:00"}
    }
    ok(cli("scheduler", "override", "remove", "ACC-1", "2027"))
    mark = last_id(db)
    run(cli, *YEAR)
    back = events(cli, "--since", str(mark), "--kind", "deadline.moved")
    assert [e["changes"] for e in back] == [
        {"due_date": {"old": "2027-07-21", "new": "2027-06-30"}}
    ]


def test_a_changed_profile_writes_deadline_cancelled_and_created(cli, db, fiscal):
    run(cli, *YEAR)
    alfa = fiscal["alfa"]
    ok(cli("client", "edit", str(alfa), "--profile", "iva_periodicity=trimestrale",
           "--from", "start"))  # fmt: skip
    mark = last_id(db)
    report = run(cli, *YEAR)
    cancelled = events(cli, "--since", str(mark), "--kind", "deadline.cancelled")
    gone = db.execute(
        "SELECT id, rule_id, period, due_date, task_id FROM deadlines WHERE client_id = ?"
        " AND state = 'cancelled' ORDER BY id",
        (alfa,),
    ).fetchall()
    assert report["cancelled"] == len(gone) == len(cancelled) > 0
    assert [e["object"]["id"] for e in cancelled] == [g["id"] for g in gone]
    first, row = cancelled[0], gone[0]
    assert first["client_id"] == alfa
    assert first["changes"] == {"state": {"old": "active", "new": "cancelled"}}
    assert first["data"]["rule_id"] == row["rule_id"] == "IVA-M"
    assert (first["data"]["period"], first["data"]["due_date"], first["data"]["task_id"]) == (
        row["period"], row["due_date"], row["task_id"],
    )  # fmt: skip
    assert first["data"]["reason"]
    created = events(cli, "--since", str(mark), "--kind", "deadline.created")
    assert len(created) == report["created"] > 0


def test_a_dry_run_of_the_scheduler_writes_no_event(cli, db, fiscal):
    mark = last_id(db)
    assert data(cli("scheduler", "run", *YEAR, "--dry-run", "--json"))["created"] > 0
    assert kinds(cli, mark) == []


def test_record_many_rows_are_the_contract(db, clock, fiscal):
    """The writer's bulk rows read back as schema-1 events (checked by the schema file)."""
    from pathlib import Path

    import jsonschema

    from sempi_cli.services.scheduler.runner import SchedulerService

    SchedulerService(db, clock, actor(db, ADMIN_EMAIL)).run(
        start=date(2027, 1, 1), end=date(2027, 3, 31), client_ids=[fiscal["alfa"]]
    )
    schema = json.loads(
        (Path(__file__).resolve().parent.parent / "docs" / "events.schema.json").read_text()
    )
    rows = db.execute(
        "SELECT e.*, u.email FROM events e JOIN users u ON u.id = e.actor_id"
    ).fetchall()
    assert rows
    for row in rows:
        jsonschema.validate(event_log.contract(row, row["email"]), schema)


def test_an_imported_task_awaiting_approval_says_how_it_got_there(cli, db, people, tmp_path):
    path = tmp_path / "tasks.json"
    record = {"external_key": "altro:1", "title": "Da approvare", "responsible": DOER,
              "status": "awaiting_approval", "approval_required": True}  # fmt: skip
    path.write_text(json.dumps([record]))
    mark = last_id(db)
    ok(cli("task", "import", str(path), as_user=CREATOR))
    created, changed = events(cli, "--since", str(mark))
    assert created["kind"] == "task.created" and created["data"]["status"] == "pending"
    assert changed["kind"] == "task.status_changed"
    assert changed["object"] == created["object"]
    assert changed["changes"] == {"status": {"old": "pending", "new": "awaiting_approval"}}
    assert changed["data"] == {"title": "Da approvare", "verb": "import", "reason": None}


def test_a_deadline_for_a_client_without_responsible_says_so_and_a_rule_assigns_it(cli, db, org):
    """docs/automation.md's second example: deadline.created with data.unassigned, and a
    rule that gives such a deadline's task to the office manager."""
    rossi = org.practice("Studio Rossi")
    org.user("capoufficio@sempi.test", "Capo Ufficio")
    client = org.client("Gamma Srl", rossi, 3, fiscal_profile={"iva_periodicity": "mensile"})
    ok(cli("automation", "add", "Scadenze senza responsabile", "--on", "deadline.created",
           "--if", "data.unassigned=true", "--do", "set-responsible",
           "--to", "capoufficio@sempi.test"))  # fmt: skip
    mark = last_id(db)
    run(cli, *YEAR)
    created = events(cli, "--since", str(mark), "--kind", "deadline.created")
    assert created and all(e["data"]["unassigned"] is True for e in created)
    responsibles = db.execute(
        "SELECT DISTINCT u.email FROM deadlines d JOIN tasks t ON t.id = d.task_id"
        " JOIN users u ON u.id = t.responsible_id WHERE d.client_id = ?",
        (client,),
    ).fetchall()
    assert [r[0] for r in responsibles] == ["capoufficio@sempi.test"]
