"""Rendering rows for people (tables) and for scripts (json, jsonl, csv).

Pure: rows in, text out. JSON is a stable contract: snake_case keys, ISO
timestamps, integer ids, booleans as booleans, null for missing values.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

FORMATS = ("table", "json", "jsonl", "csv")

# C0, DEL and C1: what a terminal may obey rather than show (an OSC 52 sequence in a
# task title writes the clipboard of whoever lists it). Data keep them (stored
# before the input rules, or by another path); a terminal never receives them raw.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# json.dumps escapes C0 but leaves DEL and C1 as they are; \u escapes are the same
# JSON value, so the output stays exact for a script and inert on a terminal.
_JSON_UNSAFE = {c: f"\\u{c:04x}" for c in range(0x7F, 0xA0)}


def terminal_safe(text: str, keep: str = "\n") -> str:
    """``text`` with every control character but those in ``keep`` shown as an
    escape (``\\x1b``), never sent as itself."""
    if text.isprintable():  # no control character at all: the common case, in C
        return text
    return _CONTROL.sub(lambda m: m[0] if m[0] in keep else f"\\x{ord(m[0]):02x}", text)


def _json(value: object, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent).translate(_JSON_UNSAFE)


def _text(value: object) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


# Stored and scripted times are ISO 8601 (UTC instants, business dates); a person
# reads the office's clock and calendar: Rome time, dd/mm/yyyy HH:MM.
_INSTANT = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


@lru_cache(maxsize=4096)  # a batch's rows share their instants
def _rome_minute(value: str) -> str:
    from datetime import datetime

    from sempi_cli.clock import ROME

    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return instant.astimezone(ROME).strftime("%d/%m/%Y %H:%M")


def for_people(value: object) -> object:
    """``value`` with every ISO instant in it (nested in lists and dicts too) as
    Rome wall time ``dd/mm/yyyy HH:MM`` and every ISO date as ``dd/mm/yyyy``."""
    if isinstance(value, str):
        if len(value) < 10 or value[4:5] != "-":  # neither a date nor an instant
            return value
        if _INSTANT.fullmatch(value):
            return _rome_minute(value)
        if day := _DAY.fullmatch(value):
            return f"{day[3]}/{day[2]}/{day[1]}"
        return value
    if isinstance(value, list | tuple):
        return [for_people(v) for v in value]
    if isinstance(value, dict):
        return {k: for_people(v) for k, v in value.items()}
    return value


def _cell(value: object) -> str:
    """A value as a person reads it in a table or a record: Rome times, Italian
    dates, terminal-safe."""
    if type(value) is str and (len(value) < 10 or value[4:5] != "-"):
        text = value  # plain text, the common cell: no date to rewrite
    else:
        text = _text(for_people(value))
    return text if text.isprintable() else terminal_safe(text)


# A spreadsheet reads a cell starting with one of these as a formula (CSV injection):
# such text cells get a leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> object:
    """A text cell made inert; numbers and None as they are (the csv writer writes
    them, and a number is never a formula: "-3" stays a number)."""
    kind = type(value)
    if kind is int or kind is float or value is None:
        return value
    text = value if isinstance(value, str) else _text(value)
    if not text.isprintable():
        text = terminal_safe(text, keep="\n\t\r")
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render(rows: Iterable[Mapping[str, object]], columns: Sequence[str], fmt: str = "table") -> str:
    """A list of records; ``columns`` picks and orders the fields shown."""
    rows = list(rows)
    if fmt == "json":
        return _json([{c: r.get(c) for c in columns} for r in rows], indent=2)
    if fmt == "jsonl":
        return "\n".join(_json({c: r.get(c) for c in columns}) for r in rows)
    if fmt == "csv":
        buffer = io.StringIO()
        # RFC 4180 line ends: with "\n" alone a field holding "\r" would go unquoted.
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(columns)
        writer.writerows([_csv_cell(r.get(c)) for c in columns] for r in rows)
        return buffer.getvalue().removesuffix("\r\n")
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}")
    if not rows:
        return ""
    cells = [[_cell(r.get(c)).strip() for c in columns] for r in rows]
    if any("\n" in cell for row in cells for cell in row):
        from tabulate import tabulate  # a cell of several lines: tabulate lays it out

        return tabulate(cells, headers=list(columns), tablefmt="simple", disable_numparse=True)
    return simple_table(cells, columns)


def simple_table(cells: list[list[str]], headers: Sequence[str]) -> str:
    """tabulate's "simple" table of one-line text cells, as tabulate writes it
    (tests/test_output.py holds the two equal): tabulate infers the type of every
    cell even with number parsing off, most of the time of a 10,000-row table.
    Each column as wide as its widest cell or its header and two spaces."""
    widths = [len(h) + 2 for h in headers]
    for i, column in enumerate(zip(*cells, strict=True)):
        widths[i] = max(widths[i], max(map(len, column)))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
    return "\n".join(lines)


def render_record(record: Mapping[str, object], fmt: str = "table") -> str:
    """One object: field/value lines for people, one JSON object for scripts."""
    if fmt in ("json", "jsonl"):
        indent = 2 if fmt == "json" else None
        return _json(dict(record), indent=indent)
    if fmt == "csv":
        return render([record], list(record), "csv")
    width = max((len(k) for k in record), default=0)
    lines = []
    for key, value in record.items():
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            lines.append(f"{key}:")
            lines.extend(
                "  " + line for line in render(value, list(value[0]), "table").splitlines()
            )
        else:
            lines.append(f"{terminal_safe(key).ljust(width)}  {_cell(value)}")
    return "\n".join(lines)
