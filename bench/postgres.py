#!/usr/bin/env python3
"""The same sempi on SQLite and on PostgreSQL, side by side in one run (issue 20).

One store is built on SQLite (a firm, two practices, CLIENTS clients with fiscal
profiles made through the services, then TASKS tasks in one transaction), then
copied into a PostgreSQL database with `sempi db migrate-to`, so both engines
hold the same rows. The server is the tests' own (tests/postgres_server.py: a
temporary cluster on 127.0.0.1, fsync off), on this machine: what is measured is
sempi's work on each engine, not a network.

Interactive (median wall time of whole `sempi` processes, interleaved rounds):
  task list --mine --limit 50, task add, task done / task reopen (alternating)
Bulk: `scheduler run` over every client (deadlines written per second), once a
store, on a fresh copy of each.
Concurrency: USERS processes at once, each running `task list --mine` and
`task add` ROUNDS times; the p95 of a command's latency against the same
commands run by one user alone.

Targets: interactive ≤ 1.3x SQLite's time; bulk ≥ 0.7x SQLite's throughput;
USERS at once p95 ≤ 2x a single user's.

Run: .venv/bin/python bench/postgres.py [--clients 200] [--tasks 100000] [--users 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/postgres_server.py

from _common import (
    ADMIN_EMAIL,
    SEMPI,
    STAFF_EMAIL,
    base_env,
    build_store,
    login,
    report,
    run_once,
    workdir,
)


def add_tasks(store: Path, count: int) -> None:
    """``count`` tasks for the staff user and the admin, a year of deadlines."""
    conn = sqlite3.connect(store, isolation_level=None)
    staff = conn.execute("SELECT id FROM users WHERE email = ?", (STAFF_EMAIL,)).fetchone()[0]
    stamp = "2026-11-16T09:30:00+00:00"
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO tasks (title, responsible_id, creator_id, deadline, status, completed_at,"
        " created_at, updated_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?)",
        (
            (f"Incarico {n}", staff if n % 2 else 1, f"2027-{n % 12 + 1:02d}-{n % 28 + 1:02d}T16:00:00+00:00",
             "completed" if n % 3 == 0 else "pending", stamp if n % 3 == 0 else None, stamp, stamp)
            for n in range(count)
        ),
    )  # fmt: skip
    conn.execute("COMMIT")
    conn.close()


def interactive(envs: dict[str, dict[str, str]], rounds: int) -> dict[str, dict[str, float]]:
    """Median seconds of each command on each engine, rounds interleaved."""
    times: dict[str, dict[str, list[float]]] = {e: {} for e in envs}
    for env in envs.values():  # one task each engine's rounds complete and reopen
        done = subprocess.run(
            [SEMPI, "--json", "task", "add", "Bench: da chiudere"], env=env,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        env["BENCH_TASK"] = str(json.loads(done.stdout)[0]["id"])
    for n in range(rounds):
        for engine, env in envs.items():
            task = env["BENCH_TASK"]
            commands = {
                "task list --mine --limit 50": ["task", "list", "--mine", "--limit", "50"],
                "task add": ["-q", "task", "add", f"Bench {n}"],
                "task done / reopen": ["-q", "task", "done" if n % 2 == 0 else "reopen", task],
            }
            for name, args in commands.items():
                seconds, _ = run_once([SEMPI, *args], env)
                times[engine].setdefault(name, []).append(seconds)
    return {e: {k: statistics.median(v) for k, v in t.items()} for e, t in times.items()}


def bulk(env: dict[str, str]) -> tuple[float, int]:
    """(seconds, deadlines written) of one scheduler run over every client."""
    began = time.perf_counter()
    done = subprocess.run(
        [SEMPI, "--json", "scheduler", "run", "--horizon", "12m"], env=env,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    created = int(json.loads(done.stdout)["created"])
    return seconds, created


def concurrent(env: dict[str, str], users: int, rounds: int) -> list[float]:
    """Every command's latency when ``users`` people run theirs at once."""

    def one_user(n: int) -> list[float]:
        seconds = []
        for r in range(rounds):
            for args in (
                ["task", "list", "--mine", "--limit", "50"],
                ["-q", "task", "add", f"U{n}-{r}"],
            ):
                began = time.perf_counter()
                subprocess.run([SEMPI, *args], env=env, capture_output=True, check=True)
                seconds.append(time.perf_counter() - began)
        return seconds

    with ThreadPoolExecutor(users) as pool:
        return [s for each in pool.map(one_user, range(users)) for s in each]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    from tests import postgres_server

    with workdir() as folder, postgres_server.server() as server:
        sqlite_store = folder / "sempi.db"
        build_store(sqlite_store, args.clients)
        add_tasks(sqlite_store, args.tasks)
        fresh = folder / "fresh.db"
        shutil.copy2(sqlite_store, fresh)
        address = postgres_server.database_for_app(server, "bench")
        lite = base_env(folder / "home-sqlite", sqlite_store)
        login(lite)
        began = time.perf_counter()
        subprocess.run([SEMPI, "-q", "db", "migrate-to", address], env=lite, check=True)
        report("db migrate-to (whole store)", f"{time.perf_counter() - began:.1f}", "s")
        pg = base_env(folder / "home-pg")
        pg["SEMPI_DB"] = address
        login(pg)
        medians = interactive({"sqlite": lite, "postgresql": pg}, args.rounds)
        print(f"== interactive, {args.tasks:,} tasks (median of {args.rounds}; target ≤ 1.3x)")
        for name in medians["sqlite"]:
            a, b = medians["sqlite"][name], medians["postgresql"][name]
            print(
                f"  {name:30} sqlite {a * 1000:7.0f} ms   postgresql {b * 1000:7.0f} ms   {b / a:4.2f}x"
            )
        # Bulk: the scheduler over every client, on the copies made before any command.
        lite_bulk = base_env(folder / "home-sqlite", fresh)
        login(lite_bulk)
        pg_bulk = dict(pg)
        s_seconds, s_rows = bulk(lite_bulk)
        p_seconds, p_rows = bulk(pg_bulk)
        print(f"== bulk: scheduler run over {args.clients} clients (target ≥ 0.7x throughput)")
        print(
            f"  sqlite     {s_rows:6} deadlines in {s_seconds:6.2f} s = {s_rows / s_seconds:8.0f}/s"
        )
        print(f"  postgresql {p_rows:6} deadlines in {p_seconds:6.2f} s = {p_rows / p_seconds:8.0f}/s"
              f"   {(p_rows / p_seconds) / (s_rows / s_seconds):4.2f}x")  # fmt: skip
        print(f"== {args.users} users at once (task list + task add; target p95 ≤ 2x one user's)")
        for engine, env in (("sqlite", lite), ("postgresql", pg)):
            alone = concurrent(env, 1, args.rounds)
            crowd = concurrent(env, args.users, 3)
            print(f"  {engine:10} one user p95 {p95(alone) * 1000:6.0f} ms   {args.users} users p95"
                  f" {p95(crowd) * 1000:6.0f} ms   {p95(crowd) / p95(alone):4.2f}x")  # fmt: skip
    print(f"(admin: {ADMIN_EMAIL}; PostgreSQL: the tests' temporary server on 127.0.0.1)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
