"""Clients (aziende clienti): identity, contacts, responsible, SMART services, fiscal profile."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sempi_cli.clock import today_in_rome
from sempi_cli.errors import Conflict, InvalidData, PermissionDenied, RuleViolation
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, event_log, events, identifiers
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service, changes, redact_personal
from sempi_cli.services.clients import history, profile
from sempi_cli.services.clients import input as client_input
from sempi_cli.services.clients.input import ClientInput

LIST_COLUMNS = (
    "id",
    "ragione_sociale",
    "codice_fiscale",
    "partita_iva",
    "studio",
    "responsible",
    "iva_periodicity",
)


# Who may be a client's responsible, said of a user (an e-mail, or a reference as typed).
NOT_RESPONSIBLE = N_("{user} is not an active firm user (firm-admin or staff)")
# Another client of the practice has the identifier: (column, removed) -> message.
_CLASH = {
    ("codice_fiscale", False): N_(
        "client {client} of this practice already has the codice fiscale {value}"
    ),
    ("codice_fiscale", True): N_(
        "client {client} (removed: 'sempi client restore' brings it back) of this practice"
        " already has the codice fiscale {value}"
    ),
    ("partita_iva", False): N_(
        "client {client} of this practice already has the partita IVA {value}"
    ),
    ("partita_iva", True): N_(
        "client {client} (removed: 'sempi client restore' brings it back) of this practice"
        " already has the partita IVA {value}"
    ),
}


def client_studio_id(db: sqlite3.Connection, actor: Actor, studio: str | int | None) -> int:
    """The practice a new client belongs to: the one given, else the actor's own."""
    from sempi_cli.services.org.studios import find_studio_id

    if studio is None:
        studio = actor.studio_id
    if studio is None:
        raise InvalidData("--studio", _("missing"), _("give the client's practice (id or name)"))
    return find_studio_id(db, actor, studio)


def responsible_id(user: sqlite3.Row | Mapping[str, Any], field: str = "--responsible") -> int:
    """Who may be a client's responsible; one rule for `client add`/`edit` and a batch."""
    if user["role"] not in access.FIRM_ROLES or user["disabled_at"] is not None:
        raise InvalidData(field, _(NOT_RESPONSIBLE).format(user=user["email"]))
    return int(user["id"])


def firm_users(db: sqlite3.Connection) -> dict[str, sqlite3.Row]:
    """Every firm user by e-mail and by id (as text): a batch resolves its rows'
    responsibles from one read per chunk, then applies ``responsible_id``."""
    found: dict[str, sqlite3.Row] = {}
    for row in db.execute(
        "SELECT id, email, role, disabled_at FROM users WHERE role IN (?, ?)", access.FIRM_ROLES
    ):
        found[row["email"]] = found[str(row["id"])] = row
    return found


def identifier_clash(
    db: sqlite3.Connection, studio_id: int, fields: dict, client_id: int | None = None
) -> tuple[str, str] | None:
    """(column, message) when another client of the practice has one of the given
    identifiers; a client is one per practice by codice fiscale and by partita IVA."""
    for column in ("codice_fiscale", "partita_iva"):
        value = fields.get(column)
        if value is None:
            continue
        row = db.execute(
            f"SELECT id, removed_at FROM clients WHERE studio_id = ? AND {column} = ?"
            " AND id IS DISTINCT FROM ?",
            (studio_id, value, client_id),
        ).fetchone()
        if row:
            message = _(_CLASH[column, bool(row[1])])
            return column, message.format(client=row[0], value=value)
    return None


class ClientService(Service):
    def _responsible_id(self, ref: str | int) -> int:
        from sempi_cli.services.identity.accounts import find_user

        return responsible_id(find_user(self.db, self.actor, ref))

    def _duplicates(self, studio_id: int, fields: dict, client_id: int | None = None) -> None:
        clash = identifier_clash(self.db, studio_id, fields, client_id)
        if clash:
            raise Conflict(clash[1])

    def add(self, data: ClientInput, *, onboarded: bool = True) -> dict:
        """A client of a practice, its work group (the responsible, the creator) and its
        profile. ``onboarded=False``: the caller (client-onboard) writes the
        ``client.onboarded`` event itself, once its own steps are done."""
        from sempi_cli.services.org.groups import GroupService

        actor = self.actor
        studio_id = client_studio_id(self.db, actor, data.studio)
        if not (
            actor.is_firm_admin
            or actor.role == "staff"
            or (actor.role == "studio-admin" and actor.studio_id == studio_id)
        ):
            raise PermissionDenied(_("you may not add clients to this practice"))
        if data.ragione_sociale is None:
            raise InvalidData("--name", _("missing"))
        kind = data.kind or client_input.DEFAULT_KIND  # not given, or given empty
        given = client_input.columns(replace(data, kind=kind), person=kind == "persona_fisica")
        fields, values = client_input.split(client_input.new_client(given))
        responsible = (
            self._responsible_id(data.responsible) if data.responsible is not None else None
        )
        fields["responsible_id"] = responsible
        with self.transaction():
            self._duplicates(studio_id, fields)
            now = self.now()
            fields.update(studio_id=studio_id, created_at=now, updated_at=now)
            client_id = self.db.execute(
                f"INSERT INTO clients ({', '.join(fields)}) VALUES ({', '.join(':' + k for k in fields)})"
                " RETURNING id",
                fields,
            ).fetchone()[0]
            history.insert_many(self.db, [(client_id, history.first(values, now, actor.id))])
            events.publish(self.db, self.clock, actor, "client.added", {"client_ids": [client_id]})
            self.audit(
                "add",
                "client",
                client_id,
                ragione_sociale=fields["ragione_sociale"],
                studio_id=studio_id,
            )
            groups = GroupService(self.db, self.clock, actor)
            for member in dict.fromkeys(m for m in (responsible, actor.id) if m is not None):
                if member == actor.id and actor.role not in ("staff", "studio-operator"):
                    continue  # administrators see every group anyway
                groups.add_member(client_id, member, check_access=False)
            if onboarded:
                event_log.record(
                    self.db, self.clock, actor, "client.onboarded", client_id, client_id,
                    data=onboarded_data(fields, client_input.MODULES),
                )  # fmt: skip
        return self.show(client_id)

    def list(
        self,
        *,
        studio: str | int | None = None,
        responsible: str | int | None = None,
        iva_periodicity: str | None = None,
        search: str | None = None,
        include_removed: bool = False,
        limit: int | None = None,
    ) -> list[dict]:
        """Clients the actor may see, by ragione sociale."""
        where, params = access.visible_clients(self.actor)
        clauses = [where]
        if studio is not None:
            from sempi_cli.services.org.studios import find_studio_id

            params["studio"] = find_studio_id(self.db, self.actor, studio)
            clauses.append("c.studio_id = :studio")
        if responsible is not None:
            from sempi_cli.services.identity.accounts import find_user

            params["responsible"] = find_user(self.db, self.actor, responsible)["id"]
            clauses.append("c.responsible_id = :responsible")
        if iva_periodicity is not None:
            choices = profile.FIELDS_BY_NAME["iva_periodicity"].choices or ()
            if iva_periodicity not in choices:
                raise InvalidData(
                    "--iva",
                    _("{value} is not one of {choices}").format(
                        value=repr(iva_periodicity), choices=", ".join(choices)
                    ),
                )
            params["iva"] = iva_periodicity
            clauses.append("p.iva_periodicity = :iva")
        if search:
            params["q"] = f"%{search.strip()}%"
            clauses.append(
                "(c.ragione_sociale LIKE :q OR c.nickname LIKE :q OR c.codice_fiscale LIKE :q"
                " OR c.partita_iva LIKE :q OR c.email LIKE :q)"
            )
        if not include_removed:
            clauses.append("c.removed_at IS NULL")
        params["today"] = today_in_rome(self.clock).isoformat()  # the profile in force today
        sql = (
            "SELECT c.id, c.ragione_sociale, c.codice_fiscale, c.partita_iva, c.studio_id, s.name AS studio,"
            " c.responsible_id, u.email AS responsible, p.iva_periodicity, c.nickname, c.removed_at"
            f" FROM clients c {history.in_force_join('c', 'p', ':today')}"
            " JOIN studios s ON s.id = c.studio_id LEFT JOIN users u ON u.id = c.responsible_id"
            f" WHERE {' AND '.join(clauses)} ORDER BY c.ragione_sociale COLLATE NOCASE, c.id"
        )
        if limit is not None:
            if limit < 1:
                raise InvalidData("--limit", _("must be at least 1"))
            sql += " LIMIT :limit"
            params["limit"] = limit
        return [dict(r) for r in self.db.execute(sql, params)]

    def show(self, client_id: int, as_of: date | None = None) -> dict:
        """The client, with the fiscal profile in force on *as_of* (default: today)
        and the profile's changes (past and to come) with their days."""
        row = access.client_row(self.db, self.actor, client_id)
        return self._detail(row, as_of or today_in_rome(self.clock))

    def _detail(self, row: sqlite3.Row, as_of: date) -> dict:
        studio = self.db.execute(
            "SELECT name FROM studios WHERE id = ?", (row["studio_id"],)
        ).fetchone()
        responsible = self.db.execute(
            "SELECT email FROM users WHERE id = ?", (row["responsible_id"],)
        ).fetchone()
        versions = history.of_client(self.db, row["id"])
        in_force = history.in_force(versions, as_of)
        detail = {
            "id": row["id"],
            "ragione_sociale": row["ragione_sociale"],
            "taxpayer_kind": row["taxpayer_kind"],
            "codice_fiscale": row["codice_fiscale"],
            "partita_iva": row["partita_iva"],
            "email": row["email"],
            "pec": row["pec"],
            "nickname": row["nickname"],
            "studio_id": row["studio_id"],
            "studio": studio[0],
            "responsible_id": row["responsible_id"],
            "responsible": responsible[0] if responsible else None,
            "smart_services": json.loads(row["smart_services"]),
            "conto_terzi": bool(row["conto_terzi"]),
            "own_licence": bool(row["own_licence"]),
            "profile_as_of": as_of.isoformat(),
            **in_force.profile,
            "profile_changes": history.timeline(versions),
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "removed_at": row["removed_at"],
        }
        return detail

    def edit(self, client_id: int, data: ClientInput, profile_from: date | None = None) -> dict:
        """Change what is given; the audit log keeps old and new values. Profile
        changes apply from *profile_from*, or each from the day its field takes
        effect (the next 1 January for VAT: ``profile.takes_effect``)."""
        from sempi_cli.services.org.groups import GroupService
        from sempi_cli.services.tasks.handover import follow_client
        from sempi_cli.services.tasks.tasks import TaskService

        before = access.client_row(self.db, self.actor, client_id)
        if not access.can_edit_client(self.db, self.actor, before):
            raise PermissionDenied(_("you may not edit client {client}").format(client=client_id))
        person = (data.kind or before["taxpayer_kind"]) == "persona_fisica"
        fields, values = client_input.split(client_input.columns(data, person=person))
        if profile_from is not None and not values:
            raise InvalidData("--from", _("dates a change of --profile, and none is given"))
        if person and data.codice_fiscale is None and before["codice_fiscale"]:
            # Becoming a persona fisica: the stored code must be a person's.
            identifiers.codice_fiscale(before["codice_fiscale"], person=True, field="--kind")
        new_responsible: int | None = None
        if data.responsible is not None:
            new_responsible = fields["responsible_id"] = self._responsible_id(data.responsible)
        client_input.require_identifier(
            {k: fields.get(k, before[k]) for k in ("codice_fiscale", "partita_iva")}
        )
        with self.transaction():
            diff = changes(before, {k: client_input.stored(v) for k, v in fields.items()})
            if diff:
                self._duplicates(before["studio_id"], {k: fields[k] for k in diff}, client_id)
                sets = ", ".join(f"{k} = :{k}" for k in diff)
                self.db.execute(
                    f"UPDATE clients SET {sets}, updated_at = :now WHERE id = :id",
                    {**{k: fields[k] for k in diff}, "now": self.now(), "id": client_id},
                )
                self.audit("edit", "client", client_id, changes=redact_personal(diff))
                if "responsible_id" in diff:
                    assert new_responsible is not None  # only a given responsible changes it
                    GroupService(self.db, self.clock, self.actor).add_member(
                        client_id, new_responsible, check_access=False
                    )
                    # Its fiscal deadlines to come go with it (tasks/handover.py).
                    followed = follow_client(
                        TaskService(self.db, self.clock, self.actor),
                        client_id,
                        before["responsible_id"],
                        new_responsible,
                    )
                    if followed:
                        self.audit("follow_responsible", "client", client_id, tasks=followed)
            # An inconsistent version raises here: the transaction undoes it all.
            found = self._change_profile(client_id, values, profile_from) if values else []
            if diff or found:
                name = fields.get("ragione_sociale", before["ragione_sociale"])
                event_log.record(
                    self.db, self.clock, self.actor, "client.updated", client_id, client_id,
                    changes=updated_changes(diff, found), data={"ragione_sociale": name},
                )  # fmt: skip
        return self.show(client_id)

    def _change_profile(
        self, client_id: int, values: dict, start: date | None
    ) -> builtins.list[dict]:
        now = self.now()
        found = history.change(
            self.db,
            client_id,
            values,
            today=today_in_rome(self.clock),
            start=start,
            at=now,
            actor_id=self.actor.id,
        )
        if found:
            self.audit("profile", "client", client_id, changes=found)
        return found

    def set_removed(self, client_id: int, removed: bool) -> dict:
        """Remove (archive: the books must be kept) or restore a client."""
        row = access.client_row(self.db, self.actor, client_id)
        # What the refusal names, an infinitive before "client N" (access.require_client_owner).
        access.require_client_owner(self.actor, row, N_("remove") if removed else N_("restore"))
        if removed == (row["removed_at"] is not None):
            message = (
                _("client {client} is already removed")
                if removed
                else _("client {client} is not removed")
            )
            raise RuleViolation(message.format(client=client_id))
        with self.transaction():
            now = self.now()
            self.db.execute(
                "UPDATE clients SET removed_at = ?, updated_at = ? WHERE id = ?",
                (now if removed else None, now, client_id),
            )
            self.audit("remove" if removed else "restore", "client", client_id)
        return self.show(client_id)


def onboarded_data(fields: Mapping[str, Any], modules: Sequence[str]) -> dict:
    """What ``client.onboarded`` says of a new client (its row's columns): nothing
    an erasure would remove (no contacts, no nickname)."""
    return {
        "ragione_sociale": fields["ragione_sociale"],
        "studio_id": fields["studio_id"],
        "responsible_id": fields["responsible_id"],
        "modules": list(modules),
    }


def updated_changes(diff: Mapping[str, dict], profile_changes: Sequence[Mapping]) -> dict:
    """The changes of a ``client.updated`` event: the record's fields with personal
    values redacted as the audit log has them (an event is kept after an erasure),
    and each profile field changed, ``{"old", "new", "from"}``: its value before the
    first day it changes, the value set, and that day (history.differences)."""
    result: dict[str, dict] = dict(redact_personal(dict(diff)))
    for change in profile_changes:  # by day: a field's first day comes first
        result.setdefault(
            change["field"], {"old": change["old"], "new": change["new"], "from": change["from"]}
        )
    return result


def erase_personal_fields(db: sqlite3.Connection, client_id: int, at: str) -> None:
    """Clear what the law does not require the firm to keep: contacts, nickname,
    SMART services (GDPR erasure; identity and fiscal profile stay for the books).
    The caller (services.privacy) has checked access, holds the transaction and
    writes the audit entry: not ClientService.edit, whose audit entry would copy
    the old values into the append-only log."""
    db.execute(
        "UPDATE clients SET email = NULL, pec = NULL, nickname = NULL, smart_services = '[]',"
        " updated_at = ? WHERE id = ?",
        (at, client_id),
    )
