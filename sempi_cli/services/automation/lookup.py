"""What automation there is for an event kind, looked up at every write, light
enough for every command: the hooks' folder and its listing, whether --no-hooks
holds, the kind's enabled rules. reactor.py, hooks.py and engine.py read them
here (and so import none of one another's machinery for it).
"""

from __future__ import annotations

import os
import sqlite3
from contextvars import ContextVar

from sempi_cli.services import settings_read
from sempi_cli.store.transaction import file_of

# --no-hooks: a firm administrator's command runs without the before-hooks
# (hooks.skip_before_hooks sets it, audited).
skipping_before_hooks: ContextVar[bool] = ContextVar("sempi_skip_before_hooks", default=False)

# A folder's listing, kept while its mtime stays (a file added or removed changes it).
_listings: dict[str, tuple[int, frozenset[str]]] = {}

Rules = tuple[tuple[int, str], ...]  # the enabled rules of a kind: (id, stored conditions)


def enabled_rules(db: sqlite3.Connection, kind: str) -> Rules:
    query = "SELECT id, conditions FROM automation_rules WHERE on_kind = ? AND enabled = 1"
    return tuple((int(row[0]), str(row[1])) for row in db.execute(f"{query} ORDER BY id", (kind,)))


def folder_text(db: sqlite3.Connection) -> str:
    """The hooks' folder: the setting, else ``hooks`` beside the store file. As text,
    for every write's look: SQLite names the store by its absolute path, so nothing
    is resolved (a system call for each part of the path), and no Path is made."""
    return settings_read.get(db, "automation.hooks_dir") or os.path.join(
        os.path.dirname(file_of(db)), "hooks"
    )


def names(where: os.PathLike[str] | str) -> frozenset[str]:
    """The file names in the folder (none when it is absent), cached by its mtime."""
    key = os.fspath(where)
    try:
        mtime = os.stat(key).st_mtime_ns
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()
    cached = _listings.get(key)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    listing = frozenset(os.listdir(key))
    _listings[key] = (mtime, listing)
    return listing
