"""What the notification centre does when another domain publishes an event
(services/events.py): packages below this one (org/) cannot call it directly."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from sempi_cli.clock import Clock
from sempi_cli.i18n import Text
from sempi_cli.services.access import Actor
from sempi_cli.services.notify.centre import NotificationService


def on_group_member_added(
    db: sqlite3.Connection, clock: Clock, actor: Actor, payload: Mapping[str, object]
) -> None:
    """``group.member_added``: each user put in a client's work group by someone else
    gets an ``invitation``, about the group's chat (so its text hides again once
    they leave the group). The source counts the person's invitations to the group:
    someone who leaves and is added again is told again."""
    client_id = int(payload["client_id"])  # type: ignore[call-overload]
    client = db.execute(
        "SELECT c.ragione_sociale, (SELECT ch.id FROM chats ch WHERE ch.client_id = c.id)"
        " FROM clients c WHERE c.id = ?",
        (client_id,),
    ).fetchone()
    text = Text(  # in each recipient's language
        "{who} added you to the work group of {client} (client {client_id}):"
        " its tasks, documents and chat are open to you.",
        who=actor.full_name,
        client=client[0],
        client_id=client_id,
    )
    inbox = NotificationService(db, clock, actor)
    for user_id in (int(u) for u in payload["user_ids"]):  # type: ignore[attr-defined]
        if user_id == actor.id:
            continue
        prefix = f"group:{client_id}:{user_id}:"
        earlier = db.execute(  # (a range over the UNIQUE index on source)
            "SELECT count(*) FROM notifications WHERE source >= ? AND source < ?",
            (prefix, prefix[:-1] + ";"),
        ).fetchone()[0]
        inbox.notify(user_id, "invitation", text, f"{prefix}{earlier + 1}", chat_id=client[1])
