"""`sempi mail`: the outbox of invitations and notices, and its delivery job."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import confirm, emit_record, emit_rows, group_app, say, state
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

app = group_app("mail")

MailId = Annotated[int, typer.Argument(help="The message's id (see 'sempi mail list').")]


def _table(ctx: typer.Context) -> bool:
    return state(ctx).fmt == "table"


@app.command("list")
def mail_list(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            help="Only this status (repeatable): queued, sending, sent, failed, cancelled.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="At most this many messages, newest first.")
    ] = 50,
) -> None:
    """List the outbox, newest first.

    Firm administrators see every message; a practice's administrator the
    practice's mail (about its clients, invitations of its people).

    Example: sempi mail list --status failed --status sending
    """
    from sempi_cli.services.mail.outbox import COLUMNS, Outbox

    rows = state(ctx).service(Outbox).list(status or (), limit)
    emit_rows(ctx, rows, COLUMNS)


@app.command("show")
def mail_show(ctx: typer.Context, mail_id: MailId) -> None:
    """Show one message with its headers, delivery state and body.

    An activation code is never shown: only the delivered message carries it.

    Example: sempi mail show 12
    """
    from sempi_cli.services.mail.outbox import Outbox

    record = state(ctx).service(Outbox).show(mail_id)
    if not _table(ctx):
        emit_record(ctx, record)
        return
    body = record.pop("body")
    [record] = [record]
    emit_record(ctx, record)
    typer.echo("")
    typer.echo(body.rstrip("\n"))


@app.command("send")
def mail_send(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="Send at most this many messages.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="List the messages due now; connect to nothing, send nothing."
        ),
    ] = False,
) -> None:
    """Deliver the queued messages that are due through the firm's SMTP server (cron).

    Each message is sent at most once, even with two runs at once; a temporary
    failure is retried later with growing waits, a permanent one (or too many
    attempts, mail.max_attempts) marks it failed. With nothing due it needs no
    SMTP settings and connects to nothing. Exit 5 when SMTP is not configured
    or the server cannot be reached (see docs/mail.md). The SMTP password comes
    from SEMPI_SMTP_PASSWORD or smtp.password_file, never argv.

    Example: sempi -q mail send
    """
    from sempi_cli.services.mail.delivery import MailRunStopped, MailSender

    try:
        result = state(ctx).service(MailSender, long_job=True).send(limit=limit, dry_run=dry_run)
    except MailRunStopped as stopped:  # what the run did before it stopped, then the error
        _report(ctx, stopped.result)
        raise
    _report(ctx, result)


def _report(ctx: typer.Context, result: dict) -> None:
    """One row per message (table, csv) or the whole record (json), then the summary."""
    from sempi_cli.services.mail.delivery import RUN_COLUMNS

    if not state(ctx).quiet:  # -q in cron: nothing unless it fails
        if state(ctx).fmt in ("table", "csv", "excel"):
            emit_rows(ctx, result["messages"], RUN_COLUMNS)
        else:
            emit_record(ctx, result)
    if "due" in result:
        due = result["due"]
        say(
            ctx,
            ngettext(
                "{n} message due; nothing sent (dry run).",
                "{n} messages due; nothing sent (dry run).",
                due,
            ).format(n=due),
        )
        return
    counts = {k: result[k] for k in ("sent", "deferred", "failed", "in_doubt")}
    if result["in_doubt"]:
        line = _(
            "Sent {sent}, to retry later {deferred}, failed {failed}, {in_doubt} in doubt"
            " (see 'sempi mail list --status sending')."
        )
    else:
        line = _("Sent {sent}, to retry later {deferred}, failed {failed}.")
    say(ctx, line.format(**counts))


@app.command("retry")
def mail_retry(ctx: typer.Context, mail_id: MailId) -> None:
    """Queue a failed message again, or one left in 'sending' (asks: it may have gone out).

    A message waiting for its next attempt becomes due now.

    Example: sempi mail retry 12
    """
    from sempi_cli.services.mail.outbox import Outbox

    def ask(row: dict) -> None:
        confirm(
            ctx,
            _(
                "Message {id} to {to} was handed to the SMTP server but its delivery was never"
                " confirmed (the sender was interrupted or the connection broke): it may"
                " already have been delivered. Queue it again?"
            ).format(id=row["id"], to=row["to_address"]),
        )

    emit_record(ctx, state(ctx).service(Outbox).retry(mail_id, ask))
    say(ctx, _("Message {id} is queued; the next 'sempi mail send' sends it.").format(id=mail_id))


@app.command("cancel")
def mail_cancel(ctx: typer.Context, mail_id: MailId) -> None:
    """Never send a message that is queued, failed or left in 'sending'.

    A message a running 'mail send' holds is refused: look again later.

    Example: sempi mail cancel 12
    """
    from sempi_cli.services.mail.outbox import Outbox

    emit_record(ctx, state(ctx).service(Outbox).cancel(mail_id))


@app.command("invite")
def mail_invite(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The user to invite: e-mail or id.")],
    resend: Annotated[
        bool,
        typer.Option(
            "--resend",
            help="Send a new code even if the last invitation is still valid (the old code stops working).",
        ),
    ] = False,
) -> None:
    """Queue an invitation with a one-time activation code for a user without a password.

    Inviting again while the last code is valid does nothing, unless --resend.

    Example: sempi mail invite mario.bianchi@cliente.it
    """
    from sempi_cli.services.org.invitations import Invitations

    result = state(ctx).service(Invitations).invite_user(user, resend=resend)
    emit_record(ctx, result)
    if result["mail_id"] is None:
        say(
            ctx,
            _("{user} already has a valid invitation; add --resend for a new code.").format(
                user=result["user"]
            ),
        )
    else:
        say(
            ctx,
            _("Invitation queued as message {id}; 'sempi mail send' delivers it.").format(
                id=result["mail_id"]
            ),
        )
