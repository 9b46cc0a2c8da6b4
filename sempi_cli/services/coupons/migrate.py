"""`coupon migrate`: move clients served conto terzi to the vendor's cloud product,
one migration coupon each, all of them or none (SPEC §7).

A client is refused, with its reason, when it bought its own licence, is already
activated with a coupon (that is the renewal's path, `coupon renew`), is not
served conto terzi, was removed, has no partita IVA, or has no e-mail and none
was given; and the whole command is refused when a practice has fewer
``migrazione`` coupons valid today than clients to migrate. Nothing is written
then: the refusal names every client and why.

Each migrated client gets its account's link (``coupon_accounts``: the e-mail,
the consultant who authorised the migration and when), a term of the Standard
read-only licence from today to the coupon's last day (31 December of its year),
and the ``credentials`` e-mail: username and address, never a password (sempi
never knows the vendor product's password; the client chooses it at the first
access, which `coupon first-access` records). A client whose link was ended
(`coupon unlink`) may be migrated anew: its account's row is replaced.

Everything happens in one ``BEGIN IMMEDIATE`` transaction: the coupons are
counted and drawn under the write lock, so two processes assigning the last
coupon cannot both have it. One query reads every client, one ``executemany``
writes each table: 5,000 clients are one command of a couple of seconds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import cast

from sempi_cli.clock import today_in_rome
from sempi_cli.errors import InvalidData, NotFound, PermissionDenied, RuleViolation, UsageProblem
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, audit, event_log, identifiers
from sempi_cli.services.base import Service
from sempi_cli.services.coupons import facts, packages, rules
from sempi_cli.services.coupons.accounts import AUDIT_OBJECT, account_url, product_base
from sempi_cli.services.text import listed_refusals, one_line
from sempi_cli.store.sql import listed

COLUMNS = ("client_id", "name", "email", "ends_on", "package_id")
MIGRATION_TYPES = ("migrazione",)
MAX_NAME = 100  # the consultant's name or surname
SHOWN_REFUSALS = 20  # clients named with their reason; the rest by id only


def refusal(row: sqlite3.Row, given_email: str | None) -> str | None:
    """Why ``row`` (a row of facts.FACTS) may not be migrated now, in the reader's
    words; None: it may."""
    if row["own_licence"]:
        return _(rules.OWN_LICENCE)
    if row["linked"] and row["unlinked_at"] is None:
        return _("already activated with a coupon on {day}: renew it with '{command}'").format(
            day=rules.italian(rules.rome_day(row["authorised_at"])),
            command="sempi coupon renew",
        )
    reason = rules.ineligible(cast(Mapping, row))  # a Row reads like a Mapping
    if reason is not None:
        return _(reason)
    if given_email is None and not row["client_email"]:
        return _("no e-mail: give --email")
    return None


class Consultant:
    """The consultant authorising the migration, validated: name and surname on one
    line, a person's codice fiscale with its check character (omocodia included)."""

    def __init__(self, name: str, surname: str, codice_fiscale: str) -> None:
        self.name = _required(name, "--consultant-name")
        self.surname = _required(surname, "--consultant-surname")
        self.cf = identifiers.codice_fiscale(codice_fiscale, person=True, field="--consultant-cf")


def _required(value: str, field: str) -> str:
    text = one_line(value, field, MAX_NAME)
    if not text:
        raise InvalidData(field, _("is empty"))
    return text


class CouponMigration(Service):
    """`coupon migrate`: one migration coupon per client, all clients or none."""

    def migrate(
        self,
        client_ids: Sequence[int],
        *,
        consultant_name: str,
        consultant_surname: str,
        consultant_cf: str,
        email: str | None = None,
        dry_run: bool = False,
    ) -> dict:
        """Migrate ``client_ids``. Returns {"dry_run", "migrated": [{client_id, name,
        email, ends_on, package_id, licence_id, mail_id}], "mails", "coupons_left"};
        with ``dry_run`` the same report, nothing written."""
        if not client_ids:
            raise UsageProblem(_("name at least one client to migrate"))
        consultant = Consultant(consultant_name, consultant_surname, consultant_cf)
        address = identifiers.email(email, field="--email") if email is not None else None
        if self.actor.role == "external":
            raise PermissionDenied(_("a client's user may not read the practice's coupons"))
        wanted = list(dict.fromkeys(int(i) for i in client_ids))
        result: dict = {}
        with self.rehearsal(dry_run):
            rows = self._clients(wanted)
            today = today_in_rome(self.clock).isoformat()
            refused = [(row, why) for row in rows if (why := refusal(row, address)) is not None]
            if refused:
                listed = listed_refusals(
                    [(row["id"], row["ragione_sociale"], why) for row, why in refused],
                    SHOWN_REFUSALS,
                )
                raise RuleViolation(
                    _("not migrated: {clients}").format(clients=listed),
                    _("nothing was migrated; no coupon was used"),
                )
            drawn = self._draw(rows, today)
            result = self._write(rows, drawn, consultant, address, today)
        result["dry_run"] = dry_run
        return result

    # --- reading ---------------------------------------------------------------------

    def _clients(self, wanted: list[int]) -> list[sqlite3.Row]:
        """Every client named, in the order given, in one query: each one the actor
        may see (else not found, as for an id that does not exist), of practices the
        actor administers (coupons are the practice's money)."""
        where, params = access.visible_clients(self.actor)
        found = {
            row["id"]: row
            for row in self.db.execute(
                f"{facts.FACTS} WHERE c.id IN ({listed(self.db, ':ids')}) AND {where}",
                {**params, "ids": json.dumps(wanted)},
            )
        }
        for client_id in wanted:
            if client_id not in found:
                raise NotFound(_("client {client} not found").format(client=client_id))
        for studio_id in sorted({row["studio_id"] for row in found.values()}):
            access.require_practice_admin(self.actor, studio_id, _("spend its coupons"))
        return [found[client_id] for client_id in wanted]

    def _draw(self, rows: list[sqlite3.Row], today: str) -> list[tuple[int, str]]:
        """One coupon per client from its own practice's packages, in the clients'
        order; the first practice short of coupons refuses the whole command."""
        by_studio: dict[int, list[int]] = {}
        for n, row in enumerate(rows):
            by_studio.setdefault(row["studio_id"], []).append(n)
        drawn: list[tuple[int, str]] = [(0, "")] * len(rows)
        for studio_id, positions in by_studio.items():
            try:
                coupons = packages.draw(self.db, studio_id, MIGRATION_TYPES, today, len(positions))
            except RuleViolation as exc:
                name = self._studio_names([studio_id])[studio_id]
                raise RuleViolation(f"{name}: {exc.message}", exc.hint) from None
            for n, coupon in zip(positions, coupons, strict=True):
                drawn[n] = coupon
        return drawn

    def _studio_names(self, studio_ids: Sequence[int]) -> dict[int, str]:
        return dict(
            self.db.execute(
                f"SELECT id, name FROM studios WHERE id IN ({listed(self.db, '?')})",
                (json.dumps(list(studio_ids)),),
            ).fetchall()
        )

    # --- writing ---------------------------------------------------------------------

    def _write(
        self,
        rows: list[sqlite3.Row],
        drawn: list[tuple[int, str]],
        consultant: Consultant,
        address: str | None,
        today: str,
    ) -> dict:
        from sempi_cli.services.mail.outbox import queue_many

        db, now, actor_id = self.db, self.now(), self.actor.id
        studios = self._studio_names(sorted({row["studio_id"] for row in rows}))
        base = product_base(db)
        first = int(
            db.execute("SELECT coalesce(max(id), 0) + 1 FROM coupon_licences").fetchone()[0]
        )
        migrated = [
            {
                "client_id": row["id"],
                "name": row["ragione_sociale"],
                "email": address or identifiers.email(row["client_email"], field="email"),
                "ends_on": until,
                "package_id": package_id,
                "licence_id": first + n,
                "replaced": bool(row["linked"]),
                "studio_id": row["studio_id"],
            }
            for n, (row, (package_id, until)) in enumerate(zip(rows, drawn, strict=True))
        ]
        db.executemany(
            "INSERT INTO coupon_accounts (client_id, email, consultant_name, consultant_surname,"
            " consultant_cf, authorised_at, authorised_by) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (client_id) DO UPDATE SET email = excluded.email,"
            " consultant_name = excluded.consultant_name,"
            " consultant_surname = excluded.consultant_surname,"
            " consultant_cf = excluded.consultant_cf, authorised_at = excluded.authorised_at,"
            " authorised_by = excluded.authorised_by, unlinked_at = NULL, unlinked_by = NULL,"
            " first_access_at = NULL, documents = 0, contacts = 0, usage_at = NULL,"
            " documents_notified = 0, contacts_notified = 0",
            (
                (m["client_id"], m["email"], consultant.name, consultant.surname, consultant.cf, now, actor_id)
                for m in migrated
            ),
        )  # fmt: skip
        db.executemany(
            "INSERT INTO coupon_licences (id, client_id, package_id, how, licence, starts_on,"
            " ends_on, created_at, created_by) VALUES (?, ?, ?, 'migration', ?, ?, ?, ?, ?)",
            (
                (m["licence_id"], m["client_id"], m["package_id"], rules.COUPON_LICENCE, today, m["ends_on"], now, actor_id)
                for m in migrated
            ),
        )  # fmt: skip
        mail_ids = queue_many(
            db,
            now,
            actor_id,
            "credentials",
            [
                (
                    m["email"],
                    {
                        "full_name": m["name"],
                        "client": m["name"],
                        "studio": studios[m["studio_id"]],
                        "email": m["email"],
                        "ends_on": rules.italian(m["ends_on"]),
                        "url": account_url(base, m["email"]),
                    },
                    m["client_id"],
                    m["studio_id"],
                )
                for m in migrated
            ],
        )
        for m, mail_id in zip(migrated, mail_ids, strict=True):
            m["mail_id"] = mail_id
        # No e-mail or codice fiscale in the append-only log: personal data could
        # never be erased from there.
        audit.record_many(
            db,
            now,
            actor_id,
            (
                ("migrate", AUDIT_OBJECT, m["client_id"],
                 {k: m[k] for k in ("licence_id", "package_id", "ends_on", "mail_id", "replaced")})
                for m in migrated
            ),
        )  # fmt: skip
        # The account's e-mail stays out, as in the audit log: an event outlives an erasure.
        event_log.record_many(
            db, self.clock, self.actor, "coupon.migrated",
            (
                (m["client_id"], m["client_id"], None,
                 {k: m[k] for k in ("licence_id", "package_id", "ends_on", "replaced")})
                for m in migrated
            ),
        )  # fmt: skip
        left = sum(
            n
            for studio_id in studios
            for _package, n in packages.coupons_left(db, studio_id, MIGRATION_TYPES, today)
        )
        for m in migrated:
            del m["studio_id"]
        return {"migrated": migrated, "mails": len(mail_ids), "coupons_left": left}
