"""The events record (SPEC: automation): every change that matters, written in
the same transaction as the change (a transactional outbox), for `sempi events`,
the automation rules and the hooks (services/event_log.py says what each holds).

``origin_id`` and ``depth``: an event caused by an automation's action names
the event that set it off, and how deep in such a chain it is, so that rules
and hooks never loop.
"""

SQL = """
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    at           TEXT NOT NULL,
    actor_id     INTEGER REFERENCES users(id),
    object_type  TEXT NOT NULL,
    object_id    INTEGER,
    client_id    INTEGER REFERENCES clients(id),
    origin_id    INTEGER REFERENCES events(id),
    depth        INTEGER NOT NULL DEFAULT 0 CHECK (depth >= 0),
    changes      TEXT NOT NULL DEFAULT '{}',
    data         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_client ON events(client_id, id);
CREATE INDEX events_kind ON events(kind, id);
CREATE INDEX events_object ON events(object_type, object_id, id);
"""
