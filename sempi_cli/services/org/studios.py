"""Practices (studi): the firm's customers, each with its clients and users."""

from __future__ import annotations

import sqlite3

from sempi_cli.errors import Conflict, InvalidData, NotFound, PermissionDenied
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, identifiers
from sempi_cli.services.base import Service, changes

COLUMNS = ("id", "name", "partita_iva", "codice_fiscale", "email", "pec", "city")


def find_studio_id(db: sqlite3.Connection, actor: access.Actor, ref: str | int) -> int:
    """A practice by id or by name, among those the actor may see."""
    where, params = access.visible_studios(actor)
    text = str(ref).strip()
    key = "s.id = :ref" if text.isdigit() else "s.name = :ref"
    row = db.execute(
        f"SELECT s.id FROM studios s WHERE {key} AND {where}", {**params, "ref": text}
    ).fetchone()
    if row is None:
        raise NotFound(_("practice {practice} not found").format(practice=repr(text)))
    return int(row[0])


class StudioService(Service):
    def _fields(self, name, partita_iva, codice_fiscale, email, pec, city) -> dict:
        fields = {}
        if name is not None:
            if not name.strip():
                raise InvalidData("--name", _("the practice's name is empty"))
            fields["name"] = name.strip()
        if partita_iva is not None:
            fields["partita_iva"] = (
                identifiers.partita_iva(partita_iva, field="--partita-iva")
                if partita_iva.strip()
                else None
            )
        if codice_fiscale is not None:
            fields["codice_fiscale"] = (
                identifiers.codice_fiscale(codice_fiscale, field="--codice-fiscale")
                if codice_fiscale.strip()
                else None
            )
        if email is not None:
            fields["email"] = identifiers.email(email, field="--email") if email.strip() else None
        if pec is not None:
            fields["pec"] = identifiers.email(pec, field="--pec") if pec.strip() else None
        if city is not None:
            fields["city"] = identifiers.optional_text(city)
        return fields

    def _unique(self, fields: dict, studio_id: int | None = None) -> None:
        clashes = (
            ("name", N_("practice {id} already has the name {value}")),
            ("partita_iva", N_("practice {id} already has the partita IVA {value}")),
        )
        for column, message in clashes:
            value = fields.get(column)
            if value is None:
                continue
            row = self.db.execute(
                f"SELECT id FROM studios WHERE {column} = ? AND id IS DISTINCT FROM ?",
                (value, studio_id),
            ).fetchone()
            if row:
                raise Conflict(_(message).format(id=row[0], value=repr(value)))

    def add(
        self, name: str, *, partita_iva=None, codice_fiscale=None, email=None, pec=None, city=None
    ) -> dict:
        access.require_firm_admin(self.actor, N_("add a practice"))
        fields = self._fields(name, partita_iva, codice_fiscale, email, pec, city)
        with self.transaction():
            self._unique(fields)
            now = self.now()
            studio_id = self.db.execute(
                f"INSERT INTO studios ({', '.join(fields)}, created_at, updated_at)"
                f" VALUES ({', '.join('?' * len(fields))}, ?, ?) RETURNING id",
                (*fields.values(), now, now),
            ).fetchone()[0]
            self.audit("add", "studio", studio_id, **fields)
        return self.show(studio_id)

    def list(self, *, search: str | None = None) -> list[dict]:
        where, params = access.visible_studios(self.actor)
        sql = (
            "SELECT s.*, (SELECT count(*) FROM clients c WHERE c.studio_id = s.id"
            " AND c.removed_at IS NULL) AS clients FROM studios s WHERE " + where
        )
        if search:
            sql += " AND (s.name LIKE :q OR s.partita_iva LIKE :q OR s.city LIKE :q)"
            params = {**params, "q": f"%{search.strip()}%"}
        return [dict(r) for r in self.db.execute(sql + " ORDER BY s.name", params)]

    def show(self, ref: str | int) -> dict:
        studio_id = find_studio_id(self.db, self.actor, ref)
        row = dict(self.db.execute("SELECT * FROM studios WHERE id = ?", (studio_id,)).fetchone())
        row["clients"] = self.db.execute(
            "SELECT count(*) FROM clients WHERE studio_id = ? AND removed_at IS NULL", (studio_id,)
        ).fetchone()[0]
        row["users"] = self.db.execute(
            "SELECT count(*) FROM users WHERE studio_id = ? AND disabled_at IS NULL", (studio_id,)
        ).fetchone()[0]
        return row

    def edit(
        self,
        ref: str | int,
        *,
        name=None,
        partita_iva=None,
        codice_fiscale=None,
        email=None,
        pec=None,
        city=None,
        read_receipts: str | None = None,
    ) -> dict:
        """``read_receipts`` on or off: whether whoever put a document in a client's
        folders is told when the client's people first download it (services/documents/receipts.py)."""
        studio_id = find_studio_id(self.db, self.actor, ref)
        actor = self.actor
        if not (
            actor.is_firm_admin or (actor.role == "studio-admin" and actor.studio_id == studio_id)
        ):
            raise PermissionDenied(
                _("only a firm administrator or the practice's administrator may edit it")
            )
        fields = self._fields(name, partita_iva, codice_fiscale, email, pec, city)
        if read_receipts is not None:
            fields["read_receipts"] = _on_off(read_receipts, "--read-receipts")
        with self.transaction():
            before = self.db.execute("SELECT * FROM studios WHERE id = ?", (studio_id,)).fetchone()
            diff = changes(before, fields)
            if diff:
                self._unique(fields, studio_id)
                sets = ", ".join(f"{k} = :{k}" for k in fields)
                self.db.execute(
                    f"UPDATE studios SET {sets}, updated_at = :now WHERE id = :id",
                    {**fields, "now": self.now(), "id": studio_id},
                )
                self.audit("edit", "studio", studio_id, changes=diff)
        return self.show(studio_id)


def _on_off(value: str, field: str) -> int:
    word = value.strip().lower()
    if word not in ("on", "off"):
        raise InvalidData(field, _("{value} is neither on nor off").format(value=repr(value)))
    return int(word == "on")
