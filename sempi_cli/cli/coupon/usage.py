"""`sempi coupon usage set` and `coupon usage import`: a migrated client's documents
and contacts against the licence's limits (3,000 and 5,000)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, say, state, sub_app
from sempi_cli.cli.coupon.group import app
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

usage_app = sub_app(
    "usage", "A migrated client's documents and contacts against the licence's limits."
)
app.add_typer(usage_app)


@usage_app.command("set")
def usage_set(
    ctx: typer.Context,
    client_id: Annotated[int, typer.Argument(help="The client's id.")],
    documents: Annotated[
        int | None,
        typer.Option("--documents", help="Documents in the client's account (0 to 10,000,000)."),
    ] = None,
    contacts: Annotated[
        int | None,
        typer.Option("--contacts", help="Contacts in the client's account (0 to 10,000,000)."),
    ] = None,
) -> None:
    """Record a migrated client's usage (either figure or both), as the vendor shows it.

    At 80 % and at 100 % of a limit (3,000 documents, 5,000 contacts) the client's
    responsible is notified, once per threshold.

    Example: sempi coupon usage set 12 --documents 2450 --contacts 310
    """
    from sempi_cli.services.coupons.usage import CouponUsage

    emit_record(ctx, state(ctx).service(CouponUsage).set(client_id, documents, contacts))


@usage_app.command("import")
def usage_import(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The vendor's export, a CSV file.")],
    studio: Annotated[
        str | None,
        typer.Option(
            "--studio", "-s", help="Find the clients in this practice only (its name or id)."
        ),
    ] = None,
) -> None:
    """Record the usage of many clients from the vendor's CSV export: all rows or none.

    The columns (a header row; ';' or ',' between cells; UTF-8 or Windows-1252):
    partita_iva or client_id (which client: among the clients you see; either
    column, or both), documents, contacts (whole numbers, 0 to 10,000,000; an
    empty cell leaves that figure as it is). Every row is checked first: a bad
    row (an unknown client, a client without a coupon account, a figure that is
    not a number, a client twice) is reported with its line, column and problem,
    and then nothing is written (exit 6).

    Example: sempi coupon usage import utilizzo.csv --studio "Studio Rossi"
    """
    from sempi_cli.errors import InvalidData
    from sempi_cli.output import render
    from sempi_cli.services.coupons.usage import PROBLEM_COLUMNS, CouponUsage

    report = state(ctx).service(CouponUsage).import_file(file, studio)
    fmt = state(ctx).fmt
    problems = report["problems"]
    if fmt == "json":
        emit_record(ctx, report)
    elif fmt != "table":
        emit_rows(ctx, problems, PROBLEM_COLUMNS)
    elif problems:
        typer.echo(render(problems, PROBLEM_COLUMNS, "table"), err=True)
    if problems:
        first = problems[0]
        raise InvalidData(
            report["file"],
            ngettext(
                "{refused} of {n} row(s) refused (first: line {line}, {column}: {problem});"
                " nothing was written",
                "{refused} of {n} row(s) refused (first: line {line}, {column}: {problem});"
                " nothing was written",
                report["rows"],
            ).format(
                refused=report["refused"],
                n=report["rows"],
                line=first["line"],
                column=first["column"],
                problem=first["problem"],
            ),
            _("fix them and run again"),
        )
    n = report["updated"]
    say(
        ctx,
        ngettext(
            "Recorded the usage of {n} client(s); {notices} notice(s) to the responsibles.",
            "Recorded the usage of {n} client(s); {notices} notice(s) to the responsibles.",
            n,
        ).format(n=n, notices=report["notified"]),
    )
