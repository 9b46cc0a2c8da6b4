"""Personal data of a client (GDPR): export everything the store holds, and erase
what the law does not require the firm to keep.

The right to erasure (art. 17 GDPR) yields to a legal duty to keep data
(art. 17(3)(b)): accounting records and what supports them are kept for ten
years (art. 2220 c.c.; art. 22 DPR 600/1973), so an erasure keeps the client's
identity for the books and its fiscal profile for the deadlines, and removes
the contacts, the nickname, the SMART services and the client's external
users' personal data, the text of their chat messages included, and the
e-mail and PEC from the values of its documents sent for signature (the
documents and their evidence stay: signing/personal.py says why). Both acts are limited to those who may remove the
client, refuse application passwords and ask for the password (and code)
again, after every other check has passed.

This module writes no table of another area directly: the client's and its
users' rows change through functions of clients/clients.py and
identity/accounts.py made for this, memberships through GroupService,
credentials through auth and recovery.
"""

from __future__ import annotations

import json
import sqlite3

from sempi_cli.errors import InvalidData, RuleViolation
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.identity.auth import Confirm, require_reauthentication

EXPORT_FORMAT = "sempi-client-export/1"
ERASED_FIELDS = ("email", "pec", "nickname", "smart_services")
KEPT_FIELDS = ("ragione_sociale", "codice_fiscale", "partita_iva", "fiscal_profile")
# In the record and the audit log as it is; translated where a person reads it.
LEGAL_NOTE = N_(
    "kept: ragione_sociale, codice_fiscale, partita_iva, fiscal profile"
    " \u2014 art. 2220 c.c., art. 22 DPR 600/1973"
)
REASON_MAX = 500


def export_text(data: dict) -> str:
    """The export as bytes-stable text: sorted keys, two-space indent, UTF-8, one final newline.

    Same store content and same clock give the same text, so a copy can be
    checked against a new export with a checksum."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


class PrivacyService(Service):
    # --- checks shared by both acts ---------------------------------------------

    def _manageable(self, client_id: int, what: str) -> sqlite3.Row:
        """The client, if the actor may see it (else NotFound) and act on all of it;
        ``what`` (marked N_) is the act a refusal names, before "client N"."""
        row = access.client_row(self.db, self.actor, client_id)
        access.require_client_owner(self.actor, row, what)
        return row

    def _erasure(self, client_id: int) -> sqlite3.Row | None:
        """The audit entry of an earlier erasure: the append-only log is the record."""
        return self.db.execute(
            "SELECT id, at FROM audit_log WHERE object_type = 'client' AND object_id = ?"
            " AND action = 'erase' ORDER BY id LIMIT 1",
            (client_id,),
        ).fetchone()

    def _externals(self, client_id: int) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM users WHERE client_id = ? AND role = 'external' ORDER BY id",
            (client_id,),
        ).fetchall()

    # --- export -------------------------------------------------------------------

    def export(self, client_id: int, confirm: Confirm | None) -> dict:
        """Everything the store holds about a client, for the data subject (access,
        portability) or a handover. The export is audited; its content is not."""
        self._manageable(client_id, N_("export the data of"))
        require_reauthentication(
            self.actor, confirm, self.clock.now(), N_("export a client's data")
        )
        # One write transaction: the reads form one snapshot, and the audit
        # entry exists if and only if the data was read.
        with self.transaction():
            data = self._collect(client_id)
            self.audit(
                "export",
                "client",
                client_id,
                format=EXPORT_FORMAT,
                work_group_members=len(data["work_group"]),
                external_users=len(data["external_users"]),
                documents=len(data["documents"]),
                activity_entries=len(data["activity"]),
            )
        return data

    def _collect(self, client_id: int) -> dict:
        from sempi_cli.services.chat import personal as chat_personal
        from sempi_cli.services.clients.clients import ClientService
        from sempi_cli.services.documents.documents import DocumentService
        from sempi_cli.services.documents.folders import FolderService
        from sempi_cli.services.onboarding.onboard import delegations_of, modules_of
        from sempi_cli.services.org.groups import GroupService
        from sempi_cli.services.signing import personal as signing_personal

        client = ClientService(self.db, self.clock, self.actor).show(client_id)
        practice = self.db.execute(
            "SELECT id, name FROM studios WHERE id = ?", (client["studio_id"],)
        ).fetchone()
        responsible = self.db.execute(
            "SELECT id, email, full_name FROM users WHERE id = ?", (client["responsible_id"],)
        ).fetchone()
        members = sorted(
            GroupService(self.db, self.clock, self.actor).members(client_id),
            key=lambda m: m["user_id"],
        )
        externals = [
            {
                "id": u["id"],
                "email": u["email"],
                "full_name": u["full_name"],
                "codice_fiscale": u["codice_fiscale"],
                "two_step": u["otp_enabled_at"] is not None,
                "created_at": u["created_at"],
                "updated_at": u["updated_at"],
                "disabled_at": u["disabled_at"],
                # What they wrote in the chats, with the earlier texts of their edits.
                "messages": chat_personal.messages_of(self.db, u["id"]),
            }
            for u in self._externals(client_id)
        ]
        # Earlier exports are left out: they record copies made, not data about
        # the client, and leaving them out keeps two exports of the same data
        # identical byte for byte.
        activity = []
        for row in self.db.execute(
            "SELECT a.id, a.at, a.actor_id, u.email AS actor, a.action, a.object_type,"
            " a.object_id, a.details FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id"
            " WHERE a.object_type IN ('client', 'work_group') AND a.object_id = ?"
            " AND a.action <> 'export' ORDER BY a.id",
            (client_id,),
        ):
            item = dict(row)
            item["details"] = json.loads(item["details"])
            activity.append(item)
        modules = modules_of(self.db, [client_id]).get(client_id)
        delegations = delegations_of(self.db, [client_id]).get(client_id, {})
        return {
            "format": EXPORT_FORMAT,
            "exported_at": self.now(),
            "client": client,
            "practice": dict(practice),
            "responsible": dict(responsible) if responsible else None,
            "work_group": members,
            "external_users": externals,
            # None: recorded before onboarding existed, every module (see m009).
            "modules": list(modules) if modules is not None else None,
            "delegations": [
                {"kind": d.kind, "reference": d.reference, "valid_until": d.valid_until}
                for d in delegations.values()
            ],
            "folders": [
                {"id": f["id"], "path": f["path"]}
                for f in FolderService(self.db, self.clock, self.actor).list(client_id)
            ],
            # The index, not the contents: `sempi doc get` gives each document's bytes,
            # and their SHA-256 here proves a copy is the one the store holds.
            "documents": sorted(
                DocumentService(self.db, self.clock, self.actor).list(client_id, removed=True),
                key=lambda d: d["id"],
            ),
            # Documents sent for signature: the values they were filled with, and who signed.
            "signatures": signing_personal.requests_of(self.db, client_id),
            "activity": activity,
        }

    # --- erasure -------------------------------------------------------------------

    def erasure_plan(self, client_id: int, reason: str | None) -> dict:
        """What ``erase`` would do, after every check but the password: for a
        confirmation question and ``--dry-run``. Reads only."""
        row = self._manageable(client_id, N_("erase the personal data of"))
        reason = _reason(reason)
        earlier = self._erasure(client_id)
        if earlier is not None:
            raise RuleViolation(
                _("the personal data of client {client} was already erased on {at}").format(
                    client=client_id, at=_when(earlier["at"])
                )
            )
        return {
            "client_id": row["id"],
            "ragione_sociale": row["ragione_sociale"],
            "erase": list(ERASED_FIELDS),
            "external_users": [u["id"] for u in self._externals(client_id)],
            "keep": list(KEPT_FIELDS),
            "legal_basis": LEGAL_NOTE,
            "reason": reason,
            "remove": row["removed_at"] is None,
        }

    def erase(self, client_id: int, confirm: Confirm | None, reason: str | None) -> dict:
        """Erase the client's personal data that the law does not require, keep the
        rest with the reason, disable and anonymise its external users, and mark
        the client removed. Irreversible; audited without the erased values."""
        from sempi_cli.services.chat import personal as chat_personal
        from sempi_cli.services.clients import clients
        from sempi_cli.services.clients.clients import ClientService
        from sempi_cli.services.identity import accounts, recovery
        from sempi_cli.services.identity.auth import revoke_credentials
        from sempi_cli.services.mail import outbox as mail
        from sempi_cli.services.notify import centre as inbox
        from sempi_cli.services.org.groups import GroupService
        from sempi_cli.services.signing import personal as signing_personal

        plan = self.erasure_plan(client_id, reason)
        require_reauthentication(
            self.actor, confirm, self.clock.now(), N_("erase a client's personal data")
        )
        group_service = GroupService(self.db, self.clock, self.actor)
        with self.transaction():
            # Again under the write lock: two erasures started at once.
            if self._erasure(client_id) is not None:
                raise RuleViolation(
                    _("the personal data of client {client} was already erased").format(
                        client=client_id
                    )
                )
            before = self.db.execute("SELECT * FROM clients WHERE id = ?", (client_id,)).fetchone()
            externals = self._externals(client_id)
            erased_values = _values(before, externals)
            now = self.now()
            erased_users = []
            addresses = [
                a for a in (before["email"], before["pec"], *(u["email"] for u in externals)) if a
            ]
            mail.erase_personal_data(self.db, client_id, addresses, self.clock.now())
            for user in externals:
                for (group_id,) in self.db.execute(
                    "SELECT client_id FROM work_group_members WHERE user_id = ? ORDER BY client_id",
                    (user["id"],),
                ).fetchall():
                    group_service.remove_member(group_id, user["id"])
                names = [user["full_name"], user["email"]]
                messages = chat_personal.erase(self.db, user["id"], names, now)
                inbox.erase_person(self.db, user["id"], names)
                accounts.erase_personal_data(self.db, user["id"], now)
                revoked = revoke_credentials(self.db, user["id"], now)
                recovery.discard(self.db, user["id"], now)
                self.audit(
                    "erase", "user", user["id"], client_id=client_id, messages=messages, **revoked
                )
                erased_users.append(user["id"])
            clients.erase_personal_fields(self.db, client_id, now)
            signed = signing_personal.erase(self.db, client_id)
            if before["removed_at"] is None:
                ClientService(self.db, self.clock, self.actor).set_removed(client_id, True)
            self.audit(
                "erase",
                "client",
                client_id,
                reason=plan["reason"],
                legal_note=LEGAL_NOTE,
                erased=list(ERASED_FIELDS),
                external_users=erased_users,
                signature_requests=signed,
            )
            removed_at = self.db.execute(
                "SELECT removed_at FROM clients WHERE id = ?", (client_id,)
            ).fetchone()[0]
            lingering = self._log_entries_naming(erased_values)
        self._checkpoint()
        return {
            "client_id": client_id,
            "ragione_sociale": before["ragione_sociale"],
            "erased": list(ERASED_FIELDS),
            "external_users_erased": erased_users,
            "kept": list(KEPT_FIELDS),
            "legal_basis": LEGAL_NOTE,
            "reason": plan["reason"],
            "erased_at": now,
            "removed_at": removed_at,
            "log_entries_naming_erased_values": lingering,
        }

    def _log_entries_naming(self, values: list[str]) -> int:
        """Earlier audit entries that still hold an erased address or code (e.g. the
        old and new e-mail of a `client edit`, an external user's e-mail at
        creation): the log is append-only, so they stay, and the person erasing
        is told how many there are."""
        if not values:
            return 0
        # audit.record writes JSON with ASCII escapes: look for the same form.
        needles = [json.dumps(v)[1:-1] for v in values]
        clause = " OR ".join("instr(details, ?) > 0" for _needle in needles)
        return self.db.execute(
            f"SELECT count(*) FROM audit_log WHERE {clause}", needles
        ).fetchone()[0]

    def _checkpoint(self) -> None:
        """Copy the erasure into the main file and empty the write-ahead log now,
        rather than at the next automatic checkpoint: until then the old page
        images, erased values included, are still in the -wal file. Best effort:
        a reader in another process can keep some frames alive, and SQLite then
        finishes the job at a later checkpoint."""
        from sempi_cli.store import checkpoint

        checkpoint(self.db)


def _reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidData(
            "--reason",
            _("an erasure needs its reason"),
            _("e.g. --reason 'request of the data subject, PEC of 3 November 2026'"),
        )
    if len(text) > REASON_MAX:
        raise InvalidData("--reason", _("at most {n} characters").format(n=REASON_MAX))
    return text


def _values(client: sqlite3.Row, externals: list[sqlite3.Row]) -> list[str]:
    """The erased values worth looking for in the log afterwards: addresses and
    codici fiscali. Names and nicknames are left out: "Bianchi" would also match
    a ragione sociale that is kept, and the count would mislead."""
    values = [client["email"], client["pec"]]
    for user in externals:
        values += [user["email"], user["codice_fiscale"]]
    return sorted({v for v in values if v})


def _when(iso: str) -> str:
    """A stored day or instant in a sentence: ISO in English, as it always showed,
    as Italians write it in Italian (16/11/2026 10:30, Rome time)."""
    from sempi_cli.i18n import current
    from sempi_cli.output import for_people

    return iso if current() == "en" else str(for_people(iso))
