#!/usr/bin/env python3
"""`sempi client list` on a store of many clients, against the floor doing the same work.

Builds a fresh store (default 10,000 clients, two practices) in a temporary
directory, logs the firm admin in through the CLI, then times, in interleaved
rounds of one run: `sempi client list --limit 50` (table and --json),
`sempi client show ID`, `sempi --version`, bench/floor.py --limit 50 (plain
sqlite3 + tabulate in a one-command Typer app) and `python -c "import sqlite3"`.

Targets (medians, same run): `sempi client list --limit 50` at most 1.5x
bench/floor.py, and at most 60 MB peak RSS.

Run: .venv/bin/python bench/clients.py [--clients 10000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import subprocess
import time

from _common import (
    FLOOR,
    PYTHON,
    SEMPI,
    base_env,
    build_store,
    login,
    report,
    report_timing,
    run_all,
    workdir,
)

RATIO_TARGET = 1.5
RSS_TARGET_MB = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000, help="clients in the store")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs of each command")
    parser.add_argument("--limit", type=int, default=50, help="--limit of the listings")
    args = parser.parse_args()
    print(f"# bench/clients.py: {args.clients} clients, {args.repeat} runs each, medians")
    with workdir() as home:
        store = home / "sempi.db"
        start = time.perf_counter()
        built = build_store(store, args.clients)
        build_seconds = time.perf_counter() - start
        report("store_build_time", build_seconds, "s")
        report("store_build_rate", args.clients / build_seconds, "clients/s")
        report("store_size", store.stat().st_size / 1_048_576, "MB")

        env = base_env(home, store)
        login(env)
        limit = str(args.limit)
        client_ids = built["client_ids"]
        show_id = str(client_ids[len(client_ids) // 2]) if client_ids else "1"
        commands = {
            "python_import_sqlite3": [PYTHON, "-c", "import sqlite3"],
            "floor_client_list": [PYTHON, FLOOR, "--db", str(store), "--limit", limit],
            "sempi_version": [SEMPI, "--version"],
            "sempi_client_list": [SEMPI, "client", "list", "--limit", limit],
            "sempi_client_list_json": [SEMPI, "client", "list", "--limit", limit, "--json"],
            "sempi_client_show": [SEMPI, "client", "show", show_id],
        }
        # Same work: the floor must print exactly what sempi prints.
        outputs = [
            subprocess.run(
                commands[name], env=env, capture_output=True, text=True, check=True
            ).stdout
            for name in ("sempi_client_list", "floor_client_list")
        ]
        report("floor_output_identical", "yes" if outputs[0] == outputs[1] else "no")
        results = run_all(commands, env, args.repeat)

    for name, (median, peak) in results.items():
        report_timing(name, median, peak)
    sempi_list, sempi_rss = results["sempi_client_list"]
    floor_list = results["floor_client_list"][0]
    ratio = sempi_list / floor_list
    report("client_list_vs_floor", ratio, "x")
    report("client_list_minus_floor", (sempi_list - floor_list) * 1000, "ms")
    report("client_list_vs_import_sqlite3", sempi_list / results["python_import_sqlite3"][0], "x")
    ratio_ok, rss_ok = ratio <= RATIO_TARGET, sempi_rss <= RSS_TARGET_MB
    report("target_ratio_1.5x", "yes" if ratio_ok else "no")
    report("target_rss_60mb", "yes" if rss_ok else "no")
    report("target_met", "yes" if ratio_ok and rss_ok else "no")


if __name__ == "__main__":
    main()
