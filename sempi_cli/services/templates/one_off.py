"""One task from a template, now (`sempi task add --template NAME`): the template's
content, people, tags and checklists, due its usual number of days from today,
without waiting for (or having) a recurrence rule.

It goes through TaskService.add, so every rule of a new task holds (responsible,
the boundary between practices, the subtask's client). Its history says which
template it came from, and from_template_id names it (template_id stays for
recurring instances: the store ties it to an occurrence).
"""

from __future__ import annotations

import json

from sempi_cli.clock import today_in_rome
from sempi_cli.services.base import Service
from sempi_cli.services.checklists.checklists import ChecklistService
from sempi_cli.services.tasks.input import TaskInput
from sempi_cli.services.tasks.tasks import TaskService
from sempi_cli.services.templates.rrule import deadline_of
from sempi_cli.services.templates.templates import TemplateService


class OneOffTasks(Service):
    def add(
        self,
        name: str,
        *,
        title: str | None = None,
        responsibles: list[str] | None = None,
        deadline: str | None = None,
        client: int | None = None,
        parent: int | None = None,
    ) -> list[dict]:
        """The template's task, once; what is given here replaces the template's."""
        templates = TemplateService(self.db, self.clock, self._actor)
        tasks = TaskService(self.db, self.clock, self._actor)
        with self.transaction():
            template = templates.row(name)
            due = deadline or deadline_of(
                today_in_rome(self.clock), template["deadline_days"], template["deadline_time"]
            )
            planned = template["planned_minutes"]
            data = TaskInput(
                title=title or template["title"],
                responsibles=responsibles
                or [str(template["responsible_id"] or template["creator_id"])],
                description=template["description"],
                participants=[str(u) for u in json.loads(template["participants"])],
                observers=[str(u) for u in json.loads(template["observers"])],
                high_priority=bool(template["high_priority"]),
                deadline=due,
                planned=None if planned is None else f"{planned}m",
                client=client if client is not None else template["client_id"],
                project=template["project"],
                parent=parent,
                tags=json.loads(template["tags"]),
                kind=template["kind"],
                approval_required=bool(template["approval_required"]),
                responsible_sets_deadline=bool(template["responsible_sets_deadline"]),
                time_tracking=bool(template["time_tracking"]),
                from_template=template["id"],
            )
            made = tasks.add(data)
            checklists = ChecklistService(self.db, self.clock, self._actor)
            for task in made:
                tasks.history(task["id"], "from_template", "template", None, template["name"])
                if template["checklists"] != "[]":
                    checklists.instantiate(task["id"], template["checklists"])
            self.audit("add_from_template", "task_template", template["id"], tasks=len(made))
        return [tasks.show(task["id"]) for task in made]
