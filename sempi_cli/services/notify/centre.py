"""The per-user inbox: notifications other services deliver, read by their owner only.

The reminder job, the timer, the chat (new messages, mentions), tasks,
invitations and documents feed it (SPEC §5, the notification centre) by
calling ``notify``. This module owns the ``notifications`` table.

Every notification is keyed by its ``source`` (UNIQUE, e.g. ``reminder:42``):
the service that delivers an event names it, so delivering the same event twice
(a re-run, two cron jobs at once) makes one notification.
"""

from __future__ import annotations

from collections.abc import Iterable

from sempi_cli.errors import InvalidData, NotFound, UsageProblem
from sempi_cli.services.base import Service

# What a notification is about. Free text in the store, checked here; "deadline",
# "consent" and "coupon" are delivered by the issues that build those domains.
KINDS: tuple[str, ...] = (
    "message", "mention", "task", "invitation", "document", "reminder", "timer",
    "deadline", "consent", "coupon",
)  # fmt: skip
COLUMNS = ("id", "created_at", "kind", "task_id", "text", "read")


def _like(text: str) -> str:
    """A LIKE pattern that finds ``text`` literally (``%`` and ``_`` are not wildcards)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class NotificationService(Service):
    # --- delivering (other services) ----------------------------------------------

    def notify(
        self,
        user_id: int,
        kind: str,
        text: str,
        source: str,
        task_id: int | None = None,
        chat_id: int | None = None,
    ) -> int | None:
        """Put a notification in ``user_id``'s inbox; the new id, or None when
        ``source`` was delivered before (nothing changes then).

        Called by services that already decided the user may know of the event;
        it joins the caller's transaction when there is one.
        """
        if kind not in KINDS:
            raise InvalidData("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        if not (text or "").strip():
            raise InvalidData("text", "the notification is empty")
        if not (source or "").strip():
            raise InvalidData("source", "a notification needs a source (what it is about)")
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO notifications (user_id, kind, task_id, chat_id, text, source, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source) DO NOTHING",
                (user_id, kind, task_id, chat_id, text.strip(), source.strip(), self.now()),
            )
        if not cursor.rowcount:
            return None
        assert cursor.lastrowid is not None  # set by the INSERT that took place
        return int(cursor.lastrowid)

    # --- the actor's own inbox -------------------------------------------------------

    def list(
        self,
        *,
        unread_only: bool = False,
        kind: str | None = None,
        since: str | None = None,
        search: str | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """The actor's notifications, newest first; never anyone else's."""
        clauses = ["n.user_id = :me"]
        params: dict[str, int | str] = {"me": self.actor.id}
        if unread_only:
            clauses.append("n.read_at IS NULL")
        if kind is not None:
            if kind not in KINDS:
                raise InvalidData("--kind", f"{kind!r} is not one of {', '.join(KINDS)}")
            clauses.append("n.kind = :kind")
            params["kind"] = kind
        if since is not None:
            from sempi_cli.clock import iso_utc
            from sempi_cli.timeparse import parse_datetime

            params["since"] = iso_utc(parse_datetime(since, self.clock.now(), field="--since"))
            clauses.append("n.created_at >= :since")
        if search is not None and search.strip():
            clauses.append("n.text LIKE :search ESCAPE '\\'")
            params["search"] = _like(search.strip())
        sql = (
            "SELECT n.id, n.created_at, n.kind, n.task_id, n.text, n.read_at FROM notifications n"
            f" WHERE {' AND '.join(clauses)} ORDER BY n.id DESC"
        )
        if limit is not None:
            if limit < 1:
                raise InvalidData("--limit", "must be at least 1")
            sql += " LIMIT :limit"
            params["limit"] = limit
        return [{**dict(r), "read": r["read_at"] is not None} for r in self.db.execute(sql, params)]

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
            raise UsageProblem("give notification ids or --all, not both")
        if not all_unread and not wanted:
            raise UsageProblem("which notifications? Give their ids, or --all")
        me = self.actor.id
        with self.transaction():
            if all_unread:
                marked = self.db.execute(
                    "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
                    (self.now(), me),
                ).rowcount
            else:
                marks = ", ".join("?" * len(wanted))
                mine = {
                    r[0]
                    for r in self.db.execute(
                        f"SELECT id FROM notifications WHERE user_id = ? AND id IN ({marks})",
                        (me, *wanted),
                    )
                }
                missing = [i for i in wanted if i not in mine]
                if missing:
                    raise NotFound(
                        f"notification {missing[0]} not found",
                        "see your notifications with 'sempi notify list'",
                    )
                marked = self.db.execute(
                    f"UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL"
                    f" AND id IN ({marks})",
                    (self.now(), me, *wanted),
                ).rowcount
        return {"marked_read": marked, "unread": self.unread_count()}
