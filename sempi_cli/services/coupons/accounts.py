"""The operations on a migrated client's account in the vendor's product (SPEC §7):
`coupon nickname`, `unlink`, `upgrade`, `open`, `first-access`, `export`.

Who may: whoever sees the client reads and labels it (nickname, open, first
access, export); what costs the practice money or ends its link (unlink, upgrade)
is for the practice's administrator or a firm administrator. A client's own user
sees no coupon at all.

An unlinked client keeps its terms: the coupon is not returned and the licence
lapses at its expiry. An upgrade moves an active licence to the Complete one,
with a coupon (a term from today to the coupon's last day) or bought by the client
(to 31 December; the client then counts as own-licence and no coupon serves it
again). `open` gives the consultant the account's address in the product (the
firm setting ``coupons.product_url``) and records the access; sempi never knows
the product's password, so the address names the user and nothing else.
"""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import quote

from sempi_cli.clock import today_in_rome
from sempi_cli.errors import InvalidData, RuleViolation, UsageProblem
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.coupons import facts, packages, rules
from sempi_cli.services.text import one_line
from sempi_cli.store.sql import listed

# Every action on a client's account is logged against the client's id (the
# account's key); the terms a renewal writes are logged as coupon_licence rows.
AUDIT_OBJECT = "coupon_account"
PRODUCT_URL_SETTING = "coupons.product_url"
MAX_NICKNAME = 64
ACCOUNT_COLUMNS = ("client_id", "name", "nickname", "email", "state", "licence", "ends_on")
# `coupon export --format csv`: one row per term, the client's columns repeated.
EXPORT_COLUMNS = (
    "client_id",
    "client",
    "partita_iva",
    "codice_fiscale",
    "nickname",
    "account_email",
    "state",
    "consultant_name",
    "consultant_surname",
    "consultant_cf",
    "authorised_at",
    "first_access_at",
    "unlinked_at",
    "documents",
    "documents_limit",
    "documents_percent",
    "contacts",
    "contacts_limit",
    "contacts_percent",
    "term_id",
    "how",
    "licence",
    "starts_on",
    "ends_on",
    "package_id",
    "package_type",
)


def product_base(db: sqlite3.Connection) -> str:
    from sempi_cli.services import settings

    return settings.get(db, PRODUCT_URL_SETTING)


def account_url(base: str, email: str) -> str:
    """The account's page in the vendor's product: its user named, nothing secret."""
    return f"{base}/accesso?utente={quote(email, safe='')}"


def usage_of(row: sqlite3.Row | dict) -> list[dict]:
    """Documents and contacts against the Complete licence's limits."""
    return [
        {
            "measure": measure,
            "used": row[measure] or 0,
            "limit": limit,
            "percent": round(100 * (row[measure] or 0) / limit, 1),
        }
        for measure, limit in rules.LIMITS.items()
    ]


class CouponAccounts(Service):
    """The operations on a migrated client's account."""

    # --- labels and records: whoever sees the client --------------------------------

    def nickname(self, client_id: int, name: str) -> dict:
        """The practice's label for the account (one line, at most 64 characters);
        an empty ``name`` clears it."""
        nickname = one_line(name, "NAME", MAX_NICKNAME) or None
        with self.transaction():
            row = facts.client_facts(self.db, self.actor, client_id)
            if not row["linked"]:
                raise RuleViolation(
                    _("client {client} ({name}) has no coupon account").format(
                        client=client_id, name=row["ragione_sociale"]
                    ),
                    _("migrate it first with '{command}'").format(command="sempi coupon migrate"),
                )
            self.db.execute(
                "UPDATE coupon_accounts SET nickname = ? WHERE client_id = ?",
                (nickname, client_id),
            )
            # The nickname is the practice's text: the log says it changed, not to what.
            self.audit("nickname", AUDIT_OBJECT, client_id, cleared=nickname is None)
        return self.show(client_id)

    def first_access(self, client_id: int) -> dict:
        """Record that the client accessed the product and chose its password."""
        with self.transaction():
            row = self._linked(client_id, _("record its first access"))
            if row["first_access_at"] is not None:
                raise RuleViolation(
                    _(
                        "the first access of client {client} ({name}) was already recorded on {day}"
                    ).format(
                        client=client_id,
                        name=row["ragione_sociale"],
                        day=rules.italian(rules.rome_day(row["first_access_at"])),
                    )
                )
            self.db.execute(
                "UPDATE coupon_accounts SET first_access_at = ? WHERE client_id = ?",
                (self.now(), client_id),
            )
            self.audit("first_access", AUDIT_OBJECT, client_id)
        return self.show(client_id)

    def open(self, client_id: int) -> dict:
        """The account's address in the product, for the consultant; the access is
        recorded, under the same lock as the check (no unlink in between)."""
        with self.transaction():
            row = self._linked(client_id, _("open it"))
            self.audit("open", AUDIT_OBJECT, client_id)
        email = row["account_email"]
        return {
            "client_id": client_id,
            "name": row["ragione_sociale"],
            "email": email,
            "url": account_url(product_base(self.db), email),
        }

    # --- the practice's decisions: its administrator or a firm administrator --------

    def unlink(self, client_id: int) -> dict:
        """End the link: the coupon is not returned, the licence lapses at its expiry,
        and the client may be migrated anew."""
        with self.transaction():
            row = self._linked(client_id, _("unlink it"))
            access.require_practice_admin(self.actor, row["studio_id"], _("unlink its clients"))
            self.db.execute(
                "UPDATE coupon_accounts SET unlinked_at = ?, unlinked_by = ? WHERE client_id = ?",
                (self.now(), self.actor.id, client_id),
            )
            self.audit("unlink", AUDIT_OBJECT, client_id, ends_on=row["ends_on"])
        return self.show(client_id)

    def upgrade(
        self, client_id: int, *, coupon: str | None = None, purchased: bool = False
    ) -> dict:
        """Move an active licence to the Complete one: with a coupon of type
        ``coupon`` (valid through today and through the current term's end, so the
        upgrade covers it) or bought by the client (``purchased``: to 31 December;
        the client then counts as own-licence)."""
        if (coupon is None) == (not purchased):
            raise UsageProblem(_("give --coupon TYPE or --purchased, one of the two"))
        if coupon is not None and coupon not in rules.TYPES:
            raise InvalidData(
                "--coupon",
                _("{kind} is not a coupon type").format(kind=repr(coupon)),
                _("use {choices}").format(choices=", ".join(rules.TYPES)),
            )
        with self.transaction():
            row = facts.client_facts(self.db, self.actor, client_id)
            access.require_practice_admin(self.actor, row["studio_id"], _("upgrade its licences"))
            today = today_in_rome(self.clock)
            state, words = facts.state_of(row, today.isoformat())
            if state != "active":
                from sempi_cli import i18n

                def day(iso: str) -> str:  # English has always written it ISO here
                    return iso if i18n.current() == "en" else rules.italian(iso)

                raise RuleViolation(
                    _("client {client} ({name}): its licence is not active ({state})").format(
                        client=client_id,
                        name=row["ragione_sociale"],
                        state=rules.state_words(state, words, row["ends_on"], day),
                    )
                )
            if row["licence"] == rules.HIGHER_LICENCE:
                raise RuleViolation(
                    _("client {client} ({name}) is already on the {licence} licence").format(
                        client=client_id, name=row["ragione_sociale"], licence=rules.HIGHER_LICENCE
                    )
                )
            now = self.now()
            if coupon is not None:
                through = max(today.isoformat(), row["ends_on"])
                [(package_id, ends_on)] = packages.draw(
                    self.db, row["studio_id"], (coupon,), through, 1
                )
                how: str = "upgrade"
            else:
                from sempi_cli.services.clients.bulk import update_fields

                package_id, ends_on, how = None, rules.year_end(today.year), "purchased"
                update_fields(self.db, client_id, {"own_licence": 1}, now)
            licence_id = self.db.execute(
                "INSERT INTO coupon_licences (client_id, package_id, how, licence, starts_on,"
                " ends_on, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    client_id,
                    package_id,
                    how,
                    rules.HIGHER_LICENCE,
                    today.isoformat(),
                    ends_on,
                    now,
                    self.actor.id,
                ),
            ).fetchone()[0]
            self.audit(
                "upgrade",
                AUDIT_OBJECT,
                client_id,
                licence_id=licence_id,
                how=how,
                package_id=package_id,
                ends_on=ends_on,
            )
        return {**self.show(client_id), "how": how, "package_id": package_id}

    # --- reading ---------------------------------------------------------------------

    def show(self, client_id: int) -> dict:
        row = facts.client_facts(self.db, self.actor, client_id)
        state, _words = facts.state_of(row, today_in_rome(self.clock).isoformat())
        return {
            "client_id": row["id"],
            "name": row["ragione_sociale"],
            "nickname": row["nickname"],
            "email": row["account_email"],
            "state": state,
            "licence": row["licence"],
            "ends_on": row["ends_on"],
            "first_access_at": row["first_access_at"],
            "unlinked_at": row["unlinked_at"],
        }

    def export(self, client_id: int) -> dict:
        """The client's licence record: client, account (no secret: sempi holds none),
        consultant, state; every term with its package and how it came; the coupon
        actions of the activity log; usage against the limits."""
        row = facts.client_facts(self.db, self.actor, client_id)
        db = self.db
        state, words = facts.state_of(row, today_in_rome(self.clock).isoformat())
        account = db.execute(
            "SELECT consultant_name, consultant_surname, consultant_cf, authorised_by,"
            " unlinked_by FROM coupon_accounts WHERE client_id = ?",
            (client_id,),
        ).fetchone()
        terms = [
            dict(t)
            for t in db.execute(
                "SELECT l.id, l.how, l.licence, l.starts_on, l.ends_on, l.package_id,"
                " p.type AS package_type, l.created_at, l.created_by"
                " FROM coupon_licences l LEFT JOIN coupon_packages p ON p.id = l.package_id"
                " WHERE l.client_id = ? ORDER BY l.starts_on, l.id",
                (client_id,),
            )
        ]
        actions = [
            dict(a)
            for a in db.execute(
                "SELECT a.at, a.actor_id, a.action, a.object_type, a.object_id, a.details"
                " FROM audit_log a WHERE (a.object_type = :account AND a.object_id = :id)"
                " OR (a.object_type = 'coupon_licence' AND a.object_id IN"
                " (SELECT l.id FROM coupon_licences l WHERE l.client_id = :id))"
                " ORDER BY a.id",
                {"account": AUDIT_OBJECT, "id": client_id},
            )
        ]
        people = {account["authorised_by"], account["unlinked_by"]} if account else set()
        people |= {t["created_by"] for t in terms} | {a["actor_id"] for a in actions}
        email_of = self._emails(people)
        for term in terms:
            term["created_by"] = email_of.get(term["created_by"])
        for action in actions:
            action["actor"] = email_of.get(action.pop("actor_id"))
            action["details"] = json.loads(action["details"] or "{}")
        return {
            "client": {
                "id": row["id"],
                "name": row["ragione_sociale"],
                "codice_fiscale": row["codice_fiscale"],
                "partita_iva": row["partita_iva"],
                "studio_id": row["studio_id"],
                "conto_terzi": bool(row["conto_terzi"]),
                "own_licence": bool(row["own_licence"]),
            },
            "account": None
            if account is None
            else {
                "email": row["account_email"],
                "nickname": row["nickname"],
                "authorised_at": row["authorised_at"],
                "first_access_at": row["first_access_at"],
                "password_change_pending": row["first_access_at"] is None,
                "unlinked_at": row["unlinked_at"],
                "unlinked_by": email_of.get(account["unlinked_by"]),
            },
            "consultant": None
            if account is None
            else {
                "name": account["consultant_name"],
                "surname": account["consultant_surname"],
                "codice_fiscale": account["consultant_cf"],
                "authorised_at": row["authorised_at"],
                "authorised_by": email_of.get(account["authorised_by"]),
            },
            "state": state,
            "state_words": words,
            "licence": row["licence"],
            "ends_on": row["ends_on"],
            "terms": terms,
            "actions": actions,
            "usage": usage_of(row),
            "usage_at": row["usage_at"],
        }

    def _linked(self, client_id: int, what: str) -> sqlite3.Row:
        row = facts.client_facts(self.db, self.actor, client_id)
        if not row["linked"] or row["unlinked_at"] is not None:
            words = {"client": client_id, "name": row["ragione_sociale"], "what": what}
            if row["linked"]:
                day = rules.italian(rules.rome_day(row["unlinked_at"]))
                problem = _(
                    "client {client} ({name}) is not linked to an account (unlinked on {day}):"
                    " cannot {what}"
                ).format(day=day, **words)
            else:
                problem = _(
                    "client {client} ({name}) is not linked to an account: cannot {what}"
                ).format(**words)
            raise RuleViolation(
                problem, _("migrate it with '{command}'").format(command="sempi coupon migrate")
            )
        return row

    def _emails(self, user_ids: set[int | None]) -> dict[int, str]:
        """The e-mails of the people the reader may see (the others stay null)."""
        ids = sorted(i for i in user_ids if i is not None)
        if not ids:
            return {}
        where, params = access.visible_users(self.actor)
        return dict(
            self.db.execute(
                f"SELECT u.id, u.email FROM users u WHERE u.id IN ({listed(self.db, ':ids')})"
                f" AND {where}",
                {**params, "ids": json.dumps(ids)},
            ).fetchall()
        )


def export_rows(record: dict) -> list[dict]:
    """The export as spreadsheet rows: one per term, the client's columns repeated
    (one row with no term for a client never migrated)."""
    account = record["account"] or {}
    consultant = record["consultant"] or {}
    usage = {u["measure"]: u for u in record["usage"]}
    client = {
        "client_id": record["client"]["id"],
        "client": record["client"]["name"],
        "partita_iva": record["client"]["partita_iva"],
        "codice_fiscale": record["client"]["codice_fiscale"],
        "nickname": account.get("nickname"),
        "account_email": account.get("email"),
        "state": record["state"],
        "consultant_name": consultant.get("name"),
        "consultant_surname": consultant.get("surname"),
        "consultant_cf": consultant.get("codice_fiscale"),
        "authorised_at": account.get("authorised_at"),
        "first_access_at": account.get("first_access_at"),
        "unlinked_at": account.get("unlinked_at"),
    }
    for measure in rules.LIMITS:
        client[measure] = usage[measure]["used"]
        client[f"{measure}_limit"] = usage[measure]["limit"]
        client[f"{measure}_percent"] = usage[measure]["percent"]
    terms = record["terms"] or [{}]
    return [
        {
            **client,
            "term_id": term.get("id"),
            "how": term.get("how"),
            "licence": term.get("licence"),
            "starts_on": term.get("starts_on"),
            "ends_on": term.get("ends_on"),
            "package_id": term.get("package_id"),
            "package_type": term.get("package_type"),
        }
        for term in terms
    ]
