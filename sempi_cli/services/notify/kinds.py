"""What a notification can be about, and the ways it can reach its person.

One list shared by the inbox, the preferences and the e-mail digest, so that a
new kind is added in one place.
"""

from __future__ import annotations

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _

# What a notification is about. Free text in the store, checked here; "deadline",
# "consent" and "coupon" are delivered by the issues that build those domains.
KINDS: tuple[str, ...] = (
    "message", "mention", "task", "invitation", "document", "reminder", "timer",
    "deadline", "consent", "coupon", "signature",
)  # fmt: skip

# What each kind tells, for `notify prefs` (people choose by it): English in JSON,
# translated (``_(ABOUT[kind])``) where a person reads the table.
ABOUT: dict[str, str] = {
    "message": N_("new messages in a chat of yours you have not muted"),
    "mention": N_("someone named you in a chat message"),
    "task": N_(
        "tasks given to you or on which you work: assigned, added, approved, "
        "returned, commented, deadline moved"
    ),
    "invitation": N_("you were added to a chat or to a client's work group"),
    "document": N_("a client's people downloaded a document you put in its folders"),
    "reminder": N_("reminders set on tasks"),
    "timer": N_("a timer of yours that looks forgotten"),
    "deadline": N_("fiscal deadlines"),
    "consent": N_("consent requests and answers"),
    "coupon": N_("coupons"),
    "signature": N_("documents sent to you for signature, and the outcome of those you sent"),
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
    "signature": "firma",
}

# How a kind reaches its person: the inbox (the default), e-mail instead of the
# inbox, both, or not at all.
CHANNELS: tuple[str, ...] = ("inbox", "email", "both", "off")
DEFAULT_CHANNEL = "inbox"


def check_kind(kind: str, field: str) -> str:
    if kind not in KINDS:
        raise InvalidData(
            field,
            _("{value} is not a kind").format(value=repr(kind)),
            _("use one of: {choices}").format(choices=", ".join(KINDS)),
        )
    return kind


def check_channel(channel: str, field: str) -> str:
    if channel not in CHANNELS:
        raise InvalidData(
            field,
            _("{value} is not a channel").format(value=repr(channel)),
            _("use one of: {choices}").format(choices=", ".join(CHANNELS)),
        )
    return channel
