"""A client's signature requests under the GDPR: what an export carries, and what
an erasure removes (services/privacy/ calls these; signing/ writes its own tables).

An erasure removes the client's e-mail and PEC from the values its documents
were filled with (``sign_requests.fields``), as it removes them from the client.
The documents, their signers, outcomes and evidence stay: they are the record
of an agreement, kept for the establishment or defence of legal claims (art.
17(3)(e) GDPR) and with the accounting records they support (art. 2220 c.c.);
the evidence is append-only in any case (services/ledger.py).
"""

from __future__ import annotations

import json
import sqlite3

ERASED_VALUES = ("client.email", "client.pec")


def requests_of(db: sqlite3.Connection, client_id: int) -> list[dict]:
    """Every request of the client, oldest first, with its filled values and its
    signers' outcomes: the client's part of an export."""
    found = []
    for row in db.execute(
        "SELECT id, title, status, fields, document_id, sha256, due_on, sealed_document_id,"
        " sealed_sha256, created_at, completed_at FROM sign_requests WHERE client_id = ?"
        " ORDER BY id",
        (client_id,),
    ).fetchall():
        item = dict(row)
        item["fields"] = json.loads(item["fields"])
        item["signers"] = [
            dict(s)
            for s in db.execute(
                "SELECT u.email, u.full_name, s.outcome, s.decided_at, s.reason"
                " FROM sign_signers s JOIN users u ON u.id = s.user_id"
                " WHERE s.request_id = ? ORDER BY s.position",
                (row["id"],),
            )
        ]
        found.append(item)
    return found


def erase(db: sqlite3.Connection, client_id: int) -> int:
    """Blank ERASED_VALUES in the client's requests; how many requests changed."""
    changed = 0
    for request_id, fields in db.execute(
        "SELECT id, fields FROM sign_requests WHERE client_id = ? ORDER BY id", (client_id,)
    ).fetchall():
        values = json.loads(fields)
        if any(values.get(name) for name in ERASED_VALUES):
            values.update(dict.fromkeys(ERASED_VALUES, ""))
            db.execute(
                "UPDATE sign_requests SET fields = ? WHERE id = ?",
                (json.dumps(values, ensure_ascii=False), request_id),
            )
            changed += 1
    return changed
