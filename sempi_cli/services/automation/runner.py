"""The after-hooks' deliveries (`sempi automation run|failures|retry`).

A run first queues: every event after ``hook_cursor`` for which an
``after-<kind>`` hook exists becomes a delivery (one transaction, the cursor moved
with it). Then it delivers, in batches: one run of a hook gets many events, one
JSON object (the contract) per line on stdin. Exit 0 marks them done; that is
recorded only after the hook returned, so a runner killed before delivers them
again (at least once: a hook must tolerate an event seen twice, by its id).

Order is kept per hook and client: a delivery waits while an earlier one of the
same hook and client is pending (due later after a failure, or claimed by a
runner). A dead delivery (``automation.max_attempts`` failures) no longer
blocks: it is set aside as a dead letter, and ``automation retry`` puts it back in
the line, after the later ones already delivered.

A failed batch holding several clients is delivered again at once one client at a
time: a client whose events the hook refuses holds up only itself.

Two runners may run at once: each claims its batch in a short write transaction
and runs the hook outside it; a claim lapses when its runner's process is gone
(or after the timeout and a margin), so nothing waits for a killed runner.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sempi_cli.clock import Clock, iso_utc
from sempi_cli.errors import InvalidData, NotFound, RuleViolation
from sempi_cli.i18n import N_, ngettext
from sempi_cli.i18n import gettext as _
from sempi_cli.services import audit, event_log, settings
from sempi_cli.services.access import require_firm_admin
from sempi_cli.services.automation import hooks
from sempi_cli.services.base import Service
from sempi_cli.store import write_transaction
from sempi_cli.store.sql import in_marks, listed

_log = logging.getLogger("sempi_cli.automation")
_log.addHandler(logging.NullHandler())  # a library's logger: the program decides where it goes

BATCH = 1000  # events per run of a hook at most
WINDOW = 5000  # pending deliveries read at a time while a batch is chosen
CLAIM_MARGIN = 60  # seconds a claim outlives the hook's timeout
BACKOFF_FIRST = 30  # seconds before the first retry; doubled each time
BACKOFF_MOST = 3600
FAILURES_LIMIT = 1000

_HOST = socket.gethostname()
# The claims this process holds now: a claim naming this process but not listed
# here was left by an earlier run in it that stopped (an exception) and lapses.
_live_claims: set[str] = set()


@dataclass
class Summary:
    queued: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "queued": self.queued,
            "delivered": self.delivered,
            "failed": self.failed,
            "dead": self.dead,
            "batches": self.batches,
        }


@dataclass
class _Batch:
    hook: str
    rows: list[sqlite3.Row] = field(default_factory=list)


def backoff(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failure: 30, 60, 120... at most an hour."""
    return min(BACKOFF_FIRST * 2 ** (attempts - 1), BACKOFF_MOST)


def _claim_alive(claimed_by: str | None, claimed_until: str | None, now: str) -> bool:
    """Whether a claim still holds: not lapsed, and its runner's process still there."""
    if claimed_by is None or claimed_until is None or claimed_until <= now:
        return False
    host, _sep, rest = claimed_by.partition(":")
    pid_text, _sep, _run = rest.partition(":")
    if host != _HOST or not pid_text.isdigit():
        return True  # another machine's: only its lapse tells
    pid = int(pid_text)
    if pid == os.getpid():
        return claimed_by in _live_claims
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def queue(db: sqlite3.Connection, clock: Clock, where: Path) -> int:
    """Turn the events after the cursor into deliveries for the after-hooks present;
    the cursor moves past them all. How many deliveries were queued."""
    parsed = [hooks.kind_of(name) for name in hooks.names(where)]
    kinds = sorted(p[1] for p in parsed if p is not None and p[0] == "after")
    with write_transaction(db):
        row = db.execute("SELECT last_event FROM hook_cursor WHERE id = 1").fetchone()
        last = row[0] if row else 0
        upto = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        if upto <= last:
            return 0
        queued = 0
        if kinds:
            span = {"last": last, "upto": upto, "kinds": json.dumps(kinds),
                    "max": event_log.MAX_DEPTH}  # fmt: skip
            queued = db.execute(
                "INSERT INTO hook_deliveries (event_id, hook, client_id, next_at)"
                " SELECT id, 'after-' || kind, client_id, :now FROM events"
                f" WHERE {_span(db)} AND depth < :max ORDER BY id"
                " ON CONFLICT (event_id, hook) DO NOTHING",
                {**span, "now": iso_utc(clock.now())},
            ).rowcount
            _stop_deep(db, clock, span)
        db.execute(
            "INSERT INTO hook_cursor (id, last_event) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET last_event = excluded.last_event",
            (upto,),
        )
    return queued


def _span(db: sqlite3.Connection) -> str:
    """The events past the hooks' cursor, up to :upto, of the hooked :kinds."""
    return f"id > :last AND id <= :upto AND kind IN ({listed(db, ':kinds', 'text')})"


def _stop_deep(db: sqlite3.Connection, clock: Clock, span: dict) -> None:
    """Events caused, through hooks' and rules' chains, at MAX_DEPTH get no after-hook
    (a hook that writes what sets itself off would never end): audited and logged."""
    deep = [
        r[0]
        for r in db.execute(
            f"SELECT id FROM events WHERE {_span(db)} AND depth >= :max ORDER BY id", span
        )
    ]
    if deep:
        audit.record(
            db, iso_utc(clock.now()), None, "automation_stopped", "event", deep[0],
            {"events": deep, "depth": span["max"], "phase": "after"},
        )  # fmt: skip
        _log.error(
            "after-hooks not run for %d events at depth %d: %s", len(deep), span["max"], deep
        )


# The hooks with pending deliveries, the one waiting longest first: a walk over the
# index (status, hook, id), one seek a hook, however long the backlog.
_WAITING_HOOKS = """
WITH RECURSIVE waiting(hook) AS (
    SELECT min(hook) FROM hook_deliveries WHERE status = 'pending'
    UNION ALL
    SELECT (SELECT min(hook) FROM hook_deliveries WHERE status = 'pending' AND hook > waiting.hook)
    FROM waiting WHERE waiting.hook IS NOT NULL
)
SELECT hook FROM waiting WHERE hook IS NOT NULL
ORDER BY (SELECT min(id) FROM hook_deliveries d WHERE d.status = 'pending' AND d.hook = waiting.hook)
"""


def _claim(db: sqlite3.Connection, now: str, until: str, claimant: str, size: int) -> _Batch | None:
    """Choose and claim the next batch (one hook; per client, only the deliveries no
    earlier one of that hook and client waits before), in one short transaction."""
    with write_transaction(db):
        waiting = [r[0] for r in db.execute(_WAITING_HOOKS)]
        for hook in waiting:
            batch = _choose(db, hook, now, size)
            if batch.rows:
                db.execute(
                    "UPDATE hook_deliveries SET claimed_by = ?, claimed_until = ?"
                    f" WHERE id IN ({listed(db, '?')})",
                    (claimant, until, json.dumps([r["id"] for r in batch.rows])),
                )
                return batch
    return None


def _choose(db: sqlite3.Connection, hook: str, now: str, size: int) -> _Batch:
    batch = _Batch(hook)
    blocked: set[int | None] = set()
    after = 0
    while len(batch.rows) < size:
        rows = db.execute(
            "SELECT id, event_id, client_id, attempts, next_at, claimed_by, claimed_until"
            " FROM hook_deliveries WHERE status = 'pending' AND hook = ? AND id > ?"
            " ORDER BY id LIMIT ?",
            (hook, after, min(WINDOW, 2 * size)),
        ).fetchall()
        if not rows:
            break
        after = rows[-1]["id"]
        for row in rows:
            client = row["client_id"]
            if client in blocked:
                continue
            if row["next_at"] > now or _claim_alive(row["claimed_by"], row["claimed_until"], now):
                blocked.add(client)  # later ones of this client wait for it
                continue
            batch.rows.append(row)
            if len(batch.rows) == size:
                break
    return batch


def _body(db: sqlite3.Connection, event_ids: Sequence[int]) -> bytes:
    """The events as contract lines, in the order given."""
    rows = db.execute(
        "SELECT e.*, u.email FROM events e LEFT JOIN users u ON u.id = e.actor_id"
        f" WHERE e.id IN ({listed(db, '?')})",
        (json.dumps(list(event_ids)),),
    ).fetchall()
    by_id = {row["id"]: row for row in rows}
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    return "".join(
        dumps(event_log.contract(by_id[i], by_id[i]["email"])) + "\n" for i in event_ids
    ).encode()


class _Runner:
    def __init__(self, db: sqlite3.Connection, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self.where = hooks.folder(db)
        self.timeout = hooks.timeout_of(db)
        self.max_attempts = int(settings.get(db, "automation.max_attempts"))
        self.claimant = f"{_HOST}:{os.getpid()}:{secrets.token_hex(4)}"
        self.summary = Summary()

    def now(self, seconds: int = 0) -> str:
        return iso_utc(self.clock.now() + timedelta(seconds=seconds))

    def run(self, limit: int | None) -> Summary:
        if hooks.names(self.where):
            hooks.require_safe(self.where, hook=False)
        self.summary.queued = queue(self.db, self.clock, self.where)
        _live_claims.add(self.claimant)
        try:
            while True:
                size = BATCH if limit is None else min(BATCH, limit - self._attempted())
                if size < 1:
                    break
                until = self.now(self.timeout + CLAIM_MARGIN)
                batch = _claim(self.db, self.now(), until, self.claimant, size)
                if batch is None:
                    break
                self._deliver(batch)
        finally:
            _live_claims.discard(self.claimant)
            self._release()
        return self.summary

    def _attempted(self) -> int:
        return self.summary.delivered + self.summary.failed

    def _deliver(self, batch: _Batch) -> None:
        outcome = self._attempt(batch.hook, batch.rows)
        if outcome.code == 0:
            self._done(batch.rows)
            return
        clients = list(dict.fromkeys(r["client_id"] for r in batch.rows))
        if len(clients) == 1:
            self._failed(batch.rows, outcome)
            return
        # One client's events may be what the hook refuses: each client alone.
        groups = [[r for r in batch.rows if r["client_id"] == c] for c in clients]
        with write_transaction(self.db):  # the claim covers every group's turn
            self.db.execute(
                "UPDATE hook_deliveries SET claimed_until = ?"
                f" WHERE id IN ({listed(self.db, '?')}) AND claimed_by = ?",
                (
                    self.now((self.timeout + CLAIM_MARGIN) * (len(groups) + 1)),
                    json.dumps([r["id"] for r in batch.rows]),
                    self.claimant,
                ),
            )
        for rows in groups:
            outcome = self._attempt(batch.hook, rows)
            if outcome.code == 0:
                self._done(rows)
            else:
                self._failed(rows, outcome)

    def _attempt(self, hook: str, rows: list[sqlite3.Row]) -> hooks.Outcome:
        self.summary.batches += 1
        path = self.where / hook
        problem = hooks.unsafe(self.where, hook=False) or hooks.unsafe(path, hook=True)
        if problem is not None:
            return hooks.Outcome(126, hooks.safe_line(problem.encode()))
        kind = hook.removeprefix("after-")
        env = hooks.environment(
            hook,
            {
                "SEMPI_HOOK_PHASE": "after", "SEMPI_EVENT_KIND": kind,
                "SEMPI_EVENTS": str(len(rows)),
                # What the hook's own sempi commands write is caused by the batch's
                # deepest event (queue() delivers none at MAX_DEPTH: no loop).
                event_log.HOOK_CAUSE: str(self._deepest(rows)),
            },
        )  # fmt: skip
        body = _body(self.db, [r["event_id"] for r in rows])
        return hooks.run(path, body, env, self.timeout)

    def _deepest(self, rows: list[sqlite3.Row]) -> int:
        """The id of the deepest event of a batch (the newest among equals)."""
        ids = [r["event_id"] for r in rows]
        marks = in_marks(ids)
        return int(
            self.db.execute(
                f"SELECT id FROM events WHERE id IN ({marks}) ORDER BY depth DESC, id DESC LIMIT 1",
                ids,
            ).fetchone()[0]
        )

    def _done(self, rows: list[sqlite3.Row]) -> None:
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE hook_deliveries SET status = 'done', done_at = ?, attempts = attempts + 1,"
                " last_error = NULL, claimed_by = NULL, claimed_until = NULL"
                f" WHERE id IN ({listed(self.db, '?')}) AND claimed_by = ?",
                (self.now(), json.dumps([r["id"] for r in rows]), self.claimant),
            )
        self.summary.delivered += len(rows)

    def _failed(self, rows: list[sqlite3.Row], outcome: hooks.Outcome) -> None:
        if outcome.code is None:
            error = _("ran past {seconds} s").format(seconds=self.timeout)
        else:
            error = outcome.message or _("exit {code}").format(code=outcome.code)
        updates = []
        for row in rows:
            attempts = row["attempts"] + 1
            dead = attempts >= self.max_attempts
            updates.append(
                ("dead" if dead else "pending", attempts, self.now(backoff(attempts)), error,
                 row["id"], self.claimant)
            )  # fmt: skip
            self.summary.dead += dead
        with write_transaction(self.db):
            self.db.executemany(
                "UPDATE hook_deliveries SET status = ?, attempts = ?, next_at = ?,"
                " last_error = ?, claimed_by = NULL, claimed_until = NULL"
                " WHERE id = ? AND claimed_by = ?",
                updates,
            )
        self.summary.failed += len(rows)

    def _release(self) -> None:
        """Claims this run still holds (it stopped early) are let go."""
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE hook_deliveries SET claimed_by = NULL, claimed_until = NULL"
                " WHERE claimed_by = ? AND status = 'pending'",
                (self.claimant,),
            )


def deliver(db: sqlite3.Connection, clock: Clock, limit: int | None = None) -> Summary:
    """Queue and deliver (``limit``: deliveries attempted at most). Also what a
    command runs as it ends when ``automation.run_after_command`` is yes."""
    return _Runner(db, clock).run(limit)


def pending_work(db: sqlite3.Connection) -> bool:
    """Whether a run after a command has anything to do: events past the cursor,
    or deliveries waiting (cheap: two indexed reads)."""
    row = db.execute("SELECT last_event FROM hook_cursor WHERE id = 1").fetchone()
    newest = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    if newest > (row[0] if row else 0):
        return True
    return (
        db.execute("SELECT 1 FROM hook_deliveries WHERE status = 'pending' LIMIT 1").fetchone()
        is not None
    )


class HookRunner(Service):
    """`sempi automation run|failures|retry`: firm administrators only."""

    def run(self, limit: int | None = None) -> dict[str, int]:
        require_firm_admin(self.actor, N_("run the after-hooks"))
        if limit is not None and limit < 1:
            raise InvalidData("--limit", _("must be at least 1"))
        return deliver(self.db, self.clock, limit).as_dict()

    def failures(self) -> list[dict]:
        """Deliveries that failed and wait for a retry, and the dead ones, oldest first."""
        require_firm_admin(self.actor, N_("read the after-hooks' failures"))
        rows = self.db.execute(
            "SELECT d.id, d.event_id, e.kind, d.client_id, d.hook, d.status, d.attempts,"
            " d.next_at, d.last_error FROM hook_deliveries d JOIN events e ON e.id = d.event_id"
            " WHERE d.status = 'dead' OR (d.status = 'pending' AND d.attempts > 0)"
            " ORDER BY d.id LIMIT ?",
            (FAILURES_LIMIT,),
        ).fetchall()
        return [
            {
                "id": r["id"],
                "event": r["event_id"],
                "kind": r["kind"],
                "client": r["client_id"],
                "hook": r["hook"],
                "status": "dead" if r["status"] == "dead" else "failing",
                "attempts": r["attempts"],
                "next_at": None if r["status"] == "dead" else r["next_at"],
                "last_error": r["last_error"],
            }
            for r in rows
        ]

    def retry(self, ids: Iterable[int] = (), *, every: bool = False) -> int:
        """Put dead deliveries back in the line (attempts from zero, due now); how many."""
        require_firm_admin(self.actor, N_("retry the after-hooks' deliveries"))
        ids = list(dict.fromkeys(ids))
        if bool(ids) == every:
            raise InvalidData(
                "ID", _("give the deliveries' ids (automation failures) or --all, not both")
            )
        with self.transaction():
            if every:
                chosen = [
                    r[0]
                    for r in self.db.execute("SELECT id FROM hook_deliveries WHERE status = 'dead'")
                ]
            else:
                found = {
                    r[0]: r[1]
                    for r in self.db.execute(
                        "SELECT id, status FROM hook_deliveries"
                        f" WHERE id IN ({listed(self.db, '?')})",
                        (json.dumps(ids),),
                    )
                }
                missing = [str(i) for i in ids if i not in found]
                if missing:
                    raise NotFound(
                        ngettext("no delivery {ids}", "no deliveries {ids}", len(missing)).format(
                            ids=", ".join(missing)
                        )
                    )
                alive = [str(i) for i in ids if found[i] != "dead"]
                if alive:
                    raise RuleViolation(
                        ngettext(
                            "delivery {ids} is not dead: only dead deliveries are retried",
                            "deliveries {ids} are not dead: only dead deliveries are retried",
                            len(alive),
                        ).format(ids=", ".join(alive))
                    )
                chosen = ids
            self.db.execute(
                "UPDATE hook_deliveries SET status = 'pending', attempts = 0, next_at = ?,"
                " claimed_by = NULL, claimed_until = NULL"
                f" WHERE id IN ({listed(self.db, '?')})",
                (self.now(), json.dumps(chosen)),
            )
            if chosen:
                self.audit("hooks_retried", "hook_delivery", None, deliveries=len(chosen))
        return len(chosen)
