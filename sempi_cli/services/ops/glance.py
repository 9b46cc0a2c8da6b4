"""The one line a shell prompt shows (`sempi status --short`): the running timer,
the unread notifications, the overdue tasks.

A prompt runs it at every line, so it is light to import (the fast path,
cli/fastpath.py, runs it before the CLI framework is loaded), costs three
indexed lookups, and only reads: it neither writes the audit log nor keeps the
login session alive (a prompt is not a person using sempi). `sempi status`
shows the same numbers with the rest (ops/status.py).
"""

from __future__ import annotations

import sqlite3

from sempi_cli.services.base import Service
from sempi_cli.services.timers.running import RunningTimer, seconds_between


def unread_notifications(db: sqlite3.Connection, user_id: int) -> int:
    """As `notify list --unread` counts them (NotificationService.unread_count)."""
    return int(
        db.execute(
            "SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
            (user_id,),
        ).fetchone()[0]
    )


def overdue_tasks(db: sqlite3.Connection, user_id: int, now: str) -> int:
    """The user's open tasks past their deadline: `task due`'s overdue list
    (TaskQueries.due), counted."""
    return int(
        db.execute(
            "SELECT count(*) FROM tasks t WHERE t.responsible_id = ? AND t.removed_at IS NULL"
            " AND t.completed_at IS NULL AND t.deadline < ?",
            (user_id, now),
        ).fetchone()[0]
    )


class Glance(Service):
    def short(self) -> dict:
        """{"timer": null or {task_id, started_at, elapsed_seconds}, "unread", "overdue"}."""
        me = self.actor.id
        now = self.now()
        current = RunningTimer(self.db, self.clock, self.actor).running()
        timer = None
        if current is not None:
            timer = {
                "task_id": current["task_id"],
                "started_at": current["started_at"],
                "elapsed_seconds": max(0, seconds_between(current["started_at"], now)),
            }
        return {
            "timer": timer,
            "unread": unread_notifications(self.db, me),
            "overdue": overdue_tasks(self.db, me, now),
        }
