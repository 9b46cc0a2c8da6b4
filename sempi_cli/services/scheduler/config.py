"""The firm's adjustments to the fiscal rules, kept as data: per-period
overrides (a government extension by DL or DPCM) and the firm's own task
template for a rule (its checklists replace the rule's default).

Reading them is open to the firm's users and practice administrators; changing
them is for firm administrators. A change takes effect at the next run, which
moves or re-checklists nothing already started.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date

from sempi_cli.errors import Conflict, InvalidData, NotFound, PermissionDenied
from sempi_cli.fiscal.engine import Override
from sempi_cli.fiscal.rules import Refused, Rule, find_rule
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.clients.profile import FIELDS_BY_NAME

OVERRIDE_COLUMNS = ("rule_id", "period", "due_date", "reason", "applies_to", "created_at")


class Day:
    """An ISO day in a sentence, put into words when the sentence is: ISO in English,
    as it always was; dd/mm/yyyy in Italian."""

    def __init__(self, iso: str) -> None:
        self.iso = iso

    def __str__(self) -> str:
        from sempi_cli.i18n import current

        if current() == "en" or len(self.iso) != 10:
            return self.iso
        return f"{self.iso[8:10]}/{self.iso[5:7]}/{self.iso[:4]}"


def said(exc: ValueError) -> str:
    """The fiscal rules' refusal (fiscal.rules.Refused) in the reader's language."""
    if isinstance(exc, Refused):
        return _(exc.template).format(**exc.values)
    return str(exc)


def rule_named(text: str, field: str = "RULE") -> Rule:
    try:
        return find_rule(text)
    except ValueError as exc:
        raise InvalidData(field, said(exc), _("see 'sempi scheduler rules'")) from None


def period_of(rule: Rule, text: str, field: str = "PERIOD") -> tuple[int, int]:
    try:
        return rule.parse_period(text)
    except ValueError as exc:
        raise InvalidData(field, said(exc)) from None


def _override(row: sqlite3.Row) -> Override:
    return Override(
        date.fromisoformat(row["due_date"]), row["reason"], tuple(json.loads(row["applies_to"]))
    )


def load_overrides(db: sqlite3.Connection) -> dict[tuple[str, str], Override]:
    """Every override, for the engine (the run's own read; no access check)."""
    return {
        (row["rule_id"], row["period"]): _override(row)
        for row in db.execute(
            "SELECT rule_id, period, due_date, reason, applies_to FROM fiscal_overrides"
        )
    }


def find_override(db: sqlite3.Connection, rule_id: str, period: str) -> Override | None:
    """The override of one period of one rule, if any (overrides are not secret)."""
    row = db.execute(
        "SELECT due_date, reason, applies_to FROM fiscal_overrides WHERE rule_id = ? AND period = ?",
        (rule_id, period),
    ).fetchone()
    return None if row is None else _override(row)


def load_templates(db: sqlite3.Connection) -> dict[str, list[dict]]:
    """The firm's checklists per rule, for the run."""
    return {
        row["rule_id"]: json.loads(row["checklists"])
        for row in db.execute(
            "SELECT f.rule_id, t.checklists FROM fiscal_rule_templates f"
            " JOIN task_templates t ON t.id = f.template_id WHERE t.removed_at IS NULL"
        )
    }


class SchedulerConfig(Service):
    def _require_reader(self) -> None:
        if not (self.actor.is_internal or self.actor.role == "studio-admin"):
            raise PermissionDenied(
                _(
                    "only the firm's users and practice administrators may read the scheduler's"
                    " settings"
                )
            )

    # --- overrides -----------------------------------------------------------------------

    def overrides(self) -> list[dict]:
        self._require_reader()
        return [
            {**dict(row), "applies_to": json.loads(row["applies_to"])}
            for row in self.db.execute(
                f"SELECT {', '.join(OVERRIDE_COLUMNS)} FROM fiscal_overrides ORDER BY rule_id, period"
            )
        ]

    def add_override(
        self,
        rule_text: str,
        period_text: str,
        due: date,
        reason: str,
        applies_to: list[str] | None = None,
        *,
        replace: bool = False,
    ) -> dict:
        """An extension of one period of one rule; ``applies_to`` limits it to clients
        with any of those profile flags (e.g. isa_subject, forfettario)."""
        access.require_firm_admin(self.actor, N_("change the fiscal calendar"))
        rule = rule_named(rule_text)
        year, index = period_of(rule, period_text)
        period = rule.period(year, index)
        nominal = rule.due(year, index)
        if due < nominal:
            raise InvalidData(
                "DATE",
                _("{due} is before the nominal date {nominal} of {rule} {period}").format(
                    due=Day(due.isoformat()),
                    nominal=Day(nominal.isoformat()),
                    rule=rule.id,
                    period=period,
                ),
                _("an extension moves a deadline later"),
            )
        reason = reason.strip()
        if not reason:
            raise InvalidData(
                "--reason", _("is empty"), _("name the act, e.g. 'DL 84/2025 art. 13'")
            )
        flags = []
        for name in applies_to or []:
            field = FIELDS_BY_NAME.get(name.strip().lower())
            if field is None or field.choices is not None:
                raise InvalidData(
                    "--applies-to",
                    _("{name} is not a yes/no profile field").format(name=repr(name)),
                    _("see 'sempi client fields'"),
                )
            flags.append(field.name)
        applies_to_json = json.dumps(sorted(set(flags)))
        row = {
            "rule_id": rule.id,
            "period": period,
            "due_date": due.isoformat(),
            "reason": reason,
            "applies_to": applies_to_json,
            "created_by": self.actor.id,
            "created_at": self.now(),
        }
        with self.transaction():
            old = self.db.execute(
                "SELECT due_date FROM fiscal_overrides WHERE rule_id = ? AND period = ?",
                (rule.id, period),
            ).fetchone()
            if old is not None and not replace:
                raise Conflict(
                    _("{rule} {period} already has an override (to {due})").format(
                        rule=rule.id, period=period, due=Day(old["due_date"])
                    ),
                    _("add --replace to change it"),
                )
            self.db.execute(
                "INSERT INTO fiscal_overrides (rule_id, period, due_date, reason, applies_to,"
                " created_by, created_at) VALUES (:rule_id, :period, :due_date, :reason, :applies_to,"
                " :created_by, :created_at) ON CONFLICT (rule_id, period) DO UPDATE SET"
                " due_date = excluded.due_date, reason = excluded.reason,"
                " applies_to = excluded.applies_to, created_by = excluded.created_by,"
                " created_at = excluded.created_at",
                row,
            )
            self.audit(
                "scheduler.override",
                "fiscal_override",
                None,
                rule=rule.id,
                period=period,
                due=row["due_date"],
                reason=reason,
            )
        return {
            **{k: row[k] for k in OVERRIDE_COLUMNS},
            "applies_to": json.loads(applies_to_json),
            "nominal_date": nominal.isoformat(),
        }

    def remove_override(self, rule_text: str, period_text: str) -> dict:
        access.require_firm_admin(self.actor, N_("change the fiscal calendar"))
        rule = rule_named(rule_text)
        period = rule.period(*period_of(rule, period_text))
        with self.transaction():
            if not self.db.execute(
                "DELETE FROM fiscal_overrides WHERE rule_id = ? AND period = ?", (rule.id, period)
            ).rowcount:
                raise NotFound(
                    _("{rule} {period} has no override").format(rule=rule.id, period=period)
                )
            self.audit(
                "scheduler.override_removed", "fiscal_override", None, rule=rule.id, period=period
            )
        return {"rule_id": rule.id, "period": period}

    # --- the firm's template per rule --------------------------------------------------------

    def templates(self) -> list[dict]:
        self._require_reader()
        return [
            dict(row)
            for row in self.db.execute(
                "SELECT f.rule_id, t.name AS template, f.set_at FROM fiscal_rule_templates f"
                " JOIN task_templates t ON t.id = f.template_id ORDER BY f.rule_id"
            )
        ]

    def set_template(self, rule_text: str, template_name: str | None) -> dict:
        """Use a task template's checklists for a rule's new deadlines (None: back to the default)."""
        access.require_firm_admin(self.actor, N_("change the fiscal calendar"))
        rule = rule_named(rule_text)
        with self.transaction():
            if template_name is None:
                self.db.execute("DELETE FROM fiscal_rule_templates WHERE rule_id = ?", (rule.id,))
                self.audit("scheduler.template", "fiscal_rule", None, rule=rule.id, template=None)
                return {"rule_id": rule.id, "template": None}
            template = self.db.execute(
                "SELECT id, name FROM task_templates WHERE name = ? COLLATE NOCASE AND removed_at IS NULL",
                (template_name.strip(),),
            ).fetchone()
            if template is None:
                raise NotFound(
                    _("template {name} not found").format(name=repr(template_name)),
                    _("see 'sempi task template list'"),
                )
            self.db.execute(
                "INSERT INTO fiscal_rule_templates (rule_id, template_id, set_by, set_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (rule_id) DO UPDATE SET"
                " template_id = excluded.template_id, set_by = excluded.set_by, set_at = excluded.set_at",
                (rule.id, template["id"], self.actor.id, self.now()),
            )
            self.audit(
                "scheduler.template", "fiscal_rule", None, rule=rule.id, template=template["name"]
            )
        return {"rule_id": rule.id, "template": template["name"]}
