"""Automation (services/automation/): the firm's rules, "when an event of this kind
happens (and its fields say so), do this built-in action", and the deliveries of
events to the after-hooks, at least once each, in order per client.
"""

SQL = """
CREATE TABLE automation_rules (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    on_kind     TEXT NOT NULL,
    conditions  TEXT NOT NULL DEFAULT '[]',
    action      TEXT NOT NULL,
    params      TEXT NOT NULL DEFAULT '{}',
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at  TEXT NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users(id),
    updated_at  TEXT NOT NULL
);
CREATE INDEX automation_rules_kind ON automation_rules(on_kind, enabled);

-- Where the after-hooks' runner has read the events record up to.
CREATE TABLE hook_cursor (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    last_event   INTEGER NOT NULL DEFAULT 0
);

-- One event owed to one after-hook. A runner claims a batch (claimed_by: host, pid
-- and run; claimed_until: when the claim lapses) in a short transaction, runs the
-- hook outside it, then records the outcome: a runner killed meanwhile leaves a
-- claim that lapses (or whose process is gone), and the batch is delivered again.
CREATE TABLE hook_deliveries (
    id             INTEGER PRIMARY KEY,
    event_id       INTEGER NOT NULL REFERENCES events(id),
    hook           TEXT NOT NULL,
    client_id      INTEGER,
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'dead')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_at        TEXT NOT NULL,
    last_error     TEXT,
    done_at        TEXT,
    claimed_by     TEXT,
    claimed_until  TEXT,
    UNIQUE (event_id, hook)
);
CREATE INDEX hook_deliveries_waiting ON hook_deliveries(status, hook, id);
"""
