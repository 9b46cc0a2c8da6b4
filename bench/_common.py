"""Shared helpers for the bench scripts: timing child processes, reporting, building a store.

Timings are wall-clock medians of whole processes (start-up included), because
that is what a person at the shell, or a TAB completion, waits for. Peak RSS is
the largest ``ru_maxrss`` any timed run of a command reached, read with
``os.wait4`` from a small spawner process so it is the command's own figure,
not the bench's (see ``_SPAWNER``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
SEMPI = str(BIN / "sempi")
PYTHON = sys.executable
BENCH_DIR = Path(__file__).resolve().parent
FLOOR = str(BENCH_DIR / "floor.py")

ADMIN_EMAIL = "admin@bench.test"
ADMIN_PASSWORD = "bench-admin-password"
STAFF_EMAIL = "staff@bench.test"
IVA_PERIODICITIES = ("mensile", "trimestrale", "trimestrale_speciale", "none")
KINDS = ("societa_capitali", "societa_persone", "ente")
_WORDS = (
    "Alfa Bianchi Colombo Delta Esposito Ferrari Gallo Greco Lombardi Marino Moretti Neri"
    " Orsini Pellegrini Ricci Romano Rossi Russo Sartori Testa Valentini Verdi Villa Zanetti"
).split()
_TRADES = (
    "Costruzioni Trasporti Logistica Impianti Consulenze Alimentari Tessile Meccanica"
    " Immobiliare Servizi Informatica Commercio"
).split()
STUDIOS = (("Studio Rossi", "Milano"), ("Studio Verdi", "Roma"))
_FORMS = ("Srl", "Srls", "Spa", "Snc", "Sas", "& C.", "Cooperativa")


def base_env(home: Path, db: Path | None = None) -> dict[str, str]:
    """The environment of every timed child: this bench's home and store, no
    credentials or PYTHON* settings inherited from the caller.

    Bytecode goes to a cache under ``home`` (removed with it): an installed
    sempi has its .pyc files, and with PYTHONDONTWRITEBYTECODE (or an editable
    install never run before) every run would recompile sempi_cli from source
    and time the compiler, not the command. The warm-up run fills the cache.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEMPI_", "PYTHON"))}
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    env["SEMPI_HOME"] = str(home)
    if db is not None:
        env["SEMPI_DB"] = str(db)
    return env


# The timing loop runs in a small separate interpreter that fork()s each command.
# On Linux a child's ru_maxrss never falls below what its parent had mapped when
# it was spawned (exec folds the old address space's high-water mark into the
# child's), so commands spawned straight from this bench, which has built a
# store in-process, would all report the bench's own peak. This spawner stays
# near 10 MB, under any Python command it times.
_SPAWNER = r"""
import json, os, sys, time

job = json.load(sys.stdin)
null = os.open(os.devnull, os.O_RDWR)


def once(cmd, env):
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            if env is None:
                os.execv(cmd[0], cmd)
            else:
                os.execve(cmd[0], cmd, env)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


cmds = job["cmds"]
envs = job.get("envs") or [None] * len(cmds)
results = [[] for _ in cmds]
for round_ in range(job["repeat"] + 1):  # round 0: the warm-up, not counted
    for i, cmd in enumerate(cmds):
        elapsed, rss_kib, code = once(cmd, envs[i])
        if code != 0:
            json.dump({"failed": i, "code": code}, sys.stdout)
            sys.exit(0)
        if round_:
            results[i].append([elapsed, rss_kib])
json.dump({"results": results}, sys.stdout)
"""


def run_all(
    cmds: Mapping[str, Sequence[str]],
    env: Mapping[str, str],
    repeat: int,
    envs: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, tuple[float, float]]:
    """Time several commands in interleaved rounds, so drift in the machine's load
    hits all of them alike; one warm-up run of each is not counted. ``envs`` gives
    a command its own environment instead of ``env`` (another user's session home).
    Returns name -> (median wall seconds, peak RSS MB over the timed runs)."""
    names = list(cmds)
    own = envs or {}
    job: dict[str, object] = {"cmds": [list(cmds[n]) for n in names], "repeat": repeat}
    if own:
        job["envs"] = [dict(own[n]) if n in own else None for n in names]
    spawner = subprocess.run(
        [PYTHON, "-I", "-S", "-c", _SPAWNER],
        input=json.dumps(job),
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(spawner.stdout)
    if "failed" in answer:
        name = names[answer["failed"]]
        cmd = list(cmds[name])
        again = subprocess.run(cmd, env=dict(own.get(name, env)), capture_output=True, text=True)
        raise SystemExit(f"bench: {' '.join(cmd)} exited {answer['code']}: {again.stderr.strip()}")
    out = {}
    for name, runs in zip(names, answer["results"], strict=True):
        median = statistics.median(elapsed for elapsed, _ in runs)
        peak_mb = max(rss_kib for _, rss_kib in runs) / 1024  # ru_maxrss is in KiB on Linux
        out[name] = (median, peak_mb)
    return out


def run(cmd: Sequence[str], env: Mapping[str, str], repeat: int) -> tuple[float, float]:
    """(median seconds, peak RSS MB) of ``repeat`` runs of one command, after a warm-up."""
    return run_all({"cmd": cmd}, env, repeat)["cmd"]


def report(name: str, value: object, unit: str = "") -> None:
    if isinstance(value, float):
        value = f"{value:.2f}"
    print(f"{name}: {value} {unit}".rstrip(), flush=True)


def report_timing(name: str, median_seconds: float, peak_rss_mb: float) -> None:
    report(f"{name}_median", median_seconds * 1000, "ms")
    report(f"{name}_peak_rss", peak_rss_mb, "MB")


@contextmanager
def workdir() -> Iterator[Path]:
    """A fresh temporary directory for one bench run, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="sempi-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def partita_iva(n: int) -> str:
    """The n-th of a sequence of distinct, valid partite IVA (n >= 0)."""
    from stdnum import luhn

    base = f"{n // 100 + 1:07d}{n % 100 + 1:03d}"  # progressive + office code 001..100
    return base + luhn.calc_check_digit(base)


def client_name(rng: random.Random, n: int) -> str:
    return f"{rng.choice(_WORDS)} {rng.choice(_TRADES)} {rng.choice(_FORMS)} {n}"


def build_store(path: Path, clients: int) -> dict[str, object]:
    """A store with a firm admin, a staff user, two practices and ``clients``
    clients, all made through the services (validation, audit, work groups
    included) inside one write transaction. Returns what the bench needs."""
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.clients.clients import ClientService
    from sempi_cli.services.clients.input import ClientInput
    from sempi_cli.services.identity.auth import actor_from_row
    from sempi_cli.services.org.firm import create_store
    from sempi_cli.services.org.studios import StudioService
    from sempi_cli.services.org.users import UserService
    from sempi_cli.store import write_transaction

    clock = SystemClock()
    conn, created = create_store(
        path, clock, "Bench Servizi Srl", ADMIN_EMAIL, "Bruno Bench", ADMIN_PASSWORD
    )
    try:
        admin_row = conn.execute("SELECT * FROM users WHERE id = ?", (created["admin_id"],))
        admin = actor_from_row(admin_row.fetchone())
        rng = random.Random(20261116)
        client_ids: list[int] = []
        with write_transaction(conn):
            studios = StudioService(conn, clock, admin)
            studio_ids = [
                studios.add(name, partita_iva=partita_iva(10_000_000 + i), city=city)["id"]
                for i, (name, city) in enumerate(STUDIOS)
            ]
            UserService(conn, clock, admin).add(STAFF_EMAIL, "Sara Staff", "staff")
            service = ClientService(conn, clock, admin)
            for n in range(clients):
                created_client = service.add(
                    ClientInput(
                        ragione_sociale=client_name(rng, n),
                        studio=studio_ids[n % len(studio_ids)],
                        kind=KINDS[n % len(KINDS)],
                        partita_iva=partita_iva(n),
                        responsible=STAFF_EMAIL if n % 3 else None,
                        fiscal_profile={"iva_periodicity": IVA_PERIODICITIES[n % 4]},
                    )
                )
                client_ids.append(created_client["id"])
    finally:
        conn.close()
    return {"client_ids": client_ids, "studio_ids": studio_ids}


def login(env: Mapping[str, str], email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    """Log a user (the admin unless told) in through the real CLI, so timed
    commands use a session."""
    result = subprocess.run(
        [SEMPI, "login", "--email", email, "--password-stdin"],
        input=password + "\n",
        env=dict(env),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"bench: sempi login failed ({result.returncode}): {result.stderr}")


# One command, once: fork+exec from a small interpreter and read the child's own
# ru_maxrss with wait4 (see _SPAWNER for why not from this process).
# The child's stdout goes to /dev/null; its stderr is this spawner's, captured.
_ONCE = r"""
import json, os, sys, time

cmd = json.load(sys.stdin)
null = os.open(os.devnull, os.O_RDWR)
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.execv(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
json.dump({"seconds": elapsed, "rss_kib": usage.ru_maxrss, "code": code}, sys.stdout)
"""


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one run of ``cmd``; exits the bench if it fails."""
    spawner = subprocess.run(
        [PYTHON, "-I", "-S", "-c", _ONCE],
        input=json.dumps(cmd),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(spawner.stdout)
    if answer["code"] != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {answer['code']}: {spawner.stderr}")
    return answer["seconds"], answer["rss_kib"] / 1024


def available(words: list[str], env: dict[str, str]) -> bool:
    """Whether `sempi WORDS --help` exists in this tree."""
    done = subprocess.run([SEMPI, *words, "--help"], env=env, capture_output=True, text=True)
    return done.returncode == 0


def count_rows(store: Path, sql: str) -> int:
    with sqlite3.connect(store) as conn:
        return int(conn.execute(sql).fetchone()[0])


def csv_rows(cmd: list[str], env: dict[str, str]) -> int:
    """Lines of CSV data (header excluded) a listing prints."""
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return max(0, len(done.stdout.splitlines()) - 1)


def check_target(
    verdicts: list[str], name: str, value: float, target: float, unit: str, *, at_least=False
) -> None:
    """Print a figure beside its target, and keep the verdict (met / MISSED) in
    ``verdicts`` for the run's last line."""
    verdict = "met" if (value >= target if at_least else value <= target) else "MISSED"
    verdicts.append(verdict)
    sign = ">=" if at_least else "<="
    report(name, value, f"{unit} (target {sign} {target:g} {unit}: {verdict})")
