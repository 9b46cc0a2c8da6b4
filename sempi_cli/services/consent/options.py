"""The practice's option: "access my clients' SMART services with my
credentials", and whether the practice's operators get the same privileges
(SPEC §6; table ``smart_options``, one row per practice; no row = off)."""

from __future__ import annotations

import sqlite3

from sempi_cli.errors import PermissionDenied, UsageProblem
from sempi_cli.i18n import gettext as _
from sempi_cli.services.access import Actor, require_practice_admin
from sempi_cli.services.base import Service, changes


def option_of(db: sqlite3.Connection, studio_id: int | None) -> dict[str, bool]:
    """The practice's option as {"enabled": bool, "operators": bool}: read on every
    access check, so switching it off stops access at the next command. A practice
    with no row (never set), or no practice at all, has it off."""
    if studio_id is None:
        return {"enabled": False, "operators": False}
    row = db.execute(
        "SELECT enabled, operators FROM smart_options WHERE studio_id = ?", (studio_id,)
    ).fetchone()
    if row is None:
        return {"enabled": False, "operators": False}
    return {"enabled": bool(row[0]), "operators": bool(row[1])}


def _studio(db: sqlite3.Connection, actor: Actor, ref: str | int) -> sqlite3.Row:
    """The practice by id or name among those the actor sees; an external user may
    not read any practice's option."""
    from sempi_cli.services.org.studios import find_studio_id

    if actor.role == "external":
        raise PermissionDenied(_("a client's user may not read or change a practice's options"))
    studio_id = find_studio_id(db, actor, ref)
    return db.execute("SELECT id, name FROM studios WHERE id = ?", (studio_id,)).fetchone()


class SmartOptions(Service):
    """`consent settings`: read and change a practice's option."""

    def show(self, studio: str | int) -> dict:
        row = _studio(self.db, self.actor, studio)
        return self._shown(row)

    def _shown(self, studio: sqlite3.Row) -> dict:
        stored = self.db.execute(
            "SELECT o.changed_at, u.email FROM smart_options o"
            " LEFT JOIN users u ON u.id = o.changed_by WHERE o.studio_id = ?",
            (studio["id"],),
        ).fetchone()
        return {
            "studio_id": studio["id"],
            "studio": studio["name"],
            **option_of(self.db, studio["id"]),
            "changed_at": stored[0] if stored else None,
            "changed_by": stored[1] if stored else None,
        }

    def change(
        self, studio: str | int, *, enabled: bool | None = None, operators: bool | None = None
    ) -> dict:
        """Turn the option on or off, and extend it to the operators or not; the other
        value stays as it was. Read by every access check: it rules from the next
        command on."""
        if enabled is None and operators is None:
            raise UsageProblem(_("say what to change"), _("add --enable, --disable or --operators"))
        row = _studio(self.db, self.actor, studio)
        require_practice_admin(self.actor, row["id"], _("change the practice's SMART option"))
        with self.transaction():
            old = option_of(self.db, row["id"])
            new = {
                "enabled": old["enabled"] if enabled is None else enabled,
                "operators": old["operators"] if operators is None else operators,
            }
            self.db.execute(
                "INSERT INTO smart_options (studio_id, enabled, operators, changed_at, changed_by)"
                " VALUES (:studio, :enabled, :operators, :now, :actor)"
                " ON CONFLICT (studio_id) DO UPDATE SET enabled = excluded.enabled,"
                " operators = excluded.operators, changed_at = excluded.changed_at,"
                " changed_by = excluded.changed_by",
                {
                    "studio": row["id"],
                    "enabled": int(new["enabled"]),
                    "operators": int(new["operators"]),
                    "now": self.now(),
                    "actor": self.actor.id,
                },
            )
            self.audit("set_option", "smart_option", row["id"], changes=changes(old, new))
        return self._shown(row)
