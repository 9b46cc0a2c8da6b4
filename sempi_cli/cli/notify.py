"""`sempi notify`: your inbox of notifications (reminders today; chat events later)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, group_app, say, state

app = group_app("notify")


@app.command("list")
def notify_list(
    ctx: typer.Context,
    unread: Annotated[bool, typer.Option("--unread", help="Only those not read yet.")] = False,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only of this kind: reminder, timer.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only from this moment on: 2026-03-01, 01/03/2026, -7d..."),
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Only those with this text.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="At most this many, newest first.")
    ] = None,
) -> None:
    """List your notifications, newest first.

    Example: sempi notify list --unread --since -7d
    """
    from sempi_cli.services.notify.centre import COLUMNS, NotificationService

    inbox = state(ctx).service(NotificationService)
    rows = inbox.list(unread_only=unread, kind=kind, since=since, search=search, limit=limit)
    if state(ctx).fmt != "table":
        emit_rows(ctx, rows, list(rows[0]) if rows else COLUMNS)
        return
    emit_rows(ctx, rows, COLUMNS)
    say(ctx, f"{inbox.unread_count()} unread.")


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
    say(ctx, f"Marked {result['marked_read']} read; {result['unread']} unread.")
