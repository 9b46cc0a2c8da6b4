"""No password, TOTP secret, code, recovery code, application password or session
token ever appears in what sempi prints, in its audit log, or in file names.

One test plays a whole working session end to end and greps everything it
produced; the conftest also greps everything the whole suite printed when each
test process ends (see SecretRegistry there). Values shown once on purpose (the
enrolment key, recovery codes, a new application password) may appear in the
output that showed them and never again. The first tests prove that the grep
can fail.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
from datetime import timedelta

import pyotp
import pytest

from sempi_cli.services.identity import totp
from tests.conftest import (
    ADMIN_EMAIL,
    SecretRegistry,
    register_secret,
    run_logged,
)
from tests.helpers import SEMPI

STAFF, STAFF_PASSWORD = "leak.check@sempi.test", "leak-check-long-password-1"
RECOVERY_PREFIX = "These recovery codes are shown only now"
RECOVERY = re.compile(r"^[a-z2-9]{5}-[a-z2-9]{5}$")


# --- the grep itself can fail --------------------------------------------------


def test_the_grep_finds_a_secret_and_names_it_without_showing_it():
    registry = SecretRegistry()
    value = "sempi-" + secrets.token_urlsafe(24)
    registry.register(value, "an application password")
    registry.log_output("harmless", "nothing to see")
    assert registry.leaks() == []
    registry.log_output("sempi oops", f"Error: bad password {value}.")
    leaks = registry.leaks()
    assert len(leaks) == 1 and "an application password" in leaks[0] and "sempi oops" in leaks[0]
    assert value not in leaks[0]  # the report is output too


def test_a_value_shown_once_may_not_come_back():
    registry = SecretRegistry()
    key = pyotp.random_base32(32)
    registry.log_output("sempi auth otp enable", f"Key (if you cannot scan): {key}")
    registry.register(key, "a TOTP secret", shown_once=True)
    assert registry.leaks() == []  # where it was shown: allowed
    registry.log_output("sempi auth otp status", f"secret: {key}")
    assert [leak.split(" in: ")[1] for leak in registry.leaks()] == ["sempi auth otp status"]
    # Extra texts (a table dump, a directory listing) count as after everything.
    fresh = SecretRegistry()
    fresh.log_output("sempi auth otp enable", key)
    fresh.register(key, "a TOTP secret", shown_once=True)
    assert len(fresh.leaks(extra=[("audit_log table", f'{{"key": "{key}"}}')])) == 1
    # Shown again by the command that shows it (a test enrolling twice with one key).
    fresh.log_output("sempi auth otp enable (again)", key)
    fresh.register(key, "a TOTP secret", shown_once=True)
    assert fresh.leaks() == []


def test_a_code_is_found_as_a_word_not_inside_a_number():
    registry = SecretRegistry()
    registry.register("123456", "a TOTP code")
    registry.log_output("ids", "partita IVA 01234567890, hash ab123456cd, step 591234567")
    assert registry.leaks() == []
    registry.log_output("echo", "Code: 123456\n")
    assert len(registry.leaks()) == 1


# --- a whole working session --------------------------------------------------------


class Session:
    """Runs the scenario's commands; logs each output to a registry of its own
    (and, through Cli, to the suite-wide one)."""

    def __init__(self, cli) -> None:
        self.cli = cli
        self.registry = SecretRegistry()

    def secret(self, value: str, label: str, *, shown_once: bool = False) -> str:
        self.registry.register(value, label, shown_once=shown_once)
        register_secret(value, label, shown_once=shown_once)
        return value

    def run(self, *args: str, as_user: str | None = None, input: str | None = None, code=0):
        result = self.cli(*args, as_user=as_user, input=input)
        self.registry.log_output(f"sempi {' '.join(args)}", result.stdout, result.stderr)
        assert result.exit_code == code, (args, result.exit_code, result.stderr)
        return result

    def log(self, source: str, *texts: str) -> None:
        self.registry.log_output(source, *texts)


@pytest.mark.slow
def test_a_whole_session_leaks_no_secret(cli, clock, monkeypatch, store_path):
    from sempi_cli.paths import session_file

    s = Session(cli)
    key = pyotp.random_base32(32)
    monkeypatch.setattr(totp, "new_secret", lambda: key)
    login_args = ("login", "--email", STAFF, "--password-stdin")

    def totp_now() -> str:
        return s.secret(pyotp.TOTP(key).at(clock.now()), "a TOTP code")

    # An administrator creates the user; the user enrols in two-step login.
    s.secret(STAFF_PASSWORD, "the user's password")
    s.run(
        *("user", "add", "--email", STAFF, "--name", "Lea Check", "--role", "staff"),
        "--password-stdin",
        as_user=ADMIN_EMAIL,
        input=STAFF_PASSWORD + "\n",
    )
    enrolment = s.run(
        "auth", "otp", "enable", "--code-stdin", as_user=STAFF, input=totp_now() + "\n"
    )
    s.secret(key, "the TOTP secret (enrolment key)", shown_once=True)
    recovery = [line for line in enrolment.stdout.splitlines() if RECOVERY.match(line)]
    assert len(recovery) == 10 and RECOVERY_PREFIX in enrolment.stderr
    for code in recovery:
        s.secret(code, "a recovery code", shown_once=True)
    s.run("auth", "otp", "status", as_user=STAFF)

    # Log in with password and code; a wrong code; a wrong password.
    clock.advance(timedelta(seconds=30))
    s.run(*login_args, input=f"{STAFF_PASSWORD}\n{totp_now()}\n")
    token_file = session_file(store_path)
    s.secret(token_file.read_text().strip(), "a session token")
    s.run("whoami")
    wrong = s.secret(
        next(c for c in ("000000", "111111", "222222") if c != pyotp.TOTP(key).at(clock.now())),
        "a wrong TOTP code",
    )
    s.run(*login_args, input=f"{STAFF_PASSWORD}\n{wrong}\n", code=7)
    s.secret("not-the-right-password-9", "a wrong password")
    s.run(*login_args, input="not-the-right-password-9\n", code=7)

    # An application password: made (shown once), listed, used, and a wrong one.
    clock.advance(timedelta(seconds=30))
    added = s.run(
        *("auth", "app-password", "add", "nightly export", "--password-stdin"),
        input=f"{STAFF_PASSWORD}\n{totp_now()}\n",
    )
    app_password = s.secret(added.stdout.strip(), "an application password", shown_once=True)
    assert app_password.startswith("sempi-")
    s.run("auth", "app-password", "list")
    s.run("auth", "sessions", "list")
    monkeypatch.setenv("SEMPI_USER", STAFF)
    monkeypatch.setenv("SEMPI_APP_PASSWORD", app_password)
    s.run("whoami", "--json")
    env = {**os.environ, "SEMPI_DB": str(store_path)}
    real = run_logged([SEMPI, "whoami"], env=env, timeout=60, label="sempi whoami (app password)")
    assert real.returncode == 0, real.stderr
    s.log("sempi whoami (a real process, app password)", real.stdout, real.stderr)
    bad = s.secret("sempi-" + secrets.token_urlsafe(24), "a wrong application password")
    monkeypatch.setenv("SEMPI_APP_PASSWORD", bad)
    s.run("whoami", code=7)
    monkeypatch.delenv("SEMPI_USER")
    monkeypatch.delenv("SEMPI_APP_PASSWORD")

    # A lost phone: a recovery code; then log out. The administrator reads the log.
    s.run(*login_args, input=f"{STAFF_PASSWORD}\n{recovery[0]}\n")
    s.secret(token_file.read_text().strip(), "a session token")
    s.run("auth", "otp", "status")
    listing_logged_in = sorted(p.name for p in token_file.parent.iterdir())
    s.run("logout")
    assert not token_file.exists()
    s.run("audit", "list", "--limit", "1000", "--json", as_user=ADMIN_EMAIL)
    s.run("audit", "list", "--limit", "1000", as_user=ADMIN_EMAIL)  # the table too
    s.run("db", "info", as_user=ADMIN_EMAIL)
    s.run("user", "show", STAFF, "--json", as_user=ADMIN_EMAIL)

    # Every output, the audit log table and the session files' names: no secret.
    conn = sqlite3.connect(store_path)
    try:
        audit = json.dumps([list(row) for row in conn.execute("SELECT * FROM audit_log")])
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert "login" in audit and "app_password_used" in audit  # the log is really there
    listing = "\n".join(listing_logged_in + sorted(p.name for p in token_file.parent.iterdir()))
    extra = [("the audit_log table", audit), ("the session directory listing", listing)]
    outputs, known = len(s.registry.log), len(s.registry.secrets)
    assert outputs >= 18 and known >= 20  # there was material to grep
    assert s.registry.leaks(extra=extra) == []

    # The store keeps hashes only, except the TOTP secret it needs to check codes
    # (the threat model: whoever can read the file can read that). Codes are left
    # out here: six digits could turn up inside a stored hash.
    stored = SecretRegistry()
    for value, entry in s.registry.secrets.items():
        if entry.label != "the TOTP secret (enrolment key)" and not value.isdigit():
            stored.register(value, entry.label)
    assert stored.leaks(extra=[("the store's content", dump)]) == []

    # The same grep over the same material does find a value planted in it.
    planted = s.registry.leaks(extra=[*extra, ("planted", f"{audit} {app_password}")])
    assert len(planted) == 1 and "planted" in planted[0]
