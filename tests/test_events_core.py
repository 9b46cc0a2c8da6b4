"""The events record itself (services/event_log.py, `sempi events`): written in the
writer's transaction, the schema-1 contract checked against docs/events.schema.json,
who reads which event, --since/--kind/--client, origin and depth, and `events tail`
following a real process's writes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from sempi_cli.services import event_log
from sempi_cli.store import write_transaction
from tests.conftest import ADMIN_EMAIL, actor
from tests.helpers import CREATOR, EXTERNAL, OPERATOR, assert_one_line_error, data, task_people

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "events.schema.json"


@pytest.fixture
def people(org, db):
    """task_people, and "mark": the newest event once they exist (taking clients on
    writes events of its own): the tests read what comes after it."""
    made = task_people(org)
    made["mark"] = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    return made


def write(db, clock, kind: str, object_id, client_id, as_user=ADMIN_EMAIL, **extra) -> int:
    with write_transaction(db):
        return event_log.record(db, clock, actor(db, as_user), kind, object_id, client_id, **extra)


def listed(cli, people, *args, as_user=ADMIN_EMAIL) -> list[dict]:
    """`events list` after the people's own events (unless --since is given)."""
    since = () if "--since" in args else ("--since", str(people["mark"]))
    return data(cli("--json", "events", "list", *since, *args, as_user=as_user)) or []


def test_the_schema_file_names_every_kind_and_object_type():
    schema = json.loads(SCHEMA_FILE.read_text())
    assert set(schema["properties"]["kind"]["enum"]) == set(event_log.KINDS)
    types = {k.object_type for k in event_log.KINDS.values()}
    assert set(schema["properties"]["object"]["properties"]["type"]["enum"]) == types
    assert tuple(schema["required"]) == event_log.CONTRACT_KEYS


def test_an_event_reads_back_as_the_contract(cli, db, clock, people):
    changes = {"status": {"old": "in_progress", "new": "completed"}}
    made = write(db, clock, "client.updated", people["client"], people["client"],
                 changes=changes, data={"ragione_sociale": "Alfa Srl"})  # fmt: skip
    [event] = listed(cli, people)
    jsonschema.validate(event, json.loads(SCHEMA_FILE.read_text()))
    assert event == {
        "schema": 1, "id": made, "kind": "client.updated", "at": "2026-11-16T09:30:00+00:00",
        "actor": {"id": 1, "email": ADMIN_EMAIL}, "object": {"type": "client", "id": people["client"]},
        "client_id": people["client"], "origin": None, "changes": changes,
        "data": {"ragione_sociale": "Alfa Srl"},
    }  # fmt: skip


def test_what_reacts_is_given_the_contract_the_record_reads_back(db, clock, people, monkeypatch):
    """The reactors get each event as an event_log.Event (fields made when read);
    whole, it is the stored contract, for record and for record_many with data given
    as a mapping or as JSON text already (a bulk writer's)."""
    given: list = []
    monkeypatch.setattr(event_log, "_reactors", lambda db, kind: [lambda *a: given.append(a[3])])
    admin = actor(db, ADMIN_EMAIL)
    with write_transaction(db):
        event_log.record(db, clock, admin, "client.updated", people["client"], people["client"],
                         changes={"pec": {"old": None, "new": "a@pec.it"}})  # fmt: skip
        event_log.record_many(db, clock, admin, "client.onboarded",
                              [(people["client"], people["client"], None, {"n": 1}),
                               (people["other_client"], people["other_client"], None,
                                event_log.encoded({"n": 2}))])  # fmt: skip
    assert given[0]["client_id"] == people["client"]  # read alone, before the rest
    stored = db.execute(
        "SELECT e.*, u.email FROM events e LEFT JOIN users u ON u.id = e.actor_id"
        " WHERE e.id > ? ORDER BY e.id", (people["mark"],)
    ).fetchall()  # fmt: skip
    assert [dict(event) for event in given] == [event_log.contract(r, r["email"]) for r in stored]
    assert [event["data"] for event in given] == [{}, {"n": 1}, {"n": 2}]
    assert "data" in given[0] and "title" not in given[0] and len(given[0]) == 10


def test_a_rolled_back_change_leaves_no_event(db, clock, people):
    with pytest.raises(RuntimeError), write_transaction(db):
        event_log.record(db, clock, None, "client.updated", people["client"], people["client"])
        raise RuntimeError("the change failed after its event was written")
    assert (
        db.execute("SELECT count(*) FROM events WHERE id > ?", (people["mark"],)).fetchone()[0] == 0
    )


def test_events_caused_by_an_event_carry_its_origin_and_depth(db, clock, people):
    first = write(db, clock, "client.updated", people["client"], people["client"])
    with write_transaction(db), event_log.caused_by(first, 0):
        second = event_log.record(db, clock, None, "client.updated", 1, people["client"])
        with event_log.caused_by(second, 1):
            third = event_log.record(db, clock, None, "client.updated", 1, people["client"])
    rows = db.execute(
        "SELECT id, origin_id, depth FROM events WHERE id > ? ORDER BY id", (people["mark"],)
    ).fetchall()
    assert [tuple(r) for r in rows] == [(first, None, 0), (second, first, 1), (third, second, 2)]


def test_bulk_events_are_written_in_order(db, clock, people):
    with write_transaction(db):
        event_log.record_many(db, clock, None, "client.onboarded",
                              [(people["client"], people["client"], None, {"n": 1}),
                               (people["other_client"], people["other_client"], None, {"n": 2})])  # fmt: skip
    rows = db.execute(
        "SELECT object_id, data, actor_id FROM events WHERE id > ? ORDER BY id", (people["mark"],)
    ).fetchall()
    assert [(r[0], json.loads(r[1])["n"], r[2]) for r in rows] == [
        (people["client"], 1, None), (people["other_client"], 2, None)
    ]  # fmt: skip


def test_since_kind_and_client_filter(cli, db, clock, people):
    a = write(db, clock, "client.updated", people["client"], people["client"])
    b = write(db, clock, "consent.requested", people["other_client"], people["other_client"])
    c = write(db, clock, "client.updated", people["other_client"], people["other_client"])
    assert [e["id"] for e in listed(cli, people)] == [a, b, c]
    assert [e["id"] for e in listed(cli, people, "--since", str(a))] == [b, c]
    assert [e["id"] for e in listed(cli, people, "--kind", "client.updated")] == [a, c]
    assert [e["id"] for e in listed(cli, people, "-k", "client.updated", "-k", "consent.requested",
                                    "--client", str(people["other_client"]))] == [b, c]  # fmt: skip
    assert [e["id"] for e in listed(cli, people, "--limit", "1")] == [a]


def test_bad_filters_are_one_line(cli, db, clock, people):
    assert_one_line_error(cli("events", "list", "--kind", "task.finished"), 6, "--kind")
    assert_one_line_error(
        cli("events", "list", "--client", str(people["other_client"]), as_user=EXTERNAL), 3
    )


def test_each_reader_sees_the_events_of_what_they_see(cli, db, clock, people):
    """A client's events: its work group (OPERATOR is in Alfa's), its external user;
    another client's: neither. A task's: who sees the task. No client: firm admins."""
    alfa = write(db, clock, "client.updated", people["client"], people["client"])
    beta = write(db, clock, "client.updated", people["other_client"], people["other_client"])
    task = db.execute(
        "INSERT INTO tasks (title, responsible_id, creator_id, client_id, created_at, updated_at)"
        " VALUES ('F24', (SELECT id FROM users WHERE email = ?), (SELECT id FROM users WHERE"
        " email = ?), ?, '2026-11-16T09:30:00+00:00', '2026-11-16T09:30:00+00:00') RETURNING id",
        (CREATOR, CREATOR, people["other_client"]),
    ).fetchone()[0]
    db.commit()
    on_task = write(db, clock, "task.created", task, people["other_client"], as_user=CREATOR)
    nobody = write(db, clock, "document.added", 99, None)
    assert [e["id"] for e in listed(cli, people)] == [alfa, beta, on_task, nobody]
    assert [e["id"] for e in listed(cli, people, as_user=OPERATOR)] == [alfa]
    assert [e["id"] for e in listed(cli, people, as_user=EXTERNAL)] == [alfa]
    assert [e["id"] for e in listed(cli, people, as_user=CREATOR)] == [alfa, beta, on_task]


def test_kinds_lists_every_kind(cli):
    rows = data(cli("--json", "events", "kinds"))
    assert [r["kind"] for r in rows] == list(event_log.KINDS)
    assert all(r["about"] and r["object_type"] for r in rows)


@pytest.mark.slow
def test_tail_follows_what_another_process_commits(cli, db, clock, people, store_path, tmp_path):
    """A real `sempi events tail` prints, one JSON object a line, the events committed
    after it started, and stops cleanly on SIGTERM."""
    from tests.conftest import cron_env

    before = write(db, clock, "client.updated", people["client"], people["client"])
    env = {**cron_env(store_path, tmp_path / "home", "tail"), "SEMPI_DB": str(store_path)}
    sempi = str(Path(sys.executable).parent / "sempi")
    tail = subprocess.Popen(
        [sempi, "events", "tail", "--interval", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        started = ""
        while "Ctrl-C" not in started and time.monotonic() < deadline:  # it says it follows
            started += tail.stderr.readline()
        after = write(db, clock, "consent.answered", people["client"], people["client"])
        line = tail.stdout.readline()  # blocks until the event is printed
        event = json.loads(line)
        assert event["id"] == after and event["kind"] == "consent.answered"
        assert before < after
    finally:
        tail.send_signal(signal.SIGTERM)
        out, err = tail.communicate(timeout=60)
    assert tail.returncode == 0, err
    assert out == ""  # nothing more, and the event before it started was never printed
