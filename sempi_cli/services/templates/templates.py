"""Task templates and recurring tasks: the reusable content of a task, an optional
recurrence rule, and the run that turns each occurrence into one task.

Templates are the firm's work tools: firm users (firm administrators, staff)
use them; practice and external users never do. A staff member sees the
templates without a client, those they created or are responsible for, and
those of the clients whose work group they see; the creator, the responsible
and firm administrators change a template, the creator and firm
administrators remove it (softly: its instances keep pointing at it).
The rule and its runs live in task_recurrence.py.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta

from sempi_cli.clock import ROME, today_in_rome
from sempi_cli.errors import Conflict, InvalidData, NotFound, PermissionDenied
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service, changes
from sempi_cli.services.checklists.checklists import ChecklistService
from sempi_cli.services.tasks.input import DEFAULT_KIND, KINDS, TemplateEdit, TemplateInput
from sempi_cli.services.tasks.tasks import DEADLINE_TIME, TaskService
from sempi_cli.services.templates import rrule as recurrence
from sempi_cli.services.templates.rrule import rule_of
from sempi_cli.services.text import long_text, no_control
from sempi_cli.store.sql import in_marks

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}", re.ASCII)
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)", re.ASCII)
MAX_DEADLINE_DAYS = 366
# Instances are due at the end of the office day, as a task deadline typed as a date.
DEFAULT_DEADLINE_TIME = DEADLINE_TIME.strftime("%H:%M")
MAX_RUN_AHEAD = timedelta(days=366)  # a typo in --until must not make years of tasks
UPCOMING = 3
COPIED = (  # a task's content that a template keeps, column for column
    "title", "description", "kind", "responsible_id", "client_id", "project", "high_priority",
    "planned_minutes", "approval_required", "responsible_sets_deadline", "time_tracking",
)  # fmt: skip


class TemplateService(Service):
    # --- who sees and changes what ---------------------------------------------------

    def require_firm(self) -> None:
        if not self.actor.is_internal:
            raise PermissionDenied(_("task templates and recurring tasks are for firm users only"))

    def visible(self) -> tuple[str, dict]:
        """The SQL condition (on ``tt``) and parameters of the templates the actor sees."""
        if self.actor.is_firm_admin:
            return "TRUE", {"actor_id": self.actor.id}
        clients, params = access.visible_clients(self.actor, "vc")
        return (
            "(tt.client_id IS NULL OR tt.creator_id = :actor_id OR tt.responsible_id = :actor_id"
            f" OR tt.client_id IN (SELECT vc.id FROM clients vc WHERE {clients}))",
            params,
        )

    def row(self, name: str) -> sqlite3.Row:
        """A live template the actor may see, by name; NotFound otherwise."""
        self.require_firm()
        where, params = self.visible()
        found = self.db.execute(
            f"SELECT tt.* FROM task_templates tt WHERE tt.name = :name AND tt.removed_at IS NULL"
            f" AND {where}",
            {**params, "name": (name or "").strip().lower()},
        ).fetchone()
        if found is None:
            raise NotFound(
                _("template {name} not found").format(name=repr(name)),
                _("see 'sempi task template list'"),
            )
        return found

    def may_change(self, template: sqlite3.Row, *, remove: bool = False) -> None:
        allowed = {template["creator_id"]}
        if not remove:
            allowed.add(template["responsible_id"])
        if self.actor.id in allowed or self.actor.is_firm_admin:
            return
        if remove:
            problem = _("only the creator may remove template {name}")
        else:
            problem = _("only the creator or the responsible may change template {name}")
        raise PermissionDenied(problem.format(name=repr(template["name"])))

    # --- checking what people type ---------------------------------------------------

    def _free_name(self, text: str) -> str:
        name = (text or "").strip().lower()
        if not _NAME.fullmatch(name) or name.isdigit():
            raise InvalidData(
                "NAME",
                _("{value} is not a template name").format(value=repr(text)),
                _("use up to 64 letters, digits, '.', '_' or '-', not only digits"),
            )
        taken = self.db.execute(
            "SELECT removed_at FROM task_templates WHERE name = ?", (name,)
        ).fetchone()
        if taken is not None:
            if taken[0]:
                problem = _("a removed template is named {name}")
            else:
                problem = _("another template is named {name}")
            raise Conflict(problem.format(name=repr(name)), _("choose another name"))
        return name

    @staticmethod
    def _deadline_days(value: int) -> int:
        if not 0 <= value <= MAX_DEADLINE_DAYS:
            raise InvalidData(
                "--deadline-days",
                _("must be between {low} and {high}").format(low=0, high=MAX_DEADLINE_DAYS),
            )
        return value

    @staticmethod
    def _deadline_time(text: str) -> str:
        value = (text or "").strip()
        if not _TIME.fullmatch(value):
            raise InvalidData(
                "--deadline-time",
                _("cannot read {value} as a time").format(value=repr(text)),
                _("use hh:mm, 00:00 to 23:59"),
            )
        return value

    def _emails(self, ids: list[int]) -> list[str]:
        if not ids:
            return []
        marks = in_marks(ids)
        return [
            r[0]
            for r in self.db.execute(
                f"SELECT email FROM users WHERE id IN ({marks}) ORDER BY email", ids
            )
        ]

    # --- templates ----------------------------------------------------------------------

    def add(self, data: TemplateInput) -> dict:
        self.require_firm()
        tasks = TaskService(self.db, self.clock, self._actor)
        title = " ".join((data.title or "").split())
        if not title:
            raise InvalidData("--title", _("the title is empty"))
        no_control(title, "--title")
        kind = data.kind or DEFAULT_KIND
        if kind not in KINDS:
            raise InvalidData(
                "--kind",
                _("{value} is not one of {choices}").format(
                    value=repr(kind), choices=", ".join(KINDS)
                ),
            )
        with self.transaction():
            values = {
                "name": (name := self._free_name(data.name)),
                "title": title,
                "description": long_text(data.description or "", "--description"),
                "kind": kind,
                "responsible_id": tasks.user_id(
                    data.responsible or str(self.actor.id), "--responsible", allow_external=False
                ),
                "client_id": tasks.client_id(data.client),
                "project": (data.project or "").strip() or None,
                "high_priority": int(data.high_priority),
                "planned_minutes": tasks.planned(data.planned),
                "approval_required": int(data.approval_required),
                "responsible_sets_deadline": int(data.responsible_sets_deadline),
                "time_tracking": int(
                    kind == "ordinary" if data.time_tracking is None else data.time_tracking
                ),
                "tags": json.dumps(tasks.clean_tags(data.tags)),
                "participants": json.dumps(
                    sorted({tasks.user_id(u, "--participant") for u in data.participants})
                ),
                "observers": json.dumps(
                    sorted({tasks.user_id(u, "--observer") for u in data.observers})
                ),
                "deadline_days": self._deadline_days(data.deadline_days),
                "deadline_time": self._deadline_time(data.deadline_time or DEFAULT_DEADLINE_TIME),
            }
            self._insert(values, tasks)
        return self.show(name)

    def _insert(self, values: dict, tasks: TaskService) -> int:
        access.require_within_reach(
            self.db,
            [values["responsible_id"]]
            + json.loads(values["participants"])
            + json.loads(values["observers"]),
            values["client_id"],
            "--participant",
        )
        now = self.now()
        values = {**values, "creator_id": self.actor.id, "created_at": now, "updated_at": now}
        template_id = self.db.execute(
            f"INSERT INTO task_templates ({', '.join(values)}) VALUES ({', '.join(':' + k for k in values)})"
            " RETURNING id",
            values,
        ).fetchone()[0]
        self.audit("add", "task_template", template_id, name=values["name"])
        return template_id

    def from_task(
        self, task_id: int, name: str, *, deadline_days: int = 0, deadline_time: str | None = None
    ) -> dict:
        """A template with a task's content (the actor must see the task); the deadline
        time is the task's own, if it has one."""
        self.require_firm()
        with self.transaction():
            self._from_task(task_id, name, deadline_days, deadline_time)
        return self.show(name)

    def _from_task(
        self, task_id: int, name: str, deadline_days: int, deadline_time: str | None
    ) -> int:
        tasks = TaskService(self.db, self.clock, self._actor)
        task = tasks.row(task_id)
        if deadline_time is None and task["deadline"] is not None:
            deadline_time = (
                datetime.fromisoformat(task["deadline"]).astimezone(ROME).strftime("%H:%M")
            )
        members = self.db.execute(
            "SELECT role, user_id FROM task_members WHERE task_id = ? ORDER BY user_id", (task_id,)
        ).fetchall()
        values = {
            "name": self._free_name(name),
            **{column: task[column] for column in COPIED},
            "tags": json.dumps(tasks.tags(task_id)),
            "participants": json.dumps([m[1] for m in members if m[0] == "participant"]),
            "observers": json.dumps([m[1] for m in members if m[0] == "observer"]),
            "deadline_days": self._deadline_days(deadline_days),
            "deadline_time": self._deadline_time(deadline_time or DEFAULT_DEADLINE_TIME),
            "checklists": ChecklistService(self.db, self.clock, self._actor).template_of(task_id),
        }
        return self._insert(values, tasks)

    def list(self, *, recurring: bool = False) -> list[dict]:
        self.require_firm()
        where, params = self.visible()
        if recurring:
            where += " AND tt.recur_freq IS NOT NULL"
        rows = self.db.execute(
            "SELECT tt.*, ru.email AS responsible, c.ragione_sociale AS client,"
            " (SELECT max(occurrence) FROM tasks WHERE template_id = tt.id) AS last_occurrence"
            " FROM task_templates tt LEFT JOIN users ru ON ru.id = tt.responsible_id"
            " LEFT JOIN clients c ON c.id = tt.client_id"
            f" WHERE tt.removed_at IS NULL AND {where} ORDER BY tt.name",
            params,
        ).fetchall()
        today = today_in_rome(self.clock)
        result = []
        for row in rows:
            rule = rule_of(row)
            result.append(
                {
                    "id": row["id"],
                    "name": row["name"],
                    "title": row["title"],
                    "responsible": row["responsible"],
                    "client": row["client"],
                    "rule": recurrence.describe(rule) if rule else None,
                    "last_occurrence": row["last_occurrence"],
                    "next": [d.isoformat() for _n, d in recurrence.upcoming(rule, today, UPCOMING)]
                    if rule
                    else [],
                }
            )
        return result

    def show(self, name: str) -> dict:
        from sempi_cli.services.signing.on_status import SignOnStatus

        template = self.row(name)
        people = dict(
            self.db.execute(
                "SELECT id, email FROM users WHERE id IN (?, ?)",
                (template["creator_id"], template["responsible_id"]),
            ).fetchall()
        )
        client = self.db.execute(
            "SELECT ragione_sociale FROM clients WHERE id = ?", (template["client_id"],)
        ).fetchone()
        rule = rule_of(template)
        today = today_in_rome(self.clock)
        instances = self.db.execute(
            "SELECT count(*), max(occurrence) FROM tasks WHERE template_id = ?", (template["id"],)
        ).fetchone()
        return {
            "id": template["id"],
            "name": template["name"],
            "title": template["title"],
            "description": template["description"],
            "kind": template["kind"],
            "responsible": people.get(template["responsible_id"]),
            "creator": people.get(template["creator_id"]),
            "participants": self._emails(json.loads(template["participants"])),
            "observers": self._emails(json.loads(template["observers"])),
            "client_id": template["client_id"],
            "client": client[0] if client else None,
            "project": template["project"],
            "tags": json.loads(template["tags"]),
            "high_priority": bool(template["high_priority"]),
            "planned_minutes": template["planned_minutes"],
            "approval_required": bool(template["approval_required"]),
            "responsible_sets_deadline": bool(template["responsible_sets_deadline"]),
            "time_tracking": bool(template["time_tracking"]),
            "deadline_days": template["deadline_days"],
            "deadline_time": template["deadline_time"],
            "checklists": [
                {"name": c["name"], "items": len(c["items"])}
                for c in json.loads(template["checklists"])
            ],
            "recur_freq": template["recur_freq"],
            "recur_interval": template["recur_interval"] if rule else None,
            "recur_start": template["recur_start"],
            "recur_until": template["recur_until"],
            "recur_count": template["recur_count"],
            "recur_shift": template["recur_shift"] if rule else None,
            "rule": recurrence.describe(rule) if rule else None,
            "instances": instances[0],
            "last_occurrence": instances[1],
            "next_occurrences": [
                {"occurrence": n.isoformat(), "date": d.isoformat()}
                for n, d in (recurrence.upcoming(rule, today, UPCOMING) if rule else [])
            ],
            "sign_on_status": SignOnStatus(self.db, self.clock, self.actor).rule(template["id"]),
            "created_at": template["created_at"],
            "updated_at": template["updated_at"],
        }

    def edit(self, name: str, change: TemplateEdit, *, dry_run: bool = False) -> dict:
        """Change a template, all or nothing; instances already made keep what they have."""
        if change.is_empty():
            raise InvalidData(
                "options", _("nothing to change"), _("see 'sempi task template edit --help'")
            )
        with self.rehearsal(dry_run):
            template = self.row(name)
            self.may_change(template)
            values = self._edited(template, change)
            diff = changes(template, values)
            rule = {}
            if change.sign_on_status is not None or change.sign_template is not None:
                from sempi_cli.services.signing.on_status import SignOnStatus

                rule = SignOnStatus(self.db, self.clock, self.actor).set(
                    template["id"], change.sign_on_status, change.sign_template
                )
            if diff or rule:
                sets = "".join(f"{k} = :{k}, " for k in diff)
                self.db.execute(
                    f"UPDATE task_templates SET {sets}updated_at = :now WHERE id = :id",
                    {**values, "now": self.now(), "id": template["id"]},
                )
                diff |= rule
                self.audit("edit", "task_template", template["id"], changes=diff)
        return {"id": template["id"], "name": values.get("name", template["name"]), "changes": diff}

    def _edited(self, template: sqlite3.Row, change: TemplateEdit) -> dict:
        tasks = TaskService(self.db, self.clock, self._actor)
        values: dict[str, object] = {}
        if change.name is not None and change.name.strip().lower() != template["name"]:
            values["name"] = self._free_name(change.name)
        values.update(tasks.content_fields(change))
        if change.deadline_days is not None:
            values["deadline_days"] = self._deadline_days(change.deadline_days)
        if change.deadline_time is not None:
            values["deadline_time"] = self._deadline_time(change.deadline_time)
        members: dict[str, str] = {  # JSON lists of user ids, as stored
            "participants": template["participants"],
            "observers": template["observers"],
        }
        for role, add, remove in (
            ("participants", change.add_participants, change.remove_participants),
            ("observers", change.add_observers, change.remove_observers),
        ):
            if add or remove:
                option = role[:-1]
                ids = set(json.loads(template[role])) | {
                    tasks.user_id(u, f"--add-{option}") for u in add
                }
                ids -= {tasks.user_id(u, f"--remove-{option}") for u in remove}
                values[role] = members[role] = json.dumps(sorted(ids))
        if change.add_tags or change.remove_tags:
            tags = set(json.loads(template["tags"])) | set(tasks.clean_tags(change.add_tags))
            values["tags"] = json.dumps(sorted(tags - set(tasks.clean_tags(change.remove_tags))))
        client_id = values.get("client_id", template["client_id"])
        assert client_id is None or isinstance(client_id, int)  # content_fields: tasks.client_id()
        responsible = values.get("responsible_id", template["responsible_id"])
        # content_fields: tasks.user_id(); a stored template's from add or a task (NOT NULL)
        assert isinstance(responsible, int)
        access.require_within_reach(
            self.db,
            [responsible, *json.loads(members["participants"]), *json.loads(members["observers"])],
            client_id,
            "--client" if "client_id" in values else "--add-participant",
        )
        return values

    def remove(self, name: str, *, dry_run: bool = False) -> dict:
        """Soft removal: no more instances; those made stay, and so does the name."""
        with self.rehearsal(dry_run):
            template = self.row(name)
            self.may_change(template, remove=True)
            self.db.execute(
                "UPDATE task_templates SET removed_at = :now, updated_at = :now WHERE id = :id",
                {"now": self.now(), "id": template["id"]},
            )
            self.audit("remove", "task_template", template["id"], name=template["name"])
        return {"id": template["id"], "name": template["name"]}

    # --- recurrence ----------------------------------------------------------------------
