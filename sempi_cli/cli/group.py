"""`sempi group`: each client's work group, identified by the client's id."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, group_app, state

app = group_app("group")

ClientId = Annotated[int, typer.Argument(help="The client whose work group it is.")]
UserRef = Annotated[str, typer.Argument(help="The user: e-mail or id.")]


@app.command("list")
def group_list(
    ctx: typer.Context,
    studio: Annotated[
        str | None, typer.Option("--studio", help="Only this practice: id or name.")
    ] = None,
) -> None:
    """List the work groups you may see, with their member counts.

    Example: sempi group list --studio "Studio Rossi"
    """
    from sempi_cli.services.org.groups import GroupService

    emit_rows(
        ctx,
        state(ctx).service(GroupService).list(studio=studio),
        ("client_id", "client", "studio", "members"),
    )


@app.command("show")
def group_show(ctx: typer.Context, client_id: ClientId) -> None:
    """Show a client's work group and its members.

    Example: sempi group show 12
    """
    from sempi_cli.services.org.groups import GroupService

    emit_record(ctx, state(ctx).service(GroupService).show(client_id))


@app.command("add-member")
def group_add_member(ctx: typer.Context, client_id: ClientId, user: UserRef) -> None:
    """Add a user to a client's work group.

    Example: sempi group add-member 12 luca@studiorossi.it
    """
    from sempi_cli.services.org.groups import GroupService

    emit_record(ctx, state(ctx).service(GroupService).add_member(client_id, user))


@app.command("remove-member")
def group_remove_member(ctx: typer.Context, client_id: ClientId, user: UserRef) -> None:
    """Remove a user from a client's work group (not its responsible).

    Example: sempi group remove-member 12 luca@studiorossi.it
    """
    from sempi_cli.services.org.groups import GroupService

    emit_record(ctx, state(ctx).service(GroupService).remove_member(client_id, user))
