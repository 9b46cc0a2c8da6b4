"""`sempi chat`: what is said in the chats (send, show, edit, delete, history,
search, follow)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sempi_cli.cli.chat.group import app
from sempi_cli.cli.common import confirm, emit_record, emit_rows, say, state, stop_on_signal
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import number, pgettext

ChatRef = Annotated[
    str,
    typer.Argument(help="The chat: its id, 'general', its title, or a client's name or client:ID."),
]
MessageId = Annotated[int, typer.Argument(help="The message's id (see 'sempi chat show').")]
Text = Annotated[
    str,
    typer.Argument(
        help="The message (up to 10,000 characters), or - to read it from standard input."
    ),
]
# Bytes read from standard input at most: 10,000 characters of UTF-8 are at most
# 40,000 bytes; more (with room for the spaces trimmed around a text) is refused.
MAX_STDIN_BYTES = 1 << 20
SHOW_COLUMNS = ("id", "time", "author", "text", "reply_to", "flags", "attachment")


def _text(value: str, field: str = "TEXT") -> str:
    """The text given, or with ``-`` what standard input holds (UTF-8 only)."""
    from sempi_cli.errors import InvalidData

    if value != "-":
        return value
    raw = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(raw) > MAX_STDIN_BYTES:
        raise InvalidData(
            field,
            _("standard input is longer than {limit} characters").format(limit=number(10_000, 0)),
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidData(
            field,
            _("standard input is not valid UTF-8 text"),
            _("check the encoding of the terminal or the file"),
        ) from None


def _for_table(message: dict) -> dict:
    """A message as a person reads it (the words of the table in their language)."""
    from sempi_cli.services.chat.messages import DELETED_TEXT, NOT_AVAILABLE

    attachment = message["attachment"]
    if attachment is None:
        shown = None
    elif attachment["available"]:
        shown = _("doc {id}: {name}").format(id=attachment["document_id"], name=attachment["name"])
    else:
        shown = _(NOT_AVAILABLE)
    flags = (
        pgettext("flag", "deleted")
        if message["deleted"]
        else pgettext("flag", "edited")
        if message["edited"]
        else None
    )
    return {
        **message,
        "time": message["created_at"],
        "author": _("(note)") if message["kind"] == "event" else message["author"],
        "text": _(DELETED_TEXT) if message["deleted"] else message["text"],
        "flags": flags,
        "attachment": shown,
    }


def _emit_messages(ctx: typer.Context, messages: list[dict]) -> None:
    if state(ctx).fmt == "table":
        emit_rows(ctx, [_for_table(m) for m in messages], SHOW_COLUMNS)
    else:
        from sempi_cli.services.chat.messages import KEYS

        emit_rows(ctx, messages, KEYS)


@app.command("send")
def chat_send(
    ctx: typer.Context,
    chat: ChatRef,
    text: Text,
    reply_to: Annotated[
        int | None, typer.Option("--reply-to", help="Answer this message (of the same chat).")
    ] = None,
    attach: Annotated[
        int | None,
        typer.Option(
            "--attach",
            help="Link a document of the client's folders (work-group chats only); each"
            " reader sees it only if they may read the document.",
        ),
    ] = None,
) -> None:
    """Send a message; @email or @name.surname mentions notify those members.

    Example: sempi chat send "Alfa Srl" "@anna.rossi la fattura è in IVA/2026" --attach 41
    """
    from sempi_cli.services.chat.messages import MessageService

    message = (
        state(ctx).service(MessageService).send(chat, _text(text), reply_to=reply_to, attach=attach)
    )
    if state(ctx).fmt != "table":
        emit_record(ctx, message)
    say(
        ctx,
        _("Sent message {id} to chat {chat}.").format(id=message["id"], chat=message["chat_id"]),
    )


@app.command("show")
def chat_show(
    ctx: typer.Context,
    chat: ChatRef,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many messages.")
    ] = 50,
    before: Annotated[
        int | None, typer.Option("--before", help="The page just before this message.")
    ] = None,
    after: Annotated[
        int | None, typer.Option("--after", help="The page just after this message.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="From this moment on: 2026-11-16 09:00, 16/11/2026, -7d..."),
    ] = None,
) -> None:
    """Show a chat's messages, newest last, and mark them read.

    Without --after or --since the page ends at the newest message (or just
    before --before); with them it starts there and goes forward.

    Example: sempi chat show general --limit 20 --before 480
    """
    from sempi_cli.services.chat.messages import MessageService

    messages = (
        state(ctx)
        .service(MessageService)
        .show(chat, limit=limit, before=before, after=after, since=since)
    )
    _emit_messages(ctx, messages)
    if not messages:
        say(ctx, _("No messages."))


@app.command("edit")
def chat_edit(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="A message's id (with TEXT), or a chat (with --title, --topic or --post)."
        ),
    ],
    text: Annotated[
        str | None,
        typer.Argument(help="The message's new text, or - to read it from standard input."),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="The chat's new title.")] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="The chat's new topic ('' clears it).")
    ] = None,
    post: Annotated[
        str | None,
        typer.Option("--post", help="Who posts in the general chat: admins or everyone."),
    ] = None,
) -> None:
    """Edit one of your messages (TEXT), or a chat's title, topic or who may post.

    Example: sempi chat edit 120 "Corretto: la scadenza è il 16 dicembre"
    """
    from sempi_cli.errors import UsageProblem

    chat_options = title is not None or topic is not None or post is not None
    if (text is None) == (not chat_options):
        raise UsageProblem(
            _("give a message's new TEXT, or --title/--topic/--post for a chat, not both")
            if chat_options
            else _("nothing to change: give the message's new TEXT, or --title/--topic/--post")
        )
    if text is not None:
        from sempi_cli.services.chat.messages import MessageService

        if not target.strip().isdigit():
            raise UsageProblem(_("TARGET: {value} is not a message id").format(value=repr(target)))
        message = state(ctx).service(MessageService).edit(int(target), _text(text))
        if state(ctx).fmt != "table":
            emit_record(ctx, message)
        say(ctx, _("Edited message {id}.").format(id=message["id"]))
        return
    from sempi_cli.services.chat.chats import ChatService

    emit_record(
        ctx, state(ctx).service(ChatService).edit_chat(target, title=title, topic=topic, post=post)
    )


@app.command("delete")
def chat_delete(
    ctx: typer.Context,
    message_id: MessageId,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report; delete nothing.")
    ] = False,
) -> None:
    """Delete one of your messages (firm administrators: any); it shows as deleted.

    Example: sempi chat delete 120 --yes
    """
    from sempi_cli.services.chat.messages import MessageService

    if not dry_run:
        confirm(ctx, _("Delete message {id}?").format(id=message_id))
    message = state(ctx).service(MessageService).delete(message_id, dry_run=dry_run)
    if state(ctx).fmt != "table":
        emit_record(ctx, message)
    done = _("Would delete message {id}.") if dry_run else _("Deleted message {id}.")
    say(ctx, done.format(id=message_id))


@app.command("history")
def chat_history(ctx: typer.Context, message_id: MessageId) -> None:
    """Show every text a message has had, edits and deletion (firm administrators).

    Example: sempi chat history 120
    """
    from sempi_cli.services.chat.messages import DELETED_TEXT, MessageService

    versions = state(ctx).service(MessageService).history(message_id)
    if state(ctx).fmt == "table" and versions[-1]["text"] == DELETED_TEXT:
        # the current text of a deleted message, in the reader's words (JSON keeps it)
        versions[-1] = {**versions[-1], "text": _(DELETED_TEXT)}
    emit_rows(ctx, versions, ("version", "until", "replaced_by", "text"))


@app.command("search")
def chat_search(
    ctx: typer.Context,
    text: Annotated[
        str,
        typer.Argument(
            help='Words (all must appear), "a phrase" in quotes, a prefix like fattur*,'
            " OR between two of them."
        ),
    ],
    chat: Annotated[str | None, typer.Option("--chat", help="Only in this chat.")] = None,
    author: Annotated[
        str | None, typer.Option("--author", help="Only messages by this user (e-mail or id).")
    ] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="Only from this day: 2026-11-01, 01/11/2026...")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Only up to this day, included: 2026-11-30...")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1000, help="At most this many, best first.")
    ] = 20,
) -> None:
    """Search the messages you may read, best matches first.

    Example: sempi chat search 'fattur* "nota di credito"' --from 2026-11-01
    """
    from sempi_cli.services.chat.search import COLUMNS, ChatSearchService

    hits = (
        state(ctx)
        .service(ChatSearchService, read_only=True)
        .search(text, chat=chat, author=author, date_from=date_from, date_to=date_to, limit=limit)
    )
    if state(ctx).fmt != "table":
        emit_rows(ctx, hits, COLUMNS)
    elif hits:
        _print_hits(hits, bold=_bold_ok())
    else:
        say(ctx, _("No messages found."))


@app.command("follow")
def chat_follow(
    ctx: typer.Context,
    chat: Annotated[
        str | None,
        typer.Argument(help="The chat: its id, 'general', its title, or client:ID."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every chat you read.")] = False,
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.1, max=60, help="Seconds between looks at the store."),
    ] = 0.5,
) -> None:
    """Print new messages as they arrive, like tail -f, until Ctrl-C.

    With --json or --format jsonl each message is one JSON object on its own line.

    Example: sempi chat follow general --format jsonl
    """
    from sempi_cli.errors import UsageProblem
    from sempi_cli.output import render_record
    from sempi_cli.services.chat.follow import FollowService

    if (chat is None) == (not all_):
        raise UsageProblem(
            _("give a CHAT or --all, not both") if all_ else _("give a CHAT or --all")
        )
    fmt = state(ctx).fmt
    if fmt in ("csv", "excel"):
        raise UsageProblem(
            _("--format {format}: follow prints text, or one JSON object a line (jsonl)").format(
                format=fmt
            )
        )
    service = state(ctx).service(FollowService)
    chat_id, after = service.start(chat)
    with stop_on_signal() as stop:  # the loop ends between two polls
        if chat_id is not None:
            say(ctx, _("Following chat {chat}; Ctrl-C to stop.").format(chat=chat_id))
        else:
            say(ctx, _("Following every chat you read; Ctrl-C to stop."))
        for message in service.follow(chat_id, after, wait=stop.wait, interval=interval):
            typer.echo(render_record(message, "jsonl") if fmt != "table" else _line(message))
            if stop.is_set():
                break


def _line(message: dict) -> str:
    """One message as a person follows it: time, chat, author, then the text
    (its further lines indented)."""
    from sempi_cli.output import for_people, terminal_safe

    shown = _for_table(message)
    head = f"{for_people(message['created_at'])}  chat {message['chat_id']}  #{message['id']}"
    extra = (
        "  " + _("(reply to #{id})").format(id=message["reply_to"]) if message["reply_to"] else ""
    )
    attached = f"\n    [{shown['attachment']}]" if shown["attachment"] else ""
    text = terminal_safe(str(shown["text"]), keep="\n\t").replace("\n", "\n    ")
    return f"{head}  {terminal_safe(str(shown['author']))}{extra}\n    {text}{attached}"


# --- search results on a terminal ---------------------------------------------------------

EXCERPT = 240  # characters of a long message shown around its first match
BOLD, PLAIN = "\x1b[1m", "\x1b[0m"


def _bold_ok() -> bool:
    """Bold only for a person at a terminal who did not ask for no colour (NO_COLOR)."""
    import os

    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _excerpt(text: str, spans: list[list[int]]) -> tuple[str, list[list[int]]]:
    """A long text cut around its first match (spans moved with it), on one line."""
    flat = text.replace("\n", " ").replace("\t", " ")
    if len(flat) <= EXCERPT:
        return flat, spans
    start = max(0, (spans[0][0] if spans else 0) - EXCERPT // 4)
    end = min(len(flat), start + EXCERPT)
    lead, tail = ("…" if start else ""), ("…" if end < len(flat) else "")
    moved = [
        [max(a, start) - start + len(lead), min(b, end) - start + len(lead)]
        for a, b in spans
        if a < end and b > start
    ]
    return lead + flat[start:end] + tail, moved


def _marked(text: str, spans: list[list[int]], bold: bool) -> str:
    """The text made terminal-safe, with the matched words in bold when ``bold``."""
    from sempi_cli.output import terminal_safe

    if not bold:
        return terminal_safe(text)
    out, at = [], 0
    for a, b in spans:
        out += [terminal_safe(text[at:a]), BOLD, terminal_safe(text[a:b]), PLAIN]
        at = b
    out.append(terminal_safe(text[at:]))
    return "".join(out)


def _print_hits(hits: list[dict], *, bold: bool) -> None:
    """Two lines a match: where and who, then the text with the words found.

    The data are made terminal-safe here; with ``bold`` the text goes past the
    guard of cli/terminal.py (``write_styled``), which would show the bold codes
    as text: they are the only control characters in it.
    """
    from sempi_cli.output import for_people, terminal_safe

    lines = []
    for hit in hits:
        text, spans = _excerpt(str(hit["text"]), hit["matches"])
        who = terminal_safe(hit["author"] or _("(note)"))
        lines.append(
            f"#{hit['id']}  {for_people(hit['created_at'])}  chat {hit['chat_id']}"
            f" ({terminal_safe(str(hit['chat']))})  {who}"
        )
        lines.append(f"    {_marked(text, spans, bold)}")
    out = "\n".join(lines) + "\n"
    if bold:
        from sempi_cli.cli.terminal import write_styled

        write_styled(out)
    else:
        sys.stdout.write(out)
