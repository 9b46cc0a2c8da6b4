"""The rules of Conto Terzi coupons that every coupon command shares (SPEC §7).

A coupon activates a **Standard read-only licence** for one client until 31
December of the coupon's year, with the limits of the Complete licence. A
client's licence is a series of terms (``coupon_licences``); its state is
computed from the dates on every read, never stored, so nobody has to remember
to flip a flag on 1 January:

- ``own_licence``: the client bought its own licence: no coupon ever again;
- ``active``: linked to its account and the latest term ends today or later;
- ``expired``: linked, and the latest term ended (not renewed);
- ``unlinked``: the link was ended (`coupon unlink`); it may be migrated anew;
- ``migratable``: served conto terzi, never linked (or unlinked), eligible;
- ``not_eligible``: why, in words (removed, no partita IVA).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sempi_cli.errors import InvalidData

TYPES = ("migrazione", "rinnovo", "rinnovabile", "forfettario")
# A renewal takes a renewal coupon of its year first, then a renewable, then a
# flat-rate one (SPEC §7: "a coupon of the same type the next year, a renewable
# or flat-rate coupon").
RENEWAL_TYPES = ("rinnovo", "rinnovabile", "forfettario")
LIMITS = {"documents": 3000, "contacts": 5000}  # the Complete licence's
COUPON_LICENCE = "standard-readonly"
HIGHER_LICENCE = "complete"
STATES = ("migratable", "active", "expired", "unlinked", "own_licence", "not_eligible")
MAX_PACKAGE = 100_000  # coupons in one package: a typo of 10^12 is refused
CANCEL_BY = (6, 30)  # a cancellation (disdetta) counts for the year's renewal by 30 June


def year_end(year: int) -> str:
    return f"{year:04d}-12-31"


def valid_until(day: date, field: str = "--valid-until") -> str:
    """A package's last day: always 31 December (the coupons' year ends there)."""
    if (day.month, day.day) != (12, 31):
        raise InvalidData(field, f"{italian(day)} is not 31 December", "coupons run to 31/12")
    return day.isoformat()


def italian(day: date | str) -> str:
    """A day as people read it in the coupon messages: dd/mm/yyyy."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return day.strftime("%d/%m/%Y")


def rome_day(instant: str) -> str:
    """The Rome date (ISO) of a stored instant (ISO UTC)."""
    from datetime import datetime

    from sempi_cli.clock import ROME

    return datetime.fromisoformat(instant).astimezone(ROME).date().isoformat()


def cancel_deadline(year: int) -> date:
    """The last day a cancellation sent by PEC stops the renewal for ``year + 1``."""
    return date(year, *CANCEL_BY)


def ineligible(client: Mapping) -> str | None:
    """Why a client may not be migrated with a coupon, as its own facts go (the
    account's link is judged by ``state``), or None."""
    if not client["conto_terzi"]:
        return "it is not served conto terzi"
    if client["removed_at"] is not None:
        return "the client was removed"
    if client["own_licence"]:
        return "it bought its own licence"
    if not client["partita_iva"]:
        return "it has no partita IVA (the invoicing product needs one)"
    return None


def state(row: Mapping, today: str) -> tuple[str, str]:
    """(state, in words) of a client's licence on ``today`` (ISO date). ``row``
    holds the client's ``conto_terzi``, ``own_licence``, ``removed_at``,
    ``partita_iva``, its account's ``linked`` (1 if an account row exists) and
    ``unlinked_at``, and its latest term's ``ends_on`` (None without one)."""
    if row["own_licence"]:
        return "own_licence", "own licence"
    if row["linked"] and row["unlinked_at"] is None:
        ends_on = row["ends_on"]
        if ends_on is not None and ends_on >= today:
            return "active", f"active until {ends_on}"
        return "expired", f"expired on {ends_on}" if ends_on else "expired"
    reason = ineligible(row)
    if reason is not None:
        return "not_eligible", f"not eligible: {reason}"
    if row["linked"]:
        return "unlinked", "unlinked"
    return "migratable", "migratable"
