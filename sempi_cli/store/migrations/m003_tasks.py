"""Tasks (incarichi): roles, statuses, history, comments, templates and
recurrence, reminders, and the notification inbox."""

SQL = """
CREATE TABLE task_templates (
    id                          INTEGER PRIMARY KEY,
    name                        TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    title                       TEXT NOT NULL CHECK (length(trim(title)) > 0),
    description                 TEXT NOT NULL DEFAULT '',
    kind                        TEXT NOT NULL DEFAULT 'extraordinary'
                                    CHECK (kind IN ('ordinary', 'extraordinary')),
    responsible_id              INTEGER REFERENCES users(id),
    client_id                   INTEGER REFERENCES clients(id),
    project                     TEXT,
    high_priority               INTEGER NOT NULL DEFAULT 0 CHECK (high_priority IN (0, 1)),
    planned_minutes             INTEGER CHECK (planned_minutes IS NULL OR planned_minutes > 0),
    approval_required           INTEGER NOT NULL DEFAULT 0 CHECK (approval_required IN (0, 1)),
    responsible_sets_deadline   INTEGER NOT NULL DEFAULT 1 CHECK (responsible_sets_deadline IN (0, 1)),
    time_tracking               INTEGER NOT NULL DEFAULT 0 CHECK (time_tracking IN (0, 1)),
    tags                        TEXT NOT NULL DEFAULT '[]',
    participants                TEXT NOT NULL DEFAULT '[]',
    observers                   TEXT NOT NULL DEFAULT '[]',
    -- an instance's deadline: its occurrence date + deadline_days, at deadline_time (Rome)
    deadline_days               INTEGER NOT NULL DEFAULT 0,
    deadline_time               TEXT NOT NULL DEFAULT '18:00',
    recur_freq                  TEXT CHECK (recur_freq IN ('daily', 'weekdays', 'weekly', 'monthly',
                                    'monthly_last', 'quarterly', 'yearly')),
    recur_interval              INTEGER NOT NULL DEFAULT 1 CHECK (recur_interval >= 1),
    recur_start                 TEXT,
    recur_until                 TEXT,
    recur_count                 INTEGER CHECK (recur_count IS NULL OR recur_count >= 1),
    recur_shift                 TEXT NOT NULL DEFAULT 'none' CHECK (recur_shift IN ('none', 'next-working-day')),
    creator_id                  INTEGER NOT NULL REFERENCES users(id),
    removed_at                  TEXT,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL,
    CHECK (recur_freq IS NULL OR recur_start IS NOT NULL)
);

CREATE TABLE tasks (
    id                          INTEGER PRIMARY KEY,
    title                       TEXT NOT NULL CHECK (length(trim(title)) > 0),
    description                 TEXT NOT NULL DEFAULT '',
    kind                        TEXT NOT NULL DEFAULT 'extraordinary'
                                    CHECK (kind IN ('ordinary', 'extraordinary')),
    status                      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                                    ('pending', 'in_progress', 'awaiting_approval', 'completed', 'deferred')),
    responsible_id              INTEGER NOT NULL REFERENCES users(id),
    creator_id                  INTEGER NOT NULL REFERENCES users(id),
    client_id                   INTEGER REFERENCES clients(id),
    project                     TEXT,
    parent_id                   INTEGER REFERENCES tasks(id),
    high_priority               INTEGER NOT NULL DEFAULT 0 CHECK (high_priority IN (0, 1)),
    deadline                    TEXT,
    planned_minutes             INTEGER CHECK (planned_minutes IS NULL OR planned_minutes > 0),
    approval_required           INTEGER NOT NULL DEFAULT 0 CHECK (approval_required IN (0, 1)),
    responsible_sets_deadline   INTEGER NOT NULL DEFAULT 1 CHECK (responsible_sets_deadline IN (0, 1)),
    time_tracking               INTEGER NOT NULL DEFAULT 0 CHECK (time_tracking IN (0, 1)),
    return_count                INTEGER NOT NULL DEFAULT 0,
    template_id                 INTEGER REFERENCES task_templates(id),
    occurrence                  TEXT,
    external_key                TEXT UNIQUE,
    completed_at                TEXT,
    removed_at                  TEXT,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL,
    CHECK ((template_id IS NULL) = (occurrence IS NULL))
);
-- One instance per (template, occurrence): recurrence runs never duplicate.
CREATE UNIQUE INDEX tasks_template_occurrence ON tasks(template_id, occurrence);
-- "My tasks" by deadline without sorting them all: one index for every task,
-- one for open ones (queries say completed_at IS NULL to use it).
CREATE INDEX tasks_responsible_deadline ON tasks(responsible_id, deadline IS NULL, deadline, id)
    WHERE removed_at IS NULL;
CREATE INDEX tasks_responsible_open ON tasks(responsible_id, deadline IS NULL, deadline, id)
    WHERE completed_at IS NULL AND removed_at IS NULL;
CREATE INDEX tasks_creator ON tasks(creator_id, status);
CREATE INDEX tasks_client ON tasks(client_id, deadline);
CREATE INDEX tasks_parent ON tasks(parent_id);
CREATE INDEX tasks_open_deadline ON tasks(deadline) WHERE completed_at IS NULL AND removed_at IS NULL;

CREATE TABLE task_members (
    task_id     INTEGER NOT NULL REFERENCES tasks(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL CHECK (role IN ('participant', 'observer')),
    PRIMARY KEY (task_id, user_id, role)
) WITHOUT ROWID;
CREATE INDEX task_members_user ON task_members(user_id, role, task_id);

CREATE TABLE task_tags (
    task_id     INTEGER NOT NULL REFERENCES tasks(id),
    tag         TEXT NOT NULL CHECK (length(tag) > 0),
    PRIMARY KEY (task_id, tag)
) WITHOUT ROWID;
CREATE INDEX task_tags_tag ON task_tags(tag, task_id);

CREATE TABLE task_comments (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES tasks(id),
    author_id   INTEGER NOT NULL REFERENCES users(id),
    body        TEXT NOT NULL CHECK (length(trim(body)) > 0),
    created_at  TEXT NOT NULL
);
CREATE INDEX task_comments_task ON task_comments(task_id, id);

-- The cronologia: every change, who, when, old and new. Append-only.
CREATE TABLE task_history (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES tasks(id),
    at          TEXT NOT NULL,
    actor_id    INTEGER REFERENCES users(id),
    action      TEXT NOT NULL,
    field       TEXT,
    old         TEXT,
    new         TEXT
);
CREATE INDEX task_history_task ON task_history(task_id, id);
CREATE TRIGGER task_history_append_only_update BEFORE UPDATE ON task_history
BEGIN
    SELECT RAISE(ABORT, 'task_history is append-only');
END;
CREATE TRIGGER task_history_append_only_delete BEFORE DELETE ON task_history
BEGIN
    SELECT RAISE(ABORT, 'task_history is append-only');
END;

CREATE TABLE reminders (
    id              INTEGER PRIMARY KEY,
    task_id         INTEGER NOT NULL REFERENCES tasks(id),
    recipient_id    INTEGER NOT NULL REFERENCES users(id),
    remind_at       TEXT,
    before_minutes  INTEGER CHECK (before_minutes IS NULL OR before_minutes > 0),
    created_by      INTEGER NOT NULL REFERENCES users(id),
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    CHECK ((remind_at IS NULL) <> (before_minutes IS NULL))
);
CREATE INDEX reminders_pending ON reminders(delivered_at, remind_at);
CREATE INDEX reminders_task ON reminders(task_id);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,
    task_id     INTEGER REFERENCES tasks(id),
    text        TEXT NOT NULL,
    source      TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    read_at     TEXT
);
CREATE INDEX notifications_user ON notifications(user_id, read_at, id);
"""
