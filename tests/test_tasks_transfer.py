"""`sempi task export` and `sempi task import`: stable JSON out, an all-or-nothing upsert in."""

from __future__ import annotations

import json
import os
import shutil
import stat
from datetime import timedelta

import pytest

from tests.conftest import ADMIN_EMAIL, Cli, store_digest
from tests.helpers import (
    CREATOR,
    DOER,
    HELPER,
    OPERATOR,
    WATCHER,
    Org,
    assert_one_line_error,
    ok,
    task_people,
)

# What an import reproduces (the rest is the store's own record of who and when).
REPRODUCED = (
    "external_key",
    "title",
    "description",
    "kind",
    "status",
    "responsible",
    "participants",
    "observers",
    "client_id",
    "project",
    "parent_key",
    "tags",
    "high_priority",
    "deadline",
    "planned_minutes",
    "approval_required",
    "responsible_sets_deadline",
    "time_tracking",
)


def seed(org: Org) -> dict:
    """The task tests' people without OUTSIDER and EXTERNAL, and their two clients;
    the same ids in every store seeded alike."""
    made = task_people(org, outsider=False, external=False)
    return {"alfa": made["client"], "beta": made["other_client"]}


@pytest.fixture
def world(org):
    return seed(org)


@pytest.fixture
def fresh(tmp_path, template_store, clock) -> Cli:
    """A second store with the same people and clients, and no tasks."""
    from sempi_cli.store import open_store

    path = tmp_path / "fresh" / "sempi.db"
    path.parent.mkdir(mode=0o700)
    shutil.copy2(template_store, path)
    conn = open_store(path)
    try:
        seed(Org(conn, clock))
    finally:
        conn.close()
    return Cli(path, clock)


def task_tables(path) -> list:
    """The task tables' content (a refused command is still audited elsewhere)."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("tasks", "task_members", "task_tags", "task_history")
        ]
    finally:
        conn.close()


def add(cli, *args, as_user=CREATOR) -> int:
    result = cli("task", "add", *args, "--json", as_user=as_user)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)[0]["id"]


def verb(cli, name, task_id, as_user=DOER) -> None:
    result = cli("task", name, str(task_id), as_user=as_user)
    assert result.exit_code == 0, result.stderr


@pytest.fixture
def tasks(cli, world) -> dict[str, int]:
    """A varied set: roles, client, subtask, tags, flags, every status."""
    alfa, beta = str(world["alfa"]), str(world["beta"])
    ids = {
        "iva": add(
            cli,
            "Liquidazione IVA marzo",
            "-r",
            DOER,
            "--participant",
            WATCHER,
            "--participant",
            HELPER,
            "--observer",
            WATCHER,
            "-c",
            alfa,
            "-d",
            "16/12/2026",
            "--planned",
            "1h30m",
            "--approval",
            "--high",
            "-t",
            "iva",
            "-t",
            "F24",
            "--kind",
            "ordinary",
            "--project",
            "Chiusura 2026",
            "--description",
            "Controllare i registri",
        ),
        "started": add(cli, "Verifica corrispettivi", "-r", DOER, "-c", beta, "-d", "+3d"),
        "done": add(cli, "Invio F24 ritenute", "-r", DOER, "--fixed-deadline", "-t", "f24"),
        "deferred": add(cli, "Richiesta estratti conto", "-r", HELPER, "--no-time-tracking"),
        "awaiting": add(cli, "Bilancio di verifica", "-r", DOER, "--approval", "-c", alfa),
    }
    ids["child"] = add(
        cli, "Registrazione fatture di acquisto", "-r", DOER, "--parent", str(ids["iva"])
    )
    verb(cli, "start", ids["started"])
    verb(cli, "done", ids["done"])
    verb(cli, "defer", ids["deferred"], as_user=HELPER)
    verb(cli, "done", ids["awaiting"])
    verb(cli, "start", ids["child"])
    return ids


def export(cli, *args, as_user=ADMIN_EMAIL) -> list[dict]:
    result = cli("task", "export", *args, as_user=as_user)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def import_file(cli, path, *args, as_user=ADMIN_EMAIL):
    return cli("task", "import", str(path), "--yes", *args, as_user=as_user)


def write(tmp_path, records, name="tasks.json"):
    path = tmp_path / name
    path.write_text(json.dumps(records, indent=2))
    return path


def reproduced(records: list[dict]) -> list[dict]:
    return sorted(({k: r[k] for k in REPRODUCED} for r in records), key=lambda r: r["title"])


def report(result) -> list[dict]:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# --- export ----------------------------------------------------------------------------


def test_export_writes_stable_snake_case_records(cli, tasks):
    from sempi_cli.services.tasks.transfer import FIELDS

    first = cli("task", "export")
    assert first.exit_code == 0, first.stderr
    assert cli("task", "export").stdout == first.stdout, "same tasks, same bytes"
    records = json.loads(first.stdout)
    assert first.stdout == json.dumps(records, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert [r["id"] for r in records] == sorted(tasks.values())
    assert all(set(r) == set(FIELDS) for r in records)
    iva = next(r for r in records if r["id"] == tasks["iva"])
    shown = json.loads(cli("task", "show", str(tasks["iva"]), "--json").stdout)
    for key in ("deadline", "responsible", "creator", "client_id", "planned_minutes", "kind"):
        assert iva[key] == shown[key], key
    assert iva["deadline"] == "2026-12-16T18:00+01:00"
    assert iva["participants"] == [HELPER, WATCHER]  # sorted
    assert iva["observers"] == [WATCHER]
    assert iva["tags"] == ["f24", "iva"]
    assert iva["high_priority"] is True and iva["approval_required"] is True
    assert iva["external_key"] == f"sempi:{tasks['iva']}:20261116T093000Z"
    child = next(r for r in records if r["id"] == tasks["child"])
    assert child["parent_id"] == tasks["iva"] and child["parent_key"] == iva["external_key"]


def test_export_filters(cli, world, tasks):
    def visible_ids(*args, as_user=ADMIN_EMAIL):
        return {r["id"] for r in export(cli, *args, as_user=as_user)}

    assert visible_ids("--mine", as_user=HELPER) == {tasks["deferred"]}
    # The subtask belongs to its parent's client.
    assert visible_ids("--client", str(world["alfa"])) == {
        tasks["iva"],
        tasks["awaiting"],
        tasks["child"],
    }
    assert visible_ids("--status", "completed") == {tasks["done"]}
    assert visible_ids("--status", "in_progress", "--status", "deferred") == {
        tasks["started"],
        tasks["child"],
        tasks["deferred"],
    }
    assert visible_ids("--tag", "f24") == {tasks["iva"], tasks["done"]}
    assert visible_ids("--tag", "+F24", "--tag", "iva") == {tasks["iva"]}
    assert tasks["done"] not in visible_ids("--open")
    # An operator sees the tasks of the work groups they sit in, nothing else.
    assert visible_ids(as_user=OPERATOR) == {tasks["iva"], tasks["awaiting"], tasks["child"]}
    assert visible_ids(as_user=WATCHER) == {tasks["iva"]}


def test_export_to_a_file_is_private_and_never_overwrites(cli, tasks, tmp_path):
    path = tmp_path / "out.json"
    result = cli("task", "export", "--output", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and "Exported 6 task(s)" in result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(json.loads(path.read_text())) == 6
    before = path.read_bytes()
    line = assert_one_line_error(cli("task", "export", "-o", str(path)), 4)
    assert "already exists" in line
    assert path.read_bytes() == before
    assert_one_line_error(
        cli("task", "export", "-o", str(tmp_path / "no" / "x.json")), 6, "does not exist"
    )
    assert not (tmp_path / "no").exists()


# --- import: round trips -------------------------------------------------------------------


def test_round_trip_on_a_fresh_store_reproduces_the_tasks(cli, tasks, fresh, tmp_path):
    original = export(cli)
    path = write(tmp_path, original)
    rows = report(import_file(fresh, path, "--json"))
    assert [r["action"] for r in rows] == ["created"] * 6
    assert [r["record"] for r in rows] == [1, 2, 3, 4, 5, 6]
    copy = export(fresh)
    assert reproduced(copy) == reproduced(original)
    # The store's own facts are the importer's: who made it here, and when.
    assert {r["creator"] for r in copy} == {ADMIN_EMAIL}
    by_title = {r["title"]: r for r in copy}
    child = by_title["Registrazione fatture di acquisto"]
    assert child["parent_id"] == by_title["Liquidazione IVA marzo"]["id"]
    # Statuses were reached through the verbs, with their history.
    done_id = by_title["Invio F24 ritenute"]["id"]
    history = json.loads(fresh("task", "history", str(done_id), "--json").stdout)
    assert [h["action"] for h in history if h["field"] == "status"] == ["done"]
    assert by_title["Invio F24 ritenute"]["completed_at"] is not None


def test_importing_the_same_file_twice_changes_nothing_the_second_time(cli, tasks, fresh, tmp_path):
    path = write(tmp_path, export(cli))
    assert {r["action"] for r in report(import_file(fresh, path, "--json"))} == {"created"}
    before = store_digest(fresh.store_path)
    again = report(import_file(fresh, path, "--json"))
    assert [r["action"] for r in again] == ["unchanged"] * 6
    assert store_digest(fresh.store_path) == before
    # And the fresh store's own export imports back as unchanged too.
    path2 = write(tmp_path, export(fresh), "second.json")
    assert {r["action"] for r in report(import_file(fresh, path2, "--json"))} == {"unchanged"}


def test_export_then_import_into_the_same_store_changes_nothing(cli, tasks, store_path, tmp_path):
    path = write(tmp_path, export(cli))
    before = store_digest(store_path)
    rows = report(import_file(cli, path, "--json"))
    assert [r["action"] for r in rows] == ["unchanged"] * 6
    assert [r["id"] for r in rows] == sorted(tasks.values())
    assert store_digest(store_path) == before


def test_an_edited_export_updates_through_the_checks_of_task_edit(cli, tasks, tmp_path):
    records = {r["id"]: r for r in export(cli)}
    iva = records[tasks["iva"]]
    iva.update(
        title="Liquidazione IVA aprile",
        participants=[HELPER],
        tags=["iva", "urgente"],
        deadline="2026-12-20 12:00",
        planned_minutes=120,
        high_priority=False,
    )
    records[tasks["started"]]["status"] = "pending"
    path = write(tmp_path, list(records.values()))
    rows = {r["id"]: r["action"] for r in report(import_file(cli, path, "--json"))}
    assert rows[tasks["iva"]] == "updated" and rows[tasks["started"]] == "updated"
    assert {a for i, a in rows.items() if i not in (tasks["iva"], tasks["started"])} == {
        "unchanged"
    }
    shown = json.loads(cli("task", "show", str(tasks["iva"]), "--json").stdout)
    assert shown["title"] == "Liquidazione IVA aprile"
    assert shown["participants"] == [HELPER] and shown["observers"] == [WATCHER]
    assert shown["tags"] == ["iva", "urgente"]
    assert shown["deadline"] == "2026-12-20T12:00+01:00" and shown["planned_minutes"] == 120
    assert shown["high_priority"] is False
    history = json.loads(cli("task", "history", str(tasks["started"]), "--json").stdout)
    assert [h["action"] for h in history if h["field"] == "status"][-2:] == ["defer", "reopen"]


def test_a_record_with_only_some_fields_leaves_the_others(cli, tasks, tmp_path):
    key = export(cli)[0]["external_key"]
    path = write(tmp_path, [{"external_key": key, "description": "Solo la descrizione"}])
    assert report(import_file(cli, path, "--json"))[0]["action"] == "updated"
    shown = json.loads(cli("task", "show", str(tasks["iva"]), "--json").stdout)
    assert shown["description"] == "Solo la descrizione"
    assert shown["title"] == "Liquidazione IVA marzo" and shown["tags"] == ["f24", "iva"]


def test_new_keys_create_tasks_children_before_parents_included(cli, world, tmp_path):
    path = write(
        tmp_path,
        [
            {
                "external_key": "gest-42/a",
                "title": "Registrazione fatture di acquisto marzo",
                "responsible": DOER,
                "parent_key": "gest-42",
                "status": "in_progress",
            },
            {
                "external_key": "gest-42",
                "title": "Contabilità marzo",
                "responsible": DOER,
                "client_id": world["alfa"],
                "deadline": "2026-12-01",
                "tags": ["Contabilita"],
            },
        ],
    )
    rows = report(import_file(cli, path, "--json"))
    assert [(r["record"], r["action"]) for r in rows] == [(1, "created"), (2, "created")]
    child = json.loads(cli("task", "show", str(rows[0]["id"]), "--json").stdout)
    parent = json.loads(cli("task", "show", str(rows[1]["id"]), "--json").stdout)
    assert child["parent_id"] == parent["id"] and child["status"] == "in_progress"
    assert child["external_key"] == "gest-42/a" and parent["external_key"] == "gest-42"
    assert parent["deadline"] == "2026-12-01T18:00+01:00" and parent["tags"] == ["contabilita"]
    assert parent["creator"] == ADMIN_EMAIL
    assert [r["action"] for r in report(import_file(cli, path, "--json"))] == ["unchanged"] * 2


def test_json_lines_are_read_and_numbered_by_line(cli, world, tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text(
        json.dumps({"external_key": "k1", "title": "Uno", "responsible": DOER})
        + "\n\n"
        + json.dumps({"external_key": "k2", "title": "", "responsible": DOER})
        + "\n"
    )
    line = assert_one_line_error(import_file(cli, path), 6)
    assert "record 3 title" in line


def test_dry_run_reports_and_leaves_the_store_byte_identical(cli, tasks, store_path, tmp_path):
    records = export(cli)
    records[0]["title"] = "Cambiato"
    records[1]["status"] = "completed"
    records.append({"external_key": "new-1", "title": "Nuovo", "responsible": DOER})
    path = write(tmp_path, records)
    before = store_digest(store_path)
    result = cli("task", "import", str(path), "--dry-run", "--json")
    rows = report(result)
    assert [r["action"] for r in rows] == ["updated", "updated"] + ["unchanged"] * 4 + ["created"]
    assert rows[-1]["id"] is None
    assert "Would import 7 record(s): 1 created, 2 updated, 4 unchanged." in result.stderr
    assert store_digest(store_path) == before


# --- import: refusals --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"responsible": "nobody@sempi.test"}, "record 2 responsible"),
        ({"deadline": "31/02/2026"}, "record 2 deadline"),
        ({"deadline": "someday"}, "record 2 deadline"),
        ({"external_key": None}, "record 2 external_key"),
        ({"external_key": "  "}, "record 2 external_key"),
        ({"title": "   "}, "record 2 title"),
        ({"title": None}, "record 2 title"),
        ({"high_priority": "yes"}, "record 2 high_priority"),
        ({"planned_minutes": 0}, "record 2 planned_minutes"),
        ({"client_id": 999}, "record 2 client_id"),
        ({"kind": "urgent"}, "record 2 kind"),
        ({"status": "done"}, "record 2 status"),
        ({"tags": ["due parole"]}, "record 2 tags"),
        ({"participants": ["ghost@sempi.test"]}, "record 2 participants"),
        ({"titel": "typo"}, "record 2 titel"),
        ({"parent_key": "missing"}, "record 2 parent_key"),
        ({"external_key": "ok-1"}, "record 2 external_key"),  # the same key twice
    ],
)
def test_a_bad_record_is_named_with_its_field_and_nothing_is_written(
    cli, world, store_path, tmp_path, change, field
):
    good = {"external_key": "ok-1", "title": "Buono", "responsible": DOER}
    bad = {"external_key": "ok-2", "title": "Cattivo", "responsible": DOER, **change}
    bad = {k: v for k, v in bad.items() if v is not None}
    path = write(tmp_path, [good, bad])
    before = store_digest(store_path)
    line = assert_one_line_error(import_file(cli, path), 6)
    assert line.startswith(f"Error: {field}:"), line
    assert store_digest(store_path) == before


def test_files_that_are_not_task_lists(cli, world, tmp_path):
    for text, message in (
        ("", "FILE: the file is empty"),
        ("[1, ", "FILE: not JSON"),
        ("[42]", "record 1: not a JSON object"),
        # what json refuses beyond syntax was an internal error (found by fuzzing)
        ("[" * 100_000 + "]" * 100_000, "FILE: not JSON: nested too deeply"),
        ('[{"external_key": ' + "1" * 5000 + "}]", "FILE: not JSON: a number too long"),
        ('{"external_key": ' + "1" * 5000 + "}\n", "record 1: not JSON: a number too long"),
    ):
        path = tmp_path / "bad.json"
        path.write_text(text)
        assert_one_line_error(import_file(cli, path), 6, message)
    assert_one_line_error(import_file(cli, tmp_path / "none.json"), 6, "no such file")


def test_bulk_import_needs_confirmation_without_a_terminal(cli, tasks, tmp_path):
    path = write(tmp_path, export(cli))
    result = cli("task", "import", str(path))
    assert_one_line_error(result, 2, "confirmation needed")


def test_a_status_the_importer_could_not_reach_by_hand_is_refused(cli, tasks, store_path, tmp_path):
    # The responsible of a task that asks for approval cannot complete it alone.
    records = export(cli, as_user=DOER)
    record = next(r for r in records if r["id"] == tasks["iva"])
    record["status"] = "completed"
    path = write(tmp_path, [record])
    before = store_digest(store_path)
    line = assert_one_line_error(import_file(cli, path, as_user=DOER), 5)
    assert "record 1 status" in line and "approval" in line
    assert store_digest(store_path) == before
    # Awaiting approval is where their "done" leads: allowed.
    record["status"] = "awaiting_approval"
    path = write(tmp_path, [record], "again.json")
    assert report(import_file(cli, path, "--json", as_user=DOER))[0]["action"] == "updated"


def test_an_operator_cannot_change_a_task_they_only_see(cli, tasks, store_path, tmp_path):
    records = export(cli, as_user=OPERATOR)
    assert records, "the operator sees the tasks of their work group"
    records[0]["title"] = "Cambiato dall'operatore"
    path = write(tmp_path, records)
    before = task_tables(store_path)
    line = assert_one_line_error(import_file(cli, path, as_user=OPERATOR), 8)
    assert line.startswith("Error: record 1: only the creator or the responsible"), line
    assert task_tables(store_path) == before
    # Unchanged records need no right to change: the same file as exported passes.
    path = write(tmp_path, export(cli, as_user=OPERATOR), "as-is.json")
    assert {r["action"] for r in report(import_file(cli, path, "--json", as_user=OPERATOR))} == {
        "unchanged"
    }


def test_a_key_of_a_task_one_cannot_see_is_not_found(cli, tasks, store_path, tmp_path):
    hidden = next(r for r in export(cli) if r["id"] == tasks["deferred"])
    hidden["title"] = "Provo a cambiarlo"
    path = write(tmp_path, [hidden])
    before = store_digest(store_path)
    line = assert_one_line_error(import_file(cli, path, as_user=OPERATOR), 3)
    assert "record 1" in line and "not found" in line
    assert store_digest(store_path) == before


def test_an_external_key_is_kept_on_the_new_task(cli, world, tmp_path, db):
    path = write(tmp_path, [{"external_key": "crm:7781", "title": "Uno", "responsible": DOER}])
    task_id = report(import_file(cli, path, "--json"))[0]["id"]
    row = db.execute("SELECT external_key FROM tasks WHERE id = ?", (task_id,)).fetchone()
    assert row[0] == "crm:7781"
    assert export(cli)[0]["external_key"] == "crm:7781"


def test_import_reads_standard_input(cli, world):
    records = [{"external_key": "stdin-1", "title": "Da stdin", "responsible": DOER}]
    result = cli("task", "import", "-", "--json", input=json.dumps(records))
    assert report(result)[0]["action"] == "created"


def test_export_file_mode_ignores_a_loose_umask(cli, tasks, tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / "loose.json"
        assert cli("task", "export", "-o", str(path)).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_nothing_to_export_is_an_empty_list_and_imports_as_nothing(cli, world, tmp_path):
    result = cli("task", "export", "--mine")
    assert result.exit_code == 0 and result.stdout == "[]\n"
    path = write(tmp_path, [])
    result = import_file(cli, path, "--json")
    assert report(result) == [] and "Imported 0 record(s)" in result.stderr


def test_tasks_reach_a_phones_calendar(cli, clock, tmp_path):
    """`task export --ics`: one event per task with a deadline, the same UID at every
    export, a higher SEQUENCE after a change, a completed task CANCELLED."""
    from icalendar import Calendar

    first = json.loads(
        cli("task", "add", "Bilancio Alfa", "-d", "20/12/2026 12:00", "--json").stdout
    )[0]
    json.loads(cli("task", "add", "Senza scadenza", "--json").stdout)

    def events():
        text = ok(cli("task", "export", "--ics", "--mine")).stdout
        return {str(e["summary"]): e for e in Calendar.from_ical(text).walk("VEVENT")}

    before = events()
    assert list(before) == ["Bilancio Alfa"]
    event = before["Bilancio Alfa"]
    assert event.decoded("dtstart").isoformat() == "2026-12-20T11:00:00+00:00"
    clock.advance(timedelta(minutes=5))
    ok(cli("task", "edit", str(first["id"]), "-d", "21/12/2026 12:00"))
    after = events()["Bilancio Alfa"]
    assert after["uid"] == event["uid"] and after["sequence"] > event["sequence"]
    clock.advance(timedelta(minutes=5))
    ok(cli("task", "done", str(first["id"])))
    done = events()["✓ Bilancio Alfa"]
    assert done["uid"] == event["uid"] and done["status"] == "CANCELLED"
    path = tmp_path / "incarichi.ics"
    ok(cli("task", "export", "--ics", "--output", str(path)))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
