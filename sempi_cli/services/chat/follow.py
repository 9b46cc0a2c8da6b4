"""`chat follow`: new messages as they arrive, by polling the store (no server).

Each poll is one short read (autocommit: no transaction, no lock held between
polls, writers never wait for a follower) of the messages after the last one
seen, asking rooms.py again every time: a person who loses access to the chat
they follow gets NotFound at the next poll, and ``--all`` follows whichever
chats they read at that moment. Message ids grow in commit order (SQLite has
one writer at a time and messages are never removed), so "after the last id
seen" misses nothing and repeats nothing. Following does not mark the chat
read: ``chat show`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sempi_cli.services.access import chat_sees_from_sql, readable_chats
from sempi_cli.services.base import Service
from sempi_cli.services.chat.messages import SELECT, Attachments, records
from sempi_cli.services.chat.rooms import chat_row, find_chat

BATCH = 200  # messages per poll; a backlog larger than this is read in several polls


class FollowService(Service):
    def start(self, chat_ref: str | None) -> tuple[int | None, int]:
        """The chat to follow (None: every chat the actor reads) and the newest
        message id now: following prints what comes after it."""
        chat_id = None if chat_ref is None else int(find_chat(self.db, self.actor, chat_ref)["id"])
        newest = self.db.execute("SELECT coalesce(max(id), 0) FROM chat_messages").fetchone()[0]
        return chat_id, int(newest)

    def new_messages(self, chat_id: int | None, after: int, limit: int = BATCH) -> list[dict]:
        """The messages after ``after`` the actor reads now, oldest first; NotFound
        when ``chat_id`` is no longer theirs to read."""
        where, params = readable_chats(self.actor)
        clauses = ["m.id > :after", where, f"m.id >= {chat_sees_from_sql()}"]
        if chat_id is not None:
            chat_row(self.db, self.actor, chat_id)
            clauses.append("m.chat_id = :chat")
            params["chat"] = chat_id
        rows = self.db.execute(
            f"{SELECT} JOIN chats ch ON ch.id = m.chat_id WHERE {' AND '.join(clauses)}"
            " ORDER BY m.id LIMIT :limit",
            {**params, "after": after, "limit": limit},
        ).fetchall()
        return records(rows, Attachments(self.db, self.clock, self.actor))

    def follow(
        self,
        chat_id: int | None,
        after: int,
        *,
        wait: Callable[[float], bool],
        interval: float = 0.5,
    ) -> Iterator[dict]:
        """Every new message after ``after``, as it arrives; between polls
        ``wait(interval)`` sleeps and says whether to stop (a signal arrived)."""
        while True:
            batch = self.new_messages(chat_id, after)
            for message in batch:
                after = message["id"]
                yield message
            # A full batch means more are waiting: poll again at once (a signal still
            # stops it: wait(0) says whether one came).
            if wait(interval if len(batch) < BATCH else 0):
                return
