"""Who a new message reaches: the people it mentions, and the chat's other members.

A mention is ``@`` and an e-mail (``@anna@studio.it``) or a full name with dots
for its spaces (``@anna.rossi``; ``@nicolo.dell'acqua`` for "Nicolò Dell'Acqua":
the apostrophe stays), compared without case or accents. Only a member of the chat may be mentioned (rooms.members_sql): a
mention of anyone else, or of nobody, refuses the message with the same words
whether or not such a person exists, so a mention cannot probe the directory.

The ``message`` notification is one per chat and person until they read it: its
source names how far they had read (``chat:3:user:7:read:120``), so every message
after that finds the notification already there, and reading the chat (moving the
mark) makes room for the next one. The query picks in one statement the members
who are not the author, have not muted the chat and have no such notification
yet; only those are written, so a message to a general chat of hundreds of people
writes only for those who read it since the last one. A mention notifies even
when the chat is muted.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Mapping, Sequence

from sempi_cli.clock import Clock
from sempi_cli.errors import InvalidData
from sempi_cli.i18n import Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services import event_log
from sempi_cli.services.access import Actor
from sempi_cli.services.chat.rooms import members_sql
from sempi_cli.services.notify.centre import NotificationService

# '@' not glued to a word, an address or a dot before it ("mario@x.it" is not a
# mention of "x.it"); a name is two or more parts joined by dots, each starting with
# a letter, so a full stop after it is not part of it.
_MENTION = re.compile(
    r"(?<![\w@.])@(?:(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
    r"|(?P<name>[^\W\d_][\w'’-]*(?:\.[^\W\d_][\w'’-]*)+))"
)


def _plain(text: str) -> str:
    """Case and accents dropped: 'Nicolò' and 'NICOLO' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def handle_of(full_name: str) -> str:
    """The name a mention uses for a person: their full name, dots for spaces."""
    return ".".join(_plain(full_name).replace("’", "'").split())


def mentions(text: str) -> list[str]:
    """The mentions in a message, as typed (without '@'), first seen first."""
    found = (m["email"] or m["name"] for m in _MENTION.finditer(text))
    return list(dict.fromkeys(found))


def resolve(
    db: sqlite3.Connection, chat: Mapping, text: str, *, strict: bool = True
) -> dict[str, int]:
    """Each mention of ``text`` → the member of ``chat`` it names; InvalidData for the
    first one that names no member (or several: then the e-mail tells them apart).
    ``strict=False``: such mentions are left out instead (a text already stored,
    whose people may have left the chat since)."""
    typed = mentions(text)
    if not typed:
        return {}
    sql, params = members_sql(chat)
    people = db.execute(
        f"SELECT p.id, p.email, p.full_name FROM users p WHERE p.id IN ({sql})", params
    ).fetchall()
    by_email = {p["email"].lower(): p["id"] for p in people}
    by_name: dict[str, set[int]] = {}
    for p in people:
        by_name.setdefault(handle_of(p["full_name"]), set()).add(p["id"])
    found: dict[str, int] = {}
    for mention in typed:
        if "@" in mention:
            if mention.lower() in by_email:
                found[mention] = by_email[mention.lower()]
                continue
        else:
            ids = by_name.get(handle_of(mention.replace(".", " ")), set())
            if len(ids) == 1:
                found[mention] = next(iter(ids))
                continue
            if len(ids) > 1 and strict:
                raise InvalidData(
                    "TEXT",
                    _("@{mention} names more than one member of this chat").format(mention=mention),
                    _("mention them by e-mail instead"),
                )
        if not strict:
            continue
        raise InvalidData(
            "TEXT",
            _("@{mention} is not a member of chat {chat}").format(mention=mention, chat=chat["id"]),
            _("mention members only (by e-mail or name.surname)"),
        )
    return found


def record_mentioned(
    db: sqlite3.Connection, clock: Clock, actor: Actor, chat: Mapping, message_id: int,
    named: Sequence[int],
) -> None:  # fmt: skip
    """The ``chat.mentioned`` event of a message naming ``named`` (nothing when it names
    no one but its author): ids only, never the text or the names, which an erasure
    removes from the chat and could not remove from the events."""
    if not named:
        return
    event_log.record(
        db, clock, actor, "chat.mentioned", chat["id"], chat["client_id"],
        data={"message_id": message_id, "mentioned": sorted(named), "author_id": actor.id},
    )  # fmt: skip


def read_source(chat_id: int, user_id: int, read_up_to: int) -> str:
    """The key of the one ``message`` notification a person has for a chat until
    they read past ``read_up_to``."""
    return f"chat:{chat_id}:user:{user_id}:read:{read_up_to}"


def notify_mentioned(
    inbox: NotificationService, chat: Mapping, message_id: int, mentioned: Mapping[str, int]
) -> list[int]:
    """A ``mention`` notification for each person a message names (muted or not;
    once per message and person, so an edit notifies only the newly named);
    returns who was named."""
    named = sorted(set(mentioned.values()) - {inbox.actor.id})
    for user_id in named:
        inbox.notify(
            user_id,
            "mention",
            Text(
                "{who} mentioned you in chat {chat} ({title}), message {message}",
                who=inbox.actor.email,
                chat=chat["id"],
                title=chat["title"],
                message=message_id,
            ),
            f"chat-message:{message_id}:mention:{user_id}",
            chat_id=chat["id"],
        )
    return named


def notify_members(inbox: NotificationService, chat: Mapping, skip: list[int]) -> None:
    """The ``message`` notification for each member who is not the author, has not
    muted the chat, is not in ``skip`` (named by a mention already) and has none
    for this chat since they last read it."""
    sql, params = members_sql(chat)
    extra = {f"named_{i}": uid for i, uid in enumerate(skip)}
    named = f" AND mem.id NOT IN ({', '.join(':' + k for k in extra)})" if extra else ""
    due = inbox.db.execute(
        f"WITH mem(id) AS ({sql})"
        " SELECT mem.id, coalesce(mk.read_up_to, 0) AS read_up_to FROM mem"
        " LEFT JOIN chat_marks mk ON mk.chat_id = :notified_chat AND mk.user_id = mem.id"
        f" WHERE mem.id <> :author AND coalesce(mk.muted, 0) = 0{named}"
        " AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.source ="
        " 'chat:' || :notified_chat || ':user:' || mem.id || ':read:' || coalesce(mk.read_up_to, 0))"
        " ORDER BY mem.id",
        {**params, **extra, "notified_chat": chat["id"], "author": inbox.actor.id},
    ).fetchall()
    for row in due:
        inbox.notify(
            row["id"],
            "message",
            Text("New messages in chat {chat} ({title})", chat=chat["id"], title=chat["title"]),
            read_source(chat["id"], row["id"], row["read_up_to"]),
            chat_id=chat["id"],
        )
