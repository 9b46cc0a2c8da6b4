"""The e-mail digest: notifications a person chose to receive by e-mail, gathered
into one message per person until `sempi mail send` delivers it.

The first such notification queues a message in the outbox (services/mail/)
keyed ``notify:<user id>:<notification id>``; each later one adds a line to
that message while it is still queued. Once `mail send` has claimed it, the
next notification starts a new one: one message per person per run. A message
that would pass MAX_BODY characters (nobody ran `mail send` for weeks) is left
as it is and a new one starts, so no mail grows without end.

The text of a notification is what its person may read (the services that
deliver it decide that); it carries no secret. The message goes to the
person's own address, as all of sempi's mail; an external user's belongs to
their client (its practice's administrator manages it, and a GDPR erasure of
the client erases it), a practice user's to their practice, a firm user's to
the firm's administrators alone.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from sempi_cli.clock import ROME, Clock
from sempi_cli.services.access import Actor
from sempi_cli.services.mail import outbox
from sempi_cli.services.notify.kinds import LABELS_IT

TEMPLATE = "notifications"  # services/mail/templates.py
MAX_BODY = 100_000  # characters of one digest message


def key_prefix(user_id: int) -> str:
    return f"notify:{user_id}:"


def line(at: datetime, kind: str, text: str) -> str:
    """One notification as the digest shows it: Rome time, kind, the text on one line."""
    when = at.astimezone(ROME).strftime("%d/%m/%Y %H:%M")
    return f"- {when} · {LABELS_IT.get(kind, kind)}: {' '.join(text.split())}"


def queue(
    db: sqlite3.Connection,
    clock: Clock,
    actor: Actor | None,
    user_id: int,
    notification_id: int,
    kind: str,
    text: str,
) -> bool:
    """Put one notification in its person's digest, inside the caller's transaction.
    False when it cannot be mailed (the account is disabled or gone)."""
    user = db.execute(
        "SELECT email, full_name, role, studio_id, client_id, disabled_at FROM users WHERE id = ?",
        (user_id,),
    ).fetchone()
    if user is None or user["disabled_at"] is not None:
        return False
    item = line(clock.now(), kind, text)
    prefix = key_prefix(user_id)
    if outbox.append_queued(db, prefix, "\n" + item, max_body=MAX_BODY) is not None:
        return True
    context: dict[str, object] = {"full_name": user["full_name"], "items": item}
    if user["role"] == "external":
        context["client_id"] = user["client_id"]
    outbox.Outbox(db, clock, actor).queue(
        TEMPLATE,
        user["email"],
        context,
        dedupe_key=f"{prefix}{notification_id}",
        studio_id=user["studio_id"],
    )
    return True
