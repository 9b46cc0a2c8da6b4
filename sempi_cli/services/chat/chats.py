"""The chats themselves: making public and private ones, their titles, topics and
posting policy, what `chat info` and `chat list` show, muting.

Who may read which chat is rooms.py's one rule; who is in a public or private
chat is membership.py's (composed here). A chat the actor may not read does not
exist for them: every method finds it through rooms and gets NotFound.
"""

from __future__ import annotations

import builtins
import random
import sqlite3
from collections.abc import Sequence

from sempi_cli.clock import Clock
from sempi_cli.errors import Conflict, InvalidData, PermissionDenied, RuleViolation, UsageProblem
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.chat import listing, rooms
from sempi_cli.services.chat.membership import Choose, Membership
from sempi_cli.services.text import long_text, one_line
from sempi_cli.store.sql import in_marks

MAX_TITLE = 120
MAX_TOPIC = 10_000
POST_POLICIES = ("everyone", "admins")


def chat_title(text: str | None, field: str) -> str:
    """A title shown on one line in `chat list`, and one that `find_chat` can find:
    not digits alone (an id), not the general chat's names, not ``client:``."""
    title = one_line(text or "", field, MAX_TITLE)
    if not title:
        raise InvalidData(field, _("is empty"), _("give the chat a title"))
    if title.isdigit():
        raise InvalidData(field, _("digits alone would read as a chat's id"))
    if title.lower() in rooms.GENERAL_NAMES:
        raise InvalidData(field, _("{title} names the general chat").format(title=repr(title)))
    if title.lower().startswith("client:"):
        raise InvalidData(field, _("'client:' names a work group's chat"))
    return title


def chat_topic(text: str, field: str) -> str:
    """A description or topic: several lines, tabs, no other control character."""
    topic = long_text(text, field)
    if len(topic) > MAX_TOPIC:
        raise InvalidData(
            field,
            ngettext(
                "longer than {limit} characters ({length})",
                "longer than {limit} characters ({length})",
                MAX_TOPIC,
            ).format(limit=MAX_TOPIC, length=len(topic)),
        )
    return topic


class ChatService(Service):
    """``choose`` draws the next owner when a private chat's owner leaves: the system's
    random source unless a caller (a test) passes a seeded one."""

    def __init__(
        self,
        db: sqlite3.Connection,
        clock: Clock,
        actor: Actor | None = None,
        *,
        choose: Choose | None = None,
    ) -> None:
        super().__init__(db, clock, actor)
        self.choose: Choose = choose or random.SystemRandom().choice

    @property
    def _members(self) -> Membership:
        return Membership(self.db, self.clock, self.actor)

    # --- making and changing chats -----------------------------------------------------

    def add(
        self,
        title: str,
        *,
        public: bool = False,
        description: str | None = None,
        members: Sequence[str | int] = (),
    ) -> dict:
        """A public chat (any internal user; its description is its first message) or a
        private one (its creator owns it; ``members`` are in it from the start)."""
        me = self.actor
        if public and me.role == "external":
            raise PermissionDenied(_("external users may not create public chats"))
        if public and members:
            raise UsageProblem(
                _("a public chat has no --member: people join it with 'sempi chat join'")
            )
        name = chat_title(title, "TITLE")
        topic = chat_topic(description, "--description") if description is not None else ""
        if public and not topic:
            raise InvalidData(
                "--description", _("a public chat needs a description (its first message)")
            )
        kind = "public" if public else "private"
        membership = self._members
        with self.transaction():
            if public:
                self._no_public_named(name)
            invitees = [
                u
                for u in membership.resolve_invitees(kind, members)
                if u["id"] != me.id  # the creator is in it anyway
            ]
            chat_id = int(
                self.db.execute(
                    "INSERT INTO chats (kind, title, topic, owner_id, created_by, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (kind, name, topic or None, None if public else me.id, me.id, self.now()),
                ).fetchone()[0]
            )
            self.db.execute(
                "INSERT INTO chat_members (chat_id, user_id, joined_at, sees_from, added_by)"
                " VALUES (?, ?, ?, 0, ?)",
                (chat_id, me.id, self.now(), me.id),
            )
            self.audit("create", "chat", chat_id, kind=kind, members=[u["id"] for u in invitees])
            membership.admit(chat_id, name, invitees, 0, "invite")
            if topic:
                rooms.append_message(self.db, chat_id, me.id, topic, self.now())
        return self.info(chat_id)

    def _no_public_named(self, title: str, but: int | None = None) -> None:
        """Public chats are found by title by everyone: two of one name would each need
        their id. (Private titles may repeat: refusing one would tell of the other.)
        Compared in Python: SQLite's lower() folds ASCII letters only (Novità, NOVITÀ)."""
        wanted = title.casefold()
        for chat_id, other in self.db.execute(
            "SELECT id, title FROM chats WHERE kind = 'public' AND archived_at IS NULL"
        ):
            if chat_id != but and other.casefold() == wanted:
                raise Conflict(
                    _("public chat {chat} is already named {title}").format(
                        chat=chat_id, title=repr(other)
                    ),
                    _("choose another title"),
                )

    def edit_chat(
        self,
        ref: str | int,
        *,
        title: str | None = None,
        topic: str | None = None,
        post: str | None = None,
    ) -> dict:
        """Rename a public or private chat or change its topic (any member); restrict
        posting in the general chat to administrators or open it again (firm
        administrators). An empty topic clears it."""
        if title is None and topic is None and post is None:
            raise UsageProblem(_("nothing to change: give --title, --topic or --post"))
        if post is not None and post not in POST_POLICIES:
            raise InvalidData(
                "--post",
                _("{value} is not one of {choices}").format(
                    value=repr(post), choices=", ".join(POST_POLICIES)
                ),
            )
        new_title = chat_title(title, "--title") if title is not None else None
        new_topic = chat_topic(topic, "--topic") if topic is not None else None
        with self.transaction():
            chat = rooms.find_chat(self.db, self.actor, ref)
            if post is not None:
                if chat["kind"] != "general":
                    raise RuleViolation(
                        _(
                            "--post: only the general chat has a posting policy"
                            " (chat {chat} is {kind})"
                        ).format(chat=chat["id"], kind=chat["kind"])
                    )
                if not self.actor.is_firm_admin:
                    raise PermissionDenied(
                        _("only a firm administrator may change who posts in the general chat")
                    )
            if (title is not None or topic is not None) and chat["kind"] in ("general", "group"):
                field = "--title" if title is not None else "--topic"
                raise RuleViolation(
                    _("{option}: the general chat's title and topic are fixed").format(option=field)
                    if chat["kind"] == "general"
                    else _(
                        "{option}: chat {chat} is a work group's, named after its client"
                    ).format(option=field, chat=chat["id"])
                )
            values: dict[str, object] = {}
            if new_title is not None:
                if chat["kind"] == "public":
                    self._no_public_named(new_title, but=chat["id"])
                values["title"] = new_title
            if new_topic is not None:
                values["topic"] = new_topic or None
            if post is not None:
                values["post_policy"] = post
            changed = {k: v for k, v in values.items() if chat[k] != v}
            if changed:
                sets = ", ".join(f"{column} = :{column}" for column in changed)
                self.db.execute(
                    f"UPDATE chats SET {sets} WHERE id = :id", {**changed, "id": chat["id"]}
                )
                details = {
                    k: {"old": chat[k], "new": v} for k, v in changed.items() if k != "topic"
                }
                if "topic" in changed:
                    details["topic"] = {"changed": True}  # the text stays out of the log
                self.audit("edit", "chat", chat["id"], **details)
        return self.info(chat["id"])

    # --- reading ---------------------------------------------------------------------------

    def info(self, ref: str | int) -> dict:
        """What a chat is and who is in it (the general chat: how many)."""
        chat = rooms.find_chat(self.db, self.actor, ref, include_public=True)
        ids = rooms.member_ids(self.db, chat)
        member = self.actor.id in ids
        # Who is in the general chat is everyone; who is in a public chat one has not
        # joined is for its members to see (a practice user would meet the addresses
        # of another practice's people they cannot otherwise look up).
        members = None
        if chat["kind"] != "general" and (member or chat["kind"] != "public"):
            members = self._emails(ids)
        owner = self._emails([chat["owner_id"]])[0] if chat["owner_id"] is not None else None
        title = chat["title"]
        if chat["kind"] == "group":
            title = self.db.execute(
                "SELECT ragione_sociale FROM clients WHERE id = ?", (chat["client_id"],)
            ).fetchone()[0]
        return {
            "id": chat["id"],
            "kind": chat["kind"],
            "title": title,
            "topic": chat["topic"],
            "client_id": chat["client_id"],
            "owner": owner,
            "post_policy": chat["post_policy"],
            "muted": self._muted(chat["id"]),
            "member": member,
            "archived_at": chat["archived_at"],
            "created_at": chat["created_at"],
            "member_count": len(ids),
            "members": members,
        }

    def _emails(self, ids: Sequence[int]) -> builtins.list[str]:
        marks = in_marks(ids)
        found = dict(
            self.db.execute(f"SELECT id, email FROM users WHERE id IN ({marks})", list(ids))
        )
        return [found[i] for i in ids]

    def _muted(self, chat_id: int) -> bool:
        row = self.db.execute(
            "SELECT muted FROM chat_marks WHERE chat_id = ? AND user_id = ?",
            (chat_id, self.actor.id),
        ).fetchone()
        return bool(row and row[0])

    def list(
        self,
        *,
        unread_only: bool = False,
        kind: str | None = None,
        client_id: int | None = None,
        public: bool = False,
    ) -> builtins.list[dict]:
        """The actor's chats (see listing.py); with ``public``, every public chat to join."""
        if public:
            if unread_only or kind is not None or client_id is not None:
                raise UsageProblem(_("--public lists every public chat: give it alone"))
            return listing.public_chats(self.db, self.actor)
        if kind is not None and kind not in rooms.KINDS:
            raise InvalidData(
                "--kind",
                _("{value} is not one of {choices}").format(
                    value=repr(kind), choices=", ".join(rooms.KINDS)
                ),
            )
        if client_id is not None:
            from sempi_cli.services import access

            access.client_row(self.db, self.actor, client_id)
        return listing.my_chats(
            self.db, self.actor, unread_only=unread_only, kind=kind, client_id=client_id
        )

    def unread_summary(self, *, include_muted: bool = False) -> dict:
        """{"chats": N, "messages": M}: the actor's chats with something unread."""
        return listing.unread_summary(self.db, self.actor, include_muted=include_muted)

    # --- the actor's own marks ---------------------------------------------------------

    def mute(self, ref: str | int, muted: bool = True) -> dict:
        """Stop (or resume) the chat's message notifications for the actor alone;
        mentions still reach them."""
        with self.transaction():
            chat = rooms.find_chat(self.db, self.actor, ref)
            self.db.execute(
                "INSERT INTO chat_marks (chat_id, user_id, muted) VALUES (?, ?, ?)"
                " ON CONFLICT (chat_id, user_id) DO UPDATE SET muted = excluded.muted",
                (chat["id"], self.actor.id, int(muted)),
            )
        return {"chat_id": chat["id"], "title": chat["title"], "muted": muted}

    def unmute(self, ref: str | int) -> dict:
        return self.mute(ref, muted=False)

    # --- membership (membership.py) ----------------------------------------------------

    def join(self, ref: str | int) -> dict:
        return self.info(self._members.join(ref))

    def invite(
        self, ref: str | int, users: Sequence[str | int], *, show_history: bool = False
    ) -> dict:
        if not users:
            raise UsageProblem(_("whom? Give one or more users (e-mail or id)"))
        return self.info(self._members.invite(ref, users, show_history))

    def remove_member(self, ref: str | int, users: Sequence[str | int]) -> dict:
        if not users:
            raise UsageProblem(_("whom? Give one or more members (e-mail or id)"))
        return self.info(self._members.remove_members(ref, users))

    def leave(self, ref: str | int) -> dict:
        return self._members.leave(ref, self.choose)
