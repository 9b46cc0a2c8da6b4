#!/usr/bin/env python3
"""`sempi timer` on stores of 1,000 and 1,000,000 time entries, against Timewarrior.

Each store: 200 clients made through the services, 100 people, 20,000 tasks,
then the entries written in one executemany transaction: a year of work,
every person's intervals one after another (never overlapping), a few by hand.
The firm administrator, logged in through the real CLI, is responsible for
the task the timer runs on.

Timed (median wall time and peak RSS of whole processes, interleaved rounds):

  sempi timer start TASK / sempi timer pause      on each store
  sempi timer report --by client --from .. --to ..  a year of 1,000,000 entries
  timew start TAG / timew stop                    on 100,000 intervals
  timew summary FROM - TO                         a year of 100,000 intervals

Timewarrior's database is written the way Timewarrior stores it: one
``data/YYYY-MM.data`` file per month, one ``inc START - END # tags`` line per
interval (its documented format); its tag index (``data/tags.data``) is built
by one `timew tags` before timing. That is the fastest honest import: ``timew
track`` costs a process per interval. It is installed with apt-get when
missing and running as root.

One person keeps one Timewarrior, so its intervals are tagged with that
person's share of the work: 200 tasks (20,000 / 100 people) and 50 clients.
This script used to tag them with any of the firm's 20,000 tasks and 200
clients: 20,200 distinct tags, a 590 KB tags.data that Timewarrior 1.4 reads
as JSON and writes back on every start and stop, about 60-80 ms of its time
(5-10 ms with a person's few hundred tags, as measured by hand). It was not the
process spawn (fork and exec of the binary, no shell, no Python wrapper), nor
the 100,000 intervals (the same over ten years). That database is still timed,
as ``tw_firm_tags_start``/``_stop``, so the two figures stand side by side.

Targets: start/pause at 1,000,000 entries at most 1.2x their time at 1,000;
the report over 1,000,000 entries at most 0.5x `timew summary` over 100,000;
peak RSS at most 100 MB.

Run: .venv/bin/python bench/timer.py [--sizes 1000,1000000] [--intervals 100000] [--repeat 9]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import SEMPI, base_env, build_store, login, report, report_timing, run_all, workdir

FLAT_TARGET = 1.2
TW_RATIO_TARGET = 0.5
RSS_TARGET_MB = 100.0
CLIENTS = 200
PEOPLE = 100
TASKS = 20_000
YEAR = timedelta(days=365)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def year_of_intervals(rng: random.Random, count: int, people: int, end: datetime):
    """``count`` intervals over the year before ``end``: (person index, start, seconds),
    each person's one after another, so they never overlap."""
    start = end - YEAR
    per_person = -(-count // people)
    slot = YEAR.total_seconds() / per_person
    made = 0
    for person in range(people):
        for n in range(per_person):
            if made == count:
                return
            begin = start + timedelta(seconds=int(n * slot + rng.uniform(0, slot * 0.2)))
            length = int(rng.uniform(0.1, 0.75) * slot)
            yield person, begin, max(60, length)
            made += 1


def add_entries(store: Path, count: int, seed: int) -> int:
    """People, tasks and ``count`` time entries, in one transaction each; returns
    the task the administrator's timer runs on."""
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
        with write_transaction(conn):
            users = UserService(conn, SystemClock(), admin)
            people = [admin.id] + [
                users.add(f"person{n}@bench.test", f"Person {n}", "staff")["id"]
                for n in range(PEOPLE - 1)
            ]
        clients = [r[0] for r in conn.execute("SELECT id FROM clients ORDER BY id")]
        now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        stamp = iso(now - YEAR)
        tasks = [
            (
                n,
                f"Pratica {n}",
                admin.id if n == 1 else rng.choice(people),
                admin.id,
                rng.choice(clients),
                rng.choice((None, 60, 120, 480, 960)),
                stamp,
                stamp,
            )
            for n in range(1, TASKS + 1)
        ]
        entries = []
        for person, begin, seconds in year_of_intervals(rng, count, PEOPLE, now):
            manual = rng.random() < 0.05
            entries.append(
                (
                    rng.randint(1, TASKS),
                    people[person],
                    iso(begin),
                    iso(begin + timedelta(seconds=seconds)),
                    seconds,
                    int(manual),
                    "a mano" if manual else None,
                    iso(begin),
                    iso(begin),
                )
            )
        with write_transaction(conn):
            conn.executemany(
                "INSERT INTO tasks (id, title, kind, responsible_id, creator_id, client_id,"
                " planned_minutes, time_tracking, created_at, updated_at)"
                " VALUES (?, ?, 'ordinary', ?, ?, ?, ?, 1, ?, ?)",
                tasks,
            )
            conn.executemany(
                "INSERT INTO time_entries (task_id, user_id, started_at, ended_at, seconds, manual,"
                " comment, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                entries,
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return 1


PERSON_TASKS = TASKS // PEOPLE  # one person's share of the firm's tasks
PERSON_CLIENTS = 50


def timewarrior(
    folder: Path, count: int, seed: int, *, firm_tags: bool = False
) -> dict[str, str] | None:
    """A Timewarrior database of ``count`` intervals over a year (its own file
    format, written directly), or None without Timewarrior. Tagged with one
    person's tasks and clients, or (``firm_tags``) with any of the firm's."""
    if shutil.which("timew") is None:
        return None
    tasks, clients = (TASKS, CLIENTS) if firm_tags else (PERSON_TASKS, PERSON_CLIENTS)
    rng = random.Random(seed)
    data = folder / "data"
    data.mkdir(parents=True)
    (folder / "timewarrior.cfg").write_text("verbose = off\n")
    stamp = "%Y%m%dT%H%M%SZ"
    months: dict[str, list[tuple[datetime, str]]] = {}
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    # One person's year, as Timewarrior keeps one person's time: the intervals in order.
    for _, begin, seconds in year_of_intervals(rng, count, 1, now):
        end = begin + timedelta(seconds=seconds)
        tags = f"pratica{rng.randint(1, tasks)} cliente{rng.randint(1, clients)}"
        line = f"inc {begin.strftime(stamp)} - {end.strftime(stamp)} # {tags}"
        months.setdefault(begin.strftime("%Y-%m"), []).append((begin, line))
    for month, lines in months.items():
        lines.sort()
        (data / f"{month}.data").write_text("".join(line + "\n" for _, line in lines))
    env = {**os.environ, "TIMEWARRIORDB": str(folder)}
    subprocess.run(["timew", "tags"], env=env, capture_output=True, check=True)  # tags.data
    return {"TIMEWARRIORDB": str(folder)}


def ensure_timewarrior() -> None:
    """apt-get install timewarrior when it is missing and we may (root, apt-get)."""
    if shutil.which("timew") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    print("# installing timewarrior with apt-get", flush=True)
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=apt_env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "timewarrior"], env=apt_env, capture_output=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,1000000", help="time entries per store")
    parser.add_argument("--intervals", type=int, default=100_000, help="Timewarrior intervals")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs of each command")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    ensure_timewarrior()
    has_tw = shutil.which("timew") is not None
    print(
        f"# bench/timer.py: sizes {sizes}, timewarrior {args.intervals} intervals"
        f" ({'installed' if has_tw else 'not installed'}), {args.repeat} runs each, medians",
        flush=True,
    )
    today = datetime.now(UTC).date()
    first, last = (today - YEAR).isoformat(), today.isoformat()
    with workdir() as home:
        env = base_env(home)
        commands: dict[str, list[str]] = {}
        tw_env = None
        if has_tw:
            began = time.perf_counter()
            tw_env = timewarrior(home / "timew", args.intervals, seed=7)
            report(f"timewarrior_{args.intervals}_import_time", time.perf_counter() - began, "s")
            firm_db = home / "timew-firm-tags"
            timewarrior(firm_db, args.intervals, seed=7, firm_tags=True)
            timew = shutil.which("timew") or "timew"
            # The old, firm-tagged database through env(1) (one more exec, ~1 ms): the
            # timed commands share one environment.
            firm = [shutil.which("env") or "/usr/bin/env", f"TIMEWARRIORDB={firm_db}", timew]
            # start first and stop last in each round: a stop in the same second as
            # its start is refused by Timewarrior.
            commands["tw_start"] = [timew, "start", "pratica1", "cliente1"]
            commands["tw_firm_tags_start"] = [*firm, "start", "pratica1", "cliente1"]
        for size in sizes:
            store = home / f"sempi-{size}.db"
            began = time.perf_counter()
            build_store(store, CLIENTS)
            task = add_entries(store, size, seed=size)
            report(f"store_{size}_build_time", time.perf_counter() - began, "s")
            report(f"store_{size}_size", store.stat().st_size / 1_048_576, "MB")
            login({**env, "SEMPI_DB": str(store)})
            sempi = [SEMPI, "--db", str(store), "timer"]
            commands[f"sempi_timer_start_{size}"] = [*sempi, "start", str(task)]
            commands[f"sempi_timer_pause_{size}"] = [*sempi, "pause"]
        largest = sizes[-1]
        commands[f"sempi_timer_report_client_{largest}"] = [
            SEMPI,
            "--db",
            str(home / f"sempi-{largest}.db"),
            "timer",
            "report",
            "--by",
            "client",
            "--from",
            first,
            "--to",
            last,
        ]
        if has_tw:
            commands["tw_summary"] = [timew, "summary", first, "-", last]
            # Not reported: keeps a stop at least a second after its start.
            commands["gap"] = [shutil.which("sleep") or "/bin/sleep", "1"]
            commands["tw_stop"] = [timew, "stop"]
            commands["tw_firm_tags_stop"] = [*firm, "stop"]
            env = {**env, **(tw_env or {})}
        results = run_all(commands, env, args.repeat)
    results.pop("gap", None)
    for name, (median, peak) in results.items():
        report_timing(name, median, peak)
    small, large = sizes[0], sizes[-1]
    flat = []
    for verb in ("start", "pause"):
        ratio = (
            results[f"sempi_timer_{verb}_{large}"][0] / results[f"sempi_timer_{verb}_{small}"][0]
        )
        report(f"sempi_timer_{verb}_{large}_vs_{small}", ratio, "x")
        flat.append(ratio <= FLAT_TARGET)
    versus = None
    if has_tw:
        for verb, theirs in (("start", "tw_start"), ("pause", "tw_stop")):
            ours = results[f"sempi_timer_{verb}_{large}"][0]
            report(f"sempi_timer_{verb}_{large}_vs_{theirs}", ours / results[theirs][0], "x")
        ratio = results[f"sempi_timer_report_client_{large}"][0] / results["tw_summary"][0]
        report(f"sempi_report_{large}_vs_timew_summary_{args.intervals}", ratio, "x")
        versus = ratio <= TW_RATIO_TARGET
    peak = max(rss for name, (_, rss) in results.items() if name.startswith("sempi"))
    report("sempi_peak_rss_max", peak, "MB")
    report("target_flat_1.2x", "yes" if all(flat) else "no")
    report("target_vs_timew_0.5x", "n/a" if versus is None else ("yes" if versus else "no"))
    report("target_rss_100mb", "yes" if peak <= RSS_TARGET_MB else "no")


if __name__ == "__main__":
    main()
