"""The scadenzario as an iCalendar file (RFC 5545) for any calendar app.

One all-day event per deadline, with a UID stable per (store, client, rule,
period): a calendar app that imports the file again updates its events instead
of adding copies, and drops the ones marked STATUS:CANCELLED.

A yearly form's UID names its tax year, not its period (the form's year): the
UIDs were issued when those periods were tax years ("CU 2025", due 16 March
2026, now "CU 2026"), and keeping them lets the calendar update each event —
the renamed summary comes with a higher SEQUENCE (migration m014 touched the
deadlines) — instead of adding a copy beside the old one.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

from sempi_cli.fiscal.rules import RULES_BY_ID, Rule
from sempi_cli.services.ics_file import new_calendar, sequence, store_identity


def event_uid(row: dict, store_id: str) -> str:
    """The event's identifier, per (store, client, rule, period); a yearly form's
    names its tax year, as it did before forms were named by their year."""
    rule = RULES_BY_ID.get(row["rule_id"])
    key = (
        str(row["tax_year"])
        if rule is not None and rule.period_is == "form_year"
        else row["period"]
    )
    return f"{row['client_id']}-{row['rule_id']}-{key}@{store_id}.sempi"


def build_ics(db: sqlite3.Connection, rows: list[dict], now: datetime) -> str:
    """*rows* as ``ScheduleViews.list`` gives them, as one calendar."""
    from icalendar import Alarm, Event

    store_id = store_identity(db)
    cal = new_calendar(db, "Scadenze fiscali", "scadenzario fiscale")
    stamp = now.astimezone(UTC).replace(microsecond=0)
    for row in rows:
        due = date.fromisoformat(row["due_date"])
        changed = datetime.fromisoformat(row["updated_at"]).astimezone(UTC)
        touched = max(changed, datetime.fromisoformat(row["task_updated_at"]).astimezone(UTC))
        event = Event()
        event.add("uid", event_uid(row, store_id))
        event.add("dtstamp", stamp)
        event.add("dtstart", due)
        event.add("dtend", due + timedelta(days=1))
        done = "✓ " if row["status"] == "done" else ""
        event.add("summary", f"{done}{row['rule_id']} {row['period']} — {row['client']}")
        event.add("description", _description(row))
        event.add("status", "CANCELLED" if row["status"] == "cancelled" else "CONFIRMED")
        event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
        event.add("categories", ["Scadenze fiscali", row["rule_id"]])
        event.add("last-modified", touched.replace(microsecond=0))
        event.add("sequence", sequence(changed))
        rule = RULES_BY_ID.get(row["rule_id"])
        if rule is not None and row["status"] in ("upcoming", "overdue"):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{row['rule_id']} {row['period']} — {row['client']}")
            alarm.add("trigger", timedelta(days=-rule.lead_days))
            event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical().decode("utf-8")


def _description(row: dict) -> str:
    rule = RULES_BY_ID.get(row["rule_id"])
    lines = [
        row["label"] or row["rule_id"],
        f"Cliente: {row['client']} (id {row['client_id']})",
        f"Periodo: {_period_name(row, rule)}",
        f"Scadenza nominale: {row['nominal_date']}",
    ]
    if row["shifts"]:
        lines.append("Spostamenti:")
        lines.extend(f"- {s['from']} → {s['to']}: {s['reason']}" for s in row["shifts"])
    if row["override_reason"]:
        lines.append(f"Proroga: {row['override_reason']}")
    if rule is not None:
        lines.append(f"Base normativa: {rule.legal_basis}")
    # Not "overdue" or "upcoming": an imported calendar keeps the text, and those go stale.
    state = {"done": " (completato)", "cancelled": " (annullato)"}.get(row["status"], "")
    lines.append(
        f"Incarico: task {row['task_id']}{state}, responsabile {row['responsible'] or '-'}"
    )
    return "\n".join(lines)


def _period_name(row: dict, rule: Rule | None) -> str:
    """A form's year with the year it concerns beside it; any other period as stored."""
    if rule is None or rule.period_is != "form_year":
        return row["period"]
    return rule.period_name(int(row["period"]), 0)
