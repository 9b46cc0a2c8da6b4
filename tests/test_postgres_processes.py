"""Real `sempi` processes on a PostgreSQL store, where SQLite's own tests copy a
file (test_scheduler_processes.py): a scheduler run killed with SIGKILL leaves
whole chunks of clients (each chunk one transaction), and the next run completes
the work. The 8 concurrent writers and the two `coupon migrate` for the last
coupon are the SQLite tests themselves, run again on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.conftest import cron_env, log_output
from tests.helpers import SEMPI

pytestmark = [pytest.mark.slow, pytest.mark.postgresql_only]

CLIENTS = 600  # chunks of 250 (scheduler/runner.py): the kill lands between commits
TIMEOUT = 300
PROFILES = ({"iva_periodicity": "mensile", "sostituto_imposta": True},
            {"iva_periodicity": "trimestrale"})  # fmt: skip


def _run(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [SEMPI, "--json", "scheduler", "run", "--horizon", "12m"],
        env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    log_output("sempi scheduler run", done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _held(db) -> dict[int, int]:
    return dict(db.execute("SELECT client_id, count(*) FROM deadlines GROUP BY client_id"))


def test_sigkill_of_a_scheduler_run_leaves_whole_chunks_and_the_next_run_completes(
    store, db, org, tmp_path
):
    from sempi_cli.services.scheduler.runner import CHUNK

    studio = org.practice("Studio Rossi")
    clients = [
        org.client(f"Cliente {n} Srl", studio, n, fiscal_profile=PROFILES[n % 2])
        for n in range(CLIENTS)
    ]
    env = {**cron_env(store, tmp_path / "cron-home", "cron scheduler"), "SEMPI_DB": str(store)}
    proc = subprocess.Popen(
        [SEMPI, "-q", "scheduler", "run", "--horizon", "12m"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + TIMEOUT
    while not db.execute("SELECT count(*) FROM deadlines").fetchone()[0]:
        assert proc.poll() is None or proc.returncode == 0, proc.stderr.read()
        assert time.monotonic() < deadline, "the run wrote nothing"
        time.sleep(0.02)
    proc.kill()  # the first chunk is committed: the kill lands in the run's middle or after
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode in (0, -9)

    killed = _held(db)
    report = _run(env)  # cron's next night
    final = _held(db)
    assert set(final) == set(clients)  # every client has its deadlines now
    assert report["created"] == sum(final.values()) - sum(killed.values())
    assert report["unchanged"] == sum(killed.values())
    half = {c for c, n in killed.items() if n != final[c]}
    assert not half, f"clients with part of their deadlines: {sorted(half)[:10]}"
    prefixes = [set(clients[:k]) for k in (*range(0, CLIENTS, CHUNK), CLIENTS)]
    assert set(killed) in prefixes, "what the killed run left is not whole chunks"
    # No deadline without its task, nor a fiscal task without its deadline.
    assert not db.execute(
        "SELECT d.id FROM deadlines d LEFT JOIN tasks t ON t.id = d.task_id"
        " WHERE t.id IS NULL OR t.external_key IS DISTINCT FROM"
        " 'fiscal:' || d.client_id || ':' || d.rule_id || ':' || d.period"
    ).fetchall()
    assert not db.execute(
        "SELECT t.id FROM tasks t WHERE t.external_key LIKE 'fiscal:%'"
        " AND NOT EXISTS (SELECT 1 FROM deadlines d WHERE d.task_id = t.id)"
    ).fetchall()
    again = _run(env)
    assert (again["created"], again["unchanged"]) == (0, sum(final.values()))


def test_sigkill_of_an_onboarding_batch_and_the_same_command_finishes(store, db, tmp_path):
    """`client-onboard batch` of 1,200 clients (chunks of 500), killed once its first
    chunk is committed: every client is there whole or not at all, and the same
    command run again onboards the rest, each client once."""
    from tests.test_onboarding_processes import CLIENTS as ROWS
    from tests.test_onboarding_processes import _setup_store, _write_file, batch_args

    _setup_store(store)
    file = tmp_path / "clienti.csv"
    _write_file(file)
    env = {**cron_env(store, tmp_path / "cron-home", "cron onboarding"), "SEMPI_DB": str(store)}
    args = [SEMPI, *batch_args(file, "--no-deadlines")]
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + TIMEOUT
    while not db.execute("SELECT count(*) FROM clients").fetchone()[0]:
        assert proc.poll() is None or proc.returncode == 0, proc.stderr.read()
        assert time.monotonic() < deadline, "the batch wrote nothing"
        time.sleep(0.02)
    proc.kill()
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode in (0, -9)
    held = db.execute("SELECT count(*) FROM clients").fetchone()[0]
    assert held % 500 == 0 or held == ROWS, f"{held} clients: not whole chunks"
    # A client is whole: its work group, when the file names a responsible, came with it.
    assert not db.execute(
        "SELECT c.id FROM clients c WHERE c.responsible_id IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM work_group_members g WHERE g.client_id = c.id)"
    ).fetchall()
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    log_output("sempi client-onboard batch (again)", again.stdout, again.stderr)
    assert again.returncode == 0, again.stderr
    counted = db.execute("SELECT count(*), count(DISTINCT partita_iva) FROM clients").fetchone()
    assert tuple(counted) == (ROWS, ROWS)
