"""The only place that knows how sempi talks to its store: SQLite, or PostgreSQL."""

from __future__ import annotations

from sempi_cli.store.connection import cache_for_bulk, open_store
from sempi_cli.store.transaction import checkpoint, file_of, write_transaction

__all__ = [
    "cache_for_bulk",
    "checkpoint",
    "file_of",
    "open_store",
    "write_transaction",
]
