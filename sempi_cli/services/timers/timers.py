"""Time tracking: entries made by hand, the timer's status and the forgotten-timer
check; the timer itself (start, pause) is running.py, reports are reports.py.

This module owns ``time_entries`` with running.py. Every change is also a line in
the task's history.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta

from sempi_cli.clock import ROME, iso_utc
from sempi_cli.errors import InvalidData, NotFound, PermissionDenied, RuleViolation, UsageProblem
from sempi_cli.i18n import N_, Text
from sempi_cli.i18n import gettext as _
from sempi_cli.output import for_people
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.tasks.tasks import TaskService
from sempi_cli.services.timers.running import RunningTimer, seconds_between
from sempi_cli.services.timers.running import hours_minutes as hours_minutes

ENTRY_COLUMNS = ("id", "task_id", "task", "user", "started_at", "ended_at", "duration", "flags")
LONG_SETTING = "timer.max_running_hours"
# Why a running timer looks forgotten: English in JSON (status, check), as always;
# in_words puts them in the reader's language.
OVER_LIMIT = N_("running for more than {limit} h")
OVER_MIDNIGHT = N_("running since before midnight")
_OVER_LIMIT = re.compile(r"running for more than (\d+) h")


def in_words(why: str) -> str:
    """A forgotten timer's reason as ``long_running`` gives it, in this process's
    language (``in corso da più di 10 h``)."""
    match = _OVER_LIMIT.fullmatch(why)
    if match is not None:
        return _(OVER_LIMIT).format(limit=match[1])
    return _(why)


class TimerService(Service):
    @property
    def tasks(self) -> TaskService:
        return TaskService(self.db, self.clock, self.actor)

    @property
    def timer(self) -> RunningTimer:
        return RunningTimer(self.db, self.clock, self._actor)

    # --- who may track time on what -------------------------------------------------

    def trackable(self, task_id: int) -> sqlite3.Row:
        """The task, if the actor sees it, tracks time, and is its responsible or a participant."""
        return self.timer.trackable(task_id)

    def entry(self, entry_id: int) -> sqlite3.Row:
        """An entry of a task the actor sees; NotFound otherwise (existence never leaks)."""
        row = self.db.execute(
            "SELECT * FROM time_entries WHERE id = ? AND removed_at IS NULL", (entry_id,)
        ).fetchone()
        not_found = _("time entry {entry} not found").format(entry=entry_id)
        if row is None:
            raise NotFound(not_found)
        try:
            self.tasks.row(row["task_id"])
        except NotFound:
            raise NotFound(not_found) from None
        if self.actor.role == "external" and row["user_id"] != self.actor.id:
            raise NotFound(not_found)  # the firm's time is its own
        return row

    def own(self, entry_id: int) -> sqlite3.Row:
        """An entry the actor may change: their own; firm administrators any."""
        row = self.entry(entry_id)
        if row["user_id"] != self.actor.id and not self.actor.is_firm_admin:
            raise PermissionDenied(_("time entry {entry} is someone else's").format(entry=entry_id))
        return row

    def running(self, user_id: int | None = None) -> sqlite3.Row | None:
        return self.timer.running(user_id)

    # --- the timer ------------------------------------------------------------------

    def start(self, task_id: int) -> dict:
        """Start the actor's timer on a task, pausing the one that runs (any task)."""
        return self.timer.start(task_id)

    def pause(self, task_id: int | None = None) -> dict:
        """Pause the actor's running timer (on ``task_id``, when given)."""
        return self.timer.pause(task_id)

    def status(self) -> dict:
        """The actor's running timer, with a warning when it looks forgotten."""
        current = self.running()
        if current is None:
            return {"running": False}
        title = self.db.execute(
            "SELECT title FROM tasks WHERE id = ?", (current["task_id"],)
        ).fetchone()[0]
        elapsed = seconds_between(current["started_at"], self.now())
        return {
            "running": True,
            "id": current["id"],
            "task_id": current["task_id"],
            "task": title,
            "started_at": current["started_at"],
            "elapsed_seconds": max(0, elapsed),
            "warning": self.long_running(current["started_at"]),
        }

    def long_running(self, started_at: str) -> str | None:
        """Why a running timer looks forgotten (over midnight, past the limit), or None."""
        from sempi_cli.services import settings

        limit = int(settings.get(self.db, LONG_SETTING))
        start, now = datetime.fromisoformat(started_at), self.clock.now()
        if now - start >= timedelta(hours=limit):
            return OVER_LIMIT.format(limit=limit)
        if start.astimezone(ROME).date() < now.astimezone(ROME).date():
            return OVER_MIDNIGHT
        return None

    def check(self) -> list[dict]:
        """Tell the owner of every forgotten running timer, once per entry (cron).

        Firm users check everyone's timers; anyone else only their own. The
        notification's source ``timer-long:<id>`` makes a re-run deliver nothing new.
        """
        from sempi_cli.services.notify.centre import NotificationService

        inbox = NotificationService(self.db, self.clock, self.actor)
        where = ""
        params: tuple[int, ...] = ()
        if not self.actor.is_internal:
            where, params = " AND e.user_id = ?", (self.actor.id,)
        found = []
        with self.transaction():
            rows = self.db.execute(
                "SELECT e.id, e.task_id, e.user_id, e.started_at, t.title, u.email FROM time_entries e"
                " JOIN tasks t ON t.id = e.task_id JOIN users u ON u.id = e.user_id"
                f" WHERE e.ended_at IS NULL AND e.removed_at IS NULL{where} ORDER BY e.id",
                params,
            ).fetchall()
            for row in rows:
                why = self.long_running(row["started_at"])
                if why is None:
                    continue
                notified = inbox.notify(
                    row["user_id"],
                    "timer",
                    Text(
                        "Your timer on task {task} ({title}) is {why}: pause it, or fix the"
                        " entry with 'sempi timer edit {entry}'.",
                        task=row["task_id"],
                        title=row["title"],
                        why=_Reason(why),
                        entry=row["id"],
                    ),
                    f"timer-long:{row['id']}",
                    row["task_id"],
                )
                found.append(
                    {
                        "id": row["id"],
                        "task_id": row["task_id"],
                        "user": row["email"],
                        "started_at": row["started_at"],
                        "why": why,
                        "notified": notified is not None,
                    }
                )
        return found

    # --- entries by hand --------------------------------------------------------------

    def interval(
        self,
        duration: str | None,
        start: str | None,
        end: str | None,
        *,
        base: sqlite3.Row | None = None,
    ) -> tuple[str, str]:
        """(start, end) in storage form from what was typed: a duration (ending now,
        at --to, or starting at --from), or --from and --to. ``base`` is an entry
        being edited: what is not typed stays as it was."""
        from sempi_cli.timeparse import parse_datetime, parse_duration

        now = self.clock.now()
        length = parse_duration(duration, field="--duration") if duration else None
        begin = parse_datetime(start, now, field="--from") if start else None
        finish = parse_datetime(end, now, field="--to") if end else None
        if length is not None and begin is not None and finish is not None:
            raise UsageProblem(_("give --duration with --from or --to, not both"))
        if length is not None:
            try:
                if begin is not None:
                    finish = begin + length
                elif finish is not None:
                    begin = finish - length
                elif base is not None:
                    begin = datetime.fromisoformat(base["started_at"])
                    finish = begin + length
                else:
                    finish = now
                    begin = now - length
            except OverflowError:  # from 9999-12-31 23:30, or back from year 1
                raise InvalidData(
                    "--duration",
                    _("{duration} from there leaves the calendar (years 1 to 9999)").format(
                        duration=repr(duration)
                    ),
                ) from None
        elif base is not None:
            begin = begin or datetime.fromisoformat(base["started_at"])
            if finish is None and base["ended_at"] is not None:
                finish = datetime.fromisoformat(base["ended_at"])
        if begin is None or finish is None:
            raise UsageProblem(_("give --duration, or --from and --to"))
        if begin >= finish:
            raise InvalidData(
                "--from",
                _("{start} is not before --to {end}").format(
                    start=_instant(iso_utc(begin)), end=_instant(iso_utc(finish))
                ),
                _("the interval must start before it ends"),
            )
        if finish > now:
            raise InvalidData("--to", _("the interval ends in the future"))
        return iso_utc(begin), iso_utc(finish)

    def refuse_overlap(
        self, user_id: int, start: str, end: str, except_id: int | None = None
    ) -> None:
        """The same person cannot work twice at once: refuse intersecting intervals
        (a running timer counts up to now)."""
        clash = self.db.execute(
            "SELECT id, task_id, started_at, ended_at FROM time_entries"
            " WHERE user_id = :user AND removed_at IS NULL AND id IS DISTINCT FROM :except"
            " AND started_at < :end AND coalesce(ended_at, :now) > :start"
            " ORDER BY started_at LIMIT 1",
            {"user": user_id, "end": end, "start": start, "now": self.now(), "except": except_id},
        ).fetchone()
        if clash is not None:
            if clash["ended_at"]:
                problem = _("that time overlaps entry {entry} on task {task} ({start} to {end})")
            else:
                problem = _(
                    "that time overlaps entry {entry} on task {task} ({start} to now, running)"
                )
            raise RuleViolation(
                problem.format(
                    entry=clash["id"],
                    task=clash["task_id"],
                    start=for_people(clash["started_at"]),
                    end=for_people(clash["ended_at"]) if clash["ended_at"] else "",
                ),
                _("see 'sempi timer log' and change one of them"),
            )

    def add(
        self,
        task_id: int,
        *,
        comment: str | None,
        duration: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> dict:
        """Record time worked without the timer: flagged manual, with a comment."""
        task = self.trackable(task_id)
        begin, finish = self.interval(duration, start, end)
        text = (comment or "").strip()
        if not text:
            raise InvalidData(
                "--comment", _("a manual entry needs a comment"), _("say why it was not timed")
            )
        with self.transaction():
            self.refuse_overlap(self.actor.id, begin, finish)
            now = self.now()
            entry_id = self.db.execute(
                "INSERT INTO time_entries (task_id, user_id, started_at, ended_at, seconds, manual,"
                " comment, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id",
                (
                    task["id"],
                    self.actor.id,
                    begin,
                    finish,
                    seconds_between(begin, finish),
                    text,
                    now,
                    now,
                ),
            ).fetchone()[0]
            self.tasks.history(task_id, "time_add", "time_entry", None, f"{entry_id}: {text}")
        return self.show(entry_id)

    def edit(
        self,
        entry_id: int,
        *,
        duration: str | None = None,
        start: str | None = None,
        end: str | None = None,
        comment: str | None = None,
    ) -> dict:
        """Change an entry's times or comment; changed times make it manual."""
        if duration is None and start is None and end is None and comment is None:
            raise UsageProblem(
                _("nothing to change"), _("give --duration, --from, --to or --comment")
            )
        with self.transaction():
            entry = self.own(entry_id)
            fields: dict[str, object] = {}
            if comment is not None:
                if not comment.strip():
                    raise InvalidData("--comment", _("the comment is empty"))
                fields["comment"] = comment.strip()
            if duration is not None or start is not None or end is not None:
                if entry["ended_at"] is None and (duration is not None or end is not None):
                    raise RuleViolation(
                        _("entry {entry} is a running timer: only its start can change").format(
                            entry=entry_id
                        ),
                        _("pause it first"),
                    )
                if entry["ended_at"] is None:
                    from sempi_cli.timeparse import parse_datetime

                    begin = iso_utc(parse_datetime(start or "", self.clock.now(), field="--from"))
                    if begin > self.now():
                        raise InvalidData("--from", _("the timer cannot start in the future"))
                    self.refuse_overlap(entry["user_id"], begin, self.now(), entry_id)
                    fields["started_at"] = begin
                else:
                    begin, finish = self.interval(duration, start, end, base=entry)
                    self.refuse_overlap(entry["user_id"], begin, finish, entry_id)
                    fields.update(
                        started_at=begin,
                        ended_at=finish,
                        seconds=seconds_between(begin, finish),
                        manual=1,
                    )
            diff = {k: (entry[k], v) for k, v in fields.items() if entry[k] != v}
            if diff.get("manual") and not (fields.get("comment") or entry["comment"]):
                raise InvalidData(
                    "--comment",
                    _("changing the times makes the entry manual: it needs a comment"),
                    _("say why the timer was wrong"),
                )
            if diff:
                sets = ", ".join(f"{k} = :{k}" for k in diff)
                self.db.execute(
                    f"UPDATE time_entries SET {sets}, updated_at = :now WHERE id = :id",
                    {**{k: v for k, (_old, v) in diff.items()}, "now": self.now(), "id": entry_id},
                )
                for key, (old, new) in diff.items():
                    if key != "manual":
                        self.tasks.history(entry["task_id"], "time_edit", key, old, new)
        return self.show(entry_id)

    def remove(self, entry_id: int) -> dict:
        """Soft delete: the entry leaves reports and the log; the history keeps it."""
        with self.transaction():
            entry = self.own(entry_id)
            self.db.execute(
                "UPDATE time_entries SET removed_at = ?, updated_at = ? WHERE id = ?",
                (self.now(), self.now(), entry_id),
            )
            self.tasks.history(
                entry["task_id"],
                "time_remove",
                "time_entry",
                f"{entry_id}: {entry['started_at']} to {entry['ended_at'] or 'running'}",
                None,
            )
        return {"id": entry_id, "task_id": entry["task_id"], "removed": True}

    # --- reading ------------------------------------------------------------------------

    def show(self, entry_id: int) -> dict:
        row = self.entry(entry_id)
        return self._private(
            self._out(
                self.db.execute(_ENTRY_SQL + " WHERE e.id = ?", (row["id"],)).fetchone(),
                self.now(),
            )
        )

    def log(self, task_id: int | None = None, *, limit: int | None = None) -> list[dict]:
        """Entries of a task (everyone's), or the actor's own entries; newest first."""
        if limit is not None and limit < 1:
            raise InvalidData("--limit", _("must be at least 1"))
        if task_id is not None:
            self.tasks.row(task_id)
            where, params = "e.task_id = ?", [task_id]
            if self.actor.role == "external":  # the firm's time entries are not the client's
                where += " AND e.user_id = ?"
                params.append(self.actor.id)
        else:
            where, params = "e.user_id = ?", [self.actor.id]
        sql = f"{_ENTRY_SQL} WHERE {where} AND e.removed_at IS NULL ORDER BY e.started_at DESC, e.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        now = self.now()
        return [self._private(self._out(r, now)) for r in self.db.execute(sql, params)]

    def _private(self, entry: dict) -> dict:
        """A practice user sees when and how long the firm worked, not what its people
        wrote about it: another person's comment is left out."""
        if self.actor.role in access.STUDIO_ROLES and entry["user"] != self.actor.email:
            entry["comment"] = None
        return entry

    @staticmethod
    def _out(row: sqlite3.Row, now: str) -> dict:
        seconds = row["seconds"]
        if seconds is None:
            seconds = max(0, seconds_between(row["started_at"], now))
        return {
            "id": row["id"],
            "task_id": row["task_id"],
            "task": row["title"],
            "user": row["email"],
            "started_at": row["started_at"],
            "ended_at": row["ended_at"],
            "seconds": seconds,
            "running": row["ended_at"] is None,
            "manual": bool(row["manual"]),
            "comment": row["comment"],
        }


def _instant(iso: str) -> str:
    """An instant in a sentence: stored form in English, as it always was; Rome wall
    time (16/11/2026 10:30) in Italian."""
    from sempi_cli.i18n import current

    return iso if current() == "en" else str(for_people(iso))


class _Reason:
    """A forgotten timer's reason, put into words when its notification is (in the
    recipient's language)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __str__(self) -> str:
        return in_words(self.why)


_ENTRY_SQL = (
    "SELECT e.*, t.title, u.email FROM time_entries e JOIN tasks t ON t.id = e.task_id"
    " JOIN users u ON u.id = e.user_id"
)
