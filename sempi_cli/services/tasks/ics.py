"""Tasks as an iCalendar file (`sempi task export --ics`): each task with a deadline
one event at its deadline, so a phone's calendar shows what is due next to the
fiscal deadlines. UIDs are stable per (store, task); SEQUENCE grows with every
change of the task; a completed task is STATUS:CANCELLED, so importing a newer
file takes it off the calendar.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sempi_cli.services.ics_file import new_calendar, sequence, store_identity

EVENT_LENGTH = timedelta(minutes=15)  # a deadline is a moment; a calendar wants a span


def build_ics(db: sqlite3.Connection, records: Sequence[dict], now: datetime) -> str:
    """``records`` as TaskTransfer.export gives them; those without a deadline are left out."""
    from icalendar import Event

    store_id = store_identity(db)
    cal = new_calendar(db, "Incarichi", "incarichi")
    stamp = now.astimezone(UTC).replace(microsecond=0)
    for task in records:
        if not task["deadline"]:
            continue
        due = datetime.fromisoformat(str(task["deadline"])).astimezone(UTC)
        changed = datetime.fromisoformat(str(task["updated_at"]))
        event = Event()
        event.add("uid", f"task-{task['id']}@{store_id}.sempi")
        event.add("dtstamp", stamp)
        event.add("dtstart", due)
        event.add("dtend", due + EVENT_LENGTH)
        done = task["status"] == "completed"
        event.add("summary", ("✓ " if done else "") + str(task["title"]))
        event.add("description", _description(task))
        event.add("status", "CANCELLED" if done else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        event.add("categories", ["Incarichi", *task["tags"]])
        event.add("last-modified", changed.astimezone(UTC).replace(microsecond=0))
        event.add("sequence", sequence(changed))
        cal.add_component(event)
    return str(cal.to_ical().decode("utf-8"))


def _description(task: dict) -> str:
    lines = [f"Incarico {task['id']}: {task['title']}", f"Responsabile: {task['responsible']}"]
    if task.get("client_id"):
        lines.append(f"Cliente: id {task['client_id']}")
    if task.get("description"):
        lines.append(str(task["description"]))
    lines.append(f"sempi task show {task['id']}")
    return "\n".join(lines)
