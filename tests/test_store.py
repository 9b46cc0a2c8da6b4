"""The store: identity, pragmas, migrations, transactions, check and backup."""

from __future__ import annotations

import json
import os
import sqlite3
import stat

import pytest

from sempi_cli.errors import Conflict, StoreUnusable
from sempi_cli.store import open_store, write_transaction
from sempi_cli.store.constants import APPLICATION_ID, PAGE_SIZE
from sempi_cli.store.migrations import LATEST
from sempi_cli.store.script import statements
from tests.conftest import store_digest
from tests.helpers import assert_one_line_error


def test_the_schema_version_is_the_number_of_migrations():
    from sempi_cli.store.constants import SCHEMA_VERSION

    assert SCHEMA_VERSION == LATEST, "a new migration: raise constants.SCHEMA_VERSION with it"


@pytest.mark.sqlite_only
def test_new_store_is_stamped_and_migrated(db):
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
    applied = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == [
        "m001_initial",
        "m002_security",
        "m003_tasks",
        "m004_checklists",
        "m005_timers",
        "m006_scheduler",
        "m007_documents",
        "m008_mail",
        "m009_onboarding",
        "m010_documents",
        "m011_mail_practice",
        "m012_outbox_secrets_out",
        "m013_fiscal_tasks",
        "m014_form_year_periods",
        "m015_client_profiles",
        "m016_chat",
        "m017_consent",
        "m018_coupons",
        "m019_language",
        "m020_signing",
        "m021_task_origin",
        "m022_events",
        "m023_automation",
        "m024_events_lean",
    ]


def test_a_store_made_before_the_page_size_keeps_its_own(tmp_path):
    old = tmp_path / "vecchio.db"
    conn = open_store(old, create=True)
    conn.execute("PRAGMA journal_mode = DELETE")  # a 4 KiB store, as sempi made them
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("VACUUM")
    conn.close()
    conn = open_store(old)
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_init_makes_the_store_owner_only(store_path):
    assert stat.S_IMODE(os.stat(store_path).st_mode) == 0o600


def test_missing_store_is_refused_with_a_hint(tmp_path):
    with pytest.raises(StoreUnusable, match="sempi init"):
        open_store(tmp_path / "nothing.db")


def test_a_text_file_is_not_a_store(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("hello, this is not SQLite")
    with pytest.raises(StoreUnusable, match="not a sempi store"):
        open_store(path)


def test_a_foreign_sqlite_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = store_digest(path)
    with pytest.raises(StoreUnusable, match="not a sempi store"):
        open_store(path, create=True)
    assert store_digest(path) == before


def test_a_newer_schema_is_refused(store_path):
    conn = sqlite3.connect(store_path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(StoreUnusable, match="newer"):
        open_store(store_path)


def test_write_transaction_rolls_back_everything(db, clock):
    before = db.execute("SELECT count(*) FROM studios").fetchone()[0]
    with pytest.raises(RuntimeError), write_transaction(db):
        db.execute("INSERT INTO studios (name, created_at, updated_at) VALUES ('A', 'x', 'x')")
        with write_transaction(db):  # nested: a savepoint
            db.execute("INSERT INTO studios (name, created_at, updated_at) VALUES ('B', 'x', 'x')")
        raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM studios").fetchone()[0] == before
    assert not db.in_transaction


def test_nested_failure_undoes_only_the_savepoint(db):
    with write_transaction(db):
        db.execute("INSERT INTO studios (name, created_at, updated_at) VALUES ('Kept', 'x', 'x')")
        with pytest.raises(sqlite3.IntegrityError), write_transaction(db):
            db.execute(
                "INSERT INTO studios (name, created_at, updated_at) VALUES ('Gone', 'x', 'x')"
            )
            db.execute(
                "INSERT INTO studios (name, created_at, updated_at) VALUES ('kept', 'x', 'x')"
            )
    names = {r[0] for r in db.execute("SELECT name FROM studios")}
    assert names == {"Kept"}


def test_audit_log_is_append_only(db):
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET action = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")


def test_statement_splitter_keeps_triggers_whole():
    script = "CREATE TABLE a (x);\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n SELECT 1;\n SELECT 2;\nEND;\n"
    assert len(list(statements(script))) == 2


def test_db_check_passes_on_a_sound_store(cli):
    result = cli("db", "check")
    assert result.exit_code == 0, result.stderr
    assert "sound" in result.stderr


def test_db_check_fails_on_a_broken_foreign_key(cli, store_path):
    conn = sqlite3.connect(store_path)
    conn.execute(
        "INSERT INTO clients (studio_id, ragione_sociale, taxpayer_kind, partita_iva, created_at, updated_at)"
        " VALUES (999, 'Orphan', 'ente', '00000010017', 'x', 'x')"
    )
    conn.commit()
    conn.close()
    result = cli("db", "check", "--json")
    assert result.exit_code == 10
    assert "problem" in result.stderr


def test_db_info_counts(cli):
    result = cli("db", "info", "--json")
    assert result.exit_code == 0, result.stderr
    import json

    info = json.loads(result.stdout)
    assert info["schema_version"] == LATEST
    assert info["users_count"] == 1


def test_backup_is_consistent_private_and_never_overwrites(cli, tmp_path, store_path):
    target = tmp_path / "copy.db"
    result = cli("db", "backup", str(target))
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    copy = open_store(target)
    assert copy.execute("SELECT count(*) FROM users").fetchone()[0] == 1
    copy.close()
    again = cli("db", "backup", str(target))
    assert again.exit_code == Conflict.exit_code
    assert "already exists" in again.stderr


def test_backup_into_a_missing_folder_is_invalid(cli, tmp_path):
    result = cli("db", "backup", str(tmp_path / "no" / "such" / "copy.db"))
    assert result.exit_code == 6
    assert "does not exist" in result.stderr


@pytest.mark.parametrize("name", ["a" * 300, "home/sempi.db/copy.db"])
def test_backup_where_no_file_can_be_made_is_invalid(cli, tmp_path, name):
    """A name too long, a file for a folder: one line, 6 (the fuzz test found an internal
    OSError)."""
    assert_one_line_error(cli("db", "backup", str(tmp_path / name)), 6, "PATH")


@pytest.mark.slow
def test_two_processes_creating_one_store_at_once(tmp_path):
    """Migration on open is safe when two processes race to create the store."""
    import subprocess
    import sys

    path = tmp_path / "race.db"
    code = (
        "import sys; from pathlib import Path; from sempi_cli.store import open_store;"
        "open_store(Path(sys.argv[1]), create=True).close()"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)]) for _ in range(4)]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    conn = open_store(path)
    assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == LATEST
    conn.close()


def test_setting_wal_waits_for_a_store_being_made_by_another_process(tmp_path):
    """Turning WAL on takes the file's exclusive lock, which SQLite does not wait for:
    while another connection writes (as a process making the same store at once
    does), open_store tries again instead of failing at once with "locked"."""
    import threading

    from sempi_cli.store.connection import _write_ahead_log

    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.3, holder.execute, ("COMMIT",)).start()
    opener = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    _write_ahead_log(opener)  # raised "database is locked" at once before
    assert opener.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    opener.close()
    holder.close()


def _holder_and_waiter(store_path):
    holder = open_store(store_path)
    waiter = open_store(store_path)
    waiter.execute("PRAGMA busy_timeout = 20")  # the interactive wait, shortened for the test
    holder.execute("BEGIN IMMEDIATE")
    return holder, waiter


def test_an_interactive_writer_gives_up_when_another_holds_the_store(store_path):
    from sempi_cli.errors import StoreBusy

    holder, waiter = _holder_and_waiter(store_path)
    with pytest.raises(StoreBusy), write_transaction(waiter):
        pass
    holder.execute("ROLLBACK")


def test_a_long_job_says_it_waits_and_gets_the_store(store_path):
    """A patient connection says once that it is waiting, then waits past the
    interactive timeout: here the holder lets go only when told of the wait."""
    import threading

    from sempi_cli.store.transaction import be_patient

    holder, waiter = _holder_and_waiter(store_path)
    told = threading.Event()
    notices = []

    def notice() -> None:
        notices.append("waiting")
        told.set()

    def release() -> None:
        told.wait(60)
        holder.execute("COMMIT")

    be_patient(waiter, 60, notice)
    releaser = threading.Thread(target=release)
    releaser.start()
    with write_transaction(waiter):
        waiter.execute("UPDATE firm SET name = name")
    releaser.join()
    with write_transaction(waiter):  # the next transaction finds it free: no second notice
        pass
    assert notices == ["waiting"]
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000


def test_only_a_store_connection_can_be_made_patient():
    from sempi_cli.store.transaction import be_patient

    with pytest.raises(TypeError):
        be_patient(sqlite3.connect(":memory:"), 60)


def test_a_fifo_or_a_device_is_not_a_store_and_nothing_hangs(tmp_path):
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero", "/dev/null"):
        with pytest.raises(StoreUnusable, match="not a regular file"):
            open_store(path)


@pytest.mark.slow
def test_sempi_db_pointing_at_a_fifo_is_one_line(tmp_path):
    import subprocess

    from tests.helpers import SEMPI

    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    env = {**os.environ, "SEMPI_DB": str(fifo), "SEMPI_HOME": str(tmp_path)}
    result = subprocess.run(
        [SEMPI, "task", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 10
    assert result.stderr.count("\n") == 1 and "not a regular file" in result.stderr


def _damage_the_tasks_table(cli, store_path) -> None:
    """Tasks enough for an interior page, then garbage over the table's root page."""
    for n in range(40):
        assert cli("task", "add", f"Pratica {n} " + "x" * 400).exit_code == 0
    conn = sqlite3.connect(store_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tasks'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(store_path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xde\xad\xbe\xef" * 64)


def test_a_damaged_store_is_exit_10_and_db_check_reports_it(cli, store_path):
    """'database disk image is malformed' was an internal error (exit 1) in a listing
    and a crash of db check; the contract is exit 10, and db check says what it found."""
    _damage_the_tasks_table(cli, store_path)
    listing = cli("task", "list", "--all")
    line = assert_one_line_error(listing, 10, "damaged", "sempi db check")
    assert "internal error" not in line
    check = cli("db", "check", "--json")
    assert check.exit_code == 10, check.stderr
    assert json.loads(check.stdout) and "problem" in check.stderr
    assert "Traceback" not in check.stderr and "internal error" not in check.stderr
