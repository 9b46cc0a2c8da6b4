#!/usr/bin/env python3
"""`sempi automation run`: the after-hooks' throughput over 100,000 events.

The store: bench/_common.py's (a firm administrator, two practices, ``--clients``
clients made through the services), then ``--events`` client.updated events,
spread over the clients, written straight into the events record with
one executemany in one transaction (what the services write, without timing
them). The hooks' folder beside the store (0700) holds one trivial after-hook,
``after-client.updated`` (a shell script that reads its stdin and exits 0).

Timed, once (it delivers: a second run would find nothing to do), the whole
process, start-up included, as bench/_common.py times them:

  sempi automation run        queue every event for the hook (one transaction),
                              then deliver them in batches (BATCH events a run of
                              the hook), in order per client

Target (issue 19): >= 2,000 events/s delivered to a trivial after-hook in batches.

Run: .venv/bin/python bench/automation_hooks.py [--events 100000] [--clients 200]
     (quick try: --events 10000)
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

from _common import (
    PYTHON,
    SEMPI,
    base_env,
    build_store,
    check_target,
    count_rows,
    login,
    report,
    report_timing,
    run_once,
    workdir,
)

EVENTS = 100_000
CLIENTS = 200
TARGET = 2_000  # events/s
HOOK = "#!/bin/sh\nexec cat > /dev/null\n"


def add_events(store: Path, client_ids: list[int], events: int) -> float:
    """``events`` client.updated events, round-robin over the clients; seconds taken."""
    from sempi_cli.clock import SystemClock, iso_utc
    from sempi_cli.store import open_store, write_transaction

    start = time.perf_counter()
    conn = open_store(store)
    at = iso_utc(SystemClock().now())
    admin = conn.execute("SELECT id FROM users WHERE role = 'firm-admin'").fetchone()[0]
    try:
        with write_transaction(conn):
            conn.executemany(
                "INSERT INTO events (kind, at, actor_id, object_type, object_id, client_id,"
                " changes, data, origin_id, depth) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        "client.updated",
                        at,
                        admin,
                        "client",
                        client,
                        client,
                        json.dumps({"note": {"old": "", "new": f"nota {n}"}}),
                        json.dumps({"ragione_sociale": f"Cliente {client}"}),
                        None,
                        0,
                    )  # fmt: skip
                    for n in range(events)
                    for client in [client_ids[n % len(client_ids)]]
                ),
            )
    finally:
        conn.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS, help="events to deliver")
    parser.add_argument("--clients", type=int, default=CLIENTS, help="clients they are about")
    args = parser.parse_args()

    with workdir() as tmp:
        store = tmp / "automation.db"
        start = time.perf_counter()
        built = build_store(store, args.clients)
        report("build_clients", f"{args.clients:,} clients")
        report("build_seconds", time.perf_counter() - start, "s")
        client_ids = list(built["client_ids"])  # type: ignore[call-overload]
        report("events_added_seconds", add_events(store, client_ids, args.events), "s")
        hooks = tmp / "hooks"  # automation.hooks_dir unset: the folder beside the store
        hooks.mkdir(mode=0o700, exist_ok=True)
        os.chmod(tmp, 0o700)
        hook = hooks / "after-client.updated"
        hook.write_text(HOOK)
        hook.chmod(0o700)

        env = base_env(tmp / "admin", store)
        # The run happens once: compile sempi_cli into this home's bytecode cache
        # first, so that the timed run does not pay for the compiler.
        package = Path(__file__).resolve().parent.parent / "sempi_cli"
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(package)], env=env, check=True)
        login(env)
        floor, _ = run_once([SEMPI, "--version"], env)
        report("floor_once", floor * 1000, "ms")

        seconds, peak = run_once([SEMPI, "automation", "run"], env)
        delivered = count_rows(store, "SELECT count(*) FROM hook_deliveries WHERE status = 'done'")
        waiting = count_rows(store, "SELECT count(*) FROM hook_deliveries WHERE status <> 'done'")
        report_timing("automation_run", seconds, peak)
        report("automation_run_delivered", delivered, "events")
        report("automation_run_not_delivered", waiting, "events")
        with sqlite3.connect(store) as conn:
            cursor = conn.execute("SELECT last_event FROM hook_cursor").fetchone()[0]
        report("automation_run_cursor", cursor, "(the newest event)")
        verdicts: list[str] = []
        check_target(
            verdicts, "automation_run_rate", delivered / seconds, TARGET, "events/s",
            at_least=True,
        )  # fmt: skip
        if waiting:
            verdicts.append("MISSED")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# load average at the end {load}", flush=True)
    report("targets", f"{verdicts.count('met')} met, {verdicts.count('MISSED')} MISSED")


if __name__ == "__main__":
    main()
