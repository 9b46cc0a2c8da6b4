"""Firm-wide settings (`sempi config`): a small table of known keys, each validated.

Every area's keys live here, so `sempi config list` shows them all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from sempi_cli.errors import InvalidData, NotFound
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services.access import ROLES, require_firm_admin
from sempi_cli.services.base import Service

# Who must use two-step login is asked when a session is checked, on the fast path too.
from sempi_cli.services.settings_read import otp_required as otp_required


def _require_otp(value: str) -> str:
    value = value.strip().lower().replace(" ", "")
    if value in ("none", "all"):
        return value
    roles = value.split(",")
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise InvalidData(
            "auth.require_otp",
            _("{value}: use none, all, or roles from {roles}").format(
                value=repr(value), roles=", ".join(ROLES)
            ),
        )
    return ",".join(sorted(set(roles)))


def _int_between(low: int, high: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value.strip().isdigit() or not low <= int(value) <= high:
            raise InvalidData(
                "value",
                _("{value} is not a whole number from {low} to {high}").format(
                    value=repr(value), low=low, high=high
                ),
            )
        return str(int(value))

    return check


def _time_of_day(value: str) -> str:
    """HH:MM on a 24-hour clock (Europe/Rome)."""
    hour, sep, minute = value.strip().partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2):
        raise InvalidData(
            "value", _("{value} is not a time such as 18:00").format(value=repr(value))
        )
    if not (0 <= int(hour) <= 23 and 0 <= int(minute) <= 59):
        raise InvalidData("value", _("{value} is not a time of day").format(value=repr(value)))
    return f"{int(hour):02d}:{minute}"


def _folder_tree(value: str) -> str:
    """Comma-separated folder paths, '/' between levels: "Anagrafica, IVA/Liquidazioni"."""
    paths = [" / ".join(p.strip() for p in item.split("/")) for item in value.split(",")]
    paths = [p for p in paths if p]
    for path in paths:
        for part in path.split(" / "):
            if not part or part in (".", "..") or len(part) > 64 or "\\" in part:
                raise InvalidData(
                    "value",
                    _("{path} is not a folder path (names of 1 to 64 characters)").format(
                        path=repr(path)
                    ),
                )
    if not paths:
        raise InvalidData("value", _("give at least one folder"))
    return ", ".join(dict.fromkeys(p.replace(" / ", "/") for p in paths))


def _choice(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value.strip().lower() not in choices:
            raise InvalidData(
                "value",
                _("{value} is not one of {choices}").format(
                    value=repr(value), choices=", ".join(choices)
                ),
            )
        return value.strip().lower()

    return check


def _text(value: str) -> str:
    """Free text on one line (empty allowed: not set)."""
    if "\n" in value or "\r" in value:
        raise InvalidData("value", _("must be on one line"))
    return value.strip()


def _absolute_path(value: str) -> str:
    """An absolute file path on one line (empty allowed: not set)."""
    import os.path

    path = _text(value)
    if path and not os.path.isabs(path):
        raise InvalidData("value", _("{path} is not an absolute path").format(path=repr(path)))
    return os.path.normpath(path) if path else ""


def _web_base(value: str) -> str:
    """An https address with a host and nothing after the path (the page's own
    query follows it); no trailing slash."""
    from urllib.parse import urlsplit

    base = value.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise InvalidData(
            "value",
            _("{value} is not an https address").format(value=repr(value)),
            _("e.g. https://smart.example"),
        )
    if any(c.isspace() or ord(c) < 32 for c in base):
        raise InvalidData("value", _("an address has no spaces or control characters"))
    return base


def _smtp_host(value: str) -> str:
    """A host name (IDNA labels of letters, digits and hyphens) or an IP address;
    no port (smtp.port), no scheme. Empty: mail is only queued."""
    import ipaddress
    import re

    host = value.strip()
    if not host:
        return ""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    problem = _(
        "{host} is not a host name or an IP address (no port, no scheme: the port is smtp.port)"
    ).format(host=repr(host))
    try:
        labels = host.removesuffix(".").encode("idna").decode("ascii").split(".")
    except UnicodeError:
        raise InvalidData("smtp.host", problem) from None
    label = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
    if len(host) > 253 or not all(label.match(part) for part in labels):
        raise InvalidData("smtp.host", problem)
    return host


def _smtp_user(value: str) -> str:
    """What smtplib's login can send: printable ASCII (empty: no login)."""
    user = value.strip()
    if not all(" " <= c <= "~" for c in user):
        raise InvalidData("smtp.user", _("an SMTP login carries printable ASCII characters only"))
    return user


@dataclass(frozen=True)
class Setting:
    key: str
    default: str
    help: str  # marked N_: `config list` shows it in the reader's language
    validate: Callable[[str], str]


SETTINGS = {
    s.key: s
    for s in (
        Setting(
            "auth.require_otp",
            "none",
            N_("who must use two-step login: none, all, or roles (comma-separated)"),
            _require_otp,
        ),
        Setting(
            "auth.session_idle_hours",
            "8",
            N_("a session ends after this many idle hours"),
            _int_between(1, 72),
        ),
        Setting(
            "auth.session_absolute_days",
            "7",
            N_("a session ends this many days after login"),
            _int_between(1, 90),
        ),
        Setting(
            "automation.hooks_dir",
            "",
            N_(
                "the hooks' folder (an absolute path; empty: the folder hooks beside the store"
                " file); it and each hook must belong to the account sempi runs as and be"
                " writable by no one else"
            ),
            _absolute_path,
        ),
        Setting(
            "automation.hook_timeout",
            "5",
            N_("seconds a hook may run before it is stopped (a before-hook's change is refused)"),
            _int_between(1, 60),
        ),
        Setting(
            "automation.max_attempts",
            "5",
            N_("attempts to deliver an event to an after-hook before it is set aside as dead"),
            _int_between(1, 50),
        ),
        Setting(
            "automation.run_after_command",
            "no",
            N_("yes: every command that wrote runs the after-hooks (automation run) as it ends"),
            _choice("yes", "no"),
        ),
        Setting(
            "checklist.max_attachment_mb",
            "10",
            N_("the largest file (MB) that may be attached to a checklist item"),
            _int_between(1, 1024),
        ),
        Setting(
            "consent.resend_days",
            "30",
            N_(
                "a client that has not answered a consent request gets a new one (consent"
                " request) only once its last request is this many days old"
            ),
            _int_between(1, 365),
        ),
        Setting(
            "coupons.product_url",
            "https://cloud.example",
            N_(
                "where the vendor's cloud invoicing product answers a migrated client's account:"
                " coupon open prints <base>/accesso?utente=<the account's e-mail>"
            ),
            _web_base,
        ),
        Setting(
            "documents.default_folders",
            "Anagrafica, Contabilità, IVA, F24, Dichiarazioni, Dipendenti, Corrispondenza",
            N_("the folder tree a new client gets (comma-separated; '/' for sub-folders)"),
            _folder_tree,
        ),
        Setting(
            "documents.max_file_mb",
            "50",
            N_("the largest document (MB) that may be stored"),
            _int_between(1, 2048),
        ),
        Setting(
            "mail.max_attempts",
            "5",
            N_("delivery attempts before a message is marked failed"),
            _int_between(1, 50),
        ),
        Setting(
            "sign.seal_key",
            "",
            N_(
                "the firm's seal key (an absolute path; its certificate beside it, .crt):"
                " sign seal init sets it"
            ),
            _absolute_path,
        ),
        Setting(
            "smart.base_url",
            "https://smart.example",
            N_(
                "where the practices' suite serves SMART services: smart open prints"
                " <base>/<service>?client=<partita IVA or codice fiscale>"
            ),
            _web_base,
        ),
        Setting(
            "smtp.host",
            "",
            N_("the SMTP server's host name or IP address, no port (empty: mail is only queued)"),
            _smtp_host,
        ),
        Setting("smtp.port", "587", N_("the SMTP server's port"), _int_between(1, 65535)),
        Setting(
            "smtp.security",
            "starttls",
            N_("starttls (port 587), tls (implicit, port 465) or none (a local relay only)"),
            _choice("starttls", "tls", "none"),
        ),
        Setting("smtp.user", "", N_("the SMTP login (empty: no login)"), _smtp_user),
        Setting(
            "smtp.password_file",
            "",
            N_("a file (mode 0600) holding the SMTP password; SEMPI_SMTP_PASSWORD wins"),
            _text,
        ),
        Setting(
            "smtp.from", "", N_("the sender address, e.g. Studio Rossi <scadenze@studio.it>"), _text
        ),
        Setting(
            "scheduler.deadline_time",
            "18:00",
            N_("the hour (Europe/Rome) a fiscal deadline's task falls due on its due date"),
            _time_of_day,
        ),
        Setting(
            "store.job_wait_seconds",
            "900",
            N_(
                "how long a long job (client-onboard batch, scheduler run, doc import, mail send)"
                " waits for another sempi's write to finish; interactive commands wait 10 s"
            ),
            _int_between(10, 86400),
        ),
        Setting(
            "timer.max_running_hours",
            "10",
            N_(
                "a timer running this many hours is reported as forgotten (timer status, timer check)"
            ),
            _int_between(1, 72),
        ),
        Setting(
            "ui.language",
            "it",
            N_("the language of a person who has not chosen one (user edit --language): it or en"),
            _choice("it", "en"),
        ),
    )
}


def get(db: sqlite3.Connection, key: str) -> str:
    row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else SETTINGS[key].default


class ConfigService(Service):
    def list(self) -> list[dict]:
        require_firm_admin(self.actor, N_("read the settings"))
        return [
            {"key": s.key, "value": get(self.db, s.key), "default": s.default, "meaning": s.help}
            for s in SETTINGS.values()
        ]

    def get(self, key: str) -> str:
        require_firm_admin(self.actor, N_("read the settings"))
        if key not in SETTINGS:
            raise NotFound(
                _("no setting {key}").format(key=repr(key)), _("see 'sempi config list'")
            )
        return get(self.db, key)

    def set(self, key: str, value: str) -> str:
        require_firm_admin(self.actor, N_("change the settings"))
        if key not in SETTINGS:
            raise NotFound(
                _("no setting {key}").format(key=repr(key)), _("see 'sempi config list'")
            )
        value = SETTINGS[key].validate(value)
        with self.transaction():
            old = get(self.db, key)
            self.db.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, self.now()),
            )
            self.audit("set", "setting", None, key=key, old=old, new=value)
        return value
