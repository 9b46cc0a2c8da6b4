"""The firm's automation rules (`sempi automation add|list|show|enable|disable|remove|
test`): "when an event of this kind happens, and its fields say so, do this". Only
firm administrators manage them: a rule acts for the whole firm, as its creator.

Everything a rule names is checked when it is added (the kind, each field, the
action's users and templates): a mistake is one line and nothing is written. What
happens when it runs is engine.py's.
"""

from __future__ import annotations

import json
import sqlite3

from sempi_cli.errors import Conflict, InvalidData, NotFound, PermissionDenied, SempiError
from sempi_cli.i18n import gettext as _
from sempi_cli.services import event_log
from sempi_cli.services.automation import actions, conditions
from sempi_cli.services.automation.actions import ActionInput
from sempi_cli.services.base import Service
from sempi_cli.services.text import one_line

NAME_LIMIT = 80


class _Rollback(Exception):
    """Ends a rule's test: everything its action did is undone."""


class AutomationRules(Service):
    def _require_admin(self) -> None:
        if not self.actor.is_firm_admin:
            raise PermissionDenied(_("only firm administrators manage automation rules"))

    def _row(self, name: str) -> sqlite3.Row:
        row = self.db.execute(
            "SELECT r.*, u.email AS creator FROM automation_rules r"
            " JOIN users u ON u.id = r.created_by WHERE r.name = ? COLLATE NOCASE",
            (" ".join((name or "").split()),),
        ).fetchone()
        if row is None:
            raise NotFound(
                _("rule {name} not found").format(name=repr(name)),
                _("see 'sempi automation list'"),
            )
        return row

    def _shown(self, row: sqlite3.Row) -> dict:
        return {
            "id": row["id"],
            "name": row["name"],
            "on": row["on_kind"],
            "if": [str(c) for c in conditions.load(row["conditions"])],
            "do": row["action"],
            "params": actions.described(self.db, row["action"], row["params"]),
            "enabled": bool(row["enabled"]),
            "created_by": row["creator"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    def add(self, name: str, on: str, when: list[str], do: str, given: ActionInput) -> dict:
        """A new rule, enabled; everything it names checked first."""
        self._require_admin()
        name = one_line(name or "", "NAME", NAME_LIMIT)
        if not name:
            raise InvalidData("NAME", _("a rule needs a name"))
        kind = event_log.check_kind((on or "").strip(), "--on")
        parsed = conditions.parse_all(when)
        params = actions.check(self.db, self.clock, self.actor, (do or "").strip(), kind, given)
        with self.transaction():
            if self.db.execute(
                "SELECT 1 FROM automation_rules WHERE name = ? COLLATE NOCASE", (name,)
            ).fetchone():
                raise Conflict(
                    _("there is already a rule named {name}").format(name=repr(name)),
                    _("choose another name, or remove it first"),
                )
            now = self.now()
            rule_id = self.db.execute(
                "INSERT INTO automation_rules (name, on_kind, conditions, action, params,"
                " created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (name, kind, conditions.dump(parsed), do.strip(), json.dumps(params),
                 now, self.actor.id, now),
            ).fetchone()[0]  # fmt: skip
            self.audit("add", "automation_rule", rule_id, name=name, on=kind, do=do.strip())
        return self.show(name)

    def list(self) -> list[dict]:
        self._require_admin()
        rows = self.db.execute(
            "SELECT r.*, u.email AS creator FROM automation_rules r"
            " JOIN users u ON u.id = r.created_by ORDER BY r.name"
        ).fetchall()
        return [self._shown(row) for row in rows]

    def show(self, name: str) -> dict:
        self._require_admin()
        return self._shown(self._row(name))

    def set_enabled(self, name: str, enabled: bool) -> dict:
        """Enable or disable a rule (audited); a rule already so is left as it is."""
        self._require_admin()
        with self.transaction():
            row = self._row(name)
            if bool(row["enabled"]) != enabled:
                self.db.execute(
                    "UPDATE automation_rules SET enabled = ?, updated_at = ? WHERE id = ?",
                    (int(enabled), self.now(), row["id"]),
                )
                self.audit("enable" if enabled else "disable", "automation_rule", row["id"],
                           name=row["name"])  # fmt: skip
        return self.show(row["name"])

    def remove(self, name: str) -> dict:
        self._require_admin()
        with self.transaction():
            row = self._row(name)
            shown = self._shown(row)
            self.db.execute("DELETE FROM automation_rules WHERE id = ?", (row["id"],))
            self.audit("remove", "automation_rule", row["id"], name=row["name"],
                       on=row["on_kind"], do=row["action"])  # fmt: skip
        return shown

    def test(self, name: str, event_id: int) -> dict:
        """A dry run of the rule against a past event: each condition's verdict and,
        when all hold, what the action would do, done inside a transaction rolled
        back at the end (so the very same checks run). Enabled or not."""
        from sempi_cli.services.automation import engine

        self._require_admin()
        row = self._row(name)
        found = self.db.execute(
            "SELECT e.*, u.email FROM events e LEFT JOIN users u ON u.id = e.actor_id"
            " WHERE e.id = ?",
            (event_id,),
        ).fetchone()
        if found is None:
            raise NotFound(_("event {id} not found").format(id=event_id))
        event = event_log.contract(found, found["email"])
        checks = [
            {"if": str(c), "holds": c.holds(event)} for c in conditions.load(row["conditions"])
        ]
        result: dict = {
            "rule": row["name"], "event": event_id, "kind": event["kind"],
            "kind_matches": event["kind"] == row["on_kind"], "conditions": checks,
        }  # fmt: skip
        result["would_run"] = result["kind_matches"] and all(c["holds"] for c in checks)
        if not result["would_run"]:
            return result
        try:
            with self.transaction():
                result["outcome"] = engine.run_rule(
                    self.db, self.clock, row, event, depth_of(event), raising=True
                )
                raise _Rollback
        except _Rollback:
            pass
        except SempiError as exc:
            result["outcome"] = {"error": str(exc)}
        return result


def depth_of(event: dict) -> int:
    """How deep in a chain of automation the event is (0: a person's change)."""
    origin = event.get("origin")
    return int(origin["depth"]) if origin else 0
