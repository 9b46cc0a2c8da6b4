"""The fiscal scheduler: deadlines keyed (client, rule, period) and the tasks
that carry them, per-year overrides (a government extension is data), the
firm's own template per rule, and the record of every run."""

SQL = """
CREATE TABLE scheduler_runs (
    id              INTEGER PRIMARY KEY,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    status          TEXT NOT NULL DEFAULT 'running'
                        CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
    actor_id        INTEGER REFERENCES users(id),
    host            TEXT NOT NULL,
    pid             INTEGER NOT NULL,
    range_from      TEXT NOT NULL,
    range_to        TEXT NOT NULL,
    scope           TEXT NOT NULL DEFAULT '{}',     -- {"clients": [...], "studio": id}
    clients         INTEGER NOT NULL DEFAULT 0,
    created         INTEGER NOT NULL DEFAULT 0,
    updated         INTEGER NOT NULL DEFAULT 0,
    cancelled       INTEGER NOT NULL DEFAULT 0,
    unchanged       INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX scheduler_runs_status ON scheduler_runs(status, finished_at);

-- One row per (client, rule, period); its task is an ordinary task. A deadline
-- that no longer applies is cancelled (its task set aside), never deleted.
CREATE TABLE deadlines (
    id              INTEGER PRIMARY KEY,
    client_id       INTEGER NOT NULL REFERENCES clients(id),
    rule_id         TEXT NOT NULL CHECK (length(rule_id) > 0),
    period          TEXT NOT NULL CHECK (length(period) > 0),
    nominal_date    TEXT NOT NULL,
    due_date        TEXT NOT NULL CHECK (due_date >= nominal_date OR override_reason IS NOT NULL),
    shifts          TEXT NOT NULL DEFAULT '[]',     -- [{"from", "to", "reason"}]
    override_reason TEXT,
    task_id         INTEGER NOT NULL UNIQUE REFERENCES tasks(id),
    state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'cancelled')),
    run_id          INTEGER REFERENCES scheduler_runs(id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (client_id, rule_id, period)
);
CREATE INDEX deadlines_client_due ON deadlines(client_id, due_date);
CREATE INDEX deadlines_due ON deadlines(due_date);
CREATE INDEX deadlines_rule ON deadlines(rule_id, period);

-- A government extension for one period of one rule (DL/DPCM), optionally only
-- for clients with one of the listed profile flags (e.g. isa_subject).
CREATE TABLE fiscal_overrides (
    rule_id     TEXT NOT NULL,
    period      TEXT NOT NULL,
    due_date    TEXT NOT NULL,
    reason      TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    applies_to  TEXT NOT NULL DEFAULT '[]',
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (rule_id, period)
) WITHOUT ROWID;

-- The firm's own task template for a rule (its checklists replace the default).
CREATE TABLE fiscal_rule_templates (
    rule_id     TEXT PRIMARY KEY,
    template_id INTEGER NOT NULL REFERENCES task_templates(id),
    set_by      INTEGER REFERENCES users(id),
    set_at      TEXT NOT NULL
) WITHOUT ROWID;
"""
