"""`sempi chat`: the chats and their members (add, list, info, join, invite,
remove-member, leave, mute, unmute)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.chat.group import app
from sempi_cli.cli.common import emit_record, emit_rows, say, state
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

ChatRef = Annotated[
    str,
    typer.Argument(help="The chat: its id, 'general', its title, or a client's name or client:ID."),
]
UserRefs = Annotated[list[str], typer.Argument(help="Users by e-mail or id; one or more.")]


@app.command("add")
def chat_add(
    ctx: typer.Context,
    title: Annotated[
        str, typer.Argument(help="The chat's title (one line, up to 120 characters).")
    ],
    public: Annotated[
        bool,
        typer.Option("--public", help="Open to every internal user (they join it themselves)."),
    ] = False,
    description: Annotated[
        str | None,
        typer.Option(
            "--description",
            help="What the chat is for: its topic and first message (needed for --public).",
        ),
    ] = None,
    member: Annotated[
        list[str] | None,
        typer.Option(
            "--member", "-m", help="A member of a private chat (e-mail or id); repeat it."
        ),
    ] = None,
) -> None:
    """Create a private chat you own, or a public one anyone in the firm may join.

    Example: sempi chat add "Bilanci 2026" --member luca@studiorossi.it --member 7
    """
    from sempi_cli.services.chat.chats import ChatService

    emit_record(
        ctx,
        state(ctx)
        .service(ChatService)
        .add(title, public=public, description=description, members=member or ()),
    )


PAGE = 50  # a person's page of chats; a script that wants every one says --all


@app.command("list")
def chat_list(
    ctx: typer.Context,
    unread: Annotated[
        bool, typer.Option("--unread", help="Only chats with messages you have not read.")
    ] = False,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Only chats of this kind: general, public, private, group."),
    ] = None,
    client: Annotated[
        int | None,
        typer.Option("--client", help="The work-group chat of this client (its id)."),
    ] = None,
    public: Annotated[
        bool,
        typer.Option("--public", help="Every public chat, joined or not, with its member count."),
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", min=1, help=f"At most this many, most active first (default {PAGE})."
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every chat, not only the first page.")
    ] = False,
) -> None:
    """List your chats, most recent activity first, with unread counts.

    An administrator overseeing hundreds of work groups sees the 50 most active
    unless told otherwise (--limit, --all).

    Example: sempi chat list --unread --kind group
    """
    from sempi_cli.errors import UsageProblem
    from sempi_cli.services.chat.chats import ChatService
    from sempi_cli.services.chat.listing import LIST_COLUMNS, PUBLIC_COLUMNS

    if all_ and limit is not None:
        raise UsageProblem(_("give --limit or --all, not both"))
    rows = (
        state(ctx)
        .service(ChatService)
        .list(unread_only=unread, kind=kind, client_id=client, public=public)
    )
    page = len(rows) if all_ else (limit or PAGE)
    emit_rows(ctx, rows[:page], PUBLIC_COLUMNS if public else LIST_COLUMNS)
    if len(rows) > page:
        more = len(rows) - page
        say(
            ctx,
            ngettext(
                "{n} more: --limit N or --all to see them.",
                "{n} more: --limit N or --all to see them.",
                more,
            ).format(n=more),
        )


@app.command("info")
def chat_info(ctx: typer.Context, chat: ChatRef) -> None:
    """Show what a chat is: kind, title, topic, owner, posting policy, members.

    Example: sempi chat info general
    """
    from sempi_cli.services.chat.chats import ChatService

    emit_record(ctx, state(ctx).service(ChatService).info(chat))


@app.command("join")
def chat_join(ctx: typer.Context, chat: ChatRef) -> None:
    """Join a public chat, with its whole history.

    Example: sempi chat join "Novità fiscali"
    """
    from sempi_cli.services.chat.chats import ChatService

    emit_record(ctx, state(ctx).service(ChatService).join(chat))


@app.command("invite")
def chat_invite(
    ctx: typer.Context,
    chat: ChatRef,
    users: UserRefs,
    show_history: Annotated[
        bool,
        typer.Option(
            "--show-history",
            help="Let them read the messages from before they joined (default: from now on).",
        ),
    ] = False,
) -> None:
    """Add people to a public or private chat you are in; they are notified.

    Example: sempi chat invite "Bilanci 2026" giulia@sempi.it --show-history
    """
    from sempi_cli.services.chat.chats import ChatService

    emit_record(ctx, state(ctx).service(ChatService).invite(chat, users, show_history=show_history))


@app.command("remove-member")
def chat_remove_member(ctx: typer.Context, chat: ChatRef, users: UserRefs) -> None:
    """Remove members from a private chat you own.

    Example: sempi chat remove-member "Bilanci 2026" luca@studiorossi.it
    """
    from sempi_cli.services.chat.chats import ChatService

    emit_record(ctx, state(ctx).service(ChatService).remove_member(chat, users))


@app.command("leave")
def chat_leave(ctx: typer.Context, chat: ChatRef) -> None:
    """Leave a public or private chat (an owner's place goes to another member).

    Example: sempi chat leave "Bilanci 2026"
    """
    from sempi_cli.services.chat.chats import ChatService

    emit_record(ctx, state(ctx).service(ChatService).leave(chat))


@app.command("mute")
def chat_mute(ctx: typer.Context, chat: ChatRef) -> None:
    """Mute a chat for yourself: no message notifications (mentions still arrive).

    Example: sempi chat mute general
    """
    from sempi_cli.services.chat.chats import ChatService

    emit_record(ctx, state(ctx).service(ChatService).mute(chat))


@app.command("unmute")
def chat_unmute(ctx: typer.Context, chat: ChatRef) -> None:
    """Unmute a chat you muted.

    Example: sempi chat unmute general
    """
    from sempi_cli.services.chat.chats import ChatService

    emit_record(ctx, state(ctx).service(ChatService).unmute(chat))
