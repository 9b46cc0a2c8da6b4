"""The firm's SMTP server: its settings (`sempi config set smtp.*`), the password
(from ``SEMPI_SMTP_PASSWORD`` or an owner-only file, never argv, never shown),
the connection (TLS or STARTTLS with the system's trusted authorities), and the
message as it goes out. What is wrong here is a configuration problem
(MailUnavailable, exit 5) that costs the outbox's messages no attempt.
"""

from __future__ import annotations

import errno
import os
import smtplib
import ssl
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from sempi_cli.errors import InvalidData, RuleViolation
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import identifiers, settings
from sempi_cli.services.mail.templates import firm_name

PASSWORD_ENV = "SEMPI_SMTP_PASSWORD"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
TIMEOUT_SECONDS = 30
NOT_CONFIGURED = N_("mail is not configured: {problem}")


class MailUnavailable(RuleViolation):
    """Mail cannot be sent now: SMTP not configured, unreachable, or refusing us
    (exit 5, docs/mail.md). The messages stay in the outbox."""


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
    def load(cls, db, *, environ: Mapping[str, str] | None = None) -> SmtpConfig:
        """The settings, checked; refuses (exit 5) what cannot work."""
        from email.utils import parseaddr

        environ = os.environ if environ is None else environ
        host = _host(db)
        security = settings.get(db, "smtp.security")
        if security == "none" and host.lower() not in LOCAL_HOSTS:
            raise MailUnavailable(
                _(
                    "smtp.security none sends mail and password in clear: allowed only to a relay"
                    " on this machine (localhost), not to {host}"
                ).format(host=host),
                _("use 'sempi config set smtp.security starttls' (port 587) or tls (port 465)"),
            )
        user = settings.get(db, "smtp.user").strip()
        if not _printable_ascii(user):
            raise MailUnavailable(
                _("smtp.user has characters an SMTP login cannot carry (only printable ASCII)"),
                _("set the login the server gave you with 'sempi config set smtp.user'"),
            )
        password = _password(db, environ) if user else None
        name, address = parseaddr(settings.get(db, "smtp.from"))
        if not address and "@" in user:
            address = user
        if not address:
            raise MailUnavailable(
                _("mail is not configured: no sender address"),
                _(
                    "set one with 'sempi config set smtp.from"
                    ' "Studio Rossi <scadenze@studio.it>"\''
                ),
            )
        try:
            address = identifiers.email(address, field="smtp.from")
        except InvalidData as exc:
            raise MailUnavailable(_(NOT_CONFIGURED).format(problem=exc.message)) from None
        return cls(
            host=host,
            port=int(settings.get(db, "smtp.port")),
            security=security,
            user=user,
            password=password,
            from_name=" ".join(name.split()) or firm_name(db),
            from_address=address,
        )


def _host(db) -> str:
    """smtp.host, checked again: a value stored before `config set` checked it."""
    host = settings.get(db, "smtp.host").strip()
    if not host:
        raise MailUnavailable(
            _("mail is not configured: smtp.host is empty"),
            _(
                "set it with 'sempi config set smtp.host mail.example.it' (and smtp.port,"
                " smtp.security, smtp.user, smtp.from); see docs/mail.md"
            ),
        )
    try:
        return settings.SETTINGS["smtp.host"].validate(host)
    except InvalidData as exc:
        raise MailUnavailable(_(NOT_CONFIGURED).format(problem=exc.message), exc.hint) from None


def _password(db, environ: Mapping[str, str]) -> str:
    password = environ.get(PASSWORD_ENV)
    if not password:
        path = settings.get(db, "smtp.password_file").strip()
        if not path:
            raise MailUnavailable(
                _("smtp.user is set but there is no SMTP password"),
                _(
                    "put it in {variable} or in a file (mode 0600) named by smtp.password_file"
                ).format(variable=PASSWORD_ENV),
            )
        password = read_password_file(Path(path).expanduser())
    if not _printable_ascii(password):  # smtplib's login sends ASCII only
        raise MailUnavailable(
            _(
                "the SMTP password has a character an SMTP login cannot carry"
                " (only printable ASCII)"
            ),
            _("give the account a password of letters, digits and ASCII symbols"),
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
                _("the SMTP password file '{path}' is a symbolic link").format(path=path),
                _("name the file itself"),
            ) from None
        raise MailUnavailable(
            _("cannot read the SMTP password file '{path}' ({reason})").format(
                path=path, reason=exc.strerror
            )
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
            _("the SMTP password file '{path}' is not UTF-8 text").format(path=path),
            _("write the password on its first line, as plain text"),
        ) from None
    if not lines or not lines[0]:
        raise MailUnavailable(_("the SMTP password file '{path}' is empty").format(path=path))
    return lines[0]


def _check_private(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise MailUnavailable(
            _("the SMTP password file '{path}' is not a regular file").format(path=path)
        )
    if info.st_uid != os.geteuid():
        raise MailUnavailable(
            _("the SMTP password file '{path}' belongs to uid {uid}, not to you").format(
                path=path, uid=info.st_uid
            ),
            _("keep it owned by the account that runs 'sempi mail send'"),
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise MailUnavailable(
            _(
                "permissions {mode} for the SMTP password file '{path}' are too open:"
                " others may read the password"
            ).format(mode=f"{mode:04o}", path=path),
            _("run 'chmod 600 {path}' as its owner").format(path=path),
        )


def connect(config: SmtpConfig, timeout: float = TIMEOUT_SECONDS) -> smtplib.SMTP:
    """An open, authenticated connection: implicit TLS (SMTP_SSL) for ``tls``,
    STARTTLS (refused if the server does not offer it) for ``starttls``, plain
    only to a local relay. Certificates are verified against the system's CAs.

    Raises MailUnavailable for what the configuration must fix (no attempt is
    counted); smtplib's and the socket's errors when the server is unreachable."""
    where = f"{config.host}:{config.port}"
    context = ssl.create_default_context()
    server: smtplib.SMTP
    try:
        if config.security == "tls":
            server = smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=context)
        else:
            server = smtplib.SMTP(config.host, config.port, timeout=timeout)
    except ssl.SSLCertVerificationError as exc:
        raise _untrusted(where, exc) from None
    except (UnicodeError, ValueError):  # a host name the resolver cannot even encode
        raise MailUnavailable(
            _("smtp.host {host} is not a usable host name").format(host=repr(config.host)),
            _("set the server's name with 'sempi config set smtp.host'"),
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
                _("the SMTP server {where} does not offer STARTTLS").format(where=where),
                _("use smtp.security tls (port 465) if it speaks TLS from the start"),
            ) from None
        server.ehlo()
    if config.user:
        _login(server, config, where)


def _login(server: smtplib.SMTP, config: SmtpConfig, where: str) -> None:
    hint = _("check smtp.user and the password ({variable} or smtp.password_file)").format(
        variable=PASSWORD_ENV
    )
    try:
        server.login(config.user, config.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise MailUnavailable(
            _("the SMTP server {where} refused the login of {user}: {reply}").format(
                where=where, user=repr(config.user), reply=reply_of(exc)
            ),
            hint,
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise MailUnavailable(
            _("the SMTP server {where} offers no login (AUTH)").format(where=where),
            _("leave smtp.user empty if it needs none; many servers offer AUTH only over TLS"),
        ) from None
    except UnicodeError:  # never the exception's text: it quotes the password
        raise MailUnavailable(
            _("the SMTP login or password has a character SMTP cannot carry"), hint
        ) from None
    except smtplib.SMTPException as exc:
        if isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPServerDisconnected):
            raise
        raise MailUnavailable(
            _(
                "the SMTP server {where} offers no login method sempi can use"
                " (PLAIN, LOGIN or CRAM-MD5)"
            ).format(where=where)
        ) from None


def _untrusted(where: str, exc: ssl.SSLCertVerificationError) -> MailUnavailable:
    return MailUnavailable(
        _("the SMTP server {where}: certificate not trusted: {reason}").format(
            where=where, reason=exc.verify_message
        ),
        _(
            "check smtp.host (the name on the certificate); a private authority must be in the"
            " system's store (or SSL_CERT_FILE)"
        ),
    )


def build_message(config: SmtpConfig, item: dict, now) -> EmailMessage:
    """The message as it goes out: UTF-8 text, headers encoded by the SMTP policy."""
    from email.headerregistry import Address
    from email.utils import format_datetime

    from sempi_cli.clock import ROME

    local, _at, domain = config.from_address.partition("@")
    message = EmailMessage()
    message["From"] = Address(config.from_name, local, domain)
    message["To"] = item["to_address"]
    message["Subject"] = item["subject"]
    message["Date"] = format_datetime(now.astimezone(ROME))
    message["Message-ID"] = item["message_id"]
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(item["body"], subtype="plain", charset="utf-8", cte="quoted-printable")
    return message


def smtp_policy():
    from email.policy import SMTP

    return SMTP


def text_of(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def reply_of(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {text_of(exc.smtp_error)}"


def describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return reply_of(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return " ".join(str(exc).split()) or type(exc).__name__
