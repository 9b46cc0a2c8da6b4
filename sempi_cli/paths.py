"""Where the store and the session files live.

Store: ``--db``, else ``SEMPI_DB``, else ``$SEMPI_HOME/sempi.db``, else the
per-user application directory. Sessions sit beside the home, one file per
store, so logging into a demo store does not log you out of the real one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def home() -> Path:
    explicit = os.environ.get("SEMPI_HOME")
    if explicit:
        return Path(explicit).expanduser()
    import typer

    return Path(typer.get_app_dir("sempi"))


def store_path(explicit: Path | str | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("SEMPI_DB")
    if env:
        return Path(env).expanduser()
    return home() / "sempi.db"


def session_file(store: Path) -> Path:
    key = hashlib.sha256(str(Path(store).resolve()).encode()).hexdigest()[:16]
    return home() / "sessions" / f"{key}.session"
