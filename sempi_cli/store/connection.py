"""Opening the store: identity checks, pragmas, migrations; and the write transaction.

Every writing command runs in exactly one ``BEGIN IMMEDIATE`` transaction:
with Python's default deferred transactions the reads of a read-then-write
would run before the write lock is taken, a race between processes.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import time
from collections.abc import Callable

from sempi_cli.errors import StoreUnusable
from sempi_cli.i18n import gettext as _
from sempi_cli.paths import is_address
from sempi_cli.store.constants import (
    APPLICATION_ID,
    BUSY_TIMEOUT_MS,
    PAGE_SIZE,
    PRAGMAS,
    SCHEMA_VERSION,
    SQLITE_HEADER,
    WORLD_BITS,
)
from sempi_cli.store.transaction import (
    StoreConnection,
    busy_or_unusable,
    check_schema,
    engine,
    is_busy,
)

# The fast path (cli/fastpath.py) opens the store through open_current, before
# pathlib or the migrations are imported: the file is named by a string here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def open_store(path: Path | str, *, create: bool = False) -> sqlite3.Connection:
    """Open (or with ``create`` make) the store at ``path`` (a file, or a
    postgresql:// address), migrated to the latest schema."""
    from pathlib import Path

    if is_address(path):
        from sempi_cli.store import pg_store

        # A PgConnection answers every sqlite3 call the services make (postgres.py).
        return pg_store.open_store(str(path), create, SCHEMA_VERSION, _migrate_postgres)  # type: ignore[return-value]
    return _open(str(Path(path)), create, SCHEMA_VERSION, _migrate)


def open_replica(address: str, store: Path | str) -> sqlite3.Connection | None:
    """SEMPI_DB_READ: a standby of the PostgreSQL ``store``, for a command that only
    reads, opened so that nothing can be written through it. None when it cannot be
    used now (down, or behind a migration): the command reads the primary."""
    from sempi_cli.errors import InvalidData
    from sempi_cli.store import pg_store
    from sempi_cli.store.constants import SchemaElsewhere

    if not is_address(store):
        raise InvalidData("SEMPI_DB_READ", _("a read replica is for a PostgreSQL store"))
    if not is_address(address):
        raise InvalidData("SEMPI_DB_READ", _("not a postgresql:// address"))
    try:
        conn = pg_store.open_store(address, False, SCHEMA_VERSION, None)
    except (StoreUnusable, SchemaElsewhere):
        return None
    conn.execute("SET default_transaction_read_only = on")
    return conn  # type: ignore[return-value]


def _migrate_postgres(conn: object, version: int) -> None:
    from sempi_cli.store.pg_store import migrate

    migrate(conn, version)  # type: ignore[arg-type]


def _migrate(conn: sqlite3.Connection) -> None:
    """The migrations are imported only for a store that needs them."""
    from sempi_cli.store.migrations import migrate

    migrate(conn)


def open_current(path: str, schema: int) -> sqlite3.Connection:
    """Open the existing store ``path`` (in pathlib's form: paths.path_text) with the
    same checks and pragmas as open_store, if its schema is exactly ``schema``;
    otherwise SchemaElsewhere, and the caller hands the work to open_store."""
    if is_address(path):
        from sempi_cli.store import pg_store

        return pg_store.open_store(path, False, schema, None)  # type: ignore[return-value]
    return _open(path, False, schema, None)


def _open(
    path: str,
    create: bool,
    latest: int,
    migrate: Callable[[sqlite3.Connection], None] | None,
) -> sqlite3.Connection:
    try:
        info = _stat(path)
    except PermissionError:
        raise StoreUnusable(
            _("permission denied on {path}").format(path=path),
            _("the store belongs to another account: run sempi as that account (docs/security.md)"),
        ) from None
    except OSError as exc:  # a name too long for the file system, an I/O error
        raise StoreUnusable(
            _("cannot open {path}: {reason}").format(path=path, reason=exc.strerror)
        ) from None
    if info is None:
        if not create:
            raise StoreUnusable(
                _("no sempi store at {path}").format(path=path),
                _("create one with 'sempi init'"),
            )
        _create_private(path)
    elif stat.S_ISDIR(info.st_mode):
        raise StoreUnusable(_("{path} is a directory, not a sempi store").format(path=path))
    elif not stat.S_ISREG(info.st_mode):  # a FIFO would block the header's read forever
        raise StoreUnusable(_("{path} is not a regular file, not a sempi store").format(path=path))
    else:
        _check_header(path)
    try:
        conn = sqlite3.connect(
            path,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
            factory=StoreConnection,
        )
    except sqlite3.Error as exc:
        raise StoreUnusable(
            _("cannot open {path}: {reason}").format(path=path, reason=exc)
        ) from exc
    try:
        version = _check_identity(conn, path, create)
        check_schema(path, version, latest, migrate is not None)
        _check_permissions(path)
        if info is None:
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only an empty file takes it
        for pragma in PRAGMAS:
            conn.execute(pragma)
        _write_ahead_log(conn)
        if version < latest and migrate is not None:
            migrate(conn)
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.OperationalError as exc:
        conn.close()
        raise busy_or_unusable(exc, path) from exc
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreUnusable(
            _("{path} is not a usable sempi store: {reason}").format(path=path, reason=exc)
        ) from exc
    except BaseException:
        conn.close()
        raise
    conn.row_factory = sqlite3.Row
    return conn


def cache_for_bulk(conn: sqlite3.Connection, kib: int) -> None:
    """A larger page cache for this connection's long job (SQLite's is per
    connection; PostgreSQL's shared buffers are the server's: nothing to do)."""
    if engine(conn) == "sqlite":
        conn.execute(f"PRAGMA cache_size = -{int(kib)}")


def _write_ahead_log(conn: sqlite3.Connection) -> None:
    """The store in WAL mode, which the file keeps: set once, when it is made.
    Setting it takes the file's exclusive lock, which SQLite does not wait for
    (waiting could deadlock against a writer): when several processes make one
    store at the same moment, the others try again for the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _stat(path: str) -> os.stat_result | None:
    """``os.stat`` as pathlib's ``exists()`` reads it: None for a name that is not
    there (nor a loop of links, nor a file on the way taken for a folder)."""
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return None
        raise
    except ValueError:  # a name the file system cannot encode
        return None


def _create_private(name: str) -> None:
    """Create the folder (0700) and an empty store file (0600) whatever the umask.

    SQLite gives the ``-wal`` and ``-shm`` files the mode of the database
    file, so they are born private too. Another process creating the same
    store at the same moment is fine: the file is empty until one of them
    migrates it.
    """
    # Every folder made for it, not only the last: mkdir(parents=True) gives the
    # others the umask's mode, world-writable under umask 000, and whoever can
    # write a folder on the path can swap the store for one of their own.
    from pathlib import Path

    path = Path(name)
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    try:
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                continue  # another process made it a moment ago
            os.chmod(folder, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    except OSError as exc:  # a file where a folder must be, no permission, read-only
        raise StoreUnusable(
            _("cannot create {path}: {reason}").format(path=path, reason=exc.strerror)
        ) from None
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _check_permissions(path: str) -> None:
    """Refuse a store, ``-wal`` or ``-shm`` that other users may read or write.

    Anyone who can write the file bypasses every check in sempi, and anyone
    who can read it reads everything, so, like ssh with a private key, sempi
    will not work on it. Group bits are allowed: a deployment may give a
    group to the service account (docs/security.md).
    """
    for suffix in ("", "-wal", "-shm"):
        candidate = f"{path}{suffix}"
        try:
            mode = stat.S_IMODE(os.stat(candidate).st_mode)
        except FileNotFoundError:
            continue
        if mode & WORLD_BITS:
            raise StoreUnusable(
                _(
                    "permissions {mode} for '{path}' are too open: every user of this"
                    " machine may read or change the store"
                ).format(mode=f"{mode:04o}", path=candidate),
                _("run '{command}'").format(command=f"chmod 600 {candidate}"),
            )


def _check_header(path: str) -> None:
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:  # a file that fails to read (/proc/self/mem: EIO), a bad disk
        raise StoreUnusable(
            _("cannot read {path}: {reason}").format(path=path, reason=exc.strerror)
        ) from None
    if header and header != SQLITE_HEADER:
        raise StoreUnusable(
            _("{path} is not a sempi store (not an SQLite database)").format(path=path)
        )


def _schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _check_identity(conn: sqlite3.Connection, path: str, create: bool) -> int:
    """Refuse a file that is not ours; returns its schema version."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APPLICATION_ID:
        empty = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        if not (app_id == 0 and empty and create):
            raise StoreUnusable(_("{path} is not a sempi store").format(path=path))
    return _schema_version(conn)
