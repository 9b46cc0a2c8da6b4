"""The mail outbox and `sempi mail send`, against a real SMTP server on 127.0.0.1.

The server is aiosmtpd in a thread of the test process; tests look at what it
received (envelopes and parsed messages). Real `sempi` processes test the
claims that matter across processes: two senders at once send each message
once, and a sender killed while the server receives a message leaves it in
'sending', never resent on its own.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sempi_cli.errors import InvalidData
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    actor,
    piva,
    register_secret,
    run_logged,
    store_digest,
)
from tests.test_cli_frame import one_line_error

SEMPI = str(Path(sys.executable).parent / "sempi")
FIRM = "Studio Café Srl"
FROM = "segreteria@studiocafe.it"
TO = "mario.rossi@cliente.test"


# --- a real SMTP server ----------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: email.message.EmailMessage


@dataclass
class Handler:
    """Collects what arrives; may refuse recipients or data, or hold a DATA."""

    received: list[Received] = field(default_factory=list)
    rcpt_reply: str | None = None  # e.g. "451 4.3.0 Try again later"
    data_reply: str | None = None
    hold: threading.Event | None = None  # DATA waits for it (set by the test)
    reached: threading.Event = field(default_factory=threading.Event)
    drop_after_data: bool = False  # close the connection instead of answering DATA

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
        if self.data_reply:
            return self.data_reply
        raw = envelope.original_content or envelope.content
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                raw,
                email.message_from_bytes(raw, policy=email.policy.default),
            )
        )
        self.reached.set()
        if self.hold is not None:
            self.hold.wait(timeout=60)  # blocks this server's loop: one client at a time
        if self.drop_after_data:
            server.transport.close()
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpServer:
    handler: Handler
    port: int
    logins: list[tuple[str, str]]

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def start_server(**auth) -> tuple[SmtpServer, object]:  # noqa: ANN003
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    handler = Handler()
    logins: list[tuple[str, str]] = []
    params = {}
    if auth:

        def authenticator(server, session, envelope, mechanism, data):  # noqa: ANN001, ANN202
            login, password = data.login.decode(), data.password.decode()
            logins.append((login, password == auth["password"]))
            right = (login, password) == (auth["user"], auth["password"])
            return AuthResult(success=right, handled=False)  # aiosmtpd answers 235 or 535

        params = {"authenticator": authenticator, "auth_require_tls": False}
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **params)
    controller.start()
    return SmtpServer(handler, port, logins), controller


@pytest.fixture
def smtp():
    server, controller = start_server()
    yield server
    if server.handler.hold is not None:
        server.handler.hold.set()
    controller.stop()


def configure(db, clock, port: int, **extra: str) -> None:  # noqa: ANN001
    """SMTP to the local server, without TLS (allowed for localhost only)."""
    from sempi_cli.services.settings import ConfigService

    config = ConfigService(db, clock, actor(db, ADMIN_EMAIL))
    values = {
        "smtp.host": "127.0.0.1",
        "smtp.port": str(port),
        "smtp.security": "none",
        "smtp.from": FROM,
        **extra,
    }
    for key, value in values.items():
        config.set(key, value)


@pytest.fixture
def firm(db) -> str:
    db.execute("UPDATE firm SET name = ?", (FIRM,))
    return FIRM


@pytest.fixture
def mailer(db, clock, smtp, firm):  # noqa: ANN001
    configure(db, clock, smtp.port)
    return smtp


def outbox(db, clock, who: str = ADMIN_EMAIL):  # noqa: ANN001, ANN201
    from sempi_cli.services.mail import Outbox

    return Outbox(db, clock, actor(db, who))


def queue_credentials(db, clock, n: int = 1, to: str = TO) -> list[int]:  # noqa: ANN001
    box = outbox(db, clock)
    return [
        box.queue("credentials", to, {"full_name": f"Mario Rossi {i}", "email": to})
        for i in range(n)
    ]


def ok(result) -> object:  # noqa: ANN001
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout) if result.stdout.strip() else None


def row(db, mail_id: int) -> sqlite3.Row:  # noqa: ANN001
    return db.execute("SELECT * FROM mail_outbox WHERE id = ?", (mail_id,)).fetchone()


def send(cli, *args: str, **kwargs) -> dict:  # noqa: ANN001, ANN003
    return ok(cli("mail", "send", "--json", *args, **kwargs))


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
    listed = ok(cli("mail", "list", "--status", "failed", "--json"))
    assert [m["id"] for m in listed] == [other, mail_id]
    mailer.handler.rcpt_reply = None
    retried = ok(cli("mail", "retry", str(mail_id), "--json"))
    assert (retried["status"], retried["attempts"]) == ("queued", 0)
    assert send(cli)["sent"] == 1
    assert len(mailer.received) == 1 and row(db, other)["status"] == "failed"
    one_line_error(cli("mail", "retry", str(mail_id)), 5)  # sent: nothing to retry


def test_a_server_that_cannot_be_reached_exits_5_and_counts_an_attempt(
    cli, db, clock, mailer, store_path
):
    configure(db, clock, free_port())  # nobody listens there
    [mail_id] = queue_credentials(db, clock)
    line = one_line_error(cli("mail", "send"), 5)
    assert "cannot reach the SMTP server 127.0.0.1" in line and "refused" in line
    waiting = row(db, mail_id)
    assert (waiting["status"], waiting["attempts"]) == ("queued", 1)
    assert waiting["next_attempt_at"] == "2026-11-16T09:35:00+00:00"
    cli.clock.advance(timedelta(minutes=5))
    configure(db, clock, mailer.port)
    assert send(cli)["sent"] == 1


def test_mail_that_is_not_configured_exits_5(cli, db, clock, firm):
    queue_credentials(db, clock)
    line = one_line_error(cli("mail", "send"), 5)
    assert "smtp.host is empty" in line and "sempi config set smtp.host" in line
    ok(cli("config", "set", "smtp.host", "mail.example.it"))
    ok(cli("config", "set", "smtp.security", "none"))
    assert "allowed only to a relay on this machine" in one_line_error(cli("mail", "send"), 5)
    ok(cli("config", "set", "smtp.security", "starttls"))
    assert "no sender address" in one_line_error(cli("mail", "send"), 5)
    assert row(db, 1)["attempts"] == 0  # nothing was tried


def test_the_sender_refused_is_a_configuration_problem_not_the_messages(cli, db, clock, mailer):
    async def refuse_sender(server, session, envelope, address, mail_options):  # noqa: ANN001, ANN202
        return "553 5.7.1 Sender address rejected: not owned by user"

    mailer.handler.handle_MAIL = refuse_sender
    [mail_id] = queue_credentials(db, clock)
    line = one_line_error(cli("mail", "send"), 5)
    assert "refused the sender" in line and "smtp.from" in line
    waiting = row(db, mail_id)
    assert (waiting["status"], waiting["attempts"]) == ("queued", 0)


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


# --- SMTP connection choices and the password ------------------------------------------


class FakeSMTP:
    calls: list[tuple] = []

    def __init__(self, host, port, timeout=None, context=None):  # noqa: ANN001
        FakeSMTP.calls.append((type(self).__name__, host, port, context is not None))

    def ehlo(self):  # noqa: ANN201
        FakeSMTP.calls.append(("ehlo",))

    def starttls(self, context=None):  # noqa: ANN001, ANN201
        FakeSMTP.calls.append(("starttls", context is not None))

    def login(self, user, password):  # noqa: ANN001, ANN201
        FakeSMTP.calls.append(("login", user))

    def close(self):  # noqa: ANN201
        pass


class FakeSMTP_SSL(FakeSMTP):  # noqa: N801 - named after smtplib's class
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

    from sempi_cli.services.mail_delivery import SmtpConfig, connect

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
        line = one_line_error(cli("mail", "send"), 5)
        assert "no SMTP password" in line and "SEMPI_SMTP_PASSWORD" in line
        monkeypatch.setenv("SEMPI_SMTP_PASSWORD", "a-wrong-smtp-password")
        line = one_line_error(cli("mail", "send"), 5)
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
        line = one_line_error(cli("mail", "send"), 5)
        assert "permissions 0640" in line and "too open" in line and "chmod 600" in line
        link = tmp_path / "link"
        link.symlink_to(secret_file)
        secret_file.chmod(0o600)
        ok(cli("config", "set", "smtp.password_file", str(link)))
        assert "symbolic link" in one_line_error(cli("mail", "send"), 5)
        ok(cli("config", "set", "smtp.password_file", str(secret_file)))
        assert send(cli)["sent"] == 1
        assert server.logins == [("relay", True)]
    finally:
        controller.stop()


# --- reading and deciding --------------------------------------------------------------


@pytest.fixture
def two_practices(db, clock, firm):  # noqa: ANN001
    """Studio Rossi (admin ra@) with client Alfa; Studio Verdi (admin va@) with client Beta."""
    from sempi_cli.services.client_input import ClientInput
    from sempi_cli.services.clients import ClientService
    from sempi_cli.services.studios import StudioService
    from sempi_cli.services.users import UserService

    admin = actor(db, ADMIN_EMAIL)
    users = UserService(db, clock, admin)
    clients = {}
    for n, (studio, who, client) in enumerate(
        (
            ("Studio Rossi", "ra@rossi.test", "Alfa Srl"),
            ("Studio Verdi", "va@verdi.test", "Beta Srl"),
        )
    ):
        studio_id = StudioService(db, clock, admin).add(studio)["id"]
        users.add(who, f"Admin {studio}", "studio-admin", studio=studio_id)
        clients[client] = ClientService(db, clock, admin).add(
            ClientInput(client, studio=studio_id, partita_iva=piva(n))
        )["id"]
    users.add("s1@sempi.test", "Staff One", "staff")
    box = outbox(db, clock)
    return {
        name: box.queue(
            "consent", TO, {"full_name": "Mario", "client": name, "client_id": client_id}
        )
        for name, client_id in clients.items()
    } | {"firm": box.queue("credentials", TO, {"full_name": "Mario", "email": TO})}


def test_who_reads_the_outbox(cli, two_practices):
    ids = two_practices
    everything = ok(cli("mail", "list", "--json"))
    assert [m["id"] for m in everything] == [ids["firm"], ids["Beta Srl"], ids["Alfa Srl"]]
    rossi = ok(cli("mail", "list", "--json", as_user="ra@rossi.test"))
    assert [m["id"] for m in rossi] == [ids["Alfa Srl"]]
    one_line_error(cli("mail", "show", str(ids["Beta Srl"]), as_user="ra@rossi.test"), 3)
    assert ok(cli("mail", "show", str(ids["Alfa Srl"]), "--json", as_user="ra@rossi.test"))
    assert "firm administrator" in one_line_error(cli("mail", "list", as_user="s1@sempi.test"), 8)
    one_line_error(cli("mail", "send", as_user="ra@rossi.test"), 8)
    one_line_error(cli("mail", "retry", str(ids["Beta Srl"]), as_user="ra@rossi.test"), 3)
    assert ok(cli("mail", "list", "--json", "--limit", "1"))[0]["id"] == ids["firm"]
    one_line_error(cli("mail", "list", "--status", "lost"), 6)


def test_show_prints_headers_state_and_body(cli, two_practices):
    result = cli("mail", "show", str(two_practices["Alfa Srl"]))
    assert result.exit_code == 0
    head, _, body = result.stdout.partition("\n\n")
    assert "queued" in head and TO in head and "Richiesta di consenso" in head
    assert body.startswith("Gentile Mario,")


def test_cancel_means_never_sent(cli, db, clock, mailer):
    [mail_id, kept] = queue_credentials(db, clock, 2)
    assert ok(cli("mail", "cancel", str(mail_id), "--json"))["status"] == "cancelled"
    assert send(cli)["sent"] == 1
    assert [r.message["To"] for r in mailer.received] == [TO]
    assert row(db, kept)["status"] == "sent"
    one_line_error(cli("mail", "cancel", str(mail_id)), 5)
    one_line_error(cli("mail", "cancel", "999"), 3)


def test_retry_makes_a_waiting_message_due_now(cli, db, clock, mailer):
    [mail_id] = queue_credentials(db, clock)
    mailer.handler.rcpt_reply = "421 4.7.0 Too many connections"
    send(cli)
    mailer.handler.rcpt_reply = None
    ok(cli("mail", "retry", str(mail_id), "--json"))
    waiting = row(db, mail_id)
    assert (waiting["next_attempt_at"], waiting["attempts"]) == ("2026-11-16T09:30:00+00:00", 1)
    assert send(cli)["sent"] == 1


def test_retry_of_a_message_in_sending_asks_first(cli, db, clock, mailer):
    [mail_id] = queue_credentials(db, clock)
    db.execute("UPDATE mail_outbox SET status = 'sending' WHERE id = ?", (mail_id,))
    assert send(cli)["messages"] == []
    line = one_line_error(cli("mail", "retry", str(mail_id)), 2)
    assert "confirmation needed" in line and "--yes" in line
    assert row(db, mail_id)["status"] == "sending"
    ok(cli("mail", "retry", str(mail_id), "--yes", "--json"))
    assert send(cli)["sent"] == 1


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


def _real_clock():  # noqa: ANN202
    from sempi_cli.clock import FixedClock

    return FixedClock(datetime.now(UTC) - timedelta(minutes=1))


def test_four_senders_at_once_send_each_message_once(store_path, db, clock, smtp, firm, tmp_path):
    configure(db, clock, smtp.port)
    count = 30
    queue_credentials(db, _real_clock(), count)
    env = _env(store_path, tmp_path)
    _login(env)
    jobs = [
        subprocess.Popen(
            [SEMPI, "--json", "mail", "send"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(4)
    ]
    outputs = [job.communicate(timeout=120) for job in jobs]
    assert [job.returncode for job in jobs] == [0] * 4, [err for _, err in outputs]
    sent = [json.loads(out)["sent"] for out, _ in outputs]
    assert sum(sent) == count, sent
    assert len(smtp.received) == count
    assert len({r.message["Message-ID"] for r in smtp.received}) == count
    assert (
        db.execute("SELECT count(*) FROM mail_outbox WHERE status = 'sent'").fetchone()[0] == count
    )


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
    # A person decides: retry sends it (again).
    retry = run_logged([SEMPI, "--yes", "mail", "retry", str(first)], env=env)
    assert retry.returncode == 0, retry.stderr
    final = run_logged([SEMPI, "--json", "mail", "send"], env=env, timeout=120)
    assert json.loads(final.stdout)["sent"] == 1
    assert row(db, first)["status"] == "sent"
    assert [r.message["Message-ID"] for r in smtp.received].count(
        smtp.received[0].message["Message-ID"]
    ) == 2  # the same Message-ID: a mail client can tell it is the same message


def test_erasure_leaves_no_personal_data_in_the_outbox(db, two_practices):
    from sempi_cli.services.mail import erase_personal_data
    from sempi_cli.store import write_transaction

    alfa = db.execute(
        "SELECT client_id FROM mail_outbox WHERE id = ?", (two_practices["Alfa Srl"],)
    )
    with write_transaction(db):
        assert erase_personal_data(db, alfa.fetchone()[0], [TO]) == 3  # all three went to TO
    rows = db.execute("SELECT status, to_address, body FROM mail_outbox").fetchall()
    assert {r["status"] for r in rows} == {"cancelled"}
    assert all(r["to_address"].endswith("@invalid") and r["body"] == "(erased)" for r in rows)
