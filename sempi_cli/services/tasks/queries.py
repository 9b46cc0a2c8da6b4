"""Finding tasks: the filters of `task list` and the short "what is due" view.

Every query carries the visibility predicate, except where the filter itself
proves the actor may see the rows (their own tasks as responsible or creator).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sempi_cli.clock import ROME, iso_utc, today_in_rome
from sempi_cli.errors import InvalidData, NotFound
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.tasks.input import KINDS, STATUSES
from sempi_cli.services.tasks.tasks import deadline_out

LIST_COLUMNS = ("id", "title", "status", "responsible", "client", "deadline", "flags")
SORTS = {
    "deadline": "t.deadline IS NULL, t.deadline, t.id",
    "priority": "t.high_priority DESC, t.deadline IS NULL, t.deadline, t.id",
    "created": "t.id",
    "updated": "t.updated_at DESC, t.id",
    "title": "t.title COLLATE NOCASE, t.id",
    "status": "t.status, t.deadline IS NULL, t.deadline, t.id",
}


@dataclass
class TaskQuery:
    mine: bool = False
    created: bool = False
    observing: bool = False
    participating: bool = False
    statuses: list[str] = field(default_factory=list)
    client: int | None = None
    studio: str | None = None
    tags: list[str] = field(default_factory=list)
    due_before: str | None = None  # exclusive
    due_by: str | None = None  # inclusive
    due_from: str | None = None  # a date: from its first minute
    due_to: str | None = None  # a date: to its last minute
    responsible: str | None = None  # a user (e-mail or id)
    creator: str | None = None
    project: str | None = None
    overdue: bool = False
    today: bool = False
    week: bool = False
    high: bool = False
    kind: str | None = None
    awaiting_approval: bool = False
    search: str | None = None
    include_completed: bool = True
    sort: str = "deadline"
    limit: int | None = None


class TaskQueries(Service):
    def list(self, q: TaskQuery) -> list[dict]:
        clauses = ["t.removed_at IS NULL"]
        params: dict[str, object] = {"me": self.actor.id}
        if q.mine:
            clauses.append("t.responsible_id = :me")
        if q.created:
            clauses.append("t.creator_id = :me")
        for ref, column, option in (
            (q.responsible, "responsible_id", "--responsible"),
            (q.creator, "creator_id", "--creator"),
        ):
            if ref is not None:
                clauses.append(f"t.{column} = :{column}")
                params[column] = self._user(ref, option)
        if q.project is not None:
            clauses.append("t.project = :project")
            params["project"] = q.project.strip()
        for flag, role in ((q.observing, "observer"), (q.participating, "participant")):
            if flag:
                clauses.append(
                    f"t.id IN (SELECT task_id FROM task_members WHERE user_id = :me AND role = '{role}')"
                )
        if not (q.mine or q.created):  # otherwise visibility is already certain
            where, visible = access.visible_tasks(self.actor)
            clauses.append(where)
            params.update(visible)
        for status in q.statuses:
            if status not in STATUSES:
                raise InvalidData(
                    "--status",
                    _("{value} is not one of {choices}").format(
                        value=repr(status), choices=", ".join(STATUSES)
                    ),
                )
        if q.awaiting_approval:
            clauses.append("t.status = 'awaiting_approval' AND t.creator_id = :me")
        if q.statuses:
            names = [f":status{n}" for n in range(len(q.statuses))]
            clauses.append(f"t.status IN ({', '.join(names)})")
            params.update(
                {name[1:]: status for name, status in zip(names, q.statuses, strict=True)}
            )
        elif not q.include_completed:
            clauses.append(
                "t.completed_at IS NULL"
            )  # same as status <> 'completed'; uses the index
        if q.client is not None:
            clauses.append("t.client_id = :client")
            params["client"] = q.client
        if q.studio is not None:
            from sempi_cli.services.org.studios import find_studio_id

            params["studio"] = find_studio_id(self.db, self.actor, q.studio)
            clauses.append("t.client_id IN (SELECT id FROM clients WHERE studio_id = :studio)")
        for n, tag in enumerate(q.tags):
            clauses.append(f"t.id IN (SELECT task_id FROM task_tags WHERE tag = :tag{n})")
            params[f"tag{n}"] = tag.strip().lower().lstrip("+")
        self._deadline_filters(q, clauses, params)
        if q.high:
            clauses.append("t.high_priority = 1")
        if q.kind is not None:
            if q.kind not in KINDS:
                raise InvalidData(
                    "--kind",
                    _("{value} is not one of {choices}").format(
                        value=repr(q.kind), choices=", ".join(KINDS)
                    ),
                )
            clauses.append("t.kind = :kind")
            params["kind"] = q.kind
        if q.search:
            clauses.append("(t.title LIKE :q OR t.description LIKE :q OR t.project LIKE :q)")
            params["q"] = f"%{q.search.strip()}%"
        if q.sort not in SORTS:
            raise InvalidData(
                "--sort",
                _("{value} is not one of {choices}").format(
                    value=repr(q.sort), choices=", ".join(SORTS)
                ),
            )
        sql = (
            "SELECT t.id, t.title, t.status, t.deadline, t.high_priority, t.kind, t.client_id,"
            " t.approval_required, ru.email AS responsible, c.ragione_sociale AS client"
            " FROM tasks t JOIN users ru ON ru.id = t.responsible_id LEFT JOIN clients c ON c.id = t.client_id"
            f" WHERE {' AND '.join(clauses)} ORDER BY {SORTS[q.sort]}"
        )
        if q.limit is not None:
            if q.limit < 1:
                raise InvalidData("--limit", _("must be at least 1"))
            sql += " LIMIT :limit"
            params["limit"] = q.limit
        now = iso_utc(self.clock.now())
        return [self._row(r, now) for r in self.db.execute(sql, params)]

    def _user(self, ref: str, option: str) -> int:
        from sempi_cli.services.identity.accounts import find_user

        try:
            return int(find_user(self.db, self.actor, ref)["id"])
        except NotFound:
            raise InvalidData(option, _("no user {user}").format(user=repr(ref))) from None

    def _deadline_filters(
        self, q: TaskQuery, clauses: builtins.list[str], params: dict[str, object]
    ) -> None:
        from sempi_cli.timeparse import day_start, parse_date, parse_datetime

        now = self.clock.now()
        today = today_in_rome(self.clock)
        start_of = lambda day: iso_utc(datetime.combine(day, time(0), ROME))  # noqa: E731
        if q.due_before:
            params["due_before"] = iso_utc(parse_datetime(q.due_before, now, field="--due-before"))
            clauses.append("t.deadline < :due_before")
        if q.due_by:
            by = parse_datetime(q.due_by, now, field="--due-by", default_time=time(23, 59))
            params["due_by"] = iso_utc(by)
            clauses.append("t.deadline <= :due_by")
        if q.due_from:
            first = parse_date(q.due_from, now, field="--due-from")
            params["due_from"] = iso_utc(day_start(first, field="--due-from"))
            clauses.append("t.deadline >= :due_from")
        if q.due_to:
            last = parse_date(q.due_to, now, field="--due-to")
            params["due_to"] = iso_utc(day_start(last, field="--due-to", days_later=1))
            clauses.append("t.deadline < :due_to")
        if q.due_from and q.due_to and str(params["due_from"]) >= str(params["due_to"]):
            raise InvalidData("--due-to", _("is before --due-from"))
        if q.overdue:
            params["now"] = iso_utc(now)
            clauses.append("t.deadline < :now AND t.completed_at IS NULL")
        if q.today:
            params["today_start"], params["today_end"] = (
                start_of(today),
                start_of(today + timedelta(days=1)),
            )
            clauses.append("t.deadline >= :today_start AND t.deadline < :today_end")
        if q.week:
            monday = today - timedelta(days=today.weekday())
            params["week_start"], params["week_end"] = (
                start_of(monday),
                start_of(monday + timedelta(days=7)),
            )
            clauses.append("t.deadline >= :week_start AND t.deadline < :week_end")

    @staticmethod
    def _row(row, now: str) -> dict:
        item = dict(row)
        overdue = (
            item["deadline"] is not None
            and item["deadline"] < now
            and item["status"] != "completed"
        )
        item["overdue"] = overdue
        item["high_priority"] = bool(item["high_priority"])
        item["approval_required"] = bool(item["approval_required"])
        item["deadline"] = deadline_out(item["deadline"])
        item["flags"] = ("!" if item["high_priority"] else "") + ("overdue" if overdue else "")
        return item

    def due(self) -> dict[str, builtins.list[dict]]:
        """What needs the actor now: overdue, due today, due this week, awaiting my approval."""

        def mine(*, overdue: bool = False, today: bool = False, week: bool = False) -> TaskQuery:
            return TaskQuery(
                mine=True,
                include_completed=False,
                sort="deadline",
                overdue=overdue,
                today=today,
                week=week,
            )

        overdue = self.list(mine(overdue=True))
        today = [t for t in self.list(mine(today=True)) if not t["overdue"]]
        seen = {t["id"] for t in overdue + today}
        week = [t for t in self.list(mine(week=True)) if t["id"] not in seen]
        approval = self.list(TaskQuery(created=True, awaiting_approval=True, sort="deadline"))
        return {
            "overdue": overdue,
            "today": today,
            "this_week": week,
            "awaiting_my_approval": approval,
        }
