"""Who may reach a client's SMART services now: the one rule (SPEC §6, issue 15,
"Access, enforced"), asked by `smart open`, `smart list` and `consent check`.

A person reaches a client's SMART services with the *practice's* credentials, so
every case needs the client's practice to have its option on and the client's
latest answer to be yes (the latest by id: the ledger's order, the later rules).
On top of that:

- the practice administrator: a client of their own practice; no membership;
- a practice operator: the option extended to operators, and the operator
  manages the client (a member of its work group, within their practice);
- a firm administrator acts for the practice as its administrator would: the
  option and the consent, no membership;
- firm staff act for the practice as its operators do: the option extended to
  operators, and a member of the client's work group (a practice that keeps
  the option to its administrator keeps it from the firm's staff too);
- an external user never: the client reaches its own services directly.

``reach`` answers for one client; ``reachable_sql`` is the same rule as one
query over many (`smart list` of an operator managing thousands of clients).
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from sempi_cli.errors import InvalidData, NotFound, PermissionDenied
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.consent.options import option_of

if TYPE_CHECKING:
    from sempi_cli.services.access import Actor

# The address the practice's e-invoicing suite answers for a client's service:
# {base}/{service}?client={partita IVA, else codice fiscale}, the base the firm's
# setting smart.base_url (default https://smart.example). Stable: scripts and
# bookmarks keep it.

# The reasons a refusal gives (the stable first words; "refused on" adds the day):
# English in JSON for scripts, put into words for people by ``reason_words``.
OPTION_OFF = N_("option off")
NOT_FOR_OPERATORS = N_("not extended to operators")
NOT_MANAGED = N_("not managed")
NO_CONSENT = N_("no consent")
REFUSED = "refused on"
OTHER_PRACTICE = N_("another practice")
EXTERNAL = N_("external users reach their services directly")
NO_SERVICE = N_("no active SMART service")
REMOVED = N_("client removed")
DISABLED = N_("user disabled")


def reason_words(reason: str | None) -> str:
    """A refusal's reason as people read it, in their language (the reason in JSON
    stays as it is). The day of "refused on" is the ISO day in English, as it has
    always been written, and dd/mm/yyyy in Italian."""
    from sempi_cli import i18n

    if not reason:
        return ""
    if reason.startswith(REFUSED + " "):
        day = reason[len(REFUSED) + 1 :]
        if i18n.current() != "en" and len(day) == 10:
            day = f"{day[8:10]}/{day[5:7]}/{day[:4]}"
        return _("refused on {day}").format(day=day)
    return _(reason)


def smart_url(base: str, client: sqlite3.Row | dict, service: str) -> str:
    key = client["partita_iva"] or client["codice_fiscale"]
    return f"{base}/{service}?client={key}"


def latest_answer(
    db: sqlite3.Connection, client_id: int, before: str | None = None
) -> sqlite3.Row | None:
    """The answer that rules (now, or at instant ``before`` in storage form)."""
    if before is None:
        return db.execute(
            "SELECT * FROM consent_answers WHERE client_id = ? ORDER BY id DESC LIMIT 1",
            (client_id,),
        ).fetchone()
    return db.execute(
        "SELECT * FROM consent_answers WHERE client_id = ? AND answered_at <= ?"
        " ORDER BY id DESC LIMIT 1",
        (client_id, before),
    ).fetchone()


def consent_reason(answer: sqlite3.Row | None) -> str | None:
    """None when the answer is yes; else why not."""
    if answer is None:
        return NO_CONSENT
    if answer["answer"] == "yes":
        return None
    return f"{REFUSED} {answer['answered_at'][:10]}"


def _member(db: sqlite3.Connection, client_id: int, user_id: int) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM work_group_members WHERE client_id = ? AND user_id = ?",
            (client_id, user_id),
        ).fetchone()
        is not None
    )


def reach(
    db: sqlite3.Connection, actor: Actor | sqlite3.Row, client: sqlite3.Row
) -> tuple[bool, str | None]:
    """(True, None) when ``actor`` may reach ``client``'s SMART services now; else
    (False, the reason). ``actor`` is anything with id, role and studio_id (an
    Actor, or a user's row for `consent check`)."""
    role, studio_id = _get(actor, "role"), _get(actor, "studio_id")
    if client["removed_at"] is not None:
        return False, REMOVED
    if role == "external":
        return False, EXTERNAL
    if role in ("studio-admin", "studio-operator") and studio_id != client["studio_id"]:
        return False, OTHER_PRACTICE
    if not json.loads(client["smart_services"]):
        return False, NO_SERVICE
    option = option_of(db, client["studio_id"])
    if not option["enabled"]:
        return False, OPTION_OFF
    if role in ("studio-operator", "staff"):
        if not option["operators"]:
            return False, NOT_FOR_OPERATORS
        if not _member(db, client["id"], _get(actor, "id")):
            return False, NOT_MANAGED
    reason = consent_reason(latest_answer(db, client["id"]))
    return reason is None, reason


def _get(actor: object, name: str):
    return actor[name] if hasattr(actor, "keys") else getattr(actor, name)  # type: ignore[index]


def reachable_sql(actor: Actor, alias: str = "c") -> tuple[str, dict]:
    """SQL predicate over ``clients AS alias``: the clients whose SMART services the
    actor may reach now; ``reach`` as one query. Each client's latest answer is one
    lookup in consent_answers_client (client_id, id)."""
    params = {"actor_id": actor.id, "actor_studio": actor.studio_id}
    parts = [
        f"{alias}.removed_at IS NULL",
        f"{alias}.smart_services <> '[]'",
        "(SELECT a.answer FROM consent_answers a WHERE a.client_id = "
        f"{alias}.id ORDER BY a.id DESC LIMIT 1) = 'yes'",
    ]
    option = f"o.studio_id = {alias}.studio_id AND o.enabled = 1"
    if actor.role == "external":
        return "FALSE", params
    if actor.role == "studio-admin":
        parts.append(f"{alias}.studio_id = :actor_studio")
    if actor.role == "studio-operator":
        # The unary plus keeps the planner off the practice's index: an operator's
        # work groups (a few thousand) are fewer than the practice's clients.
        parts.append(f"+{alias}.studio_id = :actor_studio")
    if actor.role in ("studio-operator", "staff"):
        option += " AND o.operators = 1"
        parts.append(
            f"{alias}.id IN (SELECT client_id FROM work_group_members WHERE user_id = :actor_id)"
        )
    parts.append(f"EXISTS (SELECT 1 FROM smart_options o WHERE {option})")
    return "(" + " AND ".join(parts) + ")", params


class SmartService(Service):
    """`smart list`, `smart open` and `consent check`: the rule above, applied."""

    def reachable(self) -> list[dict]:
        """The clients whose SMART services the actor may reach now, by name."""
        where, params = reachable_sql(self.actor)
        rows = self.db.execute(
            "SELECT c.id, c.ragione_sociale, c.partita_iva, c.codice_fiscale, c.smart_services"
            f" FROM clients c WHERE {where} ORDER BY c.ragione_sociale COLLATE NOCASE, c.id",
            params,
        ).fetchall()
        return [
            {
                "client_id": r["id"],
                "client": r["ragione_sociale"],
                "services": json.loads(r["smart_services"]),
            }
            for r in rows
        ]

    def open(self, client_id: int, service: str | None = None) -> list[dict]:
        """The address of the client's service (of each active one, without
        ``service``); the access is recorded in the audit log. Refused: PermissionDenied
        with the reason. A client the actor may not see is not found."""
        from sempi_cli.services.clients.input import SMART_SERVICES

        if service is not None and service not in SMART_SERVICES:
            raise InvalidData(
                "SERVICE",
                _("{service} is not a SMART service").format(service=repr(service)),
                _("use {choices}").format(choices=", ".join(SMART_SERVICES)),
            )
        with self.transaction():  # the check and the audit under one lock: no revocation between
            client = access.client_row(self.db, self.actor, client_id)
            active = json.loads(client["smart_services"])
            if service is not None and service not in active:
                raise NotFound(
                    _("client {client} has no active {service}").format(
                        client=client_id, service=service
                    )
                )
            allowed, reason = reach(self.db, self.actor, client)
            if not allowed:
                raise PermissionDenied(
                    _("you may not reach the SMART services of client {client}: {reason}").format(
                        client=client_id, reason=reason_words(reason)
                    )
                )
            services = [service] if service is not None else active
            self.audit("open", "smart", client_id, services=services)
        from sempi_cli.services import settings

        base = settings.get(self.db, "smart.base_url")
        return [
            {"client_id": client_id, "service": name, "url": smart_url(base, client, name)}
            for name in services
        ]

    def check(self, user_ref: str, client_id: int) -> dict:
        """May ``user_ref`` reach the client's SMART services now, and why not. For
        firm administrators and a practice's administrator (its people and clients);
        anyone may ask about themselves."""
        from sempi_cli.services.identity.accounts import find_user

        user = find_user(self.db, self.actor, user_ref)
        if user["id"] != self.actor.id and self.actor.role not in ("firm-admin", "studio-admin"):
            raise PermissionDenied(_("only administrators check another person's access"))
        client = access.client_row(self.db, self.actor, client_id)
        reason: str | None = DISABLED
        allowed = False
        if user["disabled_at"] is None:
            allowed, reason = reach(self.db, user, client)
        return {
            "user": user["email"],
            "client_id": client_id,
            "allowed": allowed,
            "answer": "yes" if allowed else "no",
            "reason": reason,
        }
