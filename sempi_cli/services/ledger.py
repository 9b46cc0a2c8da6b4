"""Append-only, hash-chained records: the one implementation every domain that
must show its record was not edited behind the tool's back uses (consent
answers today, signature evidence next; DESIGN.md).

A ledger table has ``id``, ``prev_hash`` and ``row_hash`` besides its own
columns, and its migration adds triggers that refuse UPDATE and DELETE. Each
row's ``row_hash`` is the SHA-256 of the previous row's hash and of the row's
own content in a canonical form (JSON, sorted keys), so a row changed, removed
or inserted with the file open in `sqlite3` breaks the chain from there on,
and ``verify`` names the first row that does not hold.

``append`` runs in the caller's write transaction (``BEGIN IMMEDIATE``): two
processes appending at once are serialised, and each links to the other.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Mapping, Sequence

from sempi_cli.errors import StoreUnusable
from sempi_cli.i18n import gettext as _

GENESIS = "0" * 64  # the "previous hash" of a ledger's first row
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# One encoder for every row: json.dumps with options builds a new one per call,
# a quarter of the time `verify` takes over 100,000 rows.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(content: Mapping[str, object]) -> bytes:
    """A row's content as the bytes its hash covers: JSON with sorted keys."""
    return _ENCODER.encode(dict(content)).encode()


def link(prev_hash: str, content: Mapping[str, object]) -> str:
    """The hash of a row that follows ``prev_hash`` and holds ``content``."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(content)).hexdigest()


def _name(table: str) -> str:
    if not _IDENTIFIER.fullmatch(table):
        raise ValueError(f"not a table name: {table!r}")
    return table


def append(db: sqlite3.Connection, table: str, content: Mapping[str, object]) -> int:
    """Add a row holding ``content`` (its columns other than id and the hashes)
    after the ledger's last row; returns its id."""
    table = _name(table)
    last = db.execute(f"SELECT row_hash FROM {table} ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = last[0] if last is not None else GENESIS
    columns = [_name(c) for c in content]
    row = db.execute(
        f"INSERT INTO {table} ({', '.join(columns)}, prev_hash, row_hash)"
        f" VALUES ({', '.join('?' * len(columns))}, ?, ?) RETURNING id",
        (*content.values(), prev_hash, link(prev_hash, content)),
    ).fetchone()
    return int(row[0])


def verify(db: sqlite3.Connection, table: str, columns: Sequence[str]) -> dict:
    """Recompute the chain of ``table`` over ``columns`` (the content ``append``
    was given). {"rows": n, "ok": bool, "first_bad": id or None, "problem": text}."""
    table = _name(table)
    names = [_name(c) for c in columns]
    prev_hash, count = GENESIS, 0
    cursor = db.execute(
        f"SELECT id, prev_hash, row_hash, {', '.join(names)} FROM {table} ORDER BY id"
    )
    cursor.row_factory = None  # plain tuples: no Row object per row
    for row in cursor:
        count += 1
        content = dict(zip(names, row[3:], strict=True))
        problem = None
        if row[1] != prev_hash:
            problem = _("does not follow the row before it (a row was removed, added or changed)")
        elif row[2] != link(prev_hash, content):
            problem = _("its content is not what was recorded")
        if problem is not None:
            return {"rows": count, "ok": False, "first_bad": row[0], "problem": problem}
        prev_hash = row[2]
    return {"rows": count, "ok": True, "first_bad": None, "problem": None}


def require_intact(result: dict, broken: str) -> None:
    """StoreUnusable (exit 10) when ``result`` (of ``verify``) says the chain does not
    hold: ``broken`` names the record and its first bad row, in the record's words."""
    if not result["ok"]:
        raise StoreUnusable(
            f"{broken}: {result['problem']}",
            _(
                "the file was edited outside sempi: restore it from a backup and keep"
                " this copy as evidence"
            ),
        )
