"""Application passwords: named secrets for scripts, cron and other programs.

Shown once, stored as SHA-256 (192 random bits need no slow hash), listed
with when they were last used, revocable. Creating one needs the password
(and code) again; an application password cannot manage application passwords.
"""

from __future__ import annotations

import secrets

from sempi_cli.errors import Conflict, InvalidData, NotFound, PermissionDenied
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services.base import Service
from sempi_cli.services.identity.auth import Confirm, require_reauthentication, token_hash

COLUMNS = ("id", "user", "name", "created_at", "last_used_at")


class AppPasswordService(Service):
    def add(self, name: str, confirm: Confirm | None) -> dict:
        require_reauthentication(
            self.actor, confirm, self.clock.now(), N_("create an application password")
        )
        name = (name or "").strip()
        if not name:
            raise InvalidData(
                "NAME", _("an application password needs a name (e.g. 'cron scheduler')")
            )
        secret = "sempi-" + secrets.token_urlsafe(24)
        with self.transaction():
            clash = self.db.execute(
                "SELECT id FROM app_passwords WHERE user_id = ? AND name = ? AND revoked_at IS NULL",
                (self.actor.id, name),
            ).fetchone()
            if clash:
                raise Conflict(
                    _("you already have an application password named {name}").format(
                        name=repr(name)
                    )
                )
            password_id = self.db.execute(
                "INSERT INTO app_passwords (user_id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (self.actor.id, name, token_hash(secret), self.now()),
            ).fetchone()[0]
            self.audit("app_password_added", "user", self.actor.id, app_password=name)
        return {"id": password_id, "name": name, "secret": secret}

    def list(self, user: str | None = None) -> list[dict]:
        from sempi_cli.services.identity.auth import AuthService

        user_id = AuthService(self.db, self.clock, self.actor)._subject(user)
        sql = (
            "SELECT a.id, u.email AS user, a.name, a.created_at, a.last_used_at FROM app_passwords a"
            " JOIN users u ON u.id = a.user_id WHERE a.revoked_at IS NULL"
        )
        params: tuple = ()
        if user_id is not None:
            sql += " AND a.user_id = ?"
            params = (user_id,)
        return [dict(r) for r in self.db.execute(sql + " ORDER BY a.id", params)]

    def revoke(self, app_password_id: int) -> None:
        if self.actor.via == "app_password":
            raise PermissionDenied(_("an application password cannot manage application passwords"))
        row = self.db.execute(
            "SELECT user_id, name FROM app_passwords WHERE id = ? AND revoked_at IS NULL",
            (app_password_id,),
        ).fetchone()
        if row is None or (row["user_id"] != self.actor.id and not self.actor.is_firm_admin):
            raise NotFound(_("application password {id} not found").format(id=app_password_id))
        with self.transaction():
            self.db.execute(
                "UPDATE app_passwords SET revoked_at = ? WHERE id = ?",
                (self.now(), app_password_id),
            )
            self.audit("app_password_revoked", "user", row["user_id"], app_password=row["name"])
