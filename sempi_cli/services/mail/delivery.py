"""Delivering the outbox through the firm's SMTP server (`sempi mail send`, cron).

Each message is sent at most once. It is claimed (``sending``) in its own
BEGIN IMMEDIATE transaction, committed before a word is said to the server,
so two senders at once never pick the same message; its outcome is recorded
right after the server answers. A sender killed in between leaves the message
in ``sending``: it may have gone out, so nothing sends it again on its own
(`sempi mail retry` does, when a person decides). The same holds when the
connection breaks while the server is receiving the message.

What is wrong with the configuration (services/mail/smtp.py: no host, a bad host
name, a password SMTP cannot send, a certificate not trusted, the login or
our sender refused) stops the job with exit 5 and costs the messages no
attempt; only a server that cannot be reached, or refuses a message, counts
one.
"""

from __future__ import annotations

import smtplib
from email.errors import MessageError

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import settings
from sempi_cli.services.access import require_firm_admin
from sempi_cli.services.base import Service
from sempi_cli.services.mail import outbox as mail
from sempi_cli.services.mail import secret_files
from sempi_cli.services.mail.smtp import (
    MailUnavailable,
    SmtpConfig,
    build_message,
    connect,
    describe,
    reply_of,
    smtp_policy,
    text_of,
)

RUN_COLUMNS = ("id", "to_address", "subject", "outcome", "error")
# A message's ``error`` is stored in last_error as the code writes it (English, like
# every value in the store); what stops the run is said to the person in their language.
BUILD_FAILED = "the message could not be built (a malformed header or body)"
CANNOT_REACH = N_("cannot reach the SMTP server {where}: {reason}")
REFUSED_SENDER = N_("the server refused the sender: {reply}")


class MailRunStopped(MailUnavailable):
    """The run stopped part-way; ``result`` says what it did before (the CLI shows it)."""

    def __init__(self, error: MailUnavailable, result: dict) -> None:
        super().__init__(error.message, error.hint)
        self.result = result


class _InDoubt(Exception):
    """The connection broke while the server was receiving the message."""


class MailSender(Service):
    def send(self, *, limit: int | None = None, dry_run: bool = False) -> dict:
        """Deliver the due messages; returns the counts and one row per message.
        The SMTP settings are read only when there is something to send."""
        require_firm_admin(self.actor, N_("send the outbox"))
        if limit is not None and limit < 1:
            raise InvalidData("--limit", _("must be at least 1"))
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
            secret_files.sweep(self.db)  # under the write lock: files a crash left behind
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
            where, reason = f"{config.host}:{config.port}", describe(exc)
            error = CANNOT_REACH.format(where=where, reason=reason)
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
                _(CANNOT_REACH).format(where=where, reason=reason),
                _("the messages stay queued and are tried again by the next run"),
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
                assert error is not None  # a released message always has the server's reply
                reply = error.partition(": ")[2]  # REFUSED_SENDER's {reply}
                raise MailUnavailable(
                    _(REFUSED_SENDER).format(reply=reply),
                    _("check smtp.from; the messages stay queued, no attempt counted"),
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
            return "failed", f"not sent: {item['secret_error'] or mail.SECRET_GONE}", False
        try:
            data = build_message(config, item, self.clock.now()).as_bytes(policy=smtp_policy())
        except (ValueError, TypeError, MessageError):
            return "failed", BUILD_FAILED, False
        try:
            code, reply = server.mail(config.from_address)
            if code != 250:
                server.rset()
                if 400 <= code < 500:  # "421 too many messages": this session, not the message
                    return (
                        "paused",
                        f"the server refused the sender for now: {code} {text_of(reply)}",
                        True,
                    )
                refused = REFUSED_SENDER.format(reply=f"{code} {text_of(reply)}")
                return "released", refused, True
            code, reply = server.rcpt(item["to_address"])
            if code not in (250, 251):
                server.rset()
                return _kind(code), f"recipient refused: {code} {text_of(reply)}", False
            try:
                code, reply = server.data(data)
            except smtplib.SMTPDataError as exc:
                server.rset()
                return _kind(exc.smtp_code), f"message refused: {reply_of(exc)}", False
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                raise _InDoubt(describe(exc)) from exc
            if code != 250:  # the server answered the message itself: not delivered
                server.rset()
                return _kind(code), f"message refused: {code} {text_of(reply)}", False
        except _InDoubt as exc:
            return (
                "in_doubt",
                f"the connection broke while the server was receiving the message ({exc}):"
                " it may have been delivered; check, then 'sempi mail retry' or 'mail cancel'",
                True,
            )
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            return "deferred", f"connection lost: {describe(exc)}", True
        except smtplib.SMTPResponseException as exc:
            return _kind(exc.smtp_code), reply_of(exc), False
        return "sent", None, False


def _kind(code: int) -> str:
    return "deferred" if 400 <= code < 500 else "failed"
