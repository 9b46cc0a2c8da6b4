"""Time tracking: one row per interval of work on a task (timer or by hand)."""

SQL = """
CREATE TABLE time_entries (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES tasks(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    started_at  TEXT NOT NULL,
    ended_at    TEXT,                     -- NULL while the timer runs
    -- ended_at - started_at, kept so reports sum integers instead of parsing
    -- two timestamps per row; the CHECK keeps it honest.
    seconds     INTEGER,
    manual      INTEGER NOT NULL DEFAULT 0 CHECK (manual IN (0, 1)),
    comment     TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    removed_at  TEXT,
    CHECK (ended_at IS NULL OR ended_at >= started_at),
    CHECK ((ended_at IS NULL AND seconds IS NULL)
        OR seconds = unixepoch(ended_at) - unixepoch(started_at)),
    -- a hand-made entry says why, and is never a running timer
    CHECK (manual = 0 OR (ended_at IS NOT NULL AND length(trim(coalesce(comment, ''))) > 0))
);
-- One running timer per user is a fact of the database, not a read-then-write:
-- two processes starting at once cannot both leave a timer running.
CREATE UNIQUE INDEX time_entries_running ON time_entries(user_id)
    WHERE ended_at IS NULL AND removed_at IS NULL;
-- Reports: a period over everyone, per task (covering, so a year of entries is
-- summed from the index alone), per user (and the overlap check).
CREATE INDEX time_entries_started ON time_entries(started_at);
CREATE INDEX time_entries_task ON time_entries(task_id, started_at, seconds, user_id)
    WHERE removed_at IS NULL;
CREATE INDEX time_entries_user ON time_entries(user_id, started_at);
"""
