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

USER = "sempi"


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


@contextmanager
def server() -> Iterator[str]:
    """A running server; yields the address of its ``postgres`` database."""
    programs = bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="sempi-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_owner, *command], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-500:]}")

    try:
        run(str(programs / "initdb"), "-D", str(data), "-A", "trust", "-U", USER,
            "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync")  # fmt: skip
        options = f"-k {folder} -h 127.0.0.1 -p {port} -c fsync=off"
        run(str(programs / "pg_ctl"), "-D", str(data), "-o", options,
            "-l", str(folder / "log"), "-w", "-t", "60", "start")  # fmt: skip
        try:
            yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        finally:
            run(str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
