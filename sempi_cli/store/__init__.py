"""The only place that knows how sempi talks to SQLite."""

from __future__ import annotations

from sempi_cli.store.connection import open_store
from sempi_cli.store.transaction import checkpoint, write_transaction

__all__ = ["checkpoint", "open_store", "write_transaction"]
