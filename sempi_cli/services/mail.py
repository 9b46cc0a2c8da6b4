"""The mail outbox: messages built from templates, queued inside the caller's
transaction, delivered later by ``sempi mail send`` (services/mail_delivery.py).

This module owns the ``mail_outbox`` table: the delivery job changes a
message's state only through the functions at the end of this file.

A message moves ``queued`` → ``sending`` (claimed, before any SMTP talk) →
``sent``; or back to ``queued`` after a temporary failure, or to ``failed``
after a permanent one or too many attempts. A message found in ``sending`` may
have gone out (the sender was killed, or the connection dropped while the
server was receiving it), so it is never resent on its own: only ``sempi mail
retry`` puts it back in the queue. Each message is thus sent at most once.

A secret a message carries (an invitation's activation code) is not stored in
the body: the body holds a placeholder, the value waits in ``secret_values``
and is filled in only in the copy handed to the SMTP server; it is erased
once the message is sent or cancelled. `mail show` never shows it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sempi_cli.clock import iso_utc
from sempi_cli.errors import InvalidData, NotFound, PermissionDenied, RuleViolation
from sempi_cli.services import identifiers
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service

STATUSES = ("queued", "sending", "sent", "failed", "cancelled")
COLUMNS = (
    "id",
    "kind",
    "to_address",
    "subject",
    "status",
    "attempts",
    "next_attempt_at",
    "sent_at",
)
DEFAULT_LIMIT = 50
# Temporary failures wait 5 min, 20 min, 80 min, 5 h 20 min, then a day at most.
RETRY_FIRST = timedelta(minutes=5)
RETRY_FACTOR = 4
RETRY_MAX = timedelta(hours=24)
ERROR_MAX = 300  # characters of an SMTP error kept in last_error

_SIGNATURE = "\n\nCordiali saluti,\n{firm}\n"


@dataclass(frozen=True)
class Template:
    """Italian plain text with ``{key}`` fields; ``{firm}`` is the firm's name."""

    subject: str
    body: str
    required: tuple[str, ...]
    defaults: dict[str, str] = field(default_factory=dict)
    secret: tuple[str, ...] = ()  # context keys never stored in the body


TEMPLATES: dict[str, Template] = {
    "invitation": Template(
        subject="Invito — {firm}",
        body=(
            "Gentile {full_name},\n\n"
            "{firm} la invita nello spazio di lavoro riservato di {client}: qui troverà le "
            "attività, i documenti e le comunicazioni che la riguardano.\n\n"
            "Il suo nome utente è: {email}\n\n"
            "Per attivare l'accesso scelga una password (almeno 12 caratteri) con il comando\n\n"
            "    sempi user activate --email {email}\n\n"
            "e, quando le viene chiesto, inserisca questo codice di attivazione:\n\n"
            "    {code}\n\n"
            "Il codice vale una sola volta, fino al {expires}. Se non aspettava questo "
            "messaggio può ignorarlo: senza il codice nessuno può attivare l'account." + _SIGNATURE
        ),
        required=("full_name", "email", "code", "expires"),
        defaults={"client": "{firm}"},
        secret=("code",),
    ),
    "credentials": Template(
        subject="Il suo accesso — {firm}",
        body=(
            "Gentile {full_name},\n\n"
            "il suo account presso {firm} è attivo.\n\n"
            "Nome utente: {email}\n\n"
            "Per accedere usi il comando\n\n"
            "    sempi login --email {email}\n\n"
            "con la password che ha scelto. Per sicurezza una password non viene mai "
            "inviata per e-mail: se l'ha dimenticata, la chieda a chi gestisce il suo "
            "account, che gliene farà impostare una nuova." + _SIGNATURE
        ),
        required=("full_name", "email"),
    ),
    "consent": Template(
        subject="Richiesta di consenso ai servizi SMART — {firm}",
        body=(
            "Gentile {full_name},\n\n"
            "{studio} chiede il consenso di {client} per operare, con le proprie "
            "credenziali, nei servizi SMART attivi ({services}).\n\n"
            "Può rispondere sì o no dal suo spazio di lavoro su sempi, e cambiare la "
            "risposta in qualsiasi momento: vale l'ultima data.\n\n"
            "Senza il suo consenso lo studio non accede ai servizi SMART dell'azienda." + _SIGNATURE
        ),
        required=("full_name", "client"),
        defaults={"studio": "{firm}", "services": "Fattura SMART e gli altri servizi attivi"},
    ),
}


def secret_mark(key: str) -> str:
    """What the stored body holds in place of a secret context value."""
    return f"[{key}: shown only in the delivered message]"


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def render(kind: str, firm: str, context: dict) -> tuple[str, str, dict[str, str]]:
    """Subject, stored body (secrets as placeholders) and the secret values."""
    template = TEMPLATES.get(kind)
    if template is None:
        raise ValueError(f"no mail template {kind!r} (known: {', '.join(TEMPLATES)})")
    missing = [k for k in template.required if context.get(k) in (None, "")]
    if missing:
        raise ValueError(f"the {kind} template needs {', '.join(missing)}")
    values = {k: v.format(firm=firm) for k, v in template.defaults.items()}
    values.update({k: _one_line(v) for k, v in context.items() if v is not None and v != ""})
    values["firm"] = firm
    secrets = {k: values[k] for k in template.secret}
    shown = {**values, **{k: secret_mark(k) for k in template.secret}}
    subject = _one_line(template.subject.format_map(shown))
    body = template.body.format_map(shown)
    return subject, body, secrets


def fill_secrets(body: str, secret_values: str | None) -> str:
    """The body as delivered: placeholders replaced by the secret values."""
    for key, value in json.loads(secret_values or "{}").items():
        body = body.replace(secret_mark(key), value)
    return body


def firm_name(db: sqlite3.Connection) -> str:
    row = db.execute("SELECT name FROM firm").fetchone()
    return row[0] if row else "sempi"


def visible_mail(actor: Actor, alias: str = "m") -> tuple[str, dict]:
    """Firm administrators read the whole outbox; a practice's administrator the
    mail about the practice's clients; nobody else any."""
    params = {"actor_studio": actor.studio_id}
    if actor.is_firm_admin:
        return "1", params
    if actor.role == "studio-admin":
        return (
            f"{alias}.client_id IN (SELECT id FROM clients WHERE studio_id = :actor_studio)",
            params,
        )
    return "0", params


_SELECT = (
    "SELECT m.id, m.kind, m.to_address, m.subject, m.status, m.attempts, m.next_attempt_at,"
    " m.last_error, m.dedupe_key, m.message_id, m.client_id, u.email AS created_by,"
    " m.created_at, m.claimed_at, m.sent_at, m.body FROM mail_outbox m"
    " LEFT JOIN users u ON u.id = m.created_by"
)


class Outbox(Service):
    """Queue messages (other services call this), read and manage the outbox."""

    def queue(
        self, kind: str, to: str, context: dict, *, dedupe_key: str | None = None
    ) -> int | None:
        """Render the template of ``kind`` and queue it to ``to``, inside the caller's
        transaction. Returns the message's id, or None when ``dedupe_key`` was
        already queued (a re-run of the same onboarding). The caller has checked
        that its actor may send this; ``context["client_id"]``, when given, lets
        that client's practice administrator see the message."""
        address = identifiers.email(to, field="to")
        client_id = context.get("client_id")
        with self.transaction():
            subject, body, secrets = render(kind, firm_name(self.db), context)
            now = self.now()
            row = self.db.execute(
                "INSERT INTO mail_outbox (kind, to_address, subject, body, status, next_attempt_at,"
                " dedupe_key, client_id, secret_values, created_by, created_at)"
                " VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                (
                    kind,
                    address,
                    subject,
                    body,
                    now,
                    dedupe_key,
                    client_id,
                    json.dumps(secrets) if secrets else None,
                    self._actor.id if self._actor else None,
                    now,
                ),
            ).fetchone()
            if row is None:
                return None
            self.audit("queue", "mail", row[0], kind=kind, client_id=client_id)
        return int(row[0])

    # --- reading --------------------------------------------------------------

    def _require_reader(self) -> None:
        if not (self.actor.is_firm_admin or self.actor.role == "studio-admin"):
            raise PermissionDenied(
                "only a firm administrator (or a practice's administrator, for its clients)"
                " may read the outbox"
            )

    def list(self, statuses: Sequence[str] = (), limit: int = DEFAULT_LIMIT) -> list[dict]:
        """Newest first; a message in ``sending`` stays listed until someone decides."""
        self._require_reader()
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise InvalidData(
                "--status", f"{unknown[0]!r} is not a status", "use one of: " + ", ".join(STATUSES)
            )
        if limit < 1:
            raise InvalidData("--limit", "must be at least 1")
        where, params = visible_mail(self.actor)
        clauses = [where]
        if statuses:
            marks = ", ".join(f":s{i}" for i in range(len(statuses)))
            clauses.append(f"m.status IN ({marks})")
            params.update({f"s{i}": s for i, s in enumerate(statuses)})
        params["limit"] = limit
        rows = self.db.execute(
            f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY m.id DESC LIMIT :limit", params
        )
        return [_public(r, body=False) for r in rows]

    def _row(self, mail_id: int) -> sqlite3.Row:
        where, params = visible_mail(self.actor)
        row = self.db.execute(
            f"{_SELECT} WHERE m.id = :id AND {where}", {**params, "id": mail_id}
        ).fetchone()
        if row is None:
            raise NotFound(f"message {mail_id} not found")
        return row

    def show(self, mail_id: int) -> dict:
        self._require_reader()
        return _public(self._row(mail_id), body=True)

    # --- deciding ---------------------------------------------------------------

    def retry(self, mail_id: int, confirm_sending: Callable[[dict], None] | None = None) -> dict:
        """Put a failed message back in the queue (with its attempts counted afresh),
        make a waiting one due now, or requeue one left in ``sending`` (it may
        already have been delivered: ``confirm_sending`` is asked first)."""
        self._require_reader()
        row = self._row(mail_id)
        if row["status"] in ("sent", "cancelled"):
            raise RuleViolation(f"message {mail_id} is {row['status']}: there is nothing to retry")
        if row["status"] == "sending" and confirm_sending is not None:
            confirm_sending(_public(row, body=False))
        with self.transaction():
            now = self.now()
            changed = self.db.execute(
                "UPDATE mail_outbox SET status = 'queued', next_attempt_at = ?,"
                " attempts = CASE status WHEN 'failed' THEN 0 ELSE attempts END, claimed_at = NULL"
                " WHERE id = ? AND status = ?",
                (now, mail_id, row["status"]),
            ).rowcount
            if not changed:  # another process moved it meanwhile
                raise RuleViolation(f"message {mail_id} changed meanwhile: look at it again")
            self.audit("retry", "mail", mail_id, was=row["status"])
        return self.show(mail_id)

    def cancel(self, mail_id: int) -> dict:
        """Never send this message (queued, failed, or left in sending)."""
        self._require_reader()
        row = self._row(mail_id)
        if row["status"] in ("sent", "cancelled"):
            raise RuleViolation(f"message {mail_id} is already {row['status']}")
        with self.transaction():
            if not cancel_unsent(self.db, mail_id):
                raise RuleViolation(f"message {mail_id} changed meanwhile: look at it again")
            self.audit("cancel", "mail", mail_id, was=row["status"])
        return self.show(mail_id)


def _public(row: sqlite3.Row, *, body: bool) -> dict:
    item = dict(row)
    if not body:
        item.pop("body")
    return item


# --- state changes: the delivery job (and invitations) call these, each inside
# --- the caller's BEGIN IMMEDIATE transaction ------------------------------------


def cancel_unsent(db: sqlite3.Connection, mail_id: int) -> bool:
    """Cancel a message not yet sent and erase its secrets; True if it changed."""
    return (
        db.execute(
            "UPDATE mail_outbox SET status = 'cancelled', next_attempt_at = NULL,"
            " secret_values = NULL WHERE id = ? AND status IN ('queued', 'failed', 'sending')",
            (mail_id,),
        ).rowcount
        == 1
    )


def due_count(db: sqlite3.Connection, now: str) -> int:
    return db.execute(
        "SELECT count(*) FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= ?",
        (now,),
    ).fetchone()[0]


def due_messages(db: sqlite3.Connection, now: str, limit: int | None = None) -> list[dict]:
    rows = db.execute(
        "SELECT id, kind, to_address, subject, attempts, next_attempt_at FROM mail_outbox"
        " WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id"
        " LIMIT ?",
        (now, -1 if limit is None else limit),
    )
    return [dict(r) for r in rows]


def claim_next(db: sqlite3.Connection, now: str, new_message_id: Callable[[], str]) -> dict | None:
    """Mark the next due message ``sending`` and return it (secrets filled in).

    The caller holds a BEGIN IMMEDIATE transaction and commits it before
    talking to the server: from then on no other sender will touch this
    message. Its Message-ID is made once and kept, so a copy sent again by
    hand (`mail retry`) carries the same id and mail clients can tell."""
    row = db.execute(
        "SELECT id FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= ?"
        " ORDER BY next_attempt_at, id LIMIT 1",
        (now,),
    ).fetchone()
    if row is None:
        return None
    claimed = db.execute(
        "UPDATE mail_outbox SET status = 'sending', claimed_at = ?,"
        " message_id = coalesce(message_id, ?) WHERE id = ? AND status = 'queued'"
        " RETURNING id, kind, to_address, subject, body, secret_values, attempts, message_id,"
        " created_at",
        (now, new_message_id(), row[0]),
    ).fetchone()
    if claimed is None:
        return None
    item = dict(claimed)
    item["body"] = fill_secrets(item["body"], item.pop("secret_values"))
    return item


def mark_sent(db: sqlite3.Connection, mail_id: int, now: str) -> None:
    db.execute(
        "UPDATE mail_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
        " next_attempt_at = NULL, last_error = NULL, secret_values = NULL"
        " WHERE id = ? AND status = 'sending'",
        (now, mail_id),
    )


def retry_delay(attempts: int) -> timedelta:
    """How long a message waits after its ``attempts``-th temporary failure."""
    return min(RETRY_FIRST * RETRY_FACTOR ** max(attempts - 1, 0), RETRY_MAX)


def mark_temporary_failure(
    db: sqlite3.Connection, mail_id: int, now: datetime, error: str, max_attempts: int
) -> str:
    """Back to the queue with a later next attempt, or ``failed`` once the attempts
    are used up; returns the new status. Works on a claimed or a queued message."""
    attempts = (
        db.execute("SELECT attempts FROM mail_outbox WHERE id = ?", (mail_id,)).fetchone()[0] + 1
    )
    if attempts >= max_attempts:
        _set_failed(db, mail_id, attempts, f"{error} (after {attempts} attempts)")
        return "failed"
    db.execute(
        "UPDATE mail_outbox SET status = 'queued', attempts = ?, next_attempt_at = ?,"
        " last_error = ?, claimed_at = NULL WHERE id = ?",
        (attempts, iso_utc(now + retry_delay(attempts)), error[:ERROR_MAX], mail_id),
    )
    return "queued"


def mark_permanent_failure(db: sqlite3.Connection, mail_id: int, error: str) -> None:
    attempts = db.execute("SELECT attempts FROM mail_outbox WHERE id = ?", (mail_id,)).fetchone()[0]
    _set_failed(db, mail_id, attempts + 1, error)


def _set_failed(db: sqlite3.Connection, mail_id: int, attempts: int, error: str) -> None:
    # The secrets stay: `mail retry` may send the message again.
    db.execute(
        "UPDATE mail_outbox SET status = 'failed', attempts = ?, next_attempt_at = NULL,"
        " last_error = ?, claimed_at = NULL WHERE id = ?",
        (attempts, error[:ERROR_MAX], mail_id),
    )


def release(db: sqlite3.Connection, mail_id: int, error: str) -> None:
    """Back to the queue as it was, no attempt counted (the server refused the
    sender: a problem of the configuration, not of this message)."""
    db.execute(
        "UPDATE mail_outbox SET status = 'queued', last_error = ?, claimed_at = NULL"
        " WHERE id = ? AND status = 'sending'",
        (error[:ERROR_MAX], mail_id),
    )


def mark_in_doubt(db: sqlite3.Connection, mail_id: int, error: str) -> None:
    """Left in ``sending``: the connection broke while the server was receiving the
    message, which may have been delivered. Only a person may send it again."""
    db.execute(
        "UPDATE mail_outbox SET last_error = ? WHERE id = ? AND status = 'sending'",
        (error[:ERROR_MAX], mail_id),
    )


def erase_personal_data(db: sqlite3.Connection, client_id: int, addresses: Sequence[str]) -> int:
    """GDPR erasure (for services/privacy.py, inside its transaction): the client's
    mail and mail to its people lose address, subject and body; unsent ones are
    cancelled. Returns how many messages were erased."""
    marks = ", ".join("?" for _ in addresses) or "NULL"
    return db.execute(
        "UPDATE mail_outbox SET to_address = 'erased-' || id || '@invalid',"
        " subject = '(erased)', body = '(erased)', secret_values = NULL, last_error = NULL,"
        " status = CASE WHEN status = 'sent' THEN 'sent' ELSE 'cancelled' END,"
        " next_attempt_at = NULL"
        f" WHERE client_id = ? OR to_address IN ({marks})",
        (client_id, *[a.lower() for a in addresses]),
    ).rowcount
