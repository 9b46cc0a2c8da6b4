"""The per-user inbox: notifications other services deliver, read by their owner only.

The reminder job, the timer, the chat (new messages, mentions, invitations),
tasks (services/notify/task_events.py), work groups (an event:
services/notify/subscribers.py) and documents (read receipts) feed it by
calling ``notify``. This module owns the ``notifications`` table.

Every notification is keyed by its ``source`` (UNIQUE, e.g. ``reminder:42``):
the service that delivers an event names it, so delivering the same event twice
(a re-run, two cron jobs at once) makes one notification.

Each person chooses per kind how it reaches them (services/notify/prefs.py):
``inbox`` (the default), ``email``, ``both`` or ``off``. ``off`` stores
nothing. ``email`` and ``both`` add it to the person's e-mail digest
(services/notify/digest.py) and set ``emailed_at``; ``email`` stores it as
read at that moment (``read_at = emailed_at``): it never counts as unread nor
shows under ``--unread``, while ``notify list`` keeps it as the record of what
was mailed (and its source keeps a re-run from mailing it twice).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import time

from sempi_cli.errors import InvalidData, NotFound, UsageProblem
from sempi_cli.i18n import N_, Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, language
from sempi_cli.services.base import Service
from sempi_cli.services.notify.kinds import DEFAULT_CHANNEL, KINDS, check_kind
from sempi_cli.store.sql import in_marks

__all__ = ["KINDS", "NotificationService"]

COLUMNS = ("id", "created_at", "kind", "task_id", "text", "read")
# Shown instead of the text of a notification about a chat its person may no
# longer read (they left it, or lost the work group it belongs to), in the
# reader's language.
HIDDEN_TEXT = N_("(a chat you no longer have access to)")
HIDDEN_TASK_TEXT = N_("(a task you no longer have access to)")


def _like(text: str) -> str:
    """A LIKE pattern that finds ``text`` literally (``%`` and ``_`` are not wildcards)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _digest():
    """The e-mail digest, imported when a notification is mailed: it brings the
    outbox, which every command delivering a notification would pay for at start."""
    from sempi_cli.services.notify import digest

    return digest


def channel_of(db: sqlite3.Connection, user_id: int, kind: str) -> str:
    """How notifications of ``kind`` reach ``user_id`` (their preference, else the inbox)."""
    row = db.execute(
        "SELECT channel FROM notification_prefs WHERE user_id = ? AND kind = ?", (user_id, kind)
    ).fetchone()
    return str(row[0]) if row else DEFAULT_CHANNEL


class NotificationService(Service):
    # --- delivering (other services) ----------------------------------------------

    def notify(
        self,
        user_id: int,
        kind: str,
        text: str | Text,
        source: str,
        task_id: int | None = None,
        chat_id: int | None = None,
    ) -> int | None:
        """Deliver a notification to ``user_id`` by the channel they chose for its
        kind; the new id, or None when ``source`` was delivered before or the person
        turned the kind off (nothing changes then). A ``Text`` is written in the
        recipient's language (services/language.py), whoever caused it.

        Called by services that already decided the user may know of the event;
        it joins the caller's transaction when there is one.
        """
        check_kind(kind, "kind")
        if isinstance(text, Text):
            text = text.said_in(language.preferred(self.db, user_id))
        if not (text or "").strip():
            raise InvalidData("text", _("the notification is empty"))
        if not (source or "").strip():
            raise InvalidData("source", _("a notification needs a source (what it is about)"))
        with self.transaction():
            channel = channel_of(self.db, user_id, kind)
            if channel == "off":
                return None
            now = self.now()
            inserted = self.db.execute(
                "INSERT INTO notifications (user_id, kind, task_id, chat_id, text, source, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source) DO NOTHING RETURNING id",
                (user_id, kind, task_id, chat_id, text.strip(), source.strip(), now),
            ).fetchone()
            if inserted is None:
                return None
            notification_id = inserted[0]
            if channel in ("email", "both") and _digest().queue(
                self.db, self.clock, self._actor, user_id, notification_id, kind, text.strip()
            ):
                self.db.execute(
                    "UPDATE notifications SET emailed_at = :now,"
                    " read_at = CASE WHEN :email_only = 1 THEN :now END WHERE id = :id",
                    {"now": now, "email_only": int(channel == "email"), "id": notification_id},
                )
        return notification_id

    # --- the actor's own inbox -------------------------------------------------------

    def list(
        self,
        *,
        unread_only: bool = False,
        kinds: Sequence[str] = (),
        text: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        limit: int | None = None,
        kind: str | None = None,
        since: str | None = None,
        search: str | None = None,
    ) -> list[dict]:
        """The actor's notifications, newest first; never anyone else's. The text of
        one about a chat or a task the actor may no longer read is not shown (nor
        searched).

        ``kind``, ``since`` and ``search`` are the older names of ``kinds``,
        ``date_from`` and ``text`` (`notify list --since/--search`): an error names
        the option as it was typed."""
        me = self.actor
        readable, params = access.readable_chats(me, "ch")
        tasks, task_params = access.visible_tasks(me, "vt")
        shown = (
            "CASE WHEN n.chat_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM chats ch"
            f" WHERE ch.id = n.chat_id AND {readable}) THEN :hidden"
            " WHEN n.task_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks vt"
            f" WHERE vt.id = n.task_id AND {tasks}) THEN :hidden_task ELSE n.text END"
        )
        params = {
            **params, **task_params, "actor_id": me.id,
            "hidden": _(HIDDEN_TEXT), "hidden_task": _(HIDDEN_TASK_TEXT),
        }  # fmt: skip
        clauses = ["n.user_id = :actor_id"]
        if unread_only:
            clauses.append("n.read_at IS NULL")
        wanted = [check_kind(k, "--kind") for k in (*kinds, *([kind] if kind else []))]
        if wanted:
            marks = ", ".join(f":kind{i}" for i in range(len(wanted)))
            clauses.append(f"n.kind IN ({marks})")
            params.update({f"kind{i}": k for i, k in enumerate(wanted)})
        start = self._bound(date_from, "--from", since, "--since", end=False)
        end = self._bound(date_to, "--to", None, "", end=True)
        if start is not None and end is not None and end < start:
            raise InvalidData("--to", _("is before --from"))
        if start is not None:
            clauses.append("n.created_at >= :start")
            params["start"] = start
        if end is not None:
            clauses.append("n.created_at <= :end")
            params["end"] = end
        if text is not None and search is not None:
            raise UsageProblem(_("--text and --search are one option: give one of them"))
        for i, word in enumerate((text if text is not None else search or "").split()):
            clauses.append(f"lower({shown}) LIKE :word{i} ESCAPE '\\'")
            params[f"word{i}"] = _like(word)
        sql = (
            f"SELECT n.id, n.created_at, n.kind, n.task_id, n.chat_id, {shown} AS text,"
            f" n.read_at, n.emailed_at FROM notifications n WHERE {' AND '.join(clauses)}"
            " ORDER BY n.id DESC"
        )
        if limit is not None:
            if limit < 1:
                raise InvalidData("--limit", _("must be at least 1"))
            sql += " LIMIT :limit"
            params["limit"] = limit
        return [{**dict(r), "read": r["read_at"] is not None} for r in self.db.execute(sql, params)]

    def _bound(
        self, value: str | None, field: str, alias: str | None, alias_field: str, *, end: bool
    ) -> str | None:
        """A --from/--to bound in storage form. A day alone means its first instant
        (--from) or its last second (--to: the whole day is included); a time typed
        is taken as it is."""
        if value is not None and alias is not None:
            raise UsageProblem(
                _("{option} and {alias} are one option: give one of them").format(
                    option=field, alias=alias_field
                )
            )
        if alias is not None:
            value, field = alias, alias_field
        if value is None:
            return None
        from sempi_cli.clock import iso_utc
        from sempi_cli.timeparse import parse_datetime  # only for a bound given

        at = parse_datetime(
            value, self.clock.now(), field=field, default_time=time(23, 59, 59) if end else time(0)
        )
        return iso_utc(at)

    def unread_count(self) -> int:
        return int(
            self.db.execute(
                "SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
                (self.actor.id,),
            ).fetchone()[0]
        )

    def read(self, ids: Iterable[int] = (), *, all_unread: bool = False) -> dict:
        """Mark the actor's notifications read: the given ids, or every unread one.

        All or nothing: an id that is not the actor's is "not found" (whether or
        not it exists) and nothing is marked. Marking a read one again keeps the
        time it was first read.
        """
        wanted = sorted(set(ids))
        if all_unread and wanted:
            raise UsageProblem(_("give notification ids or --all, not both"))
        if not all_unread and not wanted:
            raise UsageProblem(_("which notifications? Give their ids, or --all"))
        me = self.actor.id
        with self.transaction():
            if all_unread:
                marked = self.db.execute(
                    "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
                    (self.now(), me),
                ).rowcount
            else:
                marks = self._mine(wanted)
                marked = self.db.execute(
                    f"UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL"
                    f" AND id IN ({marks})",
                    (self.now(), me, *wanted),
                ).rowcount
        return {"marked_read": marked, "unread": self.unread_count()}

    def unread(self, ids: Iterable[int]) -> dict:
        """Mark the actor's notifications unread again (to come back to them), all or
        nothing, as ``read``; one already unread stays as it is."""
        wanted = sorted(set(ids))
        if not wanted:
            raise UsageProblem(_("which notifications? Give their ids"))
        with self.transaction():
            marks = self._mine(wanted)
            marked = self.db.execute(
                "UPDATE notifications SET read_at = NULL WHERE user_id = ? AND read_at IS NOT NULL"
                f" AND id IN ({marks})",
                (self.actor.id, *wanted),
            ).rowcount
        return {"marked_unread": marked, "unread": self.unread_count()}

    def _mine(self, wanted: Sequence[int]) -> str:
        """The SQL placeholders for ``wanted``, once every id is the actor's; the first
        that is not is "not found", whether or not it exists."""
        marks = in_marks(wanted)
        mine = {
            r[0]
            for r in self.db.execute(
                f"SELECT id FROM notifications WHERE user_id = ? AND id IN ({marks})",
                (self.actor.id, *wanted),
            )
        }
        missing = [i for i in wanted if i not in mine]
        if missing:
            raise NotFound(
                _("notification {id} not found").format(id=missing[0]),
                _("see your notifications with 'sempi notify list'"),
            )
        return marks


def erase_person(db: sqlite3.Connection, user_id: int, names: Sequence[str]) -> None:
    """A person's GDPR erasure (privacy/ calls it, in its transaction): their inbox
    and preferences go, and in everyone else's notifications their *names*
    (full name, e-mail) become ``accounts.ERASED_PERSON``."""
    from sempi_cli.services.identity.accounts import ERASED_PERSON

    db.execute("DELETE FROM notifications WHERE user_id = ?", (user_id,))
    db.execute("DELETE FROM notification_prefs WHERE user_id = ?", (user_id,))
    for name in sorted((n for n in names if n), key=len, reverse=True):
        rows = db.execute(
            "SELECT id, text FROM notifications WHERE lower(text) LIKE ? ESCAPE '\\'",
            (_like(name),),
        ).fetchall()
        db.executemany(
            "UPDATE notifications SET text = ? WHERE id = ?",
            [(r["text"].replace(name, ERASED_PERSON), r["id"]) for r in rows if name in r["text"]],
        )
