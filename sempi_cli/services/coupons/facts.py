"""What every coupon command reads about a client: its conto terzi facts, its
account's link and its latest licence term, in one query (``FACTS``), and the
one client a person names, checked against who may see it."""

from __future__ import annotations

import sqlite3

from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.access import Actor
from sempi_cli.services.coupons import rules

# The latest term decides: the one ending last, and of those the last written (an
# upgrade in the middle of a term ends on the same day and rules from then on). Its
# id is found once per client on coupon_licences(client_id, ends_on), then joined,
# so its end and its licence come from the same row.
FACTS = (
    "SELECT c.id, c.studio_id, c.ragione_sociale, c.nickname AS client_nickname,"
    " c.codice_fiscale, c.partita_iva, c.email AS client_email, c.responsible_id,"
    " c.conto_terzi, c.own_licence, c.removed_at,"
    " CASE WHEN a.client_id IS NULL THEN 0 ELSE 1 END AS linked, a.email AS account_email,"
    " a.nickname, a.unlinked_at, a.first_access_at, a.authorised_at, a.documents, a.contacts,"
    " a.usage_at, t.ends_on, t.licence"
    " FROM clients c LEFT JOIN coupon_accounts a ON a.client_id = c.id"
    " LEFT JOIN coupon_licences t ON t.id = (SELECT l.id FROM coupon_licences l"
    " WHERE l.client_id = c.id ORDER BY l.ends_on DESC, l.id DESC LIMIT 1)"
)


def client_facts(db: sqlite3.Connection, actor: Actor, client_id: int) -> sqlite3.Row:
    """The client's coupon facts if the actor may see it (NotFound otherwise, as for
    any client read); a client's own user sees no coupon at all (PermissionDenied)."""
    from sempi_cli.errors import NotFound, PermissionDenied

    if actor.role == "external":
        raise PermissionDenied(_("a client's user may not read the practice's coupons"))
    where, params = access.visible_clients(actor)
    row = db.execute(
        f"{FACTS} WHERE c.id = :id AND {where}", {**params, "id": client_id}
    ).fetchone()
    if row is None:
        raise NotFound(_("client {client} not found").format(client=client_id))
    return row


def state_of(row: sqlite3.Row, today: str) -> tuple[str, str]:
    return rules.state(dict(row), today)
