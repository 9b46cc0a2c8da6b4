"""`sempi coupon migrate`: move clients served conto terzi to the vendor's cloud
product, one migration coupon each, all of them or none."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_rows, say, state
from sempi_cli.cli.coupon.group import app
from sempi_cli.i18n import ngettext


@app.command("migrate")
def coupon_migrate(
    ctx: typer.Context,
    clients: Annotated[list[int], typer.Argument(help="The clients to migrate (their ids).")],
    consultant_name: Annotated[
        str, typer.Option("--consultant-name", help="The authorising consultant's name.")
    ],
    consultant_surname: Annotated[
        str, typer.Option("--consultant-surname", help="The authorising consultant's surname.")
    ],
    consultant_cf: Annotated[
        str,
        typer.Option("--consultant-cf", help="The consultant's codice fiscale (a person's)."),
    ],
    email: Annotated[
        str | None,
        typer.Option(
            "--email",
            help="The account's e-mail (the username); default: each client's own e-mail.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report; migrate and write nothing.")
    ] = False,
) -> None:
    """Migrate clients with a coupon each: a Standard read-only licence to 31 December.

    One migrazione coupon of the client's practice per client, all clients or
    none: a client that bought its own licence, is already activated with a
    coupon (renew it instead), is not served conto terzi, was removed or has no
    partita IVA is named with its reason and nothing is written (exit 5), as
    when there are fewer coupons than clients. Each client gets its account
    (the e-mail, the consultant's authorisation), the licence term and the
    credentials e-mail (no password: it is chosen at the first access). For the
    practice's administrator or a firm administrator.

    Example: sempi coupon migrate 12 14 --consultant-name Mario --consultant-surname Rossi --consultant-cf RSSMRA85T10A562S
    """
    from sempi_cli.services.coupons.migrate import COLUMNS, CouponMigration

    report = (
        state(ctx)
        .service(CouponMigration)
        .migrate(
            clients,
            consultant_name=consultant_name,
            consultant_surname=consultant_surname,
            consultant_cf=consultant_cf,
            email=email,
            dry_run=dry_run,
        )
    )
    emit_rows(ctx, report["migrated"], COLUMNS)
    n, left = len(report["migrated"]), report["coupons_left"]
    if dry_run:
        line = ngettext(
            "{n} client(s) would be migrated; {left} coupon(s) would be left.",
            "{n} client(s) would be migrated; {left} coupon(s) would be left.",
            n,
        )
    else:
        line = ngettext(
            "{n} client(s) migrated; {left} coupon(s) left.",
            "{n} client(s) migrated; {left} coupon(s) left.",
            n,
        )
    say(ctx, line.format(n=n, left=left))
