"""The queries behind `chat list`: the actor's chats with what they have not read,
and the public chats an internal user may join.

Sized for 2,000 chats and 1,000,000 messages: the chats come from ``chats`` (one
row each), and the unread count of each is a range of the index
``chat_messages(chat_id, id)`` above the larger of the read mark and the first
message the actor may read, less the actor's own messages and the deleted ones
in the same range, each a range of its own index (m016): counted without
reading a row, so a chat read to the end costs three index probes whatever its
size.
"""

from __future__ import annotations

import sqlite3

from sempi_cli.services import access
from sempi_cli.services.access import Actor
from sempi_cli.services.chat import rooms

LIST_COLUMNS = ("id", "kind", "title", "unread", "last_message_at", "muted")
PUBLIC_COLUMNS = ("id", "title", "members", "joined", "last_message_at")

# A work group's chat is named after its client as the client is named now.
_TITLE = "COALESCE(gc.ragione_sociale, ch.title)"


def _mine_sql(actor: Actor) -> str:
    """Of the chats the actor reads, the ones that are theirs: the general chat, the
    public and private ones they are in, their work groups' chats, and for an
    administrator the chats of the groups they oversee where something was said."""
    group = (
        "EXISTS (SELECT 1 FROM work_group_members w"
        " WHERE w.client_id = ch.client_id AND w.user_id = :actor_id)"
    )
    if actor.role in rooms.ADMIN_ROLES:
        group = f"({group} OR EXISTS (SELECT 1 FROM chat_messages hm WHERE hm.chat_id = ch.id))"
    return (
        "(ch.kind = 'general' OR (ch.kind IN ('public', 'private') AND me.user_id IS NOT NULL)"
        f" OR (ch.kind = 'group' AND {group}))"
    )


def my_chats(
    db: sqlite3.Connection,
    actor: Actor,
    *,
    unread_only: bool = False,
    kind: str | None = None,
    client_id: int | None = None,
) -> list[dict]:
    """The actor's chats, most recent activity first. ``client_id`` gives that
    client's work-group chat whenever the actor may read it (asked for by name)."""
    readable, params = access.readable_chats(actor)
    clauses = [readable, "ch.archived_at IS NULL", "(ch.kind <> 'group' OR gc.removed_at IS NULL)"]
    if client_id is not None:
        clauses.append("ch.client_id = :client")
        params["client"] = client_id
    else:
        clauses.append(_mine_sql(actor))
    if kind is not None:
        clauses.append("ch.kind = :kind")
        params["kind"] = kind
    # The last message read: the read mark, or the one before the first the actor
    # may read (sees_from), whichever is later. One lower bound, so the index range
    # starts there (two would leave SQLite to pick one and filter by the other).
    floor = (
        "CASE WHEN COALESCE(mk.read_up_to, 0) >= COALESCE(me.sees_from, 0)"
        " THEN COALESCE(mk.read_up_to, 0) ELSE me.sees_from - 1 END"
    )
    sql = (
        f"SELECT ch.id, ch.kind, {_TITLE} AS title, ch.client_id, ch.last_message_at,"
        " COALESCE(mk.muted, 0) AS muted,"
        f" (SELECT count(*) FROM chat_messages m WHERE m.chat_id = ch.id AND m.id > {floor})"
        f" - (SELECT count(*) FROM chat_messages m WHERE m.author_id = :actor_id"
        f" AND m.chat_id = ch.id AND m.id > {floor})"
        f" - (SELECT count(*) FROM chat_messages m WHERE m.deleted_at IS NOT NULL"
        f" AND m.chat_id = ch.id AND m.id > {floor}"
        " AND (m.author_id IS NULL OR m.author_id <> :actor_id)) AS unread"
        " FROM chats ch"
        " LEFT JOIN clients gc ON gc.id = ch.client_id"
        " LEFT JOIN chat_members me ON me.chat_id = ch.id AND me.user_id = :actor_id"
        " LEFT JOIN chat_marks mk ON mk.chat_id = ch.id AND mk.user_id = :actor_id"
        f" WHERE {' AND '.join(clauses)}"
        " ORDER BY ch.last_message_at IS NULL, ch.last_message_at DESC, ch.id"
    )
    rows = [{**dict(r), "muted": bool(r["muted"])} for r in db.execute(sql, params)]
    return [r for r in rows if r["unread"] > 0] if unread_only else rows


def unread_summary(db: sqlite3.Connection, actor: Actor, *, include_muted: bool = False) -> dict:
    """How many of the actor's chats have something unread, and how many messages in
    all (muted chats left out unless asked): what a status line shows."""
    rows = [r for r in my_chats(db, actor, unread_only=True) if include_muted or not r["muted"]]
    return {"chats": len(rows), "messages": sum(r["unread"] for r in rows)}


def public_chats(db: sqlite3.Connection, actor: Actor) -> list[dict]:
    """Every open public chat, joined or not, for an internal user; none for an
    external user (they never learn that one exists)."""
    if actor.role == "external":
        return []
    sql = (
        "SELECT ch.id, ch.title, ch.last_message_at,"
        " (SELECT count(*) FROM chat_members c WHERE c.chat_id = ch.id) AS members,"
        " EXISTS (SELECT 1 FROM chat_members j WHERE j.chat_id = ch.id AND j.user_id = ?) AS joined"
        " FROM chats ch WHERE ch.kind = 'public' AND ch.archived_at IS NULL"
        " ORDER BY ch.last_message_at IS NULL, ch.last_message_at DESC, ch.id"
    )
    return [{**dict(r), "joined": bool(r["joined"])} for r in db.execute(sql, (actor.id,))]
