#!/usr/bin/env python3
"""`sempi checklist` on a task with 2,000 items: the tree view, and a group
check (and uncheck) of 500 items.

The store: a firm admin logged in through the real CLI, one task, two named
checklists holding 2,000 items made through the services in one transaction -
100 top-level items, each with sub-items three levels deep (19 per top item),
some marked important. Then, in interleaved rounds, the median wall time and
peak RSS of:

  sempi checklist list TASK --all          the whole tree, 2,000 lines
  sempi checklist list TASK --all --json   the same as JSON
  sempi checklist check ID x500 --yes      one transaction, all or nothing
  sempi checklist uncheck ID x500 --yes    its undo, so every round does the same work

Target: peak RSS at most 100 MB for every command.

Run: .venv/bin/python bench/checklists.py [--items 2000] [--group 500] [--repeat 9]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import SEMPI, base_env, build_store, login, report, report_timing, run_all, workdir

RSS_TARGET_MB = 100.0
PER_TOP = 20  # a top-level item and its 19 sub-items


def add_items(store: Path, count: int) -> tuple[int, list[int]]:
    """One task with ``count`` items; returns its id and the ids of the leaves."""
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.checklists.items import ChecklistItems
    from sempi_cli.services.identity.auth import actor_from_row
    from sempi_cli.services.tasks.input import TaskInput
    from sempi_cli.services.tasks.tasks import TaskService
    from sempi_cli.store import open_store, write_transaction

    conn = open_store(store)
    try:
        clock = SystemClock()
        admin = actor_from_row(
            conn.execute("SELECT * FROM users WHERE role = 'firm-admin'").fetchone()
        )
        task = TaskService(conn, clock, admin).add(
            TaskInput(title="Chiusura di bilancio 2026", responsibles=[admin.email])
        )[0]["id"]
        items = ChecklistItems(conn, clock, admin)
        leaves: list[int] = []
        with write_transaction(conn):
            items.lists.add_list(task, "Documenti")
            items.lists.add_list(task, "Controlli")
            tree = items.lists.tree(task)
            made = 0
            while made < count:
                name = "Documenti" if made < count // 2 else "Controlli"
                top = items._insert(tree, f"Voce {made}", name, None, made % 7 == 0)
                made += 1
                parents = [top]  # the open path: parents[level] is where level goes
                for n in range(1, PER_TOP):
                    if made >= count:
                        break
                    level = (n - 1) % 3
                    sub = items._insert(
                        tree, f"Voce {made}: dettaglio {n}", None, parents[level], False
                    )
                    parents = [*parents[: level + 1], sub]
                    made += 1
            children = {i["parent_id"] for i in tree.items.values()}
            leaves = [i for i in tree.items if i not in children]
    finally:
        conn.close()
    return task, leaves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000, help="items on the task")
    parser.add_argument("--group", type=int, default=500, help="items in the group check")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs of each command")
    args = parser.parse_args()
    print(
        f"# bench/checklists.py: {args.items} items, group of {args.group},"
        f" {args.repeat} runs of each command in interleaved rounds, medians",
        flush=True,
    )
    with workdir() as home:
        store = home / "sempi.db"
        began = time.perf_counter()
        build_store(store, 2)
        task, leaves = add_items(store, args.items)
        report("store_build_time", time.perf_counter() - began, "s")
        report("store_size", store.stat().st_size / 1_048_576, "MB")
        report("leaves", len(leaves))
        env = base_env(home, store)
        login(env)
        group = [str(i) for i in leaves[: args.group]]
        sempi = [SEMPI, "--yes", "checklist"]
        commands = {
            f"sempi_checklist_list_{args.items}": [*sempi, "list", str(task), "--all"],
            f"sempi_checklist_list_json_{args.items}": [
                SEMPI,
                "--json",
                "checklist",
                "list",
                str(task),
                "--all",
            ],
            f"sempi_checklist_check_{len(group)}": [*sempi, "check", *group],
            f"sempi_checklist_uncheck_{len(group)}": [*sempi, "uncheck", *group],
        }
        results = run_all(commands, env, args.repeat)
    for name, (median, peak) in results.items():
        report_timing(name, median, peak)
    peak = max(rss for _, rss in results.values())
    report("sempi_peak_rss_max", peak, "MB")
    report("target_rss_100mb", "yes" if peak <= RSS_TARGET_MB else "no")


if __name__ == "__main__":
    main()
