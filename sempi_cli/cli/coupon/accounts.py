"""`sempi coupon nickname`, `unlink`, `upgrade`, `open`, `first-access`, `export`:
the operations on a migrated client's account."""

from __future__ import annotations

from typing import Annotated, TextIO

import typer

from sempi_cli.cli.common import emit_record, say, state
from sempi_cli.cli.coupon.group import app
from sempi_cli.i18n import gettext as _

ClientId = Annotated[int, typer.Argument(help="The client (its id).")]


@app.command("nickname")
def coupon_nickname(
    ctx: typer.Context,
    client_id: ClientId,
    name: Annotated[str, typer.Argument(help="The nickname (up to 64 characters); '' clears it.")],
) -> None:
    """Give a migrated client's account a nickname (an empty one clears it).

    Example: sempi coupon nickname 12 "Bar Centrale"
    """
    from sempi_cli.services.coupons.accounts import CouponAccounts

    emit_record(ctx, state(ctx).service(CouponAccounts).nickname(client_id, name))


@app.command("unlink")
def coupon_unlink(ctx: typer.Context, client_id: ClientId) -> None:
    """End a client's link to its account: the coupon is not returned, the licence lapses.

    The licence runs to its expiry and is not renewed; the client may be
    migrated anew later. For the practice's administrator or a firm administrator.

    Example: sempi coupon unlink 12
    """
    from sempi_cli.services.coupons.accounts import CouponAccounts

    emit_record(ctx, state(ctx).service(CouponAccounts).unlink(client_id))


@app.command("upgrade")
def coupon_upgrade(
    ctx: typer.Context,
    client_id: ClientId,
    coupon: Annotated[
        str | None,
        typer.Option(
            "--coupon", help="Upgrade with a coupon of this type (migrazione, rinnovo, ...)."
        ),
    ] = None,
    purchased: Annotated[
        bool,
        typer.Option(
            "--purchased", help="The client bought the licence: it then counts as own-licence."
        ),
    ] = False,
) -> None:
    """Move an active licence to the Complete one, with a coupon or bought by the client.

    Give --coupon TYPE or --purchased. For the practice's administrator or a firm
    administrator.

    Example: sempi coupon upgrade 12 --coupon migrazione
    """
    from sempi_cli.services.coupons.accounts import CouponAccounts

    kind = coupon.strip().lower() if coupon is not None else None
    emit_record(
        ctx, state(ctx).service(CouponAccounts).upgrade(client_id, coupon=kind, purchased=purchased)
    )


@app.command("open")
def coupon_open(ctx: typer.Context, client_id: ClientId) -> None:
    """Print the address of a migrated client's account in the product; the access is recorded.

    The address is the firm setting coupons.product_url followed by
    /accesso?utente= and the account's e-mail.

    Example: sempi coupon open 12
    """
    from sempi_cli.services.coupons.accounts import CouponAccounts

    opened = state(ctx).service(CouponAccounts).open(client_id)
    if state(ctx).fmt == "table":
        typer.echo(opened["url"])
    else:
        emit_record(ctx, opened)


@app.command("first-access")
def coupon_first_access(ctx: typer.Context, client_id: ClientId) -> None:
    """Record that the client made its first access and chose its password.

    Example: sempi coupon first-access 12
    """
    from sempi_cli.services.coupons.accounts import CouponAccounts

    emit_record(ctx, state(ctx).service(CouponAccounts).first_access(client_id))


@app.command("export")
def coupon_export(
    ctx: typer.Context,
    client_id: ClientId,
    output: Annotated[
        str,
        typer.Option(
            "--out",
            "--output",
            "-o",
            help="The file to create (mode 0600; never overwritten), or - for standard output.",
        ),
    ] = "-",
) -> None:
    """Export a client's licence record, its history and usage, as JSON or CSV.

    The record: the client, its account (no password: sempi holds none), the
    consultant who authorised it, the state; every licence term with its package;
    the coupon actions of the activity log; documents and contacts against the
    limits. JSON whatever --format says, but --format csv: one row per term with
    the client's columns repeated, and a cell a spreadsheet would read as a
    formula starts with an apostrophe; --format excel (--excel): the same rows
    for an Italian Excel (';', Italian headers, dd/mm/yyyy).

    Example: sempi coupon export 12 --format csv --out alfa-licenza.csv
    """
    from sempi_cli.cli.common import write_private
    from sempi_cli.output import render, render_record
    from sempi_cli.services.coupons.accounts import EXPORT_COLUMNS, CouponAccounts, export_rows

    record = state(ctx).service(CouponAccounts).export(client_id)
    fmt = state(ctx).fmt
    if fmt in ("csv", "excel"):
        text = render(export_rows(record), EXPORT_COLUMNS, fmt) + "\r\n"
    else:
        text = render_record(record, "json") + "\n"
    if output == "-":
        typer.echo(text, nl=False)
        return

    def write(fh: TextIO) -> None:
        fh.write(text)

    write_private(output, write)
    say(
        ctx,
        _("Client {client}'s licence record exported to {file} (readable only by you).").format(
            client=client_id, file=output
        ),
    )
