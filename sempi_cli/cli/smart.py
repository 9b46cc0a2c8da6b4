"""`sempi smart`: a client's SMART services, reached where its consent allows."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_rows, group_app, say, state
from sempi_cli.i18n import gettext as _

app = group_app("smart")


@app.command("list")
def smart_list(ctx: typer.Context) -> None:
    """List the clients whose SMART services you may reach now, with the services.

    Example: sempi smart list --format csv
    """
    from sempi_cli.services.consent.reach import SmartService

    rows = state(ctx).service(SmartService).reachable()
    if state(ctx).fmt != "json":
        rows = [{**row, "services": ", ".join(row["services"])} for row in rows]
    emit_rows(ctx, rows, ("client_id", "client", "services"))
    if not rows:
        say(ctx, _("No client's SMART services are open to you now."))


@app.command("open")
def smart_open(
    ctx: typer.Context,
    client: Annotated[int, typer.Argument(help="The client's id.")],
    service: Annotated[
        str | None,
        typer.Argument(
            help="fattura-smart, smart-hub or corrispettivi-smart (default: each active one)."
        ),
    ] = None,
) -> None:
    """Print the address of a client's SMART service, where its consent allows; the access is logged.

    Example: sempi smart open 12 fattura-smart
    """
    from sempi_cli.services.consent.reach import SmartService

    rows = state(ctx).service(SmartService).open(client, service)
    if state(ctx).fmt == "table":
        typer.echo("\n".join(row["url"] for row in rows))
    else:
        emit_rows(ctx, rows, ("client_id", "service", "url"))
