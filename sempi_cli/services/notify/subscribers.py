"""What the notification centre does when another domain publishes an event
(services/events.py): packages below this one (org/) cannot call it directly."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from sempi_cli.clock import Clock, iso_utc
from sempi_cli.services.access import Actor
from sempi_cli.services.notify.centre import NotificationService


def on_group_member_added(
    db: sqlite3.Connection, clock: Clock, actor: Actor, payload: Mapping[str, object]
) -> None:
    """``group.member_added``: each user put in a client's work group by someone else
    gets an ``invitation``, about the group's chat (so its text hides again once
    they leave the group). The source carries the moment: someone who leaves and is
    added again is told again."""
    client_id = int(payload["client_id"])  # type: ignore[call-overload]
    client = db.execute(
        "SELECT c.ragione_sociale, (SELECT ch.id FROM chats ch WHERE ch.client_id = c.id)"
        " FROM clients c WHERE c.id = ?",
        (client_id,),
    ).fetchone()
    text = (
        f"{actor.full_name} added you to the work group of {client[0]} (client {client_id}):"
        " its tasks, documents and chat are open to you."
    )
    inbox = NotificationService(db, clock, actor)
    now = iso_utc(clock.now())
    for user_id in payload["user_ids"]:  # type: ignore[attr-defined]
        if int(user_id) == actor.id:
            continue
        source = f"group:{client_id}:{int(user_id)}:{now}"
        inbox.notify(int(user_id), "invitation", text, source, chat_id=client[1])
