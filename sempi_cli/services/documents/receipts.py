"""Read receipts: the first time one of a client's external users downloads a
document that a firm or practice user put in the client's folders, the
document keeps the moment (``documents.client_first_read_at``) and whoever
added it is told (a ``document`` notification), unless the client's practice
turned read receipts off (``studios.read_receipts``, `sempi studio edit
--read-receipts off`). The moment is kept either way, so turning receipts on
later tells nobody about a download that was not the first.
"""

from __future__ import annotations

import sqlite3

from sempi_cli.clock import Clock, iso_utc
from sempi_cli.i18n import Text
from sempi_cli.services.access import Actor
from sempi_cli.services.notify.centre import NotificationService
from sempi_cli.store import write_transaction


def first_read(db: sqlite3.Connection, clock: Clock, actor: Actor, document: sqlite3.Row) -> None:
    """Called once a download of ``document`` (a row of ``documents``) has read it
    whole. Two downloads at once record and notify once: the UPDATE decides."""
    if (
        document["client_first_read_at"] is not None
        or actor.role != "external"
        or actor.client_id != document["client_id"]
    ):
        return
    adder = db.execute(
        "SELECT id, role, disabled_at FROM users WHERE id = ?", (document["added_by"],)
    ).fetchone()
    if adder is None or adder["role"] == "external":
        return  # the client's own people's documents have no receipt
    with write_transaction(db):
        now = iso_utc(clock.now())
        if not db.execute(
            "UPDATE documents SET client_first_read_at = ? WHERE id = ?"
            " AND client_first_read_at IS NULL",
            (now, document["id"]),
        ).rowcount:
            return
        client = db.execute(
            "SELECT c.ragione_sociale, s.read_receipts FROM clients c"
            " JOIN studios s ON s.id = c.studio_id WHERE c.id = ?",
            (document["client_id"],),
        ).fetchone()
        if not client["read_receipts"] or adder["disabled_at"] is not None:
            return
        NotificationService(db, clock, actor).notify(
            adder["id"],
            "document",
            Text(
                "{person} ({client}) downloaded document {document} ({name}) for the first time.",
                person=actor.full_name,
                client=client["ragione_sociale"],
                document=document["id"],
                name=document["name"],
            ),
            f"document-read:{document['id']}",
        )
