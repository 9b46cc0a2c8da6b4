"""What is said in a chat: sending, reading (paged), editing, deleting.

Every path asks rooms.py first: a chat or a message the actor may not read is
"not found", the same words as for an id that does not exist, and within a chat
an invitee reads from their ``sees_from``. A message keeps each earlier text in
``chat_message_versions`` (edits and deletions), which only firm administrators
read (``history``); the audit log records the edit or deletion with ids and
lengths, never the text. A deleted message keeps its row (replies point at it)
with an empty body, so the search index drops it (m016's triggers).

Attachments: a document of the client's folders, in that client's work-group
chat only (other chats have no client whose folders they could name). The sender
must be able to read it; each reader's right to the document is asked when the
message is shown (documents/, the one rule for documents), not when it was sent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from sempi_cli.clock import Clock
from sempi_cli.errors import InvalidData, NotFound, PermissionDenied, RuleViolation
from sempi_cli.i18n import N_, ngettext, number
from sempi_cli.i18n import gettext as _
from sempi_cli.services.access import Actor, chat_sees_from_sql, readable_chats
from sempi_cli.services.base import Service
from sempi_cli.services.chat import mentions
from sempi_cli.services.chat.rooms import (
    chat_row,
    find_chat,
    post_refusal,
)
from sempi_cli.services.identity.accounts import ERASED_PERSON, is_erased_email
from sempi_cli.services.notify.centre import NotificationService
from sempi_cli.services.text import long_text
from sempi_cli.store.search import indexed_writes

MAX_LENGTH = 10_000
DEFAULT_PAGE = 50
# In JSON as they are; a person's table shows them translated (cli/chat/messages.py).
DELETED_TEXT = N_("(message deleted)")
NOT_AVAILABLE = N_("(attachment not available)")
# The keys of a message in JSON (a contract: add, never rename).
KEYS = (
    "id", "chat_id", "created_at", "author", "kind", "text", "reply_to", "attachment",
    "edited", "edited_at", "deleted", "deleted_at",
)  # fmt: skip

# A message with its author's address, for every path that shows messages.
SELECT = (
    "SELECT m.id, m.chat_id, m.kind, m.body, m.reply_to, m.document_id, m.created_at,"
    " m.edited_at, m.deleted_at, m.author_id, au.email AS author_email"
    " FROM chat_messages m LEFT JOIN users au ON au.id = m.author_id"
)


def message_text(text: str, field: str = "TEXT") -> str:
    """A message as stored: lines and tabs kept, no other control character,
    1 to 10,000 characters once trimmed."""
    body = long_text(text or "", field)
    if not body:
        raise InvalidData(field, _("the message is empty"))
    if len(body) > MAX_LENGTH:
        raise InvalidData(
            field,
            ngettext(
                "longer than {limit} characters ({length})",
                "longer than {limit} characters ({length})",
                MAX_LENGTH,
            ).format(limit=number(MAX_LENGTH, 0), length=number(len(body), 0)),
        )
    return body


def author_of(row: sqlite3.Row) -> str | None:
    """The author as readers see them: an e-mail, "utente rimosso" for an erased
    person, None for the chat's own notes (events)."""
    if row["kind"] == "event":
        return None
    email = row["author_email"]
    if email is None or is_erased_email(email):
        return ERASED_PERSON
    return str(email)


class Attachments:
    """Each reader's view of the documents messages link, asked of documents/ once
    per document: its name if they may read it, else only that it is not available."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor) -> None:
        self._db, self._clock, self._actor = db, clock, actor
        self._seen: dict[int, dict] = {}

    def view(self, document_id: int | None) -> dict | None:
        if document_id is None:
            return None
        if document_id not in self._seen:
            # Imported for a page that links a document: most pages link none.
            from sempi_cli.services.documents.documents import DocumentService

            try:
                doc = DocumentService(self._db, self._clock, self._actor).show(document_id)
                view = {"available": True, "document_id": doc["id"], "name": doc["name"]}
                view["removed"] = doc["removed_at"] is not None
            except NotFound:
                view = {"available": False, "document_id": None, "name": None, "removed": None}
            self._seen[document_id] = view
        return self._seen[document_id]


def records(rows: Iterable[sqlite3.Row], attachments: Attachments) -> list[dict]:
    """Messages as every command shows them (JSON keys are a contract)."""
    return [
        {
            "id": r["id"],
            "chat_id": r["chat_id"],
            "created_at": r["created_at"],
            "author": author_of(r),
            "kind": r["kind"],
            "text": DELETED_TEXT if r["deleted_at"] is not None else r["body"],
            "reply_to": r["reply_to"],
            "attachment": None if r["deleted_at"] else attachments.view(r["document_id"]),
            "edited": r["edited_at"] is not None,
            "edited_at": r["edited_at"],
            "deleted": r["deleted_at"] is not None,
            "deleted_at": r["deleted_at"],
        }
        for r in rows
    ]


class MessageService(Service):
    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor | None = None) -> None:
        super().__init__(db, clock, actor)
        self.inbox = NotificationService(db, clock, actor)

    # --- finding -------------------------------------------------------------------------

    def _message(self, message_id: int) -> sqlite3.Row:
        """A message the actor may read (its chat readable, from their sees_from on)."""
        where, params = readable_chats(self.actor)
        row = self.db.execute(
            f"{SELECT} JOIN chats ch ON ch.id = m.chat_id"
            f" WHERE m.id = :message AND {where} AND m.id >= {chat_sees_from_sql()}",
            {**params, "message": message_id},
        ).fetchone()
        if row is None:
            raise NotFound(_("message {id} not found").format(id=message_id))
        return row

    def _in_chat(self, chat: Mapping, message_id: int, field: str) -> None:
        """Refuse (bad input, the same words whether it exists elsewhere or not) a
        message that is not one of ``chat``'s the actor reads."""
        row = self.db.execute(
            "SELECT 1 FROM chat_messages WHERE id = ? AND chat_id = ? AND id >= ?",
            (message_id, chat["id"], chat["sees_from"]),
        ).fetchone()
        if row is None:
            raise InvalidData(
                field,
                _("message {id} is not a message of chat {chat}").format(
                    id=message_id, chat=chat["id"]
                ),
            )

    def _records(self, rows: Iterable[sqlite3.Row]) -> list[dict]:
        return records(rows, Attachments(self.db, self.clock, self.actor))

    # --- sending -------------------------------------------------------------------------

    def send(
        self, chat_ref: str, text: str, *, reply_to: int | None = None, attach: int | None = None
    ) -> dict:
        """Post a message; the chat's people are notified, and the sender has read
        the chat up to it."""
        body = message_text(text)
        with self.transaction():
            chat = dict(find_chat(self.db, self.actor, chat_ref))
            refusal = post_refusal(self.actor, chat)
            if refusal is not None:
                raise RuleViolation(refusal)
            if reply_to is not None:
                self._in_chat(chat, reply_to, "--reply-to")
            if attach is not None:
                self._attachable(chat, attach)
            mentioned = mentions.resolve(self.db, chat, body)
            now = self.now()
            with indexed_writes(self.db):
                message_id = int(
                    self.db.execute(
                        "INSERT INTO chat_messages"
                        " (chat_id, author_id, kind, body, reply_to, document_id, created_at)"
                        " VALUES (?, ?, 'text', ?, ?, ?, ?) RETURNING id",
                        (chat["id"], self.actor.id, body, reply_to, attach, now),
                    ).fetchone()[0]
                )
            self.db.execute(
                "UPDATE chats SET last_message_id = ?, last_message_at = ? WHERE id = ?",
                (message_id, now, chat["id"]),
            )
            self._mark_read(chat["id"], message_id)
            named = mentions.notify_mentioned(self.inbox, chat, message_id, mentioned)
            mentions.notify_members(self.inbox, chat, skip=named)
            mentions.record_mentioned(self.db, self.clock, self.actor, chat, message_id, named)
            return self._records([self._message(message_id)])[0]

    def _attachable(self, chat: Mapping, document_id: int) -> None:
        """A document of the work group's client that the sender may read."""
        from sempi_cli.services.documents.documents import DocumentService

        if chat["kind"] != "group":
            raise InvalidData(
                "--attach", _("documents can be attached only in a client's work-group chat")
            )
        refused = InvalidData(
            "--attach",
            _("document {id} is not a document of this chat's client").format(id=document_id),
        )
        try:
            doc = DocumentService(self.db, self.clock, self.actor).show(document_id)
        except NotFound:
            raise refused from None
        if doc["client_id"] != chat["client_id"]:
            raise refused
        if doc["removed_at"] is not None:
            raise RuleViolation(_("document {id} was removed").format(id=document_id))

    def _mark_read(self, chat_id: int, message_id: int) -> None:
        """The actor has read ``chat_id`` up to ``message_id`` (a mark never goes back)."""
        self.db.execute(
            "INSERT INTO chat_marks (chat_id, user_id, read_up_to) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id, user_id) DO UPDATE SET read_up_to = excluded.read_up_to"
            " WHERE chat_marks.read_up_to < excluded.read_up_to",
            (chat_id, self.actor.id, message_id),
        )

    # --- reading -------------------------------------------------------------------------

    def show(
        self,
        chat_ref: str,
        *,
        limit: int = DEFAULT_PAGE,
        before: int | None = None,
        after: int | None = None,
        since: str | None = None,
    ) -> list[dict]:
        """A page of a chat's history, oldest first. With --after or --since the page
        starts there (the next ones forward); otherwise it ends at the newest message
        (or just before --before). Showing marks the chat read up to the last one."""
        if limit < 1:
            raise InvalidData("--limit", _("must be at least 1"))
        chat = dict(find_chat(self.db, self.actor, chat_ref))
        clauses = ["m.chat_id = :chat", "m.id >= :sees_from"]
        params: dict[str, object] = {"chat": chat["id"], "sees_from": chat["sees_from"]}
        for field, value, clause in (
            ("--before", before, "m.id < :before"),
            ("--after", after, "m.id > :after"),
        ):
            if value is not None:
                self._in_chat(chat, value, field)
                clauses.append(clause)
                params[field[2:]] = value
        if since is not None:
            from sempi_cli.clock import iso_utc
            from sempi_cli.timeparse import parse_datetime

            params["since"] = iso_utc(parse_datetime(since, self.clock.now(), field="--since"))
            clauses.append("m.created_at >= :since")
        forward = after is not None or since is not None
        page = (
            f"{SELECT} WHERE {' AND '.join(clauses)}"
            f" ORDER BY m.id {'ASC' if forward else 'DESC'} LIMIT :limit"
        )
        rows = self.db.execute(page, {**params, "limit": limit}).fetchall()
        rows.sort(key=lambda r: r["id"])
        shown = self._records(rows)
        # The mark is written after the reads, in its own short transaction: it only
        # ever moves forward, so a message sent meanwhile is not marked unseen.
        if rows:
            self._read_up_to(chat, rows[-1]["id"])
        return shown

    def _read_up_to(self, chat: Mapping, message_id: int) -> None:
        """Move the actor's mark (only forward, so a page of old messages writes
        nothing); once it reaches the newest message, the chat's ``message``
        notifications are read too."""
        mark = self.db.execute(
            "SELECT read_up_to FROM chat_marks WHERE chat_id = ? AND user_id = ?",
            (chat["id"], self.actor.id),
        ).fetchone()
        if mark is not None and mark[0] >= message_id:
            return
        with self.transaction():
            self._mark_read(chat["id"], message_id)
            newest = self.db.execute(
                "SELECT last_message_id FROM chats WHERE id = ?", (chat["id"],)
            ).fetchone()[0]
            if newest is None or message_id < newest:
                return
            unread = [
                r[0]
                for r in self.db.execute(
                    "SELECT id FROM notifications WHERE user_id = ? AND chat_id = ?"
                    " AND kind = 'message' AND read_at IS NULL",
                    (self.actor.id, chat["id"]),
                )
            ]
            if unread:
                self.inbox.read(unread)

    # --- changing ------------------------------------------------------------------------

    def _own(self, message_id: int, verb: str, *, admin_may: bool = False) -> sqlite3.Row:
        """The actor's own message to change (``verb``: "edited" or "deleted")."""
        row = self._message(message_id)
        if row["kind"] == "event":
            note = (
                _("message {id} is a note of the chat: it cannot be edited")
                if verb == "edited"
                else _("message {id} is a note of the chat: it cannot be deleted")
            )
            raise RuleViolation(note.format(id=message_id))
        if row["deleted_at"] is not None:
            raise RuleViolation(_("message {id} was deleted").format(id=message_id))
        if row["author_id"] != self.actor.id and not (admin_may and self.actor.is_firm_admin):
            raise PermissionDenied(
                _("only the author may change message {id}").format(id=message_id)
            )
        return row

    def _keep_version(self, row: sqlite3.Row) -> int:
        version = self.db.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM chat_message_versions WHERE message_id = ?",
            (row["id"],),
        ).fetchone()[0]
        self.db.execute(
            "INSERT INTO chat_message_versions (message_id, version, body, replaced_at, replaced_by)"
            " VALUES (?, ?, ?, ?, ?)",
            (row["id"], version, row["body"], self.now(), self.actor.id),
        )
        return int(version)

    def edit(self, message_id: int, text: str) -> dict:
        """Change the text of one's own message; the earlier text is kept for
        administrators. People it newly mentions are notified."""
        body = message_text(text)
        with self.transaction():
            row = self._own(message_id, "edited")
            chat = dict(chat_row(self.db, self.actor, row["chat_id"]))
            refusal = post_refusal(self.actor, chat)
            if refusal is not None:
                raise RuleViolation(refusal)
            mentioned = mentions.resolve(self.db, chat, body)
            if body != row["body"]:
                version = self._keep_version(row)
                with indexed_writes(self.db):
                    self.db.execute(
                        "UPDATE chat_messages SET body = ?, edited_at = ? WHERE id = ?",
                        (body, self.now(), message_id),
                    )
                self.audit(
                    "chat_message_edited", "chat_message", message_id, chat_id=chat["id"],
                    version=version, old_length=len(row["body"]), new_length=len(body),
                )  # fmt: skip
                named = mentions.notify_mentioned(self.inbox, chat, message_id, mentioned)
                # Only the people the new text names and the old one did not.
                before = mentions.resolve(self.db, chat, row["body"], strict=False)
                newly = sorted(set(named) - set(before.values()))
                mentions.record_mentioned(self.db, self.clock, self.actor, chat, message_id, newly)
            return self._records([self._message(message_id)])[0]

    def delete(self, message_id: int, *, dry_run: bool = False) -> dict:
        """Delete one's own message (firm administrators: any they can read); it shows
        as deleted, its text stays only in the versions administrators read. A dry
        run makes the same checks and shows the result, then undoes it."""
        result: dict = {}
        with self.rehearsal(dry_run):
            row = self._own(message_id, "deleted", admin_may=True)
            version = self._keep_version(row)
            with indexed_writes(self.db):
                self.db.execute(
                    "UPDATE chat_messages SET body = '', deleted_at = ? WHERE id = ?",
                    (self.now(), message_id),
                )
            self.audit(
                "chat_message_deleted", "chat_message", message_id, chat_id=row["chat_id"],
                version=version, length=len(row["body"]), own=row["author_id"] == self.actor.id,
            )  # fmt: skip
            result = self._records([self._message(message_id)])[0]
        return result

    def history(self, message_id: int) -> list[dict]:
        """Every text a message has had, oldest first, the current one last (firm
        administrators, for messages they can read)."""
        row = self._message(message_id)
        if not self.actor.is_firm_admin:
            raise PermissionDenied(
                _("only a firm administrator may read a message's earlier texts")
            )
        versions = [
            {
                "version": v["version"],
                "text": v["body"],
                "until": v["replaced_at"],
                "replaced_by": v["email"],
            }
            for v in self.db.execute(
                "SELECT v.version, v.body, v.replaced_at, u.email FROM chat_message_versions v"
                " LEFT JOIN users u ON u.id = v.replaced_by WHERE v.message_id = ? ORDER BY v.version",
                (message_id,),
            )
        ]
        current = {
            "version": len(versions) + 1,
            "text": DELETED_TEXT if row["deleted_at"] is not None else row["body"],
            "until": None,
            "replaced_by": None,
        }
        return [*versions, current]
