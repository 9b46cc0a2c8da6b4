"""What a notification can be about, and the ways it can reach its person.

One list shared by the inbox, the preferences and the e-mail digest, so that a
new kind is added in one place.
"""

from __future__ import annotations

from sempi_cli.errors import InvalidData

# What a notification is about. Free text in the store, checked here; "deadline",
# "consent" and "coupon" are delivered by the issues that build those domains.
KINDS: tuple[str, ...] = (
    "message", "mention", "task", "invitation", "document", "reminder", "timer",
    "deadline", "consent", "coupon",
)  # fmt: skip

# What each kind tells, for `notify prefs` (people choose by it).
ABOUT: dict[str, str] = {
    "message": "new messages in a chat of yours you have not muted",
    "mention": "someone named you in a chat message",
    "task": "tasks given to you or on which you work: assigned, added, approved, "
    "returned, commented, deadline moved",
    "invitation": "you were added to a chat or to a client's work group",
    "document": "a client's people downloaded a document you put in its folders",
    "reminder": "reminders set on tasks",
    "timer": "a timer of yours that looks forgotten",
    "deadline": "fiscal deadlines",
    "consent": "consent requests and answers",
    "coupon": "coupons",
}

# Italian labels for the e-mail digest (its text is Italian, as every mail sempi sends).
LABELS_IT: dict[str, str] = {
    "message": "messaggio",
    "mention": "menzione",
    "task": "incarico",
    "invitation": "invito",
    "document": "documento",
    "reminder": "promemoria",
    "timer": "timer",
    "deadline": "scadenza",
    "consent": "consenso",
    "coupon": "coupon",
}

# How a kind reaches its person: the inbox (the default), e-mail instead of the
# inbox, both, or not at all.
CHANNELS: tuple[str, ...] = ("inbox", "email", "both", "off")
DEFAULT_CHANNEL = "inbox"


def check_kind(kind: str, field: str) -> str:
    if kind not in KINDS:
        raise InvalidData(field, f"{kind!r} is not a kind", "use one of: " + ", ".join(KINDS))
    return kind


def check_channel(channel: str, field: str) -> str:
    if channel not in CHANNELS:
        raise InvalidData(
            field, f"{channel!r} is not a channel", "use one of: " + ", ".join(CHANNELS)
        )
    return channel
