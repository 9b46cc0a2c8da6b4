"""`sempi coupon renew`, `coupon cancel` and `coupon check`: the tacit renewal, its
cancellation (disdetta) and the nightly warnings."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, say, state
from sempi_cli.cli.coupon.group import app
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

Studio = Annotated[str, typer.Option("--studio", "-s", help="The practice: its name or id.")]


@app.command("renew")
def coupon_renew(
    ctx: typer.Context,
    studio: Studio,
    year: Annotated[
        int, typer.Option("--year", help="The year to renew for: this one or the next.")
    ],
    client: Annotated[
        list[int] | None,
        typer.Option("--client", "-c", help="A client to renew (its id); repeat it."),
    ] = None,
    all_active: Annotated[
        bool,
        typer.Option(
            "--all-active",
            help="Every linked client whose licence runs now or lapsed on 31 December last.",
        ),
    ] = False,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="With --client: renew the clients that may be, even if some may not (exit 12).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be renewed; write nothing.")
    ] = False,
) -> None:
    """Renew clients' licences for a year with the practice's renewal coupons.

    Each client gets a term from 1 January to 31 December of the year, drawn
    from a renewal coupon valid through that day, else a renewable one, else a
    flat-rate one. Refused, naming each client and why (exit 5, nothing
    written): own licence, not linked or unlinked, already renewed, its package
    cancelled for the year, or too few coupons. For the practice's
    administrator or a firm administrator.

    Example: sempi coupon renew --studio "Studio Rossi" --year 2027 --all-active --dry-run
    """
    from sempi_cli.services.coupons.renewal import COLUMNS, CouponRenewal

    report = (
        state(ctx)
        .service(CouponRenewal)
        .renew(
            studio,
            year,
            client_ids=client or (),
            everyone=all_active,
            partial=partial,
            dry_run=dry_run,
        )
    )
    rows = report["clients"]
    if dry_run:
        rows = [{**r, "result": "would renew"} if r["result"] == "renewed" else r for r in rows]
    emit_rows(ctx, rows, COLUMNS)
    n = report["renewed"]
    if dry_run:
        line = ngettext(
            "Would renew {n} client(s) for {year}; {skipped} skipped, {refused} refused.",
            "Would renew {n} client(s) for {year}; {skipped} skipped, {refused} refused.",
            n,
        )
    else:
        line = ngettext(
            "Renewed {n} client(s) for {year}; {skipped} skipped, {refused} refused.",
            "Renewed {n} client(s) for {year}; {skipped} skipped, {refused} refused.",
            n,
        )
    say(ctx, line.format(n=n, year=year, skipped=report["skipped"], refused=report["refused"]))
    if report["refused"] and report["renewed"] and not dry_run:
        from sempi_cli.errors import PartlyDone

        refused = report["refused"]
        raise PartlyDone(
            ngettext("{n} client was not renewed", "{n} clients were not renewed", refused).format(
                n=refused
            ),
            _("the others were; see the reasons above"),
        )


@app.command("cancel")
def coupon_cancel(
    ctx: typer.Context,
    studio: Studio,
    package: Annotated[int, typer.Option("--package", help="The package (its id).")],
    pec_ref: Annotated[
        str, typer.Option("--pec-ref", help="The reference of the PEC that sent the cancellation.")
    ],
    sent_on: Annotated[
        str, typer.Option("--sent-on", help="The day the PEC was sent (30/06/2026).")
    ],
    next_year: Annotated[
        bool,
        typer.Option(
            "--next-year",
            help="Sent after 30 June: stop the renewal of the year after (the next goes ahead).",
        ),
    ] = False,
) -> None:
    """Record the disdetta of a package's tacit renewal, sent by PEC.

    A package valid until 31/12 of a year renews for the next unless the
    cancellation is sent by 30 June; sent later, it is refused (exit 5) and
    --next-year records it for the year after. For the practice's
    administrator or a firm administrator.

    Example: sempi coupon cancel --studio "Studio Rossi" --package 3 --pec-ref "PEC-2026-41" --sent-on 28/06/2026
    """
    from sempi_cli.services.coupons.cancellation import CouponCancellations
    from sempi_cli.timeparse import parse_date

    day = parse_date(sent_on, state(ctx).clock.now(), field="--sent-on")
    record = (
        state(ctx)
        .service(CouponCancellations)
        .cancel(studio, package, pec_ref, day, next_year=next_year)
    )
    emit_record(ctx, record)


@app.command("check")
def coupon_check(
    ctx: typer.Context,
    studio: Annotated[
        str | None,
        typer.Option("--studio", "-s", help="Only this practice (its name or id)."),
    ] = None,
) -> None:
    """Warn practice administrators: expiring licences, 30 June cut-off, usage.

    Nightly from cron; prints nothing when nobody was told. Licences expiring
    within 45 days and not renewed; on 1 and 20 June, the 30 June cut-off for
    cancelling packages; usage at 80 % and 100 % of a limit. Each notice once.

    Example: sempi -q coupon check
    """
    from sempi_cli.services.coupons.watch import EXPIRING_DAYS, CouponWatch

    result = state(ctx).service(CouponWatch).run(studio)
    if state(ctx).quiet or not (result["expiring"] or result["cutoff"] or result["usage"]):
        return  # quiet when nothing is due: cron mails only what a job prints
    if state(ctx).fmt != "table":
        emit_record(ctx, result)
        return
    lines = []
    if n := result["expiring"]:
        lines.append(
            ngettext(
                "{n} licence(s) expiring within {days} days: practice administrators told",
                "{n} licence(s) expiring within {days} days: practice administrators told",
                n,
            ).format(n=n, days=EXPIRING_DAYS)
        )
    if n := result["cutoff"]:
        lines.append(
            ngettext(
                "{n} package(s) renewing unless cancelled by 30 June: practice administrators told",
                "{n} package(s) renewing unless cancelled by 30 June: practice administrators told",
                n,
            ).format(n=n)
        )
    if n := result["usage"]:
        lines.append(
            ngettext(
                "{n} usage threshold notice sent", "{n} usage threshold notices sent", n
            ).format(n=n)
        )
    for line in lines:
        typer.echo(line)
