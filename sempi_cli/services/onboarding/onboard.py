"""Onboarding one client: the record, its work group, folders, modules, delegations,
invitations and deadlines, in one transaction.

Each step is done by the service that owns it (clients, groups, users,
document folders, invitations, the scheduler), inside this service's one
``BEGIN IMMEDIATE`` transaction, whose nested calls become savepoints: a step
that fails undoes every step before it. ``--dry-run`` runs the very same steps
in ``rehearsal(dry_run=True)`` and reports what they did before rolling back.

This module owns the two tables of m009 (``client_modules``,
``client_delegations``); the batch (services.onboarding_batch) writes them
through the functions at the end of this module.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from sempi_cli.clock import today_in_rome
from sempi_cli.errors import PermissionDenied
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, event_log
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.clients.clients import onboarded_data
from sempi_cli.services.onboarding.input import (
    MODULES,
    Delegation,
    External,
    OnboardRequest,
)


def require_onboarder(actor: Actor, studio_id: int | None = None) -> None:
    """Firm administrators, and a practice's administrator for their own practice."""
    if actor.is_firm_admin:
        return
    if actor.role == "studio-admin" and (studio_id is None or studio_id == actor.studio_id):
        return
    raise PermissionDenied(
        _("only a firm administrator or the practice's administrator may onboard clients")
    )


def practice_user_ids(db: sqlite3.Connection, studio_id: int) -> list[int]:
    """The practice's active users (administrators and operators)."""
    return [
        r[0]
        for r in db.execute(
            "SELECT id FROM users WHERE studio_id = ? AND role IN (?, ?) AND disabled_at IS NULL"
            " ORDER BY id",
            (studio_id, *access.STUDIO_ROLES),
        )
    ]


class OnboardingService(Service):
    def add(self, request: OnboardRequest, *, dry_run: bool = False) -> dict:
        """Onboard one new client; returns what was done (or would be, with ``dry_run``)."""
        from sempi_cli.services.clients.clients import client_studio_id

        actor = self.actor
        require_onboarder(actor)
        data = request.client
        studio_id = client_studio_id(self.db, actor, data.studio)
        require_onboarder(actor, studio_id)
        data.studio = studio_id
        report: dict = {}
        with self.rehearsal(dry_run):
            client = self._create_client(request)
            client_id = client["id"]
            self._add_practice_users(client_id, studio_id, request.practice_users)
            users = self._add_externals(client_id, request.externals)
            folders = self._create_folders(client_id)
            modules = self._record_modules(client_id, request.modules or MODULES)
            delegations = self._record_delegations(client_id, request.delegations)
            invitations = self._invite(users)
            deadlines = self._generate_deadlines(client_id) if request.deadlines else None
            self.audit(
                "onboard",
                "client",
                client_id,
                externals=len(users),
                folders=len(folders),
                modules=list(modules),
                delegations=[d.kind for d in delegations],
                deadlines=deadlines["created"] if deadlines else None,
            )
            # Last, once every step is done: what reacts to it finds the whole client.
            event_log.record(
                self.db, self.clock, actor, "client.onboarded", client_id, client_id,
                data=onboarded_data(client, modules),
            )  # fmt: skip
            report = self._report(
                client, folders, modules, delegations, invitations, deadlines, dry_run
            )
        return report

    # --- the steps, in order (each its owner's call) ------------------------------------

    def _create_client(self, request: OnboardRequest) -> dict:
        from sempi_cli.services.clients.clients import ClientService

        return ClientService(self.db, self.clock, self.actor).add(request.client, onboarded=False)

    def _add_practice_users(self, client_id: int, studio_id: int, which: str) -> None:
        from sempi_cli.services.org.groups import GroupService

        if which != "all":
            return
        groups = GroupService(self.db, self.clock, self.actor)
        for user_id in practice_user_ids(self.db, studio_id):
            groups.add_member(client_id, user_id, check_access=False)

    def _add_externals(self, client_id: int, people: Sequence[External]) -> list[dict]:
        """Each person an external user of the client (no password: the invitation
        lets them choose one); UserService adds them to the work group."""
        from sempi_cli.services.org.users import UserService

        users = UserService(self.db, self.clock, self.actor)
        return [
            users.add(person.email, person.full_name, "external", client=client_id)
            for person in people
        ]

    def _create_folders(self, client_id: int) -> list[dict]:
        from sempi_cli.services.documents.folders import FolderService

        return FolderService(self.db, self.clock, self.actor).create_default_tree(client_id)

    def _record_modules(self, client_id: int, modules: Sequence[str]) -> tuple[str, ...]:
        with self.transaction():
            set_modules(self.db, [(client_id, tuple(modules))], self.now(), self.actor.id)
        return tuple(modules)

    def _record_delegations(
        self, client_id: int, delegations: Sequence[Delegation]
    ) -> list[Delegation]:
        with self.transaction():
            upsert_delegations(
                self.db, [(client_id, d) for d in delegations], self.now(), self.actor.id
            )
        return list(delegations)

    def _invite(self, users: Sequence[dict]) -> list[dict]:
        from sempi_cli.services.org.invitations import Invitations

        invitations = Invitations(self.db, self.clock, self.actor)
        return [
            {"user_id": u["id"], "email": u["email"], "mail_id": invitations.invite(u["id"])}
            for u in users
        ]

    def _generate_deadlines(self, client_id: int) -> dict:
        from sempi_cli.services.scheduler.runner import SchedulerService

        run = SchedulerService(self.db, self.clock, self.actor).run(client_ids=[client_id])
        return {
            "from": run["from"],
            "to": run["to"],
            "created": run["created"],
            "run_id": run["run_id"],
            "assigned_to_you": bool(run["unassigned_clients"]),
        }

    # --- what it did --------------------------------------------------------------------

    def _report(
        self,
        client: dict,
        folders: list[dict],
        modules: Sequence[str],
        delegations: Sequence[Delegation],
        invitations: list[dict],
        deadlines: dict | None,
        dry_run: bool,
    ) -> dict:
        """Read inside the transaction (a dry run's rows vanish with its rollback); ids a
        dry run would only have made up are null."""
        from sempi_cli.services.org.groups import GroupService

        def made(value: object) -> object:
            return None if dry_run else value

        today = today_in_rome(self.clock)
        members = GroupService(self.db, self.clock, self.actor).members(client["id"])
        return {
            "dry_run": dry_run,
            "client": {**client, "id": made(client["id"])},
            "members": [
                {
                    "user_id": made(m["user_id"]) if m["role"] == "external" else m["user_id"],
                    "email": m["email"],
                    "full_name": m["full_name"],
                    "role": m["role"],
                }
                for m in members
            ],
            "folders": [str(f["path"]) for f in folders],
            "modules": list(modules),
            "delegations": [
                {
                    "kind": d.kind,
                    "reference": d.reference,
                    "valid_until": d.valid_until,
                    "status": d.status(today),
                }
                for d in delegations
            ],
            "invitations": [
                {**i, "user_id": made(i["user_id"]), "mail_id": made(i["mail_id"])}
                for i in invitations
            ],
            "deadlines": None
            if deadlines is None
            else {**deadlines, "run_id": made(deadlines["run_id"])},
        }

    # --- reading the record ------------------------------------------------------------

    def show(self, client_id: int) -> dict:
        """Who may see the client, which modules they find, its delegations and folders."""
        from sempi_cli.services.org.groups import GroupService

        client = access.client_row(self.db, self.actor, client_id)
        today = today_in_rome(self.clock)
        held = modules_of(self.db, [client_id]).get(client_id)
        delegations = delegations_of(self.db, [client_id]).get(client_id, {})
        return {
            "client_id": client_id,
            "ragione_sociale": client["ragione_sociale"],
            "members": [
                {k: m[k] for k in ("user_id", "email", "full_name", "role")}
                for m in GroupService(self.db, self.clock, self.actor).members(client_id)
            ],
            "modules": list(held) if held is not None else list(MODULES),
            "delegations": [
                {
                    "kind": d.kind,
                    "reference": d.reference,
                    "valid_until": d.valid_until,
                    "status": d.status(today),
                }
                for d in delegations.values()
            ],
            "folders": folder_count(self.db, client_id),
        }


def folder_count(db: sqlite3.Connection, client_id: int) -> int:
    return int(
        db.execute("SELECT count(*) FROM doc_folders WHERE client_id = ?", (client_id,)).fetchone()[
            0
        ]
    )


# --- the m009 tables: their only writer ----------------------------------------------


def set_modules(
    db: sqlite3.Connection,
    items: Iterable[tuple[int, tuple[str, ...]]],
    at: str,
    actor_id: int | None,
) -> None:
    """Each client's modules become exactly the given ones (at least one); the caller
    holds the transaction. One statement for every client: each list is padded to
    len(MODULES) by repeating its first module, which NOT IN does not mind."""
    items = list(items)
    if not items:
        return
    width = len(MODULES)
    db.executemany(
        "DELETE FROM client_modules WHERE client_id = ?"
        f" AND module NOT IN ({', '.join('?' * width)})",
        [(cid, *modules, *(modules[:1] * (width - len(modules)))) for cid, modules in items],
    )
    db.executemany(
        "INSERT INTO client_modules (client_id, module, enabled_at, enabled_by) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (client_id, module) DO NOTHING",
        [(client_id, m, at, actor_id) for client_id, modules in items for m in modules],
    )


def upsert_delegations(
    db: sqlite3.Connection,
    items: Iterable[tuple[int, Delegation]],
    at: str,
    actor_id: int | None,
) -> None:
    """Record each client's current delegation of each kind; the caller holds the
    transaction."""
    db.executemany(
        "INSERT INTO client_delegations (client_id, kind, reference, valid_until, recorded_by,"
        " recorded_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (client_id, kind) DO UPDATE SET"
        " reference = excluded.reference, valid_until = excluded.valid_until,"
        " recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at"
        " WHERE client_delegations.reference IS DISTINCT FROM excluded.reference"
        " OR client_delegations.valid_until IS DISTINCT FROM excluded.valid_until",
        [(cid, d.kind, d.reference, d.valid_until, actor_id, at) for cid, d in items],
    )


def modules_of(db: sqlite3.Connection, client_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """Recorded modules per client; a client without rows is absent (every module)."""
    found: dict[int, set[str]] = {}
    for client_id, module in _in_chunks(
        db, "SELECT client_id, module FROM client_modules WHERE client_id IN ({})", client_ids
    ):
        found.setdefault(client_id, set()).add(module)
    return {cid: tuple(m for m in MODULES if m in names) for cid, names in found.items()}


def delegations_of(
    db: sqlite3.Connection, client_ids: Sequence[int]
) -> dict[int, dict[str, Delegation]]:
    found: dict[int, dict[str, Delegation]] = {}
    for client_id, kind, reference, until in _in_chunks(
        db,
        "SELECT client_id, kind, reference, valid_until FROM client_delegations"
        " WHERE client_id IN ({}) ORDER BY client_id, kind",
        client_ids,
    ):
        found.setdefault(client_id, {})[kind] = Delegation(kind, reference, until)
    return found


def _in_chunks(db: sqlite3.Connection, sql: str, ids: Sequence[int], size: int = 900):
    """Rows of ``sql`` (one ``IN ({})``) for many ids, within SQLite's variable limit."""
    for start in range(0, len(ids), size):
        part = list(ids[start : start + size])
        yield from db.execute(sql.format(",".join("?" * len(part))), part)
