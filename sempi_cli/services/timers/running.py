"""The timer itself: start and pause, and who may track time on a task.

One running timer per user is guaranteed by a partial UNIQUE index; every start
runs in one BEGIN IMMEDIATE transaction that first pauses the user's running
entry, so two processes starting at once serialise: the second pauses what the
first started. Every change is also a line in the task's history (a pause is
action ``pause``, counted by ``task show``).

Kept apart from timers.py (entries by hand, the forgotten-timer check) and light
to import: the fast path (cli/fastpath.py) runs this same code for `timer start`
and `timer pause` before the CLI framework is loaded.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from sempi_cli.errors import PermissionDenied, RuleViolation
from sempi_cli.i18n import gettext as _
from sempi_cli.services.base import Service
from sempi_cli.services.tasks.rows import TaskRows


def seconds_between(start: str, end: str) -> int:
    return int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())


def hours_minutes(seconds: int | None) -> str:
    """1:05 for 65 minutes: how a person reads a duration."""
    if seconds is None:
        return ""
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


class RunningTimer(Service):
    @property
    def tasks(self) -> TaskRows:
        return TaskRows(self.db, self.clock, self.actor)

    def trackable(self, task_id: int) -> sqlite3.Row:
        """The task, if the actor sees it, tracks time, and is its responsible or a participant."""
        task = self.tasks.row(task_id)
        if not task["time_tracking"]:
            raise RuleViolation(
                _("time tracking is off for task {task}").format(task=task_id),
                _("turn it on with 'sempi task edit {task} --time-tracking'").format(task=task_id),
            )
        if task["responsible_id"] == self.actor.id:
            return task
        member = self.db.execute(
            "SELECT 1 FROM task_members WHERE task_id = ? AND user_id = ? AND role = 'participant'",
            (task_id, self.actor.id),
        ).fetchone()
        if member is None:
            raise PermissionDenied(
                _("only the responsible and the participants may track time on task {task}").format(
                    task=task_id
                )
            )
        return task

    def running(self, user_id: int | None = None) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM time_entries WHERE user_id = ? AND ended_at IS NULL AND removed_at IS NULL",
            (self.actor.id if user_id is None else user_id,),
        ).fetchone()

    def start(self, task_id: int) -> dict:
        """Start the actor's timer on a task, pausing the one that runs (any task)."""
        with self.transaction():
            self.trackable(task_id)
            now = self.now()
            paused = None
            current = self.running()
            if current is not None:
                if current["task_id"] == task_id:
                    raise RuleViolation(
                        _("your timer is already running on task {task}").format(task=task_id),
                        _("pause it with 'sempi timer pause {task}'").format(task=task_id),
                    )
                paused = self.stop(current, now)
            entry_id = self.db.execute(
                "INSERT INTO time_entries (task_id, user_id, started_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (task_id, self.actor.id, now, now, now),
            ).fetchone()[0]
            self.tasks.history(task_id, "timer_start", "time_entry", None, entry_id)
        return {
            "id": entry_id,
            "task_id": task_id,
            "started_at": now,
            "paused": paused,
        }

    def pause(self, task_id: int | None = None) -> dict:
        """Pause the actor's running timer (on ``task_id``, when given)."""
        with self.transaction():
            if task_id is not None:
                self.tasks.row(task_id)
            current = self.running()
            if current is None or (task_id is not None and current["task_id"] != task_id):
                if task_id is None:
                    problem = _("no timer of yours is running")
                else:
                    problem = _("no timer of yours is running on task {task}").format(task=task_id)
                raise RuleViolation(problem, _("see 'sempi timer status'"))
            return self.stop(current, self.now())

    def stop(self, entry: sqlite3.Row, now: str) -> dict:
        # A clock set back must not make a negative interval.
        end = max(now, entry["started_at"])
        seconds = seconds_between(entry["started_at"], end)
        self.db.execute(
            "UPDATE time_entries SET ended_at = ?, seconds = ?, updated_at = ? WHERE id = ?",
            (end, seconds, now, entry["id"]),
        )
        self.tasks.history(entry["task_id"], "pause", "time_entry", entry["id"], seconds)
        return {
            "id": entry["id"],
            "task_id": entry["task_id"],
            "started_at": entry["started_at"],
            "ended_at": end,
            "seconds": seconds,
        }
