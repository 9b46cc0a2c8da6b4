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
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _

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
# Why a client may not be migrated: English in the records (state_text, JSON), put
# into the reader's words where a person reads them (``_(reason)``).
NOT_CONTO_TERZI = N_("it is not served conto terzi")
REMOVED = N_("the client was removed")
OWN_LICENCE = N_("it bought its own licence")
NO_PARTITA_IVA = N_("it has no partita IVA (the invoicing product needs one)")


def year_end(year: int) -> str:
    return f"{year:04d}-12-31"


def valid_until(day: date, field: str = "--valid-until") -> str:
    """A package's last day: always 31 December (the coupons' year ends there)."""
    if (day.month, day.day) != (12, 31):
        raise InvalidData(
            field,
            _("{day} is not 31 December").format(day=italian(day)),
            _("coupons run to 31/12"),
        )
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
        return NOT_CONTO_TERZI
    if client["removed_at"] is not None:
        return REMOVED
    if client["own_licence"]:
        return OWN_LICENCE
    if not client["partita_iva"]:
        return NO_PARTITA_IVA
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


class Said:
    """A value of a ``Text`` put into words when the text is written, in the
    language it is written in: ``Said(number, 3000, 0)`` is ``3,000`` in English,
    ``3.000`` in Italian; any function and its arguments."""

    def __init__(self, words, *args: object) -> None:
        self.words, self.args = words, args

    def __str__(self) -> str:
        return str(self.words(*self.args))


def state_words(state: str, text: str, ends_on: str | None, day=italian) -> str:
    """The state's words of ``state`` (``text``, as ``state`` gives them) in the
    reader's language, the day written by ``day`` (dd/mm/yyyy by default)."""
    if state == "active" and ends_on:
        return _("active until {day}").format(day=day(ends_on))
    if state == "expired":
        return _("expired on {day}").format(day=day(ends_on)) if ends_on else _("expired")
    if state == "not_eligible":
        return _("not eligible: {reason}").format(reason=_(text.removeprefix("not eligible: ")))
    words = {
        "own_licence": N_("own licence"),
        "unlinked": N_("unlinked"),
        "migratable": N_("migratable"),
    }
    return _(words[state]) if state in words else text
