"""Helpers the test modules share (fixtures are in conftest.py).

A test module imports from here and from conftest.py, never from another test module.
"""

from __future__ import annotations

import email
import email.policy
import json as jsonlib
import socket
import sqlite3
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ADMIN_EMAIL, actor

SEMPI = str(Path(sys.executable).parent / "sempi")  # the installed command, for real processes

# --- what a command returned ---------------------------------------------------------


def ok(result, *, json: bool = False):
    """The command succeeded (exit code 0). Returns the result, or with ``json=True``
    its standard output parsed as JSON (None when the command printed nothing)."""
    assert result.exit_code == 0, (result.stdout, result.stderr)
    if not json:
        return result
    return jsonlib.loads(result.stdout) if result.stdout.strip() else None


def data(result):
    """The command succeeded and printed JSON: the parsed output (nothing is not JSON)."""
    return jsonlib.loads(ok(result).stdout)


def assert_one_line_error(result, code: int, *fragments: str) -> str:
    """The command failed with exit code ``code`` and said why in exactly one line on
    stderr, starting with "Error: " and containing every one of ``fragments``; no
    traceback anywhere. Returns that line. Takes an in-process result (``exit_code``)
    or a finished subprocess (``returncode``)."""
    exit_code = result.exit_code if hasattr(result, "exit_code") else result.returncode
    assert exit_code == code, (exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Error: "), line
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


# --- mail: a real SMTP server ----------------------------------------------------------------


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
    # Run while the sender waits for the reply to RCPT / DATA (what a person does meanwhile).
    on_rcpt: Callable[[], None] | None = None
    on_data: Callable[[], None] | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.on_rcpt:
            self.on_rcpt()
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.on_data:
            self.on_data()
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


def start_server(**auth) -> tuple[SmtpServer, object]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    handler = Handler()
    logins: list[tuple[str, str]] = []
    params = {}
    if auth:

        def authenticator(server, session, envelope, mechanism, data):
            login, password = data.login.decode(), data.password.decode()
            logins.append((login, password == auth["password"]))
            right = (login, password) == (auth["user"], auth["password"])
            return AuthResult(success=right, handled=False)  # aiosmtpd answers 235 or 535

        params = {"authenticator": authenticator, "auth_require_tls": False}
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **params)
    controller.start()
    return SmtpServer(handler, port, logins), controller


FIRM = "Studio Café Srl"
FROM = "segreteria@studiocafe.it"
TO = "mario.rossi@cliente.test"


def configure(db, clock, port: int, **extra: str) -> None:
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


def outbox(db, clock, who: str = ADMIN_EMAIL):
    from sempi_cli.services.mail.outbox import Outbox

    return Outbox(db, clock, actor(db, who))


def queue_credentials(db, clock, n: int = 1, to: str = TO) -> list[int]:
    box = outbox(db, clock)
    return [
        box.queue("credentials", to, {"full_name": f"Mario Rossi {i}", "email": to})
        for i in range(n)
    ]


def row(db, mail_id: int) -> sqlite3.Row:
    return db.execute("SELECT * FROM mail_outbox WHERE id = ?", (mail_id,)).fetchone()
