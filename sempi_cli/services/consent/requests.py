"""Consent requests (`consent request`): the practice asks its clients for consent
to work in their SMART services with its own credentials.

Who sends: the practice's administrator, or a firm administrator; operators and
staff never (the option is the practice's decision, services/consent/options.py).

Which clients are **eligible** (one rule, for ``--all`` and for ``--client``):

1. the client is not removed;
2. it has at least one active SMART service (``clients.smart_services``);
3. it has not answered yet (no row in ``consent_answers``): an answer given, yes or
   no, stands until the client changes it (`consent answer`), so the practice does
   not ask again;
4. it was never asked, or its last request is older than ``consent.resend_days``
   (a setting, default 30): a client that has not answered is asked again, but not
   more often than that;
5. it has an e-mail or a PEC address to send the request to.

``--all`` sends to every eligible client of the practice and counts the others by
reason; ``--client`` names each client that is not eligible with its reason and
sends nothing at all (exit 5), unless ``--partial``: then the eligible ones get
theirs and the command ends with exit 12 (docs/exit-codes.md).

A request is a ``consent_requests`` row (the services it concerns, as they are
now); the ``consent`` e-mail queued to the client's e-mail and to its PEC if it
has one (``mail_id`` is the message to the e-mail address, or to the PEC when there
is no e-mail: the grid's request status follows it); a ``consent`` notification to
each of the client's active external users; an audit line. Everything in one
``BEGIN IMMEDIATE`` transaction, written in bulk (one ``executemany`` per table):
10,000 clients are one command of well under a few seconds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import timedelta

from sempi_cli.clock import iso_utc
from sempi_cli.errors import NotFound, PermissionDenied, RuleViolation, UsageProblem
from sempi_cli.i18n import Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, audit, event_log
from sempi_cli.services.access import Actor, require_practice_admin
from sempi_cli.services.base import Service
from sempi_cli.services.text import listed_refusals

RESEND_SETTING = "consent.resend_days"
# Why a client is not eligible: a stable code for scripts, and the reason in words.
REASON_CODES = ("removed", "no_smart_service", "answered", "recently_asked", "no_address")
SHOWN_REFUSALS = 3  # clients named in the one line of an all-or-nothing refusal

_CANDIDATES = (
    "SELECT c.id, c.studio_id, s.name AS studio, c.ragione_sociale, c.email, c.pec,"
    " c.smart_services, c.removed_at,"
    " (SELECT r.requested_at FROM consent_requests r WHERE r.client_id = c.id"
    " ORDER BY r.id DESC LIMIT 1) AS last_requested_at,"
    " (SELECT a.answer || ' ' || a.answered_at FROM consent_answers a WHERE a.client_id = c.id"
    " ORDER BY a.id DESC LIMIT 1) AS last_answer"
    " FROM clients c JOIN studios s ON s.id = c.studio_id"
)


def resend_days(db: sqlite3.Connection) -> int:
    from sempi_cli.services import settings

    return int(settings.get(db, RESEND_SETTING))


def _said_day(stored: str) -> str:
    """The day of a stored instant in a sentence: ISO as English has always written
    it, dd/mm/yyyy in Italian."""
    from sempi_cli import i18n

    day = stored[:10]
    return day if i18n.current() == "en" else f"{day[8:10]}/{day[5:7]}/{day[:4]}"


class SaidDay:
    """A stored instant's day as a Text's value: written when the text is, in the
    language it is written in (ISO in English, dd/mm/yyyy in Italian)."""

    def __init__(self, stored: str) -> None:
        self.stored = stored

    def __str__(self) -> str:
        return _said_day(self.stored)


def judge(row: sqlite3.Row | dict, cutoff: str, days: int) -> tuple[str, Text] | None:
    """Why the client of ``row`` (a row of _CANDIDATES) may not be asked now, as
    (code, reason: put into words in English for the report's rows, in the reader's
    language for the refusal's line); None: it is eligible. ``cutoff``: the instant
    ``days`` ago."""
    if row["removed_at"] is not None:
        return "removed", Text("the client was removed")
    if not json.loads(row["smart_services"] or "[]"):
        return "no_smart_service", Text("it has no active SMART service")
    if row["last_answer"] is not None:
        answer, at = row["last_answer"].split(" ", 1)
        if answer == "yes":
            why = Text(
                "it already answered (consented on {day}); the answer stands until the"
                " client changes it",
                day=SaidDay(at),
            )
        else:
            why = Text(
                "it already answered (refused on {day}); the answer stands until the"
                " client changes it",
                day=SaidDay(at),
            )
        return "answered", why
    last = row["last_requested_at"]
    if last is not None and last > cutoff:
        return (
            "recently_asked",
            Text(
                "it was asked on {day}, less than {days} days ago ({setting})",
                day=SaidDay(last),
                days=days,
                setting=RESEND_SETTING,
            ),
        )
    if not (row["email"] or row["pec"]):
        return "no_address", Text("it has no e-mail or PEC address to send the request to")
    return None


class ConsentRequests(Service):
    """`consent request`: send consent requests, one client or a whole practice."""

    def request(
        self,
        *,
        studio: str | int | None = None,
        everyone: bool = False,
        client_ids: Sequence[int] = (),
        partial: bool = False,
        dry_run: bool = False,
        confirm: Callable[[int], None] | None = None,
    ) -> dict:
        """Send requests to every eligible client of ``studio`` (``everyone``) or to
        ``client_ids``. ``confirm(n)`` is asked, before any write and outside the
        transaction, when ``n`` requests are about to go (not for a dry run).

        Returns {"dry_run", "requested": [{client_id, name, services, request_id,
        mail_ids, notified}], "not_eligible": [{client_id, name, code, reason}],
        "mails", "notified"}; with ``dry_run`` the same, nothing written (request
        and mail ids are those it would have had)."""
        actor = self.actor
        if actor.role not in ("firm-admin", "studio-admin"):
            raise PermissionDenied(
                _(
                    "only the practice's administrator or a firm administrator may send consent"
                    " requests"
                )
            )
        if everyone == bool(client_ids):
            raise UsageProblem(_("give --all (with --studio) or --client, not both nor neither"))
        if everyone and studio is None:
            raise UsageProblem(_("--all needs --studio: the practice whose clients to ask"))
        if confirm is not None and not dry_run:
            eligible, _refused = self._judge(studio, client_ids, partial)
            if eligible:
                confirm(len(eligible))
        result: dict = {}
        with self.rehearsal(dry_run):
            eligible, refused = self._judge(studio, client_ids, partial)
            result = self._write(eligible)
            result["not_eligible"] = refused
        result["dry_run"] = dry_run
        return result

    # --- which clients -------------------------------------------------------------

    def _judge(
        self, studio: str | int | None, client_ids: Sequence[int], partial: bool
    ) -> tuple[list[sqlite3.Row], list[dict]]:
        actor = self.actor
        days = resend_days(self.db)
        cutoff = iso_utc(self.clock.now() - timedelta(days=days))
        studio_id = None
        if studio is not None:
            from sempi_cli.services.org.studios import find_studio_id

            studio_id = find_studio_id(self.db, actor, studio)
            require_practice_admin(actor, studio_id, _("send its consent requests"))
        if client_ids:
            rows = self._chosen(actor, client_ids, studio_id)
        else:
            rows = list(
                self.db.execute(
                    f"{_CANDIDATES} WHERE c.studio_id = ? AND c.removed_at IS NULL ORDER BY c.id",
                    (studio_id,),
                )
            )
        eligible, refused, reasons = [], [], []
        for row in rows:
            why = judge(row, cutoff, days)
            if why is None:
                eligible.append(row)
            else:
                refused.append(
                    {
                        "client_id": row["id"],
                        "name": row["ragione_sociale"],
                        "code": why[0],
                        "reason": why[1].said_in("en"),  # the report's rows: for scripts
                    }
                )
                reasons.append(why[1])
        if client_ids and refused and not (partial and eligible):
            listed = listed_refusals(
                [
                    (r["client_id"], r["name"], str(why))
                    for r, why in zip(refused, reasons, strict=True)
                ],
                SHOWN_REFUSALS,
            )
            raise RuleViolation(
                _("not eligible for a consent request: {clients}").format(clients=listed),
                _("nothing was sent")
                if partial
                else _("nothing was sent; --partial sends to the eligible ones"),
            )
        return eligible, refused

    def _chosen(
        self, actor: Actor, client_ids: Sequence[int], studio_id: int | None
    ) -> list[sqlite3.Row]:
        """The clients named, each one the actor may see (else not found, as for an id
        that does not exist) and, with --studio, of that practice."""
        wanted = list(dict.fromkeys(client_ids))
        where, params = access.visible_clients(actor)
        marks = ", ".join(f":c{i}" for i in range(len(wanted)))
        params.update({f"c{i}": client_id for i, client_id in enumerate(wanted)})
        found = {
            row["id"]: row
            for row in self.db.execute(f"{_CANDIDATES} WHERE c.id IN ({marks}) AND {where}", params)
        }
        for client_id in wanted:
            row = found.get(client_id)
            if row is None or (studio_id is not None and row["studio_id"] != studio_id):
                raise NotFound(
                    _("client {client} not found in that practice").format(client=client_id)
                    if row is not None
                    else _("client {client} not found").format(client=client_id),
                    _("see the practice's clients with '{command}'").format(
                        command="sempi consent list --studio S"
                    ),
                )
            require_practice_admin(actor, row["studio_id"], _("send its consent requests"))
        return [found[client_id] for client_id in wanted]

    # --- writing ---------------------------------------------------------------------

    def _write(self, eligible: list[sqlite3.Row]) -> dict:
        from sempi_cli.services.mail.outbox import queue_many

        db, now, actor = self.db, self.now(), self.actor
        messages, owners = [], []
        for row in eligible:
            services = json.loads(row["smart_services"])
            context = {
                "full_name": row["ragione_sociale"],
                "client": row["ragione_sociale"],
                "client_id": row["id"],
                "studio": row["studio"],
                "services": ", ".join(services),
            }
            for address in dict.fromkeys(a.lower() for a in (row["email"], row["pec"]) if a):
                messages.append((address, context, row["id"], row["studio_id"]))
                owners.append(row["id"])
        mail_ids = queue_many(db, now, actor.id, "consent", messages)
        mails_of: dict[int, list[int]] = {}
        for client_id, mail_id in zip(owners, mail_ids, strict=True):
            mails_of.setdefault(client_id, []).append(mail_id)
        first = int(
            db.execute("SELECT coalesce(max(id), 0) + 1 FROM consent_requests").fetchone()[0]
        )
        requested = [
            {
                "client_id": row["id"],
                "name": row["ragione_sociale"],
                "services": json.loads(row["smart_services"]),
                "request_id": first + n,
                "mail_ids": mails_of[row["id"]],
                "notified": 0,
            }
            for n, row in enumerate(eligible)
        ]
        db.executemany(
            "INSERT INTO consent_requests (id, client_id, services, requested_at, requested_by,"
            " mail_id) VALUES (?, ?, ?, ?, ?, ?)",
            (
                (r["request_id"], r["client_id"], json.dumps(r["services"]), now, actor.id, r["mail_ids"][0])
                for r in requested
            ),
        )  # fmt: skip
        notified = self._notify(eligible, requested)
        event_log.record_many(
            db, self.clock, actor, "consent.requested",
            ((r["client_id"], r["client_id"], None,
              {"request_id": r["request_id"], "services": r["services"]}) for r in requested),
        )  # fmt: skip
        audit.record_many(
            db,
            now,
            actor.id,
            (
                ("request", "consent", r["client_id"], {k: r[k] for k in ("request_id", "services", "mail_ids")})
                for r in requested
            ),
        )  # fmt: skip
        return {"requested": requested, "mails": len(mail_ids), "notified": notified}

    def _notify(self, eligible: list[sqlite3.Row], requested: list[dict]) -> int:
        """A ``consent`` notification to each active external user of each client."""
        if not requested:
            return 0
        from sempi_cli.services.notify.centre import NotificationService

        by_client = {r["client_id"]: r for r in requested}
        studios = sorted({row["studio_id"] for row in eligible})
        marks = ", ".join("?" for _studio in studios)
        people = [
            (user_id, client_id)
            for user_id, client_id in self.db.execute(
                "SELECT u.id, u.client_id FROM users u JOIN clients c ON c.id = u.client_id"
                f" WHERE u.role = 'external' AND u.disabled_at IS NULL AND c.studio_id IN ({marks})"
                " ORDER BY u.id",
                studios,
            )
            if client_id in by_client
        ]
        if not people:
            return 0
        centre = NotificationService(self.db, self.clock, self.actor)
        studio_of = {row["id"]: row["studio"] for row in eligible}
        count = 0
        for user_id, client_id in people:
            r = by_client[client_id]
            command = f"sempi consent answer {client_id} yes"
            text = Text(  # in the recipient's language
                "{studio} asks {client} for consent to work in its SMART services"
                " ({services}): answer with '{command}' or 'no'.",
                studio=studio_of[client_id],
                client=r["name"],
                services=", ".join(r["services"]),
                command=command,
            )
            if centre.notify(
                user_id, "consent", text, f"consent-request:{r['request_id']}:{user_id}"
            ):
                r["notified"] += 1
                count += 1
        return count


def pending_for(db: sqlite3.Connection, actor: Actor) -> dict | None:
    """The consent request an external user's client has not answered (the latest,
    with no answer since it was sent): shown at their `login` and in `sempi status`.
    None for anyone else, or when nothing is pending."""
    if actor.role != "external" or actor.client_id is None:
        return None
    row = db.execute(
        "SELECT r.id, r.client_id, r.services, r.requested_at, c.ragione_sociale, s.name"
        " FROM consent_requests r JOIN clients c ON c.id = r.client_id"
        " JOIN studios s ON s.id = c.studio_id"
        " WHERE r.client_id = ? AND c.removed_at IS NULL ORDER BY r.id DESC LIMIT 1",
        (actor.client_id,),
    ).fetchone()
    if row is None:
        return None
    answered = db.execute(
        "SELECT 1 FROM consent_answers WHERE client_id = ? AND answered_at >= ? LIMIT 1",
        (row[1], row[3]),
    ).fetchone()
    if answered is not None:
        return None
    return {
        "request_id": row[0],
        "client_id": row[1],
        "client": row[4],
        "studio": row[5],
        "services": json.loads(row[2]),
        "requested_at": row[3],
        "how_to_answer": f"sempi consent answer {row[1]} yes|no",
    }


def pending_line(pending: dict) -> str:
    """The line `login` and `status` print for a pending request."""
    return _(
        "{studio} asks for {client}'s consent to work in its SMART services ({services}),"
        " asked on {day}: answer with '{command}'."
    ).format(
        studio=pending["studio"],
        client=pending["client"],
        services=", ".join(pending["services"]),
        day=_said_day(pending["requested_at"]),
        command=pending["how_to_answer"],
    )
