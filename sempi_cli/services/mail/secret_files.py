"""Where the secret of a queued message waits: a file beside the store, not the store.

An invitation's activation code logs its holder in (once they choose a
password), so it must not sit in the store, where a backup or a copy of the
file would carry it. The outbox keeps, in ``mail_outbox.secret_file`` and
``secret_sha256``, only the name and the SHA-256 of a file in the spool
(store/spool.py) holding the message's secret values as JSON. The file is
written inside the queueing transaction and removed if it rolls back; it is
removed once a committed change no longer needs it (sent, failed, cancelled,
withdrawn, erased); ``sweep`` removes any a crash left behind.

Part of services/mail/, the owner of ``mail_outbox``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from sempi_cli.services.mail.templates import fill_secrets
from sempi_cli.store import spool
from sempi_cli.store.transaction import after_commit, on_rollback

# The reader of a message whose secret file cannot be used: a new code, not a repair.
RESEND = "send a new invitation with 'sempi mail invite {to} --resend'"


def keep(db: sqlite3.Connection, values: dict[str, str]) -> tuple[str, str]:
    """Write ``values`` to a new spool file inside the caller's transaction (under
    its write lock); the file goes if that transaction (or savepoint) rolls back,
    and the folder too if this made it. Its name and SHA-256."""
    folder = spool.folder_of(db)
    made = folder is not None and not folder.exists()  # a dry run leaves no folder either
    name, digest = spool.write(folder, json.dumps(values).encode())
    on_rollback(db, lambda: spool.remove(folder, [name], prune=made))
    return name, digest


def drop_unused(db: sqlite3.Connection, name: str) -> None:
    """A file written for a row that was not inserted (its dedupe_key existed)."""
    spool.remove(spool.folder_of(db), [name])


def fill(
    db: sqlite3.Connection, item: dict, name: str | None, sha256: str | None
) -> tuple[str | None, str | None]:
    """The body of claimed message ``item`` as delivered, and None; or None and why
    not (its secret was erased, or its file is missing or cannot be trusted: the
    message must not go out with a placeholder)."""
    values, error = None, None
    if name is not None:
        try:
            values = _load(db, name, sha256 or "")
        except spool.SpoolError as exc:
            error = f"{exc}; {RESEND.format(to=item['to_address'])}"
    body = fill_secrets(item["kind"], item["body"], values)
    return (body, None) if body is not None else (None, error)


def _load(db: sqlite3.Connection, name: str, sha256: str) -> str:
    """The secret values (a JSON object of strings); spool.SpoolError when unusable."""
    data = spool.read(spool.folder_of(db), name, sha256)
    try:
        values = json.loads(data.decode())
    except ValueError:
        values = None
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise spool.SpoolError(f"its secret file {name} is not what sempi wrote")
    return json.dumps(values)


def forget(db: sqlite3.Connection, ids: Iterable[int]) -> None:
    """Messages ``ids`` no longer carry a secret: their rows stop naming a file, and
    the files go once the caller's transaction commits."""
    names = []
    for mail_id in ids:
        row = db.execute(
            "SELECT secret_file FROM mail_outbox WHERE id = ? AND secret_file IS NOT NULL",
            (mail_id,),
        ).fetchone()
        if row is None:
            continue
        db.execute(
            "UPDATE mail_outbox SET secret_file = NULL, secret_sha256 = NULL WHERE id = ?",
            (mail_id,),
        )
        names.append(row[0])
    if names:
        folder = spool.folder_of(db)
        after_commit(db, lambda: spool.remove(folder, names))


def sweep(db: sqlite3.Connection) -> int:
    """Remove spool files no message names; inside a write transaction (see spool.sweep)."""
    keep_ = {
        r[0]
        for r in db.execute("SELECT secret_file FROM mail_outbox WHERE secret_file IS NOT NULL")
    }
    return spool.sweep(spool.folder_of(db), keep_)
