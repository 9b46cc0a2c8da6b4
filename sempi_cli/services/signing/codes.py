"""The one-time code a signer types to sign: fresh, single use, throttled.

A signer with two-step login on types the code their authenticator app shows
now. It goes through identity's own check (services/identity/totp.py,
``use_code``): a code is accepted for its 30-second step only if that step is
later than the last one the user used, so a code that logged them in cannot sign,
and a code that signed cannot be used again anywhere; wrong codes count as
failed logins of the account and share the login throttling
(services/identity/auth.py).

Any other signer asks for a code by e-mail (``send_code``): six random digits,
valid ten minutes and once, sent through the outbox. The code itself is never
in the store: the outbox keeps it in a file beside the store until the message
is sent (services/mail/secret_files.py), and ``sign_codes`` keeps an HMAC-SHA256
of it keyed by the request, the signer and the moment it was made. A fast hash
is enough here, and a slow one would buy nothing: six digits are a million
candidates, which no hash, fast or slow, keeps for long from someone holding a
copy of the store, and the code dies ten minutes after it was made, after one
use, or after five wrong attempts. The key ties each hash to its row (a hash
copied to another signer's or request's row matches nothing). What stands
between a guesser and a signature is the signer's login, then five attempts
for a code and five codes a day for a request: at most 25 guesses in a
million a day.

Only the newest code of a signer for a request counts: asking for a new one
retires the older (its unsent e-mail is cancelled). At most one new code a
minute and five in 24 hours per signer and request.

Who may: the actor must be a signer of the request who has not decided yet,
on a request still waiting for signatures (``sent``); anyone else gets "not
found", whether or not the request exists. Whether the request is past its
due date is for the request service, which marks it ``expired``.

The request/accept service calls ``channel``, ``send_code`` and ``check_code``;
each runs in its own write transaction (or a savepoint of the caller's). A
wrong code is counted in a transaction of its own that commits before the
error is raised, so it must not be called inside a transaction the caller
means to roll back on that error.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import sqlite3
from datetime import datetime, timedelta

from sempi_cli.clock import ROME, iso_utc
from sempi_cli.errors import InvalidData, NotAuthenticated, NotFound, RuleViolation
from sempi_cli.i18n import N_, ngettext
from sempi_cli.i18n import gettext as _
from sempi_cli.services.base import Service
from sempi_cli.services.identity import totp
from sempi_cli.services.signing import evidence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sempi_cli.clock import Clock
    from sempi_cli.services.access import Actor

VALID_FOR = timedelta(minutes=10)
RESEND_AFTER = timedelta(minutes=1)  # at most one new code a minute...
PER_DAY = 5  # ...and five in DAY, per signer and request
DAY = timedelta(hours=24)
MAX_ATTEMPTS = 5  # wrong attempts that spoil an e-mailed code
MAIL_KIND = "sign_code"
CHANNELS = ("totp", "email")

NOT_YOURS = N_("request {request} not found among the documents you are to sign")
DECIDED = {
    "accepted": N_("you have already signed request {request}"),
    "declined": N_("you have already declined request {request}"),
}
CLOSED = {
    "completed": N_("request {request} is completed: there is nothing left to sign"),
    "declined": N_("request {request} was declined: it can no longer be signed"),
    "expired": N_("request {request} has expired: it can no longer be signed"),
}
ASK_AGAIN = N_("ask for a new code")


def new_code() -> str:
    """Six random digits (leading zeros kept)."""
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(request_id: int, user_id: int, sent_at: str, code: str) -> str:
    """What ``sign_codes.code_hash`` holds for ``code`` (see the module's docstring)."""
    key = f"sempi-sign-code:{request_id}:{user_id}:{sent_at}".encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def dedupe_key(code_id: int) -> str:
    """The outbox key of the e-mail that carries code ``code_id``."""
    return f"sign-code:{code_id}"


def _moment(at: datetime) -> str:
    """A moment in a message, on the office's clock, rounded up to the minute (a
    person told "after 10:31" must not be refused at 10:31)."""
    seconds = math.ceil(at.timestamp() / 60) * 60
    return datetime.fromtimestamp(seconds, ROME).strftime("%d/%m/%Y %H:%M")


class SignCodes(Service):
    """The codes of the actor, as a signer."""

    def channel(self) -> str:
        """How the actor proves a signature: 'totp' (two-step login on) or 'email'."""
        row = self.db.execute(
            "SELECT otp_enabled_at FROM users WHERE id = ?", (self.actor.id,)
        ).fetchone()
        return "totp" if row is not None and row[0] is not None else "email"

    def _pending(self, request_id: int) -> sqlite3.Row:
        """The request, if the actor is to sign it now; else NotFound or RuleViolation."""
        row = self.db.execute(
            "SELECT r.id, r.title, r.status, r.client_id, c.ragione_sociale AS client,"
            " s.outcome FROM sign_signers s JOIN sign_requests r ON r.id = s.request_id"
            " JOIN clients c ON c.id = r.client_id WHERE s.request_id = ? AND s.user_id = ?",
            (request_id, self.actor.id),
        ).fetchone()
        if row is None:
            raise NotFound(_(NOT_YOURS).format(request=request_id))
        if row["outcome"] is not None:
            raise RuleViolation(_(DECIDED[row["outcome"]]).format(request=request_id))
        if row["status"] != "sent":
            raise RuleViolation(_(CLOSED[row["status"]]).format(request=request_id))
        return row

    def _withdraw(self, code_ids: list[int]) -> None:
        """The codes no longer work: their e-mails lose the code, unsent ones are cancelled."""
        from sempi_cli.services.mail import outbox

        for code_id in code_ids:
            mail = self.db.execute(
                "SELECT id FROM mail_outbox WHERE dedupe_key = ?", (dedupe_key(code_id),)
            ).fetchone()
            if mail is not None:
                outbox.withdraw(self.db, mail[0], self.clock.now())

    # --- by e-mail ----------------------------------------------------------------------

    def send(self, request_id: int) -> dict:
        """Make a new code for the actor and request ``request_id``, queue it to the
        actor's e-mail and record ``code_sent``. {"request_id", "code_id",
        "mail_id", "expires_at"}. RuleViolation: two-step login is on (the app's
        code signs), or too soon (the message says when to ask again)."""
        from sempi_cli.services.mail.outbox import Outbox

        with self.transaction():
            request = self._pending(request_id)
            if self.channel() == "totp":
                raise RuleViolation(
                    _("you have two-step login on: no code is sent by e-mail"),
                    _("sign with the code your authenticator app shows"),
                )
            now = self.clock.now()
            self._throttle(request_id, now)
            older = [
                r[0]
                for r in self.db.execute(
                    "SELECT id FROM sign_codes WHERE request_id = ? AND user_id = ?"
                    " AND used_at IS NULL",
                    (request_id, self.actor.id),
                )
            ]
            self._withdraw(older)
            code, sent_at, expires = new_code(), iso_utc(now), now + VALID_FOR
            code_id = self.db.execute(
                "INSERT INTO sign_codes (request_id, user_id, code_hash, sent_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (request_id, self.actor.id, code_hash(request_id, self.actor.id, sent_at, code),
                 sent_at, iso_utc(expires)),
            ).fetchone()[0]  # fmt: skip
            user = self.db.execute(
                "SELECT email, full_name FROM users WHERE id = ?", (self.actor.id,)
            ).fetchone()
            context = {
                "full_name": user["full_name"],
                "title": request["title"],
                "request_id": request_id,
                "client": request["client"],
                "client_id": request["client_id"],
                "code": code,
                "expires": expires.astimezone(ROME).strftime("%d/%m/%Y alle %H:%M"),
            }
            mail_id = Outbox(self.db, self.clock, self.actor).queue(
                MAIL_KIND, user["email"], context, dedupe_key=dedupe_key(code_id)
            )
            evidence.record(
                self.db, self.clock, request_id, "code_sent", user_id=self.actor.id,
                channel="email", detail={"code": code_id, "expires_at": iso_utc(expires)},
            )  # fmt: skip
            self.audit("code_sent", "sign_request", request_id, code=code_id, mail_id=mail_id)
        return {
            "request_id": request_id,
            "code_id": code_id,
            "mail_id": mail_id,
            "expires_at": iso_utc(expires),
        }

    def _throttle(self, request_id: int, now: datetime) -> None:
        sent = [
            datetime.fromisoformat(r[0])
            for r in self.db.execute(
                "SELECT sent_at FROM sign_codes WHERE request_id = ? AND user_id = ?"
                " AND sent_at > ? ORDER BY sent_at",
                (request_id, self.actor.id, iso_utc(now - DAY)),
            )
        ]
        if sent and now < sent[-1] + RESEND_AFTER:
            seconds = math.ceil((sent[-1] + RESEND_AFTER - now).total_seconds())
            raise RuleViolation(
                _("a code was sent to you less than a minute ago"),
                ngettext(
                    "look for it in your e-mail, or ask for a new one in {n} second",
                    "look for it in your e-mail, or ask for a new one in {n} seconds",
                    seconds,
                ).format(n=seconds),
            )
        if len(sent) >= PER_DAY:
            raise RuleViolation(
                ngettext(
                    "{n} code was sent to you for request {request} in the last 24 hours",
                    "{n} codes were sent to you for request {request} in the last 24 hours",
                    len(sent),
                ).format(n=len(sent), request=request_id),
                _("ask for a new one after {when}").format(when=_moment(sent[-PER_DAY] + DAY)),
            )

    # --- checking -------------------------------------------------------------------------

    def check(self, request_id: int, typed: str) -> str:
        """Check the code the actor typed to sign request ``request_id``; right: it is
        used up, ``code_verified`` recorded, and the channel returned ('totp' or
        'email'). InvalidData (exit 6): not six digits, nothing counted.
        NotAuthenticated (exit 7): wrong (counted), expired, used, spoiled."""
        code = totp.normalise_code(typed or "")
        if code is None:
            raise InvalidData("code", _("a code is six digits"))
        self._pending(request_id)  # fail early; checked again under the write lock
        if self.channel() == "totp":
            return self._check_totp(request_id, code)
        return self._check_email(request_id, code)

    def _verified(self, request_id: int, channel: str, detail: dict) -> str:
        evidence.record(
            self.db, self.clock, request_id, "code_verified", user_id=self.actor.id,
            channel=channel, detail=detail,
        )  # fmt: skip
        self.audit("code_verified", "sign_request", request_id, channel=channel)
        return channel

    def _check_totp(self, request_id: int, code: str) -> str:
        from sempi_cli.services.identity.auth import INTERACTIVE, AuthService

        auth = AuthService(self.db, self.clock, self.actor)
        if auth.throttled(self.actor.id, INTERACTIVE):  # too soon: not even counted
            raise NotAuthenticated(
                _("too many wrong codes in a row"), _("wait a minute before trying again")
            )
        with self.transaction():
            self._pending(request_id)
            step = totp.use_code(self.db, self.actor.id, code, self.clock.now())
            if step is not None:
                return self._verified(request_id, "totp", {"step": step})
        auth.record_failure(self.actor.id, "code")  # a failed login of the account
        raise NotAuthenticated(
            _("wrong or already used code"),
            _("wait for your authenticator app to show a new code, and type that"),
        )

    def _check_email(self, request_id: int, code: str) -> str:
        now = iso_utc(self.clock.now())
        with self.transaction():
            self._pending(request_id)
            row = self.db.execute(
                "SELECT id, code_hash, sent_at, expires_at, used_at, attempts FROM sign_codes"
                " WHERE request_id = ? AND user_id = ? ORDER BY id DESC LIMIT 1",
                (request_id, self.actor.id),
            ).fetchone()
            if row is None:
                raise RuleViolation(
                    _("no code was sent to you for request {request}").format(request=request_id),
                    _("ask for one first"),
                )
            right = hmac.compare_digest(
                row["code_hash"], code_hash(request_id, self.actor.id, row["sent_at"], code)
            )
            if row["used_at"] is not None:
                raise NotAuthenticated(_("this code was already used"), _(ASK_AGAIN))
            if row["attempts"] >= MAX_ATTEMPTS:
                raise NotAuthenticated(
                    _("this code no longer works after {n} wrong attempts").format(n=MAX_ATTEMPTS),
                    _(ASK_AGAIN),
                )
            if row["expires_at"] <= now:
                expired = datetime.fromisoformat(row["expires_at"]).astimezone(ROME)
                raise NotAuthenticated(
                    _("this code expired at {when}").format(
                        when=expired.strftime("%d/%m/%Y %H:%M")
                    ),
                    _(ASK_AGAIN),
                )
            if right:  # unused, as read above under the write lock
                self.db.execute("UPDATE sign_codes SET used_at = ? WHERE id = ?", (now, row["id"]))
                self._withdraw([row["id"]])  # spent: its e-mail keeps it no longer
                return self._verified(request_id, "email", {"code": row["id"]})
            attempts = row["attempts"] + 1
            self.db.execute(
                "UPDATE sign_codes SET attempts = ? WHERE id = ?", (attempts, row["id"])
            )
            if attempts >= MAX_ATTEMPTS:
                self._withdraw([row["id"]])
            self.audit("code_wrong", "sign_request", request_id, code=row["id"], attempts=attempts)
        # Committed: the attempt counts even though the command fails.
        left = MAX_ATTEMPTS - attempts
        if left:
            raise NotAuthenticated(
                _("wrong code"),
                ngettext(
                    "{n} attempt left with this code",
                    "{n} attempts left with this code",
                    left,
                ).format(n=left),
            )
        raise NotAuthenticated(
            _("wrong code, and that was the last attempt: this code no longer works"),
            _(ASK_AGAIN),
        )


# --- the entry points the request/accept service calls -------------------------------------


def channel(db: sqlite3.Connection, clock: Clock, actor: Actor) -> str:
    """'totp' when the actor has two-step login on (their app's code signs), else
    'email' (ask ``send_code`` for one first)."""
    return SignCodes(db, clock, actor).channel()


def send_code(db: sqlite3.Connection, clock: Clock, actor: Actor, request_id: int) -> dict:
    """E-mail the actor a new code to sign request ``request_id`` (see SignCodes.send)."""
    return SignCodes(db, clock, actor).send(request_id)


def check_code(
    db: sqlite3.Connection, clock: Clock, actor: Actor, request_id: int, typed: str
) -> str:
    """The channel ('totp' or 'email') if ``typed`` is the actor's right, fresh code for
    request ``request_id``; else an error, one line (see SignCodes.check)."""
    return SignCodes(db, clock, actor).check(request_id, typed)
