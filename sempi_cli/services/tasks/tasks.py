"""Tasks (incarichi): creating, changing, removing, commenting, and the history.

A task has exactly one responsible; several responsibles make several tasks.
Everything that changes a task is written to its history (cronologia) and to
the events record (services/event_log.py) in the same transaction. Status changes live in task_flow.py, listings in
task_queries.py; this module owns the task tables and their writers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime, time

from sempi_cli.clock import ROME, iso_utc
from sempi_cli.errors import InvalidData, NotFound, PermissionDenied, RuleViolation
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, event_log
from sempi_cli.services.base import Service
from sempi_cli.services.notify.task_events import task_changed, task_event
from sempi_cli.services.tasks.input import (
    DEFAULT_KIND,
    KINDS,
    ContentEdit,
    TaskEdit,
    TaskInput,
)
from sempi_cli.services.tasks.rows import TaskRows
from sempi_cli.services.text import long_text, no_control
from sempi_cli.store.sql import in_marks

DEADLINE_TIME = time(18, 0)  # a deadline typed as a date means the end of that office day
_FLAGS = ("high_priority", "approval_required", "responsible_sets_deadline", "time_tracking")
# Acting on this many tasks at once (or their checklist items, reminders, import
# records) asks first: on a terminal, or --yes elsewhere.
CONFIRM_FROM = 3


def created_data(values: Mapping[str, object]) -> dict[str, object]:
    """A ``task.created`` event's data, from the values the task was inserted with
    (the same keys whoever made it: a person, a template's run, the scheduler)."""
    return {
        "title": values["title"],
        "status": values.get("status", "pending"),
        "responsible_id": values["responsible_id"],
        "creator_id": values["creator_id"],
        "deadline": values.get("deadline"),
        "template_id": values.get("template_id") or values.get("from_template_id"),
        "parent_id": values.get("parent_id"),
    }


def needs_confirmation(count: int) -> bool:
    """Whether acting on ``count`` tasks (items, reminders, records) at once needs a
    person's yes."""
    return count >= CONFIRM_FROM


def deadline_out(stored: str | None) -> str | None:
    """A stored deadline (UTC) as an ISO timestamp in Rome time, for people and scripts."""
    if stored is None:
        return None
    return datetime.fromisoformat(stored).astimezone(ROME).isoformat(timespec="minutes")


# `task show`'s keys, in the order people read them (JSON keeps it too).
SHOW_FIELDS = (
    "id", "title", "description", "kind", "status", "overdue", "responsible", "creator",
    "participants", "observers", "client_id", "client", "project", "parent_id", "subtasks",
    "tags", "high_priority", "deadline", "planned_minutes", "approval_required",
    "responsible_sets_deadline", "time_tracking", "return_count", "comments", "timer_pauses",
    "external_key", "completed_at", "created_at", "updated_at",
)  # fmt: skip


def task_record(
    task: sqlite3.Row,
    *,
    responsible: str | None,
    creator: str | None,
    participants: list[str],
    observers: list[str],
    tags: list[str],
) -> dict[str, object]:
    """A task row as people and scripts read it (flags as booleans, the deadline in
    Rome time, people as e-mails): the fields `task show` and `task export` share,
    so the two cannot drift apart."""
    return {
        "id": task["id"],
        "title": task["title"],
        "description": task["description"],
        "kind": task["kind"],
        "status": task["status"],
        "responsible": responsible,
        "creator": creator,
        "participants": participants,
        "observers": observers,
        "client_id": task["client_id"],
        "project": task["project"],
        "parent_id": task["parent_id"],
        "tags": tags,
        "high_priority": bool(task["high_priority"]),
        "deadline": deadline_out(task["deadline"]),
        "planned_minutes": task["planned_minutes"],
        "approval_required": bool(task["approval_required"]),
        "responsible_sets_deadline": bool(task["responsible_sets_deadline"]),
        "time_tracking": bool(task["time_tracking"]),
        "external_key": task["external_key"],
        "completed_at": task["completed_at"],
        "created_at": task["created_at"],
        "updated_at": task["updated_at"],
    }


class TaskService(Service):
    # --- reading one task ---------------------------------------------------------

    @property
    def rows(self) -> TaskRows:
        return TaskRows(self.db, self.clock, self._actor)

    def row(self, task_id: int) -> sqlite3.Row:
        """The task if the actor may see it; NotFound otherwise (existence never leaks)."""
        return self.rows.row(task_id)

    def may_change(self, task: sqlite3.Row) -> None:
        """Only the creator and the responsible change a task (and firm administrators)."""
        if (
            self.actor.id in (task["creator_id"], task["responsible_id"])
            or self.actor.is_firm_admin
        ):
            return
        raise PermissionDenied(
            _("only the creator or the responsible may change task {task}").format(task=task["id"])
        )

    def show(self, task_id: int) -> dict:
        task = self.row(task_id)
        members = self.db.execute(
            "SELECT m.role, u.email FROM task_members m JOIN users u ON u.id = m.user_id"
            " WHERE m.task_id = ? ORDER BY m.role, u.email",
            (task_id,),
        ).fetchall()
        people = dict(
            self.db.execute(
                "SELECT id, email FROM users WHERE id IN (?, ?)",
                (task["creator_id"], task["responsible_id"]),
            ).fetchall()
        )
        where, params = access.visible_tasks(self.actor)
        subtasks = self.db.execute(
            f"SELECT t.id, t.title, t.status FROM tasks t WHERE t.parent_id = :id AND t.removed_at IS NULL"
            f" AND {where} ORDER BY t.id",
            {**params, "id": task_id},
        ).fetchall()
        counts = self.db.execute(
            "SELECT (SELECT count(*) FROM task_comments WHERE task_id = :id),"
            " (SELECT count(*) FROM task_history WHERE task_id = :id AND action = 'pause')",
            {"id": task_id},
        ).fetchone()
        client = self.db.execute(
            "SELECT ragione_sociale FROM clients WHERE id = ?", (task["client_id"],)
        ).fetchone()
        shown = {
            **task_record(
                task,
                responsible=people.get(task["responsible_id"]),
                creator=people.get(task["creator_id"]),
                participants=[m["email"] for m in members if m["role"] == "participant"],
                observers=[m["email"] for m in members if m["role"] == "observer"],
                tags=self.tags(task_id),
            ),
            "overdue": self.is_overdue(task),
            "client": client[0] if client else None,
            "subtasks": [dict(s) for s in subtasks],
            "return_count": task["return_count"],
            "comments": counts[0],
            "timer_pauses": counts[1],
        }
        return {key: shown[key] for key in SHOW_FIELDS}

    def is_overdue(self, task: sqlite3.Row) -> bool:
        return (
            task["deadline"] is not None
            and task["status"] != "completed"
            and datetime.fromisoformat(task["deadline"]) < self.clock.now()
        )

    def tags(self, task_id: int) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT tag FROM task_tags WHERE task_id = ? ORDER BY tag", (task_id,)
            )
        ]

    # --- checking what people type ---------------------------------------------------

    def user_id(self, ref: str, field: str, *, allow_external: bool = True) -> int:
        from sempi_cli.services.identity.accounts import find_user

        try:
            user = find_user(self.db, self.actor, ref)
        except NotFound:
            raise InvalidData(field, _("no user {user}").format(user=repr(ref))) from None
        if user["disabled_at"] is not None:
            raise InvalidData(field, _("{user} is disabled").format(user=user["email"]))
        if user["role"] == "external" and not allow_external:
            raise InvalidData(
                field,
                _("{user} is an external user and cannot be responsible").format(
                    user=user["email"]
                ),
            )
        return int(user["id"])

    def deadline(self, text: str | None) -> str | None:
        from sempi_cli.timeparse import parse_datetime

        if text is None or not text.strip():
            return None
        at = parse_datetime(text, self.clock.now(), field="--deadline", default_time=DEADLINE_TIME)
        return iso_utc(at.replace(second=0, microsecond=0))

    @staticmethod
    def planned(text: str | None) -> int | None:
        from sempi_cli.timeparse import parse_duration

        if text is None or not text.strip():
            return None
        return max(1, round(parse_duration(text, field="--planned").total_seconds() / 60))

    def client_id(self, ref: int | str | None) -> int | None:
        if ref is None or str(ref).strip() == "":
            return None
        if not str(ref).strip().isdigit():
            raise InvalidData("--client", _("{value} is not a client id").format(value=repr(ref)))
        return int(access.client_row(self.db, self.actor, int(ref))["id"])  # else NotFound (3)

    def _client_under(self, parent_id: int | None, ref: int | str | None) -> int | None:
        """A subtask belongs to its parent's client: given none, it takes the parent's;
        given another, it is refused (the parent's work group would not see it)."""
        client_id = self.client_id(ref)
        if parent_id is None:
            return client_id
        parent_client = self.db.execute(
            "SELECT client_id FROM tasks WHERE id = ?", (parent_id,)
        ).fetchone()[0]
        if ref is not None and str(ref).strip() != "" and client_id != parent_client:
            if parent_client:
                problem = _(
                    "a subtask belongs to its parent's client: task {task} is of client {client}"
                ).format(task=parent_id, client=parent_client)
            else:
                problem = _(
                    "a subtask belongs to its parent's client: task {task} is of no client"
                ).format(task=parent_id)
            raise InvalidData("--client", problem, _("leave --client out"))
        return parent_client

    def parent_id(self, ref: int | str | None, task_id: int | None = None) -> int | None:
        """A visible parent; refuse a cycle (a task under itself or its own subtask)."""
        if ref is None or str(ref).strip() == "":
            return None
        if not str(ref).strip().isdigit():
            raise InvalidData("--parent", _("{value} is not a task id").format(value=repr(ref)))
        parent = self.row(int(ref))["id"]  # an unseen parent is NotFound (3), like any row
        ancestor: int | None = parent
        while ancestor is not None:
            if ancestor == task_id:
                raise RuleViolation(
                    _("task {task} cannot go under task {parent}: that would make a cycle").format(
                        task=task_id, parent=parent
                    )
                )
            ancestor = self.db.execute(
                "SELECT parent_id FROM tasks WHERE id = ?", (ancestor,)
            ).fetchone()[0]
        return int(parent)

    @staticmethod
    def clean_tags(tags: list[str]) -> list[str]:
        cleaned = []
        for tag in tags:
            tag = tag.strip().lower().lstrip("+")
            if not tag or " " in tag:
                raise InvalidData("--tag", _("{tag} is not a tag (one word)").format(tag=repr(tag)))
            cleaned.append(tag)
        return sorted(set(cleaned))

    # --- writing ------------------------------------------------------------------------

    def history(
        self,
        task_id: int,
        action: str,
        field: str | None = None,
        old: object = None,
        new: object = None,
    ) -> None:
        self.rows.history(task_id, action, field, old, new)

    def set_fields(
        self,
        task: sqlite3.Row,
        fields: dict[str, object],
        action: str = "edit",
        *,
        event: bool = True,
    ) -> dict:
        """Update columns that differ, with a history line for each; returns {field: (old, new)}.
        With ``event`` the change is a ``task.updated`` event too; a caller that says
        more (a status change, an edit that also touches people and tags) passes False
        and records its own."""
        diff = {k: (task[k], v) for k, v in fields.items() if task[k] != v}
        if diff:
            sets = ", ".join(f"{k} = :{k}" for k in diff)
            self.db.execute(
                f"UPDATE tasks SET {sets}, updated_at = :now WHERE id = :id",
                {
                    **{k: new for k, (_old, new) in diff.items()},
                    "now": self.now(),
                    "id": task["id"],
                },
            )
            for key, (old, new) in diff.items():
                self.history(task["id"], action, key, old, new)
                task_changed(self.db, self.clock, self.actor, task["id"], key, new)
            if event:
                self.updated_event(task, {k: list(v) for k, v in diff.items()})
        return diff

    def updated_event(self, task: sqlite3.Row, changes: dict[str, list]) -> None:
        """``task.updated``: ``changes`` is {field: [old, new]}, as the history has them."""
        if not changes:
            return
        title = changes["title"][1] if "title" in changes else task["title"]
        client = changes["client_id"][1] if "client_id" in changes else task["client_id"]
        event_log.record(
            self.db,
            self.clock,
            self.actor,
            "task.updated",
            task["id"],
            client if isinstance(client, int) else None,
            changes={k: {"old": old, "new": new} for k, (old, new) in changes.items()},
            data={"title": title},
        )

    def add(self, data: TaskInput) -> list[dict]:
        """One task per responsible (default: the actor), same content; returns them
        in order."""
        if self.actor.role == "external" and data.client is None:
            raise PermissionDenied(
                _("an external user can only add tasks to their client's work group")
            )
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
        responsibles = list(
            dict.fromkeys(
                self.user_id(r, "--responsible", allow_external=False)
                for r in data.responsibles or [self.actor.email]
            )
        )
        participants = [self.user_id(p, "--participant") for p in data.participants]
        observers = [self.user_id(o, "--observer") for o in data.observers]
        row = {
            "title": title,
            "description": long_text(data.description or "", "--description"),
            "kind": kind,
            "parent_id": (parent_id := self.parent_id(data.parent)),
            "client_id": (client_id := self._client_under(parent_id, data.client)),
            "project": (data.project or "").strip() or None,
            "high_priority": int(data.high_priority),
            "deadline": self.deadline(data.deadline),
            "planned_minutes": self.planned(data.planned),
            "approval_required": int(data.approval_required),
            "responsible_sets_deadline": int(data.responsible_sets_deadline),
            "time_tracking": int(
                kind == "ordinary" if data.time_tracking is None else data.time_tracking
            ),
            "creator_id": self.actor.id,
            "from_template_id": data.from_template,
        }
        tags = self.clean_tags(data.tags)
        access.require_within_reach(self.db, responsibles, client_id, "--responsible")
        access.require_within_reach(self.db, participants, client_id, "--participant")
        access.require_within_reach(self.db, observers, client_id, "--observer")
        created = []
        with self.transaction():
            for n, responsible in enumerate(responsibles):
                key = (
                    data.external_key
                    if n == 0
                    else (f"{data.external_key}#{n}" if data.external_key else None)
                )
                now = self.now()
                values = {
                    **row,
                    "responsible_id": responsible,
                    "external_key": key,
                    "created_at": now,
                    "updated_at": now,
                }
                task_id = self.db.execute(
                    f"INSERT INTO tasks ({', '.join(values)}) VALUES ({', '.join(':' + k for k in values)})"
                    " RETURNING id",
                    values,
                ).fetchone()[0]
                self.history(task_id, "create", None, None, title)
                task_event(self.db, self.clock, self.actor, task_id, [responsible], "assigned")
                self._complete_new(task_id, values, participants, observers, tags)
                created.append(task_id)
        return [self.show(task_id) for task_id in created]

    def _move_subtasks(self, task_id: int, client_id: int | None) -> None:
        """Subtasks, at any depth, follow their parent to its new client (their people
        must be within its reach too)."""
        below = [
            r[0]
            for r in self.db.execute(
                "WITH RECURSIVE sub(id) AS (SELECT id FROM tasks WHERE parent_id = ?"
                " UNION SELECT t.id FROM tasks t JOIN sub ON t.parent_id = sub.id)"
                " SELECT id FROM sub",
                (task_id,),
            )
        ]
        for sub_id in below:
            sub = self.db.execute("SELECT * FROM tasks WHERE id = ?", (sub_id,)).fetchone()
            access.require_within_reach(
                self.db, [sub["responsible_id"], *self.people_of(sub_id)], client_id, "--client"
            )
            self.set_fields(sub, {"client_id": client_id})

    def people_of(self, task_id: int) -> list[int]:
        """Everyone holding a role on the task besides the responsible: its
        participants and observers, and those of its checklist items."""
        return [
            int(r[0])
            for r in self.db.execute(
                "SELECT user_id FROM task_members WHERE task_id = :t UNION"
                " SELECT cm.user_id FROM checklist_item_members cm"
                " JOIN checklist_items ci ON ci.id = cm.item_id"
                " JOIN checklists cl ON cl.id = ci.checklist_id WHERE cl.task_id = :t",
                {"t": task_id},
            )
        ]

    def add_members(self, task_id: int, role: str, user_ids: list[int]) -> None:
        for user_id in user_ids:
            added = self.db.execute(
                "INSERT INTO task_members (task_id, user_id, role) VALUES (?, ?, ?)"
                " ON CONFLICT (task_id, user_id, role) DO NOTHING",
                (task_id, user_id, role),
            ).rowcount
            if added:
                self.history(task_id, f"add_{role}", role, None, user_id)
                task_event(self.db, self.clock, self.actor, task_id, [user_id], role)

    def remove_members(self, task_id: int, role: str, user_ids: list[int]) -> None:
        for user_id in user_ids:
            if self.db.execute(
                "DELETE FROM task_members WHERE task_id = ? AND user_id = ? AND role = ?",
                (task_id, user_id, role),
            ).rowcount:
                self.history(task_id, f"remove_{role}", role, user_id, None)

    def edit(self, task_ids: list[int], changes: TaskEdit, *, dry_run: bool = False) -> list[dict]:
        """Apply the same changes to several tasks, all or nothing; with ``dry_run``
        nothing is kept and the result says what would have changed."""
        if changes.is_empty():
            raise InvalidData("options", _("nothing to change"), _("see 'sempi task edit --help'"))
        results = []
        with self.rehearsal(dry_run):
            for task_id in task_ids:
                task = self.row(task_id)
                self.may_change(task)
                results.append({"id": task_id, "changes": self._edit_one(task, changes)})
        return results

    def content_fields(self, change: ContentEdit) -> dict[str, object]:
        """The content a task and a template share, from an edit (TaskEdit or
        TemplateEdit): checked and as columns; None attributes are left out."""
        fields: dict[str, object] = {}
        if change.title is not None:
            if not change.title.strip():
                raise InvalidData("--title", _("the title is empty"))
            fields["title"] = " ".join(change.title.split())
            no_control(str(fields["title"]), "--title")
        if change.description is not None:
            fields["description"] = long_text(change.description, "--description")
        if change.responsible is not None:
            fields["responsible_id"] = self.user_id(
                change.responsible, "--responsible", allow_external=False
            )
        if change.planned is not None:
            fields["planned_minutes"] = self.planned(change.planned)
        if change.client is not None:
            fields["client_id"] = self.client_id(change.client)
        if change.project is not None:
            fields["project"] = change.project.strip() or None
        kind = change.kind
        if kind is not None:
            if kind not in KINDS:
                raise InvalidData(
                    "--kind",
                    _("{value} is not one of {choices}").format(
                        value=repr(kind), choices=", ".join(KINDS)
                    ),
                )
            fields["kind"] = kind
        for flag in _FLAGS:
            value = getattr(change, flag)
            if value is not None:
                fields[flag] = int(value)
        return fields

    def _edit_one(self, task: sqlite3.Row, changes: TaskEdit) -> dict:
        fields = self.content_fields(changes)
        if changes.deadline is not None:
            if (
                self.actor.id != task["creator_id"]
                and not task["responsible_sets_deadline"]
                and not self.actor.is_firm_admin
            ):
                raise PermissionDenied(
                    _("only the creator may change the deadline of task {task}").format(
                        task=task["id"]
                    )
                )
            fields["deadline"] = self.deadline(changes.deadline)
        if changes.parent is not None:
            fields["parent_id"] = self.parent_id(changes.parent, task["id"])
        parent_id = fields.get("parent_id", task["parent_id"])
        if parent_id is not None and ("parent_id" in fields or "client_id" in fields):
            assert isinstance(parent_id, int)
            fields["client_id"] = self._client_under(parent_id, changes.client)
        client_id = fields.get("client_id", task["client_id"])
        assert client_id is None or isinstance(client_id, int)  # content_fields: self.client_id()
        if "responsible_id" in fields or client_id != task["client_id"]:
            # A new client (or responsible) must be within reach of everyone on the task.
            field = "--client" if client_id != task["client_id"] else "--responsible"
            responsible = fields.get("responsible_id", task["responsible_id"])
            assert isinstance(responsible, int)
            access.require_within_reach(
                self.db, [responsible, *self.people_of(task["id"])], client_id, field
            )
        diff = {k: list(v) for k, v in self.set_fields(task, fields, event=False).items()}
        if "client_id" in diff:
            self._move_subtasks(task["id"], client_id)
        lists_change = any(
            (changes.add_participants, changes.remove_participants, changes.add_observers,
             changes.remove_observers, changes.add_tags, changes.remove_tags)
        )  # fmt: skip
        before = self._people_and_tags(task["id"]) if lists_change else {}
        for role, add, remove in (
            ("participant", changes.add_participants, changes.remove_participants),
            ("observer", changes.add_observers, changes.remove_observers),
        ):
            added = [self.user_id(u, f"--add-{role}") for u in add]
            access.require_within_reach(self.db, added, client_id, f"--add-{role}")
            self.add_members(task["id"], role, added)
            self.remove_members(
                task["id"], role, [self.user_id(u, f"--remove-{role}") for u in remove]
            )
        add_tags, remove_tags = (
            self.clean_tags(changes.add_tags),
            self.clean_tags(changes.remove_tags),
        )
        for tag in add_tags:
            if self.db.execute(
                "INSERT INTO task_tags (task_id, tag) VALUES (?, ?) ON CONFLICT (task_id, tag) DO NOTHING",
                (task["id"], tag),
            ).rowcount:
                self.history(task["id"], "tag", "tags", None, tag)
        for tag in remove_tags:
            if self.db.execute(
                "DELETE FROM task_tags WHERE task_id = ? AND tag = ?", (task["id"], tag)
            ).rowcount:
                self.history(task["id"], "untag", "tags", tag, None)
        after = self._people_and_tags(task["id"]) if before else {}
        listed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        self.updated_event(task, {**diff, **listed})
        return diff

    def _people_and_tags(self, task_id: int) -> dict[str, list]:
        """The task's participants, observers and tags, for the event of an edit
        (read only when the edit may change them)."""
        members: dict[str, list] = {"participants": [], "observers": []}
        for role, user_id in self.db.execute(
            "SELECT role, user_id FROM task_members WHERE task_id = ? ORDER BY user_id", (task_id,)
        ):
            members[f"{role}s"].append(user_id)
        return {**members, "tags": self.tags(task_id)}

    def remove(self, task_ids: list[int], *, dry_run: bool = False) -> list[dict]:
        """Soft delete: the task leaves every list but its history stays."""
        results = []
        with self.rehearsal(dry_run):
            for task_id in task_ids:
                task = self.row(task_id)
                if self.actor.id != task["creator_id"] and not self.actor.is_firm_admin:
                    raise PermissionDenied(
                        _("only the creator may remove task {task}").format(task=task_id)
                    )
                self.set_fields(task, {"removed_at": self.now()}, "remove", event=False)
                results.append({"id": task_id, "title": task["title"]})
        return results

    # --- comments and history ----------------------------------------------------------

    def comment(self, task_id: int, body: str) -> dict:
        """Anyone who sees the task may comment (observers included)."""
        task = self.row(task_id)
        body = long_text(body or "", "TEXT")
        if not body:
            raise InvalidData("TEXT", _("the comment is empty"))
        with self.transaction(scope=("task", [task_id])):
            comment_id = self.db.execute(
                "INSERT INTO task_comments (task_id, author_id, body, created_at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (task_id, self.actor.id, body, self.now()),
            ).fetchone()[0]
            self.history(task_id, "comment", None, None, comment_id)
            task_event(self.db, self.clock, self.actor, task_id, None, "commented", body)
            event_log.record(
                self.db,
                self.clock,
                self.actor,
                "task.commented",
                task_id,
                task["client_id"],
                # The id, not the text: the record keeps no one's words (docs/events.md).
                data={"comment_id": comment_id, "author_id": self.actor.id},
            )
        return {"id": comment_id, "task_id": task_id, "body": body}

    def comments(self, task_id: int) -> list[dict]:
        self.row(task_id)
        return [
            dict(r)
            for r in self.db.execute(
                "SELECT c.id, c.created_at AS at, u.email AS author, c.body FROM task_comments c"
                " JOIN users u ON u.id = c.author_id WHERE c.task_id = ? ORDER BY c.id",
                (task_id,),
            )
        ]

    def history_of(self, task_id: int) -> list[dict]:
        """Every change, oldest first; people appear by e-mail, not by their ids."""
        self.row(task_id)
        rows = [
            dict(r)
            for r in self.db.execute(
                "SELECT h.id, h.at, u.email AS actor, h.action, h.field, h.old, h.new FROM task_history h"
                " LEFT JOIN users u ON u.id = h.actor_id WHERE h.task_id = ? ORDER BY h.id",
                (task_id,),
            )
        ]
        about_people = [r for r in rows if _names_people(r)]
        ids = {v for r in about_people for v in (r["old"], r["new"]) if v and str(v).isdigit()}
        if ids:
            marks = in_marks(ids)
            emails = {
                str(uid): email
                for uid, email in self.db.execute(
                    f"SELECT id, email FROM users WHERE id IN ({marks})", sorted(ids)
                )
            }
            for row in about_people:
                for key in ("old", "new"):
                    row[key] = emails.get(str(row[key]), row[key])
        return rows

    # --- instances of recurring templates (written by services/templates/templates.py) -------

    def add_instance(
        self,
        values: dict[str, object],
        participants: list[int],
        observers: list[int],
        tags: list[str],
    ) -> int | None:
        """One task for one occurrence of a template, with ``template_id`` and
        ``occurrence`` set; None when that occurrence is a task already (a re-run, or
        another run got there first: the UNIQUE index decides, never a read). The
        caller checked the values and holds the write transaction."""
        now = self.now()
        values = {**values, "created_at": now, "updated_at": now}
        inserted = self.db.execute(
            f"INSERT INTO tasks ({', '.join(values)}) VALUES ({', '.join(':' + k for k in values)})"
            " ON CONFLICT (template_id, occurrence) DO NOTHING RETURNING id",
            values,
        ).fetchone()
        if inserted is None:
            return None
        task_id = inserted[0]
        self.history(task_id, "create", None, None, values["title"])
        self.history(task_id, "recur", "occurrence", None, values["occurrence"])
        task_event(self.db, self.clock, self.actor, task_id, [values["responsible_id"]], "assigned")
        self._complete_new(task_id, values, participants, observers, tags)
        return task_id

    def _complete_new(
        self,
        task_id: int,
        values: Mapping[str, object],
        participants: list[int],
        observers: list[int],
        tags: list[str],
    ) -> None:
        """A new task's people and tags, then its task.created: whatever reacts to the
        event (a rule, a before-hook) finds the task whole."""
        self.add_members(task_id, "participant", participants)
        self.add_members(task_id, "observer", observers)
        self.db.executemany(
            "INSERT INTO task_tags (task_id, tag) VALUES (?, ?)", [(task_id, t) for t in tags]
        )
        client_id = values.get("client_id")
        event_log.record(
            self.db, self.clock, self.actor, "task.created", task_id,
            client_id if isinstance(client_id, int) else None, data=created_data(values),
        )  # fmt: skip


def _names_people(change: dict) -> bool:
    """History lines whose old and new values are user ids: a responsible changed, a
    participant or observer added or removed (of the task, or of a checklist item)."""
    action = str(change["action"])
    return change["field"] == "responsible_id" or action.startswith(
        ("add_participant", "remove_participant", "add_observer", "remove_observer",
         "add_item_", "remove_item_")
    )  # fmt: skip
