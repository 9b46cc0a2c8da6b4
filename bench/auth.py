#!/usr/bin/env python3
"""What authentication costs: logging in, and a command run on an application password.

Builds a fresh store (a firm admin, a staff user, two practices and --clients
clients), then times whole `sempi` processes (medians, start-up included):

- `sempi login --password-stdin` with a password, then with password + TOTP
  code (the admin enrols through the service). A code can be used only once,
  so before each timed TOTP login the bench clears the admin's last used step
  in its own store: the check itself runs as in real life;
- `sempi whoami` and `sempi client list --limit 5` on an existing login session
  against the same commands authenticated by SEMPI_USER + SEMPI_APP_PASSWORD
  (the application password made through the service, with the password and a
  code confirmed again, as `sempi auth app-password add` does). The two
  environments alternate round by round, so drift in the machine's load hits
  both alike;
- argon2id's parameters and the time of one hash and one verify in-process.

Target (medians, same run): a command on an application password takes at
most 1.3x the same command on a session.

Run: .venv/bin/python bench/auth.py [--repeat 15] [--clients 1000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from _common import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SEMPI,
    base_env,
    build_store,
    report,
    report_timing,
    run_all,
    workdir,
)

RATIO_TARGET = 1.3


def time_with_stdin(
    cmd: Sequence[str],
    env: Mapping[str, str],
    repeat: int,
    stdin: Callable[[], str],
    before: Callable[[], None] = lambda: None,
) -> float:
    """Median wall seconds of ``repeat`` runs fed ``stdin()`` (after one warm-up).
    run_all() cannot feed standard input, which a login needs; ``before`` runs
    untimed before each run."""
    times = []
    for round_ in range(repeat + 1):
        before()
        text = stdin()
        start = time.perf_counter()
        result = subprocess.run(
            list(cmd), input=text, env=dict(env), capture_output=True, text=True
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"bench: {' '.join(cmd)} exited {result.returncode}: {result.stderr}")
        if round_:
            times.append(elapsed)
    return statistics.median(times)


def alternate(
    cmds: Mapping[str, Sequence[str]], envs: Mapping[str, Mapping[str, str]], repeat: int
) -> dict[str, tuple[float, float]]:
    """Each command under each environment, the environments alternating round by
    round. Returns "<env>_<cmd>" -> (median seconds, peak RSS MB)."""
    runs: dict[str, list[tuple[float, float]]] = {}
    for _ in range(repeat):
        for env_name, env in envs.items():
            for name, (median, peak) in run_all(cmds, env, 1).items():
                runs.setdefault(f"{name}_{env_name}", []).append((median, peak))
    return {
        name: (statistics.median(t for t, _ in values), max(p for _, p in values))
        for name, values in runs.items()
    }


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_argon2(repeat: int) -> None:
    from sempi_cli.services.identity.passwords import _hasher

    hasher = _hasher()
    report("argon2_type", hasher.type.name.lower())
    report("argon2_time_cost", hasher.time_cost)
    report("argon2_memory_cost", hasher.memory_cost, "KiB")
    report("argon2_parallelism", hasher.parallelism)
    stored = hasher.hash(ADMIN_PASSWORD)
    report(
        "argon2_hash_median",
        median_seconds(lambda: hasher.hash(ADMIN_PASSWORD), repeat) * 1000,
        "ms",
    )
    report(
        "argon2_verify_median",
        median_seconds(lambda: hasher.verify(stored, ADMIN_PASSWORD), repeat) * 1000,
        "ms",
    )


def enrol_and_make_app_password(store: Path) -> tuple[str, str]:
    """Turn two-step login on for the admin and create an application password, through
    the services with the real clock. Returns (TOTP secret, application password)."""
    import pyotp

    from sempi_cli.clock import SystemClock
    from sempi_cli.services.identity.app_passwords import AppPasswordService
    from sempi_cli.services.identity.auth import AuthService, actor_from_row
    from sempi_cli.services.identity.two_step import TwoStepService
    from sempi_cli.store import open_store

    secret = pyotp.random_base32(32)
    clock = SystemClock()
    conn = open_store(store)
    try:
        row = conn.execute("SELECT * FROM users WHERE email = ?", (ADMIN_EMAIL,)).fetchone()
        admin = actor_from_row(row, conn)
        # The current code is still good one step later, so a step boundary here is harmless.
        TwoStepService(conn, clock, admin).confirm(secret, pyotp.TOTP(secret).now())
        clear_last_step(store)  # the confirmation used this step's code
        code = pyotp.TOTP(secret).now()
        auth = AuthService(conn, clock, admin)
        created = AppPasswordService(conn, clock, admin).add(
            "bench", lambda: auth.reauthenticate(ADMIN_PASSWORD, lambda: code)
        )
    finally:
        conn.close()
    return secret, created["secret"]


def clear_last_step(store: Path) -> None:
    """Bench only: forget the last used TOTP step, so this step's code works again."""
    conn = sqlite3.connect(store, timeout=30)
    try:
        with conn:
            conn.execute("UPDATE users SET otp_last_step = NULL WHERE email = ?", (ADMIN_EMAIL,))
    finally:
        conn.close()


def audit_rows(store: Path) -> int:
    conn = sqlite3.connect(store)
    try:
        return conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs of each command")
    parser.add_argument("--clients", type=int, default=1000, help="clients in the store")
    args = parser.parse_args()
    print(f"# bench/auth.py: {args.clients} clients, {args.repeat} runs each, medians")
    bench_argon2(max(args.repeat // 3, 3))
    with workdir() as home:
        store = home / "sempi.db"
        build_store(store, args.clients)
        env = base_env(home, store)
        login = [SEMPI, "login", "--email", ADMIN_EMAIL, "--password-stdin"]

        password_login = time_with_stdin(login, env, args.repeat, lambda: ADMIN_PASSWORD + "\n")
        report("login_password_median", password_login * 1000, "ms")

        import pyotp

        secret, app_password = enrol_and_make_app_password(store)
        totp = pyotp.TOTP(secret)
        totp_login = time_with_stdin(
            login,
            env,
            args.repeat,
            lambda: f"{ADMIN_PASSWORD}\n{totp.now()}\n",
            before=lambda: clear_last_step(store),
        )
        report("login_password_totp_median", totp_login * 1000, "ms")
        report("login_totp_extra", (totp_login - password_login) * 1000, "ms")

        # The last login left a session: the session commands run on it.
        app_env = {**env, "SEMPI_USER": ADMIN_EMAIL, "SEMPI_APP_PASSWORD": app_password}
        commands = {
            "whoami": [SEMPI, "whoami"],
            "client_list": [SEMPI, "client", "list", "--limit", "5"],
        }
        for name, cmd in commands.items():  # same output either way, or the comparison is void
            outputs = {
                subprocess.run(cmd, env=e, capture_output=True, text=True, check=True).stdout
                for e in (env, app_env)
            }
            report(f"{name}_output_identical", "yes" if len(outputs) == 1 else "no")
        before = audit_rows(store)
        results = alternate(commands, {"session": env, "app_password": app_env}, args.repeat)
        app_runs = 2 * args.repeat * len(commands)  # run_all adds one warm-up run per timed run
        report("audit_rows_per_app_password_command", (audit_rows(store) - before) / app_runs)

    for name, (median, peak) in results.items():
        report_timing(name, median, peak)
    met = True
    for name in commands:
        session, app = results[f"{name}_session"][0], results[f"{name}_app_password"][0]
        ratio = app / session
        report(f"{name}_app_password_vs_session", ratio, "x")
        report(f"{name}_app_password_minus_session", (app - session) * 1000, "ms")
        met = met and ratio <= RATIO_TARGET
    report("target_app_password_1.3x_session", "yes" if met else "no")
    report("target_met", "yes" if met else "no")


if __name__ == "__main__":
    main()
