#!/usr/bin/env python3
"""`sempi task` on stores of 1,000, 10,000 and 100,000 tasks, against Taskwarrior.

For each size: a fresh sempi store (200 clients made through the services,
then the tasks written in one transaction with executemany: ten staff users,
a year of deadlines, about two thirds completed, tags, participants and
observers, subtasks, a history line per change), a staff user logged in
through the real CLI, and the same tasks imported into a fresh Taskwarrior
data folder (`task import`, one JSON file). Then, in interleaved rounds of one
run, the median wall time and peak RSS of:

  sempi task list --mine --limit 50     task list limit:50
  sempi task add ...                    task add ...
  sempi task done ID                    task UUID done
  sempi task reopen ID                  task UUID modify status:pending
  sempi task due

`done` and its undo alternate, so every round completes the same open task.
Taskwarrior runs as its users run it: its defaults (gc on, default verbosity
and report), with `confirmation=no` only so it never waits on a prompt and
`news.version` set so it does not nag. It is installed with apt-get when
missing and running as root; otherwise its figures are skipped.

Targets: at 100,000 tasks each sempi command at most 0.25x Taskwarrior's
time for the comparable command and at most 1.5x its own time at 1,000
tasks; peak RSS at most 80 MB.

Run: .venv/bin/python bench/tasks.py [--sizes 1000,10000,100000] [--repeat 11]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import (
    SEMPI,
    STAFF_EMAIL,
    base_env,
    build_store,
    report,
    report_timing,
    run_all,
    workdir,
)

TW_RATIO_TARGET = 0.25
FLAT_TARGET = 1.5
RSS_TARGET_MB = 80.0
CLIENTS = 200
STAFF_PASSWORD = "bench-staff-password"
MORE_STAFF = 9  # besides the logged-in staff user: ten people share the work
TITLES = (
    "Registrazione fatture di acquisto {m}",
    "Registrazione fatture di vendita {m}",
    "Invio F24 ritenute {m}",
    "Liquidazione IVA {m}",
    "Richiesta estratti conto {m}",
    "Verifica corrispettivi {m}",
    "Riconciliazione bancaria {m}",
    "LIPE trimestrale",
    "Elenchi INTRASTAT {m}",
    "Autofatture reverse charge {m}",
    "Contributi INPS {m}",
    "Sollecito documenti mancanti",
)
MONTHS = "gen feb mar apr mag giu lug ago set ott nov dic".split()
TAGS = ("iva", "f24", "banca", "documenti", "intrastat", "inps", "urgente", "contabilita")
# pending, in_progress, awaiting_approval, completed, deferred
STATUS_WEIGHTS = (22, 7, 2, 66, 3)
STATUSES = ("pending", "in_progress", "awaiting_approval", "completed", "deferred")


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def tw_stamp(stored: str) -> str:
    return datetime.fromisoformat(stored).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def staff_session(store: Path, env: dict[str, str]) -> None:
    """Give the bench's staff user a password (bench data: straight to the table)
    and log them in through the real CLI, so timed commands use a real session."""
    import sqlite3

    from sempi_cli.services.passwords import hash_password

    conn = sqlite3.connect(store)
    with conn:
        conn.execute(
            "UPDATE users SET password_hash = ? WHERE email = ?",
            (hash_password(STAFF_PASSWORD), STAFF_EMAIL),
        )
    conn.close()
    result = subprocess.run(
        [SEMPI, "login", "--email", STAFF_EMAIL, "--password-stdin"],
        input=STAFF_PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"bench: sempi login failed ({result.returncode}): {result.stderr}")


def add_tasks(store: Path, count: int, seed: int) -> dict[str, object]:
    """``count`` tasks in one transaction; returns what the timed commands need
    and the rows for Taskwarrior."""

    from sempi_cli.clock import SystemClock
    from sempi_cli.services.auth import actor_from_row
    from sempi_cli.services.users import UserService
    from sempi_cli.store import open_store, write_transaction

    rng = random.Random(seed)
    conn = open_store(store)
    try:
        admin = actor_from_row(
            conn.execute("SELECT * FROM users WHERE role = 'firm-admin'").fetchone()
        )
        with write_transaction(conn):
            users = UserService(conn, SystemClock(), admin)
            for n in range(MORE_STAFF):
                users.add(f"staff{n}@bench.test", f"Staff {n}", "staff")
        staff = [
            r[0] for r in conn.execute("SELECT id FROM users WHERE role = 'staff' ORDER BY id")
        ]
        me = conn.execute("SELECT id FROM users WHERE email = ?", (STAFF_EMAIL,)).fetchone()[0]
        emails = dict(conn.execute("SELECT id, email FROM users").fetchall())
        clients = [r[0] for r in conn.execute("SELECT id FROM clients ORDER BY id")]
        my_clients = [
            r[0]
            for r in conn.execute(
                "SELECT client_id FROM work_group_members WHERE user_id = ? ORDER BY client_id",
                (me,),
            )
        ]
        start = conn.execute("SELECT coalesce(max(id), 0) FROM tasks").fetchone()[0] + 1
        now = datetime.now(UTC).replace(microsecond=0)
        tasks, tags, members, history = [], [], [], []
        for task_id in range(start, start + count):
            status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
            if status == "completed":
                deadline = now - timedelta(days=rng.uniform(1, 330))
            else:  # open work: mostly ahead, some overdue
                deadline = now + timedelta(days=rng.uniform(-20, 60))
            deadline = deadline.replace(minute=0, second=0)
            created = deadline - timedelta(days=rng.uniform(5, 40))
            completed = (
                iso(deadline - timedelta(hours=rng.uniform(1, 72)))
                if status == "completed"
                else None
            )
            kind = "ordinary" if rng.random() < 0.7 else "extraordinary"
            parent = (
                rng.randrange(start, task_id) if task_id > start and rng.random() < 0.05 else None
            )
            tasks.append(
                (
                    task_id,
                    rng.choice(TITLES).format(m=MONTHS[deadline.month - 1]),
                    kind,
                    status,
                    rng.choice(staff),
                    rng.choice((admin.id, *staff)),
                    rng.choice(clients) if rng.random() < 0.95 else None,
                    parent,
                    int(rng.random() < 0.1),
                    iso(deadline),
                    rng.choice((None, 30, 60, 90, 120)),
                    int(rng.random() < 0.1),
                    int(kind == "ordinary"),
                    completed,
                    iso(created),
                    completed or iso(created),
                )
            )
            tags.extend((task_id, t) for t in rng.sample(TAGS, rng.randint(0, 2)))
            if rng.random() < 0.2:
                members.append((task_id, rng.choice(staff), "participant"))
            if rng.random() < 0.1:
                members.append((task_id, rng.choice(staff), "observer"))
            history.append(
                (task_id, iso(created), tasks[-1][5], "create", None, None, tasks[-1][1])
            )
            if status != "pending":
                verb = {"in_progress": "start", "deferred": "defer"}.get(status, "done")
                at = completed or iso(created)
                history.append((task_id, at, tasks[-1][4], verb, "status", "pending", status))
        with write_transaction(conn):
            conn.executemany(
                "INSERT INTO tasks (id, title, kind, status, responsible_id, creator_id, client_id,"
                " parent_id, high_priority, deadline, planned_minutes, approval_required,"
                " time_tracking, completed_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tasks,
            )
            conn.executemany("INSERT INTO task_tags (task_id, tag) VALUES (?, ?)", tags)
            conn.executemany(
                "INSERT INTO task_members (task_id, user_id, role) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                members,
            )
            conn.executemany(
                "INSERT INTO task_history (task_id, at, actor_id, action, field, old, new)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                history,
            )
        # The task `done` toggles: open, mine, no approval to wait for.
        toggle = next(
            t for t in tasks if t[4] == me and t[3] == "pending" and not t[11] and t[7] is None
        )
    finally:
        conn.close()
    tag_map: dict[int, list[str]] = {}
    for task_id, tag in tags:
        tag_map.setdefault(task_id, []).append(tag)
    return {
        "toggle": toggle[0],
        "client": my_clients[0] if my_clients else clients[0],
        "rows": tasks,
        "tags": tag_map,
        "emails": emails,
    }


def taskwarrior(home: Path, built: dict, env: dict[str, str]) -> tuple[dict[str, str], str] | None:
    """A Taskwarrior data folder holding the same tasks; (env, uuid of the toggled task)."""
    if shutil.which("task") is None:
        return None
    data, rc = home / "taskdata", home / "taskrc"
    data.mkdir()
    version = subprocess.run(["task", "--version"], capture_output=True, text=True).stdout.strip()
    rc.write_text(
        f"data.location={data}\nconfirmation=no\nnews.version={version}\n"
        # A user-defined attribute, so the responsible travels as in sempi.
        "uda.responsible.type=string\nuda.responsible.label=Responsible\n"
    )
    tw_env = {**env, "TASKRC": str(rc), "TASKDATA": str(data)}
    records, toggle_uuid = [], ""
    for row in built["rows"]:
        (task_id, title, _kind, status, responsible, _creator, client, _parent, high, deadline) = (
            row[:10]
        )
        task_uuid = str(uuid.UUID(int=task_id))
        record = {
            "uuid": task_uuid,
            "description": title,
            "status": "completed" if status == "completed" else "pending",
            "entry": tw_stamp(row[14]),
            "modified": tw_stamp(row[15]),
            "due": tw_stamp(deadline),
            "project": f"cliente{client}" if client else None,
            "tags": built["tags"].get(task_id, []),
            "responsible": built["emails"][responsible],
        }
        if high:
            record["priority"] = "H"
        if status == "completed":
            record["end"] = tw_stamp(row[13])
        if status == "in_progress":
            record["start"] = tw_stamp(row[14])
        records.append({k: v for k, v in record.items() if v not in (None, [])})
        if task_id == built["toggle"]:
            toggle_uuid = task_uuid
    source = home / "taskwarrior.json"
    source.write_text(json.dumps(records))
    subprocess.run(["task", "import", str(source)], env=tw_env, capture_output=True, check=True)
    subprocess.run(["task", "list", "limit:1"], env=tw_env, capture_output=True, check=True)  # gc
    return tw_env, toggle_uuid


def ensure_taskwarrior() -> None:
    """apt-get install taskwarrior when it is missing and we may (root, apt-get)."""
    if shutil.which("task") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    print("# installing taskwarrior with apt-get", flush=True)
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=apt_env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "taskwarrior"], env=apt_env, capture_output=True
    )


def bench_size(size: int, repeat: int) -> dict[str, tuple[float, float]]:
    with workdir() as home:
        store = home / "sempi.db"
        began = time.perf_counter()
        build_store(store, CLIENTS)
        built = add_tasks(store, size, seed=size)
        report(f"store_{size}_build_time", time.perf_counter() - began, "s")
        report(f"store_{size}_size", store.stat().st_size / 1_048_576, "MB")
        env = base_env(home, store)
        staff_session(store, env)
        toggle, client = str(built["toggle"]), str(built["client"])
        commands = {
            "sempi_task_list": [SEMPI, "task", "list", "--mine", "--limit", "50"],
            "sempi_task_add": [
                SEMPI, "task", "add", "Registrazione fatture di acquisto",
                "-c", client, "-d", "+3d", "-t", "contabilita",
            ],
            "sempi_task_done": [SEMPI, "task", "done", toggle],
            "sempi_task_reopen": [SEMPI, "task", "reopen", toggle],
            "sempi_task_due": [SEMPI, "task", "due"],
        }  # fmt: skip
        began = time.perf_counter()
        tw = taskwarrior(home, built, env)
        if tw is not None:
            env, toggle_uuid = tw
            task_bin = str(shutil.which("task"))  # the spawner exec()s a path
            report(f"taskwarrior_{size}_import_time", time.perf_counter() - began, "s")
            commands.update(
                {
                    "tw_task_list": [task_bin, "list", "limit:50"],
                    "tw_task_add": [
                        task_bin, "add", "Registrazione fatture di acquisto",
                        "due:now+3d", "+contabilita", f"project:cliente{client}",
                    ],
                    "tw_task_done": [task_bin, toggle_uuid, "done"],
                    "tw_task_undone": [task_bin, toggle_uuid, "modify", "status:pending"],
                }
            )  # fmt: skip
        results = run_all(commands, env, repeat)
    for name, (median, peak) in results.items():
        report_timing(f"{name}_{size}", median, peak)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="store sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=11, help="timed runs of each command")
    parser.add_argument(
        "--repeat-large", type=int, default=7, help="timed runs at 100,000 tasks and more"
    )
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    ensure_taskwarrior()
    has_tw = shutil.which("task") is not None
    print(
        f"# bench/tasks.py: sizes {sizes}, {args.repeat} runs each"
        f" ({args.repeat_large} at 100,000+), medians; taskwarrior: {'yes' if has_tw else 'not installed'}",
        flush=True,
    )
    results = {
        size: bench_size(size, args.repeat_large if size >= 100_000 else args.repeat)
        for size in sizes
    }
    small, large = results[sizes[0]], results[sizes[-1]]
    verbs = ("list", "add", "done", "due")
    flat = []
    for verb in verbs:
        ratio = large[f"sempi_task_{verb}"][0] / small[f"sempi_task_{verb}"][0]
        report(f"sempi_task_{verb}_{sizes[-1]}_vs_{sizes[0]}", ratio, "x")
        flat.append(ratio <= FLAT_TARGET)
    versus = []
    if "tw_task_list" in large:
        for verb in ("list", "add", "done"):
            ratio = large[f"sempi_task_{verb}"][0] / large[f"tw_task_{verb}"][0]
            report(f"sempi_task_{verb}_vs_taskwarrior_{sizes[-1]}", ratio, "x")
            versus.append(ratio <= TW_RATIO_TARGET)
    peak = max(
        rss for r in results.values() for name, (_, rss) in r.items() if name.startswith("sempi")
    )
    report("sempi_peak_rss_max", peak, "MB")
    report("target_vs_taskwarrior_0.25x", ("yes" if all(versus) else "no") if versus else "n/a")
    report("target_flat_1.5x", "yes" if all(flat) else "no")
    report("target_rss_80mb", "yes" if peak <= RSS_TARGET_MB else "no")


if __name__ == "__main__":
    main()
