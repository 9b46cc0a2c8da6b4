"""`sempi notify`: your inbox of notifications, and how each kind reaches you."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, for_output, group_app, say, state, sub_app
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext, pgettext

app = group_app("notify")
PREFS_HELP = """Show or choose how each kind of notification reaches you.

Each kind goes to your inbox (the default), by e-mail instead (gathered into one
message until 'sempi mail send' delivers it), both, or nowhere (off).

Example: sempi notify prefs
"""
prefs_app = sub_app("prefs", PREFS_HELP)
app.add_typer(prefs_app)

PAGE = 50  # a person's page; scripts that want every one say --all
KIND_HELP = (
    "message, mention, task, invitation, document, reminder, timer, deadline, consent, coupon"
)


@app.command("list")
def notify_list(
    ctx: typer.Context,
    unread: Annotated[bool, typer.Option("--unread", help="Only those not read yet.")] = False,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help=f"Only of this kind (repeat for several): {KIND_HELP}."),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option("--text", help="Only those whose text has all these words (any case)."),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="Only from this moment on: 2026-03-01, 01/03/2026 09:00, -7d, today..."
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Only up to this moment; a day alone counts whole: 31/03/2026."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", min=1, help=f"At most this many, newest first (default {PAGE})."
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every one that matches, not only the newest page.")
    ] = False,
    since: Annotated[
        str | None, typer.Option("--since", hidden=True, help="The older name of --from.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", hidden=True, help="The older name of --text.")
    ] = None,
) -> None:
    """List your notifications, newest first (the newest 50 unless told otherwise).

    Example: sempi notify list --unread --kind task --kind mention --from -7d
    """
    from sempi_cli.errors import UsageProblem
    from sempi_cli.services.notify.centre import COLUMNS, NotificationService

    if all_ and limit is not None:
        raise UsageProblem(_("give --limit or --all, not both"))
    page = None if all_ else (limit or PAGE)
    inbox = state(ctx).service(NotificationService)
    rows = for_output(  # a hidden text is said in the code's words in JSON
        ctx,
        lambda: inbox.list(
            unread_only=unread,
            kinds=kind or [],
            text=text,
            date_from=from_,
            date_to=to,
            limit=page,
            since=since,
            search=search,
        ),
    )
    if state(ctx).fmt != "table":
        emit_rows(ctx, rows, list(rows[0]) if rows else COLUMNS)
        return
    emit_rows(ctx, rows, COLUMNS)
    waiting = inbox.unread_count()
    full = len(rows) == page
    if waiting == 0:  # "nessuna" in Italian, not "0"
        line = (
            _("0 unread (the newest shown: --limit N or --all for more).")
            if full
            else _("0 unread.")
        )
    elif full:
        line = ngettext(
            "{n} unread (the newest shown: --limit N or --all for more).",
            "{n} unread (the newest shown: --limit N or --all for more).",
            waiting,
        )
    else:
        line = ngettext("{n} unread.", "{n} unread.", waiting)
    say(ctx, line.format(n=waiting))


@app.command("read")
def notify_read(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None, typer.Argument(help="The notifications to mark read (their ids).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Mark every unread one read.")] = False,
) -> None:
    """Mark notifications read: some by id, or all of them.

    Example: sempi notify read 12 13
    """
    from sempi_cli.services.notify.centre import NotificationService

    result = state(ctx).service(NotificationService).read(ids or [], all_unread=all_)
    if state(ctx).fmt != "table":
        emit_record(ctx, result)
    say(
        ctx,
        _("Marked {marked} read; {unread} unread.").format(
            marked=result["marked_read"], unread=result["unread"]
        ),
    )


@app.command("unread")
def notify_unread(
    ctx: typer.Context,
    ids: Annotated[list[int], typer.Argument(help="The notifications to mark unread (their ids).")],
) -> None:
    """Mark notifications unread again, to come back to them.

    Example: sempi notify unread 12
    """
    from sempi_cli.services.notify.centre import NotificationService

    result = state(ctx).service(NotificationService).unread(ids)
    if state(ctx).fmt != "table":
        emit_record(ctx, result)
    say(
        ctx,
        _("Marked {marked} unread; {unread} unread.").format(
            marked=result["marked_unread"], unread=result["unread"]
        ),
    )


@prefs_app.callback(invoke_without_command=True, no_args_is_help=False)
def notify_prefs(ctx: typer.Context) -> None:
    """Show the channel of each kind (the group's help is PREFS_HELP)."""
    if ctx.invoked_subcommand is not None:
        return
    from sempi_cli.services.notify.prefs import COLUMNS, PreferenceService

    rows = state(ctx).service(PreferenceService).list()
    if state(ctx).fmt == "table":  # what each kind is about, in the reader's words
        rows = [{**row, "about": _(row["about"])} for row in rows]
    emit_rows(ctx, rows, COLUMNS)


@prefs_app.command("set")
def notify_prefs_set(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=f"The kind: {KIND_HELP}.")],
    channel: Annotated[
        str, typer.Argument(help="inbox, email (instead of the inbox), both, or off.")
    ],
) -> None:
    """Choose how one kind of notification reaches you.

    Example: sempi notify prefs set task both
    """
    from sempi_cli.services.notify.prefs import PreferenceService

    result = state(ctx).service(PreferenceService).set(kind, channel)
    if state(ctx).fmt != "table":
        emit_record(ctx, result)
    say(  # the kind and the channel as words of the reader's language (output.VALUE_WORDS)
        ctx,
        _("Notifications of kind {kind}: {channel}.").format(
            kind=pgettext("kind", result["kind"]), channel=pgettext("channel", result["channel"])
        ),
    )
