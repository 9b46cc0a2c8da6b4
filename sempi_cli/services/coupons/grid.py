"""The coupon grid (`coupon clients --studio S`): every conto terzi client of the
practice, and any client with a coupon account even if no longer marked conto
terzi, that the actor sees, with its licence's state on today's date, the
licence type, the account's nickname and e-mail, the term's last day and the
usage against the limits.

One query (``facts.FACTS``, the practice's clients by id); the state is computed
in Python per row by ``rules.state``, the one rule every coupon command shares
(a CASE copy in SQL could drift from it), and the filters by state and by
expiry apply before the page, so ``--limit``/``--offset`` page the filtered rows.
Who sees what: the practice's clients the actor may see (``visible_clients``); a
client's user sees no grid (PermissionDenied); a practice the actor does not see
is not found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sempi_cli.clock import today_in_rome
from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.coupons import facts, rules
from sempi_cli.services.text import chosen_words

COLUMNS = (
    "client_id", "code", "name", "state", "state_text", "licence", "nickname",
    "account_email", "ends_on", "documents", "documents_limit", "documents_pct",
    "contacts", "contacts_limit", "contacts_pct",
)  # fmt: skip

_DOCUMENTS, _CONTACTS = rules.LIMITS["documents"], rules.LIMITS["contacts"]


@dataclass
class GridQuery:
    """The filters and the page of `coupon clients` (None / empty: no filter)."""

    states: list[str] = field(default_factory=list)
    expiring_before: date | None = None
    limit: int | None = None
    offset: int = 0


class CouponGrid(Service):
    def list(self, studio: str | int, query: GridQuery | None = None) -> list[dict]:
        """The grid's rows, by client id; see the module's docstring."""
        from sempi_cli.services.coupons.packages import studio_of

        query = query or GridQuery()
        wanted = set(chosen_words(query.states, rules.STATES, "--state", _("a state")))
        if query.limit is not None and query.limit < 1:
            raise InvalidData("--limit", _("must be at least 1"))
        if query.offset < 0:
            raise InvalidData("--offset", _("must be 0 or more"))
        studio_id = studio_of(self.db, self.actor, studio)
        today = today_in_rome(self.clock).isoformat()
        before = query.expiring_before.isoformat() if query.expiring_before else None
        visible, params = access.visible_clients(self.actor, "c")
        params["studio"] = studio_id
        # Plain tuples: sqlite3.Row → dict costs more than the query on 10,000 rows.
        cursor = self.db.cursor()
        cursor.row_factory = None
        cursor.execute(
            f"{facts.FACTS} WHERE c.studio_id = :studio"
            f" AND (c.conto_terzi = 1 OR a.client_id IS NOT NULL) AND {visible} ORDER BY c.id",
            params,
        )
        names = [d[0] for d in cursor.description]
        kept = []
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            state, text = rules.state(row, today)
            if wanted and state not in wanted:
                continue
            if before is not None and not (state == "active" and row["ends_on"] < before):
                continue
            kept.append((row, state, text))
        end = None if query.limit is None else query.offset + query.limit
        return [_record(*one) for one in kept[query.offset : end]]  # the page only


def _record(row: dict, state: str, text: str) -> dict:
    documents, contacts = row["documents"], row["contacts"]
    return {
        "client_id": row["id"],
        "code": row["client_nickname"] or row["codice_fiscale"] or row["partita_iva"],
        "name": row["ragione_sociale"],
        "state": state,
        "state_text": text,
        "licence": row["licence"] or "none",
        "nickname": row["nickname"],
        "account_email": row["account_email"],
        "ends_on": row["ends_on"],
        "documents": documents,
        "documents_limit": _DOCUMENTS,
        "documents_pct": None if documents is None else documents * 100 // _DOCUMENTS,
        "contacts": contacts,
        "contacts_limit": _CONTACTS,
        "contacts_pct": None if contacts is None else contacts * 100 // _CONTACTS,
    }
