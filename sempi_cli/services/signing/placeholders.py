"""The placeholders a signature template may use, and filling them.

A template is Markdown or plain text with ``{{name}}`` where a value of the client's
record goes (spaces inside the braces are allowed: ``{{ client.email }}``). The names
are the ones of ``PLACEHOLDERS`` and no other, exactly as written there (case
matters): a template naming anything else is refused when it is added, naming every
unknown placeholder, so that no document ever goes out with ``{{clinet.pec}}`` in it.

Filling is one pass: a value is never read again for placeholders (a client's name
holding ``{{today}}`` stays as typed). The document is Italian whatever the language
of the person who sends it: ``{{today}}`` is "16 marzo 2026".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import N_, ngettext
from sempi_cli.i18n import gettext as _

# The one table: each name and what it becomes (shown by `sign template show`).
PLACEHOLDERS: dict[str, str] = {
    "client.ragione_sociale": N_("the client's name (ragione sociale)"),
    "client.codice_fiscale": N_("the client's codice fiscale"),
    "client.partita_iva": N_("the client's partita IVA"),
    "client.email": N_("the client's e-mail address"),
    "client.pec": N_("the client's PEC address"),
    "studio.name": N_("the name of the client's practice"),
    "studio.partita_iva": N_("the partita IVA of the client's practice"),
    "firm.name": N_("the firm's name"),
    "today": N_("the date the document is made, in Italian (16 marzo 2026)"),
    "signer.names": N_("the signers' full names (Mario Rossi e Anna Bianchi)"),
}

OPEN, CLOSE = "{{", "}}"
_MONTHS = (
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre"
).split()


def _scan(text: str) -> Iterator[tuple[int, int, str | None]]:
    """Each placeholder as (start, end, name): ``name`` is what the braces hold,
    stripped; None for an opening ``{{`` that no ``}}`` closes on its line (the scan
    ends there). A ``}}`` with no opening is text."""
    pos = 0
    while (start := text.find(OPEN, pos)) >= 0:
        end = text.find(CLOSE, start + len(OPEN))
        inner = text[start + len(OPEN) : end] if end >= 0 else ""
        if end < 0 or OPEN in inner or "\n" in inner:
            yield start, len(text), None
            return
        yield start, end + len(CLOSE), inner.strip()
        pos = end + len(CLOSE)


def _line_of(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def check(text: str, field: str = "FILE") -> list[str]:
    """The placeholders ``text`` uses, each once, in order of first use; InvalidData
    (on ``field``) naming every unknown one, and an unclosed ``{{``, if any."""
    used: list[str] = []
    unknown: list[str] = []
    unclosed: int | None = None
    for start, _end, name in _scan(text):
        if name is None:
            unclosed = _line_of(text, start)
        elif name in PLACEHOLDERS:
            if name not in used:
                used.append(name)
        elif name not in unknown:
            unknown.append(name)
    problems = []
    if unknown:
        problems.append(
            ngettext(
                "unknown placeholder {names}", "unknown placeholders {names}", len(unknown)
            ).format(names=", ".join(OPEN + name + CLOSE for name in unknown))
        )
    if unclosed is not None:
        problems.append(
            _("the {opening} on line {line} is not closed by {closing}").format(
                opening=repr(OPEN), line=unclosed, closing=repr(CLOSE)
            )
        )
    if problems:
        raise InvalidData(
            field,
            "; ".join(problems),
            _("the placeholders are {names}").format(names=", ".join(PLACEHOLDERS)),
        )
    return used


# What a value must not do in a Markdown template: open bold (``*``), start a heading
# or a list item (``#``, ``-``), or escape the next character (``\``). Each is written
# with a backslash before it, which render.py reads as "this character, as it is".
MARKDOWN_MARKS = "\\*#-"


def fill(text: str, values: Mapping[str, str], *, markdown: bool = False) -> str:
    """``text`` with each placeholder replaced by its value, in one pass. The text
    must pass ``check``; a placeholder it uses without a value in ``values`` is a
    KeyError (the caller builds ``values`` with ``values_for``, which has them all).
    With ``markdown``, a value's Markdown marks are escaped: a client named
    ``**Alfa**`` is printed so, not in bold."""
    check(text)
    parts = []
    pos = 0
    for start, end, name in _scan(text):
        assert name is not None  # check() refused an unclosed one
        parts.append(text[pos:start])
        value = values[name]
        if markdown:
            value = "".join("\\" + c if c in MARKDOWN_MARKS else c for c in value)
        parts.append(value)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def italian_date(day: date) -> str:
    """``16 marzo 2026``; the first of a month as Italian writes it, ``1° marzo 2026``."""
    number = "1°" if day.day == 1 else str(day.day)
    return f"{number} {_MONTHS[day.month - 1]} {day.year}"


def names_joined(names: Sequence[str]) -> str:
    """``Mario Rossi``, ``Mario Rossi e Anna Bianchi``, ``A, B e C``."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " e " + names[-1]


def _value(row: Mapping[str, object] | None, key: str) -> str:
    """A column as one line of text; a missing row or an empty column is empty."""
    value = row[key] if row is not None else None
    return " ".join(str(value).split()) if value is not None else ""


def values_for(
    *,
    client: Mapping[str, object],
    studio: Mapping[str, object] | None,
    firm_name: str,
    today: date,
    signers: Sequence[str],
) -> dict[str, str]:
    """The value of every placeholder, from the client's row, its practice's row (None
    for a client of the firm itself), the firm's name, the day in Rome and the signers'
    full names. Each value is one line: a value can never start a heading or a list
    item of its own in a Markdown template."""
    return {
        "client.ragione_sociale": _value(client, "ragione_sociale"),
        "client.codice_fiscale": _value(client, "codice_fiscale"),
        "client.partita_iva": _value(client, "partita_iva"),
        "client.email": _value(client, "email"),
        "client.pec": _value(client, "pec"),
        "studio.name": _value(studio, "name"),
        "studio.partita_iva": _value(studio, "partita_iva"),
        "firm.name": " ".join(firm_name.split()),
        "today": italian_date(today),
        "signer.names": names_joined([" ".join(n.split()) for n in signers]),
    }
