"""Task events that reach people's inboxes as ``task`` notifications.

tasks/ sits above this package and calls here right after it writes the
history line of the change, inside its transaction (one line per call site):
a task given to someone, someone added as participant or observer, a task
approved, returned, commented, its deadline moved. Nobody is told of their own
action. Each notification's source carries the history line's id, so each event
notifies each person once, and the same change made again later notifies again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime

from sempi_cli.clock import ROME, Clock
from sempi_cli.i18n import Text
from sempi_cli.services.access import Actor
from sempi_cli.services.notify.centre import NotificationService

EXCERPT = 120  # characters of a comment or a reason in the notification


def _excerpt(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= EXCERPT else words[: EXCERPT - 1] + "…"


def _detail(text: str) -> str:
    """A comment or a reason, shortened, with a full stop unless it ends a sentence."""
    shown = _excerpt(text)
    return shown if shown.endswith((".", "!", "?", "…")) else shown + "."


def _text(
    what: str, who: str, task_id: int, title: str, deadline: str | None, detail: str | None
) -> Text:
    """What happened, for its recipient to read in their language: the sentence
    alone, or followed by a comment or a reason (``detail``, shortened, its full stop
    included); a moved deadline names the new one (a day and a time), or none."""
    names: dict[str, object] = {"who": who, "task": task_id, "title": title}
    if what == "deadline":
        if deadline is None:
            return Text(
                "{who} moved the deadline of task {task} ({title}) to none (removed).", **names
            )
        at = datetime.fromisoformat(deadline).astimezone(ROME)
        day, time = at.strftime("%d/%m/%Y"), at.strftime("%H:%M")
        return Text(
            "{who} moved the deadline of task {task} ({title}) to {day} {time}.",
            **names,
            day=day,
            time=time,
        )
    if detail and detail.strip():
        names["detail"] = _detail(detail)
        if what == "assigned":
            return Text("{who} gave you task {task} ({title}): {detail}", **names)
        if what == "participant":
            return Text(
                "{who} added you as a participant to task {task} ({title}): {detail}", **names
            )
        if what == "observer":
            return Text(
                "{who} added you as an observer of task {task} ({title}): {detail}", **names
            )
        if what == "approved":
            return Text("{who} approved task {task} ({title}): {detail}", **names)
        if what == "returned":
            return Text("{who} returned task {task} ({title}) to you: {detail}", **names)
        if what == "commented":
            return Text("{who} commented on task {task} ({title}): {detail}", **names)
    elif what == "assigned":
        return Text("{who} gave you task {task} ({title}).", **names)
    elif what == "participant":
        return Text("{who} added you as a participant to task {task} ({title}).", **names)
    elif what == "observer":
        return Text("{who} added you as an observer of task {task} ({title}).", **names)
    elif what == "approved":
        return Text("{who} approved task {task} ({title}).", **names)
    elif what == "returned":
        return Text("{who} returned task {task} ({title}) to you.", **names)
    elif what == "commented":
        return Text("{who} commented on task {task} ({title}).", **names)
    raise ValueError(f"unknown task event {what!r}")


def people_on(db: sqlite3.Connection, task_id: int) -> list[int]:
    """Everyone a task is about: its responsible, creator, participants and observers."""
    return [
        int(r[0])
        for r in db.execute(
            "SELECT responsible_id FROM tasks WHERE id = :t UNION SELECT creator_id FROM tasks"
            " WHERE id = :t UNION SELECT user_id FROM task_members WHERE task_id = :t",
            {"t": task_id},
        )
        if r[0] is not None
    ]


def task_event(
    db: sqlite3.Connection,
    clock: Clock,
    actor: Actor,
    task_id: int,
    user_ids: Iterable[object] | None,
    what: str,
    detail: str | None = None,
) -> None:
    """Tell ``user_ids`` (None: everyone on the task) what ``actor`` just did to the
    task; ``detail`` is a comment or a reason, shortened. Called right after the
    change's history line: that line's id names the event."""
    task = db.execute(
        "SELECT t.title, t.deadline, (SELECT max(h.id) FROM task_history h"
        " WHERE h.task_id = t.id) AS event FROM tasks t WHERE t.id = ?",
        (task_id,),
    ).fetchone()
    text = _text(what, actor.full_name, task_id, task["title"], task["deadline"], detail)
    inbox = NotificationService(db, clock, actor)
    people = people_on(db, task_id) if user_ids is None else user_ids
    for user_id in dict.fromkeys(people):
        if not isinstance(user_id, int) or user_id == actor.id:
            continue
        source = f"task:{task_id}:{what}:{task['event']}:{user_id}"
        inbox.notify(user_id, "task", text, source, task_id=task_id)


def task_changed(
    db: sqlite3.Connection, clock: Clock, actor: Actor, task_id: int, field: str, new: object
) -> None:
    """A field of a task changed (its history line just written): a new responsible
    is told the task is theirs; a moved deadline is told to everyone on the task."""
    if field == "responsible_id" and isinstance(new, int):
        task_event(db, clock, actor, task_id, [new], "assigned")
    elif field == "deadline":
        task_event(db, clock, actor, task_id, None, "deadline")
