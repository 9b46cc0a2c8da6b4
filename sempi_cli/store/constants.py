"""The store's fixed numbers and pragmas, in a module that imports nothing of ours
(the migrations and the connection both read them)."""

import sqlite3

APPLICATION_ID = 0x53454D50  # "SEMP"
# The schema this code works on: the number of migrations (store/migrations'
# LATEST; tests/test_store.py keeps them equal). Here so that opening a store at
# this schema does not import the sixteen migration modules.
SCHEMA_VERSION = 24
BUSY_TIMEOUT_MS = 10_000
SQLITE_HEADER = b"SQLite format 3\x00"
WORLD_BITS = 0o006  # read or write for "other": refused (group bits are a deployment's choice)

# synchronous=FULL rather than NORMAL: in WAL mode NORMAL may lose the last
# commits on power loss; a lost deadline or audit row costs more than an
# fsync per command.
# A page size fixed when the store is made (SQLite cannot change it in WAL mode).
# 16 KiB rather than SQLite's 4 KiB: a document's content is a chain of overflow
# pages, each one a WAL frame and two write() calls, and a backlog import wrote
# its blobs 35% faster; the task and deadline tables are no slower (bench/).
PAGE_SIZE = 16384
PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous = FULL",
    "PRAGMA secure_delete = ON",
    "PRAGMA trusted_schema = OFF",
)


class SchemaElsewhere(Exception):
    """The store's schema is not the one open_current was told (older: migrations
    pending; newer: a newer sempi made it). Raised before anything was changed."""


class WriteConflict(sqlite3.OperationalError):
    """PostgreSQL found that a transaction narrowed to its own rows (a serializable
    one, store/transaction.py) conflicted with another, or deadlocked: nothing of it
    was kept, and the whole command may run again ("locked": exit 9 if it cannot)."""
