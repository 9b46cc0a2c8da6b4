"""What the chat stands on: m016 gives an existing store its general chat and a
chat for each client's work group; events.py tells the chat of new clients,
in the same transaction, and refuses a payload of the wrong shape."""

from __future__ import annotations

import sqlite3

import pytest

from sempi_cli.services import events
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, piva


def test_m016_gives_an_existing_store_its_chats(tmp_path, clock, monkeypatch):
    from sempi_cli.services.org.firm import create_store
    from sempi_cli.store import migrations, open_store

    path = tmp_path / "m015" / "sempi.db"
    with monkeypatch.context() as before_m016:
        before_m016.setattr(migrations, "STEPS", migrations.STEPS[:15])
        before_m016.setattr(migrations, "LATEST", 15)
        conn, _ = create_store(path, clock, "Studio", ADMIN_EMAIL, "Anna", ADMIN_PASSWORD)
        studio = conn.execute(
            "INSERT INTO studios (name, created_at, updated_at) VALUES ('Rossi', 'x', 'x')"
            " RETURNING id"
        ).fetchone()[0]
        for n, name in enumerate(("Alfa Srl", "B" * 200), start=1):
            conn.execute(
                "INSERT INTO clients (studio_id, ragione_sociale, taxpayer_kind, partita_iva,"
                " created_at, updated_at) VALUES (?, ?, 'societa_capitali', ?, '2026-01-01', 'x')",
                (studio, name, piva(n)),
            )
        conn.close()
    conn = open_store(path)
    conn.row_factory = sqlite3.Row
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    chats = [dict(r) for r in conn.execute("SELECT kind, title, client_id FROM chats ORDER BY id")]
    assert chats == [
        {"kind": "general", "title": "Generale", "client_id": None},
        {"kind": "group", "title": "Alfa Srl", "client_id": 1},
        {"kind": "group", "title": "B" * 120, "client_id": 2},  # a title holds 120
    ]
    conn.close()


def test_a_second_general_chat_is_refused_by_the_store(db):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO chats (kind, title, created_at) VALUES ('general', 'Altra', 'x')")


def test_a_new_client_gets_its_chat_in_the_same_transaction(org, db):
    rossi = org.practice("Studio Rossi")
    client = org.client("Gamma Srl", rossi, 7)
    row = db.execute("SELECT kind, title FROM chats WHERE client_id = ?", (client,)).fetchone()
    assert tuple(row) == ("group", "Gamma Srl")


def test_a_failing_subscriber_undoes_the_client(org, db, monkeypatch, store_path):
    from tests.conftest import store_digest

    rossi = org.practice("Studio Rossi")
    before = store_digest(store_path)

    def broken(*_args):
        raise RuntimeError("the chat could not be made")

    monkeypatch.setattr("sempi_cli.services.chat.rooms.on_clients_added", broken)
    with pytest.raises(RuntimeError):
        org.client("Delta Srl", rossi, 8)
    assert store_digest(store_path) == before


def test_an_event_of_the_wrong_shape_is_a_programming_error(db, clock, admin):
    with pytest.raises(ValueError, match="payload keys"):
        events.publish(db, clock, admin, "client.added", {"clients": [1]})
    with pytest.raises(KeyError):
        events.publish(db, clock, admin, "client.gone", {})


def test_every_subscriber_named_exists():
    import importlib

    for kind, event in events.EVENTS.items():
        for path in event.subscribers:
            module, _, function = path.partition(":")
            assert callable(getattr(importlib.import_module(module), function)), (kind, path)
