"""Writing tasks in bulk, for a caller that makes thousands at once (the scheduler).

tasks/ owns the task tables, so a bulk writer elsewhere calls these functions
instead of its own SQL. Rows pass straight through to one ``executemany`` per
table, inside the caller's transaction (nothing here opens one): the scheduler's
first run stays at the raw-SQLite floor. Ids given by the caller come from
``next_task_id`` read under its ``BEGIN IMMEDIATE`` lock, so nobody else writes
meanwhile.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

# The order of the values in each row these functions take.
TASK_COLUMNS = (
    "id", "title", "description", "responsible_id", "creator_id", "client_id", "deadline",
    "external_key", "created_at", "updated_at",
)  # fmt: skip
HISTORY_COLUMNS = ("task_id", "at", "actor_id", "action", "field", "old", "new")
REMINDER_COLUMNS = ("task_id", "recipient_id", "before_minutes", "created_by", "created_at")

Row = Sequence[object]


def next_task_id(db: sqlite3.Connection) -> int:
    """The first free task id; valid while the caller holds the write lock."""
    return int(db.execute("SELECT coalesce(max(id), 0) + 1 FROM tasks").fetchone()[0])


def insert_pending(db: sqlite3.Connection, rows: Iterable[Row]) -> None:
    """Ordinary pending tasks whose deadline nobody but their creator sets, with time
    tracking on as for every ordinary task; one row per task with the values of
    TASK_COLUMNS."""
    db.executemany(
        "INSERT INTO tasks (id, title, description, kind, status, responsible_id, creator_id,"
        " client_id, deadline, responsible_sets_deadline, time_tracking, external_key,"
        " created_at, updated_at)"
        " VALUES (?, ?, ?, 'ordinary', 'pending', ?, ?, ?, ?, 0, 1, ?, ?, ?)",
        rows,
    )


def record_history(db: sqlite3.Connection, rows: Iterable[Row]) -> None:
    """Lines of tasks' history, one row per line with the values of HISTORY_COLUMNS."""
    db.executemany(
        "INSERT INTO task_history (task_id, at, actor_id, action, field, old, new)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def add_reminders(db: sqlite3.Connection, rows: Iterable[Row]) -> None:
    """Reminders, one row per reminder with the values of REMINDER_COLUMNS."""
    db.executemany(
        "INSERT INTO reminders (task_id, recipient_id, before_minutes, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def reschedule(db: sqlite3.Connection, task_id: int, deadline: str, title: str, at: str) -> None:
    """Give a task a new deadline and title, and bring it back if it was removed.
    The caller writes the history lines that say so."""
    db.execute(
        "UPDATE tasks SET deadline = ?, title = ?, removed_at = NULL, updated_at = ? WHERE id = ?",
        (deadline, title, at, task_id),
    )


def withdraw(db: sqlite3.Connection, task_id: int, at: str) -> None:
    """Remove a task (soft: it leaves every list, its history stays). The caller
    writes the history line that says why."""
    db.execute("UPDATE tasks SET removed_at = ?, updated_at = ? WHERE id = ?", (at, at, task_id))
