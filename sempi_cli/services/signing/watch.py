"""The nightly watch of requests sent for signature with a due date: each signer
who has not decided is reminded 3 days before the last day and on the last day,
and a request past it is marked expired (with its evidence) and its sender told.

The nightly job (``sempi task remind run``, the cron entry point) calls
``SignWatch.run``, as it does the delegations watch. A reminder's source names
the request, the signer, the due date and the mark, so the notification centre's
UNIQUE source makes a re-run, or two runs at once, deliver it once. A request
first seen past a mark gets the latest mark it passed only: first seen 2 days
before its due date, the 3-day reminder now and the last-day one later. A reminder
goes by the channel the signer chose for signatures (`notify prefs`): the inbox,
or e-mail. Expiry needs no run: a request past its day already reads "expired"
(requests.SHOWN_STATUS) and cannot be signed; the run writes it down.
"""

from __future__ import annotations

from datetime import date, datetime

from sempi_cli.clock import ROME, FixedClock
from sempi_cli.errors import PermissionDenied
from sempi_cli.i18n import Text, ntext
from sempi_cli.i18n import gettext as _
from sempi_cli.services.base import Service

MARKS = (3, 0)  # days before the last day to sign when an undecided signer is reminded


def mark_for(days_left: int) -> int | None:
    """The latest mark ``days_left`` has reached: 3 for 3, 2 or 1 days left, 0 on
    the last day; None before the first mark (and after the last day)."""
    reached = [mark for mark in MARKS if 0 <= days_left <= mark]
    return min(reached) if reached else None


class SignWatch(Service):
    def run(self, now: datetime | None = None, *, dry_run: bool = False) -> dict:
        """Remind undecided signers and mark requests past their day expired, in one
        transaction; {"reminded": n, "expired": [ids]}."""
        from sempi_cli.services.notify.centre import NotificationService
        from sempi_cli.services.signing.requests import NOTICE_KIND, SignRequests

        if not self.actor.is_internal:
            raise PermissionDenied(_("only a firm user may run the signatures watch"))
        now = self.clock.now() if now is None else now
        today = now.astimezone(ROME).date()
        clock = FixedClock(now)
        inbox = NotificationService(self.db, clock, self.actor)
        requests = SignRequests(self.db, clock, self.actor)
        reminded, expired = 0, []
        with self.rehearsal(dry_run):
            waiting = self.db.execute(
                "SELECT r.id, r.title, r.due_on, r.created_by, r.client_id,"
                " c.ragione_sociale AS client FROM sign_requests r"
                " JOIN clients c ON c.id = r.client_id"
                " WHERE r.status = 'sent' AND r.due_on IS NOT NULL AND r.due_on <= ?"
                " ORDER BY r.due_on, r.id",
                (date.fromordinal(today.toordinal() + max(MARKS)).isoformat(),),
            ).fetchall()
            for row in waiting:
                days = date.fromisoformat(row["due_on"]).toordinal() - today.toordinal()
                if days < 0:
                    if requests.expire(row["id"], row["due_on"]):
                        expired.append(row["id"])
                        self._tell_sender(inbox, row)
                    continue
                mark = mark_for(days)
                if mark is None:
                    continue
                for (user_id,) in self.db.execute(
                    "SELECT user_id FROM sign_signers WHERE request_id = ? AND outcome IS NULL"
                    " ORDER BY position",
                    (row["id"],),
                ).fetchall():
                    delivered = inbox.notify(
                        user_id,
                        NOTICE_KIND,
                        reminder_text(row, days),
                        f"sign-due:{row['id']}:{user_id}:{row['due_on']}:{mark}",
                    )
                    reminded += delivered is not None
        return {"reminded": reminded, "expired": expired}

    def _tell_sender(self, inbox, row) -> None:
        from sempi_cli.services import access

        if access.sees_client(self.db, row["created_by"], row["client_id"]):
            inbox.notify(
                row["created_by"],
                "signature",
                Text(
                    "Request {request} ('{title}', {client}) expired unsigned on {day}.",
                    request=row["id"],
                    title=row["title"],
                    client=row["client"],
                    day=date.fromisoformat(row["due_on"]).strftime("%d/%m/%Y"),
                ),  # fmt: skip
                f"sign-expired:{row['id']}",
            )


def reminder_text(row, days: int) -> Text:
    """What an undecided signer reads: the request, its title and client, how long is left."""
    if days == 0:
        return Text(
            "Request {request} ('{title}', {client}) can be signed until today: sempi sign"
            " show {request}",
            request=row["id"], title=row["title"], client=row["client"],
        )  # fmt: skip
    return ntext(
        "Request {request} ('{title}', {client}) is to be signed within {n} day: sempi sign"
        " show {request}",
        "Request {request} ('{title}', {client}) is to be signed within {n} days: sempi sign"
        " show {request}",
        days,
        n=days, request=row["id"], title=row["title"], client=row["client"],
    )  # fmt: skip
