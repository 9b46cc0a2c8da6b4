"""`sempi events`: the events record, for scripts (services/event_log.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_rows, group_app, say, state, stop_on_signal
from sempi_cli.i18n import gettext as _

app = group_app("events")

Kinds = Annotated[
    list[str] | None,
    typer.Option("--kind", "-k", help="Only events of this kind (repeatable): task.completed..."),
]
ClientOption = Annotated[int | None, typer.Option("--client", "-c", help="Only this client's.")]
TABLE_COLUMNS = ("id", "at", "kind", "actor", "object", "client_id")


def _flat(event: dict) -> dict:
    """An event as a table row: who by e-mail, the object as type:id."""
    actor = event["actor"]
    return {
        **event,
        "actor": actor["email"] if actor else None,
        "object": f"{event['object']['type']}:{event['object']['id']}",
    }


@app.command("list")
def events_list(
    ctx: typer.Context,
    since: Annotated[
        int, typer.Option("--since", min=0, help="Only events after this id (a script's mark).")
    ] = 0,
    kind: Kinds = None,
    client: ClientOption = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1000, help="At most this many events.")
    ] = 1000,
) -> None:
    """List the events you may see, oldest first, in the JSON contract of docs/events.md.

    A script keeps the last id it handled and asks again with --since.

    Example: sempi events list --since 1200 --kind task.completed --json
    """
    from sempi_cli.services.event_log import CONTRACT_KEYS, EventLog

    events = (
        state(ctx)
        .service(EventLog)
        .list(since=since, kinds=kind or [], client_id=client, limit=limit)
    )
    if state(ctx).fmt in ("json", "jsonl"):
        emit_rows(ctx, events, CONTRACT_KEYS)
    else:
        emit_rows(ctx, [_flat(e) for e in events], TABLE_COLUMNS)


@app.command("tail")
def events_tail(
    ctx: typer.Context,
    kind: Kinds = None,
    client: ClientOption = None,
    since: Annotated[
        int | None,
        typer.Option("--since", min=0, help="Start after this id (default: from now on)."),
    ] = None,
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.1, max=60, help="Seconds between looks at the store."),
    ] = 1.0,
) -> None:
    """Print new events as they are committed, one JSON object a line, until Ctrl-C.

    Example: sempi events tail --kind document.added | ./my-script
    """
    from sempi_cli.output import render_record
    from sempi_cli.services.event_log import EventLog, check_kind

    service = state(ctx).service(EventLog)
    start = service.last_id() if since is None else since
    for name in kind or []:
        check_kind(name)
    with stop_on_signal() as stop:
        say(ctx, _("Following events after {id}; Ctrl-C to stop.").format(id=start))
        for event in service.tail(
            start, kinds=kind or [], client_id=client, wait=stop.wait, interval=interval
        ):
            typer.echo(render_record(event, "jsonl"))
            if stop.is_set():
                break


@app.command("kinds")
def events_kinds(ctx: typer.Context) -> None:
    """List the kinds of event, what each is about, and its object.

    Example: sempi events kinds
    """
    from sempi_cli.services.event_log import KINDS

    rows = [
        {"kind": name, "object_type": kind.object_type, "about": _(kind.about)}
        for name, kind in KINDS.items()
    ]
    emit_rows(ctx, rows, ("kind", "object_type", "about"))
