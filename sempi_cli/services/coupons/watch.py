"""The nightly coupon check (`coupon check`, from cron): the practice's
administrators are told, in the notification centre (kind ``coupon``), of

1. **licences expiring within 45 days and not renewed**: a client linked to its
   account, not unlinked, not own-licence, whose latest term ends between today
   and today + 45 days (both included). One *digest* per practice, end date and
   administrator lists the clients, rather than a notice per client: every
   coupon term ends on 31 December, so on 16 November every licence of the
   firm enters the window on the same night, and 10,000 notices in one inbox
   would bury the other work. Each client and term is in exactly one digest,
   the one of the day its term entered the window: ``max(ends_on - 45 days,
   the Rome day its first term ending then was written)``. That day is in the
   notice's source (``coupon:expiring:{studio}:{ends_on}:{day}:{user}``), so a
   re-run tells nobody twice, a night cron missed is caught up, and a client
   migrated in December is told of in a digest of its own;
2. **the 30 June cut-off** for cancelling a package's tacit renewal, on 1 June
   and on 20 June (the first run on or after each, before 1 July: the mark is
   in the source ``coupon:cutoff:{studio}:{year}:{mark}:{user}``; first seen
   past both marks, the 20 June notice alone), for the practice's packages valid
   until 31 December of this year whose renewal is not cancelled;
3. **usage thresholds** (80 % and 100 % of either limit), by
   ``services/coupons/usage.notify_thresholds``.

Every state is computed from the dates of the injected clock. One query per
kind; this module writes no table of its own (notices go through the
notification centre, which owns ``notifications``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sempi_cli.clock import ROME, today_in_rome
from sempi_cli.errors import PermissionDenied
from sempi_cli.i18n import Text, ntext, number
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, event_log
from sempi_cli.services.base import Service
from sempi_cli.services.coupons import packages, rules
from sempi_cli.store.sql import json_field

EXPIRING_DAYS = 45
CUTOFF_MARKS = (1, 20)  # days of June when the administrators are told of the 30 June cut-off
SHOWN_CLIENTS = 10  # clients named in a digest; the rest are counted

_EXPIRING = """
WITH latest AS (
    SELECT l.id, l.client_id, l.ends_on,
           min(l.created_at) OVER (PARTITION BY l.client_id, l.ends_on) AS first_at,
           row_number() OVER (PARTITION BY l.client_id ORDER BY l.ends_on DESC, l.id DESC) AS n
    FROM coupon_licences l
)
SELECT c.studio_id, s.name, c.id, c.ragione_sociale, t.ends_on, t.first_at, t.id AS licence_id
FROM latest t JOIN clients c ON c.id = t.client_id
JOIN coupon_accounts a ON a.client_id = c.id JOIN studios s ON s.id = c.studio_id
WHERE t.n = 1 AND t.ends_on BETWEEN :today AND :until
  AND c.removed_at IS NULL AND c.own_licence = 0 AND a.unlinked_at IS NULL {scope}
ORDER BY c.studio_id, t.ends_on, c.id
"""

_CUTOFF = """
SELECT p.studio_id, s.name, p.id, p.type, p.count FROM coupon_packages p
JOIN studios s ON s.id = p.studio_id
WHERE p.valid_until = :end {scope} AND NOT EXISTS (
    SELECT 1 FROM coupon_cancellations x WHERE x.package_id = p.id AND x.renewal_year = :next)
ORDER BY p.studio_id, p.id
"""


def cutoff_mark(today: date) -> int | None:
    """The latest June mark passed on ``today`` (None outside 1-30 June)."""
    if today.month != 6:
        return None
    return max(mark for mark in CUTOFF_MARKS if today.day >= mark)


def _names(clients: Sequence[tuple[int, str]]) -> str | Text:
    named = ", ".join(f"{name} ({client_id})" for client_id, name in clients[:SHOWN_CLIENTS])
    more = len(clients) - SHOWN_CLIENTS
    if more <= 0:
        return named
    return Text("{named} and {more} more", named=named, more=rules.Said(number, more, 0))


# The notices are Texts: the notification centre writes each in its recipient's
# language (counts with the separators of that language).


def expiring_text(studio: str, studio_id: int, ends_on: str, clients: list) -> Text:
    year = int(ends_on[:4]) + 1
    command = f"sempi coupon renew --studio {studio_id} --year {year} --all-active"
    return ntext(
        "{studio}: {n} coupon licence(s) expire on {day} and are not renewed: {names}. Renew"
        " them with '{command}' (or --client ID), or let them lapse.",
        "{studio}: {n} coupon licence(s) expire on {day} and are not renewed: {names}. Renew"
        " them with '{command}' (or --client ID), or let them lapse.",
        len(clients),
        studio=studio,
        n=rules.Said(number, len(clients), 0),
        day=rules.italian(ends_on),
        names=_names(clients),
        command=command,
    )


def cutoff_text(studio: str, studio_id: int, year: int, today: date, rows: list) -> Text:
    left = (rules.cancel_deadline(year) - today).days
    command = f"sempi coupon cancel --studio {studio_id} --package ID --pec-ref REF --sent-on DATE"
    listed = [
        ntext(
            "{id} ({kind}, {n} coupon(s))",
            "{id} ({kind}, {n} coupon(s))",
            count,
            id=p_id,
            kind=kind,
            n=rules.Said(number, count, 0),
        )
        for p_id, kind, count in rows
    ]
    return ntext(
        "{studio}: package(s) {packages} renew tacitly for {year}; cancellations must be sent"
        " by PEC by {day} ({left}). Record one with '{command}'.",
        "{studio}: package(s) {packages} renew tacitly for {year}; cancellations must be sent"
        " by PEC by {day} ({left}). Record one with '{command}'.",
        len(rows),
        studio=studio,
        packages=rules.Said(lambda: ", ".join(str(p) for p in listed)),
        year=year + 1,
        day=rules.italian(rules.cancel_deadline(year)),
        left=ntext("{n} day(s) left", "{n} day(s) left", left, n=left),
        command=command,
    )


class CouponWatch(Service):
    """`coupon check`: the nightly notices of expiring licences, the cut-off, usage."""

    def run(self, studio: str | int | None = None) -> dict:
        """Notify the practice administrators of what is due today; returns the counts
        ({"expiring", "cutoff", "usage", ...}): licences and packages told of (each
        once), threshold notices. A firm administrator (cron) checks every practice,
        or ``studio``; a practice's administrator their own practice only."""
        from sempi_cli.services.coupons.usage import notify_thresholds
        from sempi_cli.services.notify.centre import NotificationService

        studio_id = self._scope(studio)
        today = today_in_rome(self.clock)
        inbox = NotificationService(self.db, self.clock, self.actor)
        with self.transaction():
            admins = self._admins(studio_id)
            expiring = self._expiring(inbox, admins, today, studio_id)
            cutoff = self._cutoff(inbox, admins, today, studio_id)
            client_ids = None if studio_id is None else self._clients_of(studio_id)
            usage = notify_thresholds(self.db, self.clock, self.actor, client_ids=client_ids)
        return {"expiring": expiring[0], "expiring_notices": expiring[1], "cutoff": cutoff[0],
                "cutoff_notices": cutoff[1], "usage": usage}  # fmt: skip

    def _scope(self, studio: str | int | None) -> int | None:
        """The practice to check (None: all, for a firm administrator)."""
        actor = self.actor
        if studio is not None:
            studio_id = packages.studio_of(self.db, actor, studio)
            access.require_practice_admin(actor, studio_id, _("run its coupon check"))
            return studio_id
        if actor.is_firm_admin:
            return None
        if actor.role == "studio-admin" and actor.studio_id is not None:
            return actor.studio_id
        raise PermissionDenied(
            _("only a firm administrator or a practice's administrator may run the coupon check"),
            _("cron runs it with a firm administrator's application password (docs/cron.md)"),
        )

    def _admins(self, studio_id: int | None) -> dict[int, list[int]]:
        """Each practice's active administrators: {studio id: [user ids]}."""
        scope, params = ("", ()) if studio_id is None else (" AND studio_id = ?", (studio_id,))
        admins: dict[int, list[int]] = {}
        for user_id, sid in self.db.execute(
            "SELECT id, studio_id FROM users WHERE role = 'studio-admin' AND disabled_at IS NULL"
            f"{scope} ORDER BY id",
            params,
        ):
            admins.setdefault(sid, []).append(user_id)
        return admins

    def _clients_of(self, studio_id: int) -> list[int]:
        return [
            row[0]
            for row in self.db.execute(
                "SELECT c.id FROM clients c JOIN coupon_accounts a ON a.client_id = c.id"
                " WHERE c.studio_id = ?",
                (studio_id,),
            )
        ]

    def _expiring(
        self, inbox, admins: dict[int, list[int]], today: date, studio_id: int | None
    ) -> tuple[int, int]:
        """(licences told of, notices): one digest per practice, end date, day the
        terms entered the window, and administrator."""
        scope = "" if studio_id is None else "AND c.studio_id = :studio"
        until = today + timedelta(days=EXPIRING_DAYS)
        groups: dict[tuple[int, str, str, str], list[tuple[int, str]]] = {}
        first_days: dict[str, date] = {}
        recorded = self._expiring_recorded(today)
        events: list[tuple] = []
        for sid, studio, client_id, name, ends_on, first_at, licence_id in self.db.execute(
            _EXPIRING.format(scope=scope),
            {"today": today.isoformat(), "until": until.isoformat(), "studio": studio_id},
        ):
            written = first_days.get(first_at)
            if written is None:
                written = first_days[first_at] = (
                    datetime.fromisoformat(first_at).astimezone(ROME).date()
                )
            opened = date.fromisoformat(ends_on) - timedelta(days=EXPIRING_DAYS)
            day = max(opened, written).isoformat()
            if (client_id, ends_on, day) not in recorded:
                data = {"licence_id": licence_id, "ends_on": ends_on, "day": day,
                        "studio_id": sid}  # fmt: skip
                events.append((client_id, client_id, None, data))
            if sid not in admins:
                continue
            groups.setdefault((sid, studio, ends_on, day), []).append((client_id, name))
        # Whether or not the practice has an administrator to tell: the licence expires.
        event_log.record_many(self.db, self.clock, self.actor, "coupon.expiring", events)
        told, notices = 0, 0
        for (sid, studio, ends_on, day), clients in groups.items():
            text = expiring_text(studio, sid, ends_on, clients)
            sent = sum(
                inbox.notify(
                    user_id, "coupon", text, f"coupon:expiring:{sid}:{ends_on}:{day}:{user_id}"
                )
                is not None
                for user_id in admins[sid]
            )
            notices += sent
            told += len(clients) if sent else 0
        return told, notices

    def _expiring_recorded(self, today: date) -> set[tuple[int, str, str]]:
        """(client, end date, day) of the ``coupon.expiring`` events already written
        for terms not ended yet: each term's event once per day it entered the window
        (the key of its notice's source), so a re-run writes none again."""
        ends_on = json_field(self.db, "data", "ends_on")
        return {
            (client_id, ends, day)
            for client_id, ends, day in self.db.execute(
                f"SELECT client_id, {ends_on}, {json_field(self.db, 'data', 'day')}"
                f" FROM events WHERE kind = 'coupon.expiring' AND {ends_on} >= ?",
                (today.isoformat(),),
            )
        }

    def _cutoff(
        self, inbox, admins: dict[int, list[int]], today: date, studio_id: int | None
    ) -> tuple[int, int]:
        """(packages told of, notices): the 30 June cut-off on 1 and 20 June."""
        mark = cutoff_mark(today)
        if mark is None:
            return 0, 0
        year = today.year
        scope = "" if studio_id is None else "AND p.studio_id = :studio"
        by_studio: dict[tuple[int, str], list[tuple[int, str, int]]] = {}
        for sid, studio, package_id, kind, count in self.db.execute(
            _CUTOFF.format(scope=scope),
            {"end": rules.year_end(year), "next": year + 1, "studio": studio_id},
        ):
            if sid in admins:
                by_studio.setdefault((sid, studio), []).append((package_id, kind, count))
        told, notices = 0, 0
        for (sid, studio), rows in by_studio.items():
            text = cutoff_text(studio, sid, year, today, rows)
            sent = sum(
                inbox.notify(
                    user_id, "coupon", text, f"coupon:cutoff:{sid}:{year}:{mark}:{user_id}"
                )
                is not None
                for user_id in admins[sid]
            )
            notices += sent
            told += len(rows) if sent else 0
        return told, notices
