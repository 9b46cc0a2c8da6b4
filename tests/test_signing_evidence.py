"""The evidence of a request sent for signature (services/signing/evidence.py): events
appended to the hash-chained ``sign_events`` ledger, read back, and a file changed
with the plain `sqlite3` shell found and named."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sempi_cli.clock import FixedClock
from sempi_cli.errors import StoreUnusable
from sempi_cli.services.signing import evidence
from sempi_cli.store import write_transaction
from tests.conftest import ADMIN_EMAIL, actor

HASH_A, HASH_B = "a" * 64, "b" * 64


def make_request(db, clock, client_id: int, signers: list[int], folder: Path) -> int:
    """A request waiting for ``signers``, over a real document of the client, written
    as the request service (built later) will: a template, the document, the rows."""
    from sempi_cli.services.documents.documents import DocumentService
    from sempi_cli.services.documents.folders import FolderService

    admin = actor(db, ADMIN_EMAIL)
    pdf = folder / f"mandato-{client_id}-{len(signers)}.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% Mandato professionale di prova\n%%EOF\n")
    folders = FolderService(db, clock, admin)
    if not any(f["path"] == "Firme" for f in folders.list(client_id)):
        folders.add(client_id, "Firme")
    [document] = DocumentService(db, clock, admin).add(client_id, "Firme", [str(pdf)])
    with write_transaction(db):
        template = db.execute("SELECT id FROM sign_templates WHERE name = 'mandato'").fetchone()
        template_id = (
            template[0]
            if template
            else db.execute(
                "INSERT INTO sign_templates (name, body, format, created_at, created_by)"
                " VALUES ('mandato', 'Mandato per {{client.ragione_sociale}}', 'text', ?, ?)"
                " RETURNING id",
                ("2026-11-16T09:00:00+00:00", admin.id),
            ).fetchone()[0]
        )
        request_id = db.execute(
            "INSERT INTO sign_requests (client_id, template_id, title, fields, document_id,"
            " sha256, created_at, created_by) VALUES (?, ?, 'Mandato professionale', '{}', ?,"
            " ?, ?, ?) RETURNING id",
            (client_id, template_id, document["id"], hashlib.sha256(pdf.read_bytes()).hexdigest(),
             "2026-11-16T09:00:00+00:00", admin.id),
        ).fetchone()[0]  # fmt: skip
        for position, user_id in enumerate(signers, 1):
            db.execute(
                "INSERT INTO sign_signers (request_id, user_id, position) VALUES (?, ?, ?)",
                (request_id, user_id, position),
            )
    return int(request_id)


@pytest.fixture
def request_id(org, db, clock, tmp_path) -> int:
    rossi = org.practice("Studio Rossi")
    alfa = org.client("Alfa Srl", rossi, 1)
    mario = org.user("mario@alfa.test", "Mario Bianchi", "external", client=alfa)
    return make_request(db, clock, alfa, [mario["id"]], tmp_path)


def test_an_event_is_appended_and_read_back(db, clock, request_id):
    admin = actor(db, ADMIN_EMAIL)
    first = evidence.record(
        db, clock, request_id, "created", user_id=admin.id, channel="sempi", hash_after=HASH_A
    )
    clock.advance(timedelta(minutes=5))
    second = evidence.record(
        db, clock, request_id, "code_sent", user_id=admin.id, channel="email",
        detail={"code": 3, "expires_at": "2026-11-16T09:45:00+00:00"},
    )  # fmt: skip
    assert second > first
    created, sent = evidence.events(db, request_id)
    assert created["event"] == "created" and created["channel"] == "sempi"
    assert created["user_id"] == admin.id and created["request_id"] == request_id
    assert (created["hash_before"], created["hash_after"]) == (None, HASH_A)
    assert created["at_utc"] == "2026-11-16T09:30:00Z"  # UTC, with a Z
    assert created["at_rome"] == "2026-11-16T10:30:00+01:00"  # the office's clock
    assert created["detail"] is None
    assert sent["at_utc"] == "2026-11-16T09:35:00Z"
    assert sent["detail"] == {"code": 3, "expires_at": "2026-11-16T09:45:00+00:00"}
    assert sent["prev_hash"] == created["row_hash"]  # the chain
    assert evidence.verify(db) == {"table": "sign_events", "rows": 2, "ok": True}
    assert evidence.events(db, request_id + 1) == []


def test_summer_time_in_rome(db, request_id):
    summer = FixedClock(datetime(2027, 7, 1, 22, 15, tzinfo=UTC))
    evidence.record(db, summer, request_id, "expired", user_id=None, channel="system")
    [event] = evidence.events(db, request_id)
    assert event["at_utc"] == "2027-07-01T22:15:00Z"
    assert event["at_rome"] == "2027-07-02T00:15:00+02:00"  # the next day in Rome
    assert event["user_id"] is None


@pytest.mark.parametrize(
    ("event", "channel", "hashes"),
    [
        ("signed", "sempi", {}),  # not an event
        ("accepted", "pec", {}),  # not a channel
        ("accepted", "sempi", {"hash_before": "ABC"}),  # not a SHA-256
        ("accepted", "sempi", {"hash_after": "A" * 64}),  # upper case: not as stored
    ],
)
def test_a_wrong_event_is_a_bug_and_writes_nothing(db, clock, request_id, event, channel, hashes):
    with pytest.raises(ValueError):
        evidence.record(db, clock, request_id, event, user_id=None, channel=channel, **hashes)
    assert evidence.events(db, request_id) == []


def test_record_joins_the_callers_transaction(db, clock, request_id):
    """Inside a transaction that rolls back, the event goes with it."""
    with pytest.raises(RuntimeError), write_transaction(db):
        evidence.record(db, clock, request_id, "viewed", user_id=None, channel="sempi")
        raise RuntimeError("the caller failed afterwards")
    assert evidence.events(db, request_id) == []


@pytest.mark.parametrize(
    "statement", ["UPDATE sign_events SET channel = 'email'", "DELETE FROM sign_events"]
)
def test_update_and_delete_are_refused_by_the_triggers(db, clock, request_id, statement):
    evidence.record(db, clock, request_id, "sent", user_id=None, channel="sempi")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute(statement)
    assert len(evidence.events(db, request_id)) == 1


def _three_events(db, clock, request_id) -> list[int]:
    return [
        evidence.record(db, clock, request_id, event, user_id=None, channel="sempi")
        for event in ("created", "sent", "viewed")
    ]


@pytest.mark.parametrize(
    ("how", "bad"),
    [
        ("UPDATE sign_events SET channel = 'email' WHERE id = :second", "second"),
        ("UPDATE sign_events SET at_utc = '2026-11-15T09:30:00Z' WHERE id = :second", "second"),
        ("DELETE FROM sign_events WHERE id = :second", "third"),
        ("DELETE FROM sign_events WHERE id = :third", None),  # the last row: see below
    ],
)
def test_a_file_edited_with_sqlite3_is_found(db, clock, store_path, request_id, how, bad):
    first, second, third = _three_events(db, clock, request_id)
    ids = {"first": first, "second": second, "third": third}
    conn = sqlite3.connect(store_path)  # someone with the file and the sqlite3 shell
    with conn:
        conn.execute("DROP TRIGGER sign_events_append_only_update")
        conn.execute("DROP TRIGGER sign_events_append_only_delete")
        conn.execute(how, ids)
    conn.close()
    result = evidence.check(db)
    if bad is None:
        # Dropping the last rows leaves a shorter chain that holds: the count is what
        # tells (and the request's own events, which the next event links after).
        assert result["ok"] and result["rows"] == 2
        return
    assert (result["ok"], result["first_bad"]) == (False, ids[bad])
    with pytest.raises(StoreUnusable) as raised:
        evidence.verify(db)
    assert raised.value.exit_code == 10
    assert f"the signature evidence record is broken at event {ids[bad]}" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_row_forged_with_sqlite3_is_found(db, clock, store_path, request_id):
    """A row inserted by hand with made-up hashes does not follow the row before it."""
    _three_events(db, clock, request_id)
    conn = sqlite3.connect(store_path)
    with conn:
        conn.execute(
            "INSERT INTO sign_events (request_id, event, at_utc, at_rome, channel, prev_hash,"
            " row_hash) VALUES (?, 'accepted', '2026-11-16T09:31:00Z',"
            " '2026-11-16T10:31:00+01:00', 'sempi', ?, ?)",
            (request_id, "0" * 64, "f" * 64),
        )
    conn.close()
    with pytest.raises(StoreUnusable, match="does not follow the row before it"):
        evidence.verify(db)


_DETAIL = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=20), st.none(), st.booleans()),
    max_size=4,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(details=st.lists(st.one_of(st.none(), _DETAIL), min_size=1, max_size=4))
def test_any_detail_reads_back_and_the_chain_holds(db, clock, request_id, details):
    with pytest.raises(RuntimeError), write_transaction(db):  # each example undone
        for detail in details:
            evidence.record(
                db, clock, request_id, "viewed", user_id=None, channel="sempi", detail=detail
            )
        assert [e["detail"] for e in evidence.events(db, request_id)] == details
        assert evidence.check(db)["ok"]
        raise RuntimeError("undo")
