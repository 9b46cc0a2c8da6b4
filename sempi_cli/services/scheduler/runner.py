"""The scheduler run: every client's deadlines for a date range, as tasks.

Cron-safe by construction. Clients are processed in chunks, each its own
``BEGIN IMMEDIATE`` transaction that reads what is there and writes the
difference, so: two runs at once serialise chunk by chunk and the second finds
the first's rows; a run killed at any point leaves whole chunks, and the next
run completes the rest; the ``UNIQUE (client_id, rule_id, period)`` key is the
final guard. Each run is recorded in ``scheduler_runs`` (start, end, status,
counts); a run whose process died is marked ``interrupted`` by the next one.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import asdict
from datetime import date, timedelta
from typing import Literal

from dateutil.relativedelta import relativedelta

from sempi_cli.clock import Clock, today_in_rome
from sempi_cli.errors import CheckFailed, InvalidData, PermissionDenied
from sempi_cli.fiscal.engine import Planner
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, settings
from sempi_cli.services.base import Service
from sempi_cli.services.org.studios import find_studio_id
from sempi_cli.services.scheduler.config import Day, load_overrides, load_templates
from sempi_cli.services.scheduler.writer import Change, ChunkWriter, Counts
from sempi_cli.store import cache_for_bulk
from sempi_cli.store.sql import in_marks

MAX_HORIZON_MONTHS = 36
DEFAULT_HORIZON = "12m"
RUN_CACHE_KIB = 65536
CHUNK = 250  # clients per transaction: a killed run loses at most one chunk's work
RUN_COLUMNS = (
    "id", "started_at", "finished_at", "status", "range_from", "range_to",
    "clients", "created", "updated", "cancelled", "unchanged", "error",
)  # fmt: skip
_HORIZON_UNITS: dict[str, Literal["days", "months", "years"]] = {
    "m": "months",
    "y": "years",
    "a": "years",
    "d": "days",
    "g": "days",
}
_HORIZON = re.compile(
    r"^\s*(\d+)\s*(m|mesi|months?|y|anni|years?|d|giorni|days?)\s*$", re.IGNORECASE
)


def horizon_end(start: date, text: str, field: str = "--horizon") -> date:
    """``12m`` after *start*: the last day of the range (``12m`` from 1 Jan ends 31 Dec)."""
    match = _HORIZON.match(text)
    if match is None or int(match[1]) == 0:
        raise InvalidData(
            field,
            _("cannot read {text} as a horizon").format(text=repr(text)),
            _("give months (12m), years (2y) or days (90d)"),
        )
    amount = int(match[1])
    if amount > 100_000:  # relativedelta would overflow before the range check
        raise InvalidData(
            field,
            _("{text} is beyond {months} months").format(
                text=repr(text), months=MAX_HORIZON_MONTHS
            ),
        )
    unit = _HORIZON_UNITS[match[2][0].lower()]
    if unit == "days":
        delta = relativedelta(days=amount)
    elif unit == "months":
        delta = relativedelta(months=amount)
    else:
        delta = relativedelta(years=amount)
    try:
        return start + delta - timedelta(days=1)
    except (OverflowError, ValueError):  # past year 9999, long after the calendar ends
        raise InvalidData(
            field,
            _("{text} from {start} ends after {year}, where the holiday calendar ends").format(
                text=repr(text), start=Day(start.isoformat()), year=LAST_YEAR
            ),
        ) from None


# The rules are today's law, and the holiday calendar (python `holidays`) ends in 2100.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def check_range(start: date, end: date, field: str = "--to") -> None:
    if start.year < FIRST_YEAR:
        raise InvalidData(
            "--from",
            _("{start} is before {year}: the rules are today's law").format(
                start=Day(start.isoformat()), year=FIRST_YEAR
            ),
        )
    if end.year > LAST_YEAR:
        raise InvalidData(
            field,
            _("{end} is after {year}, where the holiday calendar ends").format(
                end=Day(end.isoformat()), year=LAST_YEAR
            ),
        )
    if end < start:
        raise InvalidData(
            field,
            _("{end} is before --from {start}").format(
                end=Day(end.isoformat()), start=Day(start.isoformat())
            ),
        )
    if end > start + relativedelta(months=MAX_HORIZON_MONTHS):
        raise InvalidData(
            field,
            _("the range {start}..{end} is beyond {months} months").format(
                start=Day(start.isoformat()), end=Day(end.isoformat()), months=MAX_HORIZON_MONTHS
            ),
            _("run the scheduler again later for the years after"),
        )


def run_range(
    clock: Clock, start: date | None, to: date | None, horizon: str | None
) -> tuple[date, date]:
    """The due dates a run covers: from ``start`` (default: today) to ``to``, or to
    ``horizon`` after it (default: DEFAULT_HORIZON); checked before the run starts,
    an error naming the option that set the end."""
    start = start or today_in_rome(clock)
    if to is not None:
        check_range(start, to, "--to")
        return start, to
    end = horizon_end(start, horizon or DEFAULT_HORIZON)
    check_range(start, end, "--horizon")
    return start, end


class SchedulerService(Service):
    # --- who --------------------------------------------------------------------------

    def _scope(self, client_ids: list[int] | None, studio: str | None) -> tuple[str, dict]:
        """SQL over ``clients c`` for the run's clients; firm administrators run for
        every practice, a practice administrator for their own."""
        actor = self.actor
        if not (actor.is_firm_admin or actor.role == "studio-admin"):
            raise PermissionDenied(
                _("only a firm administrator or a practice's administrator may run the scheduler")
            )
        where, params = ["c.removed_at IS NULL"], {}
        if actor.role == "studio-admin":
            where.append("c.studio_id = :own_studio")
            params["own_studio"] = actor.studio_id
        if studio is not None:
            studio_id = find_studio_id(self.db, actor, studio)  # their own, for a practice's admin
            where.append("c.studio_id = :studio")
            params["studio"] = studio_id
        if client_ids:
            for client_id in client_ids:  # each must exist and be theirs: NotFound otherwise
                client = access.client_row(self.db, actor, client_id)
                if client["removed_at"] is not None or (
                    studio is not None and client["studio_id"] != params["studio"]
                ):
                    raise InvalidData(
                        "--client",
                        _("client {client} is not an active client of the chosen practice").format(
                            client=client_id
                        ),
                    )
            where.append(f"c.id IN ({','.join(str(int(i)) for i in client_ids)})")
        return " AND ".join(where), params

    # --- the run -------------------------------------------------------------------------

    def run(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        client_ids: list[int] | None = None,
        studio: str | None = None,
        dry_run: bool = False,
    ) -> dict:
        """Materialise the deadlines falling due in [start, end] (default: today and
        the next 12 months) for the clients in scope; returns the counts and the
        changes to existing deadlines."""
        today = today_in_rome(self.clock)
        start = start or today
        end = end or horizon_end(start, DEFAULT_HORIZON)
        check_range(start, end)
        where, params = self._scope(client_ids, studio)
        # A run walks the big task and deadline indexes: a larger page cache for this
        # connection (64 MiB, within the run's memory budget) keeps them in memory.
        cache_for_bulk(self.db, RUN_CACHE_KIB)
        ids = [
            r[0]
            for r in self.db.execute(
                f"SELECT c.id FROM clients c WHERE {where} ORDER BY c.id", params
            )
        ]
        planner = Planner(start, end, load_overrides(self.db))
        writer = ChunkWriter(
            self.db,
            planner=planner,
            now=self.now(),
            today=today,
            actor=self.actor,
            run_id=None,
            deadline_time=settings.get(self.db, "scheduler.deadline_time"),
            templates=load_templates(self.db),
        )
        scope = {"clients": client_ids or None, "studio": studio}
        counts = Counts()
        changes: list[Change] = []
        if dry_run:
            with self.rehearsal(dry_run=True):
                self._chunks(writer, ids, counts, changes)
            return self._report(None, start, end, counts, changes, writer, dry_run=True)
        writer.run_id = self._begin(start, end, scope)
        try:
            self._chunks(writer, ids, counts, changes)
        except BaseException as exc:  # the chunks committed so far are counted
            status = "failed" if isinstance(exc, Exception) else "interrupted"
            self._finish(writer.run_id, counts, status, str(exc)[:500] or type(exc).__name__)
            raise
        self._finish(writer.run_id, counts, "ok", None)
        return self._report(writer.run_id, start, end, counts, changes, writer, dry_run=False)

    def _chunks(
        self, writer: ChunkWriter, ids: list[int], counts: Counts, changes: list[Change]
    ) -> None:
        """Each chunk in its own transaction; *counts* and *changes* grow as chunks commit."""
        for offset in range(0, len(ids), CHUNK):
            chunk = ids[offset : offset + CHUNK]
            with self.transaction():
                clients = self.db.execute(
                    "SELECT c.id, c.responsible_id FROM clients c"
                    f" WHERE c.id IN ({in_marks(chunk)}) AND c.removed_at IS NULL ORDER BY c.id",
                    chunk,
                ).fetchall()
                result = writer.apply(clients)
            counts.add(result.counts)
            changes.extend(result.changes)

    def mark_interrupted(self) -> None:
        """Mark the runs of this host whose process is gone as interrupted (the caller
        holds the transaction). Writes nothing when there are none."""
        for row in self.db.execute(
            "SELECT id, pid FROM scheduler_runs WHERE status = 'running' AND host = ?",
            (socket.gethostname(),),
        ).fetchall():
            if not _alive(row["pid"]):
                self.db.execute(
                    "UPDATE scheduler_runs SET status = 'interrupted', finished_at = ?,"
                    " error = 'the process ended before the run finished' WHERE id = ?",
                    (self.now(), row["id"]),
                )

    def _begin(self, start: date, end: date, scope: dict) -> int:
        """Record the run (its own transaction, so it shows while running) and mark the
        runs whose process is gone as interrupted."""
        import json

        host = socket.gethostname()
        with self.transaction():
            self.mark_interrupted()
            run_id = self.db.execute(
                "INSERT INTO scheduler_runs (started_at, actor_id, host, pid, range_from, range_to, scope)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    self.now(),
                    self.actor.id,
                    host,
                    os.getpid(),
                    start.isoformat(),
                    end.isoformat(),
                    json.dumps(scope),
                ),
            ).fetchone()[0]
        return run_id

    def _finish(self, run_id: int, counts: Counts, status: str, error: str | None) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE scheduler_runs SET finished_at = ?, status = ?, clients = ?, created = ?,"
                " updated = ?, cancelled = ?, unchanged = ?, error = ? WHERE id = ?",
                (self.now(), status, counts.clients, counts.created, counts.updated, counts.cancelled,
                 counts.unchanged, error, run_id),
            )  # fmt: skip
            self.audit("scheduler.run", "scheduler_run", run_id, status=status, **asdict(counts))

    def _report(self, run_id, start, end, counts, changes, writer, *, dry_run) -> dict:
        return {
            "run_id": run_id,
            "dry_run": dry_run,
            "from": start.isoformat(),
            "to": end.isoformat(),
            **asdict(counts),
            "unassigned_clients": sorted(writer.unassigned),
            "changes": [asdict(c) for c in changes],
        }

    # --- the record ----------------------------------------------------------------------

    def _require_reader(self) -> None:
        if not (self.actor.is_internal or self.actor.role == "studio-admin"):
            raise PermissionDenied(
                _("only the firm's users and practice administrators may read the scheduler's runs")
            )

    def runs(self, limit: int = 20) -> list[dict]:
        self._require_reader()
        return [
            dict(row)
            for row in self.db.execute(
                f"SELECT {', '.join(RUN_COLUMNS)} FROM scheduler_runs ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        ]

    def health(self, max_age: timedelta) -> dict:
        """The last successful run, or CheckFailed (exit 11) when it is older than *max_age*."""
        self._require_reader()
        row = self.db.execute(
            "SELECT id, finished_at FROM scheduler_runs WHERE status = 'ok' ORDER BY finished_at DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise CheckFailed(
                _("no successful scheduler run is recorded"), _("run 'sempi scheduler run'")
            )
        from datetime import datetime

        age = self.clock.now() - datetime.fromisoformat(row["finished_at"])
        hours = age.total_seconds() / 3600
        if age > max_age:
            raise CheckFailed(
                _(
                    "the last successful scheduler run (#{run}) finished {hours} hours ago,"
                    " more than {limit}"
                ).format(
                    run=row["id"],
                    hours=decimal(f"{hours:.1f}"),
                    limit=decimal(f"{max_age.total_seconds() / 3600:g}"),
                ),
                _("check the cron job and 'sempi scheduler runs'"),
            )
        return {
            "run_id": row["id"],
            "finished_at": row["finished_at"],
            "age_hours": round(hours, 2),
            "ok": True,
        }


def decimal(text: str) -> str:
    """A decimal written as Python writes it (``27.0``, ``0.5``), with the decimal
    comma in Italian (``27,0``): the English stays as it always was."""
    from sempi_cli.i18n import current

    return text.replace(".", ",") if current() == "it" else text


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
