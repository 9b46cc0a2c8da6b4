"""`sempi status`: one screen for the person at the terminal, or one line for a prompt."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, for_output, state
from sempi_cli.i18n import N_

SHOWN = 5  # rows of each task list on the screen; --json carries them all
TASK_COLUMNS = ("id", "title", "client", "deadline", "flags")
DEADLINE_COLUMNS = ("due_date", "client", "rule_id", "period", "task_id", "responsible")


def status(
    ctx: typer.Context,
    short: Annotated[
        bool,
        typer.Option(
            "--short",
            help="One line for a shell prompt: timer, unread notifications, overdue tasks.",
        ),
    ] = False,
) -> None:
    """Show what needs you now: timer, unread notifications and chats, tasks, deadlines.

    --short prints one line for a shell prompt (timer, unread notifications,
    overdue tasks; nothing when there is nothing to say), in ASCII unless the
    locale is UTF-8. It never writes to stderr nor keeps the login alive: on
    failure it prints nothing and the exit code says why (7: not logged in,
    10: no store; docs/exit-codes.md).

    Example: sempi status --short
    """
    if short:
        _short(ctx)
        return
    from sempi_cli.services.ops.status import StatusService

    overview = for_output(ctx, lambda: state(ctx).service(StatusService).overview())
    if state(ctx).fmt != "table":
        emit_record(ctx, overview)
        return
    _screen(ctx, overview)


def _short(ctx: typer.Context) -> None:
    """The prompt's line, as cli/fastpath.py prints it before typer is even imported."""
    from sempi_cli.cli.bare import exit_code, short_line, utf8_output
    from sempi_cli.services.ops.glance import Glance

    app = state(ctx)
    try:
        glance = Glance(app.connection(), app.clock, app.actor(touch=False)).short()
    except Exception as exc:
        if app.debug:
            raise
        raise typer.Exit(exit_code(exc)) from None
    if app.fmt != "table":
        emit_record(ctx, glance)
        return
    line = short_line(glance, utf8_output())
    if line:
        typer.echo(line)


def _screen(ctx: typer.Context, overview: dict) -> None:
    from sempi_cli.i18n import current, duration, ngettext
    from sempi_cli.i18n import gettext as _
    from sempi_cli.output import for_people
    from sempi_cli.services.timers.running import hours_minutes

    timer = overview["timer"]
    if timer is None:
        typer.echo(_("Timer: not running."))
    else:
        seconds = timer["elapsed_seconds"]
        # English keeps the clock form (3:05); Italian writes a time spent (3 h 5 min).
        elapsed = hours_minutes(seconds) if current() == "en" else duration(seconds)
        typer.echo(
            _("Timer: task {task} ({title}), {elapsed} since {started}.").format(
                task=timer["task_id"],
                title=timer["task"],
                elapsed=elapsed,
                started=for_people(timer["started_at"]),
            )
        )
        if timer["warning"]:
            from sempi_cli.services.timers.timers import in_words

            typer.echo(
                _("  Warning: it is {warning}: pause it or fix the entry.").format(
                    warning=in_words(timer["warning"])
                )
            )
    if overview.get("consent_request"):
        from sempi_cli.services.consent.requests import pending_line

        typer.echo(_("Consent: {line}").format(line=pending_line(overview["consent_request"])))
    notifications = overview["unread_notifications"]
    chats = overview["unread_chats"]
    messages = overview["unread_chat_messages"]
    typer.echo(
        _("Unread: {notifications}, {chats} ({messages}).").format(
            notifications=ngettext(
                "{n} notification(s)", "{n} notification(s)", notifications
            ).format(n=notifications),
            chats=ngettext("{n} chat(s)", "{n} chat(s)", chats).format(n=chats),
            messages=ngettext("{n} message(s)", "{n} message(s)", messages).format(n=messages),
        )
    )
    for key, title in (
        ("overdue", N_("Overdue ({n})")),
        ("due_this_week", N_("Due this week ({n})")),
        ("awaiting_my_approval", N_("Awaiting my approval ({n})")),
    ):
        rows = overview[key]
        typer.echo("\n" + _(title).format(n=len(rows)))
        if rows:
            emit_rows(ctx, rows[:SHOWN], TASK_COLUMNS)
        if len(rows) > SHOWN:
            typer.echo(
                _("... and {n} more: {command}").format(
                    n=len(rows) - SHOWN, command="sempi task due"
                )
            )
    deadlines = overview["next_deadlines"]
    typer.echo("\n" + _("Next deadlines ({n})").format(n=len(deadlines)))
    if deadlines:
        emit_rows(ctx, deadlines, DEADLINE_COLUMNS)
