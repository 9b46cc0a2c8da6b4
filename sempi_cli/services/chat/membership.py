"""Who is in a public or private chat: joining, invitations, removal, leaving, and
the owner's hand-over when the owner leaves.

The general chat and the work groups' chats list no members (every internal user,
the group's members at every moment): nobody joins, is invited to, removed from
or leaves them. Every check runs inside the write transaction, so two people
acting on one chat at once (the owner leaving while another member invites)
each see the other's result, never a state in between.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence

from sempi_cli.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from sempi_cli.i18n import Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services.base import Service
from sempi_cli.services.chat import rooms

Choose = Callable[[Sequence[int]], int]


def fixed_membership_refusal(chat: sqlite3.Row) -> str | None:
    """Why a chat's members cannot be changed by hand, or None for public/private."""
    if chat["kind"] == "general":
        return _("every internal user is in the general chat, always")
    if chat["kind"] == "group":
        return _(
            "the members of chat {chat} are its work group's"
            " (change them with 'sempi group add-member/remove-member {client}')"
        ).format(chat=chat["id"], client=chat["client_id"])
    return None


class Membership(Service):
    """The membership writes of ChatService (composed there, not inherited)."""

    def is_member(self, chat_id: int, user_id: int) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM chat_members WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
            ).fetchone()
            is not None
        )

    def admission_refusal(self, kind: str, user: sqlite3.Row) -> str | None:
        """Why ``user`` may not be put in a chat of ``kind`` by the actor, or None."""
        if user["disabled_at"] is not None:
            return _("{user} is disabled").format(user=user["email"])
        if user["role"] != "external":
            return None
        if kind == "public":
            return _(
                "{user} is an external user: public chats are for the firm and the practices"
            ).format(user=user["email"])
        shared = self.db.execute(
            "SELECT 1 FROM work_group_members mine JOIN work_group_members theirs"
            " ON theirs.client_id = mine.client_id WHERE mine.user_id = ? AND theirs.user_id = ?",
            (self.actor.id, user["id"]),
        ).fetchone()
        if shared is None:
            return _("{user} is an external user who shares no work group with you").format(
                user=user["email"]
            )
        return None

    def resolve_invitees(self, kind: str, refs: Iterable[str | int]) -> list[sqlite3.Row]:
        """The users named, each one found (as the actor may see them) and admissible;
        the first that is not stops everything."""
        from sempi_cli.services.identity.accounts import find_user

        found: dict[int, sqlite3.Row] = {}
        for ref in refs:
            user = find_user(self.db, self.actor, ref)
            reason = self.admission_refusal(kind, user)
            if reason is not None:
                raise RuleViolation(reason)
            found.setdefault(user["id"], user)
        return list(found.values())

    def admit(
        self, chat_id: int, title: str, users: Sequence[sqlite3.Row], sees_from: int, action: str
    ) -> None:
        """Put users in a chat (the caller checked them), audit each and tell each one
        in their inbox. The notification's source carries the audit entry's id: one
        notification per invitation, a second invitation after leaving included."""
        from sempi_cli.services.notify.centre import NotificationService

        inbox = NotificationService(self.db, self.clock, self.actor)
        for user in users:
            self.db.execute(
                "INSERT INTO chat_members (chat_id, user_id, joined_at, sees_from, added_by)"
                " VALUES (?, ?, ?, ?, ?)",
                (chat_id, user["id"], self.now(), sees_from, self.actor.id),
            )
            self.audit(action, "chat", chat_id, user_id=user["id"], sees_from=sees_from)
            entry = self.db.execute("SELECT max(id) FROM audit_log").fetchone()[0]
            inbox.notify(
                user["id"],
                "invitation",
                Text(  # in the recipient's language
                    "{who} added you to the chat {title}",
                    who=self.actor.full_name,
                    title=repr(title),
                ),
                source=f"chat-invite:{chat_id}:{user['id']}:{entry}",
                chat_id=chat_id,
            )

    # --- the commands -------------------------------------------------------------------

    def join(self, ref: str | int) -> int:
        """Enter a public chat, with its whole history."""
        with self.transaction():
            chat = rooms.find_chat(self.db, self.actor, ref, include_public=True)
            refusal = fixed_membership_refusal(chat)
            if refusal is not None:
                raise RuleViolation(refusal)
            # A private chat one may read is one one is in: only a public one is joined.
            if self.is_member(chat["id"], self.actor.id):
                raise Conflict(_("you are already a member of chat {chat}").format(chat=chat["id"]))
            self.db.execute(
                "INSERT INTO chat_members (chat_id, user_id, joined_at, sees_from, added_by)"
                " VALUES (?, ?, ?, 0, ?)",
                (chat["id"], self.actor.id, self.now(), self.actor.id),
            )
            self.audit("join", "chat", chat["id"], user_id=self.actor.id)
        return int(chat["id"])

    def invite(self, ref: str | int, users: Sequence[str | int], show_history: bool) -> int:
        """Any member invites; without the history the invitee reads from the next message."""
        with self.transaction():
            chat = rooms.find_chat(self.db, self.actor, ref)
            refusal = fixed_membership_refusal(chat)
            if refusal is not None:
                raise RuleViolation(refusal)
            invitees = self.resolve_invitees(chat["kind"], users)
            for user in invitees:
                if self.is_member(chat["id"], user["id"]):
                    raise Conflict(
                        _("{user} is already a member of chat {chat}").format(
                            user=user["email"], chat=chat["id"]
                        )
                    )
            sees_from = 0
            if not show_history:
                last = self.db.execute(
                    "SELECT max(id) FROM chat_messages WHERE chat_id = ?", (chat["id"],)
                ).fetchone()[0]
                sees_from = int(last or 0) + 1
            self.admit(chat["id"], chat["title"], invitees, sees_from, "invite")
        return int(chat["id"])

    def remove_members(self, ref: str | int, users: Sequence[str | int]) -> int:
        """The owner of a private chat takes people out of it."""
        with self.transaction():
            chat = rooms.find_chat(self.db, self.actor, ref)
            refusal = fixed_membership_refusal(chat)
            if refusal is not None:
                raise RuleViolation(refusal)
            if chat["kind"] == "public":
                raise RuleViolation(
                    _(
                        "chat {chat} is public: nobody owns it, its members leave it themselves"
                    ).format(chat=chat["id"])
                )
            if chat["owner_id"] != self.actor.id:
                raise PermissionDenied(
                    _("only the owner of chat {chat} may remove members").format(chat=chat["id"])
                )
            targets = [self._member(chat, ref) for ref in dict.fromkeys(users)]
            for user_id, email in targets:
                if user_id == self.actor.id:
                    raise RuleViolation(
                        _("{user} is the owner").format(user=email),
                        _("leave it with 'sempi chat leave {chat}'").format(chat=chat["id"]),
                    )
            for user_id, _email in dict.fromkeys(targets):
                self._drop(chat["id"], user_id)
                self.audit("remove_member", "chat", chat["id"], user_id=user_id)
        return int(chat["id"])

    def _member(self, chat: sqlite3.Row, ref: str | int) -> tuple[int, str]:
        """A member named by id or e-mail (found among the members first: a member the
        owner could not see elsewhere is still one they may remove)."""
        from sempi_cli.services.identity.accounts import find_user

        text = str(ref).strip()
        key = "u.id = ?" if text.isdigit() else "u.email = lower(?)"
        row = self.db.execute(
            "SELECT u.id, u.email FROM chat_members m JOIN users u ON u.id = m.user_id"
            f" WHERE m.chat_id = ? AND {key}",
            (chat["id"], text),
        ).fetchone()
        if row is None:
            user = find_user(self.db, self.actor, ref)
            raise NotFound(
                _("{user} is not a member of chat {chat}").format(
                    user=user["email"], chat=chat["id"]
                )
            )
        return int(row["id"]), str(row["email"])

    def _drop(self, chat_id: int, user_id: int) -> None:
        self.db.execute(
            "DELETE FROM chat_members WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )
        self.db.execute(
            "DELETE FROM chat_marks WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )

    def leave(self, ref: str | int, choose: Choose) -> dict:
        """Leave a public or private chat. The owner's place goes to a remaining member
        drawn by ``choose`` (an active one when there is one), said in the chat's
        history; the last one out archives the chat."""
        me = self.actor
        with self.transaction():
            chat = rooms.find_chat(self.db, me, ref)
            if chat["kind"] == "general":
                raise RuleViolation(
                    _("nobody leaves the general chat"),
                    _("mute it with 'sempi chat mute general'"),
                )
            if chat["kind"] == "group":
                raise RuleViolation(
                    _("chat {chat} is its work group's: its members stay").format(chat=chat["id"]),
                    _("mute it with 'sempi chat mute {chat}'").format(chat=chat["id"]),
                )
            self._drop(chat["id"], me.id)
            self.audit("leave", "chat", chat["id"], user_id=me.id)
            remaining = [
                r[0]
                for r in self.db.execute(
                    "SELECT user_id FROM chat_members WHERE chat_id = ? ORDER BY user_id",
                    (chat["id"],),
                )
            ]
            result: dict = {"chat_id": chat["id"], "title": chat["title"], "left": True}
            result.update(new_owner=None, archived=False)
            if not remaining:
                self.db.execute(
                    "UPDATE chats SET archived_at = ?, owner_id = NULL WHERE id = ?",
                    (self.now(), chat["id"]),
                )
                self.audit("archive", "chat", chat["id"], reason="the last member left")
                result["archived"] = True
            elif chat["owner_id"] == me.id:
                result["new_owner"] = self._hand_over(chat, remaining, choose)
        return result

    def _hand_over(self, chat: sqlite3.Row, remaining: list[int], choose: Choose) -> str:
        active = set(rooms.member_ids(self.db, chat))
        pool = [user_id for user_id in remaining if user_id in active] or remaining
        heir = choose(pool)
        if heir not in pool:
            raise ValueError(f"choose() returned {heir!r}, not one of {pool}")
        name, email = self.db.execute(
            "SELECT full_name, email FROM users WHERE id = ?", (heir,)
        ).fetchone()
        self.db.execute("UPDATE chats SET owner_id = ? WHERE id = ?", (heir, chat["id"]))
        from sempi_cli.services import language

        # One text for all the chat's readers: the firm's language (config ui.language)
        # as it stands when the note is written.
        note = Text("{who} left; {heir} is now the owner", who=self.actor.full_name, heir=name)
        rooms.append_message(
            self.db,
            chat["id"],
            None,
            note.said_in(language.preferred(self.db, None)),
            self.now(),
            kind="event",
        )
        self.audit("hand_over", "chat", chat["id"], old_owner=self.actor.id, new_owner=heir)
        return str(email)
