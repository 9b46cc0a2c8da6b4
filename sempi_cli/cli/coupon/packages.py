"""`sempi coupon add` and `coupon list`: the practice's coupon packages."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, state
from sempi_cli.cli.coupon.group import app

Studio = Annotated[str, typer.Option("--studio", "-s", help="The practice: its name or id.")]


@app.command("add")
def coupon_add(
    ctx: typer.Context,
    studio: Studio,
    kind: Annotated[
        str,
        typer.Option("--type", help="migrazione, rinnovo, rinnovabile or forfettario."),
    ],
    count: Annotated[int, typer.Option("--count", help="How many coupons (1 to 100,000).")],
    valid_until: Annotated[
        str,
        typer.Option("--valid-until", help="The coupons' last day: 31 December (31/12/2027)."),
    ],
    reference: Annotated[
        str | None, typer.Option("--reference", help="The order or the vendor's reference.")
    ] = None,
) -> None:
    """Record a coupon package bought or received (not nominal: any coupon serves any client).

    For the practice's administrator or a firm administrator. Renewal coupons
    arrive in mid-November, valid until 31 December of the following year.

    Example: sempi coupon add --studio "Studio Rossi" --type migrazione --count 50 --valid-until 31/12/2026
    """
    from sempi_cli.services.coupons.packages import CouponPackages
    from sempi_cli.timeparse import parse_date

    day = parse_date(valid_until, state(ctx).clock.now(), field="--valid-until")
    package = (
        state(ctx).service(CouponPackages).add(studio, kind.strip().lower(), count, day, reference)
    )
    emit_record(ctx, package)


@app.command("list")
def coupon_list(ctx: typer.Context, studio: Studio) -> None:
    """List the practice's coupon packages: coupons used and left, cancellations.

    Example: sempi coupon list --studio "Studio Rossi"
    """
    from sempi_cli.services.coupons.packages import COLUMNS, CouponPackages

    emit_rows(ctx, state(ctx).service(CouponPackages).list(studio), COLUMNS)
