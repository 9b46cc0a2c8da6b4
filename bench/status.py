#!/usr/bin/env python3
"""The fast path: `sempi status --short`, `sempi timer start TASK` and
`sempi timer pause` against `python -c "import typer"`, in one run.

A shell prompt runs `status --short` at every line and people type the timer
commands dozens of times a day, so each must take at most half the time of
importing typer (the start-up floor of any typer CLI): cli/fastpath.py answers
them before typer is imported. Also timed, for scale: a bare interpreter
(`python -c pass`, which no command can beat), the same three command lines
through the full CLI (SEMPI_FASTPATH=0, via env(1): one more exec, ~1 ms), and
the full `sempi status` screen.

The store: 200 clients made through the services, then in one transaction each
20,000 tasks (the administrator responsible for 1 in 100, some overdue), 100,000
notifications (500 of them the administrator's, unread) and 200,000 time
entries; the administrator, logged in through the real CLI, times a task.

Prints median wall time and peak RSS of whole processes (interleaved rounds, one
warm-up), each hot command's ratio to `import typer` and whether it meets 0.5x.

Run: .venv/bin/python bench/status.py [--tasks 20000] [--notifications 100000]
     [--entries 200000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import PYTHON, SEMPI, base_env, build_store, login, report, report_timing, run_all

TARGET = 0.5
CLIENTS = 200
MINE = 100  # one task in MINE is the administrator's
HOT = ("status_short", "timer_start", "timer_pause")


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def fill(store: Path, tasks: int, notifications: int, entries: int) -> int:
    """Tasks, notifications and time entries in bulk; the task the timer runs on."""
    from sempi_cli.store import open_store, write_transaction

    rng = random.Random(14)
    conn = open_store(store)
    try:
        users = [r[0] for r in conn.execute("SELECT id FROM users ORDER BY id")]
        admin = conn.execute("SELECT id FROM users WHERE role = 'firm-admin'").fetchone()[0]
        clients = [r[0] for r in conn.execute("SELECT id FROM clients")]
        now = datetime.now(UTC).replace(microsecond=0)
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM tasks").fetchone()[0]
        rows = []
        for n in range(first, first + tasks):
            who = admin if n % MINE == 0 else rng.choice(users)
            due = now + timedelta(days=rng.randint(-60, 120), hours=rng.randint(0, 23))
            rows.append(
                (n, f"Pratica {n}", who, admin, rng.choice(clients), iso(due), iso(now), iso(now))
            )
        timed = first + MINE - (first % MINE) if first % MINE else first
        with write_transaction(conn):
            conn.executemany(
                "INSERT INTO tasks (id, title, kind, responsible_id, creator_id, client_id,"
                " deadline, time_tracking, created_at, updated_at)"
                " VALUES (?, ?, 'ordinary', ?, ?, ?, ?, 1, ?, ?)",
                rows,
            )
            conn.executemany(
                "INSERT INTO notifications (user_id, kind, task_id, text, source, created_at,"
                " read_at) VALUES (?, 'task', ?, ?, ?, ?, ?)",
                (
                    (
                        admin if n < 500 else rng.choice(users),
                        rng.randint(first, first + tasks - 1),
                        f"Notifica {n}",
                        f"bench:{n}",
                        iso(now - timedelta(minutes=n)),
                        None if n < 500 or n % 3 else iso(now),
                    )
                    for n in range(notifications)
                ),
            )
            start = now - timedelta(days=365)
            conn.executemany(
                "INSERT INTO time_entries (task_id, user_id, started_at, ended_at, seconds,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        rng.randint(first, first + tasks - 1),
                        users[n % len(users)],
                        iso(start + timedelta(minutes=10 * (n // len(users)))),
                        iso(start + timedelta(minutes=10 * (n // len(users)) + 5)),
                        300,
                        iso(now),
                        iso(now),
                    )
                    for n in range(entries)
                ),
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--notifications", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15, help="timed runs of each command")
    args = parser.parse_args()
    from _common import workdir

    with workdir() as home:
        store = home / "sempi.db"
        build_store(store, CLIENTS)
        task = fill(store, args.tasks, args.notifications, args.entries)
        env = base_env(home, store)
        login(env)
        full = [shutil.which("env") or "/usr/bin/env", "SEMPI_FASTPATH=0", SEMPI]
        commands = {
            "python_bare": [PYTHON, "-c", "pass"],
            "python_import_typer": [PYTHON, "-c", "import typer"],
            "sempi_status_short": [SEMPI, "status", "--short"],
            "sempi_timer_start": [SEMPI, "timer", "start", str(task)],
            "sempi_timer_pause": [SEMPI, "timer", "pause"],
            "full_cli_status_short": [*full, "status", "--short"],
            "full_cli_timer_start": [*full, "timer", "start", str(task)],
            "full_cli_timer_pause": [*full, "timer", "pause"],
            "sempi_status": [SEMPI, "status"],
        }
        print(
            f"# bench/status.py: {args.tasks} tasks, {args.notifications} notifications,"
            f" {args.entries} time entries; {args.repeat} runs each, medians",
            flush=True,
        )
        results = run_all(commands, env, args.repeat)
    for name, (median, peak) in results.items():
        report_timing(name, median, peak)
    floor = results["python_import_typer"][0]
    met = []
    for name in HOT:
        ratio = results[f"sempi_{name}"][0] / floor
        report(f"sempi_{name}_vs_import_typer", ratio, "x")
        report(f"sempi_{name}_vs_full_cli", ratio * floor / results[f"full_cli_{name}"][0], "x")
        met.append(ratio <= TARGET)
    report("python_bare_vs_import_typer", results["python_bare"][0] / floor, "x")
    report(f"target_hot_commands_{TARGET}x_import_typer", "yes" if all(met) else "no")


if __name__ == "__main__":
    main()
