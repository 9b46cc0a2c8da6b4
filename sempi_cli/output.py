"""Rendering rows for people (tables) and for scripts (json, jsonl, csv).

Pure: rows in, text out. JSON is a stable contract: snake_case keys, ISO
timestamps, integer ids, booleans as booleans, null for missing values.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence

FORMATS = ("table", "json", "jsonl", "csv")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


# A spreadsheet reads a cell starting with one of these as a formula (CSV injection):
# such text cells get a leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> str:
    text = _cell(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return text  # a number is never a formula, "-3" stays a number
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render(rows: Iterable[Mapping[str, object]], columns: Sequence[str], fmt: str = "table") -> str:
    """A list of records; ``columns`` picks and orders the fields shown."""
    rows = list(rows)
    if fmt == "json":
        return json.dumps(
            [{c: r.get(c) for c in columns} for r in rows], ensure_ascii=False, indent=2
        )
    if fmt == "jsonl":
        return "\n".join(
            json.dumps({c: r.get(c) for c in columns}, ensure_ascii=False) for r in rows
        )
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
    from tabulate import tabulate

    return tabulate(
        [[_cell(r.get(c)) for c in columns] for r in rows],
        headers=list(columns),
        tablefmt="simple",
        disable_numparse=True,
    )


def render_record(record: Mapping[str, object], fmt: str = "table") -> str:
    """One object: field/value lines for people, one JSON object for scripts."""
    if fmt in ("json", "jsonl"):
        indent = 2 if fmt == "json" else None
        return json.dumps(dict(record), ensure_ascii=False, indent=indent)
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
            lines.append(f"{key.ljust(width)}  {_cell(value)}")
    return "\n".join(lines)
