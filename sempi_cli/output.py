"""Rendering rows for people (tables, excel) and for scripts (json, jsonl, csv).

Pure: rows in, text out. JSON is a stable contract: snake_case keys, ISO
timestamps, integer ids, booleans as booleans, null for missing values.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from sempi_cli import i18n
from sempi_cli.i18n import NP_

FORMATS = ("table", "json", "jsonl", "csv", "excel")
_ITALIAN_MARKS = str.maketrans(",.", ".,")

# The values a person reads in a table as words of their language (docs/glossario.md,
# "Parole di stato"), by the column they stand in: JSON and the default CSV keep the
# values themselves, which are also what a person types (--status in_progress).
VALUE_WORDS: dict[str, frozenset[str]] = {
    "status": frozenset(
        (
            NP_("status", "pending"),
            NP_("status", "in_progress"),
            NP_("status", "awaiting_approval"),
            NP_("status", "completed"),
            NP_("status", "deferred"),
            NP_("status", "upcoming"),
            NP_("status", "overdue"),
            NP_("status", "done"),
            NP_("status", "cancelled"),
            NP_("status", "queued"),
            NP_("status", "sending"),
            NP_("status", "sent"),
            NP_("status", "failed"),
            NP_("status", "running"),
            NP_("status", "ok"),
            NP_("status", "interrupted"),
            NP_("status", "declined"),
            NP_("status", "expired"),
        )
    ),
    # A signer's decision and the events of a request sent for signature (sign status).
    "outcome": frozenset((NP_("outcome", "accepted"), NP_("outcome", "declined"))),
    "event": frozenset(
        (
            NP_("event", "created"),
            NP_("event", "sent"),
            NP_("event", "viewed"),
            NP_("event", "code_sent"),
            NP_("event", "code_verified"),
            NP_("event", "accepted"),
            NP_("event", "declined"),
            NP_("event", "completed"),
            NP_("event", "expired"),
        )
    ),
    "role": frozenset(
        (
            NP_("role", "firm-admin"),
            NP_("role", "staff"),
            NP_("role", "studio-admin"),
            NP_("role", "studio-operator"),
            NP_("role", "external"),
            NP_("role", "responsible"),
            NP_("role", "participant"),
            NP_("role", "observer"),
            NP_("role", "creator"),
        )
    ),
    "kind": frozenset(
        (
            NP_("kind", "general"),
            NP_("kind", "public"),
            NP_("kind", "private"),
            NP_("kind", "group"),
            NP_("kind", "ordinary"),
            NP_("kind", "extraordinary"),
            NP_("kind", "message"),
            NP_("kind", "mention"),
            NP_("kind", "task"),
            NP_("kind", "invitation"),
            NP_("kind", "document"),
            NP_("kind", "reminder"),
            NP_("kind", "timer"),
            NP_("kind", "deadline"),
            NP_("kind", "consent"),
            NP_("kind", "coupon"),
        )
    ),
    "channel": frozenset(
        (
            NP_("channel", "inbox"),
            NP_("channel", "email"),
            NP_("channel", "both"),
            NP_("channel", "off"),
        )
    ),
    "answer": frozenset((NP_("answer", "yes"), NP_("answer", "no"))),
    "flags": frozenset((NP_("flags", "overdue"), NP_("flags", "!overdue"))),
    "cadence": frozenset(
        (
            NP_("cadence", "month"),
            NP_("cadence", "quarter"),
            NP_("cadence", "year"),
            NP_("cadence", "instalment"),
        )
    ),
    "post_policy": frozenset((NP_("post_policy", "everyone"), NP_("post_policy", "admins"))),
    # What a batch did with each row (client-onboard batch) or each client (renew,
    # request), and what a task's history and the activity log record (their action names).
    "action": frozenset(
        (
            NP_("action", "create"),
            NP_("action", "start"),
            NP_("action", "done"),
            NP_("action", "approve"),
            NP_("action", "defer"),
            NP_("action", "reopen"),
            NP_("action", "return"),
            NP_("action", "edit"),
            NP_("action", "comment"),
            NP_("action", "add_observer"),
            NP_("action", "add_participant"),
            NP_("action", "remove_observer"),
            NP_("action", "remove_participant"),
            NP_("action", "tag"),
            NP_("action", "untag"),
            NP_("action", "add_checklist"),
            NP_("action", "remove_checklist"),
            NP_("action", "add_item"),
            NP_("action", "check_item"),
            NP_("action", "uncheck_item"),
            NP_("action", "edit_item"),
            NP_("action", "attach_file"),
            NP_("action", "detach_file"),
            NP_("action", "time_add"),
            NP_("action", "time_edit"),
            NP_("action", "timer_start"),
            NP_("action", "pause"),
            NP_("action", "recur"),
            NP_("action", "from_template"),
            NP_("action", "reason"),
            NP_("action", "reassign"),
            NP_("action", "init"),
            NP_("action", "add"),
            NP_("action", "remove"),
            NP_("action", "add_member"),
            NP_("action", "remove_member"),
            NP_("action", "onboard"),
            NP_("action", "queue"),
            NP_("action", "migrate"),
            NP_("action", "login"),
            NP_("action", "logout"),
            NP_("action", "scheduler.run"),
            NP_("action", "disable"),
            NP_("action", "enable"),
            NP_("action", "password"),
            NP_("action", "unlock"),
            NP_("action", "backup"),
            NP_("action", "migrate_to"),
            NP_("action", "created"),
            NP_("action", "updated"),
            NP_("action", "unchanged"),
            NP_("action", "refused"),
            NP_("action", "skipped"),
            NP_("action", "automation_failed"),
            NP_("action", "automation_run"),
            NP_("action", "automation_stopped"),
            NP_("action", "hooks_retried"),
            NP_("action", "hooks_skipped"),
            NP_("action", "accept"),
            NP_("action", "activate"),
            NP_("action", "add_default"),
            NP_("action", "add_from_template"),
            NP_("action", "answer"),
            NP_("action", "app_password_added"),
            NP_("action", "app_password_revoked"),
            NP_("action", "app_password_used"),
            NP_("action", "archive"),
            NP_("action", "auth_failed"),
            NP_("action", "cancel"),
            NP_("action", "chat_message_deleted"),
            NP_("action", "chat_message_edited"),
            NP_("action", "code_sent"),
            NP_("action", "code_verified"),
            NP_("action", "code_wrong"),
            NP_("action", "complete"),
            NP_("action", "decline"),
            NP_("action", "deliver"),
            NP_("action", "erase"),
            NP_("action", "expire"),
            NP_("action", "export"),
            NP_("action", "failed"),
            NP_("action", "first_access"),
            NP_("action", "follow_responsible"),
            NP_("action", "hand_over"),
            NP_("action", "import"),
            NP_("action", "invite"),
            NP_("action", "join"),
            NP_("action", "kill_session"),
            NP_("action", "leave"),
            NP_("action", "lock"),
            NP_("action", "move"),
            NP_("action", "nickname"),
            NP_("action", "open"),
            NP_("action", "otp_enabled"),
            NP_("action", "password_rehashed"),
            NP_("action", "profile"),
            NP_("action", "recovery_code_used"),
            NP_("action", "recovery_regenerated"),
            NP_("action", "recur_run"),
            NP_("action", "rename"),
            NP_("action", "request"),
            NP_("action", "retry"),
            NP_("action", "scheduler.override"),
            NP_("action", "scheduler.override_removed"),
            NP_("action", "scheduler.template"),
            NP_("action", "sent"),
            NP_("action", "set"),
            NP_("action", "set_notification_pref"),
            NP_("action", "set_option"),
            NP_("action", "unlink"),
            NP_("action", "upgrade"),
            NP_("action", "usage"),
        )
    ),
    "result": frozenset(
        (
            NP_("result", "renewed"),
            NP_("result", "would renew"),
            NP_("result", "refused"),
            NP_("result", "skipped"),
            NP_("result", "requested"),
            NP_("result", "would request"),
            NP_("result", "not eligible"),
        )
    ),
    "response": frozenset(
        (
            NP_("response", "pending"),
            NP_("response", "consented"),
            NP_("response", "refused"),
        )
    ),
    "request": frozenset(
        (
            NP_("request", "not_requested"),
            NP_("request", "sent"),
            NP_("request", "delivered"),
            NP_("request", "failed"),
        )
    ),
}

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
    dates, yes/no and decimals in the reader's language, terminal-safe."""
    if type(value) is str and (len(value) < 10 or value[4:5] != "-"):
        text = value  # plain text, the common cell: no date to rewrite
    elif type(value) is bool:
        text = i18n.gettext("yes") if value else i18n.gettext("no")
    elif type(value) is float and i18n.current() == "it" and math.isfinite(value):
        text = format(value, ",").translate(_ITALIAN_MARKS)  # 1.234,5
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


# `--format excel`: the CSV an Italian Excel opens with a double click. Its list
# separator is ";" (the comma is the decimal mark), it reads UTF-8 only after a BOM,
# and it takes "1234,5", "31/12/2026" and "31/12/2026 14:30" as a number, a date and
# a time. The BOM is the output's first character, once; lines end in CRLF.
BOM = "\ufeff"


def _excel_number(value: int | float) -> str:
    """A number as an Italian Excel reads it: a decimal comma, no thousands
    separator, never an exponent (Excel would take "1e-07" for text)."""
    if type(value) is int or not math.isfinite(value):
        return str(value)
    text = repr(value)
    if "e" in text or "E" in text:
        from decimal import Decimal

        text = format(Decimal(text), "f")
    return text.replace(".", ",")


def _excel_text(value: object) -> str:
    """A value as the text of an Excel cell: Rome times, Italian dates, sì/no,
    decimal commas inside lists too."""
    if isinstance(value, bool):
        return "sì" if value else "no"
    if isinstance(value, int | float):
        return _excel_number(value)
    if isinstance(value, list | tuple):
        return ", ".join(_excel_text(v) for v in value)
    return _text(for_people(value))


# Digits Excel would turn into a number and so lose: a partita IVA or codice
# fiscale with leading zeros ("00488410010"), a code longer than Excel's 15
# significant digits. ="00488410010" is the text itself: a formula made of digits
# only, nothing a spreadsheet could run.
_KEEP_DIGITS = re.compile(r"0\d+|\d{16,}", re.ASCII)


def _excel_cell(value: object) -> str:
    """One cell: a number stays a number ("-3,5" is not a formula); text keeps
    the csv format's formula guard and control-character rule (_csv_cell)."""
    kind = type(value)
    if kind is int or kind is float:
        return _excel_number(value)  # type: ignore[arg-type]
    if value is None:
        return ""
    text = _excel_text(value)
    if _KEEP_DIGITS.fullmatch(text):
        return f'="{text}"'
    return str(_csv_cell(text))


def _excel(rows: list[Mapping[str, object]], columns: Sequence[str]) -> str:
    from sempi_cli.headers_it import italian_header

    with i18n.speaking("it"):
        rows = _in_words(rows, columns)
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_csv_cell(italian_header(c)) for c in columns])
    writer.writerows([_excel_cell(r.get(c)) for c in columns] for r in rows)
    return buffer.getvalue().removesuffix("\r\n")


def line_end(fmt: str) -> str:
    """What ends the last line of ``fmt``'s output (render leaves it off): CRLF for
    Excel, as every other line of it; a newline for the rest."""
    return "\r\n" if fmt == "excel" else "\n"


def render(rows: Iterable[Mapping[str, object]], columns: Sequence[str], fmt: str = "table") -> str:
    """A list of records; ``columns`` picks and orders the fields shown."""
    rows = list(rows)
    if fmt == "excel":
        return _excel(rows, columns)
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
    if i18n.current() != "en":
        rows = _in_words(rows, columns)
    cells = [[_cell(r.get(c)).strip() for c in columns] for r in rows]
    headers = _headers(columns)
    if any("\n" in cell for row in cells for cell in row):
        from tabulate import tabulate  # a cell of several lines: tabulate lays it out

        return tabulate(cells, headers=headers, tablefmt="simple", disable_numparse=True)
    return simple_table(cells, headers)


def _in_words(
    rows: list[Mapping[str, object]], columns: Sequence[str]
) -> list[Mapping[str, object]]:
    """``rows`` with the values of VALUE_WORDS' columns as words of this language."""
    worded = [c for c in columns if c in VALUE_WORDS]
    if not worded:
        return rows
    out = []
    for row in rows:
        row = dict(row)
        for column in worded:
            value = row.get(column)
            if type(value) is str and value in VALUE_WORDS[column]:
                row[column] = i18n.pgettext(column, value)
        out.append(row)
    return out


def _headers(columns: Sequence[str]) -> list[str]:
    """The column names a person reads: Italian words in Italian (headers_it.py,
    as --format excel writes them), the names themselves in English."""
    if i18n.current() != "it":
        return list(columns)
    from sempi_cli.headers_it import italian_header

    return [italian_header(c) for c in columns]


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
    if fmt in ("csv", "excel"):
        return render([record], list(record), fmt)
    if i18n.current() != "en":
        record = _in_words([record], list(record))[0]
    names = dict(zip(record, _headers(list(record)), strict=True))
    width = max((len(k) for k in names.values()), default=0)
    lines = []
    for key, value in record.items():
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            lines.append(f"{names[key]}:")
            lines.extend(
                "  " + line for line in render(value, list(value[0]), "table").splitlines()
            )
        else:
            lines.append(f"{terminal_safe(names[key]).ljust(width)}  {_cell(value)}")
    return "\n".join(lines)
