"""Several real `sempi` processes writing one store at once."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, piva
from tests.helpers import SEMPI

pytestmark = pytest.mark.slow  # eight real sempi processes

WORKERS, PER_WORKER = 8, 50


def sempi(env, *args, input=None):
    return subprocess.run(
        [SEMPI, *args], env=env, input=input, capture_output=True, text=True, timeout=120
    )


def test_eight_processes_adding_fifty_clients_each(store, tmp_path):
    """On both engines (SEMPI_TEST_STORE): SQLite's write lock, or PostgreSQL's
    advisory lock, lets one writer in at a time and loses nothing."""
    env = {**os.environ, "SEMPI_DB": str(store)}
    assert (
        sempi(
            env, "login", "-e", ADMIN_EMAIL, "--password-stdin", input=ADMIN_PASSWORD + "\n"
        ).returncode
        == 0
    )
    assert sempi(env, "studio", "add", "--name", "Studio Concorrente").returncode == 0
    script = tmp_path / "worker.sh"
    # Each worker adds its clients one command at a time, as a user's script would.
    script.write_text(
        'set -u\nfor n in "$@"; do\n'
        f'  "{SEMPI}" -q client add --studio 1 --name "Cliente $n" --piva "$(echo $n | cut -d: -f2)" '
        '|| echo "FAILED $n" >&2\n'
        "done\n"
    )
    workers = []
    for w in range(WORKERS):
        numbers = [f"{w * PER_WORKER + i}:{piva(w * PER_WORKER + i)}" for i in range(PER_WORKER)]
        workers.append(
            subprocess.Popen(
                ["bash", str(script), *numbers],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    errors = [w.communicate(timeout=600)[1] for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert "".join(errors) == "", "".join(errors)[:2000]
    listed = json.loads(sempi(env, "client", "list", "--json").stdout)
    assert len(listed) == WORKERS * PER_WORKER
    assert len({c["partita_iva"] for c in listed}) == WORKERS * PER_WORKER
    assert sempi(env, "db", "check").returncode == 0
