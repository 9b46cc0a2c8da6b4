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
-- Readers walk the record by id (--since); a client's events have an index of
-- their own (`events list --client`). No index by kind or object: each one costs
-- every write (the scheduler writes an event a deadline, a hundred a client a
-- year), and a reader filters by kind on its way along ids. The nightly coupon
-- check looks for the notices it already gave: a partial index, which costs only
-- those rows.
CREATE INDEX events_client ON events(client_id, id);
CREATE INDEX events_coupon_expiring ON events(client_id) WHERE kind = 'coupon.expiring';
"""
