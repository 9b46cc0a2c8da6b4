"""The cancellation (disdetta) of a package's tacit renewal (`coupon cancel`).

A package valid until 31 December of year X renews tacitly for X+1 unless a
cancellation is sent by PEC by 30 June X (``rules.cancel_deadline``). The row's
``renewal_year`` is the year whose renewal it stops: X+1 when sent by 30 June
X; sent later, the renewal for X+1 goes ahead and the command says so and names
the next useful date, and with ``next_year`` it is recorded for X+2 (which in
turn must have been sent by 30 June X+1). `coupon renew` refuses a client whose
licence came from a package cancelled for the year; `coupon check` stops
warning of the 30 June cut-off for it.
"""

from __future__ import annotations

from datetime import date

from sempi_cli.clock import today_in_rome
from sempi_cli.errors import Conflict, InvalidData, NotFound, RuleViolation
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.coupons import packages, rules
from sempi_cli.services.text import one_line

MAX_PEC_REF = 200
COLUMNS = ("id", "package_id", "type", "valid_until", "renewal_year", "pec_ref", "sent_on")


def renewal_year(valid_until: str, sent_on: date, next_year: bool) -> int:
    """The year whose renewal a cancellation sent on ``sent_on`` stops, for a package
    valid until ``valid_until`` (31 December of X): X+1, or X+2 with ``next_year``;
    RuleViolation when it was sent after that renewal's 30 June."""
    valid_year = int(valid_until[:4])
    stops = valid_year + (2 if next_year else 1)
    deadline = rules.cancel_deadline(stops - 1)
    if sent_on <= deadline:
        return stops
    if next_year:
        raise RuleViolation(
            _(
                "sent on {day}, after 30 June {year}: the renewal for {renewal} goes ahead too;"
                " the next useful date is {next_day} (for the renewal of {later}), against the"
                " package then in force"
            ).format(
                day=rules.italian(sent_on),
                year=stops - 1,
                renewal=stops,
                next_day=rules.italian(rules.cancel_deadline(stops)),
                later=stops + 1,
            )
        )
    raise RuleViolation(
        _(
            "sent on {day}, after 30 June {year}: the renewal for {renewal} goes ahead; the"
            " next useful date is {next_day} (add --next-year to stop the renewal for {later})"
        ).format(
            day=rules.italian(sent_on),
            year=valid_year,
            renewal=stops,
            next_day=rules.italian(rules.cancel_deadline(stops)),
            later=stops + 1,
        )
    )


class CouponCancellations(Service):
    """`coupon cancel`: record the disdetta of a package's tacit renewal."""

    def cancel(
        self,
        studio: str | int,
        package_id: int,
        pec_ref: str,
        sent_on: date,
        *,
        next_year: bool = False,
    ) -> dict:
        """Record that the cancellation of ``package_id``'s renewal was sent by PEC on
        ``sent_on`` (reference ``pec_ref``). The practice's administrator or a firm
        administrator; a package of another practice is not found."""
        studio_id = packages.studio_of(self.db, self.actor, studio)
        access.require_practice_admin(self.actor, studio_id, _("cancel its coupon packages"))
        ref = one_line(pec_ref, "--pec-ref", MAX_PEC_REF)
        if not ref:
            raise InvalidData(
                "--pec-ref", _("is empty"), _("give the PEC's reference (its message id)")
            )
        today = today_in_rome(self.clock)
        if sent_on > today:
            raise InvalidData(
                "--sent-on", _("{day} is in the future").format(day=rules.italian(sent_on))
            )
        package = self.db.execute(
            "SELECT id, type, valid_until FROM coupon_packages WHERE id = ? AND studio_id = ?",
            (package_id, studio_id),
        ).fetchone()
        if package is None:
            raise NotFound(
                _("package {package} not found").format(package=package_id),
                _("see the practice's packages with '{command}'").format(
                    command="sempi coupon list --studio S"
                ),
            )
        year = renewal_year(package["valid_until"], sent_on, next_year)
        with self.transaction():
            before = self.db.execute(
                "SELECT pec_ref, sent_on FROM coupon_cancellations"
                " WHERE package_id = ? AND renewal_year = ?",
                (package_id, year),
            ).fetchone()
            if before is not None:
                raise Conflict(
                    _(
                        "package {package}'s renewal for {year} was already cancelled"
                        " ({reference}, sent on {day})"
                    ).format(
                        package=package_id,
                        year=year,
                        reference=before["pec_ref"],
                        day=rules.italian(before["sent_on"]),
                    )
                )
            cancellation_id = self.db.execute(
                "INSERT INTO coupon_cancellations (package_id, renewal_year, pec_ref, sent_on,"
                " recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (package_id, year, ref, sent_on.isoformat(), self.now(), self.actor.id),
            ).fetchone()[0]
            self.audit(
                "cancel",
                "coupon_package",
                package_id,
                renewal_year=year,
                pec_ref=ref,
                sent_on=sent_on.isoformat(),
            )
        return {
            "id": cancellation_id,
            "package_id": package_id,
            "type": package["type"],
            "valid_until": package["valid_until"],
            "renewal_year": year,
            "pec_ref": ref,
            "sent_on": sent_on.isoformat(),
        }
