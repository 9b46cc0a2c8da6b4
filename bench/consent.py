#!/usr/bin/env python3
"""`sempi consent` and `sempi smart` on a practice with 10,000 clients with SMART services.

The store: a firm administrator, one practice (Studio Rossi) with its
administrator and an operator, and ``--clients`` clients of the practice, each
with one to three active SMART services, an e-mail and, one in five, a PEC. The
firm, the practice and the people are made through the services; the clients in
one transaction through ``services/clients/bulk.py``'s ``insert_many`` (their
profiles' first versions and their work-group chats included, as an onboarding
batch makes them), each row built and checked by ``clients/input.py`` as
``client add`` checks it. The operator joins the work groups of ``--managed``
clients. The practice's option is turned on for its operators with
`consent settings` (the command under test).

Timed (whole processes, start-up included, as bench/_common.py times them):

  sempi --version                               the start-up floor
  sempi consent request --studio S --all        once (it writes): clients/s, mails queued
  sempi consent list --studio S (table, csv)    10,000 rows
  sempi smart list                              as the operator managing 2,000 clients
  sempi consent verify                          over 100,000 answers

The answers (``--answers``) are added after the requests, straight through
``services/ledger.py``'s ``append`` in one transaction (the chain is the one
`consent answer` writes): ten per client on average, recorded on behalf on
paper; the latest answer of each client the operator manages is yes.

A command that does not exist yet in this tree (`--help` fails) is printed as
"not available", not measured.

Targets (issue 15): request --all >= 2,000 clients/s; list and smart list at
most 2x the floor; verify over 100,000 answers at most 1 s.

Run: .venv/bin/python bench/consent.py [--clients 10000] [--managed 2000]
     [--answers 100000] [--repeat 7]      (quick try: --clients 1000 --answers 10000)
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import time
from functools import partial
from pathlib import Path

from _common import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
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
MANAGED = 2_000
ANSWERS = 100_000
STUDIO = "Studio Rossi"
STUDIO_ADMIN = "titolare@rossi.bench"
OPERATOR = "operatore@rossi.bench"
OPERATOR_PASSWORD = "bench-operator-password"
SERVICES = ("fattura-smart", "smart-hub", "corrispettivi-smart")

REQUEST_TARGET = 2_000.0  # clients per second, at least
FLOOR_TARGET = 2.0  # list and smart list, at most this many floors
VERIFY_TARGET = 1.0  # seconds, at most


def build(store: Path, clients: int, managed: int, seed: int) -> dict:
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
            operator = users.add(
                OPERATOR, "Operatore Rossi", "studio-operator", studio=studio,
                password=OPERATOR_PASSWORD,
            )["id"]  # fmt: skip
            now = iso_utc(clock.now())
            first = bulk.next_client_id(conn)
            rows = []
            for n in range(clients):
                data = client_input.ClientInput(
                    client_name(rng, n),
                    studio=studio,
                    partita_iva=partita_iva(n),
                    email=f"cliente{n}@bench.test",
                    pec=f"cliente{n}@pec.bench.test" if n % 5 == 0 else None,
                    smart_services=sorted(rng.sample(SERVICES, rng.randint(1, 3))),
                )
                given = client_input.columns(data, person=False)
                fields, values = client_input.split(client_input.new_client(given))
                rows.append(
                    {
                        **fields,
                        **values,
                        "id": first + n,
                        "studio_id": studio,
                        "responsible_id": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            bulk.insert_many(conn, rows, clock, admin)
            ids = [first + n for n in range(clients)]
            mine = sorted(rng.sample(ids, min(managed, clients)))
            add_members(conn, [(c, operator) for c in mine], now, admin.id)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {"admin": admin.id, "client_ids": ids, "managed": mine}


def add_answers(store: Path, built: dict, count: int, seed: int) -> float:
    """``count`` answers through ledger.append in one transaction; the latest of each
    managed client is yes. Returns the seconds it took."""
    from sempi_cli.clock import SystemClock, iso_utc
    from sempi_cli.services import ledger
    from sempi_cli.store import open_store, write_transaction

    rng = random.Random(seed)
    ids, managed = built["client_ids"], set(built["managed"])
    now = iso_utc(SystemClock().now())
    start = time.perf_counter()
    conn = open_store(store)
    try:
        with write_transaction(conn):
            request = dict(
                conn.execute("SELECT client_id, max(id) FROM consent_requests GROUP BY client_id")
            )
            order = [ids[n % len(ids)] for n in range(count)]
            rng.shuffle(order)
            last = {client: n for n, client in enumerate(order)}
            for n, client in enumerate(order):
                answer = (
                    "yes" if client in managed and last[client] == n else rng.choice(("yes", "no"))
                )
                ledger.append(
                    conn,
                    "consent_answers",
                    {
                        "client_id": client,
                        "answer": answer,
                        "comment": None,
                        "answered_at": now,
                        "answered_by": built["admin"],
                        "on_behalf": 1,
                        "channel": "paper",
                        "evidence_document_id": None,
                        "request_id": request.get(client),
                    },
                )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS, help="the practice's clients")
    parser.add_argument("--managed", type=int, default=MANAGED, help="the operator's clients")
    parser.add_argument("--answers", type=int, default=ANSWERS, help="answers in the ledger")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each command")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()

    with workdir() as tmp:
        store = tmp / "consent.db"
        start = time.perf_counter()
        built = build(store, args.clients, args.managed, args.seed)
        report("build_clients", f"{args.clients:,} clients ({args.managed:,} the operator's)")
        report("build_seconds", time.perf_counter() - start, "s")
        env = base_env(tmp / "admin", store)
        op_env = base_env(tmp / "operator", store)
        login(env)
        login(op_env, OPERATOR, OPERATOR_PASSWORD)
        floor_cmd = [SEMPI, "--version"]

        if available(["consent", "settings"], env):
            subprocess.run(
                [SEMPI, "-q", "consent", "settings", "--studio", STUDIO, "--enable",
                 "--operators", "yes"],
                env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
        else:
            print("consent_settings: not available", flush=True)

        verdicts: list[str] = []

        check = partial(check_target, verdicts)

        if available(["consent", "request"], env):
            before = count_rows(store, "SELECT count(*) FROM mail_outbox")
            request = [SEMPI, "--yes", "consent", "request", "--studio", STUDIO, "--all"]
            seconds, peak = run_once(request, env)
            floor_once, _ = run_once(floor_cmd, env)
            sent = count_rows(store, "SELECT count(DISTINCT client_id) FROM consent_requests")
            mails = count_rows(store, "SELECT count(*) FROM mail_outbox") - before
            report("request_all_floor_once", floor_once * 1000, "ms")
            report_timing("request_all", seconds, peak)
            report("request_all_requests", sent, "clients")
            report("request_all_mails_queued", mails, "mails")
            check("request_all_rate", sent / seconds, REQUEST_TARGET, "clients/s", at_least=True)
        else:
            print("request_all: not available", flush=True)

        report("answers_added_seconds", add_answers(store, built, args.answers, args.seed), "s")

        commands: dict[str, list[str]] = {"sempi_version": floor_cmd}
        where: dict[str, dict[str, str]] = {}
        if available(["consent", "list"], env):
            listing = [SEMPI, "consent", "list", "--studio", STUDIO, "--limit", str(args.clients)]
            commands["consent_list_table"] = listing
            commands["consent_list_csv"] = [SEMPI, "--format", "csv", *listing[1:]]
            report("consent_list_rows", csv_rows(commands["consent_list_csv"], env), "rows")
        else:
            print("consent_list_table: not available", flush=True)
            print("consent_list_csv: not available", flush=True)
        if available(["smart", "list"], op_env):
            commands["smart_list"] = [SEMPI, "smart", "list"]
            where["smart_list"] = op_env
            smart_csv = [SEMPI, "--format", "csv", "smart", "list"]
            report("smart_list_rows", csv_rows(smart_csv, op_env), "clients")
        else:
            print("smart_list: not available", flush=True)
        if available(["consent", "verify"], env):
            commands["consent_verify"] = [SEMPI, "consent", "verify"]
        else:
            print("consent_verify: not available", flush=True)

        results = run_all(commands, env, args.repeat, envs=where)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# load average at the end {load}", flush=True)
    for name, (median, peak) in results.items():
        report_timing(name, median, peak)
    floor = results["sempi_version"][0]
    for name in ("consent_list_table", "consent_list_csv", "smart_list"):
        if name in results:
            check(f"{name}_vs_floor", results[name][0] / floor, FLOOR_TARGET, "x")
    if "consent_verify" in results:
        check("consent_verify_seconds", results["consent_verify"][0], VERIFY_TARGET, "s")
    report("targets", f"{verdicts.count('met')} met, {verdicts.count('MISSED')} MISSED")


if __name__ == "__main__":
    main()
