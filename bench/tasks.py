#!/usr/bin/env python3
"""`sempi task` on stores of 1,000, 10,000 and 100,000 tasks, against Taskwarrior.

For each size: a fresh sempi store (200 clients made through the services,
then the tasks written in one transaction with executemany: a year of
deadlines, statuses that follow them - the past mostly completed, a few
overdue, the next two months open - tags, participants and observers,
subtasks, a history line per change), and the same tasks imported into a
fresh Taskwarrior data folder (`task import` of one JSON file). The store
grows around one person: the staff user logged in through the real CLI is
responsible for the same 1,000 tasks in every store (a year of a person's
work); the other tasks belong to one more colleague per 1,000, since a store
grows with the firm, not with one person's day.

Then, in interleaved rounds of one run over every size (so drift in the
machine's load hits all sizes alike), the median wall time and peak RSS of:

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

Run: .venv/bin/python bench/tasks.py [--sizes 1000,10000,100000] [--repeat 9]
"""

from __future__ import annotations

import argparse
import json
import math
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
MY_TASKS = 1_000  # the logged-in user's year of work, the same in every store
TASKS_PER_COLLEAGUE = 1_000
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
OPEN_STATUSES = ("pending", "in_progress", "deferred", "awaiting_approval")


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def tw_stamp(stored: str) -> str:
    return datetime.fromisoformat(stored).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def staff_session(store: Path, env: dict[str, str]) -> None:
    """Give the bench's staff user a password (bench data: straight to the table)
    and log them in through the real CLI, so timed commands use a real session."""
    import sqlite3

    from sempi_cli.services.identity.passwords import hash_password

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


def status_for(rng: random.Random, deadline: datetime, now: datetime, approval: bool) -> str:
    """The past is mostly done (what is still open is recent), the future mostly open."""
    if deadline > now:
        open_ = rng.random() < 0.9
    else:
        age_days = (now - deadline).total_seconds() / 86_400
        open_ = rng.random() < 0.25 * math.exp(-age_days / 10) + 0.003
    if not open_:
        return "completed"
    status = rng.choices(OPEN_STATUSES, (65, 25, 5, 5))[0]
    return "in_progress" if status == "awaiting_approval" and not approval else status


def add_tasks(store: Path, count: int, seed: int) -> dict[str, object]:
    """``count`` tasks in one transaction; returns what the timed commands need
    and the rows for Taskwarrior."""
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.identity.auth import actor_from_row
    from sempi_cli.services.org.users import UserService
    from sempi_cli.store import open_store, write_transaction

    rng = random.Random(seed)
    conn = open_store(store)
    try:
        admin = actor_from_row(
            conn.execute("SELECT * FROM users WHERE role = 'firm-admin'").fetchone()
        )
        colleagues = max(2, -(-(count - MY_TASKS) // TASKS_PER_COLLEAGUE))
        with write_transaction(conn):
            users = UserService(conn, SystemClock(), admin)
            others = [
                users.add(f"staff{n}@bench.test", f"Staff {n}", "staff")["id"]
                for n in range(colleagues)
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
        mine = set(rng.sample(range(count), min(MY_TASKS, count)))
        now = datetime.now(UTC).replace(microsecond=0)
        tasks, tags, members, history = [], [], [], []
        for n in range(count):
            task_id = n + 1
            responsible = me if n in mine else rng.choice(others)
            deadline = (now + timedelta(days=rng.uniform(-300, 65))).replace(minute=0, second=0)
            approval = rng.random() < 0.1
            status = status_for(rng, deadline, now, approval)
            created = deadline - timedelta(days=rng.uniform(5, 40))
            completed = None
            if status == "completed":
                completed = iso(min(deadline - timedelta(hours=rng.uniform(1, 72)), now))
            kind = "ordinary" if rng.random() < 0.7 else "extraordinary"
            parent = rng.randrange(1, task_id) if task_id > 1 and rng.random() < 0.05 else None
            title = rng.choice(TITLES).format(m=MONTHS[deadline.month - 1])
            creator = rng.choice((admin.id, responsible, rng.choice(others)))
            tasks.append(
                (
                    task_id,
                    title,
                    kind,
                    status,
                    responsible,
                    creator,
                    rng.choice(clients) if rng.random() < 0.95 else None,
                    parent,
                    int(rng.random() < 0.1),
                    iso(deadline),
                    rng.choice((None, 30, 60, 90, 120)),
                    int(approval),
                    int(kind == "ordinary"),
                    completed,
                    iso(created),
                    completed or iso(created),
                )
            )
            tags.extend((task_id, t) for t in rng.sample(TAGS, rng.randint(0, 2)))
            for role, share in (("participant", 0.2), ("observer", 0.1)):
                if rng.random() < share:
                    members.append((task_id, rng.choice((me, *others)), role))
            history.append((task_id, iso(created), creator, "create", None, None, title))
            if status != "pending":
                verb = {"in_progress": "start", "deferred": "defer"}.get(status, "done")
                at = completed or iso(created)
                history.append((task_id, at, responsible, verb, "status", "pending", status))
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
    finally:
        conn.close()
    stamp = iso(now)
    my_rows = [t for t in tasks if t[4] == me]
    # The task `done` toggles: open, mine, no approval to wait for.
    toggle = next(t for t in my_rows if t[3] == "pending" and not t[11])
    tag_map: dict[int, list[str]] = {}
    for task_id, tag in tags:
        tag_map.setdefault(task_id, []).append(tag)
    return {
        "toggle": toggle[0],
        "client": my_clients[0] if my_clients else clients[0],
        "rows": tasks,
        "tags": tag_map,
        "emails": emails,
        "staff": colleagues + 1,
        "my_tasks": len(my_rows),
        "my_open": sum(t[3] != "completed" for t in my_rows),
        "my_overdue": sum(t[3] != "completed" and t[9] < stamp for t in my_rows),
    }


def taskwarrior(folder: Path, built: dict) -> tuple[list[str], str] | None:
    """A Taskwarrior data folder holding the same tasks: (the command that uses it,
    the uuid of the toggled task), or None without Taskwarrior."""
    task_bin = shutil.which("task")
    if task_bin is None:
        return None
    data, rc = folder / "taskdata", folder / "taskrc"
    data.mkdir(parents=True)
    version = subprocess.run([task_bin, "--version"], capture_output=True, text=True).stdout
    rc.write_text(
        f"data.location={data}\nconfirmation=no\nnews.version={version.strip()}\n"
        # A user-defined attribute, so the responsible travels as in sempi.
        "uda.responsible.type=string\nuda.responsible.label=Responsible\n"
    )
    task = [task_bin, f"rc:{rc}"]  # exec()ed by the spawner: a path, not a name
    records = []
    for row in built["rows"]:
        task_id, title, _, status, responsible, _, client, _, high, deadline = row[:10]
        record = {
            "uuid": str(uuid.UUID(int=task_id)),
            "description": title,
            "status": "completed" if status == "completed" else "pending",
            "entry": tw_stamp(row[14]),
            "modified": tw_stamp(row[15]),
            "due": tw_stamp(deadline),
            "project": f"cliente{client}" if client else None,
            "tags": built["tags"].get(task_id, []),
            "responsible": built["emails"][responsible],
            "priority": "H" if high else None,
            "end": tw_stamp(row[13]) if status == "completed" else None,
            "start": tw_stamp(row[14]) if status == "in_progress" else None,
        }
        records.append({k: v for k, v in record.items() if v not in (None, [])})
    source = folder / "taskwarrior.json"
    source.write_text(json.dumps(records))
    for args in (["import", str(source)], ["list", "limit:1"]):  # the list runs its gc
        subprocess.run([*task, *args], capture_output=True, check=True)
    return task, str(uuid.UUID(int=built["toggle"]))


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


def prepare(home: Path, size: int, env: dict[str, str]) -> dict[str, list[str]]:
    """The stores of one size, and the commands to time on them."""
    store = home / f"sempi-{size}.db"
    began = time.perf_counter()
    build_store(store, CLIENTS)
    built = add_tasks(store, size, seed=size)
    report(f"store_{size}_build_time", time.perf_counter() - began, "s")
    report(f"store_{size}_size", store.stat().st_size / 1_048_576, "MB")
    for key in ("staff", "my_tasks", "my_open", "my_overdue"):
        report(f"store_{size}_{key}", built[key])
    staff_session(store, {**env, "SEMPI_DB": str(store)})
    sempi = [SEMPI, "--db", str(store), "task"]
    toggle, client = str(built["toggle"]), str(built["client"])
    title = "Registrazione fatture di acquisto"
    commands = {
        f"sempi_task_list_{size}": [*sempi, "list", "--mine", "--limit", "50"],
        f"sempi_task_add_{size}": [
            *sempi,
            "add",
            title,
            "-c",
            client,
            "-d",
            "+3d",
            "-t",
            "contabilita",
        ],
        f"sempi_task_done_{size}": [*sempi, "done", toggle],
        f"sempi_task_reopen_{size}": [*sempi, "reopen", toggle],
        f"sempi_task_due_{size}": [*sempi, "due"],
    }
    began = time.perf_counter()
    tw = taskwarrior(home / f"taskwarrior-{size}", built)
    if tw is not None:
        task, toggle_uuid = tw
        report(f"taskwarrior_{size}_import_time", time.perf_counter() - began, "s")
        commands.update(
            {
                f"tw_task_list_{size}": [*task, "list", "limit:50"],
                f"tw_task_add_{size}": [
                    *task,
                    "add",
                    title,
                    "due:now+3d",
                    "+contabilita",
                    f"project:cliente{client}",
                ],
                f"tw_task_done_{size}": [*task, toggle_uuid, "done"],
                f"tw_task_undone_{size}": [*task, toggle_uuid, "modify", "status:pending"],
            }
        )
    return commands


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="store sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs of each command")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    ensure_taskwarrior()
    has_tw = shutil.which("task") is not None
    print(
        f"# bench/tasks.py: sizes {sizes}, {args.repeat} runs of each command in interleaved"
        f" rounds, medians; taskwarrior: {'yes' if has_tw else 'not installed'}",
        flush=True,
    )
    with workdir() as home:
        env = base_env(home)
        commands: dict[str, list[str]] = {}
        for size in sizes:
            commands.update(prepare(home, size, env))
        results = run_all(commands, env, args.repeat)
    for name, (median, peak) in results.items():
        report_timing(name, median, peak)
    small, large = sizes[0], sizes[-1]
    flat = []
    for verb in ("list", "add", "done", "due"):
        ratio = results[f"sempi_task_{verb}_{large}"][0] / results[f"sempi_task_{verb}_{small}"][0]
        report(f"sempi_task_{verb}_{large}_vs_{small}", ratio, "x")
        flat.append(ratio <= FLAT_TARGET)
    versus = []
    if has_tw:
        for verb in ("list", "add", "done"):
            ratio = results[f"sempi_task_{verb}_{large}"][0] / results[f"tw_task_{verb}_{large}"][0]
            report(f"sempi_task_{verb}_vs_taskwarrior_{large}", ratio, "x")
            versus.append(ratio <= TW_RATIO_TARGET)
    peak = max(rss for name, (_, rss) in results.items() if name.startswith("sempi"))
    report("sempi_peak_rss_max", peak, "MB")
    report("target_vs_taskwarrior_0.25x", ("yes" if all(versus) else "no") if versus else "n/a")
    report("target_flat_1.5x", "yes" if all(flat) else "no")
    report("target_rss_80mb", "yes" if peak <= RSS_TARGET_MB else "no")


if __name__ == "__main__":
    main()
