"""Secrets waiting in the outbox (an invitation's activation code), kept out of the store.

A copy of the store (a backup, the file of a stolen laptop) must not let anyone
activate an account, so a secret that waits to be mailed is written to a file of
its own in a spool folder beside the store, ``<store>.outbox`` (mode 0700, each
file 0600, whatever the umask); the store keeps only the file's random name and
its SHA-256. The file goes once its message is sent, fails or is cancelled, or
its code is no longer wanted (store/transaction.py's ``after_commit``); a file
written by a transaction that rolls back goes with it (``on_rollback``), and a
file no row names any more (a crash between commit and removal) is swept.

Like a session file (sessionfile.py), a spool folder or file that others may
read, that is not ours, a symbolic link or not a regular file is refused, and
everything happens relative to the folder's descriptor, so the folder cannot be
swapped between the check and the use. The folder is found from the store's own
path (``PRAGMA database_list``), so every process that opens the store, the
migrations included, finds the same spool whatever SEMPI_HOME says.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path

from sempi_cli.errors import StoreUnusable
from sempi_cli.i18n import gettext as _
from sempi_cli.store.transaction import engine, file_of

SUFFIX = ".outbox"
_NAME = re.compile(r"\A[0-9a-f]{32}\.secret\Z")
PRIVATE_BITS = 0o077  # anything for group or others
MAX_BYTES = 64 * 1024  # a few secrets as JSON: anything larger is not ours


class SpoolError(Exception):
    """A spool file cannot be used; the message says why, in one line."""


def folder_of(conn: sqlite3.Connection) -> Path | None:
    """The spool folder of the store ``conn`` has open; None for a store in memory."""
    if engine(conn) == "postgresql":
        return conn.spool_folder()  # type: ignore[attr-defined]
    store = file_of(conn)
    return Path(f"{store}{SUFFIX}") if store else None


def write(folder: Path | None, data: bytes) -> tuple[str, str]:
    """Write ``data`` to a new file in the spool (made 0700 if missing, tightened to
    0700 if ours and open); returns its name and SHA-256. StoreUnusable (exit 10,
    nothing written) when the spool cannot be used."""
    if folder is None:
        raise StoreUnusable(_("a store in memory has no outbox spool for secrets"))
    try:
        dir_fd = _open_private_folder(folder)
    except OSError as exc:
        raise StoreUnusable(
            _("cannot use the outbox spool folder {folder}: {reason}").format(
                folder=folder, reason=exc.strerror or exc
            ),
            _("make it a folder of the account running sempi: '{command}'").format(
                command=f"chmod 700 {folder}"
            ),
        ) from None
    try:
        name = f"{secrets.token_hex(16)}.secret"
        try:
            fd = os.open(
                name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd
            )
        except OSError as exc:
            raise StoreUnusable(
                _("cannot write in the outbox spool folder {folder}: {reason}").format(
                    folder=folder, reason=exc.strerror or exc
                )
            ) from None
        try:
            try:
                os.fchmod(fd, 0o600)
                rest = data
                while rest:
                    rest = rest[os.write(fd, rest) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.fsync(dir_fd)
        except OSError as exc:
            os.unlink(name, dir_fd=dir_fd)
            raise StoreUnusable(
                _("cannot write in the outbox spool folder {folder}: {reason}").format(
                    folder=folder, reason=exc.strerror or exc
                )
            ) from None
    finally:
        os.close(dir_fd)
    return name, hashlib.sha256(data).hexdigest()


def read(folder: Path | None, name: str, sha256: str) -> bytes:
    """The content of spool file ``name``, checked against ``sha256``; SpoolError
    (one line, naming the path, never the content) when it cannot be trusted."""
    if folder is None or not _NAME.match(name):
        raise SpoolError(f"its secret file {name!r} is not in an outbox spool")
    path = folder / name
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise SpoolError(f"its secret file {path} is missing (the spool folder is gone)") from None
    except OSError as exc:
        raise SpoolError(f"cannot open the outbox spool folder {folder}: {_why(exc)}") from None
    try:
        _check_private(folder, os.fstat(dir_fd), "folder")
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        except FileNotFoundError:
            raise SpoolError(f"its secret file {path} is missing") from None
        except OSError as exc:
            raise SpoolError(f"cannot read its secret file {path}: {_why(exc)}") from None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SpoolError(f"its secret file {path} is not a regular file")
        _check_private(path, info, "file")
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES or hashlib.sha256(data).hexdigest() != sha256:
        raise SpoolError(f"its secret file {path} is not the one written (its SHA-256 differs)")
    return data


def remove(folder: Path | None, names: Iterable[str], *, prune: bool = False) -> None:
    """Delete spool files; one already gone is fine (a sweep got there first).
    ``prune``: the folder too if now empty (it was made for a write undone)."""
    if folder is None:
        return
    for name in names:
        if _NAME.match(name):
            try:
                (folder / name).unlink()
            except FileNotFoundError:
                pass
    if prune:
        try:
            folder.rmdir()
        except OSError:  # not empty: other messages wait in it
            pass


def sweep(folder: Path | None, keep: set[str]) -> int:
    """Delete the spool files no row names (left by a crash between a commit and
    the removal). Call it under the store's write lock: a writer holds that lock
    from writing its file until its row is committed. Returns how many went."""
    if folder is None:
        return 0
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    orphans = [n for n in names if _NAME.match(n) and n not in keep]
    remove(folder, orphans)
    return len(orphans)


def _open_private_folder(folder: Path) -> int:
    """The spool folder's descriptor: made 0700 if missing; ours, a real folder
    (not a link), and 0700 (tightened, whatever the umask made it)."""
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        info = os.fstat(dir_fd)
        if info.st_uid != os.geteuid():
            raise PermissionError(
                errno.EPERM, f"owned by uid {info.st_uid}, not by uid {os.geteuid()}"
            )
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.fchmod(dir_fd, 0o700)
    except BaseException:
        os.close(dir_fd)
        raise
    return dir_fd


def _check_private(path: Path, info: os.stat_result, kind: str) -> None:
    """ssh's rule for private keys: ours, and nothing for group or others."""
    if info.st_uid != os.geteuid():
        raise SpoolError(
            f"the outbox spool {kind} {path} is owned by uid {info.st_uid}, not by the"
            f" account running sempi (uid {os.geteuid()})"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & PRIVATE_BITS:
        raise SpoolError(f"the outbox spool {kind} {path} has mode {mode:04o}, open to others")


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link"
    if exc.errno == errno.ENOTDIR:
        return "it is not a folder"
    return exc.strerror or str(exc)
