"""The life of a task: one table of transitions, who may make them, the rule
that completion waits for approval when the task asks for it, and the rule
that a task with open checklist items is not completed (nor sent for approval)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sempi_cli.clock import Clock
from sempi_cli.errors import InvalidData, PermissionDenied, RuleViolation
from sempi_cli.i18n import N_, NP_, ngettext, pgettext
from sempi_cli.i18n import gettext as _
from sempi_cli.services import event_log
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
            raise InvalidData("--reason", _("say why the task goes back to its responsible"))
        results = []
        with self.rehearsal(dry_run, scope=("task", task_ids)):
            for task_id in task_ids:
                task = self.tasks.row(task_id)
                results.append(self._apply(task, transition, reason))
        return results

    def _apply(self, task: sqlite3.Row, transition: Transition, reason: str | None) -> dict:
        if transition.who == "creator":
            if task["creator_id"] != self.actor.id:
                only = _CREATOR_ONLY.get(transition.verb, "")
                raise PermissionDenied(
                    _(only).format(task=task["id"])
                    if only
                    else f"only the creator of task {task['id']} may {transition.verb} it"
                )
        else:
            self.tasks.may_change(task)
        if task["status"] not in transition.sources:
            raise RuleViolation(*_refusal(task, transition.verb))
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
        self.tasks.set_fields(task, fields, transition.verb, event=False)
        if reason:
            self.tasks.history(task["id"], "reason", None, None, reason.strip())
        self._events(task, transition.verb, target, reason)
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
        result = {"id": task["id"], "old_status": task["status"], "status": target}
        if task["template_id"] or task["from_template_id"]:  # a template's signing rule
            from sempi_cli.services.signing.on_status import SignOnStatus

            result |= SignOnStatus(self.db, self.clock, self.actor).reached(task, target) or {}
        return result

    def _events(self, task: sqlite3.Row, verb: str, target: str, reason: str | None) -> None:
        """``task.status_changed`` for every transition, then what it means:
        ``task.completed``, ``task.approved``, ``task.returned``."""
        changes = {"status": {"old": task["status"], "new": target}}
        reason = (reason or "").strip() or None
        kinds = ["task.status_changed"]
        if target == "completed":
            kinds.append("task.completed")
        if verb == "approve":
            kinds.append("task.approved")
        elif verb == "return":
            kinds.append("task.returned")
        for kind in kinds:
            data: dict[str, object] = {"title": task["title"]}
            if kind != "task.returned":
                data["verb"] = verb
            if kind in ("task.status_changed", "task.returned"):
                data["reason"] = reason
            event_log.record(
                self.db,
                self.clock,
                self.actor,
                kind,
                task["id"],
                task["client_id"],
                changes=changes,
                data=data,
            )


# Only the creator approves or returns: "only the creator of task 12 may approve it".
_CREATOR_ONLY = {
    "approve": N_("only the creator of task {task} may approve it"),
    "return": N_("only the creator of task {task} may return it"),
}
# A refused transition, by the status the task is in: "task 12 is completed: it
# cannot be started"; and what that status allows instead (allowed_from).
_CANNOT = {
    "pending": N_("task {task} is pending: it cannot be {action}"),
    "in_progress": N_("task {task} is in progress: it cannot be {action}"),
    "awaiting_approval": N_("task {task} is awaiting approval: it cannot be {action}"),
    "completed": N_("task {task} is completed: it cannot be {action}"),
    "deferred": N_("task {task} is deferred: it cannot be {action}"),
}
_PAST = {
    "start": NP_("task action", "started"),
    "done": NP_("task action", "completed"),
    "approve": NP_("task action", "approved"),
    "return": NP_("task action", "returned"),
    "defer": NP_("task action", "deferred"),
    "reopen": NP_("task action", "reopened"),
}
_ALLOWED = {
    "pending": N_("from pending you can: start, done, defer"),
    "in_progress": N_("from in progress you can: done, defer"),
    "awaiting_approval": N_("from awaiting approval you can: approve, return"),
    "completed": N_("from completed you can: reopen"),
    "deferred": N_("from deferred you can: start, reopen"),
}


def _refusal(task: sqlite3.Row, verb: str) -> tuple[str, str]:
    """The problem and the hint of a transition the task's status refuses."""
    status = task["status"]
    words = status.replace("_", " ")
    allowed = ", ".join(allowed_from(status)) or "nothing"
    problem = _CANNOT.get(status, "task {task} is " + words + ": it cannot be {action}")
    hint = _ALLOWED.get(status, "from " + words + " you can: " + allowed)
    return _(problem).format(task=task["id"], action=pgettext("task action", _PAST[verb])), _(hint)


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
    if count > OPEN_SHOWN:
        named += _("; and {n} more").format(n=count - OPEN_SHOWN)
    raise RuleViolation(
        ngettext(
            "task {task} has {n} open checklist item: {items}",
            "task {task} has {n} open checklist items: {items}",
            count,
        ).format(task=task_id, n=count, items=named),
        ngettext(
            "check them off first ('sempi checklist list {task}')",
            "check them off first ('sempi checklist list {task}')",
            count,
        ).format(task=task_id),
    )


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
