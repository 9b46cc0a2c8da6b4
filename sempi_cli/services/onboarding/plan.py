"""Planning a batch's rows against the store: which client each row is, and what
writing it would change. Reads only; the same code plans the check pass and,
inside each chunk's transaction, the write pass (services.onboarding_batch).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.services import identifiers
from sempi_cli.services.clients import clients, history
from sempi_cli.services.clients import input as client_input
from sempi_cli.services.onboarding.input import (
    MODULES,
    Delegation,
    External,
    Row,
    field_of,
)
from sempi_cli.services.onboarding.onboard import (
    delegations_of,
    modules_of,
    practice_user_ids,
)
from sempi_cli.store.sql import in_marks


@dataclass
class Plan:
    """What the batch does with one row."""

    row: Row
    action: str  # created | updated | unchanged | refused
    client_id: int | None = None
    fields: dict[str, object] = field(default_factory=dict)  # created: all; updated: changed
    old: dict[str, object] = field(default_factory=dict)  # updated: the values before
    # updated: the profile's values to set (each from the day its field takes effect,
    # as `client edit` does) and what that changes from which day (history.differences)
    profile: dict[str, str | bool] = field(default_factory=dict)
    profile_changes: list[dict] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    members: list[int] = field(default_factory=list)
    externals: list[External] = field(default_factory=list)  # to create
    modules: tuple[str, ...] | None = None  # to set
    delegations: list[Delegation] = field(default_factory=list)  # to record
    folders: bool = False  # to create the default tree
    problem: tuple[str, str] | None = None

    def result(self) -> dict:
        row = self.row
        return {
            "line": row.line,
            "index": row.index,
            "action": self.action,
            "client_id": self.client_id,
            "ragione_sociale": row.client.get("ragione_sociale", row.name),
            "partita_iva": row.client.get("partita_iva"),
            "codice_fiscale": row.client.get("codice_fiscale"),
            "field": self.problem[0] if self.problem else None,
            "problem": self.problem[1] if self.problem else None,
            "changes": self.changes,
        }


def refused(row: Row, column: str, problem: str) -> Plan:
    return Plan(row, "refused", problem=(column, problem))


class Planner:
    """Plans rows against the store (reads only); the same code in both passes."""

    def __init__(self, db: sqlite3.Connection, studio_id: int, today: date) -> None:
        self.db = db
        self.studio_id = studio_id
        self.today = today
        self.firm_users: dict[str, sqlite3.Row] = {}
        self.practice_users: list[int] = []

    def plan(self, rows: list[Row]) -> list[Plan]:
        """Plan a chunk; in the write pass the caller holds its transaction, so what is
        read here (the users too: one may have been disabled since the check) is what
        the chunk's writes will find."""
        self.firm_users = clients.firm_users(self.db)
        self.practice_users = practice_user_ids(self.db, self.studio_id)
        live = [r for r in rows if r.problem is None]
        by_piva = self._clients("partita_iva", [r.client.get("partita_iva") for r in live])
        by_cf = self._clients("codice_fiscale", [r.client.get("codice_fiscale") for r in live])
        ids = sorted({c["id"] for c in (*by_piva.values(), *by_cf.values())})
        context = _Context(
            users=self._users([e.email for r in live for e in r.externals]),
            members=self._pairs("SELECT client_id, user_id FROM work_group_members", ids),
            modules=modules_of(self.db, ids),
            delegations=delegations_of(self.db, ids),
            with_folders={c for c, _ in self._pairs("SELECT client_id, 1 FROM doc_folders", ids)},
            profiles=history.of_clients(self.db, ids),
        )
        plans = []
        for row in rows:
            if row.problem is not None:
                plans.append(refused(row, *row.problem))
                continue
            try:
                plans.append(self._plan(row, by_piva, by_cf, context))
            except InvalidData as exc:
                plans.append(refused(row, field_of(exc), exc.problem))
        return plans

    # --- reads, one query each per chunk -------------------------------------------------

    def _clients(self, column: str, values: list[object]) -> dict[object, sqlite3.Row]:
        # The identifiers are normalised text; key=str orders them as before and types the sort.
        wanted = sorted({v for v in values if v is not None}, key=str)
        if not wanted:
            return {}
        return {
            row[column]: row
            for row in self.db.execute(
                f"SELECT * FROM clients WHERE studio_id = ? AND {column} IN"
                f" ({','.join('?' * len(wanted))})",
                (self.studio_id, *wanted),
            )
        }

    def _users(self, emails: list[str]) -> dict[str, sqlite3.Row]:
        if not emails:
            return {}
        return {
            row["email"]: row
            for row in self.db.execute(
                f"SELECT id, email, role, client_id FROM users WHERE email IN"
                f" ({','.join('?' * len(emails))})",
                emails,
            )
        }

    def _pairs(self, select: str, ids: list[int]) -> set[tuple[int, int]]:
        if not ids:
            return set()
        return {
            (row[0], row[1])
            for row in self.db.execute(f"{select} WHERE client_id IN ({in_marks(ids)})", ids)
        }

    # --- one row ---------------------------------------------------------------------

    def _responsible(self, ref: str | None) -> int | None:
        if ref is None:
            return None
        user = self.firm_users.get(ref.strip().lower())
        if user is None:
            raise InvalidData("responsible", _(clients.NOT_RESPONSIBLE).format(user=repr(ref)))
        return clients.responsible_id(user, "responsible")

    def _plan(self, row: Row, by_piva: dict, by_cf: dict, context: _Context) -> Plan:
        piva, cf = row.client.get("partita_iva"), row.client.get("codice_fiscale")
        one = by_piva.get(piva) if piva else None
        other = by_cf.get(cf) if cf else None
        if one is not None and other is not None and one["id"] != other["id"]:
            raise InvalidData(
                "codice_fiscale",
                _(
                    "{cf} is client {other}'s codice fiscale, but {piva} is client {one}'s"
                    " partita IVA"
                ).format(cf=cf, other=other["id"], piva=piva, one=one["id"]),
            )
        stored = one if one is not None else other
        responsible_id = self._responsible(row.responsible)
        if stored is None:
            return self._new(row, responsible_id, context)
        return self._existing(row, stored, responsible_id, context)

    def _check_externals(self, row: Row, client_id: int | None, context: _Context) -> list:
        to_create = []
        for person in row.externals:
            user = context.users.get(person.email)
            if user is None:
                to_create.append(person)
            elif client_id is None or user["role"] != "external" or user["client_id"] != client_id:
                raise InvalidData(
                    "externals",
                    _("a user with the e-mail {email} already exists").format(email=person.email),
                )
        return to_create

    def _new(self, row: Row, responsible_id: int | None, context: _Context) -> Plan:
        fields = {**client_input.new_client(row.client), "responsible_id": responsible_id}
        members = [responsible_id] if responsible_id is not None else []
        if row.practice_users != "none":
            members += self.practice_users
        return Plan(
            row,
            "created",
            fields=fields,
            members=list(dict.fromkeys(members)),
            externals=self._check_externals(row, None, context),
            modules=row.modules or MODULES,
            delegations=row.delegations,
            folders=True,
        )

    def _existing(
        self, row: Row, stored: sqlite3.Row, responsible_id: int | None, context: _Context
    ) -> Plan:
        client_id = stored["id"]
        if stored["removed_at"] is not None:
            column = "partita_iva" if row.client.get("partita_iva") else "codice_fiscale"
            raise InvalidData(
                column,
                _("client {client} of this practice has it and is removed").format(
                    client=client_id
                ),
                _("'sempi client restore {client}' brings it back").format(client=client_id),
            )
        wanted = dict(row.client)
        kind = wanted.get("taxpayer_kind", stored["taxpayer_kind"])
        code = wanted.get("codice_fiscale", stored["codice_fiscale"])
        if kind == "persona_fisica" and code is not None:
            identifiers.codice_fiscale(str(code), person=True, field="codice_fiscale")
        wanted, values = client_input.split(wanted)
        versions = context.profiles[client_id]
        profile_changes = history.differences(
            versions, history.with_changes(versions, values, self.today)
        )
        if responsible_id is not None:
            wanted["responsible_id"] = responsible_id
        diff = {k: v for k, v in wanted.items() if stored[k] != client_input.stored(v)}
        clash = clients.identifier_clash(self.db, self.studio_id, diff, client_id)
        if clash:
            raise InvalidData(*clash)
        plan = Plan(row, "unchanged", client_id, fields=diff, old={k: stored[k] for k in diff})
        plan.changes = ["responsible" if k == "responsible_id" else k for k in diff]
        if profile_changes:
            plan.profile, plan.profile_changes = values, profile_changes
            plan.changes += list(dict.fromkeys(c["field"] for c in profile_changes))
        members = [stored["responsible_id"] if responsible_id is None else responsible_id]
        if row.practice_users == "all":
            members += self.practice_users
        plan.members = [
            m
            for m in dict.fromkeys(members)
            if m is not None and (client_id, m) not in context.members
        ]
        plan.externals = self._check_externals(row, client_id, context)
        held = context.modules.get(client_id)
        if row.modules is not None and row.modules != (held if held is not None else MODULES):
            plan.modules = row.modules
        current = context.delegations.get(client_id, {})
        plan.delegations = [d for d in row.delegations if current.get(d.kind) != d]
        plan.folders = client_id not in context.with_folders
        for name, changed in (
            ("members", plan.members),
            ("externals", plan.externals),
            ("modules", plan.modules),
            ("delegations", plan.delegations),
            ("folders", plan.folders),
        ):
            if changed:
                plan.changes.append(name)
        if plan.changes:
            plan.action = "updated"
        return plan


@dataclass
class _Context:
    users: dict[str, sqlite3.Row]
    members: set[tuple[int, int]]
    modules: dict[int, tuple[str, ...]]
    delegations: dict[int, dict[str, Delegation]]
    with_folders: set[int]
    profiles: dict[int, list[history.Version]]
