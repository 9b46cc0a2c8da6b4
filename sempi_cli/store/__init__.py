"""The only place that knows how sempi talks to SQLite."""

from __future__ import annotations

from sempi_cli.store.connection import open_store
from sempi_cli.store.transaction import checkpoint, file_of, write_transaction

__all__ = ["checkpoint", "file_of", "open_store", "write_transaction"]
