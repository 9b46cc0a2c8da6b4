"""`sempi consent delegations`: the tax-authority delegations that expire soon."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_rows, say, state
from sempi_cli.cli.consent.group import app
from sempi_cli.i18n import ngettext


@app.command("delegations")
def consent_delegations(
    ctx: typer.Context,
    expiring: Annotated[
        str,
        typer.Option(
            "--expiring",
            help="The window from today: 60d (the default), 8w, 2m, 1y; expired ones are listed too.",
        ),
    ] = "60d",
    studio: Annotated[
        str | None,
        typer.Option("--studio", help="Only this practice's clients (its id or name)."),
    ] = None,
) -> None:
    """List the delegations that expire within a window, soonest first.

    Only the clients you may see. The nightly job (sempi task remind run) tells
    each client's responsible at 60 and at 15 days before the last valid day.

    Example: sempi consent delegations --expiring 90d --studio "Studio Rossi"
    """
    from sempi_cli.services.consent.delegations import COLUMNS, DelegationWatch

    rows = state(ctx).service(DelegationWatch).expiring(expiring, studio)
    emit_rows(ctx, rows, COLUMNS)
    if state(ctx).fmt == "table":
        say(
            ctx,
            ngettext(
                "{n} delegation(s) expire within {window}.",
                "{n} delegation(s) expire within {window}.",
                len(rows),
            ).format(n=len(rows), window=expiring.strip()),
        )
