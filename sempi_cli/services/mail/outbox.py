"""The mail outbox: messages built from templates, queued inside the caller's
transaction, delivered later by ``sempi mail send`` (services/mail/delivery.py).
This module owns the ``mail_outbox`` table: the delivery job changes a
message's state only through the functions at the end of this file.

A message moves ``queued`` → ``sending`` (claimed, before any SMTP talk) →
``sent``; or back to ``queued`` after a temporary failure, or to ``failed``
after a permanent one or too many attempts. A message found in ``sending`` may
have gone out (the sender was killed, or the connection dropped while the
server was receiving it), so it is never resent on its own: only ``sempi mail
retry`` puts it back in the queue. Each message is thus sent at most once.
The claim's time (``claimed_at``) is the sender's token, and every write-back
of the sender is conditional on it; `mail retry`, `mail cancel` and an erasure
refuse a message claimed less than STALE_CLAIM ago, so a claim is taken only
from a sender that died.

A secret a message carries (an invitation's activation code) is not stored in
the store at all: the body holds a placeholder, the value waits in a file beside
the store (services/mail/secret_files.py; the row keeps its name and SHA-256)
and is filled in only in the copy handed to the SMTP server. The file is removed
once the message is sent, failed or cancelled, or its invitation used or
replaced; a message whose secret is gone, or whose file cannot be trusted, is
never delivered with the placeholder: it fails, with the reason.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sempi_cli.clock import iso_utc
from sempi_cli.errors import InvalidData, NotFound, PermissionDenied, RuleViolation
from sempi_cli.i18n import N_, ngettext
from sempi_cli.i18n import gettext as _
from sempi_cli.services import identifiers
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.mail import secret_files
from sempi_cli.services.mail.templates import fill_secrets, firm_name, render
from sempi_cli.store.sql import NO_LIMIT

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
# Temporary failures wait 5 min, 20 min, 80 min, 5 h 20 min, 21 h 20 min, then 24 h.
RETRY_FIRST = timedelta(minutes=5)
RETRY_FACTOR = 4
RETRY_MAX = timedelta(hours=24)
ERROR_MAX = 300  # characters of an SMTP error kept in last_error
# A sender waits at most 30 s for each SMTP reply: a claim this old belongs to
# a sender that died, and a person may decide about its message.
STALE_CLAIM = timedelta(minutes=15)
# Stored in last_error as they are (English, like every value in the store); SECRET_GONE
# is also part of a message to a person, in their language.
SECRET_GONE = N_("its one-time code was erased (the invitation was used, replaced or expired)")
SIGN_CODE_GONE = N_("its one-time code was erased (the code was used, replaced or spoiled)")
INVITATION_EXPIRED = "the invitation expired before it was delivered"
# A person's decision on a message that is sent or cancelled, by its status.
NOTHING_TO_RETRY = {
    "sent": N_("message {id} is sent: there is nothing to retry"),
    "cancelled": N_("message {id} is cancelled: there is nothing to retry"),
}
ALREADY_FINAL = {
    "sent": N_("message {id} is already sent"),
    "cancelled": N_("message {id} is already cancelled"),
}


def visible_mail(actor: Actor, alias: str = "m") -> tuple[str, dict]:
    """Firm administrators read the whole outbox; a practice's administrator the
    mail of the practice (``studio_id``, or a client of the practice: rows older
    than m011); nobody else any."""
    if actor.is_firm_admin:
        return "TRUE", {}
    if actor.role == "studio-admin":
        return (
            f"({alias}.studio_id = :actor_studio OR {alias}.client_id IN"
            " (SELECT id FROM clients WHERE studio_id = :actor_studio))",
            {"actor_studio": actor.studio_id},
        )
    raise PermissionDenied(
        _(
            "only a firm administrator (or a practice's administrator, for its practice's mail)"
            " may read the outbox"
        )
    )


def _refuse_if_held(row: sqlite3.Row, now: datetime) -> None:
    """A sender may still be at work on it: its claim is not taken."""
    claim = row["claimed_at"]
    if row["status"] == "sending" and claim is not None and claim > iso_utc(now - STALE_CLAIM):
        minutes = int(STALE_CLAIM.total_seconds() // 60)
        raise RuleViolation(
            _("message {id} is being sent right now (claimed at {claimed_at})").format(
                id=row["id"], claimed_at=row["claimed_at"]
            ),
            ngettext(
                "look at it again later: a sender that stopped lets go of it after {n} minute",
                "look at it again later: a sender that stopped lets go of it after {n} minutes",
                minutes,
            ).format(n=minutes),
        )


_SELECT = (
    "SELECT m.id, m.kind, m.to_address, m.subject, m.status, m.attempts, m.next_attempt_at,"
    " m.last_error, m.dedupe_key, m.message_id, m.client_id, m.studio_id,"
    " u.email AS created_by, m.created_at, m.claimed_at, m.sent_at, m.body,"
    " m.secret_file IS NULL AS no_secrets FROM mail_outbox m"
    " LEFT JOIN users u ON u.id = m.created_by"
)


class Outbox(Service):
    """Queue messages (other services call this), read and manage the outbox."""

    def queue(
        self,
        kind: str,
        to: str,
        context: dict,
        *,
        dedupe_key: str | None = None,
        studio_id: int | None = None,
    ) -> int | None:
        """Render the template of ``kind`` and queue it to ``to``, inside the caller's
        transaction. Returns the message's id, or None when ``dedupe_key`` was
        already queued (a re-run of the same onboarding). The caller has checked
        that its actor may send this. The message belongs to the practice of
        ``context["client_id"]`` when given, else to ``studio_id``: that
        practice's administrator sees it."""
        address = identifiers.email(to, field="to")
        client_id = context.get("client_id")
        with self.transaction():
            if client_id is not None:  # (an unknown client fails below: a foreign key)
                client = self.db.execute(
                    "SELECT studio_id FROM clients WHERE id = ?", (client_id,)
                ).fetchone()
                studio_id = client[0] if client else None
            subject, body, secrets = render(kind, firm_name(self.db), context)
            now = self.now()
            # The secret goes to a file beside the store, never into it (removed on rollback).
            file, digest = secret_files.keep(self.db, secrets) if secrets else (None, None)
            row = self.db.execute(
                "INSERT INTO mail_outbox (kind, to_address, subject, body, status, next_attempt_at,"
                " dedupe_key, client_id, studio_id, secret_file, secret_sha256, created_by,"
                " created_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                (
                    *(kind, address, subject, body, now, dedupe_key, client_id, studio_id),
                    *(file, digest, self._actor.id if self._actor else None, now),
                ),
            ).fetchone()
            if row is None:
                if file is not None:
                    secret_files.drop_unused(self.db, file)
                return None
            self.audit("queue", "mail", row[0], kind=kind, client_id=client_id)
        return int(row[0])

    # --- reading --------------------------------------------------------------

    def list(self, statuses: Sequence[str] = (), limit: int = DEFAULT_LIMIT) -> list[dict]:
        """Newest first; a message in ``sending`` stays listed until someone decides."""
        where, params = visible_mail(self.actor)
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise InvalidData(
                "--status",
                _("{value} is not a status").format(value=repr(unknown[0])),
                _("use one of: {choices}").format(choices=", ".join(STATUSES)),
            )
        if limit < 1:
            raise InvalidData("--limit", _("must be at least 1"))
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
            raise NotFound(_("message {id} not found").format(id=mail_id))
        return row

    def show(self, mail_id: int) -> dict:
        return _public(self._row(mail_id), body=True)

    # --- deciding ---------------------------------------------------------------

    def retry(self, mail_id: int, confirm_sending: Callable[[dict], None] | None = None) -> dict:
        """Put a failed message back in the queue (with its attempts counted afresh),
        make a waiting one due now, or requeue one left in ``sending`` (it may
        already have been delivered: ``confirm_sending`` is asked first)."""
        row = self._row(mail_id)
        if row["status"] in ("sent", "cancelled"):
            raise RuleViolation(_(NOTHING_TO_RETRY[row["status"]]).format(id=mail_id))
        _refuse_if_held(row, self.clock.now())
        if row["no_secrets"] and fill_secrets(row["kind"], row["body"], None) is None:
            reason, hint = (
                SECRET_GONE,
                N_("send a new invitation with 'sempi mail invite USER --resend'"),
            )
            if row["kind"] == "sign_code":  # services/signing/codes.py
                reason = SIGN_CODE_GONE
                hint = N_("the signer asks for a new code when signing")
            raise RuleViolation(
                _("message {id} cannot be sent again: {reason}").format(
                    id=mail_id, reason=_(reason)
                ),
                _(hint),
            )
        if row["status"] == "sending" and confirm_sending is not None:
            confirm_sending(_public(row, body=False))
        with self.transaction():
            self._decide(
                row,
                "status = 'queued', next_attempt_at = :now, claimed_at = NULL,"
                " attempts = CASE status WHEN 'failed' THEN 0 ELSE attempts END",
            )
            self.audit("retry", "mail", mail_id, was=row["status"])
        return _public(self._row(mail_id), body=False)

    def cancel(self, mail_id: int) -> dict:
        """Never send this message (queued, failed, or left in sending)."""
        row = self._row(mail_id)
        if row["status"] in ("sent", "cancelled"):
            raise RuleViolation(_(ALREADY_FINAL[row["status"]]).format(id=mail_id))
        _refuse_if_held(row, self.clock.now())
        with self.transaction():
            self._decide(row, "status = 'cancelled', next_attempt_at = NULL")
            secret_files.forget(self.db, [mail_id])
            self.audit("cancel", "mail", mail_id, was=row["status"])
        return _public(self._row(mail_id), body=False)

    def _decide(self, row: sqlite3.Row, changes: str) -> None:
        """Apply a person's decision, unless the message moved since it was read
        (a sender claimed it, another person decided)."""
        changed = self.db.execute(
            f"UPDATE mail_outbox SET {changes}"
            " WHERE id = :id AND status = :status AND claimed_at IS NOT DISTINCT FROM :claim",
            {
                "now": self.now(),
                "id": row["id"],
                "status": row["status"],
                "claim": row["claimed_at"],
            },
        ).rowcount
        if not changed:
            raise RuleViolation(
                _("message {id} changed meanwhile: look at it again").format(id=row["id"])
            )


def _public(row: sqlite3.Row, *, body: bool) -> dict:
    item = dict(row)
    item.pop("no_secrets")
    if not body:
        item.pop("body")
    return item


# --- state changes: the delivery job (and invitations, privacy) call these, each
# --- inside the caller's BEGIN IMMEDIATE transaction ------------------------------


def withdraw(db: sqlite3.Connection, mail_id: int, now: datetime) -> None:
    """The secret a message carries is no longer wanted (its invitation was used or
    replaced): erase it, and cancel the message unless it is sent or a sender
    holds it now (that sender's copy goes out, with a code that no longer works)."""
    cancel = (
        "status IN ('queued', 'failed')"
        " OR (status = 'sending' AND (claimed_at IS NULL OR claimed_at <= :stale))"
    )
    secret_files.forget(db, [mail_id])
    db.execute(
        f"UPDATE mail_outbox SET"
        f" next_attempt_at = CASE WHEN {cancel} THEN NULL ELSE next_attempt_at END,"
        f" status = CASE WHEN {cancel} THEN 'cancelled' ELSE status END WHERE id = :id",
        {"id": mail_id, "stale": iso_utc(now - STALE_CLAIM)},
    )


def fail_expired_invitations(db: sqlite3.Connection, now: str) -> list[int]:
    """Queued invitations whose code has expired are never delivered: failed."""
    ids = [
        r[0]
        for r in db.execute(
            "UPDATE mail_outbox SET status = 'failed', next_attempt_at = NULL,"
            " last_error = ? WHERE status = 'queued' AND id IN"
            " (SELECT mail_id FROM invitations WHERE expires_at <= ?) RETURNING id",
            (INVITATION_EXPIRED, now),
        )
    ]
    secret_files.forget(db, ids)
    return ids


def due_messages(db: sqlite3.Connection, now: str, limit: int | None = None) -> list[dict]:
    """What is due, oldest first; ``expired``: an invitation the next run fails."""
    rows = db.execute(
        "SELECT id, kind, to_address, subject, attempts, next_attempt_at,"
        " id IN (SELECT mail_id FROM invitations WHERE expires_at <= :now) AS expired"
        " FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= :now"
        " ORDER BY next_attempt_at, id LIMIT :limit",
        {"now": now, "limit": NO_LIMIT if limit is None else limit},
    )
    return [dict(r) for r in rows]


def claim_next(db: sqlite3.Connection, now: str, new_message_id: Callable[[], str]) -> dict | None:
    """Mark the next due message ``sending`` and return it (secrets filled in;
    ``body`` None when a secret was erased or its file cannot be used, and
    ``secret_error`` says why). ``claimed_at`` is the sender's token.

    The caller holds a BEGIN IMMEDIATE transaction and commits it before
    talking to the server: from then on no other sender will touch this
    message. Its Message-ID is made once and kept, so a copy sent again by
    hand (`mail retry`) carries the same id and mail clients can tell."""
    claimed = db.execute(
        "UPDATE mail_outbox SET status = 'sending', claimed_at = ?,"
        " message_id = coalesce(message_id, ?) WHERE id = (SELECT id FROM mail_outbox"
        " WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1)"
        " RETURNING id, kind, to_address, subject, body, secret_file, secret_sha256, attempts,"
        " message_id, created_at, claimed_at",
        (now, new_message_id(), now),
    ).fetchone()
    if claimed is None:
        return None
    item = dict(claimed)
    file, digest = item.pop("secret_file"), item.pop("secret_sha256")
    item["body"], item["secret_error"] = secret_files.fill(db, item, file, digest)
    return item


_OURS = "id = :id AND status = 'sending' AND claimed_at = :claim"


def mark_sent(db: sqlite3.Connection, mail_id: int, claim: str, now: str) -> bool:
    """The server accepted it: ``sent``, whatever happened to the row meanwhile (a
    takeover of a stale claim): it was delivered. False if the claim was lost."""
    ours = db.execute(
        f"SELECT 1 FROM mail_outbox WHERE {_OURS}", {"id": mail_id, "claim": claim}
    ).fetchone()
    db.execute(
        "UPDATE mail_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
        " next_attempt_at = NULL, last_error = NULL WHERE id = ? AND status <> 'sent'",
        (now, mail_id),
    )
    secret_files.forget(db, [mail_id])
    return ours is not None


def retry_delay(attempts: int) -> timedelta:
    """How long a message waits after its ``attempts``-th temporary failure."""
    growth = min(max(attempts - 1, 0), 8)  # 4**8 waits are past RETRY_MAX; more overflows
    return min(RETRY_FIRST * RETRY_FACTOR**growth, RETRY_MAX)


def mark_failure(
    db: sqlite3.Connection,
    mail_id: int,
    claim: str | None,
    error: str,
    *,
    retry_at: datetime | None,
    max_attempts: int = 1,
) -> str | None:
    """One more attempt counted: back to the queue until ``retry_at`` plus a growing
    wait (a temporary failure), or ``failed`` (permanent: ``retry_at`` None, or
    the attempts are used up). Returns the new status, None if the sender's
    ``claim`` was lost; no claim: a queued message (the server was unreachable)."""
    where = _OURS if claim else "id = :id AND status = 'queued'"
    row = db.execute(
        f"SELECT attempts FROM mail_outbox WHERE {where}", {"id": mail_id, "claim": claim}
    ).fetchone()
    if row is None:
        return None
    attempts = row[0] + 1
    if retry_at is None or attempts >= max_attempts:
        if retry_at is not None:
            error = f"{error} (after {attempts} attempts)"
        db.execute(
            "UPDATE mail_outbox SET status = 'failed', attempts = ?, next_attempt_at = NULL,"
            " last_error = ?, claimed_at = NULL WHERE id = ?",
            (attempts, error[:ERROR_MAX], mail_id),
        )
        secret_files.forget(db, [mail_id])  # a failed invitation is replaced (mail invite)
        return "failed"
    db.execute(
        "UPDATE mail_outbox SET status = 'queued', attempts = ?, next_attempt_at = ?,"
        " last_error = ?, claimed_at = NULL WHERE id = ?",
        (attempts, iso_utc(retry_at + retry_delay(attempts)), error[:ERROR_MAX], mail_id),
    )
    return "queued"


def let_go(
    db: sqlite3.Connection, mail_id: int, claim: str, error: str, *, requeue: bool
) -> str | None:
    """The sender lets go of its claim, no attempt counted. ``requeue``: back in the
    queue as it was (the server refused our sender: not this message's fault).
    Else left in ``sending`` for a person: the connection broke while the server
    was receiving the message, which may have been delivered. None: claim lost."""
    changed = db.execute(
        "UPDATE mail_outbox SET last_error = :error, claimed_at = NULL,"
        f" status = CASE WHEN :requeue = 1 THEN 'queued' ELSE status END WHERE {_OURS}",
        {"error": error[:ERROR_MAX], "requeue": int(requeue), "id": mail_id, "claim": claim},
    ).rowcount
    return ("queued" if requeue else "sending") if changed else None


def erase_personal_data(
    db: sqlite3.Connection,
    client_id: int,
    addresses: Sequence[str],
    now: datetime,
) -> int:
    """GDPR erasure (for services/privacy/gdpr.py, inside its transaction): the client's
    mail and mail to its people lose address, subject and body; unsent ones are
    cancelled. Refused while a sender holds one of them (claimed after ``now``
    minus STALE_CLAIM): its copy is on the wire, and the sender would write it
    back. Returns how many messages were erased."""
    marks = ", ".join("?" for _address in addresses) or "NULL"
    where = f"(client_id = ? OR to_address IN ({marks}))"
    params = (client_id, *[a.lower() for a in addresses])
    stale = iso_utc(now - STALE_CLAIM)
    held = db.execute(
        f"SELECT id FROM mail_outbox WHERE {where} AND status = 'sending' AND claimed_at > ?",
        (*params, stale),
    ).fetchone()
    if held is not None:
        raise RuleViolation(
            _("message {id} about this client is being sent right now").format(id=held[0]),
            _(
                "run the erasure again once 'sempi mail send' has finished, or, if the sender"
                " stopped, cancel it with 'sempi mail cancel {id}' first"
            ).format(id=held[0]),
        )
    secret_files.forget(
        db, [r[0] for r in db.execute(f"SELECT id FROM mail_outbox WHERE {where}", params)]
    )
    return db.execute(
        "UPDATE mail_outbox SET to_address = 'erased-' || id || '@invalid',"
        " subject = '(erased)', body = '(erased)', last_error = NULL,"
        " status = CASE WHEN status = 'sent' THEN 'sent' ELSE 'cancelled' END,"
        f" next_attempt_at = NULL WHERE {where}",
        params,
    ).rowcount


def append_queued(
    db: sqlite3.Connection, key_prefix: str, text: str, *, max_body: int
) -> int | None:
    """Add ``text`` at the end of the body of the newest message still ``queued`` whose
    dedupe key starts with ``key_prefix``: a digest that gathers lines until `mail
    send` claims it (services/notify/digest.py). Inside the caller's transaction.
    Returns its id; None when there is none queued (claimed, sent, failed, cancelled)
    or the body would pass ``max_body`` characters: the caller queues a new message."""
    if not key_prefix:
        raise ValueError("append_queued needs a key prefix")
    # Every key that starts with the prefix sorts in [prefix, prefix with its last
    # character bumped): a range the UNIQUE index on dedupe_key answers.
    upper = key_prefix[:-1] + chr(ord(key_prefix[-1]) + 1)
    row = db.execute(
        "UPDATE mail_outbox SET body = body || :text WHERE id = (SELECT id FROM mail_outbox"
        " WHERE dedupe_key >= :low AND dedupe_key < :high AND status = 'queued'"
        " ORDER BY id DESC LIMIT 1) AND length(body) + length(:text) <= :max RETURNING id",
        {"text": text, "low": key_prefix, "high": upper, "max": max_body},
    ).fetchone()
    return None if row is None else int(row[0])


def queue_many(
    db: sqlite3.Connection,
    now: str,
    actor_id: int | None,
    kind: str,
    messages: Sequence[tuple[str, dict, int | None, int | None]],
) -> list[int]:
    """Queue many messages of ``kind`` at once, inside the caller's BEGIN IMMEDIATE
    transaction: each (to, context, client_id, studio_id) rendered as ``Outbox.queue``
    renders it, written by one ``executemany`` with its audit line, as ``queue`` writes
    one (a consent request to 10,000 clients). Ids are allocated from ``max(id)``,
    which the transaction holds still; returns them in the order given. A template
    carrying a secret is refused: its file must be kept one message at a time."""
    from sempi_cli.services import audit

    if _carries_secrets(kind):
        raise ValueError(f"the {kind} template carries a secret: queue it with Outbox.queue")
    if not messages:
        return []
    firm = firm_name(db)
    first = int(db.execute("SELECT coalesce(max(id), 0) + 1 FROM mail_outbox").fetchone()[0])
    rows = []
    for offset, (to, context, client_id, studio_id) in enumerate(messages):
        subject, body, _secrets = render(kind, firm, context)
        address = identifiers.email(to, field="to")
        rows.append(
            (first + offset, kind, address, subject, body, now, client_id, studio_id, actor_id, now)
        )
    db.executemany(
        "INSERT INTO mail_outbox (id, kind, to_address, subject, body, status, next_attempt_at,"
        " client_id, studio_id, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
        rows,
    )
    audit.record_many(
        db,
        now,
        actor_id,
        (("queue", "mail", row[0], {"kind": kind, "client_id": row[6]}) for row in rows),
    )
    return [row[0] for row in rows]


def _carries_secrets(kind: str) -> bool:
    from sempi_cli.services.mail.templates import TEMPLATES

    template = TEMPLATES.get(kind)
    return bool(template and template.secret)
