"""The one-time code a signer types to sign (services/signing/codes.py): their
authenticator's code when two-step login is on, else six digits sent by e-mail
through the outbox, valid ten minutes and once, throttled, and never in the store."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.errors import InvalidData, NotAuthenticated, NotFound, RuleViolation
from sempi_cli.services.signing import codes, evidence
from sempi_cli.store import spool, write_transaction
from tests.conftest import ADMIN_EMAIL, actor, register_secret
from tests.helpers import FIRM, configure, ok
from tests.test_signing_evidence import make_request

MARIO = "mario.bianchi@alfa.test"  # Alfa's external user: no two-step login, e-mail codes
STAFF = "s1@sempi.test"  # firm staff with two-step login: the app's code
BRUNO = "bruno.neri@beta.test"  # Beta's external user: another client's
MAILED = re.compile(r"^ {4}([0-9]{6})\r?$", re.MULTILINE)


@pytest.fixture
def signing(org, db, clock, firm, tmp_path) -> dict:
    """Studio Rossi's clients Alfa and Beta; request ``alfa`` waits for Mario (Alfa's
    external user) and STAFF (two-step login on, its secret in ``secret``)."""
    from sempi_cli.services.identity.two_step import TwoStepService

    rossi = org.practice("Studio Rossi")
    staff = org.user(STAFF, "Staff One")
    alfa = org.client("Alfa Srl", rossi, 1, responsible=STAFF)
    beta = org.client("Beta Srl", rossi, 2, responsible=STAFF)
    mario = org.user(MARIO, "Mario Bianchi", "external", client=alfa)
    org.user(BRUNO, "Bruno Neri", "external", client=beta)
    secret = register_secret(pyotp.random_base32(32), "a TOTP secret")
    for code in TwoStepService(db, clock, actor(db, STAFF)).confirm(
        secret, pyotp.TOTP(secret).at(clock.now())
    ):
        register_secret(code, "a recovery code")
    request = make_request(db, clock, alfa, [mario["id"], staff["id"]], tmp_path)
    return {
        "alfa": request, "client": alfa, "secret": secret, "mario": mario["id"],
        "staff": staff["id"], "folder": tmp_path,
    }  # fmt: skip


def send(db, clock, request_id: int, who: str = MARIO) -> dict:
    return codes.send_code(db, clock, actor(db, who), request_id)


def check(db, clock, request_id: int, typed: str, who: str = MARIO) -> str:
    return codes.check_code(db, clock, actor(db, who), request_id, typed)


def spooled(db, mail_id: int) -> str:
    """The code waiting in the outbox spool for message ``mail_id`` (as the invitation
    tests read an activation code)."""
    [name] = db.execute("SELECT secret_file FROM mail_outbox WHERE id = ?", (mail_id,)).fetchone()
    code = json.loads((spool.folder_of(db) / name).read_text())["code"]
    return register_secret(code, "an e-mailed signing code")


def other(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def verified(db, request_id: int) -> list[tuple]:
    return [
        (e["event"], e["user_id"], e["channel"])
        for e in evidence.events(db, request_id)
        if e["event"] == "code_verified"
    ]


# --- two-step login on: the authenticator's code ------------------------------------------


def test_a_real_totp_code_signs_once(db, clock, signing):
    request = signing["alfa"]
    assert codes.channel(db, clock, actor(db, STAFF)) == "totp"
    clock.advance(timedelta(seconds=30))  # the enrolment used the step before
    code = register_secret(pyotp.TOTP(signing["secret"]).at(clock.now()), "a TOTP code")
    assert check(db, clock, request, code, STAFF) == "totp"
    assert verified(db, request) == [("code_verified", signing["staff"], "totp")]
    with pytest.raises(NotAuthenticated, match="wrong or already used code") as replayed:
        check(db, clock, request, code, STAFF)  # the same code again: a replay
    assert replayed.value.exit_code == 7
    assert len(verified(db, request)) == 1


def test_the_code_that_logged_in_cannot_sign(db, clock, signing):
    """Identity's replay protection is one for login and signature: the step the
    enrolment (or a login) used is spent, whatever it was used for."""
    code = pyotp.TOTP(signing["secret"]).at(clock.now())  # the step the enrolment used
    with pytest.raises(NotAuthenticated):
        check(db, clock, signing["alfa"], code, STAFF)
    clock.advance(timedelta(seconds=30))
    assert check(db, clock, signing["alfa"], pyotp.TOTP(signing["secret"]).at(clock.now()), STAFF)


def test_a_wrong_totp_code_counts_as_a_failed_login(db, clock, signing):
    clock.advance(timedelta(seconds=30))
    right = pyotp.TOTP(signing["secret"]).at(clock.now())
    with pytest.raises(NotAuthenticated):
        check(db, clock, signing["alfa"], other(right), STAFF)
    failures = db.execute(
        "SELECT kind FROM auth_failures WHERE user_id = ?", (signing["staff"],)
    ).fetchall()
    assert [f[0] for f in failures] == ["code"]
    assert verified(db, signing["alfa"]) == []


def test_wrong_totp_codes_in_a_row_are_throttled_like_logins(db, clock, signing):
    clock.advance(timedelta(seconds=30))
    right = pyotp.TOTP(signing["secret"]).at(clock.now())
    for _try in range(3):
        with pytest.raises(NotAuthenticated, match="wrong or already used"):
            check(db, clock, signing["alfa"], other(right), STAFF)
    with pytest.raises(NotAuthenticated, match="too many wrong codes"):
        check(db, clock, signing["alfa"], right, STAFF)  # even the right one waits
    clock.advance(timedelta(seconds=1))
    assert check(db, clock, signing["alfa"], right, STAFF) == "totp"


def test_no_code_is_mailed_to_a_signer_with_two_step_login(db, clock, signing):
    with pytest.raises(RuleViolation, match="two-step login on"):
        send(db, clock, signing["alfa"], STAFF)
    assert db.execute("SELECT count(*) FROM sign_codes").fetchone()[0] == 0


# --- otherwise: a code by e-mail -------------------------------------------------------------


def test_a_code_is_queued_with_the_code_kept_out_of_the_store(db, clock, signing):
    from sempi_cli.services.mail.outbox import Outbox
    from sempi_cli.services.mail.templates import secret_mark

    request = signing["alfa"]
    assert codes.channel(db, clock, actor(db, MARIO)) == "email"
    sent = send(db, clock, request)
    assert sent["expires_at"] == "2026-11-16T09:40:00+00:00"  # ten minutes
    message = Outbox(db, clock, actor(db, ADMIN_EMAIL)).show(sent["mail_id"])
    assert (message["kind"], message["to_address"]) == ("sign_code", MARIO)
    assert message["subject"] == f"Il suo codice per firmare — {FIRM}"
    assert message["dedupe_key"] == f"sign-code:{sent['code_id']}"
    assert message["client_id"] is not None  # the client's practice sees it
    body = message["body"]
    assert "Gentile Mario Bianchi," in body and "«Mandato professionale»" in body
    assert f"(richiesta {request}) di Alfa Srl" in body
    assert "fino al 16/11/2026 alle 10:40" in body  # Rome time
    assert "firma elettronica semplice" in body and "firma digitale" not in body
    assert secret_mark("code") in body and not MAILED.search(body)
    code = spooled(db, sent["mail_id"])
    row = db.execute("SELECT * FROM sign_codes WHERE id = ?", (sent["code_id"],)).fetchone()
    assert row["code_hash"] == codes.code_hash(request, signing["mario"], row["sent_at"], code)
    assert code not in row["code_hash"] and row["attempts"] == 0 and row["used_at"] is None
    [event] = evidence.events(db, request)
    assert (event["event"], event["channel"], event["user_id"]) == (
        "code_sent",
        "email",
        signing["mario"],
    )
    assert event["detail"] == {"code": sent["code_id"], "expires_at": sent["expires_at"]}


def _hits(data: bytes, code: str) -> int:
    """How often ``code`` stands as a word of its own in ``data``."""
    return len(re.findall(rb"(?<![0-9A-Za-z])" + code.encode() + rb"(?![0-9A-Za-z])", data))


def test_nothing_sensitive_in_the_store(db, clock, signing, store_path):
    """The store file, its -wal and a dump hold the code nowhere, before and after
    it is used; the spool file holds it until the code is spent, then goes."""

    def store_bytes() -> bytes:
        wal = Path(f"{store_path}-wal")
        return store_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    before = store_bytes()
    sent = send(db, clock, signing["alfa"])
    code = spooled(db, sent["mail_id"])
    dump = "\n".join(sqlite3.connect(store_path).iterdump())
    assert _hits(dump.encode(), code) == 0
    assert _hits(store_bytes(), code) == _hits(before, code)  # (0 but for a chance match)
    [name] = db.execute(
        "SELECT secret_file FROM mail_outbox WHERE id = ?", (sent["mail_id"],)
    ).fetchone()
    assert check(db, clock, signing["alfa"], code) == "email"
    assert not (spool.folder_of(db) / name).exists()  # spent: the file went
    assert _hits(store_bytes(), code) == _hits(before, code)


def test_the_code_from_the_real_smtp_server_signs(cli, db, clock, signing, smtp):
    configure(db, clock, smtp.port)
    send(db, clock, signing["alfa"])
    assert ok(cli("mail", "send", "--json"), json=True)["sent"] == 1
    [received] = smtp.received
    assert received.rcpt_tos == [MARIO]
    assert received.message["Subject"] == f"Il suo codice per firmare — {FIRM}"
    [code] = MAILED.findall(received.message.get_content())
    register_secret(code, "an e-mailed signing code")
    assert check(db, clock, signing["alfa"], f"{code[:3]} {code[3:]}") == "email"  # typed loosely
    assert verified(db, signing["alfa"]) == [("code_verified", signing["mario"], "email")]


def test_a_code_works_once(db, clock, signing):
    sent = send(db, clock, signing["alfa"])
    code = spooled(db, sent["mail_id"])
    assert check(db, clock, signing["alfa"], code) == "email"
    status = db.execute(
        "SELECT status, secret_file FROM mail_outbox WHERE id = ?", (sent["mail_id"],)
    ).fetchone()
    assert tuple(status) == ("cancelled", None)  # spent before it went out: never sent
    with pytest.raises(NotAuthenticated, match="already used") as again:
        check(db, clock, signing["alfa"], code)
    assert again.value.exit_code == 7 and "\n" not in str(again.value)
    assert len(verified(db, signing["alfa"])) == 1


@pytest.mark.parametrize(("after", "works"), [(timedelta(minutes=9, seconds=59), True),
                                              (timedelta(minutes=10), False)])  # fmt: skip
def test_a_code_expires_after_ten_minutes(db, clock, signing, after, works):
    code = spooled(db, send(db, clock, signing["alfa"])["mail_id"])
    clock.advance(after)
    if works:
        assert check(db, clock, signing["alfa"], code) == "email"
        return
    with pytest.raises(NotAuthenticated, match="this code expired at 16/11/2026 10:40"):
        check(db, clock, signing["alfa"], code)
    assert verified(db, signing["alfa"]) == []


def test_five_wrong_attempts_spoil_the_code(db, clock, signing):
    code = spooled(db, send(db, clock, signing["alfa"])["mail_id"])
    for left in (4, 3, 2, 1):
        with pytest.raises(NotAuthenticated) as wrong:
            check(db, clock, signing["alfa"], other(code))
        plural = "attempts" if left > 1 else "attempt"
        assert str(wrong.value) == f"wrong code. {left} {plural} left with this code."
    with pytest.raises(NotAuthenticated, match="that was the last attempt"):
        check(db, clock, signing["alfa"], other(code))
    # Each attempt was committed although the command failed; now even the right code fails.
    assert db.execute("SELECT attempts FROM sign_codes").fetchone()[0] == 5
    with pytest.raises(NotAuthenticated, match="no longer works after 5 wrong attempts"):
        check(db, clock, signing["alfa"], code)
    assert verified(db, signing["alfa"]) == []
    # A new code (a minute later) works.
    clock.advance(timedelta(minutes=1))
    fresh = spooled(db, send(db, clock, signing["alfa"])["mail_id"])
    assert check(db, clock, signing["alfa"], fresh) == "email"


def test_a_code_that_is_not_six_digits_is_bad_input_and_not_counted(db, clock, signing):
    send(db, clock, signing["alfa"])
    for typed in ("12345", "1234567", "abcdef", ""):
        with pytest.raises(InvalidData, match="a code is six digits") as bad:
            check(db, clock, signing["alfa"], typed)
        assert bad.value.exit_code == 6
    assert db.execute("SELECT attempts FROM sign_codes").fetchone()[0] == 0


def test_checking_before_any_code_was_sent(db, clock, signing):
    with pytest.raises(RuleViolation, match="no code was sent to you for request"):
        check(db, clock, signing["alfa"], "123456")


def test_a_new_code_retires_the_older(db, clock, signing):
    first = send(db, clock, signing["alfa"])
    old = spooled(db, first["mail_id"])
    clock.advance(timedelta(minutes=1))
    second = send(db, clock, signing["alfa"])
    new = spooled(db, second["mail_id"])
    status = db.execute(
        "SELECT status, secret_file FROM mail_outbox WHERE id = ?", (first["mail_id"],)
    ).fetchone()
    assert tuple(status) == ("cancelled", None)  # the old message goes nowhere
    if old != new:
        with pytest.raises(NotAuthenticated, match="wrong code"):
            check(db, clock, signing["alfa"], old)
    assert check(db, clock, signing["alfa"], new) == "email"


# --- throttling -----------------------------------------------------------------------------


def test_one_new_code_a_minute(db, clock, signing):
    send(db, clock, signing["alfa"])
    clock.advance(timedelta(seconds=20))
    with pytest.raises(RuleViolation) as soon:
        send(db, clock, signing["alfa"])
    assert soon.value.exit_code == 5
    assert str(soon.value) == (
        "a code was sent to you less than a minute ago."
        " Look for it in your e-mail, or ask for a new one in 40 seconds."
    )
    clock.advance(timedelta(seconds=40))
    send(db, clock, signing["alfa"])
    assert db.execute("SELECT count(*) FROM sign_codes").fetchone()[0] == 2


def test_five_codes_a_day(db, clock, signing):
    for _code in range(5):
        send(db, clock, signing["alfa"])
        clock.advance(timedelta(minutes=10))
    with pytest.raises(RuleViolation) as many:
        send(db, clock, signing["alfa"])
    # The first went at 10:30 Rome time: the sixth may go 24 hours later.
    assert str(many.value) == (
        f"5 codes were sent to you for request {signing['alfa']} in the last 24 hours."
        " Ask for a new one after 17/11/2026 10:30."
    )
    # Another request has a count of its own.
    second = make_request(db, clock, signing["client"], [signing["mario"]], signing["folder"])
    send(db, clock, second)
    clock.set(clock.now().replace(hour=9, minute=30) + timedelta(days=1))
    send(db, clock, signing["alfa"])
    assert db.execute("SELECT count(*) FROM sign_codes").fetchone()[0] == 7


# --- who may -------------------------------------------------------------------------------


def test_only_the_requests_signers(db, clock, signing):
    """Another client's external user, or staff who is no signer, finds no such
    request, as for a request that does not exist."""
    for who, request in ((BRUNO, signing["alfa"]), (ADMIN_EMAIL, signing["alfa"]),
                         (MARIO, signing["alfa"] + 99)):  # fmt: skip
        for attempt in (lambda r=request, w=who: send(db, clock, r, w),
                        lambda r=request, w=who: check(db, clock, r, "123456", w)):  # fmt: skip
            with pytest.raises(NotFound) as missing:
                attempt()
            assert missing.value.exit_code == 3
            assert f"request {request} not found" in str(missing.value)
    assert db.execute("SELECT count(*) FROM sign_codes").fetchone()[0] == 0
    assert evidence.events(db, signing["alfa"]) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("UPDATE sign_signers SET outcome = 'accepted' WHERE user_id = :mario",
         "you have already signed request"),
        ("UPDATE sign_signers SET outcome = 'declined' WHERE user_id = :mario",
         "you have already declined request"),
        ("UPDATE sign_requests SET status = 'expired'", "has expired: it can no longer be signed"),
        ("UPDATE sign_requests SET status = 'declined'", "was declined"),
    ],
)  # fmt: skip
def test_nothing_to_sign_any_more(db, clock, signing, change, message):
    code = spooled(db, send(db, clock, signing["alfa"])["mail_id"])
    with write_transaction(db):
        db.execute(change, {"mario": signing["mario"]})
    with pytest.raises(RuleViolation, match=message):
        check(db, clock, signing["alfa"], code)
    clock.advance(timedelta(minutes=1))
    with pytest.raises(RuleViolation, match=message):
        send(db, clock, signing["alfa"])
    assert db.execute("SELECT used_at FROM sign_codes").fetchone()[0] is None


# --- the rules in isolation ---------------------------------------------------------------


@given(st.integers(0, 10_000))
def test_new_codes_are_six_digits(_n):
    code = codes.new_code()
    assert re.fullmatch(r"[0-9]{6}", code)


@given(code=st.from_regex(r"\A[0-9]{6}\Z"), sent_at=st.sampled_from(["a", "b"]))
def test_a_hash_belongs_to_its_request_signer_and_moment(code, sent_at):
    mine = codes.code_hash(1, 2, sent_at, code)
    assert mine == codes.code_hash(1, 2, sent_at, code)
    assert mine != codes.code_hash(2, 2, sent_at, code)  # another request
    assert mine != codes.code_hash(1, 3, sent_at, code)  # another signer
    assert mine != codes.code_hash(1, 2, sent_at + "x", code)  # another moment
    assert mine != codes.code_hash(1, 2, sent_at, other(code))


def test_a_failed_code_message_is_not_sent_again(db, clock, signing):
    """Its code went with the failure: `mail retry` says so in the signer's terms."""
    from sempi_cli.services.mail import outbox

    sent = send(db, clock, signing["alfa"])
    with write_transaction(db):  # as `mail send` records a permanent refusal
        outbox.mark_failure(db, sent["mail_id"], None, "550 no such user", retry_at=None)
    with pytest.raises(RuleViolation) as refused:
        outbox.Outbox(db, clock, actor(db, ADMIN_EMAIL)).retry(sent["mail_id"])
    assert str(refused.value) == (
        f"message {sent['mail_id']} cannot be sent again: its one-time code was erased"
        " (the code was used, replaced or spoiled). The signer asks for a new code when signing."
    )
