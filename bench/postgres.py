#!/usr/bin/env python3
"""The same sempi on SQLite and on PostgreSQL, side by side in one run (issue 20).

The existing benches' headline commands, on both engines. One store is built on
SQLite with the other benches' own builders, imported from them:

  bench/chat.py    build_base: a firm, two practices, CLIENTS clients with fiscal
                   profiles (made through the services; one work-group chat each),
                   the firm's people, public and private chats; add_messages:
                   MESSAGES chat messages over a year, the search index rebuilt
  bench/timer.py   add_entries: 99 more people, 20,000 tasks with time tracking
                   (the first the administrator's) and ENTRIES time entries
  this script      add_tasks: TASKS more tasks for the staff user and the admin

then copied into a PostgreSQL database with `sempi db migrate-to`, so both
engines hold the same rows. The server is the tests' own (tests/postgres_server.py:
a temporary cluster on 127.0.0.1, fsync off), on this machine: what is measured
is sempi's work on each engine, not a network.

Interactive (median wall time of whole `sempi` processes, rounds interleaved
between the engines, one warm-up round not counted):
  task list --mine --limit 50, task add, task done / task reopen (alternating)
  timer start TASK / timer pause, timer report --by client over the year
  chat search WORD: a common word, a rare one and a prefix (bench/chat.py's);
  the hits each engine returns (--limit 1000) printed side by side
Bulk (throughput, one run on each engine):
  `scheduler run` over every client (deadlines written per second), on a copy
  of the store made before any command, and on the PostgreSQL database;
  `client-onboard batch FILE --studio S --no-deadlines` of ONBOARD clients
  (bench/onboarding.py's file and base store: a practice, no clients), on a
  fresh SQLite base and on a PostgreSQL database migrated from that same base
  (clients per second).
Concurrency: USERS people at once, each on a task of their own, twice through
an office's mixed workload (task list --mine, task add, task show, task done /
reopen, task comment, chat search), pausing between commands for a time drawn
around THINK seconds (exponential), then again back to back; the p95 of a
command's latency against one user's, back to back, ROUNDS times. On this one
machine every user's process shares its cores: back to back, 20 users saturate
2 cores on either engine, which measures the machine, not the store.

Targets: interactive ≤ 1.3x SQLite's time; bulk ≥ 0.7x SQLite's throughput;
USERS at once p95 ≤ 2x a single user's.

Run: .venv/bin/python bench/postgres.py [--clients 1000] [--tasks 100000]
     [--entries 1000000] [--messages 1000000] [--onboard 10000] [--users 20] [--rounds 7]
     [--think 5]
     (a quick try: --clients 50 --tasks 2000 --entries 20000 --messages 20000
     --onboard 500 --users 4 --rounds 3)
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/postgres_server.py

from _chatter import vocabulary
from _common import ADMIN_EMAIL, SEMPI, STAFF_EMAIL, base_env, login, report, run_once, workdir
from chat import COMMON, GROUP_SHARE, PREFIX, add_messages, match_counts
from chat import build_base as chat_base
from onboarding import STUDIO, write_csv
from onboarding import build_base as onboarding_base
from timer import YEAR, add_entries

SEED = 20261116
SEARCH_LIMIT = 1000  # the most `chat search` returns: the hits compared between the engines

Commands = Callable[[int, dict[str, str]], dict[str, list[str]]]


# --- the stores --------------------------------------------------------------------------


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


def build(store: Path, args: argparse.Namespace) -> tuple[int, dict[str, int]]:
    """The whole store on SQLite; returns the task the admin's timer runs on and
    the rows of the main tables.

    bench/chat.py's base makes one work-group chat per client, 60% of the chats:
    asking it for CLIENTS / 0.6 chats gives CLIENTS clients. No notifications:
    nothing timed here reads them. bench/timer.py's tasks take ids 1..20,000, so
    they go in before this script's own (which take the next ids)."""
    began = time.perf_counter()
    base = chat_base(store, round(args.clients / GROUP_SHARE), 0, 0, SEED)
    add_messages(store, base, args.messages, SEED + 20, triggers=False)
    task = add_entries(store, args.entries, seed=args.entries)
    add_tasks(store, args.tasks)
    report("build the SQLite store", f"{time.perf_counter() - began:.1f}", "s")
    with sqlite3.connect(store) as conn:
        rows = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("clients", "users", "tasks", "time_entries", "chats", "chat_messages")
        }
    conn.close()
    print("  " + ", ".join(f"{t} {n:,}" for t, n in rows.items()), flush=True)
    return task, rows


def migrate(env: dict[str, str], address: str) -> float:
    """Seconds `sempi db migrate-to` takes to copy env's SQLite store to ``address``."""
    began = time.perf_counter()
    done = subprocess.run(
        [SEMPI, "-q", "db", "migrate-to", address], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: db migrate-to exited {done.returncode}: {done.stderr}")
    return time.perf_counter() - began


def pg_env(home: Path, address: str) -> dict[str, str]:
    env = base_env(home)
    env["SEMPI_DB"] = address
    return env


def sempi_json(args: list[str], env: dict[str, str]) -> object:
    """What a command prints with --json (untimed)."""
    done = subprocess.run([SEMPI, "--json", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: sempi {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return json.loads(done.stdout)


# --- timing ------------------------------------------------------------------------------


def interactive(
    envs: dict[str, dict[str, str]], rounds: int, commands: Commands
) -> dict[str, dict[str, float]]:
    """Median seconds of each command on each engine, rounds interleaved; round 0
    is a warm-up, not counted. ``commands(n, env)`` gives round n's commands."""
    times: dict[str, dict[str, list[float]]] = {e: {} for e in envs}
    for n in range(rounds + 1):
        for engine, env in envs.items():
            for name, args in commands(n, env).items():
                seconds, _ = run_once([SEMPI, *args], env)
                if n:
                    times[engine].setdefault(name, []).append(seconds)
    return {e: {k: statistics.median(v) for k, v in t.items()} for e, t in times.items()}


def print_interactive(heading: str, medians: dict[str, dict[str, float]]) -> None:
    print(f"== {heading} (target ≤ 1.3x)", flush=True)
    for name in medians["sqlite"]:
        a, b = medians["sqlite"][name], medians["postgresql"][name]
        print(
            f"  {name:40} sqlite {a * 1000:7.0f} ms   postgresql {b * 1000:7.0f} ms   {b / a:4.2f}x",
            flush=True,
        )


def task_commands(n: int, env: dict[str, str]) -> dict[str, list[str]]:
    return {
        "task list --mine --limit 50": ["task", "list", "--mine", "--limit", "50"],
        "task add": ["-q", "task", "add", f"Bench {n}"],
        "task done / reopen": ["-q", "task", "done" if n % 2 == 0 else "reopen", env["BENCH_TASK"]],
    }


def timer_commands(task: int) -> Commands:
    today = datetime.now(UTC).date()
    first, last = (today - YEAR).isoformat(), today.isoformat()
    report_args = ["timer", "report", "--by", "client", "--from", first, "--to", last]
    return lambda n, env: {
        "timer start TASK": ["-q", "timer", "start", str(task)],
        "timer pause": ["-q", "timer", "pause"],
        "timer report --by client (a year)": report_args,
    }


def search_commands(words: dict[str, str]) -> Commands:
    return lambda n, env: {
        f"chat search {word} ({name})": ["chat", "search", word] for name, word in words.items()
    }


def search_hits(envs: dict[str, dict[str, str]], words: dict[str, str], store: Path) -> None:
    """The hits each engine returns for each word (the admin's, up to SEARCH_LIMIT),
    and whether they are the same messages; the index's matches (SQLite, before
    access rules and the limit) beside them."""
    indexed = match_counts(store, words)
    for name, word in words.items():
        ids = {
            engine: {
                row["id"]
                for row in sempi_json(["chat", "search", word, "--limit", str(SEARCH_LIMIT)], env)
            }
            for engine, env in envs.items()
        }
        common = len(ids["sqlite"] & ids["postgresql"])
        print(
            f"  hits of {word!r:12} sqlite {len(ids['sqlite']):5}   postgresql"
            f" {len(ids['postgresql']):5}   {common} in both (limit {SEARCH_LIMIT}, best ranked"
            f" first; {indexed[name]:,} matches in SQLite's index)",
            flush=True,
        )


def scheduler(env: dict[str, str]) -> tuple[float, int]:
    """(seconds, deadlines written) of one scheduler run over every client."""
    began = time.perf_counter()
    done = subprocess.run(
        [SEMPI, "--json", "scheduler", "run", "--horizon", "12m"], env=env,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    created = int(json.loads(done.stdout)["created"])
    return seconds, created


def onboarding(folder: Path, server: str, size: int) -> dict[str, tuple[float, int]]:
    """(seconds, clients in the store after) of one `client-onboard batch` of
    ``size`` clients on each engine, both starting from the same base store."""
    from tests import postgres_server

    folder.mkdir(mode=0o700)
    file, store = folder / "clienti.csv", folder / "sempi.db"
    write_csv(file, size)
    onboarding_base(store)
    lite = base_env(folder / "home-sqlite", store)
    login(lite)
    pg = pg_env(folder / "home-pg", postgres_server.database_for_app(server, "onboard"))
    migrate(lite, pg["SEMPI_DB"])
    login(pg)
    batch = ["client-onboard", "batch", str(file), "--studio", STUDIO, "--no-deadlines"]
    out = {}
    for engine, env in (("sqlite", lite), ("postgresql", pg)):
        run_once([SEMPI, "client-onboard", "--help"], env)  # warm the bytecode cache
        seconds, _ = run_once([SEMPI, *batch, "-q", "--yes"], env)
        out[engine] = seconds, len(sempi_json(["client", "list"], env))  # type: ignore[arg-type]
    return out


def mixed_workload(n: int, r: int, task: str) -> list[list[str]]:
    """One round of an office user's commands: what they look at, add, move, say."""
    return [
        ["task", "list", "--mine", "--limit", "50"],
        ["-q", "task", "add", f"U{n}-{r}"],
        ["task", "show", task],
        ["-q", "task", "done" if r % 2 == 0 else "reopen", task],
        ["-q", "task", "comment", task, f"nota {n}-{r}"],
        ["chat", "search", COMMON, "--limit", "20"],
    ]


def concurrent(env: dict[str, str], users: int, rounds: int, think: float) -> list[float]:
    """Every command's latency when ``users`` people work at once, each on a task of
    their own, pausing between commands for a time drawn around ``think`` seconds
    (exponential: a person reads, types; 0: back to back, the machine saturated)."""
    tasks = [str(sempi_json(["task", "add", f"Utente {n}"], env)[0]["id"]) for n in range(users)]  # type: ignore[index]

    def one_user(n: int) -> list[float]:
        rng, seconds = random.Random(n), []
        for r in range(rounds):
            for args in mixed_workload(n, r, tasks[n]):
                if think:
                    time.sleep(rng.expovariate(1 / think))
                began = time.perf_counter()
                done = subprocess.run([SEMPI, *args], env=env, capture_output=True, text=True)
                seconds.append(time.perf_counter() - began)
                if done.returncode != 0:
                    raise SystemExit(
                        f"bench: sempi {' '.join(args)} exited {done.returncode}: {done.stderr}"
                    )
        return seconds

    with ThreadPoolExecutor(users) as pool:
        return [s for each in pool.map(one_user, range(users)) for s in each]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def print_bulk(heading: str, unit: str, figures: dict[str, tuple[float, int]]) -> None:
    """Rows and seconds on each engine, the throughput and PostgreSQL's ratio."""
    print(f"== bulk: {heading} (target ≥ 0.7x throughput)", flush=True)
    rates = {engine: rows / seconds for engine, (seconds, rows) in figures.items()}
    for engine, (seconds, rows) in figures.items():
        ratio = f"   {rates[engine] / rates['sqlite']:4.2f}x" if engine != "sqlite" else ""
        print(
            f"  {engine:10} {rows:6} {unit} in {seconds:6.2f} s = {rates[engine]:8.0f}/s{ratio}",
            flush=True,
        )


# --- the run -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000, help="time entries")
    parser.add_argument("--messages", type=int, default=1_000_000, help="chat messages")
    parser.add_argument("--onboard", type=int, default=10_000, help="clients in the batch")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--think", type=float, default=5.0, help="seconds a user pauses between commands"
    )
    args = parser.parse_args()
    from tests import postgres_server

    with workdir() as folder, postgres_server.server() as server:
        sqlite_store = folder / "sempi.db"
        timer_task, rows = build(sqlite_store, args)
        fresh = folder / "fresh.db"
        shutil.copy2(sqlite_store, fresh)
        lite = base_env(folder / "home-sqlite", sqlite_store)
        login(lite)
        pg = pg_env(folder / "home-pg", postgres_server.database_for_app(server, "bench"))
        report("db migrate-to (whole store)", f"{migrate(lite, pg['SEMPI_DB']):.1f}", "s")
        login(pg)
        envs = {"sqlite": lite, "postgresql": pg}

        for env in envs.values():  # one task each engine's rounds complete and reopen
            env["BENCH_TASK"] = str(sempi_json(["task", "add", "Bench: da chiudere"], env)[0]["id"])  # type: ignore[index]
        medians = interactive(envs, args.rounds, task_commands)
        print_interactive(
            f"interactive: {rows['tasks']:,} tasks, median of {args.rounds} rounds", medians
        )

        medians = interactive(envs, args.rounds, timer_commands(timer_task))
        print_interactive(f"interactive: timer, {rows['time_entries']:,} entries", medians)

        words = {"common": COMMON, "rare": vocabulary()[-1], "prefix": PREFIX}
        medians = interactive(envs, args.rounds, search_commands(words))
        print_interactive(f"interactive: chat search, {rows['chat_messages']:,} messages", medians)
        search_hits(envs, words, sqlite_store)

        # Bulk: the scheduler over every client, on the copy made before any command.
        lite_bulk = base_env(folder / "home-sqlite", fresh)
        login(lite_bulk)
        figures = {"sqlite": scheduler(lite_bulk), "postgresql": scheduler(pg)}
        print_bulk(f"scheduler run over {args.clients:,} clients", "deadlines", figures)
        figures = onboarding(folder / "onboard", server, args.onboard)
        print_bulk(
            f"client-onboard batch of {args.onboard:,} clients, --no-deadlines",
            "clients",
            figures,
        )

        print(
            f"== {args.users} users at once, the mixed workload (list, add, show, done/reopen,"
            f" comment, chat search; target p95 ≤ 2x one user's)",
            flush=True,
        )
        for engine, env in envs.items():
            alone = p95(concurrent(env, 1, args.rounds, 0))
            for think in (args.think, 0):
                crowd = p95(concurrent(env, args.users, 2, think))
                print(f"  {engine:10} pausing ~{think:g} s: one user p95 {alone * 1000:5.0f} ms"
                      f"   {args.users} users p95 {crowd * 1000:6.0f} ms   {crowd / alone:5.2f}x",
                      flush=True)  # fmt: skip
    print(f"(admin: {ADMIN_EMAIL}; PostgreSQL: the tests' temporary server on 127.0.0.1)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
