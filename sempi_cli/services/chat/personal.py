"""A person's messages under the GDPR: what an export carries, and what an erasure
removes (services/privacy/ calls these; chat/ writes its own tables).

An erasure removes the text of every message the person wrote, the earlier
texts of their edits, and their name from the chat's own notes ("X left; Y is
now the owner"); the messages of others stay as they are, and the person shows
as "utente rimosso" (messages.author_of reads the erased account). FTS5 in
SQLite 3.40 has no secure-delete: the index is merged afterwards
(search.optimize_index) so no word of the erased text is left in the file once
the caller checkpoints.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sempi_cli.services.chat.search import optimize_index
from sempi_cli.services.identity.accounts import ERASED_PERSON
from sempi_cli.store.search import indexed_writes
from sempi_cli.store.sql import in_marks


def messages_of(db: sqlite3.Connection, user_id: int) -> list[dict]:
    """Every message the person wrote, oldest first, with its chat's title and
    the earlier texts of its edits: their part of an export."""
    found = []
    for row in db.execute(
        "SELECT m.id, m.chat_id, ch.kind AS chat_kind, ch.title AS chat, m.created_at,"
        " m.edited_at, m.deleted_at, m.body, m.reply_to, m.document_id"
        " FROM chat_messages m JOIN chats ch ON ch.id = m.chat_id"
        " WHERE m.author_id = ? ORDER BY m.id",
        (user_id,),
    ).fetchall():
        item = dict(row)
        item["text"] = item.pop("body")
        item["earlier_texts"] = [
            {"version": v["version"], "text": v["body"], "replaced_at": v["replaced_at"]}
            for v in db.execute(
                "SELECT version, body, replaced_at FROM chat_message_versions"
                " WHERE message_id = ? ORDER BY version",
                (row["id"],),
            )
        ]
        found.append(item)
    return found


def erase(db: sqlite3.Connection, user_id: int, names: Sequence[str], at: str) -> int:
    """Remove the text of the person's messages and of their earlier versions, and
    their *names* (full name, e-mail) from the chats' own notes; returns how many
    messages lost their text. Inside the caller's transaction."""
    written = [
        r[0] for r in db.execute("SELECT id FROM chat_messages WHERE author_id = ?", (user_id,))
    ]
    notes = [
        (row["id"], _without(row["body"], names))
        for row in db.execute("SELECT id, body FROM chat_messages WHERE kind = 'event'")
        if any(name and name in row["body"] for name in names)
    ]
    with indexed_writes(db):
        db.execute(
            "UPDATE chat_messages SET body = '', deleted_at = coalesce(deleted_at, ?)"
            " WHERE author_id = ?",
            (at, user_id),
        )
        db.executemany("UPDATE chat_messages SET body = ? WHERE id = ?", [(b, i) for i, b in notes])
    for start in range(0, len(written), 500):
        chunk = written[start : start + 500]
        db.execute(
            f"DELETE FROM chat_message_versions WHERE message_id IN ({in_marks(chunk)})",
            chunk,
        )
    if written or notes:
        optimize_index(db)
    return len(written)


def _without(text: str, names: Sequence[str]) -> str:
    for name in sorted((n for n in names if n), key=len, reverse=True):
        text = text.replace(name, ERASED_PERSON)
    return text
