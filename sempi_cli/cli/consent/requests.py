"""`sempi consent`: the practice's option (settings), the requests (request) and
their grid (list)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import PageLimit, PageOffset, confirm, emit_record, emit_rows, say, state
from sempi_cli.cli.consent.group import app
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

Studio = Annotated[str | None, typer.Option("--studio", "-s", help="The practice: its name or id.")]


@app.command("settings")
def consent_settings(
    ctx: typer.Context,
    studio: Annotated[str, typer.Option("--studio", "-s", help="The practice: its name or id.")],
    enable: Annotated[
        bool | None,
        typer.Option(
            "--enable/--disable",
            help="Turn on (or off) access to the clients' SMART services with the practice's"
            " credentials.",
            show_default=False,
        ),
    ] = None,
    operators: Annotated[
        str | None,
        typer.Option(
            "--operators",
            help="yes: the practice's operators get the same access (for the clients they"
            " manage); no: only the practice's administrator.",
        ),
    ] = None,
) -> None:
    """Show or change the practice's option to reach its clients' SMART services.

    Without --enable, --disable or --operators it shows the option; a change is
    for the practice's administrator or a firm administrator, and rules from
    the next command on.

    Example: sempi consent settings --studio "Studio Rossi" --enable --operators yes
    """
    from sempi_cli.services.consent.options import SmartOptions

    service = state(ctx).service(SmartOptions)
    if enable is None and operators is None:
        emit_record(ctx, service.show(studio))
        return
    from sempi_cli.services.clients.profile import yes_no

    chosen = None if operators is None else yes_no(operators, "--operators")
    emit_record(ctx, service.change(studio, enabled=enable, operators=chosen))


REQUEST_COLUMNS = ("client_id", "name", "result", "request_id", "mail_ids", "reason")


@app.command("request")
def consent_request(
    ctx: typer.Context,
    studio: Studio = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every eligible client of the practice (--studio); the others are counted"
            " by reason.",
        ),
    ] = False,
    client: Annotated[
        list[int] | None,
        typer.Option("--client", "-c", help="A client to ask (its id); repeat it."),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="With --client: send to the eligible clients even if some are not (exit 12).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be sent; send and write nothing.")
    ] = False,
) -> None:
    """Ask clients for consent to work in their SMART services: e-mail, PEC, inbox.

    Eligible: not removed, at least one active SMART service, no answer yet, and
    not asked in the last consent.resend_days days (default 30). With --client a
    client that is not eligible is named with its reason and nothing is sent
    (exit 5), unless --partial. For the practice's administrator or a firm
    administrator.

    Example: sempi consent request --studio "Studio Rossi" --all --dry-run
    """
    from sempi_cli.services.consent.requests import ConsentRequests

    def ask(count: int) -> None:
        if count >= CONFIRM_FROM:
            confirm(
                ctx,
                ngettext("Send {n} consent request?", "Send {n} consent requests?", count).format(
                    n=count
                ),
            )

    report = (
        state(ctx)
        .service(ConsentRequests)
        .request(
            studio=studio,
            everyone=all_,
            client_ids=client or (),
            partial=partial,
            dry_run=dry_run,
            confirm=ask,
        )
    )
    done = "would request" if dry_run else "requested"
    if all_:
        counts: dict[str, int] = {}
        for refused in report["not_eligible"]:
            counts[refused["code"]] = counts.get(refused["code"], 0) + 1
        emit_record(
            ctx,
            {
                "dry_run": dry_run,
                "requested": len(report["requested"]),
                "mails": report["mails"],
                "notified": report["notified"],
                "not_eligible": counts,
            },
        )
    else:
        rows = [
            {**r, "result": done, "reason": None, "mail_ids": r["mail_ids"]}
            for r in report["requested"]
        ] + [
            {**r, "result": "not eligible", "request_id": None, "mail_ids": None}
            for r in report["not_eligible"]
        ]
        emit_rows(ctx, rows, REQUEST_COLUMNS)
    say(ctx, _summary(dry_run, len(report["requested"]), report, len(report["not_eligible"])))
    if partial and report["not_eligible"] and report["requested"] and not dry_run:
        from sempi_cli.errors import PartlyDone

        left_out = len(report["not_eligible"])
        raise PartlyDone(
            ngettext(
                "{n} client was not eligible and got no request",
                "{n} clients were not eligible and got no request",
                left_out,
            ).format(n=left_out),
            _("the others got theirs; see the reasons above"),
        )


def _summary(dry_run: bool, requested: int, report: dict, refused: int) -> str:
    """The line after `consent request`: each count with its noun, in one sentence."""
    if dry_run:
        sent = ngettext(
            "Would send {n} consent request", "Would send {n} consent requests", requested
        )
    else:
        sent = ngettext("Sent {n} consent request", "Sent {n} consent requests", requested)
    mails, notified = report["mails"], report["notified"]
    return _("{requests}: {mails}, {users}; {clients}.").format(
        requests=sent.format(n=requested),
        mails=ngettext("{n} e-mail queued", "{n} e-mails queued", mails).format(n=mails),
        users=ngettext("{n} client user notified", "{n} client users notified", notified).format(
            n=notified
        ),
        clients=ngettext("{n} client not eligible", "{n} clients not eligible", refused).format(
            n=refused
        ),
    )


CONFIRM_FROM = 3  # requests sent at once that ask first (on a terminal; --yes elsewhere)


@app.command("list")
def consent_list(
    ctx: typer.Context,
    studio: Annotated[str, typer.Option("--studio", "-s", help="The practice: its name or id.")],
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help="Only this request status: not-requested, sent, delivered, failed; repeat it"
            " or separate with commas.",
        ),
    ] = None,
    response: Annotated[
        list[str] | None,
        typer.Option(
            "--response",
            help="Only this response: pending, consented, refused; repeat it or separate with"
            " commas.",
        ),
    ] = None,
    requested_from: Annotated[
        str | None,
        typer.Option("--requested-from", help="Requested on or after this date (e.g. 01/11/2026)."),
    ] = None,
    requested_to: Annotated[
        str | None,
        typer.Option("--requested-to", help="Requested on or before this date (the whole day)."),
    ] = None,
    answered_from: Annotated[
        str | None,
        typer.Option("--answered-from", help="Answered on or after this date."),
    ] = None,
    answered_to: Annotated[
        str | None,
        typer.Option("--answered-to", help="Answered on or before this date (the whole day)."),
    ] = None,
    client: Annotated[
        list[int] | None,
        typer.Option("--client", "-c", help="Only this client (its id); repeat it."),
    ] = None,
    limit: PageLimit = None,
    offset: PageOffset = 0,
) -> None:
    """List the practice's clients with their consent request and answer: the grid.

    Per client: code, name, SMART services, request status (not_requested, sent,
    delivered, failed: the request's e-mail in the outbox), request date,
    response (pending, consented, refused: the latest answer), response date,
    who answered and how. Rows by client id; --format csv or json for scripts.

    Example: sempi consent list --studio "Studio Rossi" --response pending --limit 50
    """
    from sempi_cli.services.consent.grid import COLUMNS, ConsentGrid, GridQuery

    query = GridQuery(
        statuses=status or [],
        responses=response or [],
        requested_from=requested_from,
        requested_to=requested_to,
        answered_from=answered_from,
        answered_to=answered_to,
        client_ids=client or [],
        limit=limit,
        offset=offset,
    )
    emit_rows(ctx, state(ctx).service(ConsentGrid).list(studio, query), COLUMNS)
