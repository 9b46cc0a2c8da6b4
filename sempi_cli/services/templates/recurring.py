"""Recurring tasks: setting a template's rule, and the run that turns each
occurrence into one task.

A run materialises every occurrence up to a date as one task, keyed
``(template_id, occurrence)`` by a UNIQUE index and written with ``ON CONFLICT
DO NOTHING``, inside one ``BEGIN IMMEDIATE`` transaction: a re-run, or two runs
at once, never make a duplicate. A task made by a run and later removed stays
in the store, so its occurrence is never made again.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import TypedDict

from sempi_cli.clock import Clock, today_in_rome
from sempi_cli.errors import InvalidData, NotFound
from sempi_cli.i18n import gettext as _
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service, changes
from sempi_cli.services.checklists.checklists import ChecklistService
from sempi_cli.services.tasks.tasks import TaskService
from sempi_cli.services.templates import rrule as recurrence
from sempi_cli.services.templates.rrule import Rule, deadline_of, rule_of
from sempi_cli.services.templates.templates import COPIED, MAX_RUN_AHEAD, TemplateService
from sempi_cli.store.sql import in_marks


class RunCounts(TypedDict):
    """What a recurrence run did: up to when, templates read, tasks made, occurrences
    already tasks, and the templates skipped (their responsible is disabled)."""

    until: str
    templates: int
    created: int
    existing: int
    skipped: list[str]


class RecurrenceService(Service):
    """Rules on templates and the run that makes their tasks. Holds the
    TemplateService that finds a template and says who may change it (composed,
    not inherited: a template is one concern, its recurrence another)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor | None = None) -> None:
        super().__init__(db, clock, actor)
        self.templates = TemplateService(db, clock, actor)

    def rule(
        self,
        freq: str,
        start: str,
        *,
        interval: int = 1,
        until: str | None = None,
        count: int | None = None,
        shift: str = "none",
    ) -> Rule:
        """A rule from what a person typed (dates as timeparse reads them)."""
        from sempi_cli.timeparse import parse_date

        now = self.clock.now()
        return Rule(
            freq=(freq or "").strip().lower().replace("-", "_"),
            start=parse_date(start, now, field="--start"),
            interval=interval,
            until=parse_date(until, now, field="--until") if until else None,
            count=count,
            shift=(shift or "none").strip().lower(),
        )

    def recur(self, ref: str, rule: Rule | None) -> dict:
        """Give a template a rule (None: stop recurring). A task id makes first a
        template from the task, named ``task-<id>`` (or reuses the one made before);
        the task itself stays a one-off."""
        self.templates.require_firm()
        ref = (ref or "").strip()
        with self.transaction():
            if ref.isdigit():
                name = f"task-{int(ref)}"
                try:
                    template = self.templates.row(name)
                except NotFound:
                    if rule is None:
                        raise
                    self.templates.from_task(int(ref), name)
                    template = self.templates.row(name)
            else:
                template = self.templates.row(ref)
            self.templates.may_change(template)
            values = {
                "recur_freq": rule.freq if rule else None,
                "recur_interval": rule.interval if rule else 1,
                "recur_start": rule.start.isoformat() if rule else None,
                "recur_until": rule.until.isoformat() if rule and rule.until else None,
                "recur_count": rule.count if rule else None,
                "recur_shift": rule.shift if rule else "none",
            }
            diff = changes(template, values)
            if diff:
                self.db.execute(
                    "UPDATE task_templates SET recur_freq = :recur_freq, recur_interval = :recur_interval,"
                    " recur_start = :recur_start, recur_until = :recur_until, recur_count = :recur_count,"
                    " recur_shift = :recur_shift, updated_at = :now WHERE id = :id",
                    {**values, "now": self.now(), "id": template["id"]},
                )
                self.audit("recur", "task_template", template["id"], changes=diff)
        return self.templates.show(template["name"])

    def run(self, until: str | date | None = None, *, dry_run: bool = False) -> RunCounts:
        """Make every occurrence up to *until* (default: today in Rome) that is not
        yet a task, for every recurring template the actor sees; cron-safe."""
        self.templates.require_firm()
        today = today_in_rome(self.clock)
        if isinstance(until, str):
            from sempi_cli.timeparse import parse_date

            until = parse_date(until, self.clock.now(), field="--until")
        until = until or today
        if until > today + MAX_RUN_AHEAD:
            raise InvalidData(
                "--until",
                _("{day} is more than a year ahead").format(day=recurrence.people_day(until)),
            )
        tasks = TaskService(self.db, self.clock, self._actor)
        counts: RunCounts = {
            "until": until.isoformat(),
            "templates": 0,
            "created": 0,
            "existing": 0,
            "skipped": [],
        }
        with self.rehearsal(dry_run):  # reads inside BEGIN IMMEDIATE: concurrent runs queue
            where, params = self.templates.visible()
            templates = self.db.execute(
                "SELECT tt.*, ru.disabled_at AS responsible_disabled FROM task_templates tt"
                " LEFT JOIN users ru ON ru.id = tt.responsible_id"
                f" WHERE tt.removed_at IS NULL AND tt.recur_freq IS NOT NULL AND {where} ORDER BY tt.id",
                params,
            ).fetchall()
            for template in templates:
                counts["templates"] += 1
                made = {
                    r[0]
                    for r in self.db.execute(
                        "SELECT occurrence FROM tasks WHERE template_id = ?", (template["id"],)
                    )
                }
                rule = rule_of(template)
                assert rule is not None  # the query reads recurring templates only
                due = recurrence.occurrences(rule, until)
                missing = [(n, d) for n, d in due if n.isoformat() not in made]
                counts["existing"] += len(due) - len(missing)
                if missing and template["responsible_disabled"] is not None:
                    counts["skipped"].append(template["name"])  # made once someone takes it over
                    continue
                members = self._active_members(template)
                for nominal, effective in missing:
                    if self._instance(tasks, template, members, nominal, effective):
                        counts["created"] += 1
                    else:
                        counts["existing"] += 1
            if counts["created"]:
                self.audit(
                    "recur_run",
                    "task_template",
                    None,
                    until=until.isoformat(),
                    created=counts["created"],
                )
        return counts

    def _active_members(self, template: sqlite3.Row) -> tuple[list[int], list[int]]:
        """The template's participants and observers who are still active users."""
        lists = (json.loads(template["participants"]), json.loads(template["observers"]))
        ids = sorted({*lists[0], *lists[1]})
        active = {
            r[0]
            for r in self.db.execute(
                f"SELECT id FROM users WHERE disabled_at IS NULL AND id IN ({in_marks(ids)})",
                ids,
            )
        }
        return [u for u in lists[0] if u in active], [u for u in lists[1] if u in active]

    def _instance(
        self,
        tasks: TaskService,
        template: sqlite3.Row,
        members: tuple[list[int], list[int]],
        nominal: date,
        effective: date,
    ) -> bool:
        values = {column: template[column] for column in COPIED}
        values.update(
            responsible_id=template["responsible_id"] or template["creator_id"],
            creator_id=template["creator_id"],
            deadline=deadline_of(effective, template["deadline_days"], template["deadline_time"]),
            template_id=template["id"],
            occurrence=nominal.isoformat(),
        )
        made = tasks.add_instance(values, *members, json.loads(template["tags"]))
        if made is not None and template["checklists"] != "[]":
            ChecklistService(self.db, self.clock, self._actor).instantiate(
                made, template["checklists"]
            )
        return made is not None
