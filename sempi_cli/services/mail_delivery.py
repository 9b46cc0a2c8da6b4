"""Delivering the outbox through the firm's SMTP server (`sempi mail send`, cron).

Each message is sent at most once. It is claimed (``sending``) in its own
BEGIN IMMEDIATE transaction, committed before a word is said to the server,
so two senders at once never pick the same message; its outcome is recorded
right after the server answers. A sender killed in between leaves the message
in ``sending``: it may have gone out, so nothing sends it again on its own
(`sempi mail retry` does, when a person decides). The same holds when the
connection breaks while the server is receiving the message.

The SMTP password comes from ``SEMPI_SMTP_PASSWORD`` or from the file named
by ``smtp.password_file`` (owner-only, like a session file); never from the
command line, and never in a message or the store.
"""

from __future__ import annotations

import errno
import os
import smtplib
import ssl
import stat
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from sempi_cli.errors import InvalidData, RuleViolation
from sempi_cli.services import identifiers, mail, settings
from sempi_cli.services.access import require_firm_admin
from sempi_cli.services.base import Service

PASSWORD_ENV = "SEMPI_SMTP_PASSWORD"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
TIMEOUT_SECONDS = 30
RUN_COLUMNS = ("id", "to_address", "subject", "outcome", "error")


class MailUnavailable(RuleViolation):
    """Mail cannot be sent now: SMTP not configured, unreachable, or refusing us
    (exit 5, docs/mail.md). The messages stay in the outbox."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # starttls | tls | none
    user: str
    password: str | None = field(repr=False)
    from_name: str
    from_address: str

    @classmethod
    def load(cls, db, *, environ: dict[str, str] | None = None) -> SmtpConfig:  # noqa: ANN001
        """The settings, checked; refuses (exit 5) what cannot work."""
        from email.utils import parseaddr

        environ = os.environ if environ is None else environ
        host = settings.get(db, "smtp.host").strip()
        if not host:
            raise MailUnavailable(
                "mail is not configured: smtp.host is empty",
                "set it with 'sempi config set smtp.host mail.example.it' (and smtp.port,"
                " smtp.security, smtp.user, smtp.from); see docs/mail.md",
            )
        security = settings.get(db, "smtp.security")
        if security == "none" and host.lower() not in LOCAL_HOSTS:
            raise MailUnavailable(
                f"smtp.security none sends mail and password in clear: allowed only to a relay"
                f" on this machine (localhost), not to {host}",
                "use 'sempi config set smtp.security starttls' (port 587) or tls (port 465)",
            )
        user = settings.get(db, "smtp.user").strip()
        password = _password(db, environ) if user else None
        name, address = parseaddr(settings.get(db, "smtp.from"))
        if not address and "@" in user:
            address = user
        if not address:
            raise MailUnavailable(
                "mail is not configured: no sender address",
                "set one with 'sempi config set smtp.from \"Studio Rossi <scadenze@studio.it>\"'",
            )
        try:
            address = identifiers.email(address, field="smtp.from")
        except InvalidData as exc:
            raise MailUnavailable(f"mail is not configured: {exc.message}") from None
        return cls(
            host=host,
            port=int(settings.get(db, "smtp.port")),
            security=security,
            user=user,
            password=password,
            from_name=name.strip() or mail.firm_name(db),
            from_address=address,
        )


def _password(db, environ: dict[str, str]) -> str:  # noqa: ANN001
    from_env = environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    path = settings.get(db, "smtp.password_file").strip()
    if not path:
        raise MailUnavailable(
            "smtp.user is set but there is no SMTP password",
            f"put it in {PASSWORD_ENV} or in a file (mode 0600) named by smtp.password_file",
        )
    return read_password_file(Path(path).expanduser())


def read_password_file(path: Path) -> str:
    """The first line of an owner-only regular file (ssh's rule for a private key)."""
    hint = f"run 'chmod 600 {path}' as its owner"
    try:
        # O_NOFOLLOW: a link planted in place of the file is refused; O_NONBLOCK: a FIFO
        # does not hang the job.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise MailUnavailable(
                f"the SMTP password file '{path}' is a symbolic link", "name the file itself"
            ) from None
        raise MailUnavailable(
            f"cannot read the SMTP password file '{path}' ({exc.strerror})"
        ) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise MailUnavailable(f"the SMTP password file '{path}' is not a regular file")
        if info.st_uid != os.geteuid():
            raise MailUnavailable(
                f"the SMTP password file '{path}' belongs to uid {info.st_uid}, not to you",
                "keep it owned by the account that runs 'sempi mail send'",
            )
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise MailUnavailable(
                f"permissions {mode:04o} for the SMTP password file '{path}' are too open:"
                " others may read the password",
                hint,
            )
        text = fh.read(4096).decode("utf-8", errors="strict").splitlines()
    password = text[0] if text else ""
    if not password:
        raise MailUnavailable(f"the SMTP password file '{path}' is empty")
    return password


def connect(config: SmtpConfig, timeout: float = TIMEOUT_SECONDS) -> smtplib.SMTP:
    """An open, authenticated connection: implicit TLS (SMTP_SSL) for ``tls``,
    STARTTLS (refused if the server does not offer it) for ``starttls``, plain
    only to a local relay. Certificates are verified against the system's CAs."""
    context = ssl.create_default_context()
    server: smtplib.SMTP
    if config.security == "tls":
        server = smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=context)
    else:
        server = smtplib.SMTP(config.host, config.port, timeout=timeout)
    try:
        server.ehlo()
        if config.security == "starttls":
            server.starttls(context=context)  # raises if the server does not offer it
            server.ehlo()
        if config.user:
            server.login(config.user, config.password or "")
    except BaseException:
        server.close()
        raise
    return server


def build_message(config: SmtpConfig, item: dict, now) -> EmailMessage:  # noqa: ANN001
    """The message as it goes out: UTF-8 text, headers encoded by the SMTP policy."""
    from email.headerregistry import Address
    from email.utils import format_datetime

    from sempi_cli.clock import ROME

    local, _, domain = config.from_address.partition("@")
    message = EmailMessage()
    message["From"] = Address(config.from_name, local, domain)
    message["To"] = item["to_address"]
    message["Subject"] = item["subject"]
    message["Date"] = format_datetime(now.astimezone(ROME))
    message["Message-ID"] = item["message_id"]
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(item["body"], subtype="plain", charset="utf-8", cte="quoted-printable")
    return message


class _InDoubt(Exception):
    """The connection broke while the server was receiving the message."""


class MailSender(Service):
    def send(self, *, limit: int | None = None, dry_run: bool = False) -> dict:
        """Deliver the due messages; returns the counts and one row per message."""
        require_firm_admin(self.actor, "send the outbox")
        if limit is not None and limit < 1:
            raise InvalidData("--limit", "must be at least 1")
        config = SmtpConfig.load(self.db)
        result: dict = {"sent": 0, "deferred": 0, "failed": 0, "in_doubt": 0, "messages": []}
        if dry_run:
            due = mail.due_messages(self.db, self.now(), limit)
            result["due"] = len(due)
            result["messages"] = [{**m, "outcome": "due", "error": None} for m in due]
            return result
        if not mail.due_count(self.db, self.now()):
            return result  # nothing to do: no connection at all
        server = self._connect(config)
        try:
            self._deliver_all(server, config, limit, result)
        finally:
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()
        return result

    def _connect(self, config: SmtpConfig) -> smtplib.SMTP:
        where = f"{config.host}:{config.port}"
        try:
            return connect(config)
        except smtplib.SMTPAuthenticationError as exc:
            # Problems of the configuration: the messages keep their attempts.
            raise MailUnavailable(
                f"the SMTP server {where} refused the login of {config.user!r}: {_reply(exc)}",
                f"check smtp.user and the password ({PASSWORD_ENV} or smtp.password_file)",
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise MailUnavailable(
                f"the SMTP server {where} does not offer STARTTLS",
                "use smtp.security tls (port 465) if it speaks TLS from the start",
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            error = f"cannot reach the SMTP server {where}: {_describe(exc)}"
            # Unreachable counts as a temporary failure of every due message.
            with self.transaction():
                max_attempts = int(settings.get(self.db, "mail.max_attempts"))
                for item in mail.due_messages(self.db, self.now()):
                    status = mail.mark_temporary_failure(
                        self.db, item["id"], self.clock.now(), error, max_attempts
                    )
                    if status == "failed":
                        self.audit("failed", "mail", item["id"])
            raise MailUnavailable(
                error, "the messages stay queued and are tried again by the next run"
            ) from None

    def _deliver_all(
        self, server: smtplib.SMTP, config: SmtpConfig, limit: int | None, result: dict
    ) -> None:
        from email.utils import make_msgid

        domain = config.from_address.partition("@")[2]
        max_attempts = int(settings.get(self.db, "mail.max_attempts"))
        while limit is None or len(result["messages"]) < limit:
            with self.transaction():
                item = mail.claim_next(self.db, self.now(), lambda: make_msgid(domain=domain))
            if item is None:
                return
            row = {k: item[k] for k in ("id", "to_address", "subject")}
            result["messages"].append(row)
            outcome, error, stop = self._deliver_one(server, config, item)
            with self.transaction():
                if outcome == "sent":
                    mail.mark_sent(self.db, item["id"], self.now())
                    self.audit("sent", "mail", item["id"])
                elif outcome == "deferred":
                    if (
                        mail.mark_temporary_failure(
                            self.db, item["id"], self.clock.now(), error, max_attempts
                        )
                        == "failed"
                    ):
                        outcome = "failed"
                        self.audit("failed", "mail", item["id"])
                elif outcome == "failed":
                    mail.mark_permanent_failure(self.db, item["id"], error)
                    self.audit("failed", "mail", item["id"])
                elif outcome == "in_doubt":
                    mail.mark_in_doubt(self.db, item["id"], error)
                    self.audit("in_doubt", "mail", item["id"])
                else:  # "released": the server refused our sender address
                    mail.release(self.db, item["id"], error)
            row.update(outcome=outcome, error=error)
            if outcome in result:
                result[outcome] += 1
            if stop:
                if outcome == "released":
                    raise MailUnavailable(
                        error, "check smtp.from; the messages stay queued, no attempt counted"
                    )
                return

    def _deliver_one(
        self, server: smtplib.SMTP, config: SmtpConfig, item: dict
    ) -> tuple[str, str | None, bool]:
        """(outcome, error, stop the run). Each SMTP step is separate so that a
        failure is known to come before or after the message was handed over."""
        message = build_message(config, item, self.clock.now())
        data = message.as_bytes(policy=_smtp_policy())
        try:
            code, reply = server.mail(config.from_address)
            if code != 250:
                server.rset()
                return "released", f"the server refused the sender: {code} {_text(reply)}", True
            code, reply = server.rcpt(item["to_address"])
            if code not in (250, 251):
                server.rset()
                kind = "deferred" if 400 <= code < 500 else "failed"
                return kind, f"recipient refused: {code} {_text(reply)}", False
            try:
                code, reply = server.data(data)
            except smtplib.SMTPDataError as exc:
                server.rset()
                kind = "deferred" if 400 <= exc.smtp_code < 500 else "failed"
                return kind, f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}", False
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                raise _InDoubt(_describe(exc)) from exc
            if code != 250:  # the server answered the message itself: not delivered
                server.rset()
                kind = "deferred" if 400 <= code < 500 else "failed"
                return kind, f"message refused: {code} {_text(reply)}", False
        except _InDoubt as exc:
            return (
                "in_doubt",
                f"the connection broke while the server was receiving the message ({exc}):"
                " it may have been delivered; check, then 'sempi mail retry' or 'mail cancel'",
                True,
            )
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            return "deferred", f"connection lost: {_describe(exc)}", True
        except smtplib.SMTPResponseException as exc:
            kind = "deferred" if 400 <= exc.smtp_code < 500 else "failed"
            return kind, f"{exc.smtp_code} {_text(exc.smtp_error)}", False
        return "sent", None, False


def _smtp_policy():  # noqa: ANN202
    from email.policy import SMTP

    return SMTP


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return " ".join(str(exc).split()) or type(exc).__name__
