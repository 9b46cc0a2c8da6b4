"""Events: one domain tells the others what happened without importing them.

A package lower in the order (docs/architecture.md) cannot import one above
it; when something there must follow (a new client gets its work-group chat),
the lower one publishes an event and the higher one subscribes here. This is
the one list of the event kinds, the shape of their payload, and who reacts.
Subscribers are named by path and imported when the event is published, so
this module imports no domain. They run in the publisher's transaction, with
its connection, clock and actor: the event and its consequences are written
together or not at all.
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sempi_cli.clock import Clock

if TYPE_CHECKING:
    from sempi_cli.services.access import Actor


@dataclass(frozen=True)
class Event:
    shape: Mapping[str, str]  # payload key -> what it holds (JSON types)
    subscribers: tuple[str, ...]  # "package.module:function", called (db, clock, actor, payload)


EVENTS: dict[str, Event] = {
    "client.added": Event(
        {"client_ids": "list of int: the new clients (one, or a batch's)"},
        ("sempi_cli.services.chat.rooms:on_clients_added",),
    ),
    "group.member_added": Event(
        {
            "client_id": "int: the client whose work group they joined",
            "user_ids": "list of int: the users added",
        },
        ("sempi_cli.services.notify.subscribers:on_group_member_added",),
    ),
}


def publish(
    db: sqlite3.Connection, clock: Clock, actor: Actor, kind: str, payload: Mapping[str, object]
) -> None:
    """Tell the subscribers of *kind*, in the caller's transaction."""
    event = EVENTS[kind]
    if set(payload) != set(event.shape):
        raise ValueError(
            f"event {kind}: payload keys {sorted(payload)} are not {sorted(event.shape)}"
        )
    for path in event.subscribers:
        module, _, function = path.partition(":")
        getattr(importlib.import_module(module), function)(db, clock, actor, payload)
