"""Time reports: spent against planned, grouped by task, person, client, practice
or period, aggregated in SQL (a year of a firm's entries never enters Python).

Periods are Rome dates: an entry belongs to the Rome day its start falls on,
whatever the daylight-saving offset. Rounding for billing is applied per entry,
in the report only; stored intervals are never rounded.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from sempi_cli.clock import iso_utc, today_in_rome
from sempi_cli.errors import InvalidData
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.store.sql import indexed_by, monday_of, rome_day

BYS = ("task", "user", "client", "practice", "day", "week", "month")
COLUMNS = ("group", "name", "entries", "spent_seconds", "planned_seconds", "overrun_seconds")
# The name of the group of time on tasks without a client (or a practice): English
# in JSON and CSV, as every value; the table shows it in the reader's language.
NO_CLIENT = N_("(no client)")
NO_PRACTICE = N_("(no practice)")


def _period_key(db: sqlite3.Connection, by: str) -> str | None:
    day = rome_day(db, "e.started_at")
    if by == "day":
        return day
    if by == "week":
        return monday_of(db, day)
    if by == "month":
        return f"substr({day}, 1, 7)"
    return None


def said_day(day: date) -> str:
    """A day in a sentence: ISO in English, as it always was; dd/mm/yyyy in Italian."""
    from sempi_cli.i18n import current

    return day.isoformat() if current() == "en" else day.strftime("%d/%m/%Y")


class TimerReports(Service):
    def period(self, start: str | None, end: str | None) -> tuple[date, date]:
        """The Rome dates typed (inclusive); by default this month up to today."""
        from sempi_cli.timeparse import parse_date

        now, today = self.clock.now(), today_in_rome(self.clock)
        first = parse_date(start, now, field="--from") if start else today.replace(day=1)
        last = parse_date(end, now, field="--to") if end else max(today, first)
        if first > last:
            raise InvalidData(
                "--from",
                _("{first} is after --to {last}").format(
                    first=said_day(first), last=said_day(last)
                ),
                _("swap them"),
            )
        return first, last

    def report(
        self,
        by: str = "task",
        start: str | None = None,
        end: str | None = None,
        round_to: str | None = None,
    ) -> list[dict]:
        """One row per group: entries, time spent, planned time and the overrun
        (planned and overrun by task, client and practice: a task's plan is not
        split across people or days)."""
        from sempi_cli.timeparse import day_start, parse_duration

        if by not in BYS:
            raise InvalidData(
                "--by",
                _("{value} is not one of {choices}").format(value=repr(by), choices=", ".join(BYS)),
            )
        step = None
        if round_to is not None:
            step = int(parse_duration(round_to, field="--round").total_seconds())
        first, last = self.period(start, end)
        params: dict[str, object] = {
            "start": iso_utc(day_start(first, field="--from")),
            "end": iso_utc(day_start(last, field="--to", days_later=1)),
            "now_epoch": int(self.clock.now().timestamp()),
            "step": step or 1,
            "no_client": NO_CLIENT,
            "no_practice": NO_PRACTICE,
        }
        # A running timer counts up to now.
        running = ":now_epoch - unixepoch(e.started_at)"
        spent = f"coalesce(e.seconds, CASE WHEN {running} > 0 THEN {running} ELSE 0 END)"
        billed = f"(({spent} + :step - 1) / :step) * :step" if step else "CAST(NULL AS INTEGER)"
        key = {"user": "e.user_id"}.get(by) or _period_key(self.db, by)
        # Per task, a period is summed from the covering index in task order: no
        # table lookups and no sort, whatever share of the store the period holds.
        # (The planner would pick the started_at index for any range, then look up
        # and sort every row of a year.)
        source = (
            "time_entries e" if key else indexed_by(self.db, "time_entries e", "time_entries_task")
        )
        # An external user's report counts their own time only: the firm's is its own.
        own = " AND e.user_id = :actor_id" if self.actor.role == "external" else ""
        inner = (
            f"SELECT e.task_id AS task_id, {key or 'NULL'} AS k, count(*) AS entries,"
            f" sum({spent}) AS spent, sum({billed}) AS billed"
            f" FROM {source} WHERE e.removed_at IS NULL{own}"
            " AND e.started_at >= :start AND e.started_at < :end"
            f" GROUP BY e.task_id{', k' if key else ''}"
        )
        planned = "t.planned_minutes * 60"
        overrun = (
            f"CASE WHEN p.spent > {planned} THEN p.spent - {planned}"
            " WHEN t.planned_minutes IS NOT NULL THEN 0 END"
        )
        joins = ""
        if by == "task":
            group, name, order = "t.id", "t.title", "t.id"
        elif by == "client":
            group, name = "t.client_id", "coalesce(c.ragione_sociale, :no_client)"
            joins, order = " LEFT JOIN clients c ON c.id = t.client_id", "name, grp"
        elif by == "practice":
            group, name = "c.studio_id", "coalesce(s.name, :no_practice)"
            joins = (
                " LEFT JOIN clients c ON c.id = t.client_id"
                " LEFT JOIN studios s ON s.id = c.studio_id"
            )
            order = "name, grp"
        elif by == "user":
            group, name = "p.k", "u.email"
            joins, order = " JOIN users u ON u.id = p.k", "name"
            planned = overrun = "CAST(NULL AS INTEGER)"
        else:
            group, name, order = "p.k", "p.k", "grp"
            planned = overrun = "CAST(NULL AS INTEGER)"
        where, visible = access.visible_tasks(self.actor)
        params.update(visible)
        sql = (
            f"WITH p AS ({inner})"
            f" SELECT {group} AS grp, {name} AS name, sum(p.entries) AS entries,"
            f" sum(p.spent) AS spent_seconds, sum(p.billed) AS billed_seconds,"
            f" sum({planned}) AS planned_seconds, sum({overrun}) AS overrun_seconds"
            f" FROM p JOIN tasks t ON t.id = p.task_id{joins}"
            f" WHERE t.removed_at IS NULL AND {where}"
            f" GROUP BY grp, name ORDER BY {order}"  # one name a group: both engines group alike
        )
        rows = []
        for r in self.db.execute(sql, params):
            row = {
                "group": r["grp"],
                "name": r["name"],
                "entries": r["entries"],
                "spent_seconds": r["spent_seconds"],
                "planned_seconds": r["planned_seconds"],
                "overrun_seconds": r["overrun_seconds"],
            }
            if by == "week":
                year, week, _weekday = date.fromisoformat(r["grp"]).isocalendar()
                row["name"] = f"{year}-W{week:02d}"
            if step is not None:
                row["billed_seconds"] = r["billed_seconds"]
            rows.append(row)
        return rows
