"""The request grid (`consent list --studio S`): per client of the practice, its
SMART services, its last request and what became of its e-mail, and its latest
answer.

- request status: ``not_requested`` (no request), ``sent`` (the request's e-mail
  waits in the outbox or is being sent), ``delivered`` (the SMTP server accepted
  it), ``failed`` (it failed, or someone cancelled it): the outbox's state of the
  request's ``mail_id``;
- response: ``consented`` / ``refused`` (the latest answer: the latest rules),
  ``pending`` (no answer at all);
- who answered and how: the e-mail of the person who recorded the answer, and
  ``sempi`` (the client's own user) or ``on behalf: CHANNEL`` (staff recording
  an answer received by PEC, e-mail, paper or phone).

One query: a correlated subquery finds each client's last request and latest
answer on the indexes ``consent_requests(client_id, id)`` and
``consent_answers(client_id, id)``; the filters and the page apply in SQL.
Who sees what: the practice's clients the actor may see (``visible_clients``: the
practice's administrator all of them, an operator or staff member the work groups
they are in, a firm administrator all); a client's user sees no grid at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sempi_cli.errors import InvalidData, PermissionDenied
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.text import chosen_words
from sempi_cli.store.sql import NO_LIMIT

REQUEST_STATUSES = ("not_requested", "sent", "delivered", "failed")
RESPONSES = ("pending", "consented", "refused")
COLUMNS = (
    "client_id",
    "code",
    "name",
    "smart_services",
    "request_status",
    "requested_at",
    "response",
    "answered_at",
    "answered_by",
    "answered_how",
)

_GRID = """
SELECT * FROM (
  SELECT c.id AS client_id,
    coalesce(c.nickname, c.codice_fiscale, c.partita_iva) AS code,
    c.ragione_sociale AS name, c.smart_services,
    CASE WHEN r.id IS NULL THEN 'not_requested'
         WHEN m.status = 'sent' THEN 'delivered'
         WHEN m.status IN ('failed', 'cancelled') THEN 'failed'
         ELSE 'sent' END AS request_status,
    r.requested_at,
    CASE a.answer WHEN 'yes' THEN 'consented' WHEN 'no' THEN 'refused' ELSE 'pending' END
      AS response,
    a.answered_at, u.email AS answered_by,
    CASE WHEN a.id IS NULL THEN NULL WHEN a.on_behalf = 1 THEN 'on behalf: ' || a.channel
         ELSE 'sempi' END AS answered_how
  FROM clients c
  LEFT JOIN consent_requests r ON r.id =
    (SELECT r2.id FROM consent_requests r2 WHERE r2.client_id = c.id ORDER BY r2.id DESC LIMIT 1)
  LEFT JOIN mail_outbox m ON m.id = r.mail_id
  LEFT JOIN consent_answers a ON a.id =
    (SELECT a2.id FROM consent_answers a2 WHERE a2.client_id = c.id ORDER BY a2.id DESC LIMIT 1)
  LEFT JOIN users u ON u.id = a.answered_by
  WHERE c.studio_id = :studio AND c.removed_at IS NULL AND {visible}
) g"""


@dataclass
class GridQuery:
    """The filters and the page of `consent list` (each None / empty: no filter)."""

    statuses: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)
    requested_from: str | None = None
    requested_to: str | None = None
    answered_from: str | None = None
    answered_to: str | None = None
    client_ids: list[int] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


class ConsentGrid(Service):
    def list(self, studio: str | int, query: GridQuery | None = None) -> list[dict]:
        """The grid's rows, by client id; see the module's docstring."""
        import json

        from sempi_cli.services.org.studios import find_studio_id

        query = query or GridQuery()
        actor = self.actor
        if actor.role == "external":
            raise PermissionDenied(_("a client's user may not read a practice's consent grid"))
        # Every value is checked before the practice is looked up: one clear line,
        # whichever is wrong.
        statuses = chosen_words(query.statuses, REQUEST_STATUSES, "--status", _("a status"))
        responses = chosen_words(query.responses, RESPONSES, "--response", _("a status"))
        bounds = {
            "requested_from": self._bound(query.requested_from, "--requested-from", end=False),
            "requested_to": self._bound(query.requested_to, "--requested-to", end=True),
            "answered_from": self._bound(query.answered_from, "--answered-from", end=False),
            "answered_to": self._bound(query.answered_to, "--answered-to", end=True),
        }
        for low, high in (("requested_from", "requested_to"), ("answered_from", "answered_to")):
            start, end = bounds[low], bounds[high]
            if start is not None and end is not None and end < start:
                raise InvalidData(
                    "--" + high.replace("_", "-"),
                    _("is before {option}").format(option="--" + low.replace("_", "-")),
                )
        if query.limit is not None and query.limit < 1:
            raise InvalidData("--limit", _("must be at least 1"))
        if query.offset < 0:
            raise InvalidData("--offset", _("must be 0 or more"))
        # An id below 1 is a typo, not a client out of sight: say so (one that might
        # exist filters the rows, and one out of sight just lists nothing).
        for client_id in query.client_ids:
            if client_id < 1:
                raise InvalidData(
                    "--client", _("{value} is not a client id").format(value=f"'{client_id}'")
                )
        studio_id = find_studio_id(self.db, actor, studio)
        visible, params = access.visible_clients(actor, "c")
        params.update(studio=studio_id, limit=NO_LIMIT if query.limit is None else query.limit)
        params["offset"] = query.offset
        clauses = []
        for name, words in (("request_status", statuses), ("response", responses)):
            if words:
                marks = ", ".join(f":{name}{i}" for i in range(len(words)))
                clauses.append(f"g.{name} IN ({marks})")
                params.update({f"{name}{i}": w for i, w in enumerate(words)})
        for key, value in bounds.items():
            if value is not None:
                column = "requested_at" if key.startswith("requested") else "answered_at"
                clauses.append(f"g.{column} {'>=' if key.endswith('from') else '<='} :{key}")
                params[key] = value
        if query.client_ids:
            marks = ", ".join(f":client{i}" for i in range(len(query.client_ids)))
            clauses.append(f"g.client_id IN ({marks})")
            params.update({f"client{i}": c for i, c in enumerate(query.client_ids)})
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        sql = (
            _GRID.format(visible=visible)
            + where
            + " ORDER BY g.client_id LIMIT :limit OFFSET :offset"
        )
        # Plain tuples, and each distinct services list decoded once: 10,000 rows
        # hold a handful of distinct lists, and sqlite3.Row → dict costs more than
        # the query's lookups.
        cursor = self.db.cursor()
        cursor.row_factory = None
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        at = names.index("smart_services")
        decoded: dict[str, list[str]] = {}
        rows = []
        for values in cursor:
            item = dict(zip(names, values, strict=True))
            text = values[at] or "[]"
            services = decoded.get(text)
            if services is None:
                services = decoded[text] = json.loads(text)
            item["smart_services"] = list(services)
            rows.append(item)
        return rows

    def _bound(self, value: str | None, option: str, *, end: bool) -> str | None:
        """A bound in storage form: a day alone means its first instant (from) or its
        last second (to: the whole day is included)."""
        if value is None:
            return None
        from datetime import time

        from sempi_cli.clock import iso_utc
        from sempi_cli.timeparse import parse_datetime

        at = parse_datetime(
            value, self.clock.now(), field=option, default_time=time(23, 59, 59) if end else time(0)
        )
        return iso_utc(at)
