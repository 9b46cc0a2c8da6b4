"""`sempi db migrate-to`: a SQLite store copied into an empty PostgreSQL database
(store/copy.py): every table's count and content hash equal on both sides, the
copy resumable after an interruption, and the copy a store that works."""

from __future__ import annotations

import sqlite3

import pytest

from sempi_cli.store import open_store
from tests import postgres_server
from tests.conftest import ADMIN_EMAIL, NOW
from tests.helpers import data

pytestmark = pytest.mark.sqlite_only  # the source is an SQLite file; the target a server's


@pytest.fixture(scope="module")
def server():
    with postgres_server.server() as address:
        yield address


_names = iter(range(1000))


@pytest.fixture
def target(server) -> str:
    """An empty database for sempi's ordinary role, allowed to set
    session_replication_role (docs/deployment.md)."""
    return postgres_server.database_for_app(server, f"copy_{next(_names)}")


def _tasks(store_path, count: int) -> None:
    """``count`` tasks written straight into the file, as a busy firm has them."""
    stamp = NOW.isoformat()
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO tasks (title, description, responsible_id, creator_id, deadline,"
        " created_at, updated_at) VALUES (?, ?, 1, 1, ?, ?, ?)",
        (
            (f"Incarico {n}", "Dichiarazione è pronta" if n % 3 else "", f"2027-0{n % 9 + 1}-15",
             stamp, stamp)
            for n in range(count)
        ),
    )  # fmt: skip
    conn.execute("COMMIT")
    conn.close()


def test_a_store_of_100000_tasks_copies_whole_and_works_there(cli, store_path, target, org):
    org.client("Città Srl", org.practice("Studio Rossi"), 1)
    _tasks(store_path, 100_000)
    copied = data(cli("--json", "db", "migrate-to", target))
    by_table = {row["table"]: row for row in copied}
    assert by_table["tasks"]["rows"] == 100_000
    source = sqlite3.connect(store_path)
    for table, row in by_table.items():
        after = source.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert row["rows"] == after - (table == "audit_log")  # + the copy's own entry
    assert source.execute("SELECT action FROM audit_log ORDER BY id DESC").fetchone()[0] == (
        "migrate_to"
    )
    source.close()
    # The copy is a store: the same people log in, the same data is listed, new
    # rows take new ids.
    conn = open_store(target)
    assert conn.execute("SELECT email FROM users WHERE id = 1").fetchone()[0] == ADMIN_EMAIL
    conn.close()
    there = cli.__class__(target, cli.clock)
    listed = data(there("--json", "client", "list"))
    assert [c["ragione_sociale"] for c in listed] == ["Città Srl"]
    made = data(there("--json", "task", "add", "Dopo la copia"))
    assert [t["id"] for t in made] == [100_001]


def test_an_interrupted_copy_resumes_and_a_used_database_is_refused(
    cli, store_path, target, monkeypatch
):
    from sempi_cli.store import copy

    _tasks(store_path, 2000)
    real = copy._copy_table
    calls = []

    def broken(source, target_conn, table):
        calls.append(table)
        if table == "tasks":
            raise KeyboardInterrupt  # as a lost connection half way
        return real(source, target_conn, table)

    monkeypatch.setattr(copy, "_copy_table", broken)
    stopped = cli("db", "migrate-to", target)
    assert stopped.exit_code != 0
    monkeypatch.setattr(copy, "_copy_table", lambda *a: calls.append(a[2]) or real(*a))
    done_before = len(calls)
    copied = data(cli("--json", "db", "migrate-to", target))
    again = calls[done_before:]
    assert "tasks" in again and len(again) < len(copied)  # the tables done were not redone
    assert {r["table"]: r["rows"] for r in copied}["tasks"] == 2000
    # Once done, the database holds a store with data: a second copy is refused.
    refused = cli("db", "migrate-to", target)
    assert refused.exit_code == 4 and "must be empty" in refused.stderr


def test_the_demo_store_copies_whole(tmp_path, target):
    """The README's demo store (its deadlines made by the scheduler, as `make demo`
    does), every table of it: count and hash equal on both sides."""
    import random

    from sempi_cli.clock import FixedClock
    from sempi_cli.demo import ADMIN, build
    from sempi_cli.services.ops.maintenance import MaintenanceService
    from sempi_cli.services.scheduler.runner import SchedulerService
    from tests.conftest import actor

    store = tmp_path / "demo" / "sempi.db"
    store.parent.mkdir(mode=0o700)
    build(store, random.Random(2026))
    source = open_store(store)
    admin = actor(source, ADMIN[0])
    SchedulerService(source, FixedClock(NOW), admin).run()
    copied = MaintenanceService(source, FixedClock(NOW), admin).migrate_to(store, target)
    source.close()
    rows = {r["table"]: r["rows"] for r in copied}
    assert rows["deadlines"] > 1000 and rows["clients"] > 20 and rows["documents"] > 0
    conn = open_store(target)
    assert conn.execute("SELECT count(*) FROM deadlines").fetchone()[0] == rows["deadlines"]
    conn.close()
