"""Text a person types that others will read: one line where a table shows it, no
control characters anywhere (they would reach the terminal of whoever lists them)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

# Unicode's category Cc is exactly these 65 code points (C0, DEL, C1): a regex finds
# one as unicodedata.category would, some twenty times faster on a batch's names.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def one_line(text: str, field: str, limit: int) -> str:
    """Text shown in tables and on terminals: runs of whitespace (a name typed on two
    lines in a spreadsheet cell) become one space; any other control character (an
    ANSI escape, a NUL) is refused, as is text longer than ``limit``."""
    folded = " ".join(text.split())
    no_control(folded, field)
    if len(folded) > limit:
        raise InvalidData(
            field,
            ngettext(
                "longer than {limit} characters ({length})",
                "longer than {limit} characters ({length})",
                limit,
            ).format(limit=limit, length=len(folded)),
        )
    return folded


def no_control(text: str, field: str, *, allow: str = "") -> None:
    """Refuse control characters (but those in ``allow``, e.g. the line breaks and
    tabs of a long text): stored, they would reach the terminal of whoever lists them."""
    for bad in _CONTROL.finditer(text):
        if bad[0] not in allow:
            raise InvalidData(
                field,
                _("a control character ({code}) is not allowed").format(
                    code=f"U+{ord(bad[0]):04X}"
                ),
            )


def long_text(text: str, field: str) -> str:
    """A description or a comment: several lines allowed, stripped, no other control
    character (a carriage return alone could hide what precedes it on a terminal)."""
    text = text.replace("\r\n", "\n").strip()
    no_control(text, field, allow="\n\t")
    return text


def chosen_words(values: list[str], allowed: tuple[str, ...], field: str, noun: str) -> list[str]:
    """Filter words as people type them ("not requested", "not-requested", "Sent",
    "a,b"; repeated options), each checked against ``allowed``: the status filters
    of the grids (`consent list --status`, `coupon clients --state`). ``noun`` ("a
    request status"), marked with N_ by the caller, is translated here."""
    chosen = []
    for value in values:
        for part in value.split(","):
            word = "_".join(part.strip().lower().replace("-", " ").split())
            if not word:
                continue
            if word not in allowed:
                raise InvalidData(
                    field,
                    _("{value} is not {noun}").format(value=repr(part.strip()), noun=_(noun)),
                    _("use one of: {choices}").format(choices=", ".join(allowed)),
                )
            chosen.append(word)
    return chosen


def listed_refusals(refused: Sequence[tuple[int, str, str]], shown: int) -> str:
    """The one line of an all-or-nothing refusal: the first ``shown`` clients as
    "client ID (NAME): REASON", the others by id (a script fixes them all at once)."""
    named = "; ".join(
        _("client {client} ({name}): {reason}").format(client=cid, name=name, reason=why)
        for cid, name, why in refused[:shown]
    )
    rest = [str(refusal[0]) for refusal in refused[shown:]]
    if not rest:
        return named
    more = ngettext(
        "; and {n} more: clients {ids}", "; and {n} more: clients {ids}", len(rest)
    ).format(n=len(rest), ids=", ".join(rest))
    return named + more
