"""`sempi audit`: the append-only activity log."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_rows, group_app, state

app = group_app("audit")


@app.command("list")
def audit_list(
    ctx: typer.Context,
    object_type: Annotated[
        str | None, typer.Option("--object", help="Object type: client, user, studio, ...")
    ] = None,
    object_id: Annotated[
        int | None, typer.Option("--id", help="Object id (with --object).")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="E-mail of who did it.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Action: add, edit, login, ...")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this date: 2026-11-01, 01/11/2026, -7d, ...")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many entries.")
    ] = 100,
) -> None:
    """List who changed what and when, newest first.

    Example: sempi audit list --object client --id 12 --since -30d
    """
    from sempi_cli.clock import iso_utc
    from sempi_cli.services.ops.audit_log import AuditService
    from sempi_cli.timeparse import parse_datetime

    app = state(ctx)
    since_iso = iso_utc(parse_datetime(since, app.clock.now(), field="--since")) if since else None
    rows = app.service(AuditService).list(
        object_type=object_type,
        object_id=object_id,
        actor_email=actor,
        action=action,
        since=since_iso,
        limit=limit,
    )
    emit_rows(ctx, rows, ("id", "at", "actor", "action", "object_type", "object_id", "details"))
