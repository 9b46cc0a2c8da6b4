#!/usr/bin/env python3
"""What events and automation cost on the hottest writes, and the after-hooks' throughput.

Three writes, on copies of one store (a firm administrator, a staff user, two
practices, clients with the fullest fiscal profile, as bench/scheduler.py gives
them):

  task add        tasks added through TaskService.add, each in its own transaction
                  (a client's task, a responsible, a deadline)
  scheduler run   SchedulerService.run over the clients for 2027: deadlines and tasks
  sempi task add  one `sempi task add` command, a process, as an accountant runs it

each in three modes, on a fresh copy of the store every time:

  off    the events record switched off (event_log.record and record_many do
         nothing): the writes as they were before events existed
  on     the events written, no rule
  rules  the events written, and 20 rules on the kinds these writes make
         (task.created, task.status_changed, deadline.created...), whose
         conditions do not hold: what matching costs each event

Counted: the instructions each run executes, by valgrind's callgrind (the same
count for the same work, whatever else the machine does; the setup, opening
the store's copy, counted alone and taken off). The targets are judged on these,
for the command and the scheduler run: the two hottest writes as the office
runs them. ``task add`` in a loop, with no process around each add, is the
stricter view, printed beside: there a write's look at the automation (a
setting, a stat, its kind's rules: about 50,000 instructions with 20 rules)
weighs against a bare service call.
On this machine a run's time moves by a fifth from one minute to the next (its
disk's writeback, its neighbours), more than the cost measured, so the times
are printed beside, not judged: ``--clients`` clients, ``--tasks`` tasks, in
rounds (off on rules / rules on off, five times), the median of each round's own
ratio, and the share of a run's CPU time spent inside event_log (measured in the
run itself). The scheduler is counted at a tenth of the timed clients
(``--count-clients``): callgrind runs a program about fifty times slower.

Then bench/automation_hooks.py (the after-hooks' `automation run` over
``--events`` events to a trivial hook, in batches) is run as it is, and its
figures printed here.

Targets (issue 19): on and rules at most 1.1x off for the writes; >= 2,000
events/s delivered to a trivial after-hook.

Run: .venv/bin/python bench/automation.py [--clients 1000] [--tasks 2000] [--events 100000]
     [--count-clients 100] [--count-tasks 2000] [--only "scheduler run"] [--counts-only]
     (quick try: --clients 100 --tasks 200 --events 5000 --count-tasks 100)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from _common import (
    STAFF_EMAIL,
    base_env,
    build_store,
    check_target,
    login,
    report,
    workdir,
)
from scheduler import give_full_profiles

TASKS = 2_000
CLIENTS = 1_000
EVENTS = 100_000
COUNT_TASKS = 2_000
COUNT_CLIENTS = 100
TARGET = 1.1
MODES = (("off", "on", "rules"), ("rules", "on", "off")) * 2 + (("off", "on", "rules"),)
RULE_KINDS = ("task.created", "task.status_changed", "task.updated", "deadline.created",
              "deadline.moved", "client.updated")  # fmt: skip


@contextmanager
def events_replaced(make):
    """event_log.record and record_many replaced by ``make(name, original)`` (every
    writer calls them through the module: none imports them by name)."""
    from sempi_cli.services import event_log

    originals = {"record": event_log.record, "record_many": event_log.record_many}
    for name, original in originals.items():
        setattr(event_log, name, make(name, original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(event_log, name, original)


def events_off():
    """Writing an event does nothing: the writes as they were before events existed."""
    return events_replaced(lambda name, original: lambda *a, **k: 0 if name == "record" else None)


def events_timed(spent: list[float]):
    """Writing events as ever, the CPU time spent in it (the reactors' included)
    added up in ``spent[0]``: the events' own share of a run, measured in the run."""

    def make(name, original):
        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent[0] += time.process_time() - start

        return timed

    return events_replaced(make)


def open_copy(master: Path, folder: Path, name: str):
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.identity.auth import actor_from_row
    from sempi_cli.store import open_store

    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{master}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{path}{suffix}")
            Path(f"{path}{suffix}").chmod(0o600)
    # The copy's pages written out before the clock starts, not by the run (the
    # kernel makes a writing process flush the dirty pages of others).
    os.sync()
    conn = open_store(path)
    admin = actor_from_row(conn.execute("SELECT * FROM users WHERE role = 'firm-admin'").fetchone())
    return conn, SystemClock(), admin


def add_rules(conn, clock, admin) -> None:
    from sempi_cli.services.automation.actions import ActionInput
    from sempi_cli.services.automation.rules import AutomationRules

    rules = AutomationRules(conn, clock, admin)
    for n in range(20):
        kind = RULE_KINDS[n % len(RULE_KINDS)]
        rules.add(f"bench-{n}", kind, ["client_id=-1"], "notify",
                  ActionInput(to=[STAFF_EMAIL], message="bench"))  # fmt: skip


def time_tasks(conn, clock, admin, tasks: int) -> tuple[float, float]:
    from sempi_cli.services.tasks.input import TaskInput
    from sempi_cli.services.tasks.tasks import TaskService

    client = conn.execute("SELECT id FROM clients ORDER BY id LIMIT 1").fetchone()[0]
    service = TaskService(conn, clock, admin)
    start = time.perf_counter(), time.process_time()
    for n in range(tasks):
        service.add(TaskInput(title=f"Invio F24 {n}", responsibles=[STAFF_EMAIL],
                              client=client, deadline="2027-01-16"))  # fmt: skip
    return time.perf_counter() - start[0], time.process_time() - start[1]


def time_scheduler(conn, clock, admin) -> tuple[float, float]:
    from sempi_cli.services.scheduler.runner import SchedulerService

    start = time.perf_counter(), time.process_time()
    SchedulerService(conn, clock, admin).run(start=date(2027, 1, 1), end=date(2027, 12, 31))
    return time.perf_counter() - start[0], time.process_time() - start[1]


def measure(
    master: Path, folder: Path, what: str, mode: str, tasks: int
) -> tuple[float, float, float]:
    """Wall and CPU seconds of one run, and the CPU seconds spent writing events."""
    conn, clock, admin = open_copy(master, folder, f"{what.replace(' ', '-')}-{mode}.db")
    try:
        if mode == "rules":
            add_rules(conn, clock, admin)
        run = (lambda: time_tasks(conn, clock, admin, tasks)) if what == "task add" else (
            lambda: time_scheduler(conn, clock, admin)
        )  # fmt: skip
        spent = [0.0]
        with events_off() if mode == "off" else events_timed(spent):
            return (*run(), spent[0])
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{folder / (what.replace(' ', '-') + f'-{mode}.db')}{suffix}").unlink(
                missing_ok=True
            )


def counted(command: list[str], env: dict[str, str] | None = None) -> int:
    """The instructions the process ``command`` runs, counted by callgrind."""
    env = {**(env if env is not None else os.environ), "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind", *command],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"bench: {command[-6:]} under callgrind failed: {done.stderr[-600:]}")
    return int(found.group(1))


def child(what: str, mode: str, store: Path, count: int) -> None:
    """One run on ``store`` (its copy for the mode, rules added if any), in a process
    of its own (``--child``), to be counted."""
    if what == "sempi task add":
        from sempi_cli.cli.fastpath import main as sempi

        client = _first_client(store)
        sys.argv = ["sempi", "task", "add", "Invio F24", "-r", STAFF_EMAIL, "-c", str(client),
                    "-d", "2027-01-16"]  # fmt: skip
        with events_off() if mode == "off" else contextlib.nullcontext():
            try:
                sempi()
            except SystemExit as stop:
                if stop.code not in (0, None):
                    raise
        return
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.identity.auth import actor_from_row
    from sempi_cli.store import open_store

    conn = open_store(store)
    admin = actor_from_row(conn.execute("SELECT * FROM users WHERE role = 'firm-admin'").fetchone())
    if mode != "setup":
        with events_off() if mode == "off" else contextlib.nullcontext():
            if what == "task add":
                time_tasks(conn, SystemClock(), admin, count)
            else:
                time_scheduler(conn, SystemClock(), admin)
    conn.close()


def _first_client(store: Path) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(store)) as conn:
        return int(conn.execute("SELECT id FROM clients ORDER BY id LIMIT 1").fetchone()[0])


def count_writes(folder: Path, clients: int, tasks: int, verdicts: list[str], only) -> None:
    """Each write's instructions in each mode, against ``off``: the judged figures."""
    master = folder / "counted.db"
    build_store(master, clients)
    give_full_profiles(master)
    home = folder / "home"
    home.mkdir()
    report("counted_clients", clients)
    report("counted_tasks_added", tasks)

    def command(what: str, mode: str) -> tuple[list[str], dict[str, str]]:
        """The child's command line on a copy of its own (rules added for ``rules``,
        a session in it for the command), and its environment."""
        name = f"{what.replace(' ', '-')}-{mode}.db"
        conn, clock, admin = open_copy(master, folder, name)
        if mode == "rules":
            add_rules(conn, clock, admin)
        conn.close()
        store = folder / name
        if what == "sempi task add":
            login(base_env(home, store))
        return (
            [sys.executable, __file__, "--child", what, mode, str(store), str(tasks)],
            base_env(home, store),
        )

    for what in [only] if only else ("task add", "scheduler run", "sempi task add"):
        # Once uncounted: Python compiles the modules' bytecode into the bench's cache.
        warm_up, env = command(what, "warm-up")
        done = subprocess.run(warm_up, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"bench: the warm-up of {what} failed: {done.stderr[-600:]}")
        modes = (
            ("off", "on", "rules") if what == "sempi task add" else ("setup", "off", "on", "rules")
        )  # fmt: skip  (a command: the whole process is what the accountant waits for)
        counts = {mode: counted(*command(what, mode)) for mode in modes}
        key = what.replace(" ", "_")
        setup = counts.get("setup", 0)
        report(f"{key}_off_instructions", f"{(counts['off'] - setup) / 1e6:.1f}", "M")
        for mode in ("on", "rules"):
            report(f"{key}_{mode}_instructions", f"{(counts[mode] - setup) / 1e6:.1f}", "M")
            ratio = round((counts[mode] - setup) / (counts["off"] - setup), 3)
            if what == "task add":  # the stricter view: printed, not judged (docstring)
                report(f"{key}_{mode}_vs_off_instructions", ratio, "x (no process around it)")
            else:
                check_target(verdicts, f"{key}_{mode}_vs_off_instructions", ratio, TARGET, "x")


def time_writes(folder: Path, clients: int, tasks: int, only) -> None:
    """Each in-process write's time in each mode (printed, not judged: module docstring)."""
    if only == "sempi task add":
        return
    master = folder / "timed.db"
    build_store(master, clients)
    give_full_profiles(master)
    report("timed_clients", clients)
    report("timed_tasks_added", tasks)
    for what in [only] if only else ("task add", "scheduler run"):
        cpu: dict[str, list[float]] = {"off": [], "on": [], "rules": []}
        # Each round's own ratios: a round's three runs are next to each other in
        # time, so a slow spell of the machine weighs on both sides of a ratio.
        paired: dict[str, list[float]] = {"on": [], "rules": []}
        own: dict[str, list[float]] = {"on": [], "rules": []}
        for round_ in MODES:
            for mode in round_:
                _, used, events = measure(master, folder, what, mode, tasks)
                cpu[mode].append(used)
                if mode in own:
                    own[mode].append(used / (used - events))
            for mode in paired:
                paired[mode].append(cpu[mode][-1] / cpu["off"][-1])
        key = what.replace(" ", "_")
        for mode in ("off", "on", "rules"):
            runs = " ".join(f"{v:.2f}" for v in cpu[mode])
            report(f"{key}_{mode}_cpu_seconds", f"{statistics.median(cpu[mode]):.3f}",
                   f"s (runs: {runs})")  # fmt: skip
        for mode in ("on", "rules"):
            rounds = " ".join(f"{r:.3f}" for r in paired[mode])
            report(f"{key}_{mode}_vs_off_cpu", f"{statistics.median(paired[mode]):.3f}",
                   f"x (each round's: {rounds})")  # fmt: skip
            runs = " ".join(f"{r:.3f}" for r in own[mode])
            report(f"{key}_{mode}_vs_its_events_removed", f"{statistics.median(own[mode]):.3f}",
                   f"x (a run's CPU over the same less its time in event_log: {runs})")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--tasks", type=int, default=TASKS)
    parser.add_argument("--count-clients", type=int, default=COUNT_CLIENTS)
    parser.add_argument("--count-tasks", type=int, default=COUNT_TASKS)
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--only", choices=("task add", "scheduler run", "sempi task add"),
                        help="one write only")  # fmt: skip
    parser.add_argument("--counts-only", action="store_true", help="no timed runs")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, mode, store, count = args.child
        child(what, mode, Path(store), int(count))
        return 0
    if shutil.which("valgrind") is None:
        print("bench: valgrind is needed to count instructions (apt-get install valgrind)")
        return 2
    verdicts: list[str] = []
    with workdir() as folder:
        count_writes(folder, args.count_clients, args.count_tasks, verdicts, args.only)
        if not args.counts_only:
            time_writes(folder, args.clients, args.tasks, args.only)
    if args.only:
        return 1 if "MISSED" in verdicts else 0
    hooks = Path(__file__).with_name("automation_hooks.py")
    print(f"# {hooks.name} --events {args.events}", flush=True)
    done = subprocess.run([sys.executable, str(hooks), "--events", str(args.events)], check=False)
    met, missed = verdicts.count("met"), verdicts.count("MISSED")
    print(f"targets here: {met} met, {missed} MISSED (the hooks' bench reports its own)")
    return 1 if missed or done.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
