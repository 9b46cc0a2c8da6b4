#!/usr/bin/env python3
"""`sempi client-onboard batch` on files of 1,000 and 10,000 clients, against raw SQLite.

For each size: a store made with ``sempi init`` semantics (create_store), a
practice with two operators, a staff member, the firm administrator logged in
through the real CLI; and a CSV file of that many clients, the mix of a real
practice: companies and sole traders (a person's codice fiscale), varied
fiscal profiles, a responsible for two clients in three, delegations for half
of them, a module list for one in five, an external user (created and invited)
for one in fifty. Then, each on a fresh copy of the store and timed as a whole
process (start-up included; peak RSS read with ``wait4`` from a small spawner,
as bench/_common.py explains):

  batch FILE --studio S --no-deadlines --dry-run     checked, rehearsed, rolled back
  batch FILE --studio S --no-deadlines               written
  the same again                                     nothing to change (a re-run)
  batch FILE --studio S --dry-run                    with deadline generation, rehearsed
  batch FILE --studio S                              written, deadlines generated

and the floor: the rows the real run without deadlines added (clients, work
group members, folders, modules, delegations, users, invitations, outbox,
audit), copied out table by table and written with ``executemany`` into a
fresh copy of the same store, in one transaction; and the clients alone.

Printed: wall time, clients/s and peak RSS of each; the floor's rows/s and
clients/s. Targets: without deadlines >= 2,000 clients/s at 10,000 rows; peak
RSS <= 150 MB at 10,000 rows. The backlog document import of the issue's
bench (5,000 files, 500 MB, half duplicates, against ``cp -r``) is
bench/documents.py.

Run: .venv/bin/python bench/onboarding.py [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sqlite3
import time
from pathlib import Path

from _common import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SEMPI,
    STAFF_EMAIL,
    base_env,
    client_name,
    login,
    partita_iva,
    report,
    run_once,
    workdir,
)

CLIENTS_PER_S_TARGET = 2000.0
RSS_TARGET_MB = 150.0
TARGET_SIZE = 10_000
STUDIO = "Studio Rossi"
# What a batch writes (the floor copies these rows), parents before children.
TABLES = (
    "clients", "users", "work_group_members", "doc_folders", "client_modules",
    "client_delegations", "mail_outbox", "invitations", "audit_log",
)  # fmt: skip

# --- the input ---------------------------------------------------------------------------


def person_cf(n: int) -> str:
    """The n-th of a sequence of distinct, valid codici fiscali of persons."""
    from stdnum.it import codicefiscale

    consonants = "BCDFGHJKLMNPQRSTVWXYZ"
    letters = []
    value = n
    for _ in range(6):
        letters.append(consonants[value % 21])
        value //= 21
    months = "ABCDEHLMPRST"
    body = (
        "".join(letters[:3])
        + "".join(letters[3:])
        + f"{60 + n % 40:02d}"
        + months[n % 12]
        + f"{1 + n % 28:02d}"
        + "F205"
    )
    return body + codicefiscale.calc_check_digit(body)


def profile(rng: random.Random) -> dict[str, str]:
    forfettario = rng.random() < 0.15
    iva = (
        "none"
        if forfettario
        else rng.choices(("mensile", "trimestrale", "trimestrale_speciale"), (20, 70, 10))[0]
    )

    def flag(p: float) -> str:
        return "sì" if rng.random() < p else "no"

    return {
        "iva_periodicity": iva,
        "contabilita_presso_terzi": "sì" if iva == "mensile" and rng.random() < 0.3 else "no",
        "intra1_goods": rng.choice(("mensile", "trimestrale")) if rng.random() < 0.1 else "none",
        "sostituto_imposta": flag(0.35),
        "has_employees": flag(0.25),
        "inps_ivs": rng.choice(("artigiano", "commerciante")) if rng.random() < 0.4 else "none",
        "isa_subject": "sì" if not forfettario and rng.random() < 0.6 else "no",
        "forfettario": "sì" if forfettario else "no",
        "issues_bollo_efatture": flag(0.4),
        "imu_owner": flag(0.3),
    }


def write_csv(path: Path, size: int) -> None:
    """A practice's export: ';'-separated, UTF-8 with a BOM, CRLF (as Excel saves)."""
    rng = random.Random(20261116 + size)
    columns = [
        "ragione_sociale", "kind", "codice_fiscale", "partita_iva", "email", "pec",
        "responsible", "modules", "delegations", "externals",
        *profile(random.Random(0)),
    ]  # fmt: skip
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        writer.writerow(columns)
        for n in range(size):
            person = n % 5 == 0
            name = f"Ditta Individuale {n}" if person else client_name(rng, n)
            delegations = []
            if n % 2 == 0:
                delegations.append(f"cassetto_fiscale:CF{n:06d}:2027-12-31")
            if n % 4 == 0:
                delegations.append(f"fatture_corrispettivi:FC{n:06d}:31/03/2028")
            row = {
                "ragione_sociale": name,
                "kind": "persona_fisica"
                if person
                else rng.choice(("societa_capitali", "societa_persone", "ente")),
                "codice_fiscale": person_cf(n) if person else "",
                "partita_iva": partita_iva(n),
                "email": f"info{n}@cliente.example",
                "pec": f"cliente{n}@pec.example" if n % 3 == 0 else "",
                "responsible": STAFF_EMAIL if n % 3 else "",
                "modules": "tasks,documents" if n % 5 == 1 else "",
                "delegations": "|".join(delegations),
                "externals": f"Titolare {n} <titolare{n}@cliente.example>" if n % 50 == 7 else "",
                **profile(rng),
            }
            writer.writerow([row[c] for c in columns])


# --- the store ---------------------------------------------------------------------------


def build_base(store: Path) -> None:
    """The firm, its administrator, a staff member, the practice and two operators."""
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.identity.auth import actor_from_row
    from sempi_cli.services.org.firm import create_store
    from sempi_cli.services.org.studios import StudioService
    from sempi_cli.services.org.users import UserService

    clock = SystemClock()
    conn, created = create_store(
        store, clock, "Bench Servizi Srl", ADMIN_EMAIL, "Bruno Bench", ADMIN_PASSWORD
    )
    try:
        row = conn.execute("SELECT * FROM users WHERE id = ?", (created["admin_id"],)).fetchone()
        admin = actor_from_row(row)
        studio = StudioService(conn, clock, admin).add(STUDIO, city="Milano")["id"]
        users = UserService(conn, clock, admin)
        users.add(STAFF_EMAIL, "Sara Staff", "staff")
        users.add("op1@studio-rossi.example", "Olga Operatrice", "studio-operator", studio=studio)
        users.add("op2@studio-rossi.example", "Oscar Operatore", "studio-operator", studio=studio)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def restore(pristine: Path, store: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    shutil.copy2(pristine, store)


def checkpoint(store: Path) -> None:
    conn = sqlite3.connect(store)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def counts(store: Path) -> dict[str, int]:
    conn = sqlite3.connect(store)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def floor(
    pristine: Path, written: Path, target: Path, tables: tuple[str, ...]
) -> tuple[float, int]:
    """Copy the rows the batch added to ``tables`` (those not in the pristine store)
    into a fresh copy of it with executemany, one transaction: (seconds, rows)."""
    from sempi_cli.store.constants import PRAGMAS

    restore(pristine, target)
    source = sqlite3.connect(f"file:{written}?mode=ro", uri=True)
    source.execute("ATTACH DATABASE ? AS pristine", (f"file:{pristine}?mode=ro",))
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        conn.execute("PRAGMA foreign_keys = ON")
        batches = []
        for table in tables:  # fetched untimed
            rows = source.execute(
                f"SELECT * FROM main.{table} EXCEPT SELECT * FROM pristine.{table}"
            ).fetchall()
            if rows:
                batches.append((table, rows))
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        for table, rows in batches:
            marks_ = ",".join("?" * len(rows[0]))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks_})", rows)
        conn.execute("COMMIT")
        seconds = time.perf_counter() - began
        return seconds, sum(len(rows) for _, rows in batches)
    finally:
        conn.close()
        source.close()


# --- one size ----------------------------------------------------------------------------


def bench_size(home: Path, size: int) -> dict[str, float]:
    folder = home / f"onboard-{size}"
    folder.mkdir(mode=0o700)
    store, pristine = folder / "sempi.db", folder / "pristine.db"
    file = folder / f"clienti-{size}.csv"
    began = time.perf_counter()
    write_csv(file, size)
    build_base(store)
    env = base_env(folder, store)
    login(env)
    checkpoint(store)
    shutil.copy2(store, pristine)
    report(f"onboarding_{size}_setup", time.perf_counter() - began, "s")
    report(f"onboarding_{size}_file_size", file.stat().st_size / 1_048_576, "MB")

    batch = [SEMPI, "client-onboard", "batch", str(file), "--studio", STUDIO, "-q", "--yes"]
    run_once([SEMPI, "client-onboard", "--help"], env)  # warm the bytecode cache
    figures: dict[str, float] = {}

    def timed(name: str, args: list[str], *, fresh: bool = True) -> tuple[float, float]:
        if fresh:
            restore(pristine, store)
        seconds, rss = run_once([*batch, *args], env)
        figures[name] = seconds
        figures[f"{name}_rss"] = rss
        p = f"onboarding_{size}_{name}"
        report(f"{p}_wall", seconds, "s")
        report(f"{p}_clients_per_s", size / seconds, "clients/s")
        report(f"{p}_peak_rss", rss, "MB")
        return seconds, rss

    timed("dry_run_no_deadlines", ["--no-deadlines", "--dry-run"])
    before = counts(pristine)
    timed("real_no_deadlines", ["--no-deadlines"])
    checkpoint(store)
    after = counts(store)
    added = {t: after[t] - before[t] for t in TABLES}
    report(
        f"onboarding_{size}_rows_added",
        sum(added.values()),
        "(" + ", ".join(f"{t} {n}" for t, n in added.items() if n) + ")",
    )
    written = folder / "written.db"
    shutil.copy2(store, written)
    timed("rerun_no_change", ["--no-deadlines"], fresh=False)
    if counts(store) != after:
        raise SystemExit("bench: re-running the same file changed the store")
    timed("dry_run_with_deadlines", ["--dry-run"])
    timed("real_with_deadlines", [])
    deadlines = sqlite3.connect(store).execute("SELECT count(*) FROM deadlines").fetchone()[0]
    report(f"onboarding_{size}_deadlines_generated", deadlines)

    target = folder / "floor.db"
    seconds_all, rows = floor(pristine, written, target, TABLES)
    report(f"onboarding_{size}_floor_all_rows", seconds_all, f"s ({rows} rows)")
    report(f"onboarding_{size}_floor_all_rows_clients_per_s", size / seconds_all, "clients/s")
    seconds, rows = floor(pristine, written, target, ("clients",))
    report(f"onboarding_{size}_floor_clients_only", seconds, f"s ({rows} rows)")
    report(f"onboarding_{size}_floor_clients_only_per_s", size / seconds, "clients/s")
    real = figures["real_no_deadlines"]
    report(
        f"onboarding_{size}_real_no_deadlines_vs_floor_all_rows",
        seconds_all / real * 100,
        "% of the floor's speed (the same rows, raw executemany, no process start, no checks)",
    )
    if size == TARGET_SIZE:
        speed = size / real
        report(
            f"onboarding_{size}_target_clients_per_s",
            speed,
            f"clients/s without deadlines (target >= {CLIENTS_PER_S_TARGET:.0f}:"
            f" {'met' if speed >= CLIENTS_PER_S_TARGET else 'MISSED'})",
        )
        peak = max(v for k, v in figures.items() if k.endswith("_rss"))
        report(
            f"onboarding_{size}_target_peak_rss",
            peak,
            f"MB, the largest of the runs above (target <= {RSS_TARGET_MB:.0f} MB:"
            f" {'met' if peak <= RSS_TARGET_MB else 'MISSED'})",
        )
    shutil.rmtree(folder)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="clients, comma-separated")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"# bench/onboarding.py: batches of {sizes} clients (CSV, ';', BOM, CRLF), each run"
        f" timed once on a fresh copy of the store; load average at start {load}"
        f" on {os.cpu_count()} CPUs",
        flush=True,
    )
    with workdir() as home:
        for size in sizes:
            bench_size(home, size)
    # The backlog import (5,000 files / 500 MB, half duplicates, against `cp -r`).
    print("# the backlog import: sempi doc import against cp -r", flush=True)
    import _documents  # bench/ is on the path: this script's folder

    _documents.main([])


if __name__ == "__main__":
    main()
