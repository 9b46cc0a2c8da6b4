"""Writing one chunk of clients' deadlines: compare what the rules want with what
the store holds, then write the difference in bulk.

Everything a deadline's rows share across clients (dates, shifts, title, the
task's deadline instant, the checklist) is prepared once per deadline; a
client adds only ids. Ids are allocated from ``max(id)`` inside the caller's
``BEGIN IMMEDIATE`` transaction (the only writer), so the rows go in with
``executemany`` and no round trip per row: deadlines here, tasks and
checklists through their owners' bulk functions (tasks/bulk.py,
checklists/bulk.py), which pass the rows straight through. The ``UNIQUE
(client_id, rule_id, period)`` key stays the last word: a row the diff thought
missing but another run wrote is skipped, never doubled.

The chunk's events (``deadline.created``, ``deadline.moved``,
``deadline.cancelled``, ``task.updated``) are written in its transaction too,
with one ``record_many`` per kind: a new deadline's id is known the same way as
its task's, from ``max(id)`` under the lock. A new deadline's event stands for its
task's creation too (one event, not two, for each of the run's rows).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sempi_cli.clock import FixedClock
from sempi_cli.fiscal.engine import Deadline, Planner
from sempi_cli.fiscal.rules import RULES_BY_ID, Rule
from sempi_cli.services import event_log
from sempi_cli.services.access import Actor
from sempi_cli.services.checklists import bulk as checklist_bulk
from sempi_cli.services.checklists.bulk import ChecklistSpec
from sempi_cli.services.clients import history as profile_history
from sempi_cli.services.tasks import bulk as task_bulk
from sempi_cli.services.templates.rrule import deadline_of
from sempi_cli.store.sql import in_marks

DEFAULT_LIST_NAME = "Adempimento"
CANCEL_REASON = "la regola non si applica più al profilo del cliente"


@dataclass
class Counts:
    clients: int = 0
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0

    def add(self, other: Counts) -> None:
        for name in ("clients", "created", "updated", "cancelled", "unchanged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Change:
    """A deadline the run moved, cancelled or restored — or would have, had its
    task not been started ("kept")."""

    client_id: int
    rule_id: str
    period: str
    action: str  # updated | cancelled | restored | kept
    old_due: str | None
    new_due: str | None
    task_id: int


@dataclass(frozen=True)
class Prepared:
    """What every client's copy of one deadline shares."""

    deadline: Deadline
    rule: Rule
    nominal: str
    due: str
    shifts: str
    task_deadline: str
    title: str
    description: str  # "{client}" stands for the client's id
    # Its deadline.created data as JSON, but for the client's own fields (and so
    # open: no closing brace): a run writes a hundred thousand of these events,
    # and encoding each whole was a third of an event's cost.
    event_head: str


@dataclass
class ChunkResult:
    counts: Counts = field(default_factory=Counts)
    changes: list[Change] = field(default_factory=list)


def default_checklist(rule: Rule) -> ChecklistSpec:
    return [
        {
            "name": DEFAULT_LIST_NAME,
            "items": [{"text": text, "important": False, "depth": 0} for text in rule.checklist],
        }
    ]


class ChunkWriter:
    """Applies a run to one chunk of clients at a time; the caller holds the transaction."""

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        planner: Planner,
        now: str,
        today: date,
        actor: Actor,
        run_id: int | None,
        deadline_time: str,
        templates: dict[str, ChecklistSpec],
    ) -> None:
        self.db = db
        self.planner = planner
        self.now = now
        self.today = today.isoformat()
        # The events say the run's instant, as its rows do (and no clock is read per event).
        self.clock = FixedClock(datetime.fromisoformat(now))
        self.actor = actor
        self.actor_id = actor.id
        self.run_id = run_id
        self.deadline_time = deadline_time
        self.checklists = {
            rule_id: checklist_bulk.flatten(templates.get(rule_id) or default_checklist(rule))
            for rule_id, rule in RULES_BY_ID.items()
        }
        self._prepared: dict[int, Prepared] = {}
        self.unassigned: set[int] = set()
        # The chunk's events, by kind, in the order they are written (record_many's rows).
        self._events: dict[str, list[EventRow]] = {}

    # --- what the rules want ---------------------------------------------------------

    def _prepare(self, deadline: Deadline) -> Prepared:
        """Shared per deadline object (the planner shares them among clients)."""
        found = self._prepared.get(id(deadline))
        if found is None:
            rule = RULES_BY_ID[deadline.rule_id]
            due, title = deadline.due_date.isoformat(), f"{rule.label} {deadline.period_name}"
            shared = {
                "rule_id": rule.id,
                "period": deadline.period,
                "due_date": due,
                "title": title,
            }
            found = self._prepared[id(deadline)] = Prepared(
                deadline=deadline,
                rule=rule,
                nominal=deadline.nominal_date.isoformat(),
                due=due,
                shifts=json.dumps([s.as_dict() for s in deadline.shifts], ensure_ascii=False),
                task_deadline=deadline_of(deadline.due_date, 0, self.deadline_time),
                title=title,
                description=(
                    f"Scadenza fiscale {rule.id} {deadline.period_name}. Base normativa: "
                    f"{deadline.legal_basis}. Perché cade in questo giorno: "
                    f"sempi scheduler explain {{client}} {rule.id} {deadline.period}"
                ),
                event_head=event_log.encoded(shared)[:-1],
            )
        return found

    # --- the diff ----------------------------------------------------------------------

    def apply(self, clients: Sequence[sqlite3.Row]) -> ChunkResult:
        result = ChunkResult()
        result.counts.clients = len(clients)
        if not clients:
            return result
        self._events = {kind: [] for kind in EVENT_ORDER}
        existing = self._existing([c["id"] for c in clients])
        profiles = profile_history.of_clients(self.db, [c["id"] for c in clients])
        new: list[tuple[sqlite3.Row, Prepared]] = []
        for client in clients:
            versions = [(v.day, v.profile) for v in profiles[client["id"]]]
            wanted = {
                (d.rule_id, d.period): self._prepare(d) for d in self.planner.for_history(versions)
            }
            held = existing.get(client["id"], {})
            for key, prepared in wanted.items():
                row = held.get(key)
                if row is None:
                    new.append((client, prepared))
                else:
                    self._compare(row, prepared, result)
            for key, row in held.items():
                if key not in wanted:
                    self._maybe_cancel(row, result)
        self._create(new, result)
        for kind, rows in self._events.items():
            if rows:
                event_log.record_many(self.db, self.clock, self.actor, kind, rows)
        return result

    def _existing(self, client_ids: list[int]) -> dict[int, dict[tuple[str, str], sqlite3.Row]]:
        """The chunk's deadlines the run may want (any of the range's periods, wherever
        an override moved them) or may cancel (falling due from the range's start)."""
        marks = in_marks(client_ids)
        periods = sorted(self.planner.periods())
        held: dict[int, dict[tuple[str, str], sqlite3.Row]] = {}
        for row in self.db.execute(
            "SELECT d.id, d.client_id, d.rule_id, d.period, d.nominal_date, d.due_date, d.shifts,"
            " d.override_reason, d.state, d.task_id, t.status, t.deadline, t.title"
            " FROM deadlines d JOIN tasks t ON t.id = d.task_id"
            f" WHERE d.client_id IN ({marks})"
            f" AND (d.due_date >= ? OR d.period IN ({in_marks(periods)}))",
            (*client_ids, self.planner.start.isoformat(), *periods),
        ):
            held.setdefault(row["client_id"], {})[(row["rule_id"], row["period"])] = row
        return held

    def _touchable(self, row: sqlite3.Row) -> bool:
        """Future and not started: still pending, no item checked, no time logged.
        Asked only of the few rows a run would change."""
        if row["status"] != "pending" or row["due_date"] < self.today:
            return False
        worked = self.db.execute(
            "SELECT EXISTS (SELECT 1 FROM checklists cl JOIN checklist_items ci ON ci.checklist_id = cl.id"
            " WHERE cl.task_id = :task AND ci.done_at IS NOT NULL)"
            " OR EXISTS (SELECT 1 FROM time_entries WHERE task_id = :task AND removed_at IS NULL)",
            {"task": row["task_id"]},
        ).fetchone()[0]
        return not worked

    def _compare(self, row: sqlite3.Row, prepared: Prepared, result: ChunkResult) -> None:
        same = (
            row["state"] == "active"
            and row["due_date"] == prepared.due
            and row["nominal_date"] == prepared.nominal
            and row["shifts"] == prepared.shifts
            and row["override_reason"] == prepared.deadline.override_reason
            and row["deadline"] == prepared.task_deadline
            and row["title"] == prepared.title
        )
        if same or (row["state"] == "cancelled" and prepared.due < self.today):
            result.counts.unchanged += 1
            return
        change = Change(
            row["client_id"],
            row["rule_id"],
            row["period"],
            "restored" if row["state"] == "cancelled" else "updated",
            row["due_date"],
            prepared.due,
            row["task_id"],
        )
        if not self._touchable(row):
            result.counts.unchanged += 1
            if row["due_date"] != prepared.due:
                result.changes.append(_kept(change))
            return
        self._update(row, prepared)
        result.counts.updated += 1
        result.changes.append(change)

    def _maybe_cancel(self, row: sqlite3.Row, result: ChunkResult) -> None:
        in_range = self.planner.start.isoformat() <= row["due_date"] <= self.planner.end.isoformat()
        if row["state"] != "active" or not in_range:
            return
        change = Change(
            row["client_id"],
            row["rule_id"],
            row["period"],
            "cancelled",
            row["due_date"],
            None,
            row["task_id"],
        )
        if not self._touchable(row):
            result.changes.append(_kept(change))
            return
        self._cancel(row)
        result.counts.cancelled += 1
        result.changes.append(change)

    # --- the writes: deadlines here, tasks and checklists through their owners -----------

    def _update(self, row: sqlite3.Row, prepared: Prepared) -> None:
        d = prepared.deadline
        self.db.execute(
            "UPDATE deadlines SET nominal_date = ?, due_date = ?, shifts = ?, override_reason = ?,"
            " state = 'active', run_id = ?, updated_at = ? WHERE id = ?",
            (
                prepared.nominal,
                prepared.due,
                prepared.shifts,
                d.override_reason,
                self.run_id,
                self.now,
                row["id"],
            ),
        )
        task_bulk.reschedule(
            self.db, row["task_id"], prepared.task_deadline, prepared.title, self.now
        )
        # (task_id, at, actor_id, action, field, old, new)
        history: list[tuple[int, str, int, str, str | None, str | None, str]] = []
        if row["state"] == "cancelled":
            history.append(
                (row["task_id"], self.now, self.actor_id, "restore", None, None, "scheduler")
            )
        if row["deadline"] != prepared.task_deadline:
            history.append(
                (
                    row["task_id"],
                    self.now,
                    self.actor_id,
                    "edit",
                    "deadline",
                    row["deadline"],
                    prepared.task_deadline,
                )
            )
        if row["title"] != prepared.title:
            history.append(
                (
                    row["task_id"],
                    self.now,
                    self.actor_id,
                    "edit",
                    "title",
                    row["title"],
                    prepared.title,
                )
            )
        task_bulk.record_history(self.db, history)
        if row["due_date"] != prepared.due:
            moved: dict[str, dict[str, str]] = {
                "due_date": {"old": row["due_date"], "new": prepared.due}
            }
            if row["state"] == "cancelled":  # owed again, on another day
                moved["state"] = {"old": "cancelled", "new": "active"}
            self._events["deadline.moved"].append(
                (
                    row["id"],
                    row["client_id"],
                    moved,
                    _deadline_data(row["rule_id"], row["period"], prepared.due, row["task_id"]),
                )
            )
        edits = {line[4]: {"old": line[5], "new": line[6]} for line in history if line[3] == "edit"}
        if edits:
            self._events["task.updated"].append(
                (row["task_id"], row["client_id"], edits, {"title": prepared.title})
            )

    def _cancel(self, row: sqlite3.Row) -> None:
        self.db.execute(
            "UPDATE deadlines SET state = 'cancelled', run_id = ?, updated_at = ? WHERE id = ?",
            (self.run_id, self.now, row["id"]),
        )
        self._events["deadline.cancelled"].append(
            (
                row["id"],
                row["client_id"],
                {"state": {"old": "active", "new": "cancelled"}},
                {
                    **_deadline_data(
                        row["rule_id"], row["period"], row["due_date"], row["task_id"]
                    ),
                    "reason": CANCEL_REASON,
                },
            )
        )
        task_bulk.withdraw(self.db, row["task_id"], self.now)
        task_bulk.record_history(
            self.db,
            [(row["task_id"], self.now, self.actor_id, "cancel", None, None, CANCEL_REASON)],
        )

    def _create(self, new: list[tuple[sqlite3.Row, Prepared]], result: ChunkResult) -> None:
        if not new:
            return
        task_id = task_bulk.next_task_id(self.db)
        deadline_id = int(
            self.db.execute("SELECT coalesce(max(id), 0) + 1 FROM deadlines").fetchone()[0]
        )
        list_id, item_id = checklist_bulk.next_ids(self.db)
        now, actor = self.now, self.actor_id
        new_tasks: list[tuple] = []
        deadlines, history, reminders, lists, items = [], [], [], [], []
        # One event a new deadline: its deadline.created names its task (task_id, title,
        # responsible_id) and stands for the task's creation too (docs/events.md): a
        # run writes a hundred deadlines a client, and each event costs the run.
        deadline_events = self._events["deadline.created"]
        for client, p in new:
            responsible = client["responsible_id"]
            if responsible is None:
                responsible = actor
                self.unassigned.add(client["id"])
            key = f"fiscal:{client['id']}:{p.rule.id}:{p.deadline.period}"
            new_tasks.append(
                (  # task_bulk.TASK_COLUMNS
                    task_id,
                    p.title,
                    p.description.replace("{client}", str(client["id"])),
                    responsible,
                    actor,
                    client["id"],
                    p.task_deadline,
                    key,
                    now,
                    now,
                )
            )
            deadlines.append(
                (
                    deadline_id,
                    client["id"],
                    p.rule.id,
                    p.deadline.period,
                    p.nominal,
                    p.due,
                    p.shifts,
                    p.deadline.override_reason,
                    task_id,
                    self.run_id,
                    now,
                    now,
                )
            )
            history.append((task_id, now, actor, "create", None, None, p.title))
            # "unassigned": the client has no responsible, the task went to whoever ran
            # the scheduler (a rule may give it to the office manager).
            unassigned = "false" if client["responsible_id"] is not None else "true"
            deadline_events.append(
                (
                    deadline_id,
                    client["id"],
                    None,
                    f'{p.event_head},"task_id":{task_id},"responsible_id":{responsible},'
                    f'"unassigned":{unassigned}}}',
                )
            )
            reminders.append((task_id, responsible, p.rule.lead_days * 1440, actor, now))
            for position, (name, entries) in enumerate(self.checklists[p.rule.id], 1):
                lists.append((list_id, task_id, name, position, now))
                first = item_id
                for parent, item_position, text, important in entries:
                    parent_id = None if parent is None else first + parent
                    items.append(
                        (item_id, list_id, parent_id, item_position, text, important, now, now)
                    )
                    item_id += 1
                list_id += 1
            task_id += 1
            deadline_id += 1
        task_bulk.insert_pending(self.db, new_tasks)
        # The diff was read inside this transaction: a deadline already there would
        # break the UNIQUE (client_id, rule_id, period) key, the final guard, and the
        # chunk would roll back. A plain INSERT: PostgreSQL loads it with COPY.
        self.db.executemany(
            "INSERT INTO deadlines (id, client_id, rule_id, period, nominal_date, due_date, shifts,"
            " override_reason, task_id, run_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            deadlines,
        )
        task_bulk.record_history(self.db, history)
        task_bulk.add_reminders(self.db, reminders)
        checklist_bulk.insert_many(self.db, lists, items)
        result.counts.created += len(new)


EventRow = tuple[int, int, dict | None, dict | str]  # record_many's (object, client, changes, data)
# The order of the kinds in a chunk: what changed in the deadlines held, then the new ones.
EVENT_ORDER = ("deadline.moved", "task.updated", "deadline.cancelled", "deadline.created")


def _deadline_data(rule_id: str, period: str, due: str, task_id: int) -> dict[str, object]:
    return {"rule_id": rule_id, "period": period, "due_date": due, "task_id": task_id}


def _kept(change: Change) -> Change:
    return Change(
        change.client_id,
        change.rule_id,
        change.period,
        "kept",
        change.old_due,
        change.new_due,
        change.task_id,
    )
