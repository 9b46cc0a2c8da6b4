"""Yearly forms are named by the year they are filed in, as the forms and the tax
press do: the deadline that was "CU 2025" (due 16 March 2026) becomes "CU 2026
(periodo d'imposta 2025)" (fiscal/rules.py, ``period_is="form_year"``).

For the rules below, every deadline's period moves one year on, and its task
follows: ``external_key`` (``fiscal:{client}:{rule}:{period}``), the title the
scheduler gives it (a title someone changed by hand is left alone, as the
scheduler would leave it), the period named in its description and in the
explain command there, and a line in the task's history for the new title.
The government extensions of those periods (``fiscal_overrides``) move with
them. Dates do not change: the same deadline, named differently.

``updated_at`` of each deadline and task moves forward (to now, and at least a
minute past its old value): the .ics export computes an event's SEQUENCE from
it, so the renamed events come with a higher SEQUENCE under their old UIDs (a
form's UID keeps naming its tax year: services/scheduler/ics.py), and a
calendar app updates them instead of adding copies.

Frozen: the rule ids and labels are copied here as they were and became, so a
later change to the rules table cannot change what this migration did.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

from sempi_cli.clock import SystemClock

# rule id: (label before, label after, the words naming the year the form concerns)
FORMS: dict[str, tuple[str, str, str]] = {
    "CU": (
        "Certificazione Unica (dipendenti, assimilati, occasionali)",
        "Certificazione Unica",
        "periodo d'imposta",
    ),
    "CU-AUT": (
        "Certificazione Unica (lavoro autonomo abituale e provvigioni)",
        "Certificazione Unica lavoro autonomo e provvigioni",
        "periodo d'imposta",
    ),
    "770": ("Modello 770", "Modello 770", "periodo d'imposta"),
    "REDDITI": (
        "Dichiarazione dei redditi e IRAP",
        "Dichiarazioni Redditi e IRAP",
        "periodo d'imposta",
    ),
    "DICH-IVA": ("Dichiarazione IVA annuale", "Dichiarazione IVA", "periodo d'imposta"),
    "INAIL": ("Autoliquidazione premio INAIL", "Autoliquidazione premio INAIL", "retribuzioni"),
    "INAIL-DICH": (
        "Dichiarazione delle retribuzioni INAIL",
        "Dichiarazione delle retribuzioni INAIL",
        "retribuzioni",
    ),
}
_YEAR = re.compile(r"^\d{4}$")


def _later(old: str, now: datetime) -> str:
    """Now, or a minute past *old* if that is later (a store written by a clock ahead
    of this machine's): the SEQUENCE, in whole minutes, must grow."""
    at = max(now, datetime.fromisoformat(old).astimezone(UTC) + timedelta(minutes=1))
    return at.isoformat(timespec="seconds")


def run(conn: sqlite3.Connection) -> None:
    now = SystemClock().now().replace(microsecond=0)  # a migration has no injected clock
    marks = ",".join("?" * len(FORMS))
    # Latest period first: 2026 -> 2027 frees the key 2025 -> 2026 then takes, so no
    # UNIQUE (client, rule, period) or external_key is ever held twice mid-way.
    rows = conn.execute(
        "SELECT d.id, d.client_id, d.rule_id, d.period, d.updated_at, d.task_id,"
        " t.title, t.description, t.external_key, t.updated_at AS task_updated_at"
        f" FROM deadlines d JOIN tasks t ON t.id = d.task_id WHERE d.rule_id IN ({marks})"
        " ORDER BY d.period DESC, d.id",
        tuple(FORMS),
    ).fetchall()
    for (deadline_id, client_id, rule_id, period, updated_at, task_id,
         title, description, external_key, task_updated_at) in rows:  # fmt: skip
        if not _YEAR.match(period):  # never written by the scheduler: not ours to rename
            continue
        before, after, words = FORMS[rule_id]
        form_year = str(int(period) + 1)
        named = f"{form_year} ({words} {period})"
        conn.execute(
            "UPDATE deadlines SET period = ?, updated_at = ? WHERE id = ?",
            (form_year, _later(updated_at, now), deadline_id),
        )
        new_title = f"{after} {named}" if title == f"{before} {period}" else title
        if external_key == f"fiscal:{client_id}:{rule_id}:{period}":
            external_key = f"fiscal:{client_id}:{rule_id}:{form_year}"
        if description is not None:
            description = description.replace(
                f"Scadenza fiscale {rule_id} {period}.", f"Scadenza fiscale {rule_id} {named}."
            )
            description = re.sub(
                rf"(sempi scheduler explain \S+ {re.escape(rule_id)} ){period}\b",
                rf"\g<1>{form_year}",
                description,
            )
        task_at = _later(task_updated_at, now)
        conn.execute(
            "UPDATE tasks SET title = ?, description = ?, external_key = ?, updated_at = ?"
            " WHERE id = ?",
            (new_title, description, external_key, task_at, task_id),
        )
        if new_title != title:
            conn.execute(
                "INSERT INTO task_history (task_id, at, actor_id, action, field, old, new)"
                " VALUES (?, ?, NULL, 'edit', 'title', ?, ?)",
                (task_id, task_at, title, new_title),
            )
    overrides = conn.execute(
        f"SELECT rule_id, period FROM fiscal_overrides WHERE rule_id IN ({marks})"
        " ORDER BY period DESC",
        tuple(FORMS),
    ).fetchall()
    for rule_id, period in overrides:
        if _YEAR.match(period):
            conn.execute(
                "UPDATE fiscal_overrides SET period = ? WHERE rule_id = ? AND period = ?",
                (str(int(period) + 1), rule_id, period),
            )
