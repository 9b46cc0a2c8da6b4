"""The events record: every change that matters, written by the service that
makes it, in the same transaction (a transactional outbox: a command rolled
back leaves no event, an event is never missing for a change that stayed).

Scripts read it (`sempi events list|tail`), and so will the automation rules and
hooks. What an event says is a versioned contract, ``schema`` 1, described in
docs/events.md and checked against docs/events.schema.json by the tests:

    {"schema": 1, "id": 17, "kind": "task.completed", "at": "2026-11-16T09:30:00+00:00",
     "actor": {"id": 3, "email": "giulia@..."}, "object": {"type": "task", "id": 42},
     "client_id": 7, "origin": null, "changes": {"status": {"old": "in_progress",
     "new": "completed"}}, "data": {"title": "Invio F24"}}

``changes`` holds the before and after of what changed; ``data`` the facts a
consumer needs without reading the store (a title, a status, a date). A new
field may be added within schema 1; renaming or removing one makes schema 2.

This module is shared: it imports no domain, and every domain calls ``record``
(or ``record_many`` for bulk writes) with its own facts. Who reads which event
is decided here (``visible``), by the same predicates as the objects' own reads.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sempi_cli.clock import Clock, iso_utc
from sempi_cli.errors import InvalidData
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sempi_cli.services.access import Actor

SCHEMA = 1
LIST_LIMIT = 1000  # events a list returns at most; --since pages on
MAX_DEPTH = 5  # an automation's chain of events stops deeper than this (no loops)

# What reacts to an event once it is written, in the writer's transaction: the
# automation (before-hooks, rules), above every domain, named by path so this
# module imports none. Each module has ``prepare(db, kind)``, asked once per call
# of record or record_many: None when nothing is to be done for that kind (then
# nothing more is), else a function ``react(db, clock, actor, event)`` called with
# each event (an ``Event``); raising refuses the whole change.
REACTORS: tuple[str, ...] = ("sempi_cli.services.automation.reactor",)

# The event whose automation is running now (its id and depth): an event written
# meanwhile is caused by it (origin_id, depth + 1). Set by ``caused_by``.
_cause: ContextVar[tuple[int, int] | None] = ContextVar("sempi_event_cause", default=None)


@contextmanager
def caused_by(event_id: int, depth: int) -> Iterator[None]:
    """Events written inside are caused by event ``event_id`` (at ``depth``)."""
    token = _cause.set((event_id, depth))
    try:
        yield
    finally:
        _cause.reset(token)


@dataclass(frozen=True)
class Kind:
    object_type: str  # what "object" names: task, deadline, client, document, chat...
    about: str  # what happened, for docs/events.md and `events kinds`


KINDS: dict[str, Kind] = {
    "task.created": Kind(
        "task", N_("a task was added (by hand, from a template, by a recurrence)")
    ),
    "task.updated": Kind("task", N_("a task's content changed (title, deadline, people, tags...)")),
    "task.status_changed": Kind("task", N_("a task moved to another status")),
    "task.completed": Kind("task", N_("a task was completed (directly or by its approval)")),
    "task.approved": Kind("task", N_("a task awaiting approval was approved by its creator")),
    "task.returned": Kind("task", N_("a task awaiting approval went back to its responsible")),
    "task.commented": Kind("task", N_("someone commented on a task")),
    "deadline.created": Kind("deadline", N_("the scheduler made a deadline for a client")),
    "deadline.moved": Kind("deadline", N_("a deadline's day changed")),
    "deadline.cancelled": Kind("deadline", N_("a deadline is no longer owed")),
    "client.onboarded": Kind("client", N_("a client was taken on (one, or a batch's)")),
    "client.updated": Kind("client", N_("a client's record or fiscal profile changed")),
    "document.added": Kind("document", N_("a document was put in a client's folders")),
    "chat.mentioned": Kind("chat", N_("someone was named in a chat message")),
    "consent.requested": Kind("client", N_("a client was asked for consent to SMART services")),
    "consent.answered": Kind("client", N_("a client answered a consent request")),
    "coupon.migrated": Kind("client", N_("a client was migrated with a coupon")),
    "coupon.expiring": Kind("client", N_("a client's licence is about to expire")),
    "sign.completed": Kind("sign_request", N_("every signer signed a request")),
    "sign.declined": Kind("sign_request", N_("a signer declined a request")),
}

# The contract's keys, in order (docs/events.md).
CONTRACT_KEYS = (
    "schema", "id", "kind", "at", "actor", "object", "client_id", "origin", "changes", "data",
)  # fmt: skip


# What an event's changes or data is given as: a mapping, nothing, or its JSON text
# (an object, as ``encoded`` writes it).
Payload = Mapping[str, object] | str | None


def encoded(value: Mapping[str, object]) -> str:
    """``value`` as the events store it (compact JSON, keys in the order given)."""
    return _encode(value)


def check_kind(kind: str, field: str = "--kind") -> str:
    if kind not in KINDS:
        raise InvalidData(
            field,
            _("{value} is not an event kind").format(value=repr(kind)),
            _("see 'sempi events kinds'"),
        )
    return kind


def record(
    db: sqlite3.Connection,
    clock: Clock,
    actor: Actor | None,
    kind: str,
    object_id: int | None,
    client_id: int | None,
    *,
    changes: Payload = None,
    data: Payload = None,
) -> int:
    """Write one event in the caller's transaction, and let the REACTORS react; its id."""
    row = (*_common(db, clock, actor, kind), object_id, client_id, _json(changes), _json(data))
    event_id = db.execute(INSERT, row).fetchone()[0]
    reactors = _reactors(db, kind)
    if reactors:
        _react(db, clock, actor, reactors, event_id, row)
    return event_id


def record_many(
    db: sqlite3.Connection,
    clock: Clock,
    actor: Actor | None,
    kind: str,
    rows: Iterable[tuple[int | None, int | None, Payload, Payload]],
) -> None:
    """Write events of one kind, (object_id, client_id, changes, data) each: the bulk
    writers' path (a scheduler run, a batch). ``changes`` and ``data`` may be given
    as JSON text already (``encoded``: a writer of a hundred thousand alike events
    builds each one's text from a part encoded once). When a reactor wants this
    kind, it reacts to each, in order, once they are all written (so the events its
    actions write come after the whole batch)."""
    common = _common(db, clock, actor, kind)
    own = [
        (object_id, client_id, _json(changes), _json(data))
        for object_id, client_id, changes, data in rows
    ]
    reactors = _reactors(db, kind)
    # The ids SQLite gives: the largest one + 1, + 2... (one writer: the caller holds
    # the write transaction, and no event is ever deleted).
    first = _newest(db) + 1 if reactors else 0
    for start in range(0, len(own), BULK):
        chunk = own[start : start + BULK]
        db.execute(_insert_rows(len(chunk)), [*common, *(v for row in chunk for v in row)])
    for event_id, row in enumerate(own, first) if reactors else ():
        _react(db, clock, actor, reactors, event_id, (*common, *row))


# record_many's INSERT: what the events of a call share bound once, then each event's
# own four values (binding the shared six again for every event was a third of its
# cost), BULK events a statement.
BULK = 500


@functools.lru_cache(maxsize=8)
def _insert_rows(count: int) -> str:
    return (
        "INSERT INTO events (kind, at, actor_id, object_type, origin_id, depth, object_id,"
        " client_id, changes, data) SELECT CAST(? AS TEXT), CAST(? AS TEXT),"
        " CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS INTEGER),"
        " CAST(column1 AS INTEGER), CAST(column2 AS INTEGER), column3, column4"
        f" FROM (VALUES {', '.join(['(?, ?, ?, ?)'] * count)}) AS own"
    )


def _newest(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])


INSERT = (
    "INSERT INTO events (kind, at, actor_id, object_type, origin_id, depth, object_id,"
    " client_id, changes, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
_EMPTY = "{}"
# Compact, in the order the writer gave (each writer builds its dicts alike): the
# scheduler writes one event a deadline, and this is a third of an event's cost.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _json(value: Payload) -> str:
    if isinstance(value, str):
        return value
    return _encode(value) if value else _EMPTY


def _decoded(text: str) -> dict:
    return json.loads(text) if text != _EMPTY else {}


def _common(db: sqlite3.Connection, clock: Clock, actor: Actor | None, kind: str) -> tuple:
    """What the events a call writes share: kind, time, actor, object type, cause."""
    cause = _cause.get() or _cause_from_hook(db)
    return (
        kind, iso_utc(clock.now()), None if actor is None else actor.id,
        KINDS[kind].object_type, None if cause is None else cause[0],
        0 if cause is None else cause[1] + 1,
    )  # fmt: skip


HOOK_CAUSE = "SEMPI_CAUSE"  # set by the hooks' runner for the hook's own commands


def _cause_from_hook(db: sqlite3.Connection) -> tuple[int, int] | None:
    """A command run by a hook (services/automation/hooks.py gives the hook the id of
    the event it runs for) is caused by that event, at that event's depth: read from
    the record, never taken from the environment, so it cannot be made deeper."""
    given = os.environ.get(HOOK_CAUSE, "")
    if not given.isdigit():
        return None
    row = db.execute("SELECT id, depth FROM events WHERE id = ?", (int(given),)).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def _reactors(db: sqlite3.Connection, kind: str) -> list[Callable]:
    """The REACTORS ready for events of ``kind`` now (each asked once per call)."""
    ready = []
    for path in REACTORS:
        react = importlib.import_module(path).prepare(db, kind)
        if react is not None:
            ready.append(react)
    return ready


def _react(
    db: sqlite3.Connection,
    clock: Clock,
    actor: Actor | None,
    reactors: list[Callable],
    event_id: int,
    row: tuple,
) -> None:
    event = Event(event_id, row, None if actor is None else actor.email)
    for react in reactors:
        react(db, clock, actor, event)


class Event(Mapping[str, object]):
    """An event being written, as its schema-1 contract for the REACTORS, each field
    made when first read: matching a rule on ``client_id`` against a scheduler run's
    hundred thousand events decodes none of their JSON. ``dict(event)`` is the whole
    contract (what a hook is given)."""

    __slots__ = ("_id", "_row", "_email", "_made")

    def __init__(self, event_id: int, row: tuple, email: str | None) -> None:
        self._id, self._row, self._email = event_id, row, email
        self._made: dict[str, object] = {}

    def __getitem__(self, key: str) -> object:
        made = self._made
        if key not in made:
            made[key] = _FIELDS[key](self._id, self._row, self._email)
        return made[key]

    def __contains__(self, key: object) -> bool:
        return key in _FIELDS

    def __iter__(self) -> Iterator[str]:
        return iter(CONTRACT_KEYS)

    def __len__(self) -> int:
        return len(CONTRACT_KEYS)


# Each field of the contract from an event's id, its INSERT row (kind, at, actor_id,
# object_type, origin_id, depth, object_id, client_id, changes, data) and the
# actor's e-mail.
_FIELDS: dict[str, Callable[[int, tuple, str | None], object]] = {
    "schema": lambda i, r, e: SCHEMA,
    "id": lambda i, r, e: i,
    "kind": lambda i, r, e: r[0],
    "at": lambda i, r, e: r[1],
    "actor": lambda i, r, e: None if r[2] is None else {"id": r[2], "email": e},
    "object": lambda i, r, e: {"type": r[3], "id": r[6]},
    "client_id": lambda i, r, e: r[7],
    "origin": lambda i, r, e: None if r[4] is None else {"event": r[4], "depth": r[5]},
    "changes": lambda i, r, e: _decoded(r[8]),
    "data": lambda i, r, e: _decoded(r[9]),
}
assert tuple(_FIELDS) == CONTRACT_KEYS


def contract(row: sqlite3.Row, email: str | None) -> dict:
    """One stored event as the schema-1 contract (docs/events.md)."""
    return {
        "schema": SCHEMA,
        "id": row["id"],
        "kind": row["kind"],
        "at": row["at"],
        "actor": None if row["actor_id"] is None else {"id": row["actor_id"], "email": email},
        "object": {"type": row["object_type"], "id": row["object_id"]},
        "client_id": row["client_id"],
        "origin": None
        if row["origin_id"] is None
        else {"event": row["origin_id"], "depth": row["depth"]},
        "changes": json.loads(row["changes"]),
        "data": json.loads(row["data"]),
    }


def visible(actor: Actor, alias: str = "e") -> tuple[str, dict]:
    """SQL predicate over ``events AS alias``: the events about what the actor may
    see. A task's: the task is visible to them; a chat's: they read the chat; any
    other: they see its client (an event about no client: firm administrators)."""
    if actor.role == "firm-admin":
        return "TRUE", {"actor_id": actor.id}
    tasks, params = access.visible_tasks(actor, "vt")
    chats, chat_params = access.readable_chats(actor, "vch")
    clients, client_params = access.visible_clients(actor, "vcl")
    params.update(chat_params)
    params.update(client_params)
    return (
        f"(({alias}.object_type = 'task' AND EXISTS (SELECT 1 FROM tasks vt"
        f" WHERE vt.id = {alias}.object_id AND {tasks}))"
        f" OR ({alias}.object_type = 'chat' AND EXISTS (SELECT 1 FROM chats vch"
        f" WHERE vch.id = {alias}.object_id AND {chats}))"
        f" OR ({alias}.object_type NOT IN ('task', 'chat') AND EXISTS (SELECT 1 FROM clients"
        f" vcl WHERE vcl.id = {alias}.client_id AND {clients})))",
        params,
    )


class EventLog(Service):
    """The events the actor may read, oldest first."""

    def list(
        self,
        *,
        since: int = 0,
        kinds: Iterable[str] = (),
        client_id: int | None = None,
        limit: int = LIST_LIMIT,
        upto: int | None = None,
    ) -> list[dict]:
        """Events after id ``since`` (``--since``) and up to ``upto``, of ``kinds``,
        about ``client_id``."""
        where, params = visible(self.actor)
        clauses = [where, "e.id > :since"]
        params["since"] = since
        if upto is not None:
            clauses.append("e.id <= :upto")
            params["upto"] = upto
        kinds = [check_kind(k) for k in kinds]
        if kinds:
            names = {f"kind{n}": k for n, k in enumerate(kinds)}
            clauses.append(f"e.kind IN ({', '.join(':' + n for n in names)})")
            params.update(names)
        if client_id is not None:
            access.client_row(self.db, self.actor, client_id)  # NotFound if not seen
            clauses.append("e.client_id = :client")
            params["client"] = client_id
        params["limit"] = limit
        rows = self.db.execute(
            "SELECT e.*, u.email FROM events e LEFT JOIN users u ON u.id = e.actor_id"
            f" WHERE {' AND '.join(clauses)} ORDER BY e.id LIMIT :limit",
            params,
        ).fetchall()
        return [contract(row, row["email"]) for row in rows]

    def last_id(self) -> int:
        """The newest event's id (anyone's): where `events tail` starts."""
        return _newest(self.db)

    def tail(
        self,
        since: int,
        *,
        kinds: Iterable[str] = (),
        client_id: int | None = None,
        wait: Callable[[float], bool],
        interval: float = 1.0,
    ) -> Iterator[dict]:
        """Every new event after ``since`` the actor may read, as it is committed;
        between looks ``wait(interval)`` sleeps and says whether to stop.

        Each look reads the newest id first, then the events up to it: SQLite has
        one writer at a time and an id is taken inside its write transaction, so
        every id up to the newest is committed, and the mark moves past the events
        the actor may not read (they are not looked at again)."""
        kinds = list(kinds)
        while True:
            upto = self.last_id()
            batch = self.list(since=since, kinds=kinds, client_id=client_id, upto=upto)
            yield from batch
            full = len(batch) == LIST_LIMIT
            since = batch[-1]["id"] if full else upto
            if wait(0 if full else interval):
                return
