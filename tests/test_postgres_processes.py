"""Real `sempi` processes on a PostgreSQL store, where SQLite's own tests copy a
file (test_scheduler_processes.py): a scheduler run killed with SIGKILL leaves
whole chunks of clients (each chunk one transaction), and the next run completes
the work. The 8 concurrent writers and the two `coupon migrate` for the last
coupon are the SQLite tests themselves, run again on PostgreSQL."""

from __future__ import annotations

import json
import random
import subprocess
import time

import pytest

from tests.conftest import ADMIN_EMAIL, cron_env, log_output
from tests.helpers import SEMPI

pytestmark = [pytest.mark.slow, pytest.mark.postgresql_only]

CLIENTS = 600  # chunks of 250 (scheduler/runner.py): the kill lands between commits
TIMEOUT = 300
ROUNDS = 12  # commands per worker process (test_writers_on_other_tasks_...)
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


def test_writers_on_other_tasks_at_once_lose_no_update(store, db, tmp_path):
    """Task transitions and comments are scoped to their task (store/transaction.py):
    on PostgreSQL, writers of other tasks run at once, and two on one task never
    both move it from the same status. Pairs of processes drive each of three tasks
    through its life at random, one more comments on the first: every command that
    succeeded is in the task's history exactly once, whose statuses follow on."""
    env = {**cron_env(store, tmp_path / "home", "cron workers"), "SEMPI_DB": str(store)}
    tasks = []
    for n in range(3):
        made = subprocess.run(
            [SEMPI, "--json", "task", "add", f"Pratica {n}", "-r", ADMIN_EMAIL],
            env=env, capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        tasks.append(json.loads(made.stdout)[0]["id"])
    script = tmp_path / "worker.sh"
    # Each line of the log: the task, the verb, the exit status.
    script.write_text(
        'set -u\ntask=$1; shift\nfor verb in "$@"; do\n'
        f'  if [ "$verb" = comment ]; then "{SEMPI}" -q task comment "$task" "nota"; '
        f'else "{SEMPI}" -q task "$verb" "$task"; fi >/dev/null 2>>"$task.$$.err"\n'
        '  echo "$task $verb $?"\ndone\n'
    )
    rng = random.Random(20261208)
    verbs = ("start", "done", "reopen", "defer")
    workers = [
        subprocess.Popen(
            ["bash", str(script), str(task), *(rng.choice(verbs) for _ in range(ROUNDS))],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for task in tasks
        for _ in range(2)
    ]
    workers.append(
        subprocess.Popen(
            ["bash", str(script), str(tasks[0]), *["comment"] * ROUNDS],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
    )
    lines = [
        line.split() for w in workers for line in w.communicate(timeout=TIMEOUT)[0].splitlines()
    ]
    codes = {int(code) for _, _, code in lines}
    errors = "".join(p.read_text() for p in tmp_path.glob("*.err"))
    assert codes <= {0, 5}, errors[-2000:]  # 5: the task was not in a status the verb moves
    for task in tasks:
        moved = sum(t == str(task) and v != "comment" and c == "0" for t, v, c in lines)
        history = db.execute(
            "SELECT old, new FROM task_history WHERE task_id = ? AND field = 'status' ORDER BY id",
            (task,),
        ).fetchall()
        assert len(history) == moved > 0
        statuses = ["pending", *(new for _, new in history)]
        assert [old for old, _ in history] == statuses[:-1], f"task {task}: a lost update"
        now = db.execute("SELECT status FROM tasks WHERE id = ?", (task,)).fetchone()[0]
        assert now == statuses[-1]
    commented = sum(v == "comment" and c == "0" for _, v, c in lines)
    held = db.execute("SELECT count(*) FROM task_comments WHERE task_id = ?", (tasks[0],))
    assert commented == ROUNDS == held.fetchone()[0]
