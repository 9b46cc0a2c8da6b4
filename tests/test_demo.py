"""`make demo`: python -m sempi_cli.demo DIR builds a realistic, valid demo store."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from stdnum.it import codicefiscale, iva

from sempi_cli.services.clients.profile import check_consistency, from_row

# Builds the demo store with `python -m sempi_cli.demo` and runs sempi on it.
pytestmark = pytest.mark.slow


def run_demo(directory: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    for var in ("SEMPI_DB", "SEMPI_USER", "SEMPI_APP_PASSWORD"):  # never a real store
        env.pop(var, None)
    env["SEMPI_HOME"] = str(directory)
    env["SEMPI_LANG"] = "en"  # the suite reads English (module fixtures run before conftest's)
    return subprocess.run(
        [sys.executable, "-m", "sempi_cli.demo", str(directory)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    directory = tmp_path_factory.mktemp("demo") / "demo"
    return directory, run_demo(directory)


@pytest.fixture(scope="module")
def store(demo: tuple[Path, subprocess.CompletedProcess[str]]):
    directory, result = demo
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(directory / "sempi.db")
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def test_the_demo_logs_in_and_runs_the_scheduler_its_main_job(demo) -> None:
    directory, result = demo
    assert result.returncode == 0, result.stderr
    assert "Logged in as" in result.stderr
    assert "demo" in result.stderr.lower() and "admin@sempi.demo" in result.stderr
    assert f"SEMPI_HOME={directory}" in result.stderr
    assert list((directory / "sessions").iterdir()), "the admin's session is kept in the demo home"
    # the run's summary, then the scadenzario (20 rows), then one explanation
    assert "Run #1, due " in result.stdout and ", 40 clients: created " in result.stdout
    assert "sempi scheduler list --limit 20" in result.stderr
    listing = result.stdout[result.stdout.index("due_date") :].split("\n")
    assert sum(1 for line in listing if re.match(r"\d\d/\d\d/\d{4} ", line)) == 20
    explained = result.stdout[result.stdout.index("Legal basis:") - 600 :]
    for part in ("Nominal date:", "Moved:", "Due date:", "Legal basis:", "Task:"):
        assert part in explained, part


def test_the_staff_user_is_logged_in_in_a_home_of_her_own(demo) -> None:
    from sempi_cli.demo import DUE_USER

    directory, result = demo
    staff_home = directory / DUE_USER.split("@")[0]
    assert list((staff_home / "sessions").iterdir()), "her session sits in a home of her own"
    assert f"SEMPI_HOME={staff_home}" in result.stderr and "task due" in result.stderr


def test_every_client_has_its_deadlines_on_working_days(store: sqlite3.Connection) -> None:
    from datetime import date

    from sempi_cli.fiscal.calendar import is_working_day

    rows = store.execute(
        "SELECT d.client_id, d.due_date, t.kind, t.client_id AS task_client FROM deadlines d"
        " JOIN tasks t ON t.id = d.task_id"
    ).fetchall()
    assert {r["client_id"] for r in rows} == {r[0] for r in store.execute("SELECT id FROM clients")}
    assert all(r["kind"] == "ordinary" and r["task_client"] == r["client_id"] for r in rows)
    assert all(is_working_day(date.fromisoformat(r["due_date"])) for r in rows)
    runs = store.execute("SELECT status, created FROM scheduler_runs").fetchall()
    assert [(r["status"], r["created"]) for r in runs] == [("ok", len(rows))]


def test_extraordinary_tasks_across_the_clients(store: sqlite3.Connection) -> None:
    from datetime import datetime

    from sempi_cli.clock import ROME

    tasks = store.execute(
        "SELECT * FROM tasks WHERE id NOT IN (SELECT task_id FROM deadlines)"
    ).fetchall()
    assert len(tasks) >= 20
    assert {t["kind"] for t in tasks} == {"extraordinary"}
    assert len({t["client_id"] for t in tasks}) >= 15
    assert {t["status"] for t in tasks} == {
        "pending",
        "in_progress",
        "awaiting_approval",
        "completed",
        "deferred",
    }
    assert any(t["high_priority"] for t in tasks) and not all(t["high_priority"] for t in tasks)
    assert 2 <= sum(t["approval_required"] for t in tasks) < len(tasks)
    assert all(t["completed_at"] for t in tasks if t["status"] == "completed")
    # Deadlines spread around the day the demo was built: past, today, later.
    built = datetime.fromisoformat(tasks[0]["created_at"]).astimezone(ROME).date()
    days = [
        (datetime.fromisoformat(t["deadline"]).astimezone(ROME).date() - built).days
        for t in tasks
        if t["deadline"]
    ]
    assert min(days) < 0 and 0 in days and max(days) > 7
    # Made by the people who would: practice titolari, the firm, staff; done by staff.
    creators = {
        r[0]
        for r in store.execute(
            "SELECT DISTINCT u.role FROM tasks t JOIN users u ON u.id = t.creator_id"
            " WHERE t.kind = 'extraordinary'"
        )
    }
    assert creators == {"firm-admin", "studio-admin", "staff"}
    responsibles = store.execute(
        "SELECT DISTINCT u.role FROM tasks t JOIN users u ON u.id = t.responsible_id"
        " WHERE t.kind = 'extraordinary'"
    ).fetchall()
    assert [r[0] for r in responsibles] == ["staff"]
    assert store.execute("SELECT count(*) FROM task_tags").fetchone()[0] > 5
    actions = {r[0] for r in store.execute("SELECT DISTINCT action FROM task_history")}
    assert {"create", "start", "done", "approve", "defer"} <= actions


def test_forty_clients_with_valid_identifiers(store: sqlite3.Connection) -> None:
    clients = store.execute("SELECT * FROM clients").fetchall()
    assert len(clients) == 40
    assert {r["studio_id"] for r in clients} == {1, 2}
    for row in clients:
        cf, piva = row["codice_fiscale"], row["partita_iva"]
        assert codicefiscale.is_valid(cf), row["ragione_sociale"]
        assert piva is None or iva.is_valid(piva), row["ragione_sociale"]
        if row["taxpayer_kind"] == "persona_fisica":
            assert len(cf) == 16 and piva is not None
        elif row["taxpayer_kind"] in ("societa_capitali", "societa_persone"):
            assert cf == piva
        assert row["email"] and row["pec"] and row["responsible_id"]
    for column in ("codice_fiscale", "partita_iva"):
        values = [r[column] for r in clients if r[column]]
        assert len(values) == len(set(values)), f"duplicate {column}"


def test_fiscal_profiles_are_varied_and_consistent(store: sqlite3.Connection) -> None:
    clients = store.execute("SELECT * FROM clients").fetchall()
    profiles = [from_row(r) for r in store.execute("SELECT * FROM client_profiles")]
    assert len(profiles) == len(clients)  # one version each, from the start
    for profile in profiles:
        check_consistency(profile)
    periodicities = {"mensile", "trimestrale", "trimestrale_speciale", "none"}
    assert {p["iva_periodicity"] for p in profiles} == periodicities
    kinds = {"persona_fisica", "societa_persone", "societa_capitali"}
    assert {r["taxpayer_kind"] for r in clients} >= kinds
    for flag in (
        "forfettario",
        "sostituto_imposta",
        "has_employees",
        "issues_bollo_efatture",
        "contabilita_presso_terzi",
        "has_reverse_charge_purchases",
        "inps_gs_professionista",
        "imu_owner",
    ):
        assert any(p[flag] for p in profiles), flag
        assert not all(p[flag] for p in profiles), flag
    assert all(p["iva_periodicity"] == "none" for p in profiles if p["forfettario"])
    assert any(p["intra1_goods"] != "none" for p in profiles)
    assert {p["inps_ivs"] for p in profiles} == {"artigiano", "commerciante", "none"}
    assert any(r["smart_services"] != "[]" for r in clients)
    assert any(r["nickname"] for r in clients)


def test_users_of_every_role_and_their_work_groups(store: sqlite3.Connection) -> None:
    roles = dict(store.execute("SELECT role, count(*) FROM users GROUP BY role").fetchall())
    assert roles == {
        "firm-admin": 1,
        "staff": 3,
        "studio-admin": 2,
        "studio-operator": 4,
        "external": 3,
    }
    assert not store.execute("SELECT 1 FROM users WHERE password_hash IS NULL").fetchall()
    # Operators sit in groups of their own practice's clients only; externals in their client's.
    rows = store.execute(
        "SELECT u.role, u.studio_id, u.client_id, c.id AS client, c.studio_id AS client_studio"
        " FROM work_group_members m JOIN users u ON u.id = m.user_id"
        " JOIN clients c ON c.id = m.client_id"
        " WHERE u.role IN ('studio-operator', 'external')"
    ).fetchall()
    operators = [r for r in rows if r["role"] == "studio-operator"]
    assert operators and all(r["studio_id"] == r["client_studio"] for r in operators)
    externals = [r for r in rows if r["role"] == "external"]
    assert len(externals) == 3 and all(r["client_id"] == r["client"] for r in externals)


def test_a_second_run_refuses_to_overwrite(demo, store) -> None:
    directory, _ = demo
    before = store.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    again = run_demo(directory)
    assert again.returncode == 4
    assert "already exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert again.stdout == ""
    assert store.execute("SELECT count(*) FROM audit_log").fetchone()[0] == before


def test_the_demo_is_deterministic(store: sqlite3.Connection, tmp_path: Path) -> None:
    result = run_demo(tmp_path / "again")
    assert result.returncode == 0, result.stderr
    other = sqlite3.connect(tmp_path / "again" / "sempi.db")
    try:
        query = (
            "SELECT ragione_sociale, codice_fiscale, partita_iva, email, pec, responsible_id,"
            " smart_services, iva_periodicity, forfettario FROM clients c"
            " JOIN client_profiles p ON p.client_id = c.id ORDER BY c.id, p.valid_from"
        )
        assert [tuple(r) for r in store.execute(query)] == other.execute(query).fetchall()
        query = (
            "SELECT t.title, t.client_id, t.responsible_id, t.creator_id, t.status,"
            " t.high_priority, t.approval_required, group_concat(g.tag) FROM tasks t"
            " LEFT JOIN task_tags g ON g.task_id = t.id GROUP BY t.id ORDER BY t.id"
        )
        assert [tuple(r) for r in store.execute(query)] == other.execute(query).fetchall()
    finally:
        other.close()


def test_the_demo_batch_files_in_docs_examples_are_current(tmp_path, monkeypatch) -> None:
    """The demo onboards its clients from docs/examples/demo-*.csv: `make docs` writes them."""
    import random

    from sempi_cli import demo

    checked_in = {p.name: p.read_bytes() for p in demo.EXAMPLES.glob("demo-*.csv")}
    monkeypatch.setattr(demo, "EXAMPLES", tmp_path)
    demo.write_examples(random.Random(demo.EXAMPLES_SEED))
    assert {p.name: p.read_bytes() for p in tmp_path.glob("demo-*.csv")} == checked_in
    assert len(checked_in) == 2
