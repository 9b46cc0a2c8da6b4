"""Tacit renewal (`coupon renew`): the practice renews chosen clients' licences for
a year with the renewal coupons it received in mid-November.

A renewal is a new licence term (``how = 'renewal'``) from 1 January to 31
December of the year, with the licence of the client's latest term, drawn from
the practice's packages in the order ``rules.RENEWAL_TYPES`` (a renewal coupon
valid through that 31 December first, then a renewable one, then a flat-rate
one). Coupons are not nominal: a client that changed accountant is simply not
renewed, its licence lapses on 31 December, and the coupon it would have taken
serves another client.

Refused, with the reason per client (all or nothing, unless ``partial``): a
client that bought its own licence; one never linked, or unlinked; one already
renewed for the year; one whose licence came from a package whose renewal for
the year was cancelled (a disdetta, services/coupons/cancellation.py); and,
for the whole command, too few coupons. ``--all-active`` takes every linked
client of the practice whose latest term ended on 31 December of the year
before or runs to a day before the year's end (active now, or just lapsed);
those whose package was cancelled are skipped with the reason, not refused.

One query for the candidates and their latest terms, one ``executemany`` for
the terms, one audit statement: 10,000 clients in one command.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date

from sempi_cli.clock import today_in_rome
from sempi_cli.errors import InvalidData, NotFound, RuleViolation, UsageProblem
from sempi_cli.i18n import Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, audit
from sempi_cli.services.base import Service
from sempi_cli.services.coupons import packages, rules
from sempi_cli.services.text import listed_refusals

COLUMNS = ("client_id", "name", "result", "package_id", "ends_on", "reason")
SHOWN_REFUSALS = 20  # clients named in the one line of an all-or-nothing refusal

# The practice's clients with their account's link, their latest term (the one
# ending last, then the last written, as facts.FACTS) and the package of any of
# their terms whose renewal for :year was cancelled.
_CANDIDATES = """
WITH latest AS (
    SELECT l.client_id, l.ends_on, l.licence,
           row_number() OVER (PARTITION BY l.client_id ORDER BY l.ends_on DESC, l.id DESC) AS n
    FROM coupon_licences l JOIN clients lc ON lc.id = l.client_id
    WHERE lc.studio_id = :studio
), stopped AS (
    SELECT l.client_id, min(x.package_id) AS package_id
    FROM coupon_cancellations x JOIN coupon_licences l ON l.package_id = x.package_id
    WHERE x.renewal_year = :year GROUP BY l.client_id
)
SELECT c.id, c.studio_id, c.ragione_sociale, c.own_licence, c.removed_at,
       a.client_id IS NOT NULL AS linked, a.unlinked_at, t.ends_on, t.licence,
       s.package_id AS cancelled_package, x.pec_ref AS cancelled_ref
FROM clients c
LEFT JOIN coupon_accounts a ON a.client_id = c.id
LEFT JOIN latest t ON t.client_id = c.id AND t.n = 1
LEFT JOIN stopped s ON s.client_id = c.id
LEFT JOIN coupon_cancellations x ON x.package_id = s.package_id AND x.renewal_year = :year
"""

_ACTIVE = (
    " WHERE c.studio_id = :studio AND c.removed_at IS NULL AND c.own_licence = 0"
    " AND a.client_id IS NOT NULL AND a.unlinked_at IS NULL"
    " AND t.ends_on >= :lapsed AND t.ends_on < :end ORDER BY c.id"
)


def italian(day: str) -> str:
    """An ISO day as people read it here: dd/mm/yyyy."""
    return f"{day[8:10]}/{day[5:7]}/{day[:4]}"


def refusal(row: sqlite3.Row, year: int) -> tuple[str, Text] | None:
    """Why the client of ``row`` (a row of _CANDIDATES) may not be renewed for
    ``year``, as (code, reason: in English for the report's rows, in the reader's
    language for the refusal's line); None when it may."""
    if row["removed_at"] is not None:
        return "removed", Text("the client was removed")
    if row["own_licence"]:
        return "own_licence", Text("it bought its own licence: it is never renewed with a coupon")
    if not row["linked"]:
        return "not_linked", Text(
            "it was never migrated: no account is linked ({command})",
            command="sempi coupon migrate",
        )
    if row["unlinked_at"] is not None:
        return "unlinked", Text("it was unlinked on {day}", day=italian(row["unlinked_at"][:10]))
    if row["ends_on"] is None:
        return "no_term", Text("it has no licence term")
    if row["ends_on"] >= rules.year_end(year):
        return "renewed", Text(
            "already renewed for {year}: its licence runs until {day}",
            year=year,
            day=italian(row["ends_on"]),
        )
    if row["cancelled_package"] is not None:
        return "cancelled", Text(
            "its package {package} was cancelled for {year} ({reference})",
            package=row["cancelled_package"],
            year=year,
            reference=row["cancelled_ref"],
        )
    return None


def check_year(year: int, today: date) -> None:
    """Renewals are for this year (a lapsed licence taken up again in January) or
    the next (the renewal coupons of mid-November)."""
    if year not in (today.year, today.year + 1):
        raise InvalidData(
            "--year",
            _("{year} is neither this year nor the next").format(year=year),
            _("use {year}").format(year=today.year + 1),
        )


class CouponRenewal(Service):
    """`coupon renew`: renew chosen clients, or every active one, for a year."""

    def renew(
        self,
        studio: str | int,
        year: int,
        *,
        client_ids: Sequence[int] = (),
        everyone: bool = False,
        partial: bool = False,
        dry_run: bool = False,
    ) -> dict:
        """Renew ``client_ids`` (or, ``everyone``, every active client of ``studio``)
        for ``year``. Returns {"dry_run", "year", "clients": [{client_id, name,
        result (renewed, refused, skipped), package_id, ends_on, reason}],
        "renewed", "refused", "skipped"}; a dry run reports the same, writes nothing."""
        if everyone == bool(client_ids):
            raise UsageProblem(_("give --all-active or --client, not both nor neither"))
        if partial and everyone:
            raise UsageProblem(_("--partial goes with --client (--all-active skips on its own)"))
        studio_id = packages.studio_of(self.db, self.actor, studio)
        access.require_practice_admin(self.actor, studio_id, _("renew its clients' licences"))
        check_year(year, today_in_rome(self.clock))
        result: dict = {}
        with self.rehearsal(dry_run):
            rows = (
                self._active(studio_id, year)
                if everyone
                else self._chosen(studio_id, year, client_ids)
            )
            chosen, report, said = [], [], {}
            for row in rows:
                why = refusal(row, year)
                if why is None:
                    chosen.append(row)
                    continue
                skipped = everyone and why[0] == "cancelled"
                # The report's rows are for scripts: the reason in English.
                line = self._line(row, "skipped" if skipped else "refused", why[1].said_in("en"))
                report.append(line)
                said[row["id"]] = why[1]
            refused = [r for r in report if r["result"] == "refused"]
            if refused and not (partial and chosen):
                listed = listed_refusals(
                    [(r["client_id"], r["name"], str(said[r["client_id"]])) for r in refused],
                    SHOWN_REFUSALS,
                )
                raise RuleViolation(
                    _("cannot renew for {year}: {clients}").format(year=year, clients=listed),
                    _("nothing was renewed")
                    if partial
                    else _("nothing was renewed; --partial renews the others"),
                )
            report = self._write(studio_id, year, chosen) + report
            result = {
                "year": year,
                "clients": report,
                **{
                    word: sum(r["result"] == word for r in report)
                    for word in ("renewed", "refused", "skipped")
                },
            }
        result["dry_run"] = dry_run
        return result

    # --- which clients -----------------------------------------------------------------

    def _active(self, studio_id: int, year: int) -> list[sqlite3.Row]:
        return self.db.execute(
            _CANDIDATES + _ACTIVE,
            {
                "studio": studio_id,
                "year": year,
                "lapsed": rules.year_end(year - 1),
                "end": rules.year_end(year),
            },
        ).fetchall()

    def _chosen(self, studio_id: int, year: int, client_ids: Sequence[int]) -> list[sqlite3.Row]:
        """The clients named, each one the actor may see (else not found, as for an id
        that does not exist) and of the practice."""
        wanted = list(dict.fromkeys(client_ids))
        where, params = access.visible_clients(self.actor)
        marks = ", ".join(f":c{i}" for i in range(len(wanted)))
        params.update({f"c{i}": client_id for i, client_id in enumerate(wanted)})
        params.update({"studio": studio_id, "year": year})
        found = {
            row["id"]: row
            for row in self.db.execute(f"{_CANDIDATES} WHERE c.id IN ({marks}) AND {where}", params)
        }
        for client_id in wanted:
            row = found.get(client_id)
            if row is None or row["studio_id"] != studio_id:
                raise NotFound(
                    _("client {client} not found in that practice").format(client=client_id)
                    if row is not None
                    else _("client {client} not found").format(client=client_id),
                    _("see the practice's clients with '{command}'").format(
                        command="sempi coupon clients --studio S"
                    ),
                )
        return [found[client_id] for client_id in wanted]

    # --- writing -----------------------------------------------------------------------

    def _line(
        self, row: sqlite3.Row, result: str, reason: str | None, package_id: int | None = None
    ) -> dict:
        return {
            "client_id": row["id"],
            "name": row["ragione_sociale"],
            "result": result,
            "package_id": package_id,
            "ends_on": row["ends_on"],
            "reason": reason,
        }

    def _write(self, studio_id: int, year: int, chosen: list[sqlite3.Row]) -> list[dict]:
        """One term per client, each from a coupon drawn all-or-none."""
        if not chosen:
            return []
        db, now, actor_id = self.db, self.now(), self.actor.id
        end = rules.year_end(year)
        drawn = packages.draw(db, studio_id, rules.RENEWAL_TYPES, end, len(chosen))
        first = int(
            db.execute("SELECT coalesce(max(id), 0) + 1 FROM coupon_licences").fetchone()[0]
        )
        start = f"{year:04d}-01-01"
        terms = [
            (first + n, row["id"], package_id, row["licence"])
            for n, (row, (package_id, _until)) in enumerate(zip(chosen, drawn, strict=True))
        ]
        db.executemany(
            "INSERT INTO coupon_licences (id, client_id, package_id, how, licence, starts_on,"
            " ends_on, created_at, created_by) VALUES (?, ?, ?, 'renewal', ?, ?, ?, ?, ?)",
            ((*term, start, end, now, actor_id) for term in terms),
        )
        audit.record_many(
            db,
            now,
            actor_id,
            (
                ("renew", "coupon_licence", licence_id,
                 {"client_id": client_id, "package_id": package_id, "year": year})
                for licence_id, client_id, package_id, _licence in terms
            ),
        )  # fmt: skip
        return [
            {**self._line(row, "renewed", None, package_id), "ends_on": end}
            for row, (package_id, _until) in zip(chosen, drawn, strict=True)
        ]
