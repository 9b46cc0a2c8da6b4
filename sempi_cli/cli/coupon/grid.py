"""`sempi coupon clients`: the grid of the practice's conto terzi clients, their
licence's state, and their usage against the limits (bars on a terminal)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import PageLimit, PageOffset, emit_rows, state
from sempi_cli.cli.coupon.group import app

# What a person reads: the state in words, usage as bars; scripts get every number.
TABLE_COLUMNS = (
    "client_id", "code", "name", "state", "licence", "nickname", "account_email", "ends_on",
    "documents", "contacts",
)  # fmt: skip
BAR_CELLS = 10


def bar(pct: int | None) -> str:
    """``███████░░░ 72%``: ten cells, a cell per whole 10 %; 100 % and over full."""
    if pct is None:
        return ""
    full = min(BAR_CELLS, pct * BAR_CELLS // 100)
    return "█" * full + "░" * (BAR_CELLS - full) + f" {pct}%"


@app.command("clients")
def coupon_clients(
    ctx: typer.Context,
    studio: Annotated[str, typer.Option("--studio", "-s", help="The practice: its name or id.")],
    state_: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            help="Only this state: migratable, active, expired, unlinked, own_licence,"
            " not_eligible; repeat it or separate with commas.",
        ),
    ] = None,
    expiring_before: Annotated[
        str | None,
        typer.Option(
            "--expiring-before",
            help="Only active licences ending before this day, the day excluded (01/01/2027: those ending on 31/12/2026).",
        ),
    ] = None,
    limit: PageLimit = None,
    offset: PageOffset = 0,
) -> None:
    """List the practice's conto terzi clients with their licence's state and usage.

    Per client: code, name, state (migratable, active until DATE, expired,
    unlinked, own licence, not eligible and why), licence type, the account's
    nickname and e-mail, the term's last day, documents and contacts against
    the limits (3,000 and 5,000: bars on a terminal; --format csv or json give
    the figures, the limits and the percentages). Rows by client id.

    Example: sempi coupon clients --studio "Studio Rossi" --state active --expiring-before 01/01/2027
    """
    from sempi_cli.services.coupons.grid import COLUMNS, CouponGrid, GridQuery
    from sempi_cli.timeparse import parse_date

    app_state = state(ctx)
    day = (
        None
        if expiring_before is None
        else parse_date(expiring_before, app_state.clock.now(), field="--expiring-before")
    )
    query = GridQuery(states=state_ or [], expiring_before=day, limit=limit, offset=offset)
    rows = app_state.service(CouponGrid).list(studio, query)
    if app_state.fmt != "table":
        emit_rows(ctx, rows, COLUMNS)
        return
    from sempi_cli.services.coupons.rules import state_words

    words: dict[tuple, str] = {}  # a few distinct texts over thousands of rows
    for row in rows:
        key = (row["state"], row["state_text"], row["ends_on"])
        shown = words.get(key)
        if shown is None:  # in the reader's language, days as dd/mm/yyyy
            shown = words[key] = state_words(*key)
        row["state"] = shown
        row["documents"] = bar(row["documents_pct"])
        row["contacts"] = bar(row["contacts_pct"])
    emit_rows(ctx, rows, TABLE_COLUMNS)
