"""Finding a chat, who its members are, who may post: on top of the one rule of
who reads which chat, ``access.readable_chats`` (every chat read path asks it:
list, show, search, follow, attachments, notifications). The rule:

- general: every internal user (firm and practice users, never external ones);
- public: its members (``chat_members``); every internal user may see that it
  exists and join it;
- private: its members; an external member only while they still share a work
  group with someone (a user who lost every work group sees none);
- group (one per client): whoever sees the client's work group
  (``access.visible_clients``: its members within the boundary between
  practices, and the administrators over it); its *members* are the work
  group's, at every moment.

Within a chat, a member of a public or private chat reads the messages from
``chat_members.sees_from`` (0: the whole history). A chat or a message the
actor may not read does not exist for them: NotFound, as for an id that does
not exist.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from sempi_cli.clock import Clock, iso_utc
from sempi_cli.errors import NotFound
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.access import Actor
from sempi_cli.store.sql import in_marks

KINDS = ("general", "public", "private", "group")
ADMIN_ROLES = ("firm-admin", "studio-admin")  # may restrict or moderate


def visible_sql(actor: Actor, alias: str = "ch") -> tuple[str, dict]:
    """SQL predicate over ``chats AS alias``: the chats the actor may know of. The
    ones they read, and for an internal user every public chat still open (to join
    it: knowing it is not reading it, so no message path asks this)."""
    where, params = access.readable_chats(actor, alias)
    if actor.role == "external":
        return where, params
    return f"({where} OR ({alias}.kind = 'public' AND {alias}.archived_at IS NULL))", params


def chat_row(
    db: sqlite3.Connection, actor: Actor, chat_id: int, *, include_public: bool = False
) -> sqlite3.Row:
    """The chat if the actor may read it (or, with ``include_public``, join it),
    else NotFound (whether or not it exists)."""
    where, params = (visible_sql if include_public else access.readable_chats)(actor)
    row = db.execute(
        f"SELECT ch.*, {access.chat_sees_from_sql()} AS sees_from FROM chats ch WHERE ch.id = :chat AND {where}",
        {**params, "chat": chat_id},
    ).fetchone()
    if row is None:
        raise NotFound(
            _("chat {chat} not found").format(chat=chat_id),
            _("see your chats with 'sempi chat list'"),
        )
    return row


def members_sql(chat: Mapping | sqlite3.Row) -> tuple[str, dict]:
    """SQL selecting the ids of a chat's active members: the people it notifies
    and the ones a mention may name (administrators who may read a work group's
    chat without being in the group are readers, not members)."""
    active = "u.disabled_at IS NULL"
    if chat["kind"] == "general":
        return f"SELECT u.id FROM users u WHERE u.role <> 'external' AND {active}", {}
    if chat["kind"] == "group":
        # The work group's members, within the boundary between practices.
        return (
            "SELECT u.id FROM work_group_members w JOIN users u ON u.id = w.user_id"
            " JOIN clients c ON c.id = w.client_id"
            f" WHERE w.client_id = :client AND {active}"
            " AND (u.role IN ('firm-admin', 'staff')"
            " OR (u.role IN ('studio-admin', 'studio-operator') AND u.studio_id = c.studio_id)"
            " OR (u.role = 'external' AND u.client_id = c.id))",
            {"client": chat["client_id"]},
        )
    external_ok = "(u.role <> 'external' OR EXISTS (SELECT 1 FROM work_group_members w WHERE w.user_id = u.id))"
    return (
        "SELECT u.id FROM chat_members m JOIN users u ON u.id = m.user_id"
        f" WHERE m.chat_id = :chat AND {active} AND {external_ok}",
        {"chat": chat["id"]},
    )


def member_ids(db: sqlite3.Connection, chat: Mapping | sqlite3.Row) -> list[int]:
    sql, params = members_sql(chat)
    return [r[0] for r in db.execute(sql + " ORDER BY u.id", params)]


def on_clients_added(
    db: sqlite3.Connection, clock: Clock, actor: Actor, payload: Mapping[str, object]
) -> None:
    """The event ``client.added`` (services/events.py): each new client's work group
    gets its chat, named by the client."""
    ids = [int(i) for i in payload["client_ids"]]  # type: ignore[attr-defined]
    now = iso_utc(clock.now())
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        db.execute(
            "INSERT INTO chats (kind, title, client_id, created_at)"
            " SELECT 'group', substr(ragione_sociale, 1, 120), id, ? FROM clients"
            f" WHERE id IN ({in_marks(chunk)}) ORDER BY id",
            (now, *chunk),
        )


GENERAL_NAMES = ("general", "generale")


def find_chat(
    db: sqlite3.Connection, actor: Actor, ref: str | int, *, include_public: bool = False
) -> sqlite3.Row:
    """A chat the actor may read (with ``include_public``: or join), by id, by
    ``general`` (``generale``), or by its title (case-insensitive; a work group's
    chat also by its client's name or ``client:ID``). NotFound when none,
    InvalidData when a title names several."""
    from sempi_cli.errors import InvalidData

    text = str(ref).strip()
    if text.isdigit():
        return chat_row(db, actor, int(text), include_public=include_public)
    where, params = (visible_sql if include_public else access.readable_chats)(actor)
    args: dict[str, object] = {}
    if text.lower() in GENERAL_NAMES:
        sql = "ch.kind = 'general'"
    elif text.lower().startswith("client:") and text[7:].strip().isdigit():
        sql, args = "ch.client_id = :client", {"client": int(text[7:])}
    else:
        sql = (
            "(lower(ch.title) = lower(:title) OR (ch.kind = 'group' AND EXISTS (SELECT 1"
            " FROM clients nc WHERE nc.id = ch.client_id AND lower(nc.ragione_sociale) = lower(:title))))"
        )
        args = {"title": text}
    rows = db.execute(
        f"SELECT ch.id FROM chats ch WHERE {sql} AND ch.archived_at IS NULL AND {where}"
        " ORDER BY ch.id LIMIT 2",
        {**params, **args},
    ).fetchall()
    if not rows:
        raise NotFound(
            _("chat {chat} not found").format(chat=repr(text)),
            _("see your chats with 'sempi chat list'"),
        )
    if len(rows) > 1:
        raise InvalidData(
            "CHAT",
            _("{chat} names more than one chat").format(chat=repr(text)),
            _("give the chat's id"),
        )
    return chat_row(db, actor, rows[0][0], include_public=include_public)


def post_refusal(actor: Actor, chat: Mapping | sqlite3.Row) -> str | None:
    """Why the actor may not post in a chat they read, or None if they may."""
    if chat["archived_at"] is not None:
        return _("chat {chat} is archived").format(chat=chat["id"])
    if chat["post_policy"] == "admins" and actor.role not in ADMIN_ROLES:
        return _("only administrators may post in chat {chat} ({title})").format(
            chat=chat["id"], title=chat["title"]
        )
    return None


def append_message(
    db: sqlite3.Connection,
    chat_id: int,
    author_id: int | None,
    body: str,
    at: str,
    *,
    kind: str = "text",
) -> int:
    """Add a message at the end of a chat and move the chat's last activity with it
    (``chat list`` sorts by it), in the caller's transaction; the message's id."""
    from sempi_cli.store.search import indexed_writes

    with indexed_writes(db):  # the search index follows by trigger
        message_id = db.execute(
            "INSERT INTO chat_messages (chat_id, author_id, kind, body, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (chat_id, author_id, kind, body, at),
        ).fetchone()[0]
    db.execute(
        "UPDATE chats SET last_message_id = ?, last_message_at = ? WHERE id = ?",
        (message_id, at, chat_id),
    )
    return message_id
