"""Deployment posture: private session files, refused open stores, `sempi doctor`.

The session file is a bearer token and the store file is the whole firm:
sempi refuses either when the file system no longer keeps them private.
The foreign-owner cases use ``os.chown`` and need root (as in CI).
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from sempi_cli import sessionfile
from sempi_cli.errors import NotAuthenticated, StoreUnusable
from sempi_cli.paths import session_file
from sempi_cli.services.ops.posture import BYPASS, PostureService
from sempi_cli.store import open_store
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Cli, actor
from tests.helpers import assert_one_line_error

TOKEN = "tok-" + "x" * 40
OTHER_UID = 54321  # no account needs to exist: chown takes any number
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="os.chown to another uid needs root")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def umask():
    """Set a umask for one test, restoring the previous one after."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


@pytest.fixture
def token_path(tmp_path: Path) -> Path:
    path = tmp_path / "home" / "sessions" / "abc.session"
    sessionfile.write_token(path, TOKEN)
    return path


def login(cli: Cli):
    return cli(
        "login",
        "--email",
        ADMIN_EMAIL,
        "--password-stdin",
        as_user=None,
        input=ADMIN_PASSWORD + "\n",
    )


# Session files: written private whatever the umask ------------------------------


@pytest.mark.parametrize("mask", [0, 0o022, 0o077])
def test_write_token_is_private_whatever_the_umask(tmp_path, umask, mask):
    umask(mask)
    path = tmp_path / "home" / "sessions" / "abc.session"
    sessionfile.write_token(path, TOKEN)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700  # the home it had to create, too
    assert sessionfile.read_token(path) == TOKEN
    assert [p.name for p in path.parent.iterdir()] == ["abc.session"]  # no temp file left


def test_write_token_tightens_an_existing_open_folder(tmp_path, umask):
    umask(0)
    folder = tmp_path / "sessions"
    folder.mkdir(mode=0o777)
    sessionfile.write_token(folder / "abc.session", TOKEN)
    assert mode(folder) == 0o700
    assert mode(folder / "abc.session") == 0o600


def test_write_token_replaces_a_planted_symlink_without_following_it(tmp_path, token_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    token_path.unlink()
    token_path.symlink_to(victim)
    sessionfile.write_token(token_path, TOKEN)
    assert victim.read_text() == "precious\n"
    assert not token_path.is_symlink()
    assert mode(token_path) == 0o600
    assert sessionfile.read_token(token_path) == TOKEN


def test_login_writes_a_private_session_under_umask_zero(cli, store_path, umask):
    umask(0)
    assert login(cli).exit_code == 0
    path = session_file(store_path)
    assert (mode(path), mode(path.parent)) == (0o600, 0o700)


# Session files: refused when not private -----------------------------------------


def refused(path: Path, *fragments: str) -> str:
    with pytest.raises(NotAuthenticated) as caught:
        sessionfile.read_token(path)
    text = str(caught.value)
    assert TOKEN not in text
    for fragment in fragments:
        assert fragment in text, text
    return text


@pytest.mark.parametrize("bits", [0o640, 0o604, 0o620, 0o602, 0o660])
def test_a_session_file_open_to_others_is_refused(token_path, bits):
    os.chmod(token_path, bits)
    refused(token_path, f"permissions {bits:04o} for '{token_path}' are too open", "log in again")


@pytest.mark.parametrize("bits", [0o702, 0o750, 0o705, 0o777])
def test_a_session_folder_open_to_others_is_refused(token_path, bits):
    os.chmod(token_path.parent, bits)
    refused(token_path, f"permissions {bits:04o} for '{token_path.parent}'", "chmod 700")


def test_a_symlinked_session_file_is_refused(tmp_path, token_path):
    # Even a link to a perfectly private token elsewhere: someone chose where it points.
    elsewhere = tmp_path / "elsewhere" / "real.session"
    sessionfile.write_token(elsewhere, TOKEN)
    token_path.unlink()
    token_path.symlink_to(elsewhere)
    refused(token_path, "symbolic link")


def test_a_fifo_is_refused_without_hanging(token_path):
    token_path.unlink()
    os.mkfifo(token_path, 0o600)
    refused(token_path, "not a regular file")


def test_no_session_file_or_folder_is_simply_not_logged_in(tmp_path):
    assert sessionfile.read_token(tmp_path / "none" / "x.session") is None
    (tmp_path / "sessions").mkdir(mode=0o700)
    assert sessionfile.read_token(tmp_path / "sessions" / "x.session") is None


@needs_root
def test_a_foreign_owned_session_file_is_refused(token_path):
    os.chown(token_path, OTHER_UID, -1)
    refused(token_path, f"owned by uid {OTHER_UID}, not by you")


@needs_root
def test_a_foreign_owned_session_folder_is_refused_for_reading_and_writing(token_path):
    os.chown(token_path.parent, OTHER_UID, -1)
    refused(token_path, f"'{token_path.parent}' is owned by uid {OTHER_UID}")
    with pytest.raises(NotAuthenticated, match="is not saved"):
        sessionfile.write_token(token_path, "another-token")
    assert token_path.read_text().strip() == TOKEN


def test_the_cli_refuses_an_open_session_in_one_line_without_the_token(cli, store_path):
    assert login(cli).exit_code == 0
    path = session_file(store_path)
    token = path.read_text().strip()
    os.chmod(path, 0o644)
    result = cli("whoami", as_user=None)
    line = assert_one_line_error(result, 7)
    assert f"Error: permissions 0644 for '{path}' are too open: the session is ignored." in line
    assert "Remove the file and log in again" in line
    assert token not in result.stdout + result.stderr


def test_sessions_are_kept_per_person_under_sudo(tmp_path, monkeypatch):
    """Several people reaching one service account through sudo do not share a session."""
    path = tmp_path / "sessions" / "abc.session"
    monkeypatch.setenv("SUDO_UID", "1000")
    with monkeypatch.context() as m:
        m.setattr(os, "getuid", lambda: 999)
        m.setattr(os, "geteuid", lambda: 999)
        assert sessionfile.for_invoker(path) == path.with_name("abc.sudo-1000.session")
        m.setenv("SUDO_UID", "999")  # sudo to oneself: nothing to tell apart
        assert sessionfile.for_invoker(path) == path
        m.setenv("SUDO_UID", "1000")
        m.setattr(os, "getuid", lambda: 0)
        m.setattr(os, "geteuid", lambda: 0)  # sudo to root: one root, one session
        assert sessionfile.for_invoker(path) == path
    monkeypatch.delenv("SUDO_UID")
    assert sessionfile.for_invoker(path) == path


# The store: refused when others may read or write it ------------------------------


@pytest.mark.parametrize("bits", [0o604, 0o602, 0o606, 0o644, 0o666])
def test_a_world_open_store_is_refused(store_path, bits):
    os.chmod(store_path, bits)
    with pytest.raises(StoreUnusable) as caught:
        open_store(store_path)
    assert f"permissions {bits:04o} for '{store_path}' are too open" in str(caught.value)
    assert f"chmod 600 {store_path}" in str(caught.value)


@pytest.mark.parametrize("bits", [0o640, 0o660])
def test_group_access_is_a_deployment_choice(store_path, bits):
    os.chmod(store_path, bits)
    open_store(store_path).close()


def test_the_cli_refuses_a_world_readable_store_in_one_line(cli, store_path):
    os.chmod(store_path, 0o644)
    line = assert_one_line_error(cli("db", "info"), 10)
    assert f"'{store_path}'" in line and f"Run 'chmod 600 {store_path}'" in line


def test_a_world_readable_wal_is_refused(cli, store_path):
    holder = open_store(store_path)  # keeps the -wal and -shm in place
    try:
        wal = Path(f"{store_path}-wal")
        assert mode(wal) == 0o600  # SQLite copies the store's mode
        # SQLite itself resets the mode of an *empty* -wal when it opens it: write a frame.
        version = holder.execute("PRAGMA user_version").fetchone()[0]
        holder.execute(f"PRAGMA user_version = {version}")
        assert wal.stat().st_size > 0
        os.chmod(wal, 0o644)
        line = assert_one_line_error(cli("db", "info"), 10)
        assert f"permissions 0644 for '{wal}'" in line
    finally:
        holder.close()


def test_a_foreign_world_readable_database_is_still_not_a_sempi_store(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    os.chmod(path, 0o644)
    with pytest.raises(StoreUnusable, match="is not a sempi store"):
        open_store(path)


@pytest.mark.parametrize("mask", [0, 0o022])
def test_init_makes_a_private_folder_and_files_whatever_the_umask(tmp_path, clock, umask, mask):
    umask(mask)
    path = tmp_path / "srv" / "sempi" / "sempi.db"
    result = Cli(path, clock)(
        "init",
        "--firm",
        "Studio",
        "--admin-email",
        "boss@firm.it",
        "--admin-name",
        "Il Capo",
        "--password-stdin",
        as_user=None,
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.stderr
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)
    assert mode(path.parent.parent) == 0o700  # every folder made for it, not only the last
    conn = open_store(path)
    try:
        assert mode(Path(f"{path}-wal")) == 0o600
        assert mode(Path(f"{path}-shm")) == 0o600
    finally:
        conn.close()


# sempi doctor ----------------------------------------------------------------------


def doctor(cli, *args: str, code: int = 0, as_user: str = ADMIN_EMAIL) -> dict[str, dict]:
    result = cli("doctor", "--json", *args, as_user=as_user)
    assert result.exit_code == code, result.stderr
    rows = json.loads(result.stdout)
    assert all(set(row) == {"check", "status", "detail"} for row in rows)
    assert all(row["status"] in ("ok", "warn", "fail") for row in rows)
    return {row["check"]: row for row in rows}


def test_doctor_on_a_fresh_personal_store(cli, store_path):
    checks = doctor(cli)
    assert list(checks) == [
        "store",
        "store_mode",
        "wal_mode",
        "shm_mode",
        "store_directory",
        "store_path",
        "deployment",
        "session_directory",
        "outbox_spool",
        "require_otp",
        "admins_without_otp",
        "journal_mode",
        "integrity",
        "practice_boundary",
        "hooks",
        "bypass",
    ]
    status = {name: row["status"] for name, row in checks.items()}
    assert status == {
        "store": "ok",
        "store_mode": "ok",
        "wal_mode": "ok",
        "shm_mode": "ok",
        "store_directory": "ok",
        "store_path": "ok",
        "deployment": "ok",
        "session_directory": "ok",
        "outbox_spool": "ok",
        "require_otp": "warn",
        "admins_without_otp": "warn",
        "journal_mode": "ok",
        "integrity": "ok",
        "practice_boundary": "ok",
        "hooks": "ok",
        "bypass": "warn",
    }
    assert str(store_path) in checks["store"]["detail"]
    assert checks["store_mode"]["detail"].endswith("mode 0600")
    assert checks["deployment"]["detail"].startswith("personal:")
    assert ADMIN_EMAIL in checks["admins_without_otp"]["detail"]
    assert checks["bypass"]["detail"] == BYPASS
    assert "anyone who can write the store file bypasses every check" in BYPASS


def test_doctor_table_and_summary(cli):
    result = cli("doctor")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["check", "status", "detail"]
    assert "No check failed (3 warning(s))." in result.stderr


def test_doctor_is_content_when_admins_use_two_step_login(cli, store_path):
    conn = sqlite3.connect(store_path)
    with conn:  # as 'sempi auth otp enable' would leave it
        conn.execute("UPDATE users SET otp_enabled_at = '2026-11-16T09:00:00Z'")
    conn.close()
    assert cli("config", "set", "auth.require_otp", "firm-admin").exit_code == 0
    checks = doctor(cli)
    assert checks["require_otp"]["status"] == "ok"
    assert checks["admins_without_otp"]["status"] == "ok"
    assert [name for name, row in checks.items() if row["status"] != "ok"] == ["bypass"]


def test_doctor_warns_about_group_access(cli, store_path):
    os.chmod(store_path, 0o640)
    row = doctor(cli)["store_mode"]
    assert row["status"] == "warn" and "0640" in row["detail"]


def test_doctor_fails_on_a_folder_others_can_write(cli, store_path):
    os.chmod(store_path.parent, 0o777)
    result = cli("doctor", "--json")
    rows = {row["check"]: row for row in json.loads(result.stdout)}
    assert rows["store_directory"]["status"] == "fail"
    assert f"chmod 700 {store_path.parent}" in rows["store_directory"]["detail"]
    line = assert_one_line_error(result, 10)
    assert "1 check(s) failed: store_directory" in line


def test_doctor_fails_on_a_folder_above_the_store_others_can_write(cli, store_path):
    """Whoever may write the folder above the store's own can rename that folder
    and put a store of their own in its place; a sticky folder (/tmp) stops that."""
    above = store_path.parent.parent
    before = mode(above)
    try:
        os.chmod(above, 0o777)
        row = doctor(cli, code=10)["store_path"]
        assert row["status"] == "fail" and f"{above} (mode 0777)" in row["detail"]
        os.chmod(above, 0o1777)
        assert doctor(cli)["store_path"]["status"] == "ok"
    finally:
        os.chmod(above, before)


def test_doctor_fails_on_an_open_session_folder(cli, store_path):
    assert login(cli).exit_code == 0
    os.chmod(session_file(store_path).parent, 0o755)
    checks = doctor(cli, code=10)
    assert checks["session_directory"]["status"] == "fail"
    assert checks["store_directory"]["status"] == "ok"


@pytest.mark.sqlite_only  # the store file's owner; a PostgreSQL store has its role (pg_role)
def test_doctor_reports_a_store_reached_through_a_service_account(cli, monkeypatch):
    monkeypatch.setenv("SUDO_UID", str(os.geteuid() + 1000))
    row = doctor(cli)["deployment"]
    assert row["status"] == "ok" and row["detail"].startswith("service account:")


@needs_root
def test_doctor_warns_when_the_store_belongs_to_someone_else(cli, store_path):
    os.chown(store_path, OTHER_UID, -1)
    checks = doctor(cli)
    assert f"uid {OTHER_UID}" in checks["store"]["detail"]
    assert checks["deployment"]["status"] == "warn"


def test_posture_fails_when_the_store_is_not_in_wal_mode(store_path, clock):
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        service = PostureService(conn, clock, actor(conn, ADMIN_EMAIL))
        rows = service.report(store_path, store_path.parent / "sessions")
    finally:
        conn.close()
    journal = next(row for row in rows if row["check"] == "journal_mode")
    assert journal["status"] == "fail"


def test_doctor_is_for_firm_administrators(cli):
    added = cli("user", "add", "--email", "luca@sempi.test", "--name", "Luca", "--role", "staff")
    assert added.exit_code == 0, added.stderr
    line = assert_one_line_error(cli("doctor", as_user="luca@sempi.test"), 8)
    assert "firm administrator" in line
