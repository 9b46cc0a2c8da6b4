"""The only place that knows how sempi talks to its store: SQLite, or PostgreSQL."""

from __future__ import annotations

from sempi_cli.store.connection import cache_for_bulk, is_postgres, open_store
from sempi_cli.store.transaction import checkpoint, file_of, write_transaction

__all__ = [
    "cache_for_bulk",
    "checkpoint",
    "file_of",
    "is_postgres",
    "open_store",
    "write_transaction",
]
