"""Coupon packages (`coupon add`, `coupon list`) and the drawing of coupons.

A package is what the practice bought or received: a type, a count, the last day
its coupons are valid (31 December). Coupons are **not nominal**: any coupon of
any of the practice's packages may go to any eligible client. A package's coupons
left are its count less the licence terms drawn from it, counted in the same
``BEGIN IMMEDIATE`` transaction that draws, so two processes assigning the last
coupon at the same moment cannot both have it: the second waits for the write
lock, then finds none left.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date

from sempi_cli.clock import today_in_rome
from sempi_cli.errors import InvalidData, RuleViolation
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext, number
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.coupons import rules
from sempi_cli.services.text import one_line
from sempi_cli.store.sql import in_marks, joined

COLUMNS = ("id", "type", "valid_until", "count", "used", "left", "reference", "cancelled")
MAX_REFERENCE = 100

_USED = "(SELECT count(*) FROM coupon_licences l WHERE l.package_id = p.id)"


def studio_of(db: sqlite3.Connection, actor: access.Actor, ref: str | int) -> int:
    """The practice by id or name among those the actor sees; a client's user sees
    none of the practice's coupons."""
    from sempi_cli.errors import PermissionDenied
    from sempi_cli.services.org.studios import find_studio_id

    if actor.role == "external":
        raise PermissionDenied(_("a client's user may not read the practice's coupons"))
    return find_studio_id(db, actor, ref)


def coupons_left(
    db: sqlite3.Connection, studio_id: int, types: Sequence[str], through: str
) -> list[tuple[int, int]]:
    """[(package id, coupons left)] of the practice's packages of ``types`` valid
    through ``through`` (an ISO day) with coupons left: in the order of ``types``,
    then the soonest to expire first (they would be lost first), then the oldest.
    A renewal coupon serves only the year it was sent for: next year's, received
    in November, is never spent on this year's term."""
    marks = in_marks(types)
    order = " ".join(f"WHEN '{t}' THEN {i}" for i, t in enumerate(types))
    rows = db.execute(
        f"SELECT p.id, p.count - {_USED} AS left_ FROM coupon_packages p"
        f" WHERE p.studio_id = ? AND p.type IN ({marks}) AND p.valid_until >= ?"
        " AND (p.type <> 'rinnovo' OR substr(p.valid_until, 1, 4) = substr(?, 1, 4))"
        f" ORDER BY CASE p.type {order} END, p.valid_until, p.id",
        (studio_id, *types, through, through),
    ).fetchall()
    return [(row[0], row[1]) for row in rows if row[1] > 0]


def draw(
    db: sqlite3.Connection, studio_id: int, types: Sequence[str], through: str, wanted: int
) -> list[tuple[int, str]]:
    """``wanted`` coupons as [(package id, its valid_until)], one per client, or
    RuleViolation "no coupon left" naming how many there are: all or none. Call it
    inside the write transaction that records the terms."""
    left = coupons_left(db, studio_id, types, through)
    total = sum(n for _package, n in left)
    if total < wanted:
        kinds = _(" or ").join(types)
        raise RuleViolation(
            ngettext(
                "no coupon left: {wanted} needed, {n} {kinds} coupon(s) valid through {day} left",
                "no coupon left: {wanted} needed, {n} {kinds} coupon(s) valid through {day} left",
                total,
            ).format(wanted=wanted, n=total, kinds=kinds, day=rules.italian(through)),
            _("record the package with '{command}'").format(command="sempi coupon add"),
        )
    until = (
        dict(
            db.execute(
                f"SELECT id, valid_until FROM coupon_packages WHERE id IN ({in_marks(left)})",
                [p for p, _count in left],
            ).fetchall()
        )
        if left
        else {}
    )
    drawn: list[tuple[int, str]] = []
    for package_id, n in left:
        take = min(n, wanted - len(drawn))
        drawn.extend([(package_id, until[package_id])] * take)
        if len(drawn) == wanted:
            break
    return drawn


class CouponPackages(Service):
    """`coupon add` and `coupon list`: the practice's packages."""

    def add(
        self,
        studio: str | int,
        kind: str,
        count: int,
        valid_until: date,
        reference: str | None = None,
    ) -> dict:
        """Record a package bought or received. The practice's administrator or a
        firm administrator: coupons are the practice's money."""
        studio_id = studio_of(self.db, self.actor, studio)
        access.require_practice_admin(self.actor, studio_id, _("record coupon packages"))
        if kind not in rules.TYPES:
            raise InvalidData(
                "--type",
                _("{kind} is not a coupon type").format(kind=repr(kind)),
                _("use {choices}").format(choices=", ".join(rules.TYPES)),
            )
        if not 1 <= count <= rules.MAX_PACKAGE:
            raise InvalidData(
                "--count",
                _("{count} is not between 1 and {most}").format(
                    count=count, most=number(rules.MAX_PACKAGE, 0)
                ),
            )
        last_day = rules.valid_until(valid_until)
        if last_day < today_in_rome(self.clock).isoformat():
            raise InvalidData(
                "--valid-until", _("{day} is already past").format(day=rules.italian(last_day))
            )
        ref = (
            one_line(reference, "--reference", MAX_REFERENCE) or None
            if reference is not None
            else None
        )
        with self.transaction():
            package_id = self.db.execute(
                "INSERT INTO coupon_packages (studio_id, type, count, valid_until, reference,"
                " added_at, added_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (studio_id, kind, count, last_day, ref, self.now(), self.actor.id),
            ).fetchone()[0]
            self.audit(
                "add", "coupon_package", package_id, type=kind, count=count, valid_until=last_day
            )
        return self.show(package_id)

    def show(self, package_id: int) -> dict:
        rows = self._rows("p.id = ?", (package_id,))
        if not rows:
            from sempi_cli.errors import NotFound

            raise NotFound(_("package {package} not found").format(package=package_id))
        studio_of(self.db, self.actor, rows[0]["studio_id"])
        return rows[0]

    def _rows(self, where: str, params: tuple) -> list[dict]:
        rows = self.db.execute(
            f"SELECT p.id, p.studio_id, p.type, p.valid_until, p.count, {_USED} AS used,"
            " p.reference, p.added_at,"
            f" (SELECT {joined(self.db, 'x.renewal_year', ', ')} FROM coupon_cancellations x"
            "  WHERE x.package_id = p.id) AS cancelled"
            f" FROM coupon_packages p WHERE {where} ORDER BY p.valid_until DESC, p.id DESC",
            params,
        ).fetchall()
        return [
            {
                "id": r["id"],
                "studio_id": r["studio_id"],
                "type": r["type"],
                "valid_until": r["valid_until"],
                "count": r["count"],
                "used": r["used"],
                "left": r["count"] - r["used"],
                "reference": r["reference"],
                "added_at": r["added_at"],
                "cancelled": r["cancelled"],
            }
            for r in rows
        ]

    def list(self, studio: str | int) -> list[dict]:
        """The practice's packages, newest validity first, with coupons used and left."""
        studio_id = studio_of(self.db, self.actor, studio)
        return self._rows("p.studio_id = ?", (studio_id,))
