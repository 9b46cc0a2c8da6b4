"""Application passwords, throttling, step-up, required two-step login, revocations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, actor, store_digest
from tests.helpers import assert_one_line_error

STAFF, STAFF_PASSWORD = "luca@sempi.test", "luca-has-a-long-password"


def login(cli, email=STAFF, password=STAFF_PASSWORD, code=None):
    lines = password + "\n" + (code + "\n" if code else "")
    return cli("login", "--email", email, "--password-stdin", as_user=None, input=lines)


@pytest.fixture
def staff(cli):
    result = cli(
        "user",
        "add",
        "--email",
        STAFF,
        "--name",
        "Luca Staff",
        "--role",
        "staff",
        "--password-stdin",
        input=STAFF_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.stderr
    return STAFF


def add_app_password(cli, name="cron", as_user=STAFF, password=STAFF_PASSWORD):
    result = cli(
        "auth",
        "app-password",
        "add",
        name,
        "--password-stdin",
        as_user=as_user,
        input=password + "\n",
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def as_app(cli, monkeypatch, secret, *args, email=STAFF):
    monkeypatch.setenv("SEMPI_USER", email)
    monkeypatch.setenv("SEMPI_APP_PASSWORD", secret)
    try:
        return cli(*args, as_user=None)
    finally:
        monkeypatch.delenv("SEMPI_USER")
        monkeypatch.delenv("SEMPI_APP_PASSWORD")


def enrol(db, clock, email, secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"):
    from sempi_cli.services.identity.two_step import TwoStepService

    codes = TwoStepService(db, clock, actor(db, email)).confirm(
        secret, pyotp.TOTP(secret).at(clock.now())
    )
    return secret, codes


# --- application passwords -------------------------------------------------


def test_app_password_is_shown_once_and_works_for_scripts(cli, staff, monkeypatch):
    secret = add_app_password(cli)
    assert secret.startswith("sempi-")
    listed = json.loads(cli("auth", "app-password", "list", "--json", as_user=STAFF).stdout)
    assert [a["name"] for a in listed] == ["cron"] and listed[0]["last_used_at"] is None
    assert secret not in json.dumps(listed)
    me = as_app(cli, monkeypatch, secret, "whoami", "--json")
    assert me.exit_code == 0, me.stderr
    assert json.loads(me.stdout)["email"] == STAFF
    listed = json.loads(cli("auth", "app-password", "list", "--json", as_user=STAFF).stdout)
    assert listed[0]["last_used_at"] is not None
    used = json.loads(cli("audit", "list", "--action", "app_password_used", "--json").stdout)
    assert used and used[0]["details"] == {"app_password": "cron"}


@pytest.mark.parametrize(
    "command",
    [
        ["passwd", "--password-stdin"],
        ["auth", "app-password", "add", "another", "--password-stdin"],
        ["auth", "app-password", "revoke", "1"],
        ["auth", "otp", "enable", "--code-stdin"],
        ["auth", "otp", "disable", "--password-stdin"],
    ],
)
def test_an_app_password_cannot_touch_credentials(cli, staff, monkeypatch, store_path, command):
    secret = add_app_password(cli)
    before = store_digest(store_path)
    result = as_app(cli, monkeypatch, secret, *command)
    assert result.exit_code == 8, (command, result.stderr)
    assert "application password" in result.stderr
    denied = json.loads(cli("audit", "list", "--action", "denied", "--json").stdout)
    assert denied and denied[0]["details"]["command"].startswith(command[0])
    assert secret not in result.stdout + result.stderr
    assert before != store_digest(store_path)  # the denial itself is audited...
    assert (
        cli("auth", "app-password", "list", "--json", as_user=STAFF).stdout.count('"name"') == 1
    )  # ...nothing else


def test_an_app_password_cannot_change_roles(cli, staff, monkeypatch):
    secret = add_app_password(cli, as_user=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    result = as_app(
        cli, monkeypatch, secret, "user", "edit", STAFF, "--role", "firm-admin", email=ADMIN_EMAIL
    )
    assert result.exit_code == 8


def test_revoked_and_wrong_app_passwords_fail_alike(cli, staff, monkeypatch):
    secret = add_app_password(cli)
    assert cli("auth", "app-password", "revoke", "1", as_user=STAFF).exit_code == 0
    revoked = assert_one_line_error(as_app(cli, monkeypatch, secret, "whoami"), 7)
    wrong = assert_one_line_error(as_app(cli, monkeypatch, "sempi-not-it", "whoami"), 7)
    unknown = assert_one_line_error(
        as_app(cli, monkeypatch, secret, "whoami", email="ghost@sempi.test"), 7
    )
    assert revoked == wrong == unknown


def test_app_password_names_are_unique_per_user(cli, staff):
    add_app_password(cli)
    again = cli(
        "auth",
        "app-password",
        "add",
        "cron",
        "--password-stdin",
        as_user=STAFF,
        input=STAFF_PASSWORD + "\n",
    )
    assert_one_line_error(again, 4)


def test_others_app_passwords_are_hidden(cli, staff):
    add_app_password(cli)
    cli("user", "add", "--email", "other@sempi.test", "--name", "Other", "--role", "staff")
    assert assert_one_line_error(
        cli("auth", "app-password", "revoke", "1", as_user="other@sempi.test"), 3
    )
    assert (
        cli("auth", "app-password", "list", "--user", STAFF, as_user="other@sempi.test").exit_code
        == 8
    )
    assert cli("auth", "app-password", "revoke", "1").exit_code == 0  # a firm administrator may


# --- step-up ----------------------------------------------------------------


def test_step_up_needs_the_password_again(cli, staff, store_path):
    before = store_digest(store_path)
    no_terminal = cli("auth", "app-password", "add", "cron", as_user=STAFF)
    assert no_terminal.exit_code == 2 and "--password-stdin" in no_terminal.stderr
    wrong = cli(
        "auth",
        "app-password",
        "add",
        "cron",
        "--password-stdin",
        as_user=STAFF,
        input="wrong-password-here\n",
    )
    assert_one_line_error(wrong, 7)
    assert json.loads(cli("auth", "app-password", "list", "--json", as_user=STAFF).stdout) == []
    failures = json.loads(cli("audit", "list", "--action", "auth_failed", "--json").stdout)
    assert len(failures) == 1  # a wrong step-up password counts towards the lock
    assert store_digest(store_path) != before


def test_refused_before_being_asked(cli, staff):
    """A staff member changing a role is refused (8) without being asked for a password:
    had the password been asked first, there being no terminal would give exit 2."""
    result = cli("user", "edit", ADMIN_EMAIL, "--role", "staff", as_user=STAFF)
    assert result.exit_code == 8
    assert "may not change this user" in result.stderr


# --- throttling -------------------------------------------------------------


def test_failures_slow_the_next_try_rather_than_lock(cli, staff, clock):
    """Three failures are free; then each try waits twice as long as the last (1 s,
    2 s, 4 s ... a minute at most). Too soon, even the right password is refused,
    with the same words as a wrong one, and is not counted."""
    for _ in range(3):
        assert_one_line_error(login(cli, password="not-the-right-one"), 7)
    refused = assert_one_line_error(login(cli), 7)  # within the 1 s wait
    assert refused == assert_one_line_error(login(cli, email="ghost@sempi.test"), 7)
    clock.advance(timedelta(seconds=1))
    assert login(cli).exit_code == 0


def test_the_wait_grows_to_a_minute_and_no_further(cli, staff, clock, db):
    for _ in range(12):
        clock.advance(timedelta(minutes=1))  # always past the last wait
        assert_one_line_error(login(cli, password="not-the-right-one"), 7)
    clock.advance(timedelta(seconds=59))
    assert_one_line_error(login(cli), 7)
    clock.advance(timedelta(seconds=1))
    assert login(cli).exit_code == 0
    assert (
        db.execute("SELECT locked_until FROM users WHERE email = ?", (STAFF,)).fetchone()[0] is None
    )


def test_plain_brute_force_locks_and_an_administrator_unlocks(cli, staff, clock):
    for _ in range(50):
        clock.advance(timedelta(minutes=1))
        login(cli, password="not-the-right-one")
    locks = json.loads(cli("audit", "list", "--action", "lock", "--json").stdout)
    assert len(locks) == 1 and locks[0]["details"]["failures"] == 50
    clock.advance(timedelta(minutes=2))
    assert_one_line_error(login(cli), 7)  # locked
    assert_one_line_error(cli("user", "unlock", STAFF, as_user=STAFF), 8)
    unlocked = json.loads(cli("user", "unlock", STAFF, "--json").stdout)
    assert unlocked["was_locked"] is True and unlocked["failures"] == 50
    assert login(cli).exit_code == 0


def test_a_scripts_wrong_app_password_never_slows_its_owners_login(cli, staff, clock, store_path):
    from sempi_cli.errors import NotAuthenticated
    from sempi_cli.services.identity.auth import AuthService
    from sempi_cli.store import open_store

    conn = open_store(store_path)
    try:
        for _ in range(10):
            with pytest.raises(NotAuthenticated):
                AuthService(conn, clock).actor_for_app_password(STAFF, "sempi-wrong")
    finally:
        conn.close()
    assert login(cli).exit_code == 0


def test_failures_older_than_the_window_do_not_count(cli, staff, clock):
    for _ in range(3):
        login(cli, password="not-the-right-one")
    clock.advance(timedelta(minutes=16))
    login(cli, password="not-the-right-one")
    assert login(cli).exit_code == 0


@pytest.mark.slow
def test_lockout_holds_across_processes(store_path, staff):
    """Failures from several processes add up in the store; right after them even the
    right password waits (throttled), whichever process tries.

    Eight failures five minutes ago (their wait long over) make the next one ask
    for the longest wait, a minute: the right password that follows is refused
    however slowly a busy machine starts it (a few seconds' wait was a race)."""
    import sqlite3
    from datetime import UTC, datetime, timedelta

    from sempi_cli.clock import iso_utc
    from sempi_cli.services.identity.auth import THROTTLE_MAX

    earlier = iso_utc(datetime.now(UTC) - timedelta(minutes=5))
    conn = sqlite3.connect(store_path)
    with conn:
        user_id = conn.execute("SELECT id FROM users WHERE email = ?", (STAFF,)).fetchone()[0]
        conn.executemany(
            "INSERT INTO auth_failures (user_id, at, kind) VALUES (?, ?, 'password')",
            [(user_id, earlier)] * 8,
        )
    conn.close()
    sempi = str(Path(sys.executable).parent / "sempi")
    env = {**os.environ, "SEMPI_DB": str(store_path)}
    args = [sempi, "login", "-e", STAFF, "--password-stdin"]
    procs = [
        subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(10)
    ]
    results = [p.communicate("wrong-password-123\n", timeout=60) for p in procs]
    assert all(p.returncode == 7 for p in procs), results
    conn = sqlite3.connect(store_path)
    (recorded,) = conn.execute(
        "SELECT count(*) FROM auth_failures WHERE user_id = ?", (user_id,)
    ).fetchone()
    conn.close()
    assert recorded > 8  # a process's failure joined the others in the store
    assert THROTTLE_MAX == timedelta(minutes=1)  # the margin this test relies on
    right = subprocess.run(
        args, env=env, input=STAFF_PASSWORD + "\n", capture_output=True, text=True, timeout=60
    )
    assert right.returncode == 7
    assert "login failed" in right.stderr


# --- passwords ----------------------------------------------------------------


@pytest.mark.parametrize("password", ["password1234", "Juventus1897", "  qwertyuiop12  "])
def test_common_passwords_are_refused(cli, password):
    result = cli(
        "user",
        "add",
        "--email",
        "x@sempi.test",
        "--name",
        "X",
        "--role",
        "staff",
        "--password-stdin",
        input=password + "\n",
    )
    assert_one_line_error(result, 6, "too common")


def test_long_passwords_are_not_truncated(cli):
    long_password = "correct horse battery staple " * 5
    cli(
        "user",
        "add",
        "--email",
        "long@sempi.test",
        "--name",
        "Long",
        "--role",
        "staff",
        "--password-stdin",
        input=long_password + "\n",
    )
    assert login(cli, "long@sempi.test", long_password[:-1] + "X").exit_code == 7
    assert login(cli, "long@sempi.test", long_password).exit_code == 0


def test_weak_hashes_are_upgraded_at_login(cli, staff, db):
    from argon2 import PasswordHasher

    from sempi_cli.services.identity.passwords import needs_rehash

    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(STAFF_PASSWORD)
    db.execute("UPDATE users SET password_hash = ? WHERE email = ?", (old, STAFF))
    assert login(cli).exit_code == 0
    new = db.execute("SELECT password_hash FROM users WHERE email = ?", (STAFF,)).fetchone()[0]
    assert new != old and not needs_rehash(new)


# --- revocations ------------------------------------------------------------


def test_password_change_revokes_sessions_and_app_passwords(cli, staff, monkeypatch):
    secret = add_app_password(cli)
    assert login(cli).exit_code == 0
    result = cli(
        "passwd", STAFF, "--password-stdin", input=ADMIN_PASSWORD + "\nbrand-new-long-password\n"
    )
    assert result.exit_code == 0, result.stderr
    assert_one_line_error(cli("whoami", as_user=None), 7)
    assert_one_line_error(as_app(cli, monkeypatch, secret, "whoami"), 7)


def test_disabling_revokes_app_passwords(cli, staff, monkeypatch):
    secret = add_app_password(cli)
    assert cli("user", "disable", STAFF).exit_code == 0
    assert_one_line_error(as_app(cli, monkeypatch, secret, "whoami"), 7)


def test_two_step_reset_revokes_everything(cli, staff, db, clock, monkeypatch):
    secret, _ = enrol(db, clock, STAFF)
    clock.advance(timedelta(seconds=30))
    app_secret = cli(
        "auth",
        "app-password",
        "add",
        "cron",
        "--password-stdin",
        as_user=STAFF,
        input=f"{STAFF_PASSWORD}\n{pyotp.TOTP(secret).at(clock.now())}\n",
    ).stdout.strip()
    assert as_app(cli, monkeypatch, app_secret, "whoami").exit_code == 0
    reset = cli(
        "auth", "otp", "reset", STAFF, "--password-stdin", input=ADMIN_PASSWORD + "\n", **{}
    )
    assert reset.exit_code == 0, reset.stderr
    assert_one_line_error(as_app(cli, monkeypatch, app_secret, "whoami"), 7)
    status = json.loads(cli("auth", "otp", "status", "--json", as_user=STAFF).stdout)
    assert status["two_step"] is False and status["recovery_codes_left"] == 0


def test_otp_disable_needs_a_code_and_revokes(cli, staff, db, clock):
    secret, codes = enrol(db, clock, STAFF)
    clock.advance(timedelta(seconds=30))
    wrong = cli(
        "auth",
        "otp",
        "disable",
        "--password-stdin",
        as_user=STAFF,
        input=f"{STAFF_PASSWORD}\n000000\n",
    )
    assert_one_line_error(wrong, 7)
    ok = cli(
        "auth",
        "otp",
        "disable",
        "--password-stdin",
        as_user=STAFF,
        input=f"{STAFF_PASSWORD}\n{codes[0]}\n",
    )
    assert ok.exit_code == 0, ok.stderr
    assert (
        json.loads(cli("auth", "otp", "status", "--json", as_user=STAFF).stdout)["two_step"]
        is False
    )


def test_recovery_regenerate_invalidates_old_codes(cli, staff, db, clock):
    secret, codes = enrol(db, clock, STAFF)
    result = cli(
        "auth",
        "recovery",
        "regenerate",
        "--password-stdin",
        as_user=STAFF,
        input=f"{STAFF_PASSWORD}\n{codes[0]}\n",
    )
    assert result.exit_code == 0, result.stderr
    new_codes = result.stdout.split()
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert_one_line_error(login(cli, code=codes[1]), 7)
    assert login(cli, code=new_codes[0]).exit_code == 0


# --- required two-step login ----------------------------------------------------


def test_required_two_step_login_is_enforced(cli, staff, db, clock):
    assert cli("config", "set", "auth.require_otp", "staff").exit_code == 0
    result = login(cli)
    assert result.exit_code == 0
    assert "required" in result.stderr and "sempi auth otp enable" in result.stderr
    refused = assert_one_line_error(cli("client", "list", as_user=None), 8)
    assert "two-step login is required" in refused
    assert cli("auth", "otp", "status", as_user=None).exit_code == 0  # enrolling stays possible
    enrol(db, clock, STAFF)
    assert cli("client", "list", as_user=None).exit_code == 0


def test_config_is_validated_and_for_admins(cli, staff):
    assert_one_line_error(cli("config", "set", "auth.require_otp", "interns"), 6)
    assert_one_line_error(cli("config", "set", "auth.session_idle_hours", "0"), 6)
    assert_one_line_error(cli("config", "set", "no.such.key", "1"), 3)
    assert cli("config", "set", "auth.require_otp", "all", as_user=STAFF).exit_code == 8
    assert cli("config", "set", "auth.require_otp", "studio-admin, staff").exit_code == 0
    assert cli("config", "get", "auth.require_otp").stdout.strip() == "staff,studio-admin"
    # An administrator who requires it of their own role must enrol too, like everyone.
    assert cli("config", "set", "auth.require_otp", "all").exit_code == 0
    assert_one_line_error(cli("config", "list"), 8, "two-step login is required")


def test_session_lengths_come_from_settings(cli, staff, clock):
    assert cli("config", "set", "auth.session_idle_hours", "1").exit_code == 0
    assert login(cli).exit_code == 0
    clock.advance(timedelta(minutes=61))
    assert_one_line_error(cli("whoami", as_user=None), 7)


# --- sessions ----------------------------------------------------------------------


def test_sessions_list_and_kill(cli, staff):
    assert login(cli).exit_code == 0
    mine = json.loads(cli("auth", "sessions", "list", "--json", as_user=None).stdout)
    assert [s["user"] for s in mine] == [STAFF]
    cli("user", "add", "--email", "other@sempi.test", "--name", "Other", "--role", "staff")
    assert_one_line_error(
        cli("auth", "sessions", "kill", str(mine[0]["id"]), as_user="other@sempi.test"), 3
    )
    everyone = json.loads(cli("auth", "sessions", "list", "--json").stdout)
    assert {s["user"] for s in everyone} == {STAFF}
    assert cli("auth", "sessions", "kill", str(mine[0]["id"])).exit_code == 0  # a firm admin
    assert_one_line_error(cli("whoami", as_user=None), 7)
