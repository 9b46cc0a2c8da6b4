"""Text a person types that others will read: one line where a table shows it, no
control characters anywhere (they would reach the terminal of whoever lists them)."""

from __future__ import annotations

import re

from sempi_cli.errors import InvalidData

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
        raise InvalidData(field, f"longer than {limit} characters ({len(folded)})")
    return folded


def no_control(text: str, field: str) -> None:
    """Refuse control characters: stored, they would reach the terminal of whoever lists them."""
    bad = _CONTROL.search(text)
    if bad is not None:
        raise InvalidData(field, f"a control character (U+{ord(bad[0]):04X}) is not allowed")
