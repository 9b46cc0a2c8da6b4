"""The mail outbox and `sempi mail send`, against a real SMTP server on 127.0.0.1.

The server is aiosmtpd in a thread of the test process; tests look at what it
received (envelopes and parsed messages). Real `sempi` processes test the
claims that matter across processes: two senders at once send each message
once, and a sender killed while the server receives a message leaves it in
'sending', never resent on its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sempi_cli.clock import FixedClock
from sempi_cli.errors import InvalidData, RuleViolation
from sempi_cli.services.mail import outbox as mail
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    NOW,
    Cli,
    actor,
    json_at_once,
    register_secret,
    run_logged,
    store_digest,
)
from tests.helpers import (
    FIRM,
    FROM,
    SEMPI,
    TO,
    assert_one_line_error,
    configure,
    free_port,
    ok,
    outbox,
    queue_credentials,
    row,
    start_server,
)


@pytest.fixture
def mailer(db, clock, smtp, firm):
    configure(db, clock, smtp.port)
    return smtp


def send(cli, *args: str, **kwargs) -> dict:
    return ok(cli("mail", "send", "--json", *args, **kwargs), json=True)


# --- queueing --------------------------------------------------------------------------


def test_queue_renders_the_template_with_the_firm_name(db, clock, firm):
    [mail_id] = queue_credentials(db, clock)
    shown = outbox(db, clock).show(mail_id)
    assert shown["subject"] == f"Il suo accesso — {FIRM}"
    assert shown["body"].startswith("Gentile Mario Rossi 0,")
    assert shown["body"].rstrip().endswith(f"Cordiali saluti,\n{FIRM}")
    assert TO in shown["body"]
    assert (shown["status"], shown["attempts"], shown["to_address"]) == ("queued", 0, TO)
    assert shown["next_attempt_at"] == shown["created_at"] == "2026-11-16T09:30:00+00:00"
    assert shown["created_by"] == ADMIN_EMAIL


def test_every_kind_has_an_italian_template(db, clock, firm):
    box = outbox(db, clock)
    consent = box.show(box.queue("consent", TO, {"full_name": "Mario Rossi", "client": "Alfa Srl"}))
    assert consent["subject"] == f"Richiesta di consenso ai servizi SMART — {FIRM}"
    assert "consenso di Alfa Srl" in consent["body"]
    assert consent["body"].startswith(f"Gentile Mario Rossi,\n\n{FIRM} chiede il consenso")
    assert consent["body"].rstrip().endswith(f"Cordiali saluti,\n{FIRM}")
    with pytest.raises(ValueError, match="needs code, expires"):
        box.queue("invitation", TO, {"full_name": "Mario", "email": TO})
    with pytest.raises(ValueError, match="no mail template"):
        box.queue("newsletter", TO, {})


def test_a_dedupe_key_queues_once(db, clock, firm):
    box = outbox(db, clock)
    context = {"full_name": "Mario Rossi", "email": TO}
    first = box.queue("credentials", TO, context, dedupe_key="credentials:7")
    assert isinstance(first, int)
    assert box.queue("credentials", TO, context, dedupe_key="credentials:7") is None
    assert box.queue("credentials", TO, context) != box.queue("credentials", TO, context)
    assert db.execute("SELECT count(*) FROM mail_outbox").fetchone()[0] == 3


def test_a_bad_address_is_refused(db, clock, firm):
    with pytest.raises(InvalidData, match="not a valid e-mail"):
        queue_credentials(db, clock, to="mario@@cliente")
    assert db.execute("SELECT count(*) FROM mail_outbox").fetchone()[0] == 0


def test_queueing_belongs_to_the_callers_transaction(db, clock, firm):
    from sempi_cli.store import write_transaction

    with pytest.raises(RuntimeError), write_transaction(db):
        queue_credentials(db, clock)
        raise RuntimeError("the onboarding failed later")
    assert db.execute("SELECT count(*) FROM mail_outbox").fetchone()[0] == 0


# --- delivering ------------------------------------------------------------------------


def test_each_message_reaches_the_server_once_with_proper_headers(cli, db, clock, mailer):
    ids = queue_credentials(db, clock, 3)
    result = send(cli)
    assert (result["sent"], result["deferred"], result["failed"]) == (3, 0, 0)
    assert len(mailer.received) == 3
    first = mailer.received[0]
    assert first.mail_from == FROM and first.rcpt_tos == [TO]
    message = first.message
    assert message["Subject"] == f"Il suo accesso — {FIRM}"
    assert b"=?utf-8?" in first.raw.split(b"\r\n\r\n")[0]  # encoded on the wire, not raw UTF-8
    assert str(message["From"]) == f"{FIRM} <{FROM}>"
    assert message["From"].addresses[0].display_name == FIRM
    assert message["To"] == TO
    assert message["Date"] == "Mon, 16 Nov 2026 10:30:00 +0100"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert "Gentile Mario Rossi 0," in body and FIRM in body and "è attivo" in body
    message_ids = [r.message["Message-ID"] for r in mailer.received]
    assert len(set(message_ids)) == 3 and all(m.endswith("@studiocafe.it>") for m in message_ids)
    stored = [row(db, i) for i in ids]
    assert [s["status"] for s in stored] == ["sent"] * 3
    assert [s["message_id"] for s in stored] == message_ids
    assert {s["sent_at"] for s in stored} == {"2026-11-16T09:30:00+00:00"}
    assert {s["attempts"] for s in stored} == {1}
    # Run again: nothing is sent twice.
    assert send(cli)["sent"] == 0
    assert len(mailer.received) == 3


def test_the_summary_is_quiet_with_q_and_nothing_due_needs_no_server(cli, db, clock, mailer):
    queue_credentials(db, clock)
    quiet = cli("-q", "mail", "send")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    table = cli("mail", "send")
    assert table.exit_code == 0 and table.stdout == ""
    assert table.stderr.strip() == "Sent 0, to retry later 0, failed 0."
    # Nothing due: the job does not even connect (a stopped server is no error).
    configure(db, clock, free_port())
    assert send(cli)["messages"] == []


def test_the_table_shows_each_message_and_the_summary(cli, db, clock, mailer):
    [mail_id] = queue_credentials(db, clock)
    result = cli("mail", "send")
    assert result.exit_code == 0
    assert str(mail_id) in result.stdout and "sent" in result.stdout
    assert result.stderr.strip() == "Sent 1, to retry later 0, failed 0."


def test_dry_run_lists_what_is_due_and_sends_nothing(cli, db, clock, mailer, store_path):
    ids = queue_credentials(db, clock, 2)
    before = store_digest(store_path)
    result = send(cli, "--dry-run")
    assert result["due"] == 2 and [m["id"] for m in result["messages"]] == ids
    assert mailer.received == []
    assert store_digest(store_path) == before


def test_a_temporary_refusal_keeps_the_message_queued_with_a_growing_wait(cli, db, clock, mailer):
    [mail_id] = queue_credentials(db, clock)
    mailer.handler.rcpt_reply = "451 4.3.0 Mailbox busy, try again later"
    assert send(cli)["deferred"] == 1
    first = row(db, mail_id)
    assert (first["status"], first["attempts"]) == ("queued", 1)
    assert first["next_attempt_at"] == "2026-11-16T09:35:00+00:00"  # 5 minutes
    assert "451" in first["last_error"] and "try again later" in first["last_error"]
    # Not due yet: nothing happens.
    assert send(cli)["messages"] == []
    cli.clock.advance(timedelta(minutes=5))
    assert send(cli)["deferred"] == 1
    assert row(db, mail_id)["next_attempt_at"] == "2026-11-16T09:55:00+00:00"  # 20 minutes more
    assert row(db, mail_id)["attempts"] == 2
    # The server accepts again: delivered, once.
    mailer.handler.rcpt_reply = None
    cli.clock.advance(timedelta(minutes=20))
    assert send(cli)["sent"] == 1
    assert len(mailer.received) == 1
    assert (row(db, mail_id)["status"], row(db, mail_id)["attempts"]) == ("sent", 3)


def test_after_the_last_attempt_the_message_fails(cli, db, clock, mailer):
    ok(cli("config", "set", "mail.max_attempts", "2"))
    [mail_id] = queue_credentials(db, clock)
    mailer.handler.data_reply = "452 4.3.1 Insufficient system storage"
    assert send(cli)["deferred"] == 1
    cli.clock.advance(timedelta(minutes=5))
    result = send(cli)
    assert (result["deferred"], result["failed"]) == (0, 1)
    failed = row(db, mail_id)
    assert (failed["status"], failed["attempts"], failed["next_attempt_at"]) == ("failed", 2, None)
    assert "after 2 attempts" in failed["last_error"]
    cli.clock.advance(timedelta(days=2))
    assert send(cli)["messages"] == []  # failed is final until someone retries


def test_a_permanent_refusal_fails_at_once_and_retry_sends_it(cli, db, clock, mailer):
    [mail_id, other] = queue_credentials(db, clock, 2)
    mailer.handler.rcpt_reply = "550 5.1.1 No such user here"
    result = send(cli)
    assert (result["failed"], result["sent"]) == (2, 0)
    assert row(db, mail_id)["status"] == "failed"
    assert "550" in row(db, mail_id)["last_error"]
    listed = ok(cli("mail", "list", "--status", "failed", "--json"), json=True)
    assert [m["id"] for m in listed] == [other, mail_id]
    mailer.handler.rcpt_reply = None
    retried = ok(cli("mail", "retry", str(mail_id), "--json"), json=True)
    assert (retried["status"], retried["attempts"]) == ("queued", 0)
    assert send(cli)["sent"] == 1
    assert len(mailer.received) == 1 and row(db, other)["status"] == "failed"
    assert_one_line_error(cli("mail", "retry", str(mail_id)), 5)  # sent: nothing to retry


def test_a_server_that_cannot_be_reached_exits_5_and_counts_an_attempt(
    cli, db, clock, mailer, store_path
):
    configure(db, clock, free_port())  # nobody listens there
    [mail_id] = queue_credentials(db, clock)
    line = assert_one_line_error(cli("mail", "send"), 5)
    assert "cannot reach the SMTP server 127.0.0.1" in line and "refused" in line
    waiting = row(db, mail_id)
    assert (waiting["status"], waiting["attempts"]) == ("queued", 1)
    assert waiting["next_attempt_at"] == "2026-11-16T09:35:00+00:00"
    cli.clock.advance(timedelta(minutes=5))
    configure(db, clock, mailer.port)
    assert send(cli)["sent"] == 1


def test_mail_that_is_not_configured_exits_5(cli, db, clock, firm):
    queue_credentials(db, clock)
    line = assert_one_line_error(cli("mail", "send"), 5)
    assert "smtp.host is empty" in line and "sempi config set smtp.host" in line
    ok(cli("config", "set", "smtp.host", "mail.example.it"))
    ok(cli("config", "set", "smtp.security", "none"))
    assert_one_line_error(cli("mail", "send"), 5, "allowed only to a relay on this machine")
    ok(cli("config", "set", "smtp.security", "starttls"))
    assert_one_line_error(cli("mail", "send"), 5, "no sender address")
    assert row(db, 1)["attempts"] == 0  # nothing was tried


def mail_from_replies(*replies: str):
    """A MAIL FROM handler answering ``replies`` in turn (then the last one again)."""
    answers = list(replies)

    async def handle_mail(server, session, envelope, address, mail_options):
        reply = answers.pop(0) if len(answers) > 1 else answers[0]
        if reply.startswith("250"):
            envelope.mail_from = address
        return reply

    return handle_mail


def test_the_sender_refused_is_a_configuration_problem_not_the_messages(cli, db, clock, mailer):
    mailer.handler.handle_MAIL = mail_from_replies(
        "250 OK", "553 5.7.1 Sender address rejected: not owned by user"
    )
    first, second, third = queue_credentials(db, clock, 3)
    result = cli("mail", "send", "--json")
    assert result.exit_code == 5, result.stderr
    *summary, line = result.stderr.strip().splitlines()
    assert "refused the sender" in line and "smtp.from" in line and line.startswith("Error: ")
    assert summary == ["Sent 1, to retry later 0, failed 0."]  # what the run did before
    done = json.loads(result.stdout)
    assert [(m["id"], m["outcome"]) for m in done["messages"]] == [
        (first, "sent"),
        (second, "released"),
    ]
    assert row(db, first)["status"] == "sent"
    for waiting in (row(db, second), row(db, third)):
        assert (waiting["status"], waiting["attempts"]) == ("queued", 0)


def test_a_sender_refused_for_now_pauses_the_run_without_an_attempt(cli, db, clock, mailer):
    mailer.handler.handle_MAIL = mail_from_replies(
        "250 OK", "421 4.7.0 Too many messages in this session, try again later"
    )
    first, second, third = queue_credentials(db, clock, 3)
    result = cli("mail", "send")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == "Sent 1, to retry later 1, failed 0."
    assert "421" in result.stdout and "refused the sender for now" in result.stdout
    paused = row(db, second)
    assert (paused["status"], paused["attempts"], paused["claimed_at"]) == ("queued", 0, None)
    assert paused["next_attempt_at"] == "2026-11-16T09:30:00+00:00"  # due at the next run
    assert "421" in paused["last_error"]
    assert (row(db, third)["status"], row(db, third)["attempts"]) == ("queued", 0)  # untouched
    mailer.handler.handle_MAIL = mail_from_replies("250 OK")
    assert send(cli)["sent"] == 2


def test_a_connection_lost_while_the_server_receives_leaves_it_in_doubt(cli, db, clock, mailer):
    ids = queue_credentials(db, clock, 2)
    mailer.handler.drop_after_data = True
    result = send(cli)
    assert result["in_doubt"] == 1 and result["sent"] == 0
    doubtful = row(db, ids[0])
    assert doubtful["status"] == "sending" and "may have been delivered" in doubtful["last_error"]
    assert row(db, ids[1])["status"] == "queued"  # the run stopped; the next one sends it
    mailer.handler.drop_after_data = False
    assert send(cli)["sent"] == 1
    assert row(db, ids[0])["status"] == "sending"  # still not resent on its own
    # The one in doubt did arrive, once; then the other.
    assert [r.message["Message-ID"] for r in mailer.received] == [
        row(db, ids[0])["message_id"],
        row(db, ids[1])["message_id"],
    ]


def test_dry_run_and_an_idle_run_need_no_smtp_settings(cli, db, clock, firm):
    queue_credentials(db, clock)
    assert cli("config", "get", "smtp.host").stdout.strip() == ""
    dry = cli("mail", "send", "--dry-run", "--json")
    assert ok(dry, json=True)["due"] == 1 and "nothing sent (dry run)" in dry.stderr
    cli.clock.advance(timedelta(minutes=-1))  # nothing due yet: the cron run is idle
    assert send(cli) == {"sent": 0, "deferred": 0, "failed": 0, "in_doubt": 0, "messages": []}


def test_csv_output_is_one_row_per_message(cli, db, clock, mailer):
    ids = queue_credentials(db, clock, 2)
    result = cli("--format", "csv", "mail", "send")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split(",") == ["id", "to_address", "subject", "outcome", "error"]
    assert [line.split(",")[0] for line in lines[1:]] == [str(i) for i in ids]
    assert all(",sent," in line for line in lines[1:])


def test_a_firm_name_with_a_line_break_stays_one_header_line(cli, db, clock, mailer):
    db.execute("UPDATE firm SET name = ?", ("Studio Rossi\nBcc: spia@evil.test",))
    [mail_id] = queue_credentials(db, clock)
    assert send(cli)["sent"] == 1
    [received] = mailer.received
    assert received.rcpt_tos == [TO]
    assert received.message["Bcc"] is None
    assert received.message["From"].addresses[0].display_name == "Studio Rossi Bcc: spia@evil.test"
    assert row(db, mail_id)["subject"] == "Il suo accesso — Studio Rossi Bcc: spia@evil.test"


@pytest.mark.parametrize("name", ["Studio Rossi\nBcc: spia@evil.test", "Studio \x1b[31mRossi"])
def test_init_refuses_a_firm_name_that_would_break_a_header(tmp_path, clock, name):
    path = tmp_path / "new" / "sempi.db"
    result = Cli(path, clock)(
        "init", "--firm", name, "--admin-email", "anna@studio.test", "--admin-name", "Anna",
        "--password-stdin", as_user=None, input="a-long-enough-password\n",
    )  # fmt: skip
    line = assert_one_line_error(result, 6)
    assert line.startswith("Error: --firm:") and "control character" in line
    assert not path.exists()


def test_a_message_that_cannot_be_built_fails_and_the_run_goes_on(cli, db, clock, mailer):
    broken, fine = queue_credentials(db, clock, 2)
    # A header value with a line break, as a row written before the checks could hold.
    db.execute(
        "UPDATE mail_outbox SET to_address = ? WHERE id = ?", (f"{TO}\r\nbcc: x@evil.test", broken)
    )
    result = send(cli)
    assert (result["sent"], result["failed"]) == (1, 1)
    failed = row(db, broken)
    assert (failed["status"], failed["attempts"], failed["claimed_at"]) == ("failed", 1, None)
    assert failed["last_error"] == "the message could not be built (a malformed header or body)"
    assert row(db, fine)["status"] == "sent" and len(mailer.received) == 1
    assert send(cli)["messages"] == []  # nothing left in 'sending' for the next run to trip on


def test_the_backoff_waits_documented_in_mail_md():
    from sempi_cli.services.mail.outbox import retry_delay

    waits = [int(retry_delay(n).total_seconds() // 60) for n in range(1, 50)]
    assert waits == [5, 20, 80, 320, 1280] + [1440] * 44  # up to mail.max_attempts 50
    assert sum(waits[:4]) == 425  # "about 7 hours" with the default 5 attempts
    assert round(sum(waits) / 1440) == 45  # "about 45 days" with 50
    docs = " ".join((Path(__file__).parents[1] / "docs" / "mail.md").read_text().split())
    assert "5, 20, 80 and 320 minutes" in docs and "21 h 20 min" in docs and "24 h" in docs
    assert "about 7 hours" in docs and "about 45 days" in docs


# --- SMTP connection choices and the password ------------------------------------------


class FakeSMTP:
    calls: list[tuple] = []

    def __init__(self, host, port, timeout=None, context=None):
        FakeSMTP.calls.append((type(self).__name__, host, port, context is not None))

    def ehlo(self):
        FakeSMTP.calls.append(("ehlo",))

    def starttls(self, context=None):
        FakeSMTP.calls.append(("starttls", context is not None))

    def login(self, user, password):
        FakeSMTP.calls.append(("login", user))

    def close(self):
        pass


class FakeSMTP_SSL(FakeSMTP):
    pass


@pytest.mark.parametrize(
    ("security", "expected"),
    [
        ("tls", [("FakeSMTP_SSL", "mail.example.it", 465, True), ("ehlo",), ("login", "u")]),
        (
            "starttls",
            [
                ("FakeSMTP", "mail.example.it", 465, False),
                ("ehlo",),
                ("starttls", True),
                ("ehlo",),
                ("login", "u"),
            ],
        ),
        ("none", [("FakeSMTP", "mail.example.it", 465, False), ("ehlo",), ("login", "u")]),
    ],
)
def test_tls_and_starttls_choose_the_right_smtplib_class(monkeypatch, security, expected):
    import smtplib

    from sempi_cli.services.mail.smtp import SmtpConfig, connect

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", FakeSMTP_SSL)
    FakeSMTP.calls = []
    config = SmtpConfig("mail.example.it", 465, security, "u", "p", "Firm", "a@b.it")
    connect(config)
    assert FakeSMTP.calls == expected


def test_login_with_the_password_from_the_environment(cli, db, clock, firm, monkeypatch):
    password = register_secret("smtp-Pa55word-from-env", "the SMTP password")
    server, controller = start_server(user="relay", password=password)
    try:
        configure(db, clock, server.port, **{"smtp.user": "relay"})
        queue_credentials(db, clock)
        line = assert_one_line_error(cli("mail", "send"), 5)
        assert "no SMTP password" in line and "SEMPI_SMTP_PASSWORD" in line
        monkeypatch.setenv("SEMPI_SMTP_PASSWORD", "a-wrong-smtp-password")
        line = assert_one_line_error(cli("mail", "send"), 5)
        assert "refused the login of 'relay'" in line and "535" in line
        assert row(db, 1)["attempts"] == 0  # a login problem is not the message's
        monkeypatch.setenv("SEMPI_SMTP_PASSWORD", password)
        assert send(cli)["sent"] == 1
        assert server.logins[-1] == ("relay", True)
        assert len(server.received) == 1
    finally:
        controller.stop()


def test_the_password_file_must_be_private(cli, db, clock, firm, tmp_path):
    password = register_secret("smtp-file-password-0600", "the SMTP password")
    server, controller = start_server(user="relay", password=password)
    secret_file = tmp_path / "smtp-password"
    secret_file.write_text(password + "\n")
    try:
        configure(
            db,
            clock,
            server.port,
            **{"smtp.user": "relay", "smtp.password_file": str(secret_file)},
        )
        queue_credentials(db, clock)
        secret_file.chmod(0o640)
        line = assert_one_line_error(cli("mail", "send"), 5)
        assert "permissions 0640" in line and "too open" in line and "chmod 600" in line
        link = tmp_path / "link"
        link.symlink_to(secret_file)
        secret_file.chmod(0o600)
        ok(cli("config", "set", "smtp.password_file", str(link)))
        assert_one_line_error(cli("mail", "send"), 5, "symbolic link")
        ok(cli("config", "set", "smtp.password_file", str(secret_file)))
        assert send(cli)["sent"] == 1
        assert server.logins == [("relay", True)]
    finally:
        controller.stop()


def test_a_password_smtp_cannot_carry_is_refused_without_showing_it(
    cli, db, clock, firm, monkeypatch
):
    password = register_secret("pàssword-segreta-smtp", "the SMTP password")
    server, controller = start_server(user="relay", password=password)
    try:
        configure(db, clock, server.port, **{"smtp.user": "relay"})
        [mail_id] = queue_credentials(db, clock)
        monkeypatch.setenv("SEMPI_SMTP_PASSWORD", password)
        result = cli("mail", "send")
        line = assert_one_line_error(result, 5)
        assert "SMTP password has a character an SMTP login cannot carry" in line
        assert "à" not in result.stderr + result.stdout and "position" not in line
        assert row(db, mail_id)["attempts"] == 0 and server.logins == []
        line = assert_one_line_error(cli("config", "set", "smtp.user", "utènte"), 6)
        assert line.startswith("Error: smtp.user:") and "ASCII" in line
    finally:
        controller.stop()


def test_a_login_smtplib_cannot_encode_says_so_without_the_text(db, clock, firm):
    from sempi_cli.services.mail.smtp import MailUnavailable, SmtpConfig, connect

    server, controller = start_server(user="relay", password="x")
    try:
        secret = register_secret("pàssword-di-prova-42", "the SMTP password")
        config = SmtpConfig("127.0.0.1", server.port, "none", "relay", secret, "F", FROM)
        with pytest.raises(MailUnavailable) as caught:
            connect(config)  # past the checks of SmtpConfig.load: the last line of defence
        assert "cannot carry" in str(caught.value) and "à" not in str(caught.value)
    finally:
        controller.stop()


def test_a_password_file_that_is_not_text_or_not_a_file(cli, db, clock, firm, tmp_path):
    secret_file = tmp_path / "smtp-password"
    secret_file.write_bytes(b"p\xe0ssword-latin1\n")
    secret_file.chmod(0o600)
    configure(
        db, clock, free_port(), **{"smtp.user": "relay", "smtp.password_file": str(secret_file)}
    )
    [mail_id] = queue_credentials(db, clock)
    result = cli("mail", "send")
    line = assert_one_line_error(result, 5)
    assert "is not UTF-8 text" in line and "0xe0" not in line and "position" not in line
    folder = tmp_path / "a-folder"
    folder.mkdir(mode=0o700)
    ok(cli("config", "set", "smtp.password_file", str(folder)))
    assert_one_line_error(cli("mail", "send"), 5, "is not a regular file")
    assert row(db, mail_id)["attempts"] == 0


def test_no_auth_and_no_starttls_are_told_apart(cli, db, clock, mailer, monkeypatch):
    monkeypatch.setenv("SEMPI_SMTP_PASSWORD", "any-password-at-all")
    [mail_id] = queue_credentials(db, clock)
    ok(cli("config", "set", "smtp.user", "relay"))  # the server offers no AUTH
    line = assert_one_line_error(cli("mail", "send"), 5)
    assert "offers no login (AUTH)" in line and "STARTTLS" not in line
    ok(cli("config", "set", "smtp.user", ""))
    ok(cli("config", "set", "smtp.security", "starttls"))  # nor STARTTLS
    assert_one_line_error(cli("mail", "send"), 5, "does not offer STARTTLS")
    assert row(db, mail_id)["attempts"] == 0


@pytest.mark.parametrize("host", ["a..b", "mail.example.it:587", "smtp://mail.example.it", "x-.it"])
def test_a_host_that_is_no_host_name_is_refused(cli, db, clock, firm, host):
    line = assert_one_line_error(cli("config", "set", "smtp.host", host), 6)
    assert line.startswith("Error: smtp.host:") and "no port" in line
    # A value stored before the check: refused when mail is sent, no attempt counted.
    db.execute("INSERT INTO settings (key, value, updated_at) VALUES ('smtp.host', ?, '')", (host,))
    ok(cli("config", "set", "smtp.from", FROM))
    [mail_id] = queue_credentials(db, clock)
    assert_one_line_error(cli("mail", "send"), 5, "smtp.host")
    assert row(db, mail_id)["attempts"] == 0


@pytest.mark.parametrize("host", ["mail.example.it", "posta.caffè.it", "192.0.2.7", "2001:db8::1"])
def test_host_names_and_addresses_are_accepted(cli, host):
    ok(cli("config", "set", "smtp.host", host))
    assert cli("config", "get", "smtp.host").stdout.strip() == host


def test_a_host_the_resolver_cannot_encode_counts_no_attempt(db, clock, firm):
    from sempi_cli.services.mail.smtp import MailUnavailable, SmtpConfig, connect

    config = SmtpConfig("a..b", 587, "starttls", "", None, "F", FROM)
    with pytest.raises(MailUnavailable, match="not a usable host name"):
        connect(config)


# --- reading and deciding --------------------------------------------------------------


@pytest.fixture
def two_practices(db, clock, org, firm):
    """Studio Rossi (admin ra@) with client Alfa; Studio Verdi (admin va@) with client Beta."""
    clients = {}
    for n, (studio, who, client) in enumerate(
        (
            ("Studio Rossi", "ra@rossi.test", "Alfa Srl"),
            ("Studio Verdi", "va@verdi.test", "Beta Srl"),
        )
    ):
        studio_id = org.practice(studio)
        org.user(who, f"Admin {studio}", "studio-admin", studio=studio_id)
        clients[client] = org.client(client, studio_id, n)
    org.user("s1@sempi.test", "Staff One")
    box = outbox(db, clock)
    return {
        name: box.queue(
            "consent", TO, {"full_name": "Mario", "client": name, "client_id": client_id}
        )
        for name, client_id in clients.items()
    } | {"firm": box.queue("credentials", TO, {"full_name": "Mario", "email": TO})}


def test_who_reads_the_outbox(cli, two_practices):
    ids = two_practices
    everything = ok(cli("mail", "list", "--json"), json=True)
    assert [m["id"] for m in everything] == [ids["firm"], ids["Beta Srl"], ids["Alfa Srl"]]
    rossi = ok(cli("mail", "list", "--json", as_user="ra@rossi.test"), json=True)
    assert [m["id"] for m in rossi] == [ids["Alfa Srl"]]
    assert_one_line_error(cli("mail", "show", str(ids["Beta Srl"]), as_user="ra@rossi.test"), 3)
    assert ok(
        cli("mail", "show", str(ids["Alfa Srl"]), "--json", as_user="ra@rossi.test"), json=True
    )
    assert_one_line_error(cli("mail", "list", as_user="s1@sempi.test"), 8, "firm administrator")
    assert_one_line_error(cli("mail", "send", as_user="ra@rossi.test"), 8)
    assert_one_line_error(cli("mail", "retry", str(ids["Beta Srl"]), as_user="ra@rossi.test"), 3)
    assert ok(cli("mail", "list", "--json", "--limit", "1"), json=True)[0]["id"] == ids["firm"]
    assert_one_line_error(cli("mail", "list", "--status", "lost"), 6)


@pytest.fixture
def practice_mail(cli, db, two_practices):
    """two_practices, plus the invitation of a Studio Rossi operator queued by its
    administrator (mail about no client) and an external user of Alfa Srl."""
    rossi_admin = {"as_user": "ra@rossi.test"}
    ok(cli("user", "add", "--email", "op@rossi.test", "--name", "Op Rossi", "--role",
           "studio-operator", "--studio", "Studio Rossi", "--json", **rossi_admin), json=True)  # fmt: skip
    invited = ok(cli("mail", "invite", "op@rossi.test", "--json", **rossi_admin), json=True)[
        "mail_id"
    ]
    alfa = row(db, two_practices["Alfa Srl"])["client_id"]
    ok(cli("user", "add", "--email", "ext@alfa.test", "--name", "Ext Alfa", "--role", "external",
           "--client", str(alfa), "--json"), json=True)  # fmt: skip
    return {**two_practices, "operator": invited}


def test_every_read_path_follows_the_practice(cli, db, practice_mail):
    ids = practice_mail
    rossi = {ids["Alfa Srl"], ids["operator"]}
    operator = row(db, ids["operator"])
    assert (
        operator["client_id"] is None
        and operator["studio_id"] == row(db, ids["Alfa Srl"])["studio_id"]
    )
    db.execute(
        "UPDATE mail_outbox SET studio_id = NULL WHERE id = ?", (ids["Alfa Srl"],)
    )  # a row older than m011

    def listed(who: str) -> set[int]:
        return {m["id"] for m in ok(cli("mail", "list", "--json", as_user=who), json=True)}

    assert listed(ADMIN_EMAIL) == set(ids.values())
    assert listed("ra@rossi.test") == rossi
    assert listed("va@verdi.test") == {ids["Beta Srl"]}
    for who in ("s1@sempi.test", "ext@alfa.test"):  # no outbox at all
        assert_one_line_error(cli("mail", "list", as_user=who), 8)
        for verb in ("show", "retry", "cancel"):
            assert_one_line_error(cli("mail", verb, str(ids["operator"]), as_user=who), 8)
    for verb in ("show", "retry", "cancel"):  # another practice's mail does not exist
        for mail_id in rossi:
            assert_one_line_error(cli("mail", verb, str(mail_id), as_user="va@verdi.test"), 3)
        assert_one_line_error(cli("mail", verb, str(ids["Beta Srl"]), as_user="ra@rossi.test"), 3)
        assert_one_line_error(cli("mail", verb, str(ids["firm"]), as_user="ra@rossi.test"), 3)
    for who, mine in (("ra@rossi.test", rossi), (ADMIN_EMAIL, {ids["Beta Srl"], ids["firm"]})):
        for mail_id in mine:
            assert (
                ok(cli("mail", "show", str(mail_id), "--json", as_user=who), json=True)["id"]
                == mail_id
            )
            retried = ok(cli("mail", "retry", str(mail_id), "--json", as_user=who), json=True)
            assert retried["status"] == "queued" and "body" not in retried
            assert (
                ok(cli("mail", "cancel", str(mail_id), "--json", as_user=who), json=True)["status"]
                == "cancelled"
            )


def test_show_prints_headers_state_and_body(cli, two_practices):
    result = cli("mail", "show", str(two_practices["Alfa Srl"]))
    assert result.exit_code == 0
    head, _, body = result.stdout.partition("\n\n")
    assert "queued" in head and TO in head and "Richiesta di consenso" in head
    assert body.startswith("Gentile Mario,")


def test_cancel_means_never_sent(cli, db, clock, mailer):
    [mail_id, kept] = queue_credentials(db, clock, 2)
    assert ok(cli("mail", "cancel", str(mail_id), "--json"), json=True)["status"] == "cancelled"
    assert send(cli)["sent"] == 1
    assert [r.message["To"] for r in mailer.received] == [TO]
    assert row(db, kept)["status"] == "sent"
    assert_one_line_error(cli("mail", "cancel", str(mail_id)), 5)
    assert_one_line_error(cli("mail", "cancel", "999"), 3)


def test_retry_makes_a_waiting_message_due_now(cli, db, clock, mailer):
    [mail_id] = queue_credentials(db, clock)
    mailer.handler.rcpt_reply = "421 4.7.0 Too many connections"
    send(cli)
    mailer.handler.rcpt_reply = None
    ok(cli("mail", "retry", str(mail_id), "--json"), json=True)
    waiting = row(db, mail_id)
    assert (waiting["next_attempt_at"], waiting["attempts"]) == ("2026-11-16T09:30:00+00:00", 1)
    assert send(cli)["sent"] == 1


def test_retry_of_a_message_in_sending_asks_first(cli, db, clock, mailer):
    [mail_id] = queue_credentials(db, clock)
    db.execute("UPDATE mail_outbox SET status = 'sending' WHERE id = ?", (mail_id,))
    assert send(cli)["messages"] == []
    line = assert_one_line_error(cli("mail", "retry", str(mail_id)), 2)
    assert "confirmation needed" in line and "--yes" in line
    assert row(db, mail_id)["status"] == "sending"
    ok(cli("mail", "retry", str(mail_id), "--yes", "--json"), json=True)
    assert send(cli)["sent"] == 1


def queue_invitation(db, clock, code: str = "k7m2p-abcde-fghjk-mnpqr") -> int:
    context = {"full_name": "Mario Rossi", "email": TO, "code": code, "expires": "30/11/2026"}
    return outbox(db, clock).queue("invitation", TO, context)


def as_person(store_path: Path, clock, decide: Callable) -> tuple[Callable[[], None], list]:
    """A hook for the server: while the sender waits for its reply, a person (the
    firm's administrator, on their own connection, at ``clock``) calls
    ``decide(outbox, conn)``. The list gets the result, or the error's text."""
    from sempi_cli.services.mail.outbox import Outbox
    from sempi_cli.store import open_store

    outcomes: list = []

    def hook() -> None:
        conn = open_store(store_path)
        try:
            outcomes.append(decide(Outbox(conn, clock, actor(conn, ADMIN_EMAIL)), conn))
        except RuleViolation as exc:
            outcomes.append(str(exc))
        finally:
            conn.close()

    return hook, outcomes


def erase_mail_to(conn, now: datetime) -> int:
    from sempi_cli.store import write_transaction

    with write_transaction(conn):
        return mail.erase_personal_data(conn, -1, [TO], now)


def test_nobody_takes_a_message_from_a_sender_at_work(cli, db, clock, mailer, store_path):
    mail_id = queue_invitation(db, clock)

    def decide(box, conn) -> list:
        tries = (
            lambda: box.cancel(mail_id),
            lambda: box.retry(mail_id, lambda shown: None),
            lambda: erase_mail_to(conn, clock.now()),
        )
        refusals = []
        for attempt in tries:
            with pytest.raises(RuleViolation) as refused:
                attempt()
            refusals.append(str(refused.value))
        return refusals

    mailer.handler.on_rcpt, outcomes = as_person(store_path, clock, decide)
    mailer.handler.rcpt_reply = "451 4.3.0 Try again later"
    assert send(cli)["deferred"] == 1
    [refusals] = outcomes
    assert all(f"message {mail_id}" in r and "being sent right now" in r for r in refusals)
    back = row(db, mail_id)  # the sender's outcome stands, the code still kept
    assert (back["status"], back["attempts"]) == ("queued", 1)
    assert back["secret_file"] is not None
    mailer.handler.on_rcpt = mailer.handler.rcpt_reply = None
    clock.advance(mail.RETRY_FIRST)
    assert send(cli)["sent"] == 1
    assert "k7m2p-abcde-fghjk-mnpqr" in mailer.received[0].message.get_content()


def test_a_fresh_claim_is_refused_on_the_command_line_until_it_is_stale(cli, db, clock, mailer):
    [mail_id] = queue_credentials(db, clock)
    db.execute(
        "UPDATE mail_outbox SET status = 'sending', claimed_at = ? WHERE id = ?",
        ("2026-11-16T09:30:00+00:00", mail_id),
    )
    for verb in ("cancel", "retry"):
        line = assert_one_line_error(cli("--yes", "mail", verb, str(mail_id)), 5)
        assert f"message {mail_id} is being sent right now" in line and "15 minutes" in line
    clock.advance(mail.STALE_CLAIM)
    assert ok(cli("mail", "cancel", str(mail_id), "--json"), json=True)["status"] == "cancelled"


def test_a_stale_claim_taken_over_is_not_written_back(cli, db, clock, mailer, store_path):
    mail_id = queue_invitation(db, clock)
    later = FixedClock(clock.now() + mail.STALE_CLAIM)  # the sender hung that long
    mailer.handler.on_rcpt, outcomes = as_person(
        store_path, later, lambda box, _: box.cancel(mail_id)
    )
    mailer.handler.rcpt_reply = "451 4.3.0 Try again later"
    result = send(cli)
    assert outcomes[0]["status"] == "cancelled"
    assert [(m["id"], m["outcome"]) for m in result["messages"]] == [(mail_id, "taken_over")]
    assert result["deferred"] == 0
    cancelled = row(db, mail_id)  # the person's decision stands: not back in the queue
    assert (cancelled["status"], cancelled["attempts"], cancelled["secret_file"]) == (
        "cancelled", 0, None,
    )  # fmt: skip
    mailer.handler.on_rcpt = mailer.handler.rcpt_reply = None
    clock.advance(timedelta(days=1))
    assert send(cli)["messages"] == [] and mailer.received == []


def test_a_message_delivered_after_a_takeover_ends_sent(cli, db, clock, mailer, store_path):
    [mail_id] = queue_credentials(db, clock)
    later = FixedClock(clock.now() + mail.STALE_CLAIM)
    retry = lambda box, _: box.retry(mail_id, lambda shown: None)  # noqa: E731
    mailer.handler.on_data, outcomes = as_person(store_path, later, retry)
    assert send(cli)["sent"] == 1
    assert outcomes[0]["status"] == "queued"  # requeued by a person meanwhile...
    delivered = row(db, mail_id)  # ...but the server took it: sent, not sent twice
    assert (delivered["status"], delivered["attempts"]) == ("sent", 1)
    [details] = db.execute(
        "SELECT details FROM audit_log WHERE action = 'sent' AND object_id = ?", (mail_id,)
    ).fetchone()
    assert json.loads(details) == {"claim_lost": True}
    mailer.handler.on_data = None
    assert send(cli)["messages"] == [] and len(mailer.received) == 1


# --- real processes --------------------------------------------------------------------


def _env(store_path: Path, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "SEMPI_DB": str(store_path), "SEMPI_HOME": str(tmp_path / "home")}
    env.pop("SEMPI_SMTP_PASSWORD", None)
    return env


def _login(env: dict[str, str]) -> None:
    login = run_logged(
        [SEMPI, "login", "-e", ADMIN_EMAIL, "--password-stdin"],
        env=env, input=ADMIN_PASSWORD + "\n", timeout=120,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr


def _real_clock():
    return FixedClock(datetime.now(UTC) - timedelta(minutes=1))


@pytest.mark.slow
def test_four_senders_at_once_send_each_message_once(store_path, db, clock, smtp, firm, tmp_path):
    configure(db, clock, smtp.port)
    count = 30
    queue_credentials(db, _real_clock(), count)
    env = _env(store_path, tmp_path)
    _login(env)
    sent = [run["sent"] for run in json_at_once([SEMPI, "--json", "mail", "send"], env, 4)]
    assert sum(sent) == count, sent
    assert len(smtp.received) == count
    assert len({r.message["Message-ID"] for r in smtp.received}) == count
    assert (
        db.execute("SELECT count(*) FROM mail_outbox WHERE status = 'sent'").fetchone()[0] == count
    )


@pytest.mark.slow
def test_a_sender_killed_while_sending_leaves_the_message_for_a_person(
    store_path, db, clock, smtp, firm, tmp_path
):
    configure(db, clock, smtp.port)
    first, second = queue_credentials(db, _real_clock(), 2)
    env = _env(store_path, tmp_path)
    _login(env)
    smtp.handler.hold = threading.Event()
    job = subprocess.Popen(
        [SEMPI, "mail", "send"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert smtp.handler.reached.wait(timeout=60), "the sender never reached DATA"
        os.kill(job.pid, signal.SIGKILL)
        job.wait(timeout=30)
    finally:
        smtp.handler.hold.set()
    assert job.returncode == -signal.SIGKILL
    assert [row(db, first)["status"], row(db, second)["status"]] == ["sending", "queued"]
    smtp.handler.hold = None
    # The next run sends the other one and leaves the one in doubt alone.
    again = run_logged([SEMPI, "--json", "mail", "send"], env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["sent"] == 1
    assert len(smtp.received) == 2
    assert row(db, first)["status"] == "sending"
    listed = run_logged([SEMPI, "--json", "mail", "list", "--status", "sending"], env=env)
    assert [m["id"] for m in json.loads(listed.stdout)] == [first]
    # While the claim is fresh its sender may still be at work: nobody takes it.
    early = run_logged([SEMPI, "--yes", "mail", "retry", str(first)], env=env)
    assert early.returncode == 5 and "is being sent right now" in early.stderr
    # Later a person decides: retry sends it (again).
    later = Cli(store_path, FixedClock(datetime.now(UTC) + mail.STALE_CLAIM))
    retry = later("--yes", "mail", "retry", str(first))
    assert retry.exit_code == 0, retry.stderr
    assert (
        ok(later("--json", "mail", "send"), json=True)["sent"] == 1
    )  # due at the later clock's now
    assert row(db, first)["status"] == "sent"
    assert [r.message["Message-ID"] for r in smtp.received].count(
        smtp.received[0].message["Message-ID"]
    ) == 2  # the same Message-ID: a mail client can tell it is the same message


def test_erasure_leaves_no_personal_data_in_the_outbox(db, two_practices):
    from sempi_cli.services.mail.outbox import erase_personal_data
    from sempi_cli.store import write_transaction

    alfa = db.execute(
        "SELECT client_id FROM mail_outbox WHERE id = ?", (two_practices["Alfa Srl"],)
    )
    with write_transaction(db):
        assert erase_personal_data(db, alfa.fetchone()[0], [TO], NOW) == 3  # all three went to TO
    rows = db.execute("SELECT status, to_address, body FROM mail_outbox").fetchall()
    assert {r["status"] for r in rows} == {"cancelled"}
    assert all(r["to_address"].endswith("@invalid") and r["body"] == "(erased)" for r in rows)
