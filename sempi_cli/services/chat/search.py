"""`chat search`: the messages the actor may read that match what they typed.

The access rule is the query's filter, not a step after it: readable chats
(access.readable_chats), from the actor's ``sees_from`` in each (history hidden from
an invitee stays hidden here too), not deleted. The text goes to
store/search.py, the one place that knows the engine: ranking (bm25), the
query language (words, "phrases", prefix*, OR) and where the words matched.
"""

from __future__ import annotations

import sqlite3

from sempi_cli.clock import iso_utc
from sempi_cli.errors import InvalidData, NotFound
from sempi_cli.i18n import gettext as _
from sempi_cli.services.access import readable_chats
from sempi_cli.services.base import Service
from sempi_cli.services.chat.messages import author_of
from sempi_cli.services.chat.rooms import find_chat
from sempi_cli.store.search import indexed_writes, search
from sempi_cli.store.sql import in_marks
from sempi_cli.store.transaction import engine


def optimize_index(db: sqlite3.Connection) -> None:
    """Merge the index into one segment, dropping what deleted and edited texts
    left behind. FTS5 (SQLite 3.40) has no secure-delete: a deleted text's words
    stay in the index's older segments until a merge; after this (and a
    checkpoint, with ``secure_delete`` on) no byte of them is left in the file.
    It rewrites the whole index, so it is for an erasure or maintenance, never
    for each deletion. Here, not in store/search.py: chat/ is the one writer of
    its index (tests/test_table_owners.py)."""
    if engine(db) == "postgresql":
        # PostgreSQL's index drops a deleted row's words with the row's old version,
        # at the table's next vacuum (autovacuum; or VACUUM chat_messages, outside a
        # transaction): docs/deployment.md.
        return
    with indexed_writes(db):
        db.execute("INSERT INTO chat_search (chat_search) VALUES ('optimize')")


DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
COLUMNS = ("id", "chat_id", "chat", "created_at", "author", "text", "matches")


class ChatSearchService(Service):
    def search(
        self,
        text: str,
        *,
        chat: str | None = None,
        author: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[dict]:
        """The best matches first; ``matches`` holds where the words matched in
        ``text`` ([start, end) character offsets) for highlighting."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidData("--limit", _("must be between 1 and {most}").format(most=MAX_LIMIT))
        where, params = readable_chats(self.actor)
        # The readable chats once (one list, not a check per match), then the rare
        # member who reads a chat only from their sees_from: one key lookup per match.
        clauses = [
            f"m.chat_id IN (SELECT ch.id FROM chats ch WHERE {where})",
            "NOT EXISTS (SELECT 1 FROM chat_members cm WHERE cm.chat_id = m.chat_id"
            " AND cm.user_id = :actor_id AND cm.sees_from > m.id)",
            "m.deleted_at IS NULL",
        ]
        if chat is not None:
            params["only_chat"] = find_chat(self.db, self.actor, chat)["id"]
            clauses.append("m.chat_id = :only_chat")
        if author is not None:
            params["only_author"] = self._author(author)
            clauses.append("m.author_id = :only_author")
        clauses.extend(self._period(date_from, date_to, params))
        found = search(
            self.db,
            index="chat_search",
            source="chat_messages m",
            key="m.id",
            where=" AND ".join(clauses),
            params=params,
            text=text,
            limit=limit,
        )
        if not found:
            return []
        marks = in_marks(found)
        rows = {
            r["id"]: r
            for r in self.db.execute(
                "SELECT m.id, m.chat_id, ch.title, m.kind, m.body, m.created_at, au.email AS author_email"
                " FROM chat_messages m JOIN chats ch ON ch.id = m.chat_id"
                f" LEFT JOIN users au ON au.id = m.author_id WHERE m.id IN ({marks})",
                [f.key for f in found],
            )
        }
        return [
            {
                "id": f.key,
                "chat_id": rows[f.key]["chat_id"],
                "chat": rows[f.key]["title"],
                "created_at": rows[f.key]["created_at"],
                "author": author_of(rows[f.key]),
                "text": rows[f.key]["body"],
                "matches": [list(span) for span in f.spans],
            }
            for f in found
            if f.key in rows
        ]

    def _author(self, ref: str) -> int:
        """A person the actor may see (the directory's rule); anyone else is bad input."""
        from sempi_cli.services.identity.accounts import find_user

        try:
            return int(find_user(self.db, self.actor, ref)["id"])
        except NotFound:
            raise InvalidData(
                "--author", _("no user {user}").format(user=repr(ref.strip()))
            ) from None

    def _period(self, first: str | None, last: str | None, params: dict) -> list[str]:
        """Whole days in Rome: --from's first instant to the end of --to's day."""
        from sempi_cli.timeparse import day_start, parse_date

        now, clauses = self.clock.now(), []
        if first is not None:
            day = parse_date(first, now, field="--from")
            params["from_at"] = iso_utc(day_start(day, field="--from"))
            clauses.append("m.created_at >= :from_at")
        if last is not None:
            day = parse_date(last, now, field="--to")
            params["to_at"] = iso_utc(day_start(day, field="--to", days_later=1))
            clauses.append("m.created_at < :to_at")
        if first is not None and last is not None and params["from_at"] >= params["to_at"]:
            raise InvalidData("--to", _("is before --from"))
        return clauses
