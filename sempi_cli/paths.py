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


def store_file(explicit: str | None = None) -> str:
    """The store's file name from ``--db`` (as typed), SEMPI_DB or the home."""
    if explicit:
        return path_text(explicit)
    env = os.environ.get("SEMPI_DB")
    if env:
        return path_text(env)
    return _join(home_dir(), "sempi.db")


def session_text(store: str) -> str:
    """The session file of the store named ``store`` (any form of its name)."""
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


def store_path(explicit: Path | str | None = None) -> Path:
    from pathlib import Path

    if explicit:
        return Path(explicit).expanduser()
    return Path(store_file())


def session_file(store: Path) -> Path:
    from pathlib import Path

    return Path(session_text(os.fspath(store)))
