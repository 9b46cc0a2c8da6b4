"""What every command module shares: the context, output, messages, prompts."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, TextIO, TypeVar

import typer

# Typer's own Click, vendored as typer._click (loaded by `import typer` anyway).
# DESIGN.md: never `import click` (a real click.ClickException is not handled);
# this is the one place that reaches into typer._click, the rest imports from here.
from typer._click import Command as Command
from typer._click import Context as Context
from typer._click.exceptions import ClickException as ClickException
from typer._click.exceptions import NoArgsIsHelpError as NoArgsIsHelpError
from typer._click.exceptions import UsageError as UsageError

from sempi_cli.cli.context import AppContext
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import speaking

if TYPE_CHECKING:
    import threading

T = TypeVar("T")

# The page of a grid (`consent list`, `coupon clients`): the filtered rows, by id.
PageLimit = Annotated[int | None, typer.Option("--limit", "-n", help="At most this many rows.")]
PageOffset = Annotated[
    int, typer.Option("--offset", help="Skip this many rows first (with --limit: a page).")
]

# The command groups and their one-line help: shown by `sempi --help` without
# importing the groups, and used by each group's own Typer app.
GROUP_HELP: dict[str, str] = {
    "audit": "Read the activity log (firm administrators).",
    "automation": "Rules and hooks that act on events: when this happens, do that.",
    "auth": "Two-step login, recovery codes, application passwords, sessions.",
    "chat": "Chats: the general chat, public and private chats, each work group's chat.",
    "checklist": "Checklists on tasks: nested items, group actions, members, files.",
    "client": "Manage clients: identity, fiscal profile, responsible.",
    "client-onboard": "Onboard clients, one or a thousand: record, group, folders, invitations, deadlines.",
    "config": "Read and change the firm's settings (firm administrators).",
    "consent": "Clients' consent to SMART services: the practice's option, requests, answers.",
    "coupon": "Conto Terzi migration coupons: packages, migration, renewal, usage, cancellation.",
    "db": "Inspect, check and back up the store.",
    "doc": "Client documents in folders: add, import a backlog, list, get, move, remove.",
    "events": "The record of what changed, for scripts: list and follow events (JSON contract).",
    "group": "Manage each client's work group (who may enter it).",
    "mail": "The outbox: invitations and notices sent through the firm's SMTP server.",
    "notify": "Your notifications: messages, mentions, tasks, invitations, reminders; preferences.",
    "scheduler": "The fiscal calendar: every client's deadlines as tasks, from cron; views, .ics.",
    "sign": "Send documents for a simple electronic signature by one-time code; verify them.",
    "smart": "Reach a client's SMART services, where its consent allows.",
    "studio": "Manage the practices (studi) the firm works for.",
    "task": "Tasks (incarichi): status, approval, history, templates, recurrence, reminders.",
    "timer": "Track time on tasks: start, pause, entries by hand, reports.",
    "user": "Manage users: firm staff, practice users, external users.",
}


def sub_app(name: str, help: str) -> typer.Typer:
    """A command group with the house settings: plain help, help when called bare."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def group_app(name: str) -> typer.Typer:
    """A top-level group: its help comes from GROUP_HELP."""
    return sub_app(name, GROUP_HELP[name])


def state(ctx: typer.Context) -> AppContext:
    obj = ctx.find_object(AppContext)
    if obj is None:  # a sub-app invoked on its own (tests of one module)
        obj = ctx.ensure_object(AppContext)
    return obj


def emit_rows(
    ctx: typer.Context, rows: Iterable[Mapping[str, object]], columns: Sequence[str]
) -> None:
    """Data to stdout in the chosen format."""
    from sempi_cli.output import line_end, render

    fmt = state(ctx).fmt
    text = render(rows, columns, fmt)
    if text:
        typer.echo(text + line_end(fmt), nl=False)


def emit_record(ctx: typer.Context, record: Mapping[str, object]) -> None:
    from sempi_cli.output import line_end, render_record

    fmt = state(ctx).fmt
    typer.echo(render_record(record, fmt) + line_end(fmt), nl=False)


def emit_record_with_text(ctx: typer.Context, record: dict) -> None:
    """A record whose "text" (a document's, a template's) a person reads below its
    fields, as written; a script gets it inside the record."""
    if state(ctx).fmt != "table":
        emit_record(ctx, record)
        return
    text = str(record.pop("text"))
    emit_record(ctx, record)
    typer.echo("")
    typer.echo(text)


@contextmanager
def stop_on_signal() -> Iterator[threading.Event]:
    """An Event set by Ctrl-C or SIGTERM while inside: a command that follows the store
    (`chat follow`, `events tail`) polls until it is set, then returns (exit 0) with the
    store closed as after any command. Signals reach the main thread only: elsewhere
    (a test driving the CLI from a thread) nothing is installed."""
    import signal
    import threading

    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {
        sig: signal.signal(sig, lambda *_args: stop.set())
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def say(ctx: typer.Context, text: str) -> None:
    """A message for a person: stderr, silenced by --quiet."""
    if not state(ctx).quiet:
        typer.echo(text, err=True)


MACHINE_FORMATS = ("json", "jsonl", "csv")


def for_output(ctx: typer.Context, make: Callable[[], T]) -> T:
    """``make()`` (a read) with its texts in the language of the output: English for
    scripts (JSON, CSV: a text field never changes with the reader's language),
    the person's own for a table. An error it raises is said in the person's
    language: ``make`` runs again to say it (a read, so running twice is harmless)."""
    from sempi_cli.errors import SempiError
    from sempi_cli.i18n import current, speaking

    if state(ctx).fmt not in MACHINE_FORMATS or current() == "en":
        return make()
    try:
        with speaking("en"):
            return make()
    except SempiError:
        return make()


def data_language(ctx: typer.Context) -> speaking:
    """Around a write whose result is a report of data (a batch's rows, an import's
    problems): its texts in English when scripts read it (JSON, CSV: a value never
    changes with the reader's language), in the person's own for a table. A
    question it asks says itself in the person's language (``confirm``)."""
    from sempi_cli.i18n import current

    machine = state(ctx).fmt in MACHINE_FORMATS
    return speaking("en" if machine else current())


# The answers `confirm` takes in Italian: s/sì (and the y/yes of the English prompt).
_YES = ("s", "si", "sì", "y", "yes")
_NO = ("n", "no")


def confirm(ctx: typer.Context, question: str) -> None:
    """Ask on a terminal; refuse without --yes anywhere else. ``question`` is already
    in the person's language; so is the prompt ([y/N] in English, [s/N] in Italian)."""
    from sempi_cli.errors import UsageProblem
    from sempi_cli.i18n import current

    app = state(ctx)
    if app.yes:
        return
    if not app.interactive:
        raise UsageProblem(
            _("{question}: confirmation needed").format(question=question.rstrip("?")),
            _("add --yes to confirm"),
        )
    if current() == "en":
        agreed = typer.confirm(question, default=False, err=True)
    else:
        agreed = _ask_yes_no(question)
    if not agreed:
        raise typer.Exit(1)


def _ask_yes_no(question: str) -> bool:
    """Click's confirm in Italian: ``[s/N]``, yes as s, si, sì, y or yes, no as n or no,
    nothing for no; anything else asked again. Ctrl-C or the end of input: Abort."""
    while True:
        answer = typer.prompt(
            f"{question} [s/N]", default="", show_default=False, err=True, type=str
        )
        word = answer.strip().lower()
        if word in _YES:
            return True
        if not word or word in _NO:
            return False
        typer.echo(_("Error: answer s (sì) or n (no)"), err=True)


def read_secret(
    ctx: typer.Context, prompt: str, *, from_stdin: bool, field: str, confirm_it: bool = False
) -> str:
    """A secret from one line of stdin (scripts) or a no-echo prompt; never from argv."""
    from sempi_cli.errors import UsageProblem

    if from_stdin:
        try:
            line = sys.stdin.readline()
        except UnicodeDecodeError:
            line = "\udcff"  # not UTF-8: refused below, like bytes kept as surrogates
        value = line.rstrip("\r\n")
        if not value:
            raise UsageProblem(_("{field}: nothing on standard input").format(field=field))
        utf8_or_refuse(value, field)
        return value
    if not state(ctx).interactive:
        raise UsageProblem(
            _("{field}: no terminal to ask on").format(field=field),
            _("pass it on standard input with --password-stdin"),
        )
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm_it, err=True)


def ask_code(ctx: typer.Context, *, from_stdin: bool) -> str:
    """The second step: a code from the authenticator app, or a recovery code.
    Without one the login fails as with a wrong one (exit 7), not as a usage slip."""
    from sempi_cli.errors import NotAuthenticated, UsageProblem

    try:
        return read_secret(
            ctx,
            _("Code from your authenticator app (or a recovery code)"),
            from_stdin=from_stdin,
            field="code",
        )
    except UsageProblem as exc:
        raise NotAuthenticated(
            _("two-step login needs a code: {problem}").format(problem=exc.message),
            _("give the code on the line after the password, or run on a terminal"),
        ) from None


def utf8_or_refuse(text: str, field: str) -> None:
    """Bytes that are not UTF-8 (a Latin-1 file, a broken terminal) arrive as lone
    surrogates; refuse them by name before they reach a hash or the store."""
    from sempi_cli.errors import InvalidData

    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidData(
            field,
            _("is not valid UTF-8 text"),
            _("check the encoding of the terminal or the file"),
        ) from None


def step_up(ctx: typer.Context, *, from_stdin: bool):
    """What a service calls, once it has decided the act is allowed, to have the
    actor confirm their password (and code) again."""

    def confirm():
        from sempi_cli.services.identity.auth import AuthService

        password = read_secret(
            ctx, _("Your password, to confirm"), from_stdin=from_stdin, field="password"
        )
        return (
            state(ctx)
            .service(AuthService)
            .reauthenticate(password, lambda: ask_code(ctx, from_stdin=from_stdin))
        )

    return confirm


def ask(ctx: typer.Context, prompt: str, *, field: str) -> str:
    from sempi_cli.errors import UsageProblem

    if not state(ctx).interactive:
        raise UsageProblem(_("missing {field}").format(field=field))
    return typer.prompt(prompt, err=True)


def create_private_file(path: str) -> int:
    """A new file only its owner can read; an existing one is never touched."""
    import os

    from sempi_cli.errors import Conflict, InvalidData

    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(
            _("{path} already exists").format(path=path),
            _("choose another file; exports never overwrite"),
        ) from None
    except (FileNotFoundError, NotADirectoryError):
        raise InvalidData(
            "--output", _("the folder of {path} does not exist").format(path=path)
        ) from None
    except OSError as exc:
        raise InvalidData(
            "--output", _("cannot create {path}: {reason}").format(path=path, reason=exc.strerror)
        ) from None


def write_private_bytes(path: str, chunks: Iterable[bytes]) -> None:
    """Write a new owner-only file from binary chunks in full, or leave no file at all."""
    import os

    fd = create_private_file(path)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(path)  # ours: O_EXCL created it a moment ago
        raise
    os.close(fd)


def write_private(path: str, write: Callable[[TextIO], None]) -> None:
    """Write a new owner-only file in full, or leave no file at all."""
    import os

    fd = create_private_file(path)
    try:
        with open(fd, "w", encoding="utf-8", closefd=False) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.close(fd)
        os.unlink(path)  # ours: O_EXCL created it a moment ago
        raise
    os.close(fd)
