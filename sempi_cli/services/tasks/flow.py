"""The life of a task: one table of transitions, who may make them, the rule
that completion waits for approval when the task asks for it, and the rule
that a task with open checklist items is not completed (nor sent for approval)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sempi_cli.clock import Clock
from sempi_cli.errors import InvalidData, PermissionDenied, RuleViolation
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.notify.task_events import task_event
from sempi_cli.services.tasks.tasks import TaskService


@dataclass(frozen=True)
class Transition:
    verb: str
    sources: frozenset[str]
    target: str
    who: str  # "doer": creator or responsible; "creator": the creator only


TRANSITIONS = {
    t.verb: t
    for t in (
        Transition("start", frozenset({"pending", "deferred"}), "in_progress", "doer"),
        Transition("done", frozenset({"pending", "in_progress"}), "completed", "doer"),
        Transition("approve", frozenset({"awaiting_approval"}), "completed", "creator"),
        Transition("return", frozenset({"awaiting_approval"}), "in_progress", "creator"),
        Transition("defer", frozenset({"pending", "in_progress"}), "deferred", "doer"),
        Transition("reopen", frozenset({"completed", "deferred"}), "pending", "doer"),
    )
}


def allowed_from(status: str) -> list[str]:
    return [t.verb for t in TRANSITIONS.values() if status in t.sources]


class TaskFlow(Service):
    """The transitions, applied through the TaskService that owns a task's row and
    history (composed, not inherited: the flow is one concern, the task another)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor | None = None) -> None:
        super().__init__(db, clock, actor)
        self.tasks = TaskService(db, clock, actor)

    def change(
        self, verb: str, task_ids: list[int], *, reason: str | None = None, dry_run: bool = False
    ) -> list[dict]:
        """Move tasks through their life, all or nothing."""
        transition = TRANSITIONS[verb]
        if verb == "return" and not (reason or "").strip():
            raise InvalidData("--reason", "say why the task goes back to its responsible")
        results = []
        with self.rehearsal(dry_run):
            for task_id in task_ids:
                task = self.tasks.row(task_id)
                results.append(self._apply(task, transition, reason))
        return results

    def _apply(self, task: sqlite3.Row, transition: Transition, reason: str | None) -> dict:
        if transition.who == "creator":
            if task["creator_id"] != self.actor.id:
                raise PermissionDenied(
                    f"only the creator of task {task['id']} may {transition.verb} it"
                )
        else:
            self.tasks.may_change(task)
        if task["status"] not in transition.sources:
            allowed = allowed_from(task["status"])
            raise RuleViolation(
                f"task {task['id']} is {task['status'].replace('_', ' ')}: it cannot be {_past(transition.verb)}",
                f"from {task['status'].replace('_', ' ')} you can: {', '.join(allowed) or 'nothing'}",
            )
        target = transition.target
        fields: dict[str, object] = {"status": target}
        if transition.verb == "done":
            if task["approval_required"] and self.actor.id != task["creator_id"]:
                target = fields["status"] = "awaiting_approval"
        if target in ("awaiting_approval", "completed"):
            refuse_open_items(self.db, task["id"])
        if target == "completed":
            fields["completed_at"] = self.now()
        elif task["completed_at"] is not None:
            fields["completed_at"] = None
        if transition.verb == "return":
            fields["return_count"] = task["return_count"] + 1
        self.tasks.set_fields(task, fields, transition.verb)
        if reason:
            self.tasks.history(task["id"], "reason", None, None, reason.strip())
        if transition.verb in ("approve", "return"):
            task_event(
                self.db,
                self.clock,
                self.actor,
                task["id"],
                [task["responsible_id"]],
                _past(transition.verb),
                reason,
            )
        return {"id": task["id"], "old_status": task["status"], "status": target}


def _past(verb: str) -> str:
    return {
        "start": "started",
        "done": "completed",
        "approve": "approved",
        "return": "returned",
        "defer": "deferred",
        "reopen": "reopened",
    }[verb]


OPEN_SHOWN = 5  # open items named in a refused completion


def refuse_open_items(db: sqlite3.Connection, task_id: int) -> None:
    """The rule: a task with an open checklist item is not completed, nor sent
    for approval. Raises RuleViolation naming the first few open items.

    It lives with the transitions it guards (it reads the checklist tables;
    checklists/ builds on tasks/, never the other way round)."""
    rows = db.execute(
        "SELECT ci.id, ci.text FROM checklist_items ci JOIN checklists cl ON cl.id = ci.checklist_id"
        " WHERE cl.task_id = ? AND ci.done_at IS NULL ORDER BY cl.position, ci.id LIMIT ?",
        (task_id, OPEN_SHOWN + 1),
    ).fetchall()
    if not rows:
        return
    count = len(rows)
    if count > OPEN_SHOWN:
        count = db.execute(
            "SELECT count(*) FROM checklist_items ci JOIN checklists cl ON cl.id = ci.checklist_id"
            " WHERE cl.task_id = ? AND ci.done_at IS NULL",
            (task_id,),
        ).fetchone()[0]
    named = ", ".join(f"{r[0]} {_short(r[1])}" for r in rows[:OPEN_SHOWN])
    more = f"; and {count - OPEN_SHOWN} more" if count > OPEN_SHOWN else ""
    noun = "item" if count == 1 else "items"
    raise RuleViolation(
        f"task {task_id} has {count} open checklist {noun}: {named}{more}",
        f"check them off first ('sempi checklist list {task_id}')",
    )


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
