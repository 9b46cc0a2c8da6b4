"""A task as one command sees it, and the line a change adds to its history: what
the timer needs of tasks, in a module light enough for the fast path
(cli/fastpath.py). TaskService reads and writes through it too."""

from __future__ import annotations

import sqlite3

from sempi_cli.errors import NotFound
from sempi_cli.i18n import gettext as _
from sempi_cli.services.base import Service
from sempi_cli.services.visibility import visible_tasks


class TaskRows(Service):
    def row(self, task_id: int) -> sqlite3.Row:
        """The task if the actor may see it; NotFound otherwise (existence never leaks)."""
        where, params = visible_tasks(self.actor)
        row = self.db.execute(
            f"SELECT t.* FROM tasks t WHERE t.id = :id AND t.removed_at IS NULL AND {where}",
            {**params, "id": task_id},
        ).fetchone()
        if row is None:
            raise NotFound(_("task {task} not found").format(task=task_id))
        return row

    def history(
        self,
        task_id: int,
        action: str,
        field: str | None = None,
        old: object = None,
        new: object = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO task_history (task_id, at, actor_id, action, field, old, new) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (task_id, self.now(), self.actor.id, action, field, _text(old), _text(new)),
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
