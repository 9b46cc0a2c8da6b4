"""`sempi scheduler run` as cron runs it: real processes, run twice, run at once, killed.

One store of a few hundred clients with varied, rich fiscal profiles (enough
for several of the scheduler's chunks, so a run takes long enough to be
killed in the middle) is built once per test process, with an application
password for the firm administrator, the way a cron job authenticates. One
uninterrupted run on a copy of it is the reference: its ``scheduler_rows``,
its deadlines per client, and its wall time, from which the kill delays are
derived (fractions of it, so a slow machine kills at the same points of the
run, not at fixed instants). Every other test works on its own copy and
compares with the reference.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    NOW,
    cron_env,
    log_output,
    piva,
    run_logged,
    scheduler_rows,
)
from tests.helpers import SEMPI, assert_one_line_error

pytestmark = pytest.mark.slow  # real sempi processes, as cron runs them

CLIENTS = 600  # three chunks of the scheduler (250 clients each): two commits mid-run
RANGE = ("--from", "2027-01-01", "--to", "2027-12-31")  # fixed: nothing depends on today
TIMEOUT = 300
# Where in the run the SIGKILL lands, as fractions of an uninterrupted run's wall
# time. Measured on this machine, a run of this store spends its first ~12% starting
# up, commits its chunks at ~40%, ~75% and ~94% of its time, records itself just
# after and spends the rest closing the store: so the kills fall while starting
# up, inside each chunk, and about the end. Where a kill lands moves with the
# machine's load; every trial passes wherever it lands, and one that arrives
# after the process ended is simply the run-twice case.
KILL_AT = (0.02, 0.2, 0.45, 0.7, 0.9)


@dataclass(frozen=True)
class Original:
    """The store every test copies, and what one uninterrupted run makes of it."""

    store: Path
    env: dict[str, str]  # SEMPI_USER + SEMPI_APP_PASSWORD: any copy of the store accepts it
    client_ids: list[int]  # active clients, in the order the scheduler chunks them
    after_one_run: Path  # a copy of the store after one uninterrupted run ...
    reference: list[tuple]  # ... its scheduler_rows
    per_client: dict[int, int]  # deadlines per client after that run
    deadlines: int
    seconds: float  # that run's wall time, process start to exit


def _profile(rng: random.Random) -> dict[str, object]:
    """A varied fiscal profile, the mix of a real firm's clients (every rule some
    of the time), that the schema and the profile rules accept."""
    forfettario = rng.random() < 0.15
    iva = (
        "none"
        if forfettario
        else rng.choices(("mensile", "trimestrale", "trimestrale_speciale"), (20, 70, 10))[0]
    )

    def flow(*choices: str) -> str:
        return rng.choice(choices) if rng.random() < 0.1 else "none"

    def share(p: float) -> int:
        return int(rng.random() < p)

    return {
        "iva_periodicity": iva,
        "contabilita_presso_terzi": int(iva == "mensile" and rng.random() < 0.3),
        "intra1_goods": flow("mensile", "trimestrale"),
        "intra1_services": flow("mensile", "trimestrale"),
        "intra2_goods": flow("mensile"),
        "intra2_services": flow("mensile"),
        "has_reverse_charge_purchases": share(0.3),
        "has_foreign_purchases": share(0.3),
        "sostituto_imposta": share(0.35),
        "has_employees": share(0.25),
        "gs_committente": share(0.15),
        "inps_ivs": rng.choice(("artigiano", "commerciante")) if rng.random() < 0.4 else "none",
        "inps_gs_professionista": share(0.15),
        "isa_subject": int(not forfettario and rng.random() < 0.6),
        "forfettario": int(forfettario),
        "issues_bollo_efatture": share(0.4),
        "imu_owner": share(0.3),
    }


def _add_clients(store: Path, count: int) -> list[int]:
    """Two practices, a staff member and ``count`` clients, inserted in one transaction."""
    stamp = NOW.isoformat()
    rng = random.Random(20270101)
    conn = sqlite3.connect(store, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        studios = [
            conn.execute(
                "INSERT INTO studios (name, created_at, updated_at) VALUES (?, ?, ?) RETURNING id",
                (name, stamp, stamp),
            ).fetchone()[0]
            for name in ("Studio Rossi", "Studio Verdi")
        ]
        staff = conn.execute(
            "INSERT INTO users (email, full_name, role, created_at, updated_at)"
            " VALUES ('staff@sempi.test', 'Sara Staff', 'staff', ?, ?) RETURNING id",
            (stamp, stamp),
        ).fetchone()[0]
        admin = conn.execute("SELECT id FROM users WHERE email = ?", (ADMIN_EMAIL,)).fetchone()[0]
        kinds = ("societa_capitali", "societa_persone", "persona_fisica", "ente")
        rows, profiles = [], []
        for n in range(count):
            profile = _profile(rng)
            rows.append(
                {
                    "studio_id": studios[n % 2],
                    "ragione_sociale": f"Cliente {n}",
                    "taxpayer_kind": kinds[n % 4],
                    "partita_iva": piva(n),
                    "responsible_id": staff if n % 3 else admin,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            profiles.append(profile)
        columns = list(rows[0])
        conn.executemany(
            f"INSERT INTO clients ({', '.join(columns)})"
            f" VALUES ({', '.join(':' + c for c in columns)})",
            rows,
        )
        ids = [r[0] for r in conn.execute("SELECT id FROM clients ORDER BY id")]
        fields = list(profiles[0])  # each client's profile, in force from the start
        conn.executemany(
            f"INSERT INTO client_profiles (client_id, valid_from, recorded_at, {', '.join(fields)})"
            f" VALUES (:client_id, '0001-01-01', '{stamp}', {', '.join(':' + f for f in fields)})",
            [{"client_id": i, **p} for i, p in zip(ids, profiles, strict=True)],
        )
        conn.execute("COMMIT")
        return ids
    finally:
        conn.close()


def sempi(env: dict[str, str], *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return run_logged([SEMPI, *args], env=env, input=input, timeout=TIMEOUT)


def start(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [SEMPI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen, label: str) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()  # never leave a process behind
        proc.communicate()
        raise
    log_output(label, out, err)
    return out, err


def run_json(env: dict[str, str]) -> dict:
    result = sempi(env, "scheduler", "run", *RANGE, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def copy_of(source: Path, env: dict[str, str], folder: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the store at ``source`` in ``folder``, and the environment that uses it."""
    folder.mkdir(mode=0o700, parents=True)
    store = folder / "sempi.db"
    assert not Path(f"{source}-wal").exists()  # the file alone is the whole store
    shutil.copy2(source, store)
    return store, {**env, "SEMPI_HOME": str(folder / "home"), "SEMPI_DB": str(store)}


def _deadlines_per_client(store: Path) -> dict[int, int]:
    conn = sqlite3.connect(store)
    try:
        return dict(conn.execute("SELECT client_id, count(*) FROM deadlines GROUP BY client_id"))
    finally:
        conn.close()


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory, template_store: Path) -> Original:
    folder = tmp_path_factory.mktemp("scheduler-original")
    folder.chmod(0o700)
    store = folder / "sempi.db"
    shutil.copy2(template_store, store)
    client_ids = _add_clients(store, CLIENTS)
    env = cron_env(store, folder / "home", "cron scheduler")
    conn = sqlite3.connect(store)  # the last connection to close folds the WAL in: one file
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert not Path(f"{store}-wal").exists()

    reference_store, reference_env = copy_of(store, env, folder / "reference")
    began = time.perf_counter()
    proc = start(reference_env, "scheduler", "run", *RANGE, "--format", "json")
    out, err = finish(proc, "sempi scheduler run (reference)")
    seconds = time.perf_counter() - began
    assert proc.returncode == 0, err
    report = json.loads(out)
    per_client = _deadlines_per_client(reference_store)
    deadlines = sum(per_client.values())
    assert report["created"] == deadlines > 20 * CLIENTS  # rich profiles: many per client
    assert set(per_client) == set(client_ids)  # every client has deadlines in the year
    assert (report["updated"], report["cancelled"], report["unchanged"]) == (0, 0, 0)
    return Original(
        store,
        env,
        client_ids,
        reference_store,
        scheduler_rows(reference_store),
        per_client,
        deadlines,
        seconds,
    )


def check_consistent(store: Path, original: Original, *, thorough: bool = True) -> int:
    """The store is whole after whatever happened to it: no corruption, no dangling
    row (``thorough``: SQLite's own checks, a second or so each), no deadline
    without its task nor fiscal task without its deadline, and whole chunks of
    clients (each client has all of its deadlines or none, and the clients that
    have them are the first chunks). Returns the deadlines held."""
    from sempi_cli.services.scheduler.runner import CHUNK

    conn = sqlite3.connect(store)
    try:
        if thorough:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert not conn.execute(
            "SELECT d.id FROM deadlines d LEFT JOIN tasks t ON t.id = d.task_id"
            " WHERE t.id IS NULL OR t.external_key IS NOT"
            " 'fiscal:' || d.client_id || ':' || d.rule_id || ':' || d.period"
        ).fetchall()
        assert not conn.execute(
            "SELECT t.id FROM tasks t WHERE t.external_key LIKE 'fiscal:%'"
            " AND NOT EXISTS (SELECT 1 FROM deadlines d WHERE d.task_id = t.id)"
        ).fetchall()
        assert not conn.execute(
            "SELECT count(*) FROM tasks WHERE external_key IS NULL OR external_key NOT LIKE 'fiscal:%'"
        ).fetchone()[0]
        held = dict(conn.execute("SELECT client_id, count(*) FROM deadlines GROUP BY client_id"))
    finally:
        conn.close()
    half = {c: n for c, n in held.items() if n != original.per_client[c]}
    assert not half, f"clients with part of their deadlines: {sorted(half)[:10]}"
    ids = original.client_ids
    prefixes = [set(ids[:k]) for k in (*range(0, len(ids), CHUNK), len(ids))]
    assert set(held) in prefixes, "the clients written are not whole chunks in the run's order"
    return sum(held.values())


def runs(env: dict[str, str]) -> list[dict]:
    listed = sempi(env, "scheduler", "runs", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def test_run_twice_in_a_row_is_one_run(original: Original, tmp_path: Path) -> None:
    """The first run is the reference's (it created every deadline); run again."""
    store, env = copy_of(original.after_one_run, original.env, tmp_path / "twice")
    second = run_json(env)
    assert {k: second[k] for k in ("created", "updated", "cancelled", "unchanged")} == {
        "created": 0,
        "updated": 0,
        "cancelled": 0,
        "unchanged": original.deadlines,
    }
    assert second["changes"] == []
    assert scheduler_rows(store) == original.reference
    assert [r["status"] for r in runs(env)] == ["ok", "ok"]


def test_two_runs_at_once_make_one_runs_deadlines(original: Original, tmp_path: Path) -> None:
    store, env = copy_of(original.store, original.env, tmp_path / "together")
    procs = [start(env, "scheduler", "run", *RANGE, "--format", "json") for _ in range(2)]
    outputs = [finish(p, f"sempi scheduler run (at once, {n})") for n, p in enumerate(procs)]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]
    # Chunk by chunk, one of them wrote and the other found it written.
    for report in reports:
        assert report["created"] + report["unchanged"] == original.deadlines
        assert (report["updated"], report["cancelled"]) == (0, 0)
    assert sum(r["created"] for r in reports) == original.deadlines
    assert scheduler_rows(store) == original.reference
    conn = sqlite3.connect(store)
    try:
        assert not conn.execute(
            "SELECT client_id, rule_id, period FROM deadlines"
            " GROUP BY client_id, rule_id, period HAVING count(*) > 1"
        ).fetchall()
        fiscal_tasks = conn.execute(
            "SELECT count(*), count(DISTINCT external_key) FROM tasks WHERE external_key LIKE 'fiscal:%'"
        ).fetchone()
        assert fiscal_tasks == (original.deadlines, original.deadlines)
    finally:
        conn.close()
    assert check_consistent(store, original) == original.deadlines
    assert [r["status"] for r in runs(env)] == ["ok", "ok"]


@pytest.mark.parametrize("fraction", KILL_AT)
def test_sigkill_leaves_whole_chunks_and_the_next_run_completes(
    original: Original, tmp_path: Path, fraction: float
) -> None:
    store, env = copy_of(original.store, original.env, tmp_path / "killed")
    proc = start(env, "scheduler", "run", *RANGE, "-q")
    time.sleep(fraction * original.seconds)  # the deliberate delay: where the kill lands
    proc.kill()  # no-op if it already ended: then this is the run-twice case
    finish(proc, f"sempi scheduler run (SIGKILL after {fraction:.0%})")
    killed = proc.returncode == -9
    assert proc.returncode in (0, -9)

    written = check_consistent(store, original)
    if not killed:
        assert written == original.deadlines

    report = run_json(env)  # the next run (cron's next day) completes the work
    assert report["created"] == original.deadlines - written
    assert report["unchanged"] == written
    assert (report["updated"], report["cancelled"]) == (0, 0)
    assert scheduler_rows(store) == original.reference
    assert check_consistent(store, original, thorough=False) == original.deadlines

    recorded = runs(env)
    last, before = recorded[0], recorded[1:]
    assert (last["id"], last["status"]) == (report["run_id"], "ok")
    assert len(before) <= 1  # none when the kill came before the run was recorded
    if not before:  # the kill came before the run was recorded
        assert killed
        return
    status = before[0]["status"]
    if not killed:
        assert status == "ok"
    elif report["created"]:  # it left work undone
        assert status == "interrupted"
    else:  # it wrote every chunk, and was killed recording itself or on its way out
        assert status in ("interrupted", "ok")
    if status == "interrupted":
        assert before[0]["finished_at"] is not None and before[0]["error"]


def test_health_exit_codes_before_and_after_a_run(store_path: Path) -> None:
    """What a monitoring probe sees (staleness by age is tested in-process)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SEMPI_")},
        "SEMPI_HOME": os.environ["SEMPI_HOME"],
        "SEMPI_DB": str(store_path),
        "SEMPI_LANG": "en",
    }
    login = sempi(env, "login", "-e", ADMIN_EMAIL, "--password-stdin", input=ADMIN_PASSWORD + "\n")
    assert login.returncode == 0, login.stderr

    stale = sempi(env, "scheduler", "health", "--max-age", "26h")
    assert_one_line_error(stale, 11)
    assert stale.stdout == ""

    assert sempi(env, "scheduler", "run", *RANGE, "-q").returncode == 0
    fresh = sempi(env, "scheduler", "health", "--max-age", "26h")
    assert fresh.returncode == 0, fresh.stderr
