"""Delivering the outbox through the firm's SMTP server (`sempi mail send`, cron).

Each message is sent at most once. It is claimed (``sending``) in its own
BEGIN IMMEDIATE transaction, committed before a word is said to the server,
so two senders at once never pick the same message; its outcome is recorded
right after the server answers. A sender killed in between leaves the message
in ``sending``: it may have gone out, so nothing sends it again on its own
(`sempi mail retry` does, when a person decides). The same holds when the
connection breaks while the server is receiving the message.

What is wrong with the configuration (no host, a bad host name, a password
SMTP cannot send, a certificate not trusted, the login or our sender refused)
stops the job with exit 5 and costs the messages no attempt; only a server
that cannot be reached, or refuses a message, counts one.

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
from email.errors import MessageError
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
BUILD_FAILED = "the message could not be built (a malformed header or body)"


class MailUnavailable(RuleViolation):
    """Mail cannot be sent now: SMTP not configured, unreachable, or refusing us
    (exit 5, docs/mail.md). The messages stay in the outbox."""


class MailRunStopped(MailUnavailable):
    """The run stopped part-way; ``result`` says what it did before (the CLI shows it)."""

    def __init__(self, error: MailUnavailable, result: dict) -> None:
        super().__init__(error.message, error.hint)
        self.result = result


def _printable_ascii(text: str) -> bool:
    return all(" " <= c <= "~" for c in text)


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
        host = _host(db)
        security = settings.get(db, "smtp.security")
        if security == "none" and host.lower() not in LOCAL_HOSTS:
            raise MailUnavailable(
                f"smtp.security none sends mail and password in clear: allowed only to a relay"
                f" on this machine (localhost), not to {host}",
                "use 'sempi config set smtp.security starttls' (port 587) or tls (port 465)",
            )
        user = settings.get(db, "smtp.user").strip()
        if not _printable_ascii(user):
            raise MailUnavailable(
                "smtp.user has characters an SMTP login cannot carry (only printable ASCII)",
                "set the login the server gave you with 'sempi config set smtp.user'",
            )
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
            from_name=" ".join(name.split()) or mail.firm_name(db),
            from_address=address,
        )


def _host(db) -> str:  # noqa: ANN001
    """smtp.host, checked again: a value stored before `config set` checked it."""
    host = settings.get(db, "smtp.host").strip()
    if not host:
        raise MailUnavailable(
            "mail is not configured: smtp.host is empty",
            "set it with 'sempi config set smtp.host mail.example.it' (and smtp.port,"
            " smtp.security, smtp.user, smtp.from); see docs/mail.md",
        )
    try:
        return settings.SETTINGS["smtp.host"].validate(host)
    except InvalidData as exc:
        raise MailUnavailable(f"mail is not configured: {exc.message}", exc.hint) from None


def _password(db, environ: dict[str, str]) -> str:  # noqa: ANN001
    password = environ.get(PASSWORD_ENV)
    if not password:
        path = settings.get(db, "smtp.password_file").strip()
        if not path:
            raise MailUnavailable(
                "smtp.user is set but there is no SMTP password",
                f"put it in {PASSWORD_ENV} or in a file (mode 0600) named by smtp.password_file",
            )
        password = read_password_file(Path(path).expanduser())
    if not _printable_ascii(password):  # smtplib's login sends ASCII only
        raise MailUnavailable(
            "the SMTP password has a character an SMTP login cannot carry (only printable ASCII)",
            "give the account a password of letters, digits and ASCII symbols",
        )
    return password


def read_password_file(path: Path) -> str:
    """The first line of an owner-only regular file (ssh's rule for a private key).
    No message ever quotes what the file holds."""
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
    try:
        _check_private(path, os.fstat(fd))  # before fdopen, which refuses a directory
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read(4096)
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise MailUnavailable(
            f"the SMTP password file '{path}' is not UTF-8 text",
            "write the password on its first line, as plain text",
        ) from None
    if not lines or not lines[0]:
        raise MailUnavailable(f"the SMTP password file '{path}' is empty")
    return lines[0]


def _check_private(path: Path, info: os.stat_result) -> None:
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
            f"run 'chmod 600 {path}' as its owner",
        )


def connect(config: SmtpConfig, timeout: float = TIMEOUT_SECONDS) -> smtplib.SMTP:
    """An open, authenticated connection: implicit TLS (SMTP_SSL) for ``tls``,
    STARTTLS (refused if the server does not offer it) for ``starttls``, plain
    only to a local relay. Certificates are verified against the system's CAs.

    Raises MailUnavailable for what the configuration must fix (no attempt is
    counted); smtplib's and the socket's errors when the server is unreachable."""
    where = f"{config.host}:{config.port}"
    context = ssl.create_default_context()
    try:
        if config.security == "tls":
            server = smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=context)
        else:
            server = smtplib.SMTP(config.host, config.port, timeout=timeout)
    except ssl.SSLCertVerificationError as exc:
        raise _untrusted(where, exc) from None
    except (UnicodeError, ValueError):  # a host name the resolver cannot even encode
        raise MailUnavailable(
            f"smtp.host {config.host!r} is not a usable host name",
            "set the server's name with 'sempi config set smtp.host'",
        ) from None
    try:
        _greet(server, config, context, where)
    except ssl.SSLCertVerificationError as exc:
        server.close()
        raise _untrusted(where, exc) from None
    except BaseException:
        server.close()
        raise
    return server


def _greet(server: smtplib.SMTP, config: SmtpConfig, context: ssl.SSLContext, where: str) -> None:
    server.ehlo()
    if config.security == "starttls":
        try:
            server.starttls(context=context)
        except smtplib.SMTPNotSupportedError:
            raise MailUnavailable(
                f"the SMTP server {where} does not offer STARTTLS",
                "use smtp.security tls (port 465) if it speaks TLS from the start",
            ) from None
        server.ehlo()
    if config.user:
        _login(server, config, where)


def _login(server: smtplib.SMTP, config: SmtpConfig, where: str) -> None:
    hint = f"check smtp.user and the password ({PASSWORD_ENV} or smtp.password_file)"
    try:
        server.login(config.user, config.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise MailUnavailable(
            f"the SMTP server {where} refused the login of {config.user!r}: {_reply(exc)}", hint
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise MailUnavailable(
            f"the SMTP server {where} offers no login (AUTH)",
            "leave smtp.user empty if it needs none; many servers offer AUTH only over TLS",
        ) from None
    except UnicodeError:  # never the exception's text: it quotes the password
        raise MailUnavailable(
            "the SMTP login or password has a character SMTP cannot carry", hint
        ) from None
    except smtplib.SMTPException as exc:
        if isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPServerDisconnected):
            raise
        raise MailUnavailable(
            f"the SMTP server {where} offers no login method sempi can use"
            " (PLAIN, LOGIN or CRAM-MD5)"
        ) from None


def _untrusted(where: str, exc: ssl.SSLCertVerificationError) -> MailUnavailable:
    return MailUnavailable(
        f"the SMTP server {where}: certificate not trusted: {exc.verify_message}",
        "check smtp.host (the name on the certificate); a private authority must be in the"
        " system's store (or SSL_CERT_FILE)",
    )


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
        """Deliver the due messages; returns the counts and one row per message.
        The SMTP settings are read only when there is something to send."""
        require_firm_admin(self.actor, "send the outbox")
        if limit is not None and limit < 1:
            raise InvalidData("--limit", "must be at least 1")
        result: dict = {"sent": 0, "deferred": 0, "failed": 0, "in_doubt": 0, "messages": []}
        if dry_run:
            for m in mail.due_messages(self.db, self.now(), limit):
                m["outcome"], m["error"] = "expired" if m.pop("expired") else "due", None
                result["messages"].append(m)
            result["due"] = sum(m["outcome"] == "due" for m in result["messages"])
            return result
        with self.transaction():
            for mail_id in mail.fail_expired_invitations(self.db, self.now()):
                self.audit("failed", "mail", mail_id, reason="invitation expired")
        if not mail.due_messages(self.db, self.now(), 1):
            return result  # nothing to do: no configuration needed, no connection
        config = SmtpConfig.load(self.db)
        server = self._connect(config)
        try:
            self._deliver_all(server, config, limit, result)
        except MailUnavailable as exc:
            raise MailRunStopped(exc, result) from None
        finally:
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()
        return result

    def _connect(self, config: SmtpConfig) -> smtplib.SMTP:
        try:
            return connect(config)
        except (smtplib.SMTPException, OSError) as exc:
            error = f"cannot reach the SMTP server {config.host}:{config.port}: {_describe(exc)}"
            # Unreachable counts as a temporary failure of every due message.
            with self.transaction():
                max_attempts = int(settings.get(self.db, "mail.max_attempts"))
                for item in mail.due_messages(self.db, self.now()):
                    status = mail.mark_failure(
                        self.db, item["id"], None, error,
                        retry_at=self.clock.now(), max_attempts=max_attempts,
                    )  # fmt: skip
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
            outcome, error, stop = self._deliver_one(server, config, item)
            outcome = self._record(item, outcome, error, max_attempts)
            row = {k: item[k] for k in ("id", "to_address", "subject")}
            result["messages"].append({**row, "outcome": outcome, "error": error})
            if outcome in result:
                result[outcome] += 1
            if outcome == "released":
                raise MailUnavailable(
                    error, "check smtp.from; the messages stay queued, no attempt counted"
                )
            if stop:
                return

    def _record(self, item: dict, outcome: str, error: str | None, max_attempts: int) -> str:
        """Write the outcome back under the claim; 'taken_over' when a person took a
        stale claim meanwhile (their decision stands, unless it was delivered)."""
        mail_id, claim = item["id"], item["claimed_at"]
        with self.transaction():
            if outcome == "sent":
                ours = mail.mark_sent(self.db, mail_id, claim, self.now())
                self.audit("sent", "mail", mail_id, **({} if ours else {"claim_lost": True}))
                return "sent"
            if outcome in ("paused", "released", "in_doubt"):  # no attempt counted
                status = mail.let_go(
                    self.db, mail_id, claim, error or "", requeue=outcome != "in_doubt"
                )
            else:
                retry_at = self.clock.now() if outcome == "deferred" else None
                status = mail.mark_failure(
                    self.db, mail_id, claim, error or "", retry_at=retry_at,
                    max_attempts=max_attempts,
                )  # fmt: skip
            if status is None:
                return "taken_over"
            outcome = "failed" if status == "failed" else outcome
            if outcome in ("failed", "in_doubt"):
                self.audit(outcome, "mail", mail_id)
        return "deferred" if outcome == "paused" else outcome

    def _deliver_one(
        self, server: smtplib.SMTP, config: SmtpConfig, item: dict
    ) -> tuple[str, str | None, bool]:
        """(outcome, error, stop the run). Each SMTP step is separate so that a
        failure is known to come before or after the message was handed over."""
        if item["body"] is None:
            return "failed", f"not sent: {mail.SECRET_GONE}", False
        try:
            data = build_message(config, item, self.clock.now()).as_bytes(policy=_smtp_policy())
        except (ValueError, TypeError, MessageError):
            return "failed", BUILD_FAILED, False
        try:
            code, reply = server.mail(config.from_address)
            if code != 250:
                server.rset()
                if 400 <= code < 500:  # "421 too many messages": this session, not the message
                    return (
                        "paused",
                        f"the server refused the sender for now: {code} {_text(reply)}",
                        True,
                    )
                return "released", f"the server refused the sender: {code} {_text(reply)}", True
            code, reply = server.rcpt(item["to_address"])
            if code not in (250, 251):
                server.rset()
                return _kind(code), f"recipient refused: {code} {_text(reply)}", False
            try:
                code, reply = server.data(data)
            except smtplib.SMTPDataError as exc:
                server.rset()
                return _kind(exc.smtp_code), f"message refused: {_reply(exc)}", False
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                raise _InDoubt(_describe(exc)) from exc
            if code != 250:  # the server answered the message itself: not delivered
                server.rset()
                return _kind(code), f"message refused: {code} {_text(reply)}", False
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
            return _kind(exc.smtp_code), _reply(exc), False
        return "sent", None, False


def _kind(code: int) -> str:
    return "deferred" if 400 <= code < 500 else "failed"


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
