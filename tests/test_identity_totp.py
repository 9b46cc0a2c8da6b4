"""Two-step login with TOTP (RFC 6238): the algorithm, typed codes, the window,
replay protection, and the whole path through `sempi` (enrol, log in, replay,
recovery code, failures), ending with two real processes racing one code."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.services.identity import totp
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    NOW,
    actor,
    log_output,
    register_secret,
)
from tests.helpers import SEMPI, assert_one_line_error, enrol_in_real_time

CODE_FAILED = "wrong, expired or already used code"
RECOVERY = re.compile(r"^[a-z2-9]{5}-[a-z2-9]{5}$")

# --- the algorithm: RFC 6238 Appendix B --------------------------------------

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()  # the SHA1 seed
RFC_SHA1_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_SHA1_VECTORS)
def test_rfc6238_sha1_vectors(unix_time, expected):
    step = totp.step_of(datetime.fromtimestamp(unix_time, UTC))
    assert step == unix_time // 30  # T = floor((time - T0) / X), T0 = 0, X = 30
    assert totp.code_at(RFC_SECRET, step, digits=8) == expected


def test_codes_have_six_digits_by_default():
    assert totp.code_at(RFC_SECRET, 59 // 30) == "287082"  # the RFC code's last six digits


# --- what a person types --------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("123456", "123456"),
        ("123 456", "123456"),
        (" 12 34 56 ", "123456"),
        ("123456\n", "123456"),
        ("012345", "012345"),
        ("12345", None),
        ("1234567", None),
        ("12345a", None),
        ("123-456", None),
        ("", None),
        ("١٢٣٤٥٦", None),  # Arabic-Indic digits are digits to str.isdigit, not to us
        ("１２３４５６", None),  # fullwidth digits
        ("abcde-fghjk", None),  # a recovery code is not a TOTP code
    ],
)
def test_normalise_code(typed, expected):
    assert totp.normalise_code(typed) == expected


@given(st.text())
def test_normalise_code_gives_six_ascii_digits_or_none(text):
    code = totp.normalise_code(text)
    assert code is None or re.fullmatch(r"[0-9]{6}", code)


@given(
    st.from_regex(r"\A[0-9]{6}\Z", fullmatch=True),
    st.lists(st.integers(min_value=0, max_value=6), max_size=4),
)
def test_spaces_anywhere_in_a_code_are_ignored(digits, cuts):
    typed = digits
    for cut in sorted(cuts, reverse=True):
        typed = typed[:cut] + " " + typed[cut:]
    assert totp.normalise_code(typed) == digits


# --- the window and replay --------------------------------------------------------

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def code_for(secret: str, step: int) -> str:
    """The code of a step, computed by pyotp itself (not by sempi's wrapper)."""
    return pyotp.TOTP(secret).at(step * 30)


@pytest.mark.parametrize("offset_seconds", [0, 1, 29])
def test_current_step_and_one_back_are_accepted(offset_seconds):
    step = totp.step_of(NOW)
    at = datetime.fromtimestamp(step * 30 + offset_seconds, UTC)
    assert totp.accepted_step(SECRET, code_for(SECRET, step), at, None) == step
    assert totp.accepted_step(SECRET, code_for(SECRET, step - 1), at, None) == step - 1


@pytest.mark.parametrize("distance", [-2, 2, -3, 3, -20])
def test_two_steps_away_either_way_is_refused(distance):
    step = totp.step_of(NOW)
    code = code_for(SECRET, step + distance)
    assert code not in (code_for(SECRET, step), code_for(SECRET, step - 1))  # no collision
    assert totp.accepted_step(SECRET, code, NOW, None) is None


def test_a_code_is_refused_once_its_step_was_used():
    step = totp.step_of(NOW)
    assert totp.accepted_step(SECRET, code_for(SECRET, step), NOW, step - 1) == step
    assert totp.accepted_step(SECRET, code_for(SECRET, step), NOW, step) is None  # replay
    later = NOW + timedelta(seconds=30)  # still inside the window, still used
    assert totp.accepted_step(SECRET, code_for(SECRET, step), later, step) is None


def test_an_older_step_after_a_newer_one_is_refused():
    step = totp.step_of(NOW)
    assert totp.accepted_step(SECRET, code_for(SECRET, step - 1), NOW, step) is None
    assert totp.accepted_step(SECRET, code_for(SECRET, step - 1), NOW, step - 1) is None


def test_a_wrong_code_is_refused():
    step = totp.step_of(NOW)
    valid = {code_for(SECRET, s) for s in (step, step - 1)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in valid)
    assert totp.accepted_step(SECRET, wrong, NOW, None) is None


# --- through the command line, on a fixed clock ---------------------------------------


def login(cli, second_line: str | None, password: str = ADMIN_PASSWORD):
    lines = password + "\n" + (second_line + "\n" if second_line is not None else "")
    return cli("login", "--email", ADMIN_EMAIL, "--password-stdin", as_user=None, input=lines)


def otp_status(cli) -> dict:
    return json.loads(cli("auth", "otp", "status", "--json").stdout)


def wrong_code(secret: str, at: datetime) -> str:
    step = totp.step_of(at)
    valid = {code_for(secret, s) for s in (step, step - 1)}
    return next(c for c in ("000000", "111111", "222222") if c not in valid)


@pytest.fixture
def enrolled(cli, clock, monkeypatch):
    """The administrator with two-step login on, through `sempi auth otp enable`, with
    a secret the test knows; returns (secret, recovery codes)."""
    secret = pyotp.random_base32(32)
    monkeypatch.setattr(totp, "new_secret", lambda: secret)
    code = pyotp.TOTP(secret).at(clock.now())
    result = cli("auth", "otp", "enable", "--code-stdin", input=code + "\n")
    assert result.exit_code == 0, result.stderr
    assert f"secret={secret}" in result.stdout  # the otpauth:// URI an app scans
    assert f"Key (if you cannot scan): {secret}" in result.stdout
    codes = [line for line in result.stdout.splitlines() if RECOVERY.match(line)]
    assert len(codes) == len(set(codes)) == 10
    assert "Two-step login is on" in result.stderr
    return secret, codes


def test_enrol_turns_two_step_login_on(cli, enrolled, db):
    status = otp_status(cli)
    assert status["two_step"] is True and status["recovery_codes_left"] == 10
    row = db.execute("SELECT otp_secret, otp_last_step FROM users WHERE email = ?", (ADMIN_EMAIL,))
    stored = row.fetchone()
    assert stored["otp_secret"] == enrolled[0]
    assert stored["otp_last_step"] == totp.step_of(NOW)  # the enrolment code is used up


def test_enrol_with_a_wrong_code_leaves_it_off(cli, clock, monkeypatch, db):
    secret = pyotp.random_base32(32)
    monkeypatch.setattr(totp, "new_secret", lambda: secret)
    result = cli("auth", "otp", "enable", "--code-stdin", input=wrong_code(secret, NOW) + "\n")
    assert "does not match" in one_line_error_last(result, 7)
    assert otp_status(cli)["two_step"] is False
    failures = db.execute("SELECT kind FROM auth_failures").fetchall()
    assert [f["kind"] for f in failures] == ["code"]


def one_line_error_last(result, code: int) -> str:
    """`otp enable` prints the QR code and key before it asks: the error is the last line."""
    assert result.exit_code == code, (result.exit_code, result.stderr)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "Traceback" not in result.stderr
    return last


def test_login_needs_password_and_code(cli, enrolled, clock):
    secret, _ = enrolled
    clock.advance(timedelta(seconds=30))
    result = login(cli, pyotp.TOTP(secret).at(clock.now()))
    assert result.exit_code == 0, result.stderr
    me = cli("whoami", "--json", as_user=None)
    assert me.exit_code == 0 and json.loads(me.stdout)["email"] == ADMIN_EMAIL
    audit = json.loads(cli("audit", "list", "--action", "login", "--json").stdout)
    assert audit[0]["details"] == {"second_step": True}


def test_the_enrolment_code_cannot_log_in(cli, enrolled, clock):
    secret, _ = enrolled
    assert_one_line_error(login(cli, pyotp.TOTP(secret).at(clock.now())), 7, CODE_FAILED)


def test_password_alone_is_not_enough(cli, enrolled):
    # No code line on stdin: a failed login (7), as with a wrong code, not a usage slip.
    line = assert_one_line_error(login(cli, None), 7)
    assert "code" in line
    assert_one_line_error(cli("whoami", as_user=None), 7)


def test_a_code_is_refused_the_second_time(cli, enrolled, clock, db):
    secret, _ = enrolled
    clock.advance(timedelta(seconds=30))
    code = pyotp.TOTP(secret).at(clock.now())
    assert login(cli, code).exit_code == 0
    assert_one_line_error(login(cli, code), 7, CODE_FAILED)  # same step: replay
    clock.advance(timedelta(seconds=30))  # still inside the window of one step back
    assert_one_line_error(login(cli, code), 7, CODE_FAILED)
    assert login(cli, pyotp.TOTP(secret).at(clock.now())).exit_code == 0  # the next one works
    kinds = [f["kind"] for f in db.execute("SELECT kind FROM auth_failures ORDER BY id")]
    assert kinds == ["code", "code"]


def test_a_recovery_code_works_once(cli, enrolled, db):
    _, codes = enrolled
    result = login(cli, codes[3])
    assert result.exit_code == 0, result.stderr
    assert cli("whoami", as_user=None).exit_code == 0
    assert_one_line_error(login(cli, codes[3]), 7, CODE_FAILED)
    assert otp_status(cli)["recovery_codes_left"] == 9
    used = json.loads(cli("audit", "list", "--action", "recovery_code_used", "--json").stdout)
    assert len(used) == 1
    # Typed the way people type them: without the dash, in capitals.
    assert login(cli, codes[4].replace("-", "").upper()).exit_code == 0
    kinds = [f["kind"] for f in db.execute("SELECT kind FROM auth_failures")]
    assert kinds == ["recovery"]


def test_a_wrong_code_counts_as_a_failure(cli, enrolled, clock, db, store_path):
    from sempi_cli.paths import session_file

    secret, _ = enrolled
    clock.advance(timedelta(seconds=30))
    assert_one_line_error(login(cli, wrong_code(secret, clock.now())), 7, CODE_FAILED)
    assert not session_file(store_path).exists()
    failures = db.execute("SELECT user_id, kind FROM auth_failures").fetchall()
    assert [(f["user_id"], f["kind"]) for f in failures] == [(actor(db, ADMIN_EMAIL).id, "code")]
    audit = json.loads(cli("audit", "list", "--action", "auth_failed", "--json").stdout)
    assert [a["details"] for a in audit] == [{"kind": "code"}]
    assert login(cli, pyotp.TOTP(secret).at(clock.now())).exit_code == 0  # not used up


def test_the_code_is_not_asked_after_a_wrong_password(cli, enrolled, clock, db):
    secret, _ = enrolled
    clock.advance(timedelta(seconds=30))
    code = pyotp.TOTP(secret).at(clock.now())
    assert_one_line_error(login(cli, code, password="not-the-password"), 7, "login failed")
    kinds = [f["kind"] for f in db.execute("SELECT kind FROM auth_failures")]
    assert kinds == ["password"]  # the code was never checked...
    assert login(cli, code).exit_code == 0  # ...so it is still good


# --- two real processes, one code, the real clock ---------------------------------------


@pytest.mark.slow
def test_two_processes_with_the_same_code_at_once_only_one_logs_in(store_path, db):
    secret = pyotp.random_base32(32)
    enrol_in_real_time(store_path, ADMIN_EMAIL, secret)
    env = {**os.environ, "SEMPI_DB": str(store_path)}  # SEMPI_HOME: the autouse fixture's
    code = register_secret(pyotp.TOTP(secret).now(), "a TOTP code")
    racers = [
        subprocess.Popen(
            [SEMPI, "login", "--email", ADMIN_EMAIL, "--password-stdin"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    for racer in racers:  # both get their lines before either is waited for
        racer.stdin.write(f"{ADMIN_PASSWORD}\n{code}\n")
        racer.stdin.flush()
    outputs = [racer.communicate(timeout=120) for racer in racers]
    for out, err in outputs:
        log_output("sempi login (racing)", out, err)
    codes = sorted(racer.returncode for racer in racers)
    assert codes == [0, 7], outputs
    loser = outputs[[r.returncode for r in racers].index(7)][1]
    assert CODE_FAILED in loser
    sessions = db.execute("SELECT count(*) FROM sessions").fetchone()[0]
    assert sessions == 1
    failures = db.execute("SELECT kind FROM auth_failures").fetchall()
    assert [f["kind"] for f in failures] == ["code"]
    last_step = db.execute("SELECT otp_last_step FROM users WHERE email = ?", (ADMIN_EMAIL,))
    step = last_step.fetchone()[0]
    assert code_for(secret, step) == code
