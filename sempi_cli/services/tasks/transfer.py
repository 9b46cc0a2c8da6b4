"""Moving tasks in and out as JSON: `task export` and `task import`.

The file format is a stable contract: one object per task, snake_case keys,
ISO timestamps, e-mails for people. A task is named by its ``external_key``:
the key the task was given (by an import or the scheduler), or, for a task
that has none, ``sempi:<id>:<created_at>`` — derived from two values that
never change, so the same task always exports under the same key and an
import of that file into the same store updates it instead of copying it,
while in another store (whose task <id> was created at another instant) it
makes a new task that keeps the key.

An import writes through TaskService and TaskFlow only, so every record meets
the same checks as `task add`, `task edit` and the status verbs. What the store
records about its own history is not imported: ``id``, ``creator``,
``created_at``, ``updated_at`` and ``completed_at`` are informational (the
importer becomes the creator of a new task, and the clock of the import dates
it); ``parent_id`` too, because ids are local to a store: the parent is named
by ``parent_key``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from sempi_cli.errors import InvalidData, NotFound, RuleViolation, SempiError
from sempi_cli.i18n import N_, pgettext
from sempi_cli.i18n import gettext as _
from sempi_cli.services import event_log
from sempi_cli.services.base import Service
from sempi_cli.services.tasks.flow import TRANSITIONS, TaskFlow
from sempi_cli.services.tasks.input import KINDS, STATUS_WORDS, STATUSES, TaskEdit, TaskInput
from sempi_cli.services.tasks.queries import TaskQueries, TaskQuery
from sempi_cli.services.tasks.tasks import TaskService, task_record
from sempi_cli.store.sql import listed

# Read on import when present; written by export.
IMPORTED = tuple(
    "external_key title description kind status responsible participants observers client_id"
    " project parent_key tags high_priority deadline planned_minutes approval_required"
    " responsible_sets_deadline time_tracking".split()
)
# Written by export, ignored on import: the store's own record of who and when.
INFORMATIONAL = ("id", "creator", "parent_id", "created_at", "updated_at", "completed_at")
FIELDS = (*IMPORTED, *INFORMATIONAL)
FLAGS = ("high_priority", "approval_required", "responsible_sets_deadline", "time_tracking")
REPORT_COLUMNS = ("record", "external_key", "action", "id")

_DERIVED_KEY = re.compile(r"sempi:(\d+):(\d{8}T\d{6}Z)")
# A status is reached by the verbs people use, preferring those that do not
# pretend work was completed (in progress -> pending goes by defer + reopen).
_VERB_ORDER = ("start", "defer", "reopen", "return", "done", "approve")
_IMPORT_REASON = "status set by task import"
# What TaskService calls a field (an option) -> what the file calls it.
_SERVICE_FIELDS = {
    **{f"--{name}": name for name in ("title", "responsible", "kind", "deadline")},
    **{
        f"--{verb}{role}": f"{role}s"
        for role in ("participant", "observer")
        for verb in ("", "add-", "remove-")
    },
    **{"--planned": "planned_minutes", "--client": "client_id", "--tag": "tags"},
}


def derived_key(task_id: int, created_at: str) -> str:
    """The key of a task that was never given one: its id and creation instant (UTC)."""
    stamp = datetime.fromisoformat(created_at).strftime("%Y%m%dT%H%M%SZ")
    return f"sempi:{task_id}:{stamp}"


def export_chunks(records: Sequence[Mapping[str, object]]) -> Iterator[str]:
    """Bytes-stable JSON, record by record: exactly ``json.dumps(records,
    sort_keys=True, indent=2, ensure_ascii=False)`` and a final newline, without
    holding the whole text (json's indenting encoder makes millions of small
    strings for a large export)."""
    if not records:
        yield "[]\n"
        return
    for n, record in enumerate(records):
        text = json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False)
        yield ("[\n  " if n == 0 else ",\n  ") + text.replace("\n", "\n  ")
    yield "\n]\n"


def export_text(records: Sequence[Mapping[str, object]]) -> str:
    return "".join(export_chunks(records))


def read_records(text: str) -> list[tuple[int, object]]:
    """(record number, value) from a JSON array (number: position, from 1) or from
    JSON Lines (number: line; blank lines skipped)."""
    stripped = text.lstrip()
    if not stripped:
        raise InvalidData("FILE", _("the file is empty"), _("give a JSON array of tasks"))
    if stripped.startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidData(
                "FILE",
                _("not JSON: line {line} column {column}: {problem}").format(
                    line=exc.lineno, column=exc.colno, problem=exc.msg
                ),
            ) from None
        except (RecursionError, ValueError) as exc:
            raise InvalidData("FILE", _not_json(exc)) from None
        return list(enumerate(values, start=1))
    records: list[tuple[int, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InvalidData(
                f"record {number}", _("not JSON: {problem}").format(problem=exc.msg)
            ) from None
        except (RecursionError, ValueError) as exc:
            raise InvalidData(f"record {number}", _not_json(exc)) from None
    return records


def _not_json(exc: RecursionError | ValueError) -> str:
    """What json.loads refuses beyond its syntax errors, as batch files say it."""
    if isinstance(exc, RecursionError):
        return _("not JSON: nested too deeply")
    return _("not JSON: a number too long")  # thousands of digits (int_max_str_digits)


def read_import_file(path: str) -> str:
    """The text of a file given to `task import`, whole."""
    from sempi_cli.services.user_files import read_user_text

    return read_user_text(path, "FILE", missing=_("{path}: no such file"))


@contextmanager
def _about(record: int, field: str) -> Iterator[None]:
    """Name the record and the file's field in a data error raised below."""
    try:
        yield
    except InvalidData as exc:
        named = _SERVICE_FIELDS.get(exc.field, field)
        raise InvalidData(f"record {record} {named}", exc.problem, exc.hint) from None
    except NotFound as exc:  # a client or parent the file names that is not there (for you)
        raise InvalidData(f"record {record} {field}", exc.message) from None


@contextmanager
def _naming(record: int) -> Iterator[None]:
    """Say which record a refusal is about (not found, permission, business rule)."""
    try:
        yield
    except InvalidData:
        raise
    except SempiError as exc:
        if exc.message.startswith("record "):
            raise
        raise type(exc)(f"record {record}: {exc.message}", exc.hint) from None


class TaskTransfer(Service):
    # --- export ---------------------------------------------------------------------

    def export_ics(self, query: TaskQuery) -> str:
        """The same tasks as an iCalendar file (tasks/ics.py)."""
        from sempi_cli.services.tasks.ics import build_ics

        return build_ics(self.db, self.export(query), self.clock.now())

    def export(self, query: TaskQuery) -> list[dict]:
        """The tasks the actor may see that match ``query``, oldest first, as records."""
        query = replace(query, sort="created", limit=None)
        ids = [row["id"] for row in TaskQueries(self.db, self.clock, self.actor).list(query)]
        if not ids:
            return []
        chosen = json.dumps(ids)
        in_ids = f"IN ({listed(self.db, ':ids')})"
        tasks = self.db.execute(
            "SELECT t.*, ru.email AS responsible, cu.email AS creator,"
            " p.external_key AS parent_external_key, p.created_at AS parent_created_at"
            " FROM tasks t JOIN users ru ON ru.id = t.responsible_id"
            " JOIN users cu ON cu.id = t.creator_id LEFT JOIN tasks p ON p.id = t.parent_id"
            f" WHERE t.id {in_ids} ORDER BY t.id",
            {"ids": chosen},
        ).fetchall()
        members: dict[tuple[int, str], list[str]] = {}
        for task_id, role, email in self.db.execute(
            "SELECT m.task_id, m.role, u.email FROM task_members m JOIN users u ON u.id = m.user_id"
            f" WHERE m.task_id {in_ids} ORDER BY u.email",
            {"ids": chosen},
        ):
            members.setdefault((task_id, role), []).append(email)
        tags: dict[int, list[str]] = {}
        for task_id, tag in self.db.execute(
            f"SELECT task_id, tag FROM task_tags WHERE task_id {in_ids} ORDER BY tag",
            {"ids": chosen},
        ):
            tags.setdefault(task_id, []).append(tag)
        return [self._record(t, members, tags) for t in tasks]

    @staticmethod
    def _record(
        task: sqlite3.Row, members: dict[tuple[int, str], list[str]], tags: dict[int, list[str]]
    ) -> dict:
        parent_key = None
        if task["parent_id"] is not None:
            parent_key = task["parent_external_key"] or derived_key(
                task["parent_id"], task["parent_created_at"]
            )
        return {
            **task_record(
                task,
                responsible=task["responsible"],
                creator=task["creator"],
                participants=members.get((task["id"], "participant"), []),
                observers=members.get((task["id"], "observer"), []),
                tags=tags.get(task["id"], []),
            ),
            "external_key": task["external_key"] or derived_key(task["id"], task["created_at"]),
            "parent_key": parent_key,
        }

    # --- import ---------------------------------------------------------------------

    def import_(
        self,
        records: Sequence[object],
        dry_run: bool = False,
        *,
        numbers: Sequence[int] | None = None,
    ) -> list[dict]:
        """Upsert tasks by ``external_key``, all or nothing; with ``dry_run`` nothing
        is kept. ``numbers`` name the records in errors and in the report
        (default: their position, from 1). Returns, per record, what happened."""
        numbers = list(numbers) if numbers is not None else list(range(1, len(records) + 1))
        checked = [_check_shape(n, r) for n, r in zip(numbers, records, strict=True)]
        order = _parents_first(checked)
        tasks = TaskService(self.db, self.clock, self.actor)
        flow = TaskFlow(self.db, self.clock, self.actor)
        report: dict[int, dict] = {}
        with self.rehearsal(dry_run):
            for index in order:
                number, record = checked[index]
                with _naming(number):
                    task_id, action = self._upsert(tasks, flow, number, record)
                report[index] = {
                    "record": number,
                    "external_key": record["external_key"],
                    "action": action,
                    "id": None if dry_run and action == "created" else task_id,
                }
        return [report[i] for i in range(len(checked))]

    def _upsert(
        self, tasks: TaskService, flow: TaskFlow, number: int, record: dict
    ) -> tuple[int, str]:
        task = self._find(tasks, number, record["external_key"])
        if task is None:
            task_id, action = self._create(tasks, number, record), "created"
        else:
            task_id = task["id"]
            action = "updated" if self._update(tasks, number, record, task) else "unchanged"
        if self._apply_status(tasks, flow, number, record, task_id, created=action == "created"):
            action = "created" if action == "created" else "updated"
        return task_id, action

    def _keyed(self, key: str) -> int | None:
        """The task a key names, visible or not: by its stored key, or by the
        derived key of a task that was never given one."""
        row = self.db.execute("SELECT id FROM tasks WHERE external_key = ?", (key,)).fetchone()
        if row is not None:
            return int(row[0])
        derived = _DERIVED_KEY.fullmatch(key)
        if derived is None:
            return None
        row = self.db.execute(
            "SELECT id, created_at FROM tasks WHERE id = ? AND external_key IS NULL",
            (int(derived[1]),),
        ).fetchone()
        return int(row[0]) if row and derived_key(row[0], row[1]) == key else None

    def _find(self, tasks: TaskService, number: int, key: str) -> sqlite3.Row | None:
        """The visible task this key names, None for a new one; a key taken by a
        task the actor cannot see (or that was removed) cannot be created again."""
        task_id = self._keyed(key)
        if task_id is None:
            return None
        try:
            return tasks.row(task_id)
        except NotFound:
            raise NotFound(
                _("record {number}: task {key} not found").format(number=number, key=repr(key)),
                _(
                    "its external_key belongs to a task you cannot see or that was removed;"
                    " give this record another external_key"
                ),
            ) from None

    def _parent(self, tasks: TaskService, number: int, record: dict) -> int | None:
        key = record.get("parent_key")
        if key is None:
            return None
        task_id = self._keyed(key)
        try:
            if task_id is None:
                raise NotFound(key)
            return tasks.parent_id(task_id)
        except (NotFound, InvalidData):
            raise InvalidData(
                f"record {number} parent_key",
                _("no task you may see has the key {key}").format(key=repr(key)),
                _("include the parent in the file, or leave parent_key out"),
            ) from None

    def _create(self, tasks: TaskService, number: int, record: dict) -> int:
        for field in ("title", "responsible"):
            if record.get(field) is None:
                raise InvalidData(f"record {number} {field}", _("missing (a new task needs it)"))
        planned = record.get("planned_minutes")
        with _about(number, "client_id"):
            tasks.client_id(record.get("client_id"))  # an unseen client: this field's fault
        data = TaskInput(
            title=record["title"],
            responsibles=[record["responsible"]],
            description=record.get("description") or "",
            participants=list(record.get("participants") or []),
            observers=list(record.get("observers") or []),
            high_priority=record.get("high_priority", False),
            deadline=record.get("deadline"),
            planned=None if planned is None else f"{planned}m",
            client=record.get("client_id"),
            project=record.get("project"),
            parent=self._parent(tasks, number, record),
            tags=list(record.get("tags") or []),
            kind=record.get("kind"),
            approval_required=record.get("approval_required", False),
            responsible_sets_deadline=record.get("responsible_sets_deadline", True),
            time_tracking=record.get("time_tracking"),
            external_key=record["external_key"],
        )
        with _about(number, "title"):
            return int(tasks.add(data)[0]["id"])

    def _update(self, tasks: TaskService, number: int, record: dict, task: sqlite3.Row) -> bool:
        """Change what differs, through `task edit`'s own path (its checks, its
        history); True if anything did."""
        task_id, changes = task["id"], TaskEdit()
        if "title" in record and " ".join(record["title"].split()) != task["title"]:
            changes.title = record["title"]
        if "description" in record and (record["description"] or "").strip() != task["description"]:
            changes.description = record["description"] or ""
        if "kind" in record and record["kind"] != task["kind"]:
            changes.kind = record["kind"]
        if "project" in record and ((record["project"] or "").strip() or None) != task["project"]:
            changes.project = record["project"] or ""
        if "responsible" in record:
            current = self._email(task["responsible_id"])
            if record["responsible"].strip().lower() != current:
                changes.responsible = record["responsible"]
        if "deadline" in record:
            with _about(number, "deadline"):
                if tasks.deadline(record["deadline"]) != task["deadline"]:
                    changes.deadline = record["deadline"] or ""
        if "planned_minutes" in record and record["planned_minutes"] != task["planned_minutes"]:
            planned = record["planned_minutes"]
            changes.planned = "" if planned is None else f"{planned}m"
        if "client_id" in record and record["client_id"] != task["client_id"]:
            client = record["client_id"]
            with _about(number, "client_id"):
                tasks.client_id(client)
            changes.client = "" if client is None else str(client)
        if "parent_key" in record and record["parent_key"] != self._key_of(task["parent_id"]):
            # (compared by key first: the parent may be a task the actor cannot see)
            parent = self._parent(tasks, number, record)
            if parent != task["parent_id"]:
                changes.parent = "" if parent is None else str(parent)
        for flag in FLAGS:
            if flag in record and int(record[flag]) != task[flag]:
                setattr(changes, flag, record[flag])
        for role in ("participant", "observer"):
            if f"{role}s" in record:
                current_members = set(self._members(task_id, role))
                wanted = {e.strip().lower() for e in record[f"{role}s"]}
                getattr(changes, f"add_{role}s").extend(sorted(wanted - current_members))
                getattr(changes, f"remove_{role}s").extend(sorted(current_members - wanted))
        if "tags" in record:
            with _about(number, "tags"):
                wanted_tags = set(tasks.clean_tags(record["tags"]))
            current_tags = set(tasks.tags(task_id))
            changes.add_tags = sorted(wanted_tags - current_tags)
            changes.remove_tags = sorted(current_tags - wanted_tags)
        if changes.is_empty():
            return False
        with _about(number, "title"):
            tasks.edit([task_id], changes)
        return True

    def _apply_status(
        self,
        tasks: TaskService,
        flow: TaskFlow,
        number: int,
        record: dict,
        task_id: int,
        *,
        created: bool,
    ) -> bool:
        """Reach the file's status by the verbs a person would use (their checks, their
        history): the status is part of what a task is, so a round trip keeps it.
        A status the actor could not reach by hand is refused (exit 5)."""
        wanted = record.get("status")
        if wanted is None:
            return False
        # Seen a moment ago; TaskFlow checks visibility and rights again on each verb.
        task = self.db.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if task["status"] == wanted:
            return False
        path = _status_path(
            task["status"],
            wanted,
            approval=bool(task["approval_required"]),
            creator=task["creator_id"] == self.actor.id,
        )
        if path is None and created and wanted == "awaiting_approval":
            # No verb leads a creator's task to await the creator's approval (their
            # own "done" completes it), yet a task moved from another store may be
            # waiting: the importer, now its creator, is who approves it.
            if not task["approval_required"]:
                raise InvalidData(
                    f"record {number} status",
                    _("awaiting_approval needs approval_required: true"),
                )
            tasks.set_fields(task, {"status": wanted}, "import", event=False)
            event_log.record(
                self.db,
                self.clock,
                self.actor,
                "task.status_changed",
                task_id,
                task["client_id"],
                changes={"status": {"old": task["status"], "new": wanted}},
                data={"title": task["title"], "verb": "import", "reason": None},
            )
            return True
        if path is None:
            raise RuleViolation(
                _("record {number} status: task {task} cannot go from {old} to {new}").format(
                    number=number,
                    task=task_id,
                    old=pgettext("task status", STATUS_WORDS[task["status"]]),
                    new=pgettext("task status", STATUS_WORDS[wanted]),
                ),
                _("a task that asks for approval is completed by its creator's approval")
                if task["approval_required"]
                else _("only a task that asks for approval can await it"),
            )
        for verb in path:
            flow.change(verb, [task_id], reason=_IMPORT_REASON if verb == "return" else None)
        return True

    def _key_of(self, task_id: int | None) -> str | None:
        if task_id is None:
            return None
        row = self.db.execute(
            "SELECT external_key, created_at FROM tasks WHERE id = ?", (task_id,)
        ).fetchone()
        return row[0] or derived_key(task_id, row[1])

    def _email(self, user_id: int) -> str:
        return self.db.execute("SELECT email FROM users WHERE id = ?", (user_id,)).fetchone()[0]

    def _members(self, task_id: int, role: str) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT u.email FROM task_members m JOIN users u ON u.id = m.user_id"
                " WHERE m.task_id = ? AND m.role = ?",
                (task_id, role),
            )
        ]


# --- checking the file before touching the store --------------------------------------


# Field -> (the test its value must pass, the problem when it fails).
_SHAPES: dict[str, tuple[Callable[[object], bool], str]] = {
    **dict.fromkeys(
        ("title", "responsible", "kind", "status"),
        (lambda v: isinstance(v, str), N_("must be a string")),
    ),
    **dict.fromkeys(
        ("description", "project", "deadline", "parent_key"),
        (lambda v: v is None or isinstance(v, str), N_("must be a string or null")),
    ),
    **dict.fromkeys(
        ("participants", "observers", "tags"),
        (
            lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
            N_("must be a list of strings"),
        ),
    ),
    **dict.fromkeys(
        ("client_id", "planned_minutes"),
        (
            lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
            N_("must be a whole number or null"),
        ),
    ),
    **dict.fromkeys(FLAGS, (lambda v: isinstance(v, bool), N_("must be true or false"))),
}


def _check_shape(number: int, value: object) -> tuple[int, dict]:
    """Types and required fields of one record; the store checks the rest."""
    if not isinstance(value, dict):
        raise InvalidData(f"record {number}", _("not a JSON object"))
    for key in value:
        if key not in FIELDS:
            raise InvalidData(
                f"record {number} {key}",
                _("unknown field"),
                _("fields: {fields}").format(fields=", ".join(FIELDS)),
            )
    record = {k: v for k, v in value.items() if k in IMPORTED}

    def bad(field: str, problem: str) -> InvalidData:
        return InvalidData(f"record {number} {field}", problem)

    key = record.get("external_key")
    if not isinstance(key, str) or not key.strip():
        raise bad("external_key", _("missing (every record needs its own key)"))
    record["external_key"] = key.strip()
    for field, (fits, shape) in _SHAPES.items():
        if field in record and not fits(record[field]):
            raise bad(field, _(shape))
    if not record.get("title", "x").strip():
        raise bad("title", _("the title is empty"))
    if not record.get("responsible", "x").strip():
        raise bad("responsible", _("missing: who is responsible?"))
    for field, allowed in (("kind", KINDS), ("status", STATUSES)):
        if field in record and record[field] not in allowed:
            raise bad(
                field,
                _("{value} is not one of {choices}").format(
                    value=repr(record[field]), choices=", ".join(allowed)
                ),
            )
    if (record.get("planned_minutes") or 1) < 1:
        raise bad("planned_minutes", _("must be more than zero"))
    return number, record


def _parents_first(checked: list[tuple[int, dict]]) -> list[int]:
    """Record indexes, each after the record of its parent when the file holds it;
    refuses two records with one key and a cycle of parents within the file."""
    where: dict[str, int] = {}
    for index, (number, record) in enumerate(checked):
        key = record["external_key"]
        if key in where:
            raise InvalidData(
                f"record {number} external_key",
                _("{key} is also record {number}").format(
                    key=repr(key), number=checked[where[key]][0]
                ),
            )
        where[key] = index
    order: list[int] = []
    done: set[int] = set()
    for start in range(len(checked)):
        chain: list[int] = []
        step: int | None = start
        while step is not None and step not in done:
            if step in chain:
                number = checked[step][0]
                raise InvalidData(
                    f"record {number} parent_key", _("the records' parents make a cycle")
                )
            chain.append(step)
            parent_key = checked[step][1].get("parent_key")
            step = where.get(parent_key) if parent_key is not None else None
        for index in reversed(chain):
            done.add(index)
            order.append(index)
    return order


def _status_path(start: str, goal: str, *, approval: bool, creator: bool) -> list[str] | None:
    """The shortest list of verbs from one status to another for this actor, or None."""
    previous: dict[str, tuple[str, str] | None] = {start: None}
    queue = deque([start])
    while queue:
        status = queue.popleft()
        if status == goal:
            path: list[str] = []
            while (step := previous[status]) is not None:
                status, verb = step
                path.append(verb)
            return path[::-1]
        for verb in _VERB_ORDER:
            transition = TRANSITIONS[verb]
            if status not in transition.sources or (transition.who == "creator" and not creator):
                continue
            target = transition.target
            if verb == "done" and approval and not creator:
                target = "awaiting_approval"
            if target not in previous:
                previous[target] = (status, verb)
                queue.append(target)
    return None
