"""`sempi mail send` over TLS, against a real aiosmtpd server on 127.0.0.1.

The server's certificate is self-signed, made by `openssl req` for this test
session (IP 127.0.0.1 in its subjectAltName). Not trusted, it is refused as a
configuration problem: exit 5, no attempt counted, nothing sent. Trusted
(``SSL_CERT_FILE`` names it, as a private authority would be installed), the
message goes out, the login with it. Both ``tls`` (implicit TLS, SMTP_SSL) and
``starttls``.
"""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from tests.conftest import register_secret
from tests.helpers import (
    FROM,
    TO,
    Handler,
    assert_one_line_error,
    free_port,
    ok,
    queue_credentials,
    row,
)

pytestmark = pytest.mark.slow  # openssl makes the server's certificate; real TLS servers

USER = "relay@studiocafe.it"


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(certificate, key): self-signed, valid two days, for 127.0.0.1 only."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=sempi test server",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture(params=["tls", "starttls"])
def tls_server(request, certificate, monkeypatch):
    """(security, port, handler, logins): a TLS server with a login over TLS only."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    # Only the system's authorities, whatever the environment running the tests says.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    password = register_secret("smtp-password-over-tls", "the SMTP password")
    logins: list[str] = []

    def authenticator(server, session, envelope, mechanism, data):
        logins.append(data.login.decode())
        right = (data.login.decode(), data.password.decode()) == (USER, password)
        return AuthResult(success=right, handled=False)

    security = request.param
    handler, port = Handler(), free_port()
    tls = {"ssl_context": context} if security == "tls" else {"tls_context": context}
    # aiosmtpd offers AUTH "over TLS only" after STARTTLS alone; with implicit TLS
    # everything, the login included, is encrypted from the first byte anyway.
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
        auth_require_tls=security == "starttls", **tls,
    )  # fmt: skip
    controller.start()
    monkeypatch.setenv("SEMPI_SMTP_PASSWORD", password)
    yield security, port, handler, logins
    controller.stop()


def configure_tls(cli, security: str, port: int, host: str = "127.0.0.1") -> None:
    for key, value in {
        "smtp.host": host,
        "smtp.port": str(port),
        "smtp.security": security,
        "smtp.user": USER,
        "smtp.from": FROM,
    }.items():
        ok(cli("config", "set", key, value))


def test_an_untrusted_certificate_is_a_configuration_problem(cli, db, clock, tls_server):
    security, port, handler, logins = tls_server
    configure_tls(cli, security, port)
    [mail_id] = queue_credentials(db, clock)
    line = assert_one_line_error(cli("mail", "send"), 5)
    assert f"the SMTP server 127.0.0.1:{port}: certificate not trusted" in line
    assert "self-signed certificate" in line and "cannot reach" not in line
    waiting = row(db, mail_id)
    assert (waiting["status"], waiting["attempts"], waiting["last_error"]) == ("queued", 0, None)
    assert handler.received == [] and logins == []  # the password never left


def test_a_certificate_for_another_name_is_refused(
    cli,
    db,
    clock,
    tls_server,
    certificate,
    monkeypatch,
):
    security, port, handler, _ = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # trusted, but not for that name
    configure_tls(cli, security, port, host="localhost")  # the certificate names 127.0.0.1
    [mail_id] = queue_credentials(db, clock)
    line = assert_one_line_error(cli("mail", "send"), 5)
    assert "certificate not trusted" in line and "localhost" in line
    assert row(db, mail_id)["attempts"] == 0 and handler.received == []


def test_a_trusted_certificate_delivers_and_logs_in_over_tls(
    cli,
    db,
    clock,
    tls_server,
    certificate,
    monkeypatch,
):
    security, port, handler, logins = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # a private authority, trusted
    configure_tls(cli, security, port)
    [mail_id] = queue_credentials(db, clock)
    result = cli("mail", "send", "--json")
    assert ok(result, json=True)["sent"] == 1, result.stderr
    assert logins == [USER]
    [received] = handler.received
    assert received.rcpt_tos == [TO] and received.mail_from == FROM
    assert row(db, mail_id)["status"] == "sent"
