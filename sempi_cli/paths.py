"""Where the store and the session files live.

Store: ``--db``, else ``SEMPI_DB``, else ``$SEMPI_HOME/sempi.db``, else the
per-user application directory. Sessions sit beside the home, one file per
store, so logging into a demo store does not log you out of the real one.

The work is done on strings with ``os.path``: the fast path (cli/fastpath.py)
answers before typer and pathlib are imported, and pathlib alone costs it more
than the rest of a `timer start`. Each string has the form pathlib gives it
(``str(Path(text).expanduser())``), so the two paths name files alike; the
functions the full CLI calls still return Paths.
"""

from __future__ import annotations

import errno
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

try:  # the builtin module hashlib wraps: hashlib loads OpenSSL, ~3 ms of a prompt
    from _sha256 import sha256
except ImportError:  # another interpreter or version: the same digest
    from hashlib import sha256


def path_text(text: str, *, expand: bool = True) -> str:
    """``str(Path(text).expanduser())`` (without ``expand``: ``str(Path(text))``);
    pathlib is imported only for a text not already in that form."""
    plain = (
        text not in ("", ".")
        and not text.startswith(("~", "./"))
        and not text.endswith(("/", "/."))
        and "//" not in text
        and "/./" not in text
    )
    if plain:
        return text
    from pathlib import Path

    path = Path(text)
    return str(path.expanduser() if expand else path)


def app_dir() -> str:
    """The per-user application directory: ``typer.get_app_dir("sempi")`` (Click's
    rule), without importing typer to learn it."""
    if sys.platform.startswith("win"):
        folder = os.environ.get("APPDATA")
        return os.path.join(os.path.expanduser("~") if folder is None else folder, "sempi")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~/Library/Application Support"), "sempi")
    return os.path.join(os.environ.get("XDG_CONFIG_HOME", os.path.expanduser("~/.config")), "sempi")


def home_dir() -> str:
    explicit = os.environ.get("SEMPI_HOME")
    if explicit:
        return path_text(explicit)
    return path_text(app_dir(), expand=False)


def _join(folder: str, name: str) -> str:
    """``str(Path(folder) / name)`` for a folder in pathlib's form and a plain name."""
    if folder == ".":
        return name
    return folder + name if folder.endswith("/") else f"{folder}/{name}"


def is_address(store: object) -> bool:
    """Whether the store named ``store`` is a PostgreSQL database (a postgresql://
    address, store/postgres.py) rather than a file."""
    return isinstance(store, str) and store.startswith(("postgresql://", "postgres://"))


def shown_address(address: str) -> str:
    """A store's address fit to print or to key a file by: without a password, if one
    was written in it (docs/deployment.md says to keep it in PGPASSFILE)."""
    import re

    return re.sub(r"(://[^/:@]*):[^@/]*@", r"\1@", address)


def store_shown(store: object) -> str:
    """The store's name as messages show it: a file's path, or an address without
    its password."""
    return shown_address(store) if is_address(store) else str(store)  # type: ignore[arg-type]


def store_file(explicit: str | None = None) -> str:
    """The store's file name (or database address) from ``--db`` (as typed), SEMPI_DB
    or the home."""
    chosen = explicit or os.environ.get("SEMPI_DB")
    if chosen:
        return chosen if is_address(chosen) else path_text(chosen)
    return _join(home_dir(), "sempi.db")


def session_text(store: str) -> str:
    """The session file of the store named ``store`` (any form of its name)."""
    if is_address(store):
        key = sha256(shown_address(store).encode()).hexdigest()[:16]
        return _join(_join(home_dir(), "sessions"), f"{key}.session")
    real = os.path.realpath(store)
    try:
        os.stat(real)
    except OSError as exc:  # pathlib's resolve() calls a symbolic link loop an error
        if exc.errno == errno.ELOOP:
            from pathlib import Path

            real = str(Path(store).resolve())
    key = sha256(real.encode()).hexdigest()[:16]
    return _join(_join(home_dir(), "sessions"), f"{key}.session")


def home() -> Path:
    from pathlib import Path

    return Path(home_dir())


def store_path(explicit: Path | str | None = None) -> Path | str:
    """The store: its file's path, or a PostgreSQL database's address as given."""
    from pathlib import Path

    if explicit:
        return explicit if is_address(explicit) else Path(explicit).expanduser()
    chosen = store_file()
    return chosen if is_address(chosen) else Path(chosen)


def session_file(store: Path | str) -> Path:
    from pathlib import Path

    return Path(session_text(os.fspath(store)))
