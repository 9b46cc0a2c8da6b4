"""Activation codes leave the store: a copy of it must not activate an account.

Until now a queued invitation kept its code in clear in ``mail_outbox.secret_values``.
The code of every message that may still go out (``queued``, or ``sending`` and
waiting for a person's decision) moves to a file in the outbox spool beside the
store (store/spool.py), the row keeping only the file's name and SHA-256; then
the column is emptied and dropped (``secure_delete`` zeroes the old bytes, and
migrate() checkpoints the write-ahead log afterwards so no old page survives in
``-wal``). A code that cannot be moved (a store in memory, a spool folder that
cannot be written) is not kept either: its message is marked ``failed`` with
MOVE_FAILED, and inviting the user again (`sempi mail invite USER`, or re-running
the onboarding) sends a new code, as for any invitation whose e-mail failed.
"""

from __future__ import annotations

import sqlite3
from functools import partial

from sempi_cli.errors import StoreUnusable
from sempi_cli.store import spool
from sempi_cli.store.transaction import on_rollback

MOVE_FAILED = (
    "its one-time code could not be moved out of the store when sempi was upgraded"
    " (the outbox spool could not be written): send a new invitation with"
    " 'sempi mail invite ADDRESS --resend'"
)

ADD = (
    # The name of the spool file holding the message's secret values, and its SHA-256.
    "ALTER TABLE mail_outbox ADD COLUMN secret_file TEXT",
    "ALTER TABLE mail_outbox ADD COLUMN secret_sha256 TEXT",
)


def run(conn: sqlite3.Connection) -> None:
    for statement in ADD:
        conn.execute(statement)
    folder = spool.folder_of(conn)
    made = folder is not None and not folder.exists()
    pending = conn.execute(
        "SELECT id, secret_values FROM mail_outbox"
        " WHERE secret_values IS NOT NULL AND status IN ('queued', 'sending')"
    ).fetchall()
    for mail_id, values in pending:
        try:
            name, digest = spool.write(folder, values.encode())
        except StoreUnusable:
            conn.execute(
                "UPDATE mail_outbox SET status = 'failed', next_attempt_at = NULL,"
                " claimed_at = NULL, last_error = ? WHERE id = ?",
                (MOVE_FAILED, mail_id),
            )
            continue
        on_rollback(conn, partial(spool.remove, folder, [name], prune=made))
        conn.execute(
            "UPDATE mail_outbox SET secret_file = ?, secret_sha256 = ? WHERE id = ?",
            (name, digest, mail_id),
        )
    conn.execute("UPDATE mail_outbox SET secret_values = NULL WHERE secret_values IS NOT NULL")
    conn.execute("ALTER TABLE mail_outbox DROP COLUMN secret_values")
