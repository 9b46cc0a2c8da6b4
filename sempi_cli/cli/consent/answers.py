"""`sempi consent`: the answers, their record, and who may reach a client's SMART services
(answer, history, verify, check)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, say, state
from sempi_cli.cli.consent.group import app
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

ClientId = Annotated[int, typer.Argument(help="The client's id.")]


@app.command("answer")
def consent_answer(
    ctx: typer.Context,
    client: ClientId,
    answer: Annotated[str, typer.Argument(help="yes (or sì) or no, in any case.")],
    comment: Annotated[
        str | None, typer.Option("--comment", help="A note kept with the answer (one line).")
    ] = None,
    on_behalf: Annotated[
        bool,
        typer.Option(
            "--on-behalf", help="Record an answer the client gave elsewhere (staff of the client)."
        ),
    ] = False,
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel", help="With --on-behalf: how it came: pec, email, paper or phone."
        ),
    ] = None,
    evidence: Annotated[
        str | None,
        typer.Option(
            "--evidence",
            help="With --on-behalf: a document id of the client, or a file to store in its"
            " folder Consensi.",
        ),
    ] = None,
) -> None:
    """Answer the consent request for your client, or record an answer received elsewhere.

    The latest answer rules; every answer is kept.

    Example: sempi consent answer 12 no --on-behalf --channel pec --evidence ./pec-revoca.eml
    """
    from sempi_cli.services.consent.answers import CHANGED, AnswerService

    record = (
        state(ctx)
        .service(AnswerService)
        .answer(
            client,
            answer,
            comment=comment,
            on_behalf=on_behalf,
            channel=channel,
            evidence=evidence,
        )
    )
    emit_record(ctx, record)
    say(ctx, _(CHANGED[record["state"], record["previous"]]).format(client=client))


@app.command("history")
def consent_history(
    ctx: typer.Context,
    client: ClientId,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The state at this moment (a date means its end, Rome time): 31/10/2026, today.",
        ),
    ] = None,
) -> None:
    """Show a client's answers (who, when, how) and the state they made.

    Example: sempi consent history 12 --as-of 31/10/2026
    """
    from sempi_cli.services.consent.answers import HISTORY_COLUMNS, STATE_AT, AnswerService

    at = None
    if as_of is not None:
        from datetime import time

        from sempi_cli.timeparse import parse_datetime

        at = parse_datetime(as_of, state(ctx).clock.now(), field="--as-of", default_time=time.max)
    result = state(ctx).service(AnswerService).history(client, at)
    fmt = state(ctx).fmt
    if fmt == "json":
        emit_record(ctx, result)
        return
    rows = result["answers"]
    if fmt == "table":  # a person the reader may not see: the firm's, unnamed
        firm = _("(firm)")
        rows = [{**row, "answered_by": row["answered_by"] or firm} for row in rows]
    emit_rows(ctx, rows, HISTORY_COLUMNS)
    if fmt == "table":
        from sempi_cli.output import for_people

        line = _(STATE_AT[result["state"]])
        typer.echo(line.format(at=for_people(result["as_of"]), since=for_people(result["since"])))


@app.command("verify")
def consent_verify(ctx: typer.Context) -> None:
    """Recompute the answers' hash chain; exit 10 naming the first row edited outside sempi.

    Firm administrators.

    Example: sempi consent verify
    """
    from sempi_cli.services.consent.answers import AnswerService

    result = state(ctx).service(AnswerService).verify()
    if state(ctx).fmt == "table":
        n = result["rows"]
        typer.echo(
            ngettext(
                "The consent record holds: {n} answer(s), chain intact.",
                "The consent record holds: {n} answer(s), chain intact.",
                n,
            ).format(n=n)
        )
    else:
        emit_record(ctx, result)


@app.command("check")
def consent_check(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", "-u", help="The person: e-mail or id.")],
    client: Annotated[int, typer.Option("--client", "-c", help="The client (id).")],
) -> None:
    """Say whether a person may reach a client's SMART services now, and why not.

    Exit 0 for yes, 11 for no. For administrators and scripts.

    Example: sempi consent check --user op@studiorossi.it --client 12
    """
    from sempi_cli.services.consent.reach import SmartService, reason_words

    result = state(ctx).service(SmartService).check(user, client)
    why = reason_words(result["reason"])  # JSON keeps the reason as it is, for scripts
    if state(ctx).fmt == "table":
        if result["allowed"]:
            typer.echo(_("yes"))
        else:
            typer.echo(_("no: {reason}").format(reason=why) if why else _("no"))
    else:
        emit_record(ctx, result)
    if not result["allowed"]:
        from sempi_cli.errors import CheckFailed

        # The answer is on stdout for scripts; the exit code and the one Error line
        # say "no" as every failing sempi command says it (docs/exit-codes.md).
        raise CheckFailed(
            _("{user} may not reach the SMART services of client {client}: {reason}").format(
                user=result["user"], client=client, reason=why
            )
        )
