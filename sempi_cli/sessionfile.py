"""The login session token on disk: owner-only, in an owner-only directory."""

from __future__ import annotations

import os
from pathlib import Path


def write_token(path: Path, token: str) -> None:
    """Write atomically with mode 0600 whatever the umask (O_EXCL on a temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    temp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, token.encode() + b"\n")
    finally:
        os.close(fd)
    os.replace(temp, path)


def read_token(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except (FileNotFoundError, OSError):
        return None
    with os.fdopen(fd) as fh:
        return fh.read().strip() or None


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
