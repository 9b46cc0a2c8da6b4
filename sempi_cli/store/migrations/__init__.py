"""Numbered schema migrations, applied on open, each in its own transaction.

A released migration is never edited: a change of schema is a new module
``mNNN_<what>.py`` holding ``SQL`` (or, when rows must be moved by code, a
``run(conn)`` function) and a line in ``STEPS``. The schema version (``PRAGMA
user_version``) is the number of migrations applied.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sempi_cli.errors import StoreUnusable
from sempi_cli.i18n import gettext
from sempi_cli.store.constants import APPLICATION_ID
from sempi_cli.store.migrations import (
    m001_initial,
    m002_security,
    m003_tasks,
    m004_checklists,
    m005_timers,
    m006_scheduler,
    m007_documents,
    m008_mail,
    m009_onboarding,
    m010_documents,
    m011_mail_practice,
    m012_outbox_secrets_out,
    m013_fiscal_tasks,
    m014_form_year_periods,
    m015_client_profiles,
    m016_chat,
    m017_consent,
    m018_coupons,
    m019_language,
    m020_signing,
    m021_task_origin,
    m022_events,
    m023_automation,
    m024_events_lean,
)
from sempi_cli.store.script import statements
from sempi_cli.store.transaction import checkpoint, write_transaction

STEPS: list[tuple[str, str | Callable[[sqlite3.Connection], None]]] = [
    ("m001_initial", m001_initial.SQL),
    ("m002_security", m002_security.SQL),
    ("m003_tasks", m003_tasks.SQL),
    ("m004_checklists", m004_checklists.SQL),
    ("m005_timers", m005_timers.SQL),
    ("m006_scheduler", m006_scheduler.SQL),
    ("m007_documents", m007_documents.SQL),
    ("m008_mail", m008_mail.SQL),
    ("m009_onboarding", m009_onboarding.SQL),
    ("m010_documents", m010_documents.SQL),
    ("m011_mail_practice", m011_mail_practice.SQL),
    ("m012_outbox_secrets_out", m012_outbox_secrets_out.run),
    ("m013_fiscal_tasks", m013_fiscal_tasks.SQL),
    ("m014_form_year_periods", m014_form_year_periods.run),
    ("m015_client_profiles", m015_client_profiles.SQL),
    ("m016_chat", m016_chat.run),
    ("m017_consent", m017_consent.SQL),
    ("m018_coupons", m018_coupons.SQL),
    ("m019_language", m019_language.SQL),
    ("m020_signing", m020_signing.SQL),
    ("m021_task_origin", m021_task_origin.SQL),
    ("m022_events", m022_events.SQL),
    ("m023_automation", m023_automation.SQL),
    ("m024_events_lean", m024_events_lean.SQL),
]
LATEST = len(STEPS)

# A PostgreSQL store is made at the latest schema, translated from the SQLite one
# (store/pg_schema.py); none exists below this one. A later step runs there too,
# in its own transaction: its entry here where its SQL differs, else the same.
POSTGRES_BASELINE = 24
POSTGRES: dict[str, str | Callable[[sqlite3.Connection], None]] = {}


def migrate(conn: sqlite3.Connection) -> None:
    """Apply pending migrations, one ``BEGIN IMMEDIATE`` transaction each.

    Two processes opening a new store at once are safe: the second waits for
    the write lock, then finds nothing pending.
    """
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    migrations = sqlite_utils.Migrations("sempi")
    for name, sql in STEPS:
        migrations(name=name)(runner(sql))
    # Foreign keys off while tables are rebuilt; checked before each commit.
    conn.execute("PRAGMA foreign_keys = OFF")
    applied = False
    while True:
        with write_transaction(conn):
            pending = migrations.pending(db)
            if not pending:
                break
            applied = True
            migrations.apply(db, stop_before=[m.name for m in pending[1:]])
            conn.execute(f"PRAGMA user_version = {len(migrations.applied(db))}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                broke = gettext("migration {name} broke a foreign key")
                raise StoreUnusable(broke.format(name=pending[0].name))
    if applied:  # old page images (a secret a migration erased) leave the -wal file now
        checkpoint(conn)


def runner(step: str | Callable[[sqlite3.Connection], None]):
    def run(db) -> None:
        if callable(step):
            step(db.conn)
            return
        for statement in statements(step):
            db.conn.execute(statement)

    run.__name__ = "run"
    return run
