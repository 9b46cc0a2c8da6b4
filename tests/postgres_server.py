"""A throwaway PostgreSQL server for the tests: made with initdb in a temporary
folder, listening on 127.0.0.1 only (its socket in that folder), trusting the
one user it was made with, stopped and removed when the tests end.

PostgreSQL refuses to run as root: when the tests do (CI), the server runs as
the ``postgres`` account the Debian package creates, through ``runuser``.
`make test` installs the package when it is missing and it runs as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER = "sempi"  # the superuser the server is made with
# sempi's own role in the tests, as docs/deployment.md says to make it: an ordinary
# one (`doctor` checks), allowed only to set session_replication_role, which the
# tests use to edit a store behind sempi's back (tests/helpers.py).
APP_ROLE = "sempi_app"


def bin_dir() -> Path:
    """The newest installed PostgreSQL's programs (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError(
            "PostgreSQL is not installed: apt-get install postgresql (make test does)"
        )
    return Path(initdb).parent


def _version(path: str) -> int:
    return int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Folder:
    """A temporary folder the server's account owns, and how to run its programs."""

    def __init__(self) -> None:
        self.programs = bin_dir()
        self.path = Path(tempfile.mkdtemp(prefix="sempi-pg-"))
        self.as_owner: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.path, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def run(self, program: str, *arguments: str) -> None:
        command = [*self.as_owner, str(self.programs / program), *arguments]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr.strip()[-500:]}")

    @contextmanager
    def running(self, data: Path, port: int) -> Iterator[str]:
        """The server of ``data`` started on 127.0.0.1:``port``; its address."""
        options = f"-k {self.path} -h 127.0.0.1 -p {port} -c fsync=off"
        self.run("pg_ctl", "-D", str(data), "-o", options,
                 "-l", str(self.path / f"log-{port}"), "-w", "-t", "60", "start")  # fmt: skip
        try:
            yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        finally:
            self.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")


@contextmanager
def server() -> Iterator[str]:
    """A running server; yields the address of its ``postgres`` database, as the
    superuser (``database_for_app`` makes a database for sempi's ordinary role)."""
    folder = _Folder()
    try:
        data = folder.path / "data"
        folder.run("initdb", "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8",
                   "--locale", "C.UTF-8", "--no-sync", "--data-checksums")  # fmt: skip
        with folder.running(data, _free_port()) as address:
            _make_app_role(address)
            yield address
    finally:
        shutil.rmtree(folder.path, ignore_errors=True)


@contextmanager
def standby(primary: str) -> Iterator[str]:
    """A streaming standby of the server at ``primary`` (pg_basebackup, as
    docs/deployment.md says), running; yields its address. It refuses writes."""
    folder = _Folder()
    host, port = primary.split("@", 1)[1].split("/", 1)[0].split(":")
    try:
        data = folder.path / "data"
        folder.run("pg_basebackup", "-h", host, "-p", port, "-U", USER, "-D", str(data),
                   "--wal-method=stream", "--write-recovery-conf", "--no-sync", "--checkpoint=fast")  # fmt: skip
        with folder.running(data, _free_port()) as address:
            yield address
    finally:
        shutil.rmtree(folder.path, ignore_errors=True)


def _make_app_role(address: str) -> None:
    import psycopg

    with psycopg.connect(address, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        conn.execute(f"GRANT SET ON PARAMETER session_replication_role TO {APP_ROLE}")


def database_for_app(address: str, name: str) -> str:
    """Make the database ``name``, owned by sempi's role; its address as that role."""
    import psycopg

    with psycopg.connect(address, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER {APP_ROLE}")
    host = address.split("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{APP_ROLE}@{host}/{name}"
