#!/usr/bin/env python3
"""`sempi scheduler run` on 1,000 and 10,000 clients with every profile flag on, against raw SQLite.

For each size: a fresh store (the clients made through the services, as in
the other benches), every client then given the fullest fiscal profile
(monthly VAT, every INTRASTAT flow monthly, reverse charge, foreign
purchases, withholding agent, employees, gestione separata as committente
and as professional, INPS commercianti, ISA, bollo on e-invoices, IMU; not
forfettario) and a responsible, and the firm administrator logged in through
the real CLI. Then, timed as whole processes (start-up included, peak RSS
read with ``wait4`` from a small spawner, as bench/_common.py does):

  sempi scheduler run --from 2027-01-01 --to 2027-12-31 -q    the first run
  the same again, three times (median)                         nothing to change

and the raw-SQLite floor: the rows the first run added (tasks, deadlines,
task_history, reminders, checklists, checklist_items), copied out of the
benchmarked store table by table and written with ``executemany`` into a
fresh ``sempi init``-ed store (same schema, sempi's pragmas, foreign keys on;
the practices, users, clients and run they point to copied first, untimed)
in one transaction. Printed: wall time, deadlines/s, rows/s, peak RSS; the
no-change run and its ratio to the first; the floor's rows/s and ours as a
share of it; the time per client at each size.

Targets: the first run at least 30% of the floor's rows/s; the no-change run
at most 15% of the first's time; peak RSS at most 200 MB at 10,000 clients.

Run: .venv/bin/python bench/scheduler.py [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import time
from pathlib import Path

from _common import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SEMPI,
    STAFF_EMAIL,
    base_env,
    build_store,
    login,
    report,
    run_once,
    workdir,
)

FLOOR_SHARE_TARGET = 0.30
NO_CHANGE_TARGET = 0.15
RSS_TARGET_MB = 200.0
RSS_TARGET_CLIENTS = 10_000
RANGE = ("--from", "2027-01-01", "--to", "2027-12-31")
# In the order foreign keys allow (each table's parents before it).
TABLES = ("tasks", "deadlines", "task_history", "reminders", "checklists", "checklist_items")
PARENTS = ("studios", "users", "clients", "scheduler_runs")  # what those rows point to
FULL_PROFILE = {
    "iva_periodicity": "mensile",
    "intra1_goods": "mensile",
    "intra1_services": "mensile",
    "intra2_goods": "mensile",
    "intra2_services": "mensile",
    "has_reverse_charge_purchases": 1,
    "has_foreign_purchases": 1,
    "sostituto_imposta": 1,
    "has_employees": 1,
    "gs_committente": 1,
    "inps_ivs": "commerciante",
    "inps_gs_professionista": 1,
    "isa_subject": 1,
    "issues_bollo_efatture": 1,
    "imu_owner": 1,
    "forfettario": 0,
}
NO_CHANGE_REPEAT = 3  # the no-change run leaves the store as it was: its median of 3
BATCH = 100_000  # rows per executemany of the floor (memory stays bounded; one transaction)


def give_full_profiles(store: Path) -> int:
    """Every client the fullest profile and a responsible (the staff member)."""
    conn = sqlite3.connect(store)
    try:
        with conn:
            staff = conn.execute("SELECT id FROM users WHERE email = ?", (STAFF_EMAIL,)).fetchone()
            sets = ", ".join(f"{name} = :{name}" for name in FULL_PROFILE)
            conn.execute(f"UPDATE client_profiles SET {sets}", FULL_PROFILE)
            conn.execute(
                "UPDATE clients SET responsible_id = coalesce(responsible_id, :staff)",
                {"staff": staff[0]},
            )
        return conn.execute("SELECT count(*) FROM clients WHERE removed_at IS NULL").fetchone()[0]
    finally:
        conn.close()


def table_marks(store: Path) -> dict[str, tuple[int, int]]:
    """Per table: (rows, largest rowid)."""
    conn = sqlite3.connect(store)
    try:
        return {
            t: conn.execute(f"SELECT count(*), coalesce(max(rowid), 0) FROM {t}").fetchone()
            for t in TABLES
        }
    finally:
        conn.close()


def floor(home: Path, store: Path, before: dict[str, tuple[int, int]]) -> tuple[float, int]:
    """Write the rows the first run added into a fresh store with plain executemany
    in one transaction: (seconds of that transaction, rows written)."""
    from sempi_cli.store.constants import PRAGMAS

    target = home / "floor.db"
    made = subprocess.run(
        [SEMPI, "--db", str(target), "init", "--firm", "Bench Servizi Srl"]
        + ["--admin-email", ADMIN_EMAIL, "--admin-name", "Bruno Bench", "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        env=base_env(home),
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise SystemExit(f"bench: sempi init failed ({made.returncode}): {made.stderr}")
    source = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")  # untimed: what the rows point to
        for table in PARENTS:
            rows = source.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            marks = ",".join("?" * len(rows[0]))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks}) ON CONFLICT DO NOTHING", rows)
        conn.execute("COMMIT")
        seconds, written = 0.0, 0
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        seconds += time.perf_counter() - began
        for table in TABLES:
            cursor = source.execute(
                f"SELECT * FROM {table} WHERE rowid > ? ORDER BY rowid", (before[table][1],)
            )
            while rows := cursor.fetchmany(BATCH):  # fetched untimed
                marks = ",".join("?" * len(rows[0]))
                began = time.perf_counter()
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                seconds += time.perf_counter() - began
                written += len(rows)
        began = time.perf_counter()
        conn.execute("COMMIT")
        seconds += time.perf_counter() - began
    finally:
        conn.close()
        source.close()
    target.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    return seconds, written


def bench_size(home: Path, size: int) -> dict[str, float]:
    folder = home / f"clients-{size}"
    folder.mkdir(mode=0o700)
    store = folder / "sempi.db"
    began = time.perf_counter()
    built = build_store(store, size)
    clients = give_full_profiles(store)
    report(f"store_{size}_build_time", time.perf_counter() - began, "s")
    env = base_env(folder, store)
    login(env)
    run = [SEMPI, "scheduler", "run", *RANGE, "-q"]
    # Warm-up: fill the bytecode cache for the scheduler's modules; a dry run on
    # one client writes nothing.
    run_once([*run, "--dry-run", "--client", str(built["client_ids"][0])], env)

    before = table_marks(store)
    first, first_rss = run_once(run, env)
    after = table_marks(store)
    added = {t: after[t][0] - before[t][0] for t in TABLES}
    rows = sum(added.values())
    timed = [run_once(run, env) for _ in range(NO_CHANGE_REPEAT)]  # the same work each time
    second = statistics.median(seconds for seconds, _ in timed)
    second_rss = max(rss for _, rss in timed)
    if table_marks(store) != after:
        raise SystemExit("bench: a run with nothing to change changed the store")
    report(f"store_{size}_size", store.stat().st_size / 1_048_576, "MB")
    floor_seconds, floor_rows = floor(folder, store, before)
    if floor_rows != rows:
        raise SystemExit(f"bench: the floor wrote {floor_rows} rows, the run {rows}")

    figures = {
        "clients": clients,
        "first_s": first,
        "deadlines": added["deadlines"],
        "rows": rows,
        "rows_per_s": rows / first,
        "rss_mb": max(first_rss, second_rss),
        "second_s": second,
        "floor_rows_per_s": floor_rows / floor_seconds,
    }
    p = f"scheduler_{size}"
    report(f"{p}_deadlines", added["deadlines"])
    report(f"{p}_rows_added", rows, "(" + ", ".join(f"{t} {n}" for t, n in added.items()) + ")")
    report(f"{p}_first_run", first, "s")
    report(f"{p}_first_run_deadlines_per_s", added["deadlines"] / first, "deadlines/s")
    report(f"{p}_first_run_rows_per_s", rows / first, "rows/s")
    report(f"{p}_first_run_peak_rss", first_rss, "MB")
    share = second / first
    report(f"{p}_no_change_run", second, f"s (median of {NO_CHANGE_REPEAT})")
    report(f"{p}_no_change_run_peak_rss", second_rss, "MB")
    report(
        f"{p}_no_change_vs_first",
        share * 100,
        f"% (target <= {NO_CHANGE_TARGET:.0%}: {'met' if share <= NO_CHANGE_TARGET else 'MISSED'})",
    )
    report(f"{p}_floor_insert", floor_seconds, "s")
    report(f"{p}_floor_rows_per_s", figures["floor_rows_per_s"], "rows/s")
    vs_floor = figures["rows_per_s"] / figures["floor_rows_per_s"]
    report(
        f"{p}_first_run_vs_floor",
        vs_floor * 100,
        f"% of the floor's rows/s (target >= {FLOOR_SHARE_TARGET:.0%}:"
        f" {'met' if vs_floor >= FLOOR_SHARE_TARGET else 'MISSED'})",
    )
    if size == RSS_TARGET_CLIENTS:
        peak = figures["rss_mb"]
        report(
            f"{p}_peak_rss",
            peak,
            f"MB (target <= {RSS_TARGET_MB:.0f} MB: {'met' if peak <= RSS_TARGET_MB else 'MISSED'})",
        )
    report(f"{p}_per_client", first / clients * 1000, "ms/client")
    store.unlink()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="clients, comma-separated")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"# bench/scheduler.py: clients {sizes}, full profiles, range {RANGE[1]}..{RANGE[3]};"
        f" first run timed once, no-change run median of {NO_CHANGE_REPEAT};"
        f" load average at start {load} on {os.cpu_count()} CPUs",
        flush=True,
    )
    results = {}
    with workdir() as home:
        for size in sizes:
            results[size] = bench_size(home, size)
    if len(sizes) > 1:
        small, large = results[sizes[0]], results[sizes[-1]]
        per_small = small["first_s"] / small["clients"]
        per_large = large["first_s"] / large["clients"]
        report(
            f"time_linear_in_clients_{sizes[-1]}_vs_{sizes[0]}",
            per_large / per_small,
            f"x per client ({per_small * 1000:.2f} vs {per_large * 1000:.2f} ms/client;"
            " 1.00 is linear)",
        )


if __name__ == "__main__":
    main()
