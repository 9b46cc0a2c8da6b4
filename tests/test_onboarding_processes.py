"""`sempi client-onboard batch` as real processes: killed with SIGKILL, then run again;
and on a real terminal (confirmation, progress bar).

One store (a practice with an administrator and an operator, a staff member, the
firm administrator with an application password, as a script authenticates)
and one CSV file of a few chunks of clients are built once per test process.
Two uninterrupted runs on copies are the references: with deadlines (the
result every killed-then-resumed batch must reach) and without (how long the
batch's own part lasts). The kill delays are fractions of those wall times,
so a slow machine kills at the same points of the work: while checking,
inside the chunks of the write pass, and during the deadline generation.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import (
    NOW,
    cf_person,
    cron_env,
    log_output,
    piva,
    run_logged,
)
from tests.helpers import SEMPI, Org

pytestmark = pytest.mark.slow  # real sempi processes, killed and run again

CLIENTS = 1200  # chunks of 500: two commits in the middle of the write pass
STUDIO = "Studio Rossi"
STAFF, OPERATOR = "staff@sempi.test", "operator@rossi.test"
TIMEOUT = 300
# Where the SIGKILL lands, as (fraction, of which reference run). The batch's own
# part (checking, then writing three chunks) is timed by the run without
# deadlines; the deadline generation fills the rest of the run with them. Where
# a kill lands moves with the machine's load; every trial passes wherever it
# lands, and one that arrives after the process ended is the run-twice case.
KILL_AT = (
    (0.3, "batch"),
    (0.55, "batch"),
    (0.8, "batch"),
    (0.95, "batch"),
    (0.6, "total"),
    (0.9, "total"),
)


@dataclass(frozen=True)
class Original:
    store: Path
    file: Path
    env: dict[str, str]
    reference: dict[str, list[tuple]]  # onboarding_rows after one uninterrupted run
    per_client: dict[str, int]  # deadlines per client (by partita IVA) after it
    seconds_total: float  # that run's wall time
    seconds_batch: float  # the same batch with --no-deadlines


def _write_file(path: Path) -> None:
    rng = random.Random(20261116)
    columns = [
        "ragione_sociale", "kind", "codice_fiscale", "partita_iva", "responsible", "externals",
        "modules", "delegations", "iva_periodicity", "sostituto_imposta", "has_employees",
        "isa_subject", "inps_ivs",
    ]  # fmt: skip
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        writer.writerow(columns)
        for n in range(CLIENTS):
            person = n % 7 == 0
            writer.writerow(
                [
                    f"Cliente {n}" + ("" if person else " Srl"),
                    "persona_fisica" if person else "societa_capitali",
                    cf_person(n) if person else "",
                    piva(n),
                    STAFF if n % 3 else "",
                    f"Titolare {n} <titolare{n}@cliente.test>" if n % 40 == 1 else "",
                    "tasks;documents" if n % 5 == 2 else "",
                    f"cassetto_fiscale:D{n}:31/12/2027" if n % 2 else "",
                    rng.choice(("mensile", "trimestrale")),
                    rng.choice(("sì", "no")),
                    rng.choice(("sì", "no")),
                    rng.choice(("sì", "no")),
                    rng.choice(("artigiano", "commerciante", "none")),
                ]
            )


def _setup_store(store: Path) -> None:
    from sempi_cli.clock import FixedClock
    from sempi_cli.store import open_store

    conn = open_store(store)
    try:
        org = Org(conn, FixedClock(NOW))
        studio = org.practice(STUDIO)
        org.user(STAFF, "Sara Staff")
        org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=studio)
    finally:
        conn.close()


def sempi(env: dict[str, str], *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return run_logged([SEMPI, *args], env=env, input=input, timeout=TIMEOUT)


def batch_args(file: Path, *extra: str) -> list[str]:
    return ["client-onboard", "batch", str(file), "--studio", STUDIO, "--yes", "-q", *extra]


def copy_of(source: Path, env: dict[str, str], folder: Path) -> tuple[Path, dict[str, str]]:
    folder.mkdir(mode=0o700, parents=True)
    store = folder / "sempi.db"
    assert not Path(f"{source}-wal").exists()  # the file alone is the whole store
    shutil.copy2(source, store)
    return store, {**env, "SEMPI_HOME": str(folder / "home"), "SEMPI_DB": str(store)}


def timed_run(env: dict[str, str], args: list[str], label: str) -> float:
    began = time.perf_counter()
    result = sempi(env, *args)
    seconds = time.perf_counter() - began
    assert result.returncode == 0, (label, result.stderr)
    return seconds


def onboarding_rows(store: Path) -> dict[str, list[tuple]]:
    """What the batch produced, by natural keys (partita IVA, e-mail), without ids
    or timestamps: two stores hold the same onboarding exactly when these are equal."""
    conn = sqlite3.connect(store)
    try:
        piva_of = "(SELECT partita_iva FROM clients WHERE id = {})"
        email_of = "(SELECT email FROM users WHERE id = {})"
        queries = {
            "clients": "SELECT c.partita_iva, c.ragione_sociale, c.taxpayer_kind, c.codice_fiscale,"
            f" {email_of.format('c.responsible_id')}, c.removed_at FROM clients c",
            "profiles": f"SELECT {piva_of.format('client_id')}, valid_from, iva_periodicity,"
            " sostituto_imposta, has_employees, isa_subject, inps_ivs FROM client_profiles",
            "members": f"SELECT {piva_of.format('client_id')}, {email_of.format('user_id')}"
            " FROM work_group_members",
            "folders": f"SELECT {piva_of.format('f.client_id')}, f.name, p.name"
            " FROM doc_folders f LEFT JOIN doc_folders p ON p.id = f.parent_id",
            "modules": f"SELECT {piva_of.format('client_id')}, module FROM client_modules",
            "delegations": f"SELECT {piva_of.format('client_id')}, kind, reference, valid_until"
            " FROM client_delegations",
            "externals": f"SELECT email, full_name, role, {piva_of.format('client_id')},"
            " password_hash FROM users WHERE role = 'external'",
            "invitations": f"SELECT {email_of.format('user_id')}, seq, revoked_at, used_at"
            " FROM invitations",
            "outbox": "SELECT to_address, kind, status, dedupe_key IS NOT NULL FROM mail_outbox",
            "audit": f"SELECT action, object_type, {piva_of.format('object_id')} FROM audit_log"
            " WHERE action LIKE 'onboard%'",
            "deadlines": f"SELECT {piva_of.format('d.client_id')}, d.rule_id, d.period, d.due_date,"
            f" d.state, t.title, {email_of.format('t.responsible_id')}"
            " FROM deadlines d JOIN tasks t ON t.id = d.task_id",
        }
        return {name: sorted(conn.execute(sql), key=repr) for name, sql in queries.items()}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory, template_store: Path) -> Original:
    folder = tmp_path_factory.mktemp("onboarding-original")
    folder.chmod(0o700)
    store = folder / "sempi.db"
    shutil.copy2(template_store, store)
    _setup_store(store)
    file = folder / "clienti.csv"
    _write_file(file)
    env = cron_env(store, folder / "home", "onboarding batch")
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()

    reference_store, reference_env = copy_of(store, env, folder / "reference")
    seconds_total = timed_run(reference_env, batch_args(file), "reference run")
    reference = onboarding_rows(reference_store)
    assert len(reference["clients"]) == CLIENTS
    per_client: dict[str, int] = {}
    for row in reference["deadlines"]:
        per_client[row[0]] = per_client.get(row[0], 0) + 1
    assert len(per_client) == CLIENTS  # every client has deadlines in the horizon
    _, batch_env = copy_of(store, env, folder / "no-deadlines")
    seconds_batch = timed_run(
        batch_env, batch_args(file, "--no-deadlines"), "reference run without deadlines"
    )
    return Original(store, file, env, reference, per_client, seconds_total, seconds_batch)


def check_whole_clients(store: Path, original: Original) -> int:
    """After whatever happened: a sound store, and the clients written are whole
    (everything the reference gave each of them) and the first chunks of the file.
    Their deadlines are each client's all or none. Returns the clients held."""
    from sempi_cli.services.onboarding.batch import CHUNK

    conn = sqlite3.connect(store)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    held = onboarding_rows(store)
    clients = {row[0] for row in held["clients"]}
    order = [piva(n) for n in range(CLIENTS)]
    prefixes = [set(order[:k]) for k in (*range(0, CLIENTS, CHUNK), CLIENTS)]
    assert clients in prefixes, "the clients written are not whole chunks in the file's order"
    for name in ("clients", "members", "folders", "modules", "delegations"):
        expected = [r for r in original.reference[name] if r[0] in clients]
        assert held[name] == expected, f"{name}: a client is not whole"
    assert held["audit"] == [r for r in original.reference["audit"] if r[2] in clients]
    externals = {r[0] for r in held["externals"]}
    reference_externals = [r for r in original.reference["externals"] if r[3] in clients]
    assert held["externals"] == reference_externals
    assert {r[0] for r in held["invitations"]} == externals  # each invited, once
    assert len(held["invitations"]) == len(externals) == len(held["outbox"])
    per_client: dict[str, int] = {}
    for row in held["deadlines"]:
        per_client[row[0]] = per_client.get(row[0], 0) + 1
    half = {c for c, n in per_client.items() if n != original.per_client[c]}
    assert not half, f"clients with part of their deadlines: {sorted(half)[:5]}"
    return len(clients)


@pytest.mark.parametrize(("fraction", "of"), KILL_AT)
def test_sigkill_leaves_whole_clients_and_the_same_command_finishes(
    original: Original, tmp_path: Path, fraction: float, of: str
) -> None:
    store, env = copy_of(original.store, original.env, tmp_path / "killed")
    reports = tmp_path / "reports"
    reports.mkdir()
    report = ["--report", str(reports / "esito.csv")]
    proc = subprocess.Popen(
        [SEMPI, *batch_args(original.file), *report],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = original.seconds_batch if of == "batch" else original.seconds_total
    time.sleep(fraction * seconds)  # the deliberate delay: where the kill lands
    proc.kill()  # no-op if it already ended: then this is the run-twice case
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    log_output(f"sempi client-onboard batch (SIGKILL after {fraction:.0%} of {of})", out, err)
    assert proc.returncode in (0, -9), err

    check_whole_clients(store, original)
    # The --report file is written at the end, whole: a kill leaves no temporary file.
    assert not [p.name for p in reports.iterdir() if p.name.startswith(".sempi-report-")]

    again = sempi(env, *batch_args(original.file), *report)  # the same command, run again
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["esito.csv"]
    assert onboarding_rows(store) == original.reference
    conn = sqlite3.connect(store)
    try:
        runs = [r[0] for r in conn.execute("SELECT status FROM scheduler_runs ORDER BY id")]
    finally:
        conn.close()
    assert runs[-1] == "ok"
    assert set(runs[:-1]) <= {"interrupted", "ok"}


def everything_but_the_login(store: Path) -> list[str]:
    """Every row of every table, except what authenticating a command records (an
    application password's last use and its audit entry), which any command writes."""
    conn = sqlite3.connect(store)
    try:
        return [
            line
            for line in conn.iterdump()
            if not line.startswith('INSERT INTO "app_passwords"')
            and "'app_password_used'" not in line
        ]
    finally:
        conn.close()


def test_run_twice_changes_nothing_the_second_time(original: Original, tmp_path: Path) -> None:
    store, env = copy_of(original.store, original.env, tmp_path / "twice")
    assert sempi(env, *batch_args(original.file)).returncode == 0
    before = everything_but_the_login(store)
    second = sempi(env, *batch_args(original.file))
    assert second.returncode == 0, second.stderr
    assert everything_but_the_login(store) == before  # no audit row, no scheduler run
    assert onboarding_rows(store) == original.reference


def test_two_batches_at_once_onboard_each_client_once(original: Original, tmp_path: Path) -> None:
    """Chunk by chunk, under the write lock, one writes and the other finds it written."""
    store, env = copy_of(original.store, original.env, tmp_path / "together")
    procs = [
        subprocess.Popen(
            [SEMPI, *batch_args(original.file, "--format", "json")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for n, proc in enumerate(procs):
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
        log_output(f"sempi client-onboard batch (at once, {n})", out, err)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))
    assert sum(o["created"] for o in outputs) == CLIENTS
    assert all(o["created"] + o["unchanged"] == CLIENTS for o in outputs)
    assert onboarding_rows(store) == original.reference


def test_on_a_terminal_it_asks_and_shows_progress(original: Original, tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    store, env = copy_of(original.store, original.env, tmp_path / "terminal")
    args = ["client-onboard", "batch", str(original.file), "--studio", STUDIO, "--no-deadlines"]
    child = pexpect.spawn(SEMPI, args, env=env, encoding="utf-8", timeout=TIMEOUT)
    try:
        child.expect(r"Onboard 1200 new client\(s\) and update 0 in practice Studio Rossi\?")
        seen = child.before
        child.sendline("y")
        child.expect(pexpect.EOF)
        seen += child.before
    finally:
        child.close()
    log_output("sempi client-onboard batch (terminal)", seen)
    assert child.exitstatus == 0, seen
    assert "Checking  [" in seen and "Writing   [" in seen and "1200/1200" in seen
    assert "Onboarded 1200 row(s): 1200 created, 0 updated, 0 unchanged." in seen
    assert onboarding_rows(store)["clients"] == original.reference["clients"]
