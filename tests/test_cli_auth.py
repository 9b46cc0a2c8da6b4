"""`sempi init`, `login`, `logout`, `whoami`, `passwd`: sessions kept in the store."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta

import pytest

from sempi_cli.paths import session_file
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, store_digest
from tests.helpers import assert_one_line_error


def login(cli, email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
    return cli("login", "--email", email, "--password-stdin", as_user=None, input=password + "\n")


def test_init_creates_store_firm_and_admin(tmp_path, clock):
    from tests.conftest import Cli

    path = tmp_path / "new" / "sempi.db"
    cli = Cli(path, clock)
    result = cli(
        "init",
        "--firm",
        "Studio Associato",
        "--admin-email",
        "Boss@Firm.IT",
        "--admin-name",
        "Il Capo",
        "--password-stdin",
        "--json",
        as_user=None,
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["admin_email"] == "boss@firm.it"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "a-long-enough-password" not in result.stdout + result.stderr
    again = cli(
        "init",
        "--firm",
        "X",
        "--admin-email",
        "x@firm.it",
        "--admin-name",
        "X",
        "--password-stdin",
        as_user=None,
        input="a-long-enough-password\n",
    )
    assert_one_line_error(again, 4)


def test_init_where_the_file_system_refuses_the_name(tmp_path, clock):
    from tests.conftest import Cli

    args = ("--firm", "X", "--admin-email", "x@firm.it", "--admin-name", "X", "--password-stdin")
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    for path, problem in (("a" * 300, "cannot open"), ("notes.txt/sempi.db", "cannot create")):
        result = Cli(tmp_path / path, clock)("init", *args, as_user=None, input="a-long-password\n")
        assert_one_line_error(result, 10, problem)  # not an internal OSError
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("args", "password", "field"),
    [
        (["--admin-email", "not-an-email"], "a-long-enough-password", "--admin-email"),
        (["--admin-email", "ok@firm.it"], "short", "password"),
        (["--admin-email", "ok@firm.it", "--firm", " "], "a-long-enough-password", "--firm"),
    ],
)
def test_failed_init_leaves_no_store(tmp_path, clock, args, password, field):
    from tests.conftest import Cli

    path = tmp_path / "sempi.db"
    cli = Cli(path, clock)
    base = {"--firm": "Firm", "--admin-name": "Name"}
    for key, value in zip(args[::2], args[1::2], strict=True):
        base[key] = value
    flat = [x for kv in base.items() for x in kv]
    line = assert_one_line_error(
        cli("init", *flat, "--password-stdin", as_user=None, input=password + "\n"), 6
    )
    assert field in line
    assert not path.exists()


def test_login_whoami_logout(cli, store_path):
    result = login(cli)
    assert result.exit_code == 0, result.stderr
    assert ADMIN_PASSWORD not in result.stdout + result.stderr
    token_path = session_file(store_path)
    assert stat.S_IMODE(os.stat(token_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(token_path.parent).st_mode) == 0o700
    token = token_path.read_text().strip()
    assert token not in store_digest(store_path)  # only the hash is stored
    me = cli("whoami", "--json", as_user=None)
    assert me.exit_code == 0, me.stderr
    assert json.loads(me.stdout)["email"] == ADMIN_EMAIL
    assert cli("logout", as_user=None).exit_code == 0
    assert not token_path.exists()
    # The token is dead in the store, not only deleted from disk.
    token_path.parent.mkdir(exist_ok=True)
    token_path.write_text(token)
    token_path.chmod(0o600)
    assert_one_line_error(cli("whoami", as_user=None), 7)


def test_wrong_password_and_unknown_user_look_the_same(cli):
    wrong = assert_one_line_error(login(cli, password="not-the-password"), 7)
    unknown = assert_one_line_error(login(cli, email="ghost@sempi.test"), 7)
    assert wrong == unknown
    log = json.loads(cli("audit", "list", "--action", "auth_failed", "--json").stdout)
    assert len(log) == 1  # the unknown e-mail has no account to count against


def test_password_needs_a_terminal_or_stdin(cli):
    line = assert_one_line_error(cli("login", "--email", ADMIN_EMAIL, as_user=None), 2)
    assert "--password-stdin" in line


def test_session_idle_expiry(cli):
    assert login(cli).exit_code == 0
    cli.clock.advance(timedelta(hours=7, minutes=59))
    assert cli("whoami", as_user=None).exit_code == 0  # refreshes the idle timer
    cli.clock.advance(timedelta(hours=7, minutes=59))
    assert cli("whoami", as_user=None).exit_code == 0
    cli.clock.advance(timedelta(hours=8))
    assert_one_line_error(cli("whoami", as_user=None), 7, "expired")


def test_session_absolute_expiry_even_when_active(cli):
    assert login(cli).exit_code == 0
    for _ in range(7 * 24 // 6):
        cli.clock.advance(timedelta(hours=6))
        if cli("whoami", as_user=None).exit_code != 0:
            break
    assert_one_line_error(cli("whoami", as_user=None), 7, "expired")


def test_disabling_a_user_ends_their_sessions(cli):
    cli(
        "user",
        "add",
        "--email",
        "luca@sempi.test",
        "--name",
        "Luca",
        "--role",
        "staff",
        "--password-stdin",
        input="luca-password-long\n",
    )
    assert login(cli, "luca@sempi.test", "luca-password-long").exit_code == 0
    assert cli("whoami", as_user=None).exit_code == 0
    assert cli("user", "disable", "luca@sempi.test").exit_code == 0
    assert_one_line_error(cli("whoami", as_user=None), 7)
    assert_one_line_error(login(cli, "luca@sempi.test", "luca-password-long"), 7)
    assert_one_line_error(cli("user", "disable", ADMIN_EMAIL), 5)  # not yourself


def test_passwd_changes_password_and_ends_sessions(cli):
    assert login(cli).exit_code == 0
    result = cli(
        "passwd",
        "--password-stdin",
        as_user=None,
        input=f"{ADMIN_PASSWORD}\nthe-new-long-password\n",
    )
    assert result.exit_code == 0, result.stderr
    assert_one_line_error(cli("whoami", as_user=None), 7)
    assert_one_line_error(login(cli), 7)
    assert login(cli, password="the-new-long-password").exit_code == 0


def test_passwd_with_wrong_current_password(cli):
    assert login(cli).exit_code == 0
    result = cli(
        "passwd",
        "--password-stdin",
        as_user=None,
        input="wrong-current-pass\nthe-new-long-password\n",
    )
    assert_one_line_error(result, 7)


def test_a_wrong_app_password_is_refused(cli, monkeypatch):
    monkeypatch.setenv("SEMPI_USER", ADMIN_EMAIL)
    monkeypatch.setenv("SEMPI_APP_PASSWORD", "whatever-secret")
    line = assert_one_line_error(cli("whoami", as_user=None), 7)
    assert "login failed" in line
    assert "whatever-secret" not in line


def test_dummy_hash_costs_what_a_real_check_costs():
    from sempi_cli.services.identity.passwords import DUMMY_HASH, _hasher

    assert not _hasher().check_needs_rehash(DUMMY_HASH)
