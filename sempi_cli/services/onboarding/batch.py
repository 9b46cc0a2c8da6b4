"""Onboarding many clients from a file: every row checked before anything is
written, then written in chunks of whole clients, then their deadlines.

Two passes over the file (services.onboarding_file streams it). The check
pass plans every row (services.onboarding_plan) without writing: the file alone
(identifiers, profile, values), then the store (the practice, the
responsible, which client a row is), then the file as a whole (two rows for
one client, one e-mail twice). Any refused row stops an all-or-nothing batch
before its first write; ``--partial`` writes the others.

The write pass plans each chunk again inside its own ``BEGIN IMMEDIATE``
transaction (the store may have moved since the check) and writes the
difference in bulk: ids allocated from ``max(id)`` inside the transaction,
one ``executemany`` per table through the table's owner (clients/bulk.py,
org/groups.add_members, documents/folders.create_default_trees), as the
scheduler's writer does. A chunk holds
whole clients (record, work group, folders, modules, delegations, external
users and their invitations, audit), so a batch killed at any instant leaves
whole clients, and running it again finds them and does the rest.

Idempotent by natural keys: a row is the client of the practice with the
same partita IVA, else the same codice fiscale. A client that is there and
agrees with the row is left alone; where it differs, the given fields are
updated (an empty cell is "not given", never "clear"). A re-run of the same
file writes nothing at all: no client, no audit row, and no scheduler run
unless a deadline is actually missing or wrong.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext

from sempi_cli.clock import today_in_rome
from sempi_cli.errors import InvalidData, PartlyDone, SempiError, StoreBusy, StoreUnusable
from sempi_cli.i18n import N_, ngettext
from sempi_cli.i18n import gettext as _
from sempi_cli.services import audit, event_log
from sempi_cli.services.base import Service, redact_personal
from sempi_cli.services.clients import bulk as client_bulk
from sempi_cli.services.clients import history
from sempi_cli.services.clients.clients import onboarded_data, updated_changes
from sempi_cli.services.clients.input import stored
from sempi_cli.services.onboarding.batch_file import BatchFile
from sempi_cli.services.onboarding.input import MODULES, Row, result_where
from sempi_cli.services.onboarding.onboard import require_onboarder, set_modules, upsert_delegations
from sempi_cli.services.onboarding.plan import Plan, Planner
from sempi_cli.services.org.groups import add_members
from sempi_cli.store.sql import listed

CHUNK = 500  # clients per transaction: a killed batch loses at most one chunk's work
CONFIRM_FROM = 3  # a batch writing this many clients asks first (on a terminal; --yes elsewhere)
Progress = Callable[[str, int, int], None]
# Two rows of a file for one key: the other row ({where}) and the value, by column.
_SAME = {
    "partita_iva": N_("{where} has the same partita IVA ({value})"),
    "codice_fiscale": N_("{where} has the same codice fiscale ({value})"),
    "client": N_("{where} has the same client ({value})"),
    "externals": N_("{where} has the same external e-mail ({value})"),
}


def needs_confirmation(counts: dict) -> bool:
    """Whether a batch's planned writes (the counts ``run`` gives ``confirm``) are
    enough that a person must agree first."""
    return int(counts["created"]) + int(counts["updated"]) >= CONFIRM_FROM


def chunks(rows: Iterable[Row], size: int = CHUNK) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class BatchService(Service):
    def run(
        self,
        source: BatchFile,
        *,
        studio: str | int,
        dry_run: bool = False,
        partial: bool = False,
        deadlines: bool = True,
        progress: Progress | None = None,
        confirm: Callable[[dict], None] | None = None,
    ) -> dict:
        """Check the whole file, then (all rows good, or ``partial``) write it.
        ``confirm`` is called between the two with the planned counts; it may raise
        to stop before the first write."""
        from sempi_cli.services.org.studios import find_studio_id

        require_onboarder(self.actor)
        studio_id = find_studio_id(self.db, self.actor, studio)
        require_onboarder(self.actor, studio_id)
        tick = progress or (lambda stage, done, total: None)
        planner = Planner(self.db, studio_id, today_in_rome(self.clock))
        results, bad = self._check(source, planner, tick)
        report = {
            "file": str(source.path),
            "studio_id": studio_id,
            "dry_run": dry_run,
            "partial": partial,
            "rows": len(results),
            "written": False,
            "deadlines": None,
            "results": results,
        }
        if bad and not partial:
            for result in results:
                if result["action"] != "refused":
                    result["action"], result["client_id"], result["changes"] = "skipped", None, []
            return _counted(report)
        if confirm is not None:
            confirm(_counted({"results": results}))
        if not source.unchanged():
            raise InvalidData(
                "FILE",
                _("{file} changed while it was being read").format(file=source.path),
                _("run the batch again"),
            )
        with self.rehearsal(True) if dry_run else nullcontext():
            present = self._write(source, planner, bad, results, partial, dry_run, tick)
            report["written"] = not dry_run and any(
                r["action"] in ("created", "updated") for r in results
            )
            if deadlines:
                changed = any(r["action"] in ("created", "updated") for r in results)
                tick("deadlines", 0, 1)
                report["deadlines"] = self._deadlines(present, changed, dry_run)
                tick("deadlines", 1, 1)
        if dry_run:
            for result in results:
                if result["action"] == "created":
                    result["client_id"] = None  # made up by the rehearsal
        return _counted(report)

    # --- pass 1: check every row, write nothing ------------------------------------------

    def _check(
        self, source: BatchFile, planner: Planner, tick: Progress
    ) -> tuple[list[dict], set[int]]:
        results: list[dict] = []
        bad: set[int] = set()
        first: dict[tuple[str, object], int] = {}

        def refuse(ordinal: int, column: str, problem: str) -> None:
            if ordinal in bad:
                return
            bad.add(ordinal)
            results[ordinal].update(action="refused", field=column, problem=problem, changes=[])

        for chunk in chunks(source.rows()):
            for plan in planner.plan(chunk):
                ordinal = plan.row.ordinal
                results.append(plan.result())
                if plan.action == "refused":
                    bad.add(ordinal)
                    continue
                keys = [
                    ("partita_iva", plan.row.client.get("partita_iva")),
                    ("codice_fiscale", plan.row.client.get("codice_fiscale")),
                    ("client", plan.client_id),
                    *(("externals", person.email) for person in plan.row.externals),
                ]
                for column, value in keys:
                    if value is None:
                        continue
                    earlier = first.setdefault((column, value), ordinal)
                    if earlier == ordinal:
                        continue
                    same = _(_SAME[column])
                    there, here = result_where(results[earlier]), result_where(results[ordinal])
                    name = "partita_iva" if column == "client" else column
                    refuse(ordinal, name, same.format(where=there, value=value))
                    refuse(earlier, name, same.format(where=here, value=value))
            tick("checking", source.position(), source.size)
        return results, bad

    # --- pass 2: write, chunk by chunk ------------------------------------------------

    def _write(
        self,
        source: BatchFile,
        planner: Planner,
        bad: set[int],
        results: list[dict],
        partial: bool,
        dry_run: bool,
        tick: Progress,
    ) -> list[int]:
        present: list[int] = []
        total, done, written = len(results) - len(bad), 0, 0
        writer = _Writer(self, planner.studio_id)
        for chunk in chunks(source.rows()):
            todo = [r for r in chunk if r.ordinal not in bad]
            if not todo:
                continue
            try:
                with self.transaction():
                    plans = planner.plan(todo)
                    late = next((p for p in plans if p.problem is not None), None)
                    if late is not None and not partial:
                        raise _stopped(source, late, 0 if dry_run else written)
                    writer.write([p for p in plans if p.action in ("created", "updated")])
            except (sqlite3.OperationalError, StoreUnusable, StoreBusy) as exc:
                if dry_run or not written:
                    raise
                raise _cut_short(exc, written) from exc
            for plan in plans:
                results[plan.row.ordinal] = plan.result()
                if plan.action != "refused":
                    present.append(_client_id(plan))
                written += plan.action in ("created", "updated")
            done += len(todo)
            tick("writing", done, total)
        return present

    # --- then the deadlines ------------------------------------------------------------

    def _deadlines(self, client_ids: list[int], changed: bool, dry_run: bool) -> dict | None:
        """One scheduler run over the batch's clients (chunked and idempotent itself).
        When the batch changed no client, a rehearsal first: if every deadline is
        already there, nothing is run and nothing written."""
        from sempi_cli.services.scheduler.runner import SchedulerService

        if not client_ids:
            return None
        scheduler = SchedulerService(self.db, self.clock, self.actor)
        if not changed:
            preview = scheduler.run(client_ids=client_ids, dry_run=True)
            if not (preview["created"] or preview["updated"] or preview["cancelled"]):
                # A run killed after its last chunk left every deadline but its
                # record says running: marked now, not at the next night's run.
                if not dry_run:
                    with scheduler.transaction():
                        scheduler.mark_interrupted()
                return _deadline_counts(preview, ran=False)
        try:
            run = scheduler.run(client_ids=client_ids)
        except SempiError as exc:
            if dry_run:
                raise
            exc.hint = (exc.hint + "; " if exc.hint else "") + _(
                "the clients are written: run the same batch again to generate their deadlines"
            )
            raise
        counts = _deadline_counts(run, ran=not dry_run)
        if dry_run:
            counts["run_id"] = None  # the rehearsal's, rolled back
        return counts


class _Writer:
    """Writes one chunk's plans in bulk; the caller holds the transaction."""

    def __init__(self, service: BatchService, studio_id: int) -> None:
        self.service = service
        self.db = service.db
        self.studio_id = studio_id

    def write(self, plans: list[Plan]) -> None:
        if not plans:
            return
        service, db = self.service, self.db
        now, actor_id = service.now(), service.actor.id
        today = today_in_rome(service.clock)
        new = [p for p in plans if p.action == "created"]
        if new:
            next_id = client_bulk.next_client_id(db)
            for plan in new:
                plan.client_id, next_id = next_id, next_id + 1
                plan.fields.update(id=plan.client_id, studio_id=self.studio_id)
                plan.fields.update(created_at=now, updated_at=now)
            client_bulk.insert_many(db, [plan.fields for plan in new], service.clock, service.actor)
        for plan in plans:
            if plan.action == "updated" and plan.fields:
                client_bulk.update_fields(
                    db, _client_id(plan), {k: stored(v) for k, v in plan.fields.items()}, now
                )
            if plan.action == "updated" and plan.profile:
                history.change(
                    db, _client_id(plan), plan.profile, today=today, start=None, at=now,
                    actor_id=actor_id,
                )  # fmt: skip
        add_members(db, [(_client_id(p), m) for p in plans for m in p.members], now, actor_id)
        set_modules(db, [(_client_id(p), p.modules) for p in plans if p.modules], now, actor_id)
        upsert_delegations(
            db, [(_client_id(p), d) for p in plans for d in p.delegations], now, actor_id
        )
        folders = self._folders([_client_id(p) for p in plans if p.folders])
        self._externals(plans)
        audit.record_many(db, now, actor_id, _audit_entries(plans, self.studio_id, folders))
        self._events(plans)

    def _events(self, plans: list[Plan]) -> None:
        """``client.onboarded`` for each new client, ``client.updated`` for each changed
        record or profile: what `client-onboard add` and `client edit` write, one
        executemany per kind."""
        service, db = self.service, self.db
        new = [p for p in plans if p.action == "created"]
        event_log.record_many(
            db, service.clock, service.actor, "client.onboarded",
            ((p.client_id, p.client_id, None, onboarded_data(p.fields, p.modules or MODULES))
             for p in new),
        )  # fmt: skip
        changed = [p for p in plans if p.action == "updated" and (p.fields or p.profile_changes)]
        if not changed:
            return
        names = dict(
            db.execute(
                f"SELECT id, ragione_sociale FROM clients WHERE id IN ({listed(self.db, '?')})",
                (json.dumps([p.client_id for p in changed]),),
            ).fetchall()
        )
        event_log.record_many(
            db, service.clock, service.actor, "client.updated",
            (
                (p.client_id, p.client_id,
                 updated_changes(_diff(p), p.profile_changes),
                 {"ragione_sociale": names[p.client_id]})
                for p in changed
            ),
        )  # fmt: skip

    def _folders(self, client_ids: list[int]) -> int:
        """The default tree for clients with no folder, in bulk (the folders' owner
        writes them; one client at a time would cost some fifteen statements each).
        Returns the folders made for each client (every tree is the same)."""
        if not client_ids:
            return 0
        from sempi_cli.services.documents.folders import create_default_trees

        return create_default_trees(self.db, client_ids, self.service.now()) // len(client_ids)

    def _externals(self, plans: list[Plan]) -> None:
        people = [(p.client_id, person) for p in plans for person in p.externals]
        if not people:
            return
        from sempi_cli.services.org.invitations import Invitations
        from sempi_cli.services.org.users import UserService

        service = self.service
        users = UserService(self.db, service.clock, service.actor)
        invitations = Invitations(self.db, service.clock, service.actor)
        for client_id, person in people:
            user = users.add(person.email, person.full_name, "external", client=client_id)
            invitations.invite(user["id"])


def _client_id(plan: Plan) -> int:
    """The client of a plan that is not refused: an update's or an unchanged row's from
    the plan, a new client's given by _Writer.write before anything else is written."""
    assert plan.client_id is not None
    return plan.client_id


def _diff(plan: Plan) -> dict[str, dict[str, object]]:
    """An updated row's changed record fields, {field: {"old", "new"}} as stored."""
    return {k: {"old": plan.old[k], "new": stored(v)} for k, v in plan.fields.items()}


def _audit_entries(plans: list[Plan], studio_id: int, folders: int) -> Iterator[tuple]:
    """The audit log of a batch says what `client add`, `client edit` and `client-onboard
    add` would have said of the same change, with the same actions and details: one
    history per client whichever way it came in. (External users and their invitations
    are written by their own services, which record them.) ``deadlines`` is null: the
    batch's one scheduler run records itself."""
    for plan in plans:
        client_id = plan.client_id
        if plan.action == "created":
            details = {"ragione_sociale": plan.fields["ragione_sociale"], "studio_id": studio_id}
            yield "add", "client", client_id, details
        elif plan.fields:
            yield "edit", "client", client_id, {"changes": redact_personal(_diff(plan))}
        if plan.profile_changes:
            yield "profile", "client", client_id, {"changes": plan.profile_changes}
        for user_id in plan.members:
            yield "add_member", "work_group", client_id, {"user_id": user_id}
        if plan.folders:
            yield "add_default", "doc_folder", None, {"client_id": client_id, "created": folders}
        if plan.action == "created" or plan.externals or plan.modules or plan.delegations:
            yield (
                "onboard",
                "client",
                client_id,
                {
                    "externals": len(plan.externals),
                    "folders": folders if plan.folders else 0,
                    "modules": list(plan.modules) if plan.modules else None,
                    "delegations": [d.kind for d in plan.delegations],
                    "deadlines": None,
                },
            )


def _cut_short(exc: Exception, written: int) -> PartlyDone:
    """The store failed under a chunk (a full disk, a lock held too long): the chunks
    before it are committed, so say how many clients are in, as exit 12 does."""
    from sempi_cli.store.transaction import busy_or_unusable

    cause = busy_or_unusable(exc) if isinstance(exc, sqlite3.OperationalError) else exc
    message = cause.message if isinstance(cause, SempiError) else str(cause)
    return PartlyDone(
        ngettext(
            "{message}: {n} client(s) were written before the batch stopped, none after",
            "{message}: {n} client(s) were written before the batch stopped, none after",
            written,
        ).format(message=message, n=written),
        _("when the store is usable again, run the same batch: it writes only what is missing"),
    )


def _stopped(source: BatchFile, plan: Plan, written: int) -> SempiError:
    """A row that became bad in the write pass (the store changed since the check) stops
    an all-or-nothing batch; what the chunks before it committed stays (exit 12 then)."""
    column, problem = plan.problem or ("", "")
    where = f"{source.path.name} {plan.row.where}, {column}"
    if written:
        return PartlyDone(
            ngettext(
                "{where}: {problem}; the store changed during the batch: {n} client(s)"
                " before this row were written, none from it on",
                "{where}: {problem}; the store changed during the batch: {n} client(s)"
                " before this row were written, none from it on",
                written,
            ).format(where=where, problem=problem, n=written),
            _("run the same batch again to finish"),
        )
    return InvalidData(
        where,
        problem,
        _("the store changed during the batch; nothing was written; fix it and run again"),
    )


def _deadline_counts(run: dict, *, ran: bool) -> dict:
    keys = ("run_id", "from", "to", "clients", "created", "updated", "cancelled", "unchanged")
    counts = {k: run[k] for k in keys}
    counts["ran"] = ran
    return counts


def _counted(report: dict) -> dict:
    results = report.pop("results")
    for action in ("created", "updated", "unchanged", "refused", "skipped"):
        report[action] = sum(r["action"] == action for r in results)
    report["results"] = results
    return report
