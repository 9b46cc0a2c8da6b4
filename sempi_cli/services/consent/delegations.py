"""The delegations watch: the tax-authority delegations onboarding recorded
(``client_delegations``, one current record per client and kind) that expire
soon, listed for the people who may see the client, and a notice to the
client's responsible at 60 and at 15 days before the last valid day.

The notices come from the nightly job (``sempi task remind run``, the cron entry
point, calls ``DelegationWatch.run``). Each notice's source names the client,
the kind, the valid-until date and the mark, so the notification centre's
UNIQUE source makes a re-run, or two runs at once, deliver it once; a renewed
delegation (a new valid-until) starts over. A delegation first seen past a mark
gets one notice, for the latest mark it passed: first seen 40 days before
expiry, the 60-day notice now and the 15-day one later; first seen 10 days
before, or already expired, the 15-day notice alone, once.

This module writes no table of its own: notices go through the notification
centre, which owns ``notifications``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sempi_cli.clock import ROME, FixedClock
from sempi_cli.errors import InvalidData, PermissionDenied
from sempi_cli.i18n import N_, Text, ntext
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service

DEFAULT_WINDOW = "60d"
MARKS = (60, 15)  # days before the last valid day when the responsible is told
MAX_WINDOW_DAYS = 4 * 366 + 1  # a cassetto fiscale delegation lasts at most four years
COLUMNS = (
    "client_id", "client", "kind", "reference", "valid_until", "days_left", "responsible",
)  # fmt: skip
RUN_COLUMNS = ("client_id", "kind", "valid_until", "days_left", "mark", "recipient")
_UNITS = {"d": 1, "g": 1, "w": 7, "m": 30, "y": 365, "a": 365}
_WINDOW_HINT = N_("give days (60d), weeks (8w), months (2m) or years (1y)")


def window_days(text: str, field: str = "--expiring") -> int:
    """A window like 60d, 8w, 2m, 1y as a number of days (a month counts 30)."""
    key = (text or "").strip().lower()
    number, unit = key[:-1], key[-1:]
    if key.isdigit():
        number, unit = key, "d"
    if not number.isdigit() or unit not in _UNITS:
        raise InvalidData(
            field, _("cannot read {text} as a window").format(text=repr(text)), _(_WINDOW_HINT)
        )
    days = int(number) * _UNITS[unit]
    if days > MAX_WINDOW_DAYS:
        raise InvalidData(
            field, _("{text} is beyond four years").format(text=repr(text)), _(_WINDOW_HINT)
        )
    return days


def mark_for(days_left: int) -> int | None:
    """The latest mark a delegation with ``days_left`` has passed (None: none yet)."""
    passed = [mark for mark in MARKS if days_left <= mark]
    return min(passed) if passed else None


def source_of(client_id: int, kind: str, valid_until: str, mark: int) -> str:
    return f"delegation:{client_id}:{kind}:{valid_until}:{mark}"


def _today(now: datetime) -> date:
    return now.astimezone(ROME).date()


def _days_left(valid_until: str, today: date) -> int:
    return (date.fromisoformat(valid_until) - today).days


def notice_text(client: str, kind: str, reference: str, valid_until: str, days: int) -> Text:
    """The responsible's notice, written in their language by the notification centre."""
    until = date.fromisoformat(valid_until).strftime("%d/%m/%Y")
    words = {"client": client, "name": kind.replace("_", " "), "reference": reference}
    if days < 0:
        return Text(
            "{client}: the {name} delegation {reference} expired on {until}; ask the client"
            " to renew it.",
            until=until,
            **words,
        )
    if days == 0:
        return Text(
            "{client}: the {name} delegation {reference} expires today ({until}); ask the"
            " client to renew it.",
            until=until,
            **words,
        )
    return ntext(
        "{client}: the {name} delegation {reference} expires on {until}, in {n} day; ask"
        " the client to renew it.",
        "{client}: the {name} delegation {reference} expires on {until}, in {n} days; ask"
        " the client to renew it.",
        days,
        until=until,
        n=days,
        **words,
    )


class DelegationWatch(Service):
    def expiring(self, window: str = DEFAULT_WINDOW, studio: str | None = None) -> list[dict]:
        """The delegations of the clients the actor may see whose last valid day is
        within ``window`` from today (those already expired too: the firm cannot use
        them), soonest first."""
        days = window_days(window)
        today = _today(self.clock.now())
        where, params = access.visible_clients(self.actor)
        params = {**params, "until": (today + timedelta(days=days)).isoformat()}
        if studio is not None:
            from sempi_cli.services.org.studios import find_studio_id

            where += " AND c.studio_id = :studio"
            params["studio"] = find_studio_id(self.db, self.actor, studio)
        rows = self.db.execute(
            "SELECT d.client_id, c.ragione_sociale, d.kind, d.reference, d.valid_until,"
            " u.email AS responsible FROM client_delegations d"
            " JOIN clients c ON c.id = d.client_id LEFT JOIN users u ON u.id = c.responsible_id"
            f" WHERE d.valid_until <= :until AND c.removed_at IS NULL AND {where}"
            " ORDER BY d.valid_until, d.client_id, d.kind",
            params,
        ).fetchall()
        return [
            {
                "client_id": r[0],
                "client": r[1],
                "kind": r[2],
                "reference": r[3],
                "valid_until": r[4],
                "days_left": _days_left(r[4], today),
                "responsible": r[5],
            }
            for r in rows
        ]

    def run(self, now: datetime | None = None, *, dry_run: bool = False) -> dict:
        """Tell each client's responsible of the delegations at or past a mark, once
        per delegation and mark. One transaction; the notification's UNIQUE source
        keeps a re-run (or two runs at once) from telling anyone twice. A responsible
        who no longer sees the client is told nothing (the name would leak)."""
        from sempi_cli.services.identity.accounts import actor_from_row
        from sempi_cli.services.notify.centre import NotificationService

        if not self.actor.is_internal:
            raise PermissionDenied(
                _("only a firm user may run the delegations watch"),
                _(
                    "cron runs it with a firm user's application password (SEMPI_USER,"
                    " SEMPI_APP_PASSWORD)"
                ),
            )
        now = self.clock.now() if now is None else now
        today = _today(now)
        inbox = NotificationService(self.db, FixedClock(now), self.actor)
        notified: list[dict] = []
        withheld = 0
        with self.rehearsal(dry_run):
            due = self.db.execute(
                "SELECT d.client_id, d.kind, d.reference, d.valid_until, c.ragione_sociale,"
                " c.responsible_id FROM client_delegations d JOIN clients c ON c.id = d.client_id"
                " WHERE d.valid_until <= ? AND c.removed_at IS NULL"
                " ORDER BY d.valid_until, d.client_id, d.kind",
                ((today + timedelta(days=max(MARKS))).isoformat(),),
            ).fetchall()
            for client_id, kind, reference, until, name, responsible_id in due:
                days = _days_left(until, today)
                mark = mark_for(days)
                if mark is None:  # not reached: the query's bound is the first mark
                    continue
                recipient = self._recipient(responsible_id, client_id, actor_from_row)
                if recipient is None:
                    withheld += 1
                    continue
                notification_id = inbox.notify(
                    recipient.id,
                    "consent",
                    notice_text(name, kind, reference, until, days),
                    source_of(client_id, kind, until, mark),
                )
                if notification_id is not None:
                    notified.append(
                        {
                            "client_id": client_id,
                            "kind": kind,
                            "valid_until": until,
                            "days_left": days,
                            "mark": mark,
                            "recipient": recipient.email,
                        }
                    )
        return {"notified": len(notified), "withheld": withheld, "delegations": notified}

    def _recipient(self, user_id: int | None, client_id: int, actor_from_row):
        """The responsible as an actor, if there is one and they still see the client."""
        if user_id is None:
            return None
        row = self.db.execute(
            "SELECT * FROM users WHERE id = ? AND disabled_at IS NULL", (user_id,)
        ).fetchone()
        if row is None:
            return None
        recipient = actor_from_row(row)
        where, params = access.visible_clients(recipient)
        sees = self.db.execute(
            f"SELECT 1 FROM clients c WHERE c.id = :client AND {where}",
            {**params, "client": client_id},
        ).fetchone()
        return recipient if sees else None
