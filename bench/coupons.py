#!/usr/bin/env python3
"""`sempi coupon` on a practice with 10,000 clients served conto terzi.

The store: a firm administrator, one practice (Studio Rossi) with its
administrator and an operator, and ``--clients`` clients of the practice, each
with a valid partita IVA and an e-mail, served conto terzi, the operator their
responsible (usage thresholds notify the responsible). The firm, the practice
and the people are made through the services; the clients in one transaction
through ``services/clients/bulk.py``'s ``insert_many``, as bench/consent.py
makes them. The conto terzi mark is one SQL UPDATE of the bench's own setup
while ``bulk.CLIENT_COLUMNS`` does not carry ``conto_terzi`` (bench code, not
product code). The packages are recorded with the real `sempi coupon add`:
migration coupons valid until 31 December of this year, renewal coupons until
31 December of the next.

Timed (whole processes, start-up included, as bench/_common.py times them; the
commands that write run once, the listings ``--repeat`` times, interleaved):

  sempi --version                                the start-up floor
  sempi coupon migrate ID... (5,000 clients)     once: clients/s, mails queued
  sempi coupon migrate ID... (the other 5,000)   once: so that every client is linked
  sempi coupon usage import FILE (10,000 rows)   once: rows/s, beside the floor
  sempi coupon check                             first run: 10,000 licences ending
                                                 31/12 not renewed yet (notices written)
  sempi coupon renew --year NEXT --all-active    once: 10,000 clients, clients/s
  sempi coupon clients (table, csv)              10,000 rows, beside the floor
  sempi coupon check                             again, repeated: nothing new to tell

Every licence is linked through the real `coupon migrate` (two commands of half
the clients each); no account or licence row is written by SQL. A command that
does not exist yet in this tree (`--help` fails) is printed as "not available",
not measured, and the steps that need it are skipped.

Targets (issue 16): migrate and renew >= 2,000 clients/s; coupon clients at
most 2x the floor; peak RSS of every command at most 100 MB.

Run: .venv/bin/python bench/coupons.py [--clients 10000] [--migrate 5000] [--repeat 5]
     (quick try: --clients 1000 --migrate 500)
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import time
from functools import partial
from pathlib import Path

from _common import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    PYTHON,
    SEMPI,
    available,
    base_env,
    check_target,
    client_name,
    count_rows,
    csv_rows,
    login,
    partita_iva,
    report,
    report_timing,
    run_all,
    run_once,
    workdir,
)

CLIENTS = 10_000
MIGRATE = 5_000
STUDIO = "Studio Rossi"
STUDIO_ADMIN = "titolare@rossi.bench"
OPERATOR = "operatore@rossi.bench"
CONSULTANT = ("Mario", "Rossi", "RSSMRA85T10A562S")  # name, surname, a valid personal CF

# The licences `coupon check` looks at: linked clients whose latest term ends within
# 45 days (every term of this bench ends on 31 December of this year).
_EXPIRING = (
    "SELECT count(*) FROM coupon_accounts a WHERE a.unlinked_at IS NULL AND"
    " (SELECT max(l.ends_on) FROM coupon_licences l WHERE l.client_id = a.client_id)"
    " BETWEEN date('now') AND date('now', '+45 days')"
)

RATE_TARGET = 2_000.0  # migrate and renew: clients per second, at least
FLOOR_TARGET = 2.0  # coupon clients: at most this many floors
RSS_TARGET = 100.0  # MB, every command


def build(store: Path, clients: int, seed: int) -> dict:
    """The firm, the practice, its people and its clients (see the module's docstring)."""
    from sempi_cli.clock import SystemClock, iso_utc
    from sempi_cli.services.clients import bulk
    from sempi_cli.services.clients import input as client_input
    from sempi_cli.services.identity.accounts import actor_from_row
    from sempi_cli.services.org.firm import create_store
    from sempi_cli.services.org.groups import add_members
    from sempi_cli.services.org.studios import StudioService
    from sempi_cli.services.org.users import UserService
    from sempi_cli.store import write_transaction

    clock = SystemClock()
    rng = random.Random(seed)
    conn, created = create_store(
        store, clock, "Bench Servizi Srl", ADMIN_EMAIL, "Bruno Bench", ADMIN_PASSWORD
    )
    try:
        row = conn.execute("SELECT * FROM users WHERE id = ?", (created["admin_id"],)).fetchone()
        admin = actor_from_row(row)
        with write_transaction(conn):
            studio = StudioService(conn, clock, admin).add(
                STUDIO, partita_iva=partita_iva(10_000_000), city="Milano"
            )["id"]
            users = UserService(conn, clock, admin)
            users.add(STUDIO_ADMIN, "Titolare Rossi", "studio-admin", studio=studio)
            operator = users.add(OPERATOR, "Operatore Rossi", "studio-operator", studio=studio)[
                "id"
            ]
            now = iso_utc(clock.now())
            first = bulk.next_client_id(conn)
            carries_flag = "conto_terzi" in bulk.CLIENT_COLUMNS
            rows = []
            for n in range(clients):
                data = client_input.ClientInput(
                    client_name(rng, n),
                    studio=studio,
                    partita_iva=partita_iva(n),
                    email=f"cliente{n}@bench.test",
                )
                given = client_input.columns(data, person=False)
                fields, values = client_input.split(client_input.new_client(given))
                row_ = {
                    **fields,
                    **values,
                    "id": first + n,
                    "studio_id": studio,
                    "responsible_id": operator,
                    "created_at": now,
                    "updated_at": now,
                }
                if carries_flag:
                    row_["conto_terzi"] = 1
                rows.append(row_)
            bulk.insert_many(conn, rows, clock, admin)
            ids = [first + n for n in range(clients)]
            add_members(conn, [(c, operator) for c in ids], now, admin.id)
            if not carries_flag:  # the bench's setup, not a product write path
                conn.execute("UPDATE clients SET conto_terzi = 1 WHERE studio_id = ?", (studio,))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {"client_ids": ids, "studio": studio}


def usage_file(path: Path, clients: int, seed: int) -> Path:
    """``clients`` rows of the vendor's usage export: one in ten at or past 80 % of
    a limit (3,000 documents, 5,000 contacts), one in fifty at or past 100 %."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["partita_iva", "documents", "contacts"])
        for n in range(clients):
            if n % 50 == 0:
                documents, contacts = 3_000 + rng.randint(0, 200), rng.randint(0, 5_000)
            elif n % 10 == 0:
                documents, contacts = rng.randint(0, 2_999), rng.randint(4_000, 4_999)
            else:
                documents, contacts = rng.randint(0, 2_399), rng.randint(0, 3_999)
            writer.writerow([partita_iva(n), documents, contacts])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS, help="clients served conto terzi")
    parser.add_argument("--migrate", type=int, default=MIGRATE, help="clients in one migrate")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each listing")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    from sempi_cli.clock import SystemClock, today_in_rome

    year = today_in_rome(SystemClock()).year

    with workdir() as tmp:
        store = tmp / "coupons.db"
        start = time.perf_counter()
        built = build(store, args.clients, args.seed)
        report("build_clients", f"{args.clients:,} clients served conto terzi")
        report("build_seconds", time.perf_counter() - start, "s")
        env = base_env(tmp / "admin", store)
        # The write commands run once: compile sempi_cli into this home's bytecode
        # cache first, so that no timed run pays for the compiler.
        package = Path(__file__).resolve().parent.parent / "sempi_cli"
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(package)], env=env, check=True)
        login(env)
        floor_cmd = [SEMPI, "--version"]
        floor_once, floor_rss = run_once(floor_cmd, env)
        report("floor_once", floor_once * 1000, "ms")

        verdicts: list[str] = []
        peaks: dict[str, float] = {"sempi_version": floor_rss}

        check = partial(check_target, verdicts)

        def once(name: str, cmd: list[str]) -> float:
            seconds, peak = run_once(cmd, env)
            report_timing(name, seconds, peak)
            peaks[name] = peak
            return seconds

        if not available(["coupon", "add"], env):
            raise SystemExit("bench: sempi coupon add is not in this tree")
        for kind, count, last_year in (
            ("migrazione", args.clients, year),
            ("rinnovo", args.clients, year + 1),
        ):
            subprocess.run(
                [SEMPI, "-q", "coupon", "add", "--studio", STUDIO, "--type", kind,
                 "--count", str(count), "--valid-until", f"31/12/{last_year}"],
                env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip

        ids = built["client_ids"]
        linked = False
        if available(["coupon", "migrate"], env):
            name, surname, cf = CONSULTANT
            halves = (ids[: args.migrate], ids[args.migrate :])
            for n, chosen in enumerate(halves):
                if not chosen:
                    continue
                before = count_rows(store, "SELECT count(*) FROM mail_outbox")
                migrate = [
                    SEMPI, "--yes", "-q", "coupon", "migrate", *map(str, chosen),
                    "--consultant-name", name, "--consultant-surname", surname,
                    "--consultant-cf", cf,
                ]  # fmt: skip
                label = "migrate" if n == 0 else "migrate_rest"
                seconds = once(label, migrate)
                mails = count_rows(store, "SELECT count(*) FROM mail_outbox") - before
                report(f"{label}_clients", len(chosen), "clients")
                report(f"{label}_mails_queued", mails, "mails")
                if n == 0:
                    check("migrate_rate", len(chosen) / seconds, RATE_TARGET, "clients/s",
                          at_least=True)  # fmt: skip
                else:
                    report(f"{label}_rate", len(chosen) / seconds, "clients/s")
            linked = True
            report("accounts_linked", count_rows(store, "SELECT count(*) FROM coupon_accounts"))
        else:
            print("migrate: not available", flush=True)

        if linked and available(["coupon", "usage", "import"], env):
            path = usage_file(tmp / "usage.csv", args.clients, args.seed)
            notices = count_rows(store, "SELECT count(*) FROM notifications")
            importing = [SEMPI, "-q", "coupon", "usage", "import", str(path), "--studio", STUDIO]
            seconds = once("usage_import", importing)
            report("usage_import_rate", args.clients / seconds, "rows/s")
            report("usage_import_vs_floor", seconds / floor_once, "x")
            notified = count_rows(store, "SELECT count(*) FROM notifications") - notices
            report("usage_import_notices", notified, "notices")
        else:
            print("usage_import: not available", flush=True)

        if linked and available(["coupon", "check"], env):
            notices = count_rows(store, "SELECT count(*) FROM notifications")
            seconds = once("check_first", [SEMPI, "-q", "coupon", "check"])
            notified = count_rows(store, "SELECT count(*) FROM notifications") - notices
            report(
                "check_first_licences",
                count_rows(store, _EXPIRING),
                "licences expiring within 45 days",
            )
            report("check_first_notices", notified, "notices (a digest per practice and day)")
        else:
            print("check_first: not available", flush=True)

        if linked and available(["coupon", "renew"], env):
            renew = [SEMPI, "--yes", "-q", "coupon", "renew", "--studio", STUDIO,
                     "--year", str(year + 1), "--all-active"]  # fmt: skip
            terms = count_rows(store, "SELECT count(*) FROM coupon_licences")
            seconds = once("renew_all", renew)
            renewed = count_rows(store, "SELECT count(*) FROM coupon_licences") - terms
            report("renew_all_renewed", renewed, "clients")
            check("renew_all_rate", renewed / seconds, RATE_TARGET, "clients/s", at_least=True)
        else:
            print("renew_all: not available", flush=True)

        commands: dict[str, list[str]] = {"sempi_version": floor_cmd}
        if available(["coupon", "clients"], env):
            listing = [SEMPI, "coupon", "clients", "--studio", STUDIO]
            commands["clients_table"] = listing
            commands["clients_csv"] = [SEMPI, "--format", "csv", *listing[1:]]
            report("clients_rows", csv_rows(commands["clients_csv"], env), "rows")
        else:
            print("clients_table: not available", flush=True)
            print("clients_csv: not available", flush=True)
        if linked and available(["coupon", "check"], env):
            commands["check_again"] = [SEMPI, "-q", "coupon", "check"]

        results = run_all(commands, env, args.repeat)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# load average at the end {load}", flush=True)
    for name, (median, peak) in results.items():
        report_timing(name, median, peak)
        peaks[name] = max(peak, peaks.get(name, 0.0))
    floor = results["sempi_version"][0]
    for name in ("clients_table", "clients_csv"):
        if name in results:
            check(f"{name}_vs_floor", results[name][0] / floor, FLOOR_TARGET, "x")
    if "check_again" in results:
        report("check_again_vs_floor", results["check_again"][0] / floor, "x")
    worst = max(peaks, key=lambda n: peaks[n])
    report("peak_rss_command", worst)
    check("peak_rss_max", peaks[worst], RSS_TARGET, "MB")
    report("targets", f"{verdicts.count('met')} met, {verdicts.count('MISSED')} MISSED")


if __name__ == "__main__":
    main()
