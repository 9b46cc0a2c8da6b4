"""Reminders on tasks: at a time, or some time before the deadline, to the
responsible or to other people of the task; the reminder job (cron) delivers
each due one, exactly once, into its recipient's inbox.

A relative reminder stores only "so many minutes before the deadline": when it
is due is computed by the job from the task's deadline *now*, so moving the
deadline moves the reminder. This module owns the ``reminders`` table.
"""

from __future__ import annotations

import builtins
import re
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta

from sempi_cli import i18n
from sempi_cli.clock import ROME, FixedClock, iso_utc
from sempi_cli.errors import (
    Conflict,
    InvalidData,
    NotFound,
    PermissionDenied,
    RuleViolation,
    UsageProblem,
)
from sempi_cli.i18n import N_, Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.tasks.tasks import TaskService
from sempi_cli.store.sql import in_marks

COLUMNS = ("id", "task_id", "recipient", "when", "due_at", "state", "delivered_at")
RUN_COLUMNS = ("reminder_id", "task_id", "recipient", "due_at", "notification_id")
BEFORE_HINT = N_("use 2d, 1w, 3h, 1d12h or 90m")
# A reminder typed as a date alone ("--at tomorrow") rings when the office opens.
AT_DEFAULT_TIME = time(9, 0)
# More than a year before a deadline is a typo; the cap also keeps the number in range.
BEFORE_MAX_MINUTES = 366 * 24 * 60
_BEFORE = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(.*)", re.ASCII)

# Due now: absolute ones whose time has come; relative ones whose task's current
# deadline minus the lead time has come (unixepoch: seconds since the epoch, so the
# arithmetic is exact and the stored '+00:00' form is understood; store/pg_schema.py
# gives PostgreSQL the same function).
_DUE = """
    r.delivered_at IS NULL
    AND t.removed_at IS NULL AND t.completed_at IS NULL AND t.status <> 'completed'
    AND (
        (r.remind_at IS NOT NULL AND r.remind_at <= :now)
        OR (r.before_minutes IS NOT NULL AND t.deadline IS NOT NULL
            AND unixepoch(t.deadline) - r.before_minutes * 60 <= unixepoch(:now))
    )
"""


def parse_before(text: str, *, field: str = "--before") -> int:
    """A lead time before the deadline, in whole minutes: 2d, 1w, 3h, 1d12h, 90m, 01:30."""
    from sempi_cli.timeparse import parse_duration

    key = re.sub(r"\s+", "", (text or "").lower())
    match = _BEFORE.fullmatch(key)
    weeks, days, rest = match.groups() if match else (None, None, key)
    if not (weeks or days or rest):
        raise InvalidData(field, _cannot_read(text), _(BEFORE_HINT))
    minutes = (int(weeks or 0) * 7 + int(days or 0)) * 24 * 60
    if rest:
        try:
            minutes += max(1, round(parse_duration(rest, field=field).total_seconds() / 60))
        except InvalidData:
            raise InvalidData(field, _cannot_read(text), _(BEFORE_HINT)) from None
    if minutes <= 0:
        raise InvalidData(
            field, _("{value} must be more than zero").format(value=repr(text)), _(BEFORE_HINT)
        )
    if minutes > BEFORE_MAX_MINUTES:
        raise InvalidData(
            field,
            _("{value} is more than a year before the deadline").format(value=repr(text)),
            _(BEFORE_HINT),
        )
    return minutes


def _cannot_read(text: str) -> str:
    return _("cannot read {value} as a time before the deadline").format(value=repr(text))


def format_before(minutes: int) -> str:
    """2880 -> '2d', 2190 -> '1d12h30m': the short form people type."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return "".join(parts) or "0m"


def _before_deadline(deadline: str, minutes: int) -> datetime:
    """The instant ``minutes`` before a stored deadline. A deadline in the first days of
    year 1 (typed as such: nothing refuses it) has no such instant: the first one there
    is stands in, long past like the one meant."""
    try:
        return datetime.fromisoformat(deadline) - timedelta(minutes=minutes)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def _rome_minutes(stored: str) -> str:
    return datetime.fromisoformat(stored).astimezone(ROME).strftime("%d/%m/%Y %H:%M")


def _people_moment(at: datetime) -> str:
    """A moment in a message: ISO as the English messages have always said it,
    dd/mm/yyyy HH:MM (Rome) in Italian."""
    if i18n.current() == "en":
        return _rome_iso(at)
    return at.astimezone(ROME).strftime("%d/%m/%Y %H:%M")


def _rome_iso(at: datetime) -> str:
    return at.astimezone(ROME).isoformat(timespec="minutes")


class ReminderService(Service):
    def _tasks(self) -> TaskService:
        return TaskService(self.db, self.clock, self.actor)

    def _reminds_anyone(self, task: sqlite3.Row) -> bool:
        """The creator and the responsible (and firm administrators) remind any of the
        task's people; everyone else who sees the task reminds only themselves."""
        return (
            self.actor.id in (task["creator_id"], task["responsible_id"])
            or self.actor.is_firm_admin
        )

    # --- adding ---------------------------------------------------------------------

    def add(
        self,
        task_id: int,
        *,
        at: str | None = None,
        before: str | None = None,
        to: Sequence[str] = (),
    ) -> list[dict]:
        """One reminder per recipient (default: the responsible), all or nothing."""
        if (at is None) == (before is None):
            raise UsageProblem(
                _(
                    "give either --at (a time) or --before (a lead time before the deadline), not both"
                )
                if at is not None
                else _("give either --at (a time) or --before (a lead time before the deadline)")
            )
        tasks = self._tasks()
        now = self.clock.now()
        created = []
        # Every read below is inside the write transaction: the task's deadline and
        # people cannot change between the checks and the insert.
        with self.transaction():
            task = tasks.row(task_id)
            remind_at, before_minutes = self._when(task, at, before, now)
            recipients = self._recipients(tasks, task, to)
            for recipient_id, email in recipients:
                duplicate = self.db.execute(
                    "SELECT id FROM reminders WHERE task_id = ? AND recipient_id = ?"
                    " AND remind_at IS NOT DISTINCT FROM ?"
                    " AND before_minutes IS NOT DISTINCT FROM ? AND delivered_at IS NULL",
                    (task_id, recipient_id, remind_at, before_minutes),
                ).fetchone()
                if duplicate is not None:
                    raise Conflict(
                        _(
                            "{user} already has this reminder on task {task} (reminder {reminder})"
                        ).format(user=email, task=task_id, reminder=duplicate[0])
                    )
                reminder_id = self.db.execute(
                    "INSERT INTO reminders (task_id, recipient_id, remind_at, before_minutes,"
                    " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (task_id, recipient_id, remind_at, before_minutes, self.actor.id, self.now()),
                ).fetchone()[0]
                tasks.history(
                    task_id,
                    "add_reminder",
                    "reminder",
                    None,
                    f"{reminder_id}: to {email}, {_when_text(remind_at, before_minutes)}",
                )
                created.append(reminder_id)
            rows = self._rows(f"r.id IN ({in_marks(created)})", created)
        return [self._out(r) for r in rows]

    def _when(
        self, task: sqlite3.Row, at: str | None, before: str | None, now: datetime
    ) -> tuple[str | None, int | None]:
        if at is not None:
            from sempi_cli.timeparse import parse_datetime

            when = parse_datetime(at, now, field="--at", default_time=AT_DEFAULT_TIME)
            if when < now:
                raise InvalidData(
                    "--at",
                    _("{time} is in the past").format(time=_people_moment(when)),
                    _("give a time still to come"),
                )
            return iso_utc(when), None
        minutes = parse_before(before or "")
        if task["deadline"] is None:
            raise RuleViolation(
                _("task {task} has no deadline: --before counts back from it").format(
                    task=task["id"]
                ),
                _("set one with 'sempi task edit {task} --deadline ...', or use --at").format(
                    task=task["id"]
                ),
            )
        due = _before_deadline(task["deadline"], minutes)
        if due < now:
            raise InvalidData(
                "--before",
                _("{before} before the deadline ({deadline}) is already past").format(
                    before=format_before(minutes), deadline=_rome_minutes(task["deadline"])
                ),
                _("use a shorter --before, or --at"),
            )
        return None, minutes

    def _recipients(
        self, tasks: TaskService, task: sqlite3.Row, refs: Sequence[str]
    ) -> list[tuple[int, str]]:
        """(id, e-mail) of each recipient, once each, in the order given."""
        if refs:
            ids = [
                self.actor.id if ref.strip().lower() == "me" else tasks.user_id(ref, "--to")
                for ref in refs
            ]
        else:
            ids = [task["responsible_id"]]
        people = {task["creator_id"], task["responsible_id"]} | {
            r[0]
            for r in self.db.execute(
                "SELECT user_id FROM task_members WHERE task_id = ?", (task["id"],)
            )
        }
        result = []
        for user_id in dict.fromkeys(ids):
            (email,) = self.db.execute(
                "SELECT email FROM users WHERE id = ?", (user_id,)
            ).fetchone()
            if user_id != self.actor.id:
                if not self._reminds_anyone(task):
                    raise PermissionDenied(
                        _("on task {task} you may set reminders only for yourself").format(
                            task=task["id"]
                        ),
                        _("add --to me (the creator and the responsible remind others)"),
                    )
                if user_id not in people:
                    raise InvalidData(
                        "--to",
                        _(
                            "{user} is not one of task {task}'s people"
                            " (responsible, creator, participants, observers)"
                        ).format(user=email, task=task["id"]),
                    )
            result.append((user_id, email))
        return result

    # --- reading --------------------------------------------------------------------

    def _rows(self, where: str, params: Iterable[object]) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT r.*, ru.email AS recipient, cu.email AS creator, t.deadline, t.status,"
            " n.id AS notification_id"
            " FROM reminders r JOIN tasks t ON t.id = r.task_id"
            " JOIN users ru ON ru.id = r.recipient_id JOIN users cu ON cu.id = r.created_by"
            " LEFT JOIN notifications n ON n.source = 'reminder:' || r.id"
            f" WHERE {where} ORDER BY r.id",
            tuple(params),
        ).fetchall()

    def _out(self, r: sqlite3.Row) -> dict:
        due: datetime | None
        if r["remind_at"] is not None:
            due = datetime.fromisoformat(r["remind_at"])
        elif r["deadline"] is not None:
            due = _before_deadline(r["deadline"], r["before_minutes"])
        else:
            due = None
        if r["delivered_at"] is not None:
            # Delivered without a notification: the recipient no longer saw the task.
            state = "delivered" if r["notification_id"] is not None else "withheld"
        elif r["status"] == "completed":
            state = "task_completed"  # rings again only if the task is reopened
        elif due is None:
            state = "no_deadline"
        elif due <= self.clock.now():
            state = "due"  # the next run of the reminder job delivers it
        else:
            state = "pending"
        return {
            "id": r["id"],
            "task_id": r["task_id"],
            "recipient": r["recipient"],
            "when": _when_text(r["remind_at"], r["before_minutes"]),
            "remind_at": r["remind_at"] and _rome_iso(datetime.fromisoformat(r["remind_at"])),
            "before_minutes": r["before_minutes"],
            "due_at": None if due is None else _rome_iso(due),
            "state": state,
            "delivered_at": r["delivered_at"],
            "notification_id": r["notification_id"],
            "created_by": r["creator"],
            "created_at": r["created_at"],
        }

    def list(self, task_id: int) -> list[dict]:
        """A task's reminders with their delivery state. The creator and the
        responsible see them all; others see those to them or made by them."""
        task = self._tasks().row(task_id)
        where, params = "r.task_id = ?", [task_id]
        if not self._reminds_anyone(task):
            where += " AND (r.recipient_id = ? OR r.created_by = ?)"
            params += [self.actor.id, self.actor.id]
        return [self._out(r) for r in self._rows(where, params)]

    # --- removing -------------------------------------------------------------------

    def remove(self, reminder_ids: Sequence[int], *, dry_run: bool = False) -> builtins.list[dict]:
        """Cancel reminders not yet delivered, all or nothing."""
        tasks = self._tasks()
        results = []
        with self.rehearsal(dry_run):
            for reminder_id in dict.fromkeys(reminder_ids):
                rows = self._rows("r.id = ?", [reminder_id])
                if not rows:
                    raise NotFound(_("reminder {reminder} not found").format(reminder=reminder_id))
                r = rows[0]
                try:
                    task = tasks.row(r["task_id"])
                except NotFound:
                    raise NotFound(
                        _("reminder {reminder} not found").format(reminder=reminder_id)
                    ) from None
                if not (
                    self._reminds_anyone(task)
                    or self.actor.id in (r["recipient_id"], r["created_by"])
                ):
                    # As in list: a reminder the actor may not see does not exist for them.
                    raise NotFound(_("reminder {reminder} not found").format(reminder=reminder_id))
                if r["delivered_at"] is not None:
                    raise RuleViolation(
                        _(
                            "reminder {reminder} was delivered on {time}:"
                            " there is nothing left to cancel"
                        ).format(reminder=reminder_id, time=_rome_minutes(r["delivered_at"]))
                    )
                out = self._out(r)
                self.db.execute("DELETE FROM reminders WHERE id = ?", (reminder_id,))
                tasks.history(
                    r["task_id"],
                    "remove_reminder",
                    "reminder",
                    f"{reminder_id}: to {r['recipient']}, {out['when']}",
                    None,
                )
                results.append(out)
        return results

    # --- the reminder job -------------------------------------------------------------

    def run(self, now: datetime | None = None, *, dry_run: bool = False) -> dict:
        """Deliver every reminder due at ``now`` and not yet delivered, once each.

        One BEGIN IMMEDIATE transaction: a second job started meanwhile waits,
        then finds them delivered; the notification's UNIQUE source makes a
        double delivery impossible even so. A recipient who can no longer see
        the task gets nothing (the title would leak); the reminder is spent.
        """
        from sempi_cli.services.identity.auth import actor_from_row
        from sempi_cli.services.notify.centre import NotificationService

        if not self.actor.is_internal:
            raise PermissionDenied(
                _("only a firm user may run the reminder job"),
                _(
                    "cron runs it with a firm user's application password"
                    " (SEMPI_USER, SEMPI_APP_PASSWORD)"
                ),
            )
        now = self.clock.now() if now is None else now
        stamp = iso_utc(now)
        inbox = NotificationService(self.db, FixedClock(now), self.actor)
        delivered: list[dict] = []
        withheld: list[dict] = []
        with self.rehearsal(dry_run):
            due = self.db.execute(
                "SELECT r.id, r.task_id, r.recipient_id, r.remind_at, r.before_minutes, t.title,"
                f" t.deadline FROM reminders r JOIN tasks t ON t.id = r.task_id WHERE {_DUE}"
                " ORDER BY r.id",
                {"now": stamp},
            ).fetchall()
            for r in due:
                reminder_id, task_id = r["id"], r["task_id"]
                recipient = actor_from_row(
                    self.db.execute(
                        "SELECT * FROM users WHERE id = ?", (r["recipient_id"],)
                    ).fetchone()
                )
                where, params = access.visible_tasks(recipient)
                sees = self.db.execute(
                    f"SELECT 1 FROM tasks t WHERE t.id = :task AND {where}",
                    {**params, "task": task_id},
                ).fetchone()
                item = {
                    "reminder_id": reminder_id,
                    "task_id": task_id,
                    "recipient": recipient.email,
                    "due_at": _rome_iso(
                        datetime.fromisoformat(r["remind_at"])
                        if r["remind_at"] is not None
                        else _before_deadline(r["deadline"], r["before_minutes"])
                    ),
                    "notification_id": None,
                }
                if sees:
                    item["notification_id"] = inbox.notify(
                        recipient.id,
                        "reminder",
                        _reminder_text(task_id, r["title"], r["deadline"], now),
                        f"reminder:{reminder_id}",
                        task_id,
                    )
                    delivered.append(item)
                else:
                    withheld.append(item)
                self.db.execute(
                    "UPDATE reminders SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
                    (stamp, reminder_id),
                )
            if delivered or withheld:
                self.audit(
                    "deliver", "reminders", None, delivered=len(delivered), withheld=len(withheld)
                )
        if dry_run:  # rolled back: those ids were never kept
            for item in delivered:
                item["notification_id"] = None
        return {
            "at": stamp,
            "dry_run": dry_run,
            "delivered": len(delivered),
            "withheld": len(withheld),
            "reminders": delivered,
            "withheld_reminders": withheld,
        }


def _when_text(remind_at: str | None, before_minutes: int | None) -> str:
    if remind_at is not None:
        return f"at {_rome_minutes(remind_at)}"
    return f"{format_before(before_minutes or 0)} before the deadline"


def _reminder_text(task_id: int, title: str, deadline: str | None, now: datetime) -> Text:
    """The notification, written in its recipient's language."""
    if deadline is None:
        return Text("Reminder: task {task} '{title}'", task=task_id, title=title)
    day, hour = _rome_minutes(deadline).split(" ")
    if datetime.fromisoformat(deadline) < now:
        return Text(
            "Reminder: task {task} '{title}' was due {day} {time}",
            task=task_id,
            title=title,
            day=day,
            time=hour,
        )
    return Text(
        "Reminder: task {task} '{title}' is due {day} {time}",
        task=task_id,
        title=title,
        day=day,
        time=hour,
    )
