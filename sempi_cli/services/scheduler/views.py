"""Reading the fiscal calendar: the scadenzario (list), a month, why one deadline
falls where it does (explain), the iCalendar export, the rules and the holidays.

Every deadline read here is one whose task the actor may see
(``access.visible_tasks`` on the deadline's task): a user sees exactly the
deadlines of the work they see; firm administrators see all. The rules and the
holidays are the law, not the firm's data: anyone may read them, no store needed.

A deadline's status is computed when read, never stored: ``cancelled`` (the
scheduler set it aside), ``done`` (its task is completed), ``overdue`` (its
task's deadline has passed), ``upcoming`` (everything else).
"""

from __future__ import annotations

import builtins
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sempi_cli.clock import ROME, iso_utc, today_in_rome
from sempi_cli.errors import InvalidData, NotFound, UsageProblem
from sempi_cli.i18n import N_, Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.scheduler.config import Day, find_override, period_of, rule_named

STATUSES = ("upcoming", "overdue", "done", "cancelled")
DEFAULT_STATUSES = ("upcoming", "overdue", "done")
LIST_COLUMNS = ("due_date", "rule_id", "period", "client", "responsible", "status", "task_id")
ROW_FIELDS = (
    "deadline_id",
    "client_id",
    "client",
    "rule_id",
    "label",
    "period",
    "tax_year",
    "nominal_date",
    "due_date",
    "shifts",
    "override_reason",
    "task_id",
    "title",
    "responsible",
    "task_status",
    "task_deadline",
    "status",
)
WEEKDAYS_IT = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
MONTHS_IT = (
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre"
).split()
_MONTHS_EN = "january february march april may june july august september october november december"
# The years the holiday calendar knows (the `holidays` package stops at 2100:
# after it, it would silently return no holidays at all).
FIRST_YEAR, LAST_YEAR = 1950, 2100
MONTH_HINT = N_("use 2026-05, 05/2026, maggio 2026, this month, next month, or a date in the month")

_STATUS_SQL = (
    "CASE WHEN d.state = 'cancelled' THEN 'cancelled'"
    " WHEN t.status = 'completed' THEN 'done'"
    # A task without a deadline (someone cleared it) is late once its due day is over.
    " WHEN coalesce(t.deadline < :now, d.due_date < :today) THEN 'overdue'"
    " ELSE 'upcoming' END"
)


@dataclass
class DeadlineQuery:
    """The filters of the scadenzario; every one is optional."""

    client: int | None = None
    studio: str | None = None
    responsible: str | None = None  # an e-mail or user id
    mine: bool = False
    rule: str | None = None
    period: str | None = None
    start: str | None = None  # --from: first due date (inclusive), as typed
    end: str | None = None  # --to: last due date (inclusive), as typed
    statuses: list[str] = field(default_factory=list)  # none: all but cancelled
    limit: int | None = None


def check_year(year: int, field_name: str = "YEAR") -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidData(
            field_name,
            _("{year} is outside the holiday calendar").format(year=year),
            _("give a year from {first} to {last}").format(first=FIRST_YEAR, last=LAST_YEAR),
        )
    return year


def rules_table() -> list[dict]:
    """Every rule's declarative fields (the callables left out)."""
    from sempi_cli.fiscal.rules import RULES

    return [
        {
            "id": r.id,
            "label": r.label,
            "who": r.who,
            "fields": list(r.fields),
            "cadence": r.cadence,
            "period_is": r.period_is,
            "indexes": list(r.indexes),
            "august_rule": r.august_rule,
            "legal_basis": r.legal_basis,
            "checklist": list(r.checklist),
            "lead_days": r.lead_days,
            "first_year": r.first_year,
            "last_year": r.last_year,
        }
        for r in RULES
    ]


def holidays_of(year: int) -> list[dict]:
    """The national holidays of *year* that move fiscal deadlines, in date order."""
    from sempi_cli.fiscal.calendar import holiday_names

    check_year(year)
    return [
        {"date": day.isoformat(), "weekday": WEEKDAYS_IT[day.weekday()], "name": name}
        for day, name in sorted(holiday_names(year).items())
    ]


def parse_month(text: str | None, now: datetime) -> date:
    """The first day of the month *text* names (default: this Rome month)."""
    from dateutil.relativedelta import relativedelta

    from sempi_cli.timeparse import parse_date

    today = now.astimezone(ROME).date()
    this = today.replace(day=1)
    if text is None:
        return this
    key = " ".join(text.strip().lower().split())
    words = {
        ("this month", "questo mese", "mese corrente"): 0,
        ("next month", "prossimo mese", "mese prossimo"): 1,
        ("last month", "previous month", "mese scorso"): -1,
    }
    for names, offset in words.items():
        if key in names:
            return this + relativedelta(months=offset)
    year: int | None = None
    month: int | None = None
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})", key):
        year, month = int(match[1]), int(match[2])
    elif match := re.fullmatch(r"(\d{1,2})/(\d{4})", key):
        year, month = int(match[2]), int(match[1])
    elif match := re.fullmatch(r"([a-zì]+)(?: (\d{4}))?", key):
        name = match[1]
        for month_names in (MONTHS_IT, _MONTHS_EN.split()):
            found = [
                n
                for n, full in enumerate(month_names, 1)
                if len(name) >= 3 and full.startswith(name)
            ]
            if len(found) == 1:
                month, year = found[0], int(match[2]) if match[2] else today.year
                break
    if month is None:
        try:
            first = parse_date(text, now, field="--month").replace(day=1)
        except InvalidData:
            raise InvalidData(
                "--month",
                _("cannot read {text} as a month").format(text=repr(text)),
                _(MONTH_HINT),
            ) from None
    elif not 1 <= month <= 12 or year is None:
        raise InvalidData(
            "--month", _("no such month: {text}").format(text=repr(text)), _(MONTH_HINT)
        )
    else:
        first = date(year, month, 1)
    check_year(first.year, "--month")
    return first


def _any_period(text: str) -> str:
    """A period some rule has, in its canonical form; InvalidData otherwise."""
    from sempi_cli.fiscal.rules import RULES

    for rule in RULES:
        try:
            return rule.period(*rule.parse_period(text))
        except ValueError:
            continue
    raise InvalidData(
        "--period",
        _("{text} is not a period of any rule").format(text=repr(text)),
        _("give a month (2026-05), a quarter (2026-Q2), a year (2026) or an instalment (2026-R1)"),
    )


def _profile_text(profile: dict, fields: tuple[str, ...]) -> str:
    return ", ".join(f"{f}={profile_value(profile.get(f))}" for f in fields) or _(
        "(no profile field)"
    )


def profile_value(value: object) -> str:
    """A profile value as people read it: yes/no for a flag, in their language."""
    return (_("yes") if value else _("no")) if isinstance(value, bool) else str(value)


class Either:
    """Profile flags joined by "or" in the language of the text they are put in."""

    def __init__(self, flags: tuple[str, ...]) -> None:
        self.flags = flags

    def __str__(self) -> str:
        return (" " + _("or") + " ").join(self.flags)


class ScheduleViews(Service):
    # --- the scadenzario -------------------------------------------------------------

    def list(self, q: DeadlineQuery) -> list[dict]:
        """The deadlines matching *q* that the actor may see, by due date, client, rule."""
        from sempi_cli.timeparse import parse_date

        now = self.clock.now()
        first = parse_date(q.start, now, field="--from") if q.start else None
        last = parse_date(q.end, now, field="--to") if q.end else None
        if first and last and first > last:
            raise InvalidData(
                "--from",
                _("{first} is after --to {last}").format(
                    first=Day(first.isoformat()), last=Day(last.isoformat())
                ),
                _("swap them"),
            )
        return self._select(q, first, last)

    def _select(
        self, q: DeadlineQuery, first: date | None, last: date | None
    ) -> builtins.list[dict]:
        from sempi_cli.fiscal.rules import RULES_BY_ID
        from sempi_cli.services.tasks.tasks import deadline_out

        where, params = access.visible_tasks(self.actor)
        clauses = [where]
        params.update(now=iso_utc(self.clock.now()), today=today_in_rome(self.clock).isoformat())
        statuses = list(dict.fromkeys(q.statuses)) or list(DEFAULT_STATUSES)
        for status in statuses:
            if status not in STATUSES:
                raise InvalidData(
                    "--status",
                    _("{value} is not one of {choices}").format(
                        value=repr(status), choices=", ".join(STATUSES)
                    ),
                )
        if q.rule is not None:
            rule = rule_named(q.rule, "--rule")
            clauses.append("d.rule_id = :rule")
            params["rule"] = rule.id
            if q.period is not None:
                params["period"] = rule.period(*period_of(rule, q.period, "--period"))
        elif q.period is not None:
            params["period"] = _any_period(q.period)
        if "period" in params:
            clauses.append("d.period = :period")
        if q.limit is not None and q.limit < 1:
            raise InvalidData("--limit", _("must be at least 1"))
        if q.mine and q.responsible is not None:
            raise UsageProblem(_("--mine and --responsible: give one of them"))
        if q.mine:
            clauses.append("t.responsible_id = :actor_id")
        elif q.responsible is not None:
            from sempi_cli.services.identity.accounts import find_user

            params["responsible"] = find_user(self.db, self.actor, q.responsible)["id"]
            clauses.append("t.responsible_id = :responsible")
        if q.client is not None:
            clauses.append("d.client_id = :client")
            params["client"] = q.client
        if q.studio is not None:
            from sempi_cli.services.org.studios import find_studio_id

            params["studio"] = find_studio_id(self.db, self.actor, q.studio)
            clauses.append("c.studio_id = :studio")
        if first is not None:
            clauses.append("d.due_date >= :first")
            params["first"] = first.isoformat()
        if last is not None:
            clauses.append("d.due_date <= :last")
            params["last"] = last.isoformat()
        names = [f":status{n}" for n in range(len(statuses))]
        clauses.append(f"({_STATUS_SQL}) IN ({', '.join(names)})")
        params.update({name[1:]: s for name, s in zip(names, statuses, strict=True)})
        sql = (
            "SELECT d.id AS deadline_id, d.client_id, c.ragione_sociale AS client, d.rule_id,"
            " d.period, d.nominal_date, d.due_date, d.shifts, d.override_reason, d.task_id,"
            " d.updated_at, t.updated_at AS task_updated_at, t.title, t.status AS task_status,"
            f" t.deadline AS task_deadline, ru.email AS responsible, {_STATUS_SQL} AS status"
            " FROM deadlines d JOIN tasks t ON t.id = d.task_id"
            " JOIN clients c ON c.id = d.client_id LEFT JOIN users ru ON ru.id = t.responsible_id"
            f" WHERE {' AND '.join(clauses)}"
            " ORDER BY d.due_date, c.ragione_sociale COLLATE NOCASE, d.client_id, d.rule_id,"
            " d.period"
        )
        if q.limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = q.limit
        rows = []
        for r in self.db.execute(sql, params):
            row = dict(r)
            row_rule = RULES_BY_ID.get(row["rule_id"])
            row["label"] = row_rule.label if row_rule else None
            year = int(row["period"][:4])
            row["tax_year"] = row_rule.tax_year(year) if row_rule else year
            row["shifts"] = json.loads(row["shifts"] or "[]")
            row["task_deadline"] = deadline_out(row["task_deadline"])
            rows.append(row)
        return rows

    # --- a month ---------------------------------------------------------------------

    def month(self, q: DeadlineQuery, month: str | None = None) -> dict:
        """Every day of a month with its ISO week, its holiday (if any) and its deadlines."""
        from sempi_cli.fiscal.calendar import holiday_names

        first = parse_month(month, self.clock.now())
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        by_day: dict[str, list[dict]] = {}
        for row in self._select(q, first, last):
            by_day.setdefault(row["due_date"], []).append(row)
        holidays = holiday_names(first.year)
        days = []
        for n in range(last.day):
            day = first + timedelta(days=n)
            found = by_day.get(day.isoformat(), [])
            days.append(
                {
                    "date": day.isoformat(),
                    "weekday": WEEKDAYS_IT[day.weekday()],
                    # ISO 8601, as the portals' planners count: 1 January 2027 is in week 53.
                    "iso_week": day.isocalendar().week,
                    "holiday": holidays.get(day),
                    "working_day": day.weekday() < 5 and day not in holidays,
                    "count": len(found),
                    "deadlines": found,
                }
            )
        return {
            "month": first.strftime("%Y-%m"),
            "name": f"{MONTHS_IT[first.month - 1]} {first.year}",
            "total": sum(d["count"] for d in days),
            "days": days,
        }

    # --- why a deadline falls where it does ------------------------------------------

    def explain(
        self, client_id: int, rule_id: str, period: str, *, for_people: bool = False
    ) -> dict:
        """The client, the rule and the profile values it reads, the nominal date, each
        shift with its reason, the override, the legal basis and the task if any.
        The notes are English, as JSON carries them; *for_people*: in the reader's
        language (the report on a terminal)."""
        from sempi_cli.fiscal.engine import deadline_of, owing_profile
        from sempi_cli.services.clients import history

        rule = rule_named(rule_id, "RULE")
        year, index = period_of(rule, period, "PERIOD")
        canonical = rule.period(year, index)
        stored = self._stored(client_id, rule.id, canonical)
        client = (
            self.db.execute("SELECT * FROM clients WHERE id = ?", (client_id,)).fetchone()
            if stored is not None  # seeing the deadline's task is enough to see why
            else access.client_row(self.db, self.actor, client_id)
        )
        versions = [(v.day, v.profile) for v in history.of_client(self.db, client_id)]
        profile = dict(owing_profile(versions, rule, year, index))
        applies = bool(rule.applies(profile))
        values = _profile_text(profile, rule.fields)
        if stored is None and not applies:
            raise NotFound(
                _(
                    "{rule} does not apply to client {client} ({name}): it applies to {who},"
                    " and the client has {values}"
                ).format(
                    rule=rule.id,
                    client=client_id,
                    name=client["ragione_sociale"],
                    who=rule.who,
                    values=values,
                )
            )
        override, override_note = self._override(rule.id, canonical, profile)
        computed = deadline_of(rule, year, index, override)
        result: dict[str, object] = {
            "client_id": client_id,
            "client": client["ragione_sociale"],
            "rule_id": rule.id,
            "label": rule.label,
            "who": rule.who,
            "applies": applies,
            "profile": {f: profile.get(f) for f in rule.fields},
            "period": canonical,
            "tax_year": rule.tax_year(year),
            "period_name": rule.period_name(year, index),
            "generated": stored is not None,
        }
        if stored is not None:
            result.update(
                nominal_date=stored["nominal_date"],
                due_date=stored["due_date"],
                shifts=json.loads(stored["shifts"] or "[]"),
                override_reason=stored["override_reason"],
            )
        else:
            result.update(
                nominal_date=computed.nominal_date.isoformat(),
                due_date=computed.due_date.isoformat(),
                shifts=[s.as_dict() for s in computed.shifts],
                override_reason=computed.override_reason,
            )
        result.update(
            legal_basis=rule.legal_basis,
            august_rule=rule.august_rule,
            task_id=stored["task_id"] if stored else None,
            task_status=stored["task_status"] if stored else None,
            responsible=stored["responsible"] if stored else None,
            status=stored["status"] if stored else None,
            notes=[
                str(note) if for_people else note.said_in("en")
                for note in self._notes(stored, applies, computed.due_date, override_note)
            ],
        )
        return result

    def _stored(self, client_id: int, rule_id: str, period: str) -> dict | None:
        where, params = access.visible_tasks(self.actor)
        params.update(
            client=client_id,
            rule=rule_id,
            period=period,
            now=iso_utc(self.clock.now()),
            today=today_in_rome(self.clock).isoformat(),
        )
        row = self.db.execute(
            "SELECT d.*, t.status AS task_status, ru.email AS responsible,"
            f" {_STATUS_SQL} AS status FROM deadlines d JOIN tasks t ON t.id = d.task_id"
            " LEFT JOIN users ru ON ru.id = t.responsible_id"
            " WHERE d.client_id = :client AND d.rule_id = :rule AND d.period = :period"
            f" AND {where}",
            params,
        ).fetchone()
        return dict(row) if row is not None else None

    def _override(self, rule_id: str, period: str, profile: dict):
        """The government extension covering this client, and a note when one exists
        that does not cover it."""
        override = find_override(self.db, rule_id, period)
        if override is None:
            return None, None
        if override.covers(profile):
            return override, None
        return None, Text(
            "the extension to {due} ({reason}) covers only clients with {flags}",
            due=Day(override.due_date.isoformat()),
            reason=override.reason,
            flags=Either(override.applies_to),
        )

    @staticmethod
    def _notes(
        stored: dict | None, applies: bool, computed_due: date, override_note: Text | None
    ) -> builtins.list[Text]:
        notes = [override_note] if override_note else []
        if stored is None:
            notes.append(Text("not generated yet: 'sempi scheduler run' makes it a task"))
            return notes
        if stored["state"] == "cancelled":
            notes.append(
                Text("cancelled by the scheduler: the client's profile no longer calls for it")
            )
        elif not applies:
            notes.append(
                Text("the client's profile no longer calls for it: the next run cancels it")
            )
        elif stored["due_date"] != computed_due.isoformat():
            notes.append(
                Text(
                    "the rules give {due} today: the next 'sempi scheduler run' moves it if its"
                    " task has not started",
                    due=Day(computed_due.isoformat()),
                )
            )
        return notes

    # --- iCalendar -------------------------------------------------------------------

    def ics(self, q: DeadlineQuery) -> str:
        """The deadlines as an iCalendar file: one all-day event each, with a UID
        stable per (store, client, rule, period), so a calendar app that imports
        it again updates its events instead of adding copies; cancelled ones are
        STATUS:CANCELLED so the app drops them. Default: every status."""
        if not q.statuses:
            q = replace(q, statuses=list(STATUSES))
        from sempi_cli.services.scheduler.ics import build_ics

        return build_ics(self.db, self.list(q), self.clock.now())
