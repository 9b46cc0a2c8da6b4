"""Italian identifiers and e-mail addresses: validated, then stored normalised.

Check digits and omocodia come from python-stdnum; sempi only decides which
kind of code a field accepts and how to say what is wrong.
"""

from __future__ import annotations

import re

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)

_ELEVEN_DIGITS = re.compile(r"^[0-9]{11}$")  # not str.isdigit(): it accepts '²' and other digits


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-/]", "", value).upper()


def partita_iva(value: str, *, field: str = "partita_iva") -> str:
    """Eleven digits with a valid check digit; an ``IT`` prefix is dropped."""
    from stdnum.exceptions import ValidationError
    from stdnum.it import iva

    number = _compact(value)
    if number.startswith("IT"):
        number = number[2:]
    if not _ELEVEN_DIGITS.match(number):
        raise InvalidData(
            field, _("{value} is not a partita IVA (11 digits expected)").format(value=repr(value))
        )
    try:
        return iva.validate(number)
    except ValidationError as exc:
        raise InvalidData(
            field,
            _("{value} is not a valid partita IVA ({why})").format(
                value=repr(value), why=_iva_why(exc, number)
            ),
        ) from None


def codice_fiscale(value: str, *, person: bool = False, field: str = "codice_fiscale") -> str:
    """A person's 16-character code (omocodia included) or, unless ``person``,
    a company's 11-digit numeric code."""
    from stdnum.exceptions import ValidationError
    from stdnum.it import codicefiscale

    code = _compact(value)
    if _ELEVEN_DIGITS.match(code):
        if person:
            raise InvalidData(
                field,
                _("{value} is an 11-digit company code, not a person's codice fiscale").format(
                    value=repr(value)
                ),
                _("a person's codice fiscale has 16 characters"),
            )
        return partita_iva(code, field=field)
    if len(code) != 16:
        raise InvalidData(
            field,
            _("{value} is not a codice fiscale (16 characters expected)").format(value=repr(value)),
        )
    try:
        return codicefiscale.validate(code)
    except ValidationError as exc:
        raise InvalidData(
            field,
            _("{value} is not a valid codice fiscale ({why})").format(
                value=repr(value), why=_why(exc)
            ),
        ) from None


def _iva_why(exc: Exception, number: str) -> str:
    """Which part is wrong: the progressive (all zeros), the office code (digits 8-10:
    a province 001-100, or 120, 121, 888, 999), or the check digit."""
    name = type(exc).__name__
    if name == "InvalidComponent":
        return _("office code {code}: digits 8-10 are 001-100, 120, 121, 888 or 999").format(
            code=number[7:10]
        )
    if name == "InvalidFormat":
        return _("the first seven digits cannot all be zero")
    return _("check digit")


def _why(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "InvalidChecksum":
        return _("check character")
    return _("birth date or format")


def email(value: str, *, field: str = "email") -> str:
    """A syntactically valid address, stored lower-case (PEC addresses too)."""
    address = value.strip()
    if not _EMAIL.match(address) or ".." in address:
        raise InvalidData(
            field, _("{value} is not a valid e-mail address").format(value=repr(value))
        )
    return address.lower()


def optional_text(value: str | None) -> str | None:
    """Trimmed text, or None for blank."""
    if value is None:
        return None
    value = value.strip()
    return value or None
