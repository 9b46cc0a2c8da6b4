"""The evidence of a request sent for signature: every event, appended to the
``sign_events`` ledger (services/ledger.py), never changed.

Each row says what happened (``event``), to which request, who did it
(``user_id``; None for the system), when (``at_utc``, ISO 8601 in UTC with a Z,
and ``at_rome``, the same instant on the office's clock, Europe/Rome, with its
offset), through which channel (``sempi``, ``email``, ``totp``, ``system``), the
document's SHA-256 before and after the event when it concerns the file, and a
JSON ``detail`` (ids and instants only: the ledger can never be erased, so no
personal data goes into it). Triggers refuse UPDATE and DELETE (m020); each row
carries the hash of the one before it and of its own content, so ``verify``
finds a row changed, removed or inserted with the file open in ``sqlite3``.

These are plain functions over a connection: the request, code and accept
services call them inside their own write transaction, after their access
checks; whoever shows the evidence to a person checks that they may see it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping
from datetime import UTC

from sempi_cli.i18n import gettext as _
from sempi_cli.services import ledger
from sempi_cli.store import write_transaction

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sempi_cli.clock import Clock

TABLE = "sign_events"
# The content each row's hash covers: every column but id and the two hashes.
COLUMNS = (
    "request_id", "event", "user_id", "at_utc", "at_rome", "channel", "hash_before",
    "hash_after", "detail",
)  # fmt: skip
EVENTS = (
    "created", "sent", "viewed", "code_sent", "code_verified", "accepted", "declined",
    "completed", "expired",
)  # fmt: skip
CHANNELS = ("sempi", "email", "totp", "system")
_SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")


def _sha256(value: str | None, name: str) -> str | None:
    if value is not None and not _SHA256.match(value):
        raise ValueError(f"{name} is not a SHA-256 in hex: {value!r}")
    return value


def record(
    db: sqlite3.Connection,
    clock: Clock,
    request_id: int,
    event: str,
    *,
    user_id: int | None,
    channel: str,
    hash_before: str | None = None,
    hash_after: str | None = None,
    detail: Mapping[str, object] | None = None,
) -> int:
    """Append one event of request ``request_id``; returns its row id.

    ``event`` is one of EVENTS, ``channel`` one of CHANNELS, the hashes lowercase
    hex SHA-256 (or None), ``detail`` a small JSON object (ids, instants; no
    personal data). Runs inside the caller's write transaction (a savepoint of
    it), or in one of its own when called outside any. A wrong event, channel or
    hash is a bug of the caller: ValueError, nothing written."""
    if event not in EVENTS:
        raise ValueError(f"not a signature event: {event!r}")
    if channel not in CHANNELS:
        raise ValueError(f"not a signature channel: {channel!r}")
    from sempi_cli.clock import ROME

    now = clock.now()
    content = {
        "request_id": request_id,
        "event": event,
        "user_id": user_id,
        "at_utc": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "at_rome": now.astimezone(ROME).isoformat(timespec="seconds"),
        "channel": channel,
        "hash_before": _sha256(hash_before, "hash_before"),
        "hash_after": _sha256(hash_after, "hash_after"),
        "detail": None if detail is None else ledger.canonical(detail).decode(),
    }
    with write_transaction(db):  # the chain's last row is read under the write lock
        return ledger.append(db, "sign_events", content)


def events(db: sqlite3.Connection, request_id: int) -> list[dict]:
    """The events of request ``request_id``, oldest first: the columns of
    ``sign_events`` (``detail`` parsed back into a dict, or None)."""
    rows = db.execute(
        f"SELECT id, {', '.join(COLUMNS)}, prev_hash, row_hash FROM {TABLE}"
        " WHERE request_id = ? ORDER BY id",
        (request_id,),
    ).fetchall()
    found = []
    for row in rows:
        item = dict(zip(("id", *COLUMNS, "prev_hash", "row_hash"), tuple(row), strict=True))
        item["detail"] = None if item["detail"] is None else json.loads(item["detail"])
        found.append(item)
    return found


def check(db: sqlite3.Connection) -> dict:
    """Recompute the whole chain without raising: {"table", "rows", "ok",
    "first_bad" (a row id or None), "problem" (a line for people, or None)}.
    For `sign verify FILE`, which reports an altered record as its verdict."""
    return {"table": TABLE, **ledger.verify(db, TABLE, COLUMNS)}


def verify(db: sqlite3.Connection) -> dict:
    """The chain holds: {"table", "rows", "ok": True}; else StoreUnusable (exit 10)
    naming the first event that does not hold, as `consent verify` does. The
    caller checks who may ask (it reads every request's evidence)."""
    result = check(db)
    ledger.require_intact(
        result,
        _("the signature evidence record is broken at event {event}").format(
            event=result["first_bad"]
        ),
    )
    return {"table": TABLE, "rows": result["rows"], "ok": True}
