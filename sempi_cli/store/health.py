"""What `db info`, `db check`, `db backup` and `doctor` ask of the store, for each
engine: SQLite answers from its pragmas and its file, PostgreSQL from its
catalogue and its own tools (pg_dump)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sempi_cli.errors import StoreUnusable
from sempi_cli.i18n import gettext as _
from sempi_cli.paths import store_shown
from sempi_cli.store.transaction import engine


def describe(conn: Any, store: Path | str) -> dict:
    """The store's engine, schema version and sizes (bytes)."""
    if engine(conn) == "postgresql":
        return {
            "path": store_shown(store),
            "engine": "postgresql",
            "schema_version": int(
                conn.execute(
                    "SELECT value FROM sempi_store WHERE key = 'schema_version'"
                ).fetchone()[0]
            ),
            "size_bytes": conn.execute("SELECT pg_database_size(current_database())").fetchone()[0],
            "wal_bytes": 0,  # the server's write-ahead log is the server's, not the store's
            "free_bytes": 0,
            "journal_mode": "postgresql",
        }
    path = Path(store)
    wal = Path(f"{path}-wal")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return {
        "path": str(path),
        "engine": "sqlite",
        "schema_version": conn.execute("PRAGMA user_version").fetchone()[0],
        "size_bytes": path.stat().st_size,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
        "free_bytes": page_size * free,
        "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
    }


def damage(conn: Any, *, quick: bool = False) -> list[str]:
    """What the engine finds wrong in the store's pages and keys; empty if sound.
    PostgreSQL enforces every key as it writes and checks its pages as it reads
    them (data checksums): nothing to walk here. sqlite3.DatabaseError when the
    damage is too bad for the check to finish."""
    if engine(conn) == "postgresql":
        return []
    check = "PRAGMA quick_check" if quick else "PRAGMA integrity_check"
    problems = [r[0] for r in conn.execute(check) if r[0] != "ok"]
    if not quick:
        problems += [
            _("foreign key: {table} row {row} refers to a missing {parent}").format(
                table=r[0], row=r[1], parent=r[2]
            )
            for r in conn.execute("PRAGMA foreign_key_check")
        ]
    return problems


def journal_mode(conn: Any) -> str:
    """'wal' when concurrent readers are sure: SQLite's journal mode; PostgreSQL
    always logs ahead."""
    if engine(conn) == "postgresql":
        return "wal"
    return str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()


def backup(conn: Any, destination: Path) -> None:
    """A consistent copy of the store, online, into ``destination`` (made 0600 by
    the caller): SQLite's backup API; PostgreSQL's pg_dump (custom format, for
    pg_restore), with the password from PGPASSFILE as for any connection."""
    if engine(conn) != "postgresql":
        target = sqlite3.connect(destination)
        try:
            conn.backup(target)
        finally:
            target.close()
        return
    program = pg_program("pg_dump")
    done = subprocess.run(
        [program, "--format=custom", "--no-owner", f"--file={destination}", f"--dbname={conn.dsn}"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())[-300:] or f"exit {done.returncode}"
        raise StoreUnusable(_("pg_dump failed: {reason}").format(reason=reason))


def pg_program(name: str) -> str:
    """A PostgreSQL client program: on PATH, else the newest of Debian's versions
    (which keeps them off PATH)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}")),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not versions:
        raise StoreUnusable(
            _("{program} is not installed").format(program=name),
            _("install PostgreSQL's client programs (Debian: postgresql-client)"),
        )
    return str(versions[-1])


def server_posture(conn: Any) -> list[tuple[str, bool, str]]:
    """PostgreSQL's side of `doctor`: (check, passed, detail) for the connection's
    encryption, the application's role, and the server's version."""
    tls = conn.execute(
        "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    ).fetchone()
    local = conn.execute(  # a socket, or the loopback: nothing crosses a network
        "SELECT coalesce(host(inet_server_addr()) IN ('127.0.0.1', '::1'), true)"
    ).fetchone()[0]
    role = conn.execute(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles"
        " WHERE rolname = current_user"
    ).fetchone()
    version = int(conn.execute("SHOW server_version_num").fetchone()[0])
    powers = [
        name
        for name, held in (
            ("SUPERUSER", role[1]),
            ("CREATEROLE", role[2]),
            ("CREATEDB", role[3]),
            ("BYPASSRLS", role[4]),
        )
        if held
    ]
    return [
        (
            "pg_tls",
            bool(tls and tls[0]) or bool(local),
            _("encrypted ({version})").format(version=tls[1])
            if tls and tls[0]
            else _("on this machine: nothing crosses a network")
            if local
            else _("not encrypted: add sslmode=verify-full to the address (docs/deployment.md)"),
        ),
        (
            "pg_role",
            not powers,
            _("{role}: an ordinary role").format(role=role[0])
            if not powers
            else _("{role} holds {powers}: give sempi a role of its own without them").format(
                role=role[0], powers=", ".join(powers)
            ),
        ),
        (
            "pg_version",
            version >= 150000,
            (
                _("PostgreSQL {version}")
                if version >= 150000
                else _("PostgreSQL {version}: sempi needs 15 or newer")
            ).format(version=f"{version // 10000}.{version % 10000}"),
        ),
    ]


def replica_posture(address: str | None, store: str) -> tuple[str, bool, str]:
    """SEMPI_DB_READ's side of `doctor` (check, usable, detail): whether the replica
    opens at this sempi's schema, is a standby, and how far behind it is. One that
    cannot be used is not a failure: the commands read the store instead."""
    from sempi_cli.errors import StoreUnusable
    from sempi_cli.paths import shown_address
    from sempi_cli.store import pg_store
    from sempi_cli.store.constants import SCHEMA_VERSION, SchemaElsewhere

    if not address:
        return "pg_replica", True, _("none (SEMPI_DB_READ not set): every command reads the store")
    try:
        conn = pg_store.open_store(address, False, SCHEMA_VERSION, None)
    except (StoreUnusable, SchemaElsewhere) as exc:
        reason = " ".join(str(exc).split())
        return (
            "pg_replica",
            False,
            _("{replica} cannot be used ({reason}): the commands read the store instead").format(
                replica=shown_address(address), reason=reason
            ),
        )
    try:
        standby, behind = conn.execute(
            "SELECT pg_is_in_recovery(),"
            " coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)"
        ).fetchone()
    finally:
        conn.close()
    if not standby:
        return (
            "pg_replica",
            False,
            _("{replica} is not a standby (it accepts writes): name the standby of {store}").format(
                replica=shown_address(address), store=shown_address(store)
            ),
        )
    return (
        "pg_replica",
        True,
        _("{replica}: a standby; the last change it replayed is {seconds} s old").format(
            replica=shown_address(address), seconds=round(float(behind))
        ),
    )
