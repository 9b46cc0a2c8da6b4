"""SQL text that must read the same on both engines (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

from sempi_cli.store.transaction import engine

# LIMIT's "no limit" on both engines (SQLite's -1 is refused by PostgreSQL, whose
# NULL SQLite refuses): the largest integer either stores.
NO_LIMIT = 2**63 - 1


def in_marks(values: Sized) -> str:
    """The placeholders of ``x IN (...)`` for ``values``: ``?, ?, ?``, and ``NULL``
    for none (``IN ()`` is SQLite's alone; ``IN (NULL)`` matches no row on either
    engine). Not for ``NOT IN``, which NULL would make match nothing."""
    return ", ".join("?" * len(values)) or "NULL"


def listed(db: Any, param: str, kind: str = "integer") -> str:
    """The subquery of the values in the JSON array bound to ``param`` (``?`` or
    ``:name``), for ``x IN (...)`` over a list of any length with one parameter:
    SQLite's ``json_each``; on PostgreSQL the array's elements, typed ``kind``
    (``integer`` or ``text``) so they compare with the column."""
    if engine(db) == "postgresql":
        value = "value::bigint" if kind == "integer" else "value"
        return f"SELECT {value} FROM json_array_elements_text(CAST({param} AS json))"
    return f"SELECT value FROM json_each({param})"


def indexed_by(db: Any, table: str, index: str) -> str:
    """``table`` (with its alias) read through ``index``: SQLite's planner is told
    (INDEXED BY); PostgreSQL's chooses by its statistics, and takes no such hint."""
    return table if engine(db) == "postgresql" else f"{table} INDEXED BY {index}"


def json_field(db: Any, column: str, key: str) -> str:
    """The text of the top-level ``key`` of the JSON object in ``column``."""
    if engine(db) == "postgresql":
        return f"(CAST({column} AS json) ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def joined(db: Any, expression: str, separator: str) -> str:
    """The aggregate joining ``expression``'s values with ``separator`` (no order)."""
    if engine(db) == "postgresql":
        return f"string_agg(CAST({expression} AS text), '{separator}')"
    return f"group_concat({expression}, '{separator}')"


# The Rome wall-clock date of a stored UTC instant. SQLite has no time zones: EU
# summer time runs from 01:00 UTC on the last Sunday of March (the first Sunday on
# or after 25 March) to 01:00 UTC on the last Sunday of October; stored instants
# compare as text ('...T01:00:00+00:00' sorts after '...T01:00:00', so the switch
# instant itself already has the new offset).
_DST_START = "date(substr({s}, 1, 4) || '-03-25', 'weekday 0') || 'T01:00:00'"
_DST_END = "date(substr({s}, 1, 4) || '-10-25', 'weekday 0') || 'T01:00:00'"


def rome_day(db: Any, column: str) -> str:
    """The Rome date (YYYY-MM-DD) of the UTC instant stored in ``column``."""
    if engine(db) == "postgresql":
        return f"to_char(CAST({column} AS timestamptz) AT TIME ZONE 'Europe/Rome', 'YYYY-MM-DD')"
    start, end = _DST_START.format(s=column), _DST_END.format(s=column)
    return (
        f"date({column}, CASE WHEN {column} >= {start} AND {column} < {end}"
        " THEN '+2 hours' ELSE '+1 hours' END)"
    )


def monday_of(db: Any, day: str) -> str:
    """The Monday (YYYY-MM-DD) of the week of ``day``, a date's SQL text."""
    if engine(db) == "postgresql":
        return f"to_char(date_trunc('week', CAST({day} AS date)), 'YYYY-MM-DD')"
    return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"


def highest_id_ever(db: Any, table: str) -> str:
    """The highest id ``table`` has ever given (a row since removed included): its
    AUTOINCREMENT counter, or PostgreSQL's identity sequence."""
    if engine(db) == "postgresql":
        return (
            "coalesce(pg_sequence_last_value(CAST(pg_get_serial_sequence("
            f"'{table}', 'id') AS regclass)), 0)"
        )
    return f"coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0)"
