"""The root of the command line: global options, lazy command groups, and the
one error boundary that turns every failure into one line and an exit code."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sempi_cli import __version__
from sempi_cli.cli import bare, language

# The parts both front ends share (cli/fastpath.py answers the hot commands before
# this module is imported); FLAGS and VALUED are read by docgen.
from sempi_cli.cli.bare import FLAGS as FLAGS
from sempi_cli.cli.bare import VALUED as VALUED
from sempi_cli.cli.bare import (
    denied_command,
    error_line,
    hoist_global_options,
    one_line,
    store_error,
)
from sempi_cli.cli.bare import flush_stdout as _flush_stdout
from sempi_cli.cli.bare import output_closed as _output_closed
from sempi_cli.cli.common import GROUP_HELP, ClickException, NoArgsIsHelpError, UsageError
from sempi_cli.cli.context import AppContext
from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext

# Groups are imported only when invoked, so start-up time does not grow with
# the number of commands. name -> module: sempi_cli.cli.<name>, or the
# package's commands module for a group that has grown several files.
PACKAGED = {
    "task": "task.commands",
    "scheduler": "scheduler.commands",
    "client": "client.commands",
    "client-onboard": "client.onboard",
    "chat": "chat.commands",
    "consent": "consent.commands",
    "coupon": "coupon.commands",
    "sign": "sign.commands",
    "automation": "automation.commands",
}
GROUPS: dict[str, str] = {
    name: f"sempi_cli.cli.{PACKAGED.get(name, name.replace('-', '_'))}" for name in GROUP_HELP
}


class LazyGroup(TyperGroup):
    """A command group whose commands become Click commands when asked for: typer
    would turn every function of the group (the chat has seventeen) into one, with
    its parameters, to run a single command (bench/chat.py: ~20 ms a command)."""

    pending: dict[str, Any]  # name -> typer's CommandInfo, not built yet
    order: list[str]  # the commands as the group declares them (help, docs)
    source: typer.Typer

    def list_commands(self, ctx: Any) -> list[str]:
        return self.order

    def get_command(self, ctx: Any, name: str) -> Any:
        info = self.pending.pop(name, None)
        if info is not None:
            self.commands[name] = typer.main.get_command_from_info(
                info,
                pretty_exceptions_short=self.source.pretty_exceptions_short,
                rich_markup_mode=self.source.rich_markup_mode,
            )
        command = super().get_command(ctx, name)
        return command if command is None else language.translate(command)


def lazy_group(app: typer.Typer, name: str) -> LazyGroup:
    """The group of ``app`` as typer builds it, but for its own commands: those wait
    in ``pending`` (its sub-groups, few and small, are built as usual)."""
    import copy

    skeleton = copy.copy(app)
    skeleton.registered_commands = []
    skeleton.info = copy.copy(app.info)
    skeleton.info.cls = LazyGroup
    group = typer.main.get_group(skeleton)
    assert isinstance(group, LazyGroup)
    group.name, group.source = name, app
    group.pending = {
        info.name or typer.main.get_command_name(info.callback.__name__): info
        for info in app.registered_commands
    }
    group.order = [*group.pending, *group.commands]
    return group


class SempiGroup(TyperGroup):
    """The root group: loads sub-groups lazily and owns the error boundary."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *GROUPS})

    def get_command(self, ctx: Any, name: str) -> Any:
        command = super().get_command(ctx, name)
        if command is None and name in GROUPS:
            module = importlib.import_module(GROUPS[name])
            command = lazy_group(module.app, name)
            self.commands[name] = command
        return command if command is None else language.translate(command)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # Help lists groups without importing them.
        from sempi_cli.i18n import gettext

        rows = [(name, gettext(text)) for name, text in GROUP_HELP.items()]
        for name in super().list_commands(ctx):
            if name not in GROUPS:  # a group loaded earlier in this process
                rows.append((name, self.commands[name].get_short_help_str(limit=60)))
        with formatter.section(gettext("Commands")):
            formatter.write_dl(sorted(rows))

    attempts_left = 0  # main's: how many times more a conflicting command may run

    def invoke(self, ctx: Any) -> Any:
        try:
            result = super().invoke(ctx)
        except Exception as exc:  # the one boundary: everything below ends here
            if self.attempts_left and _conflict(exc):
                raise _RunAgain from exc
            raise _exit_for(exc, ctx) from exc
        _after_hooks(ctx)
        return result

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if os.environ.get("_SEMPI_COMPLETE"):
            # Shell completion (a TAB): Typer's bash/zsh/fish scripts, registered on demand.
            from typer.completion import completion_init

            completion_init()
        args = hoist_global_options(list(sys.argv[1:] if args is None else args))
        self.invoked_args = args  # for the audit of a refused command
        refused: Exception | None = None
        try:
            language.choose(args)
        except InvalidData as exc:
            refused = exc
        language.help_wanted(args)
        language.translate(self)
        refused = refused or _unreadable_argument(args)
        if refused is not None:
            typer.echo(error_line(str(refused)), err=True)
            if standalone_mode:
                sys.exit(refused.exit_code)
            return refused.exit_code
        try:
            result = self._main_again_on_conflict(args, prog_name, complete_var, **extra)
        except typer.Exit as exc:
            code = exc.exit_code
        except SystemExit:
            # Typer ends a broken pipe at parse time (--help, --version) with exit 1,
            # after swapping stdout for its PacifyFlushWrapper; give it our code.
            if type(sys.stdout).__name__ != "PacifyFlushWrapper":
                raise
            code = _output_closed()
        except typer.Abort:
            typer.echo(gettext("Aborted."), err=True)
            code = 1
        except BrokenPipeError:
            code = _output_closed()
        except Exception as exc:
            code = _usage_error(exc)
        else:
            code = result if isinstance(result, int) else 0
        code = _flush_stdout(code)
        if standalone_mode:
            sys.exit(code)
        return code

    def _main_again_on_conflict(
        self, args: list[str], prog_name: str | None, complete_var: str | None, **extra: Any
    ) -> Any:
        """Click's main, run again whole (a new store connection, the same arguments)
        when a write narrowed to its rows met another's on PostgreSQL: that is
        nothing's fault, and nothing of the attempt was kept (store/transaction.py).
        The write came after every question the command asks: the answers were yes,
        and are not asked again (--yes)."""
        import random
        import time

        for attempt in range(COMMAND_ATTEMPTS, 0, -1):
            self.attempts_left = attempt - 1
            try:
                return super().main(
                    list(args), prog_name or "sempi", complete_var, standalone_mode=False, **extra
                )
            except _RunAgain:
                time.sleep(random.uniform(0.01, 0.05) * (COMMAND_ATTEMPTS - attempt + 1))
                args = ["--yes", *args] if "--yes" not in args else args
        raise AssertionError("the last attempt does not run again")


# A write narrowed to its rows (store/transaction.write_transaction's scope) that met
# another's: the command is run again, this many times in all, then exit 9.
COMMAND_ATTEMPTS = 5


def _conflict(exc: Exception) -> bool:
    from sempi_cli.store.transaction import is_conflict

    return is_conflict(exc)


class _RunAgain(Exception):
    """The boundary's word to main: this attempt conflicted, run the command again."""


def _after_hooks(ctx: Any) -> None:
    """automation.run_after_command = yes: a command that wrote, and succeeded, runs
    the after-hooks as it ends. Best effort: a failure is one warning on stderr and
    never changes the command's exit code (cron's `automation run` catches up)."""
    app = ctx.find_object(AppContext)
    conn = None if app is None else app._conn
    if conn is None or conn.total_changes == 0 or conn.in_transaction:
        return
    try:
        from sempi_cli.services import settings_read

        if settings_read.get(conn, "automation.run_after_command") != "yes":
            return  # (the runner and the hooks' code left unloaded: every writing command ends here)
        from sempi_cli.services.automation import runner

        if runner.pending_work(conn):
            runner.deliver(conn, app.clock)
    except Exception as exc:
        if not app.quiet:
            reason = one_line(str(store_error(exc)))
            typer.echo(
                gettext("Warning: the after-hooks did not run: {reason}").format(reason=reason),
                err=True,
            )


def _unreadable_argument(args: list[str]) -> Exception | None:
    """An argument that is not UTF-8 (Python keeps its bytes as lone surrogates) or
    holds a NUL (no file name or text can) is refused before anything runs, naming
    the option it was given to."""
    for i, arg in enumerate(args):
        if "\0" in arg:
            problem, hint = gettext("contains a NUL character"), None
        else:
            try:
                arg.encode("utf-8")
                continue
            except UnicodeEncodeError:
                problem = gettext("is not valid UTF-8 text")
                hint = gettext("check the encoding of the terminal or the script")
        before = args[i - 1] if i and args[i - 1].startswith("-") else None
        name = arg.split("=", 1)[0] if arg.startswith("--") and "=" in arg else before
        return InvalidData(name or gettext("argument {n}").format(n=i + 1), problem, hint)
    return None


SQLITE_MAX_INT = 2**63 - 1


def _exit_for(exc: Exception, ctx: Any) -> BaseException:
    """A SempiError becomes its exit code; anything unexpected exit 1, one line."""
    from sempi_cli.errors import PermissionDenied, SempiError

    if isinstance(exc, typer.Exit | typer.Abort) or _is_click_error(exc):
        return exc
    if isinstance(exc, BrokenPipeError):
        return typer.Exit(_output_closed())
    exc = store_error(exc)
    if isinstance(exc, OverflowError) and (huge := _number_too_large(ctx)) is not None:
        return huge
    app = ctx.find_object(AppContext)
    if isinstance(exc, SempiError):
        if isinstance(exc, PermissionDenied) and app is not None:
            _audit_denied(app, ctx, exc)
        typer.echo(error_line(one_line(str(exc))), err=True)
        return typer.Exit(exc.exit_code)
    if app is not None and app.debug:
        return exc
    typer.echo(bare.internal_error(exc), err=True)
    return typer.Exit(1)


def _number_too_large(ctx: Any) -> BaseException | None:
    """An id or count past SQLite's 64-bit integers is the user's typo, not a crash:
    name the number (Click has turned it into an int by now, whatever its option).
    None when no typed number is that large: then the overflow is an internal error."""
    words = getattr(ctx.command, "invoked_args", [])
    huge = [text for text, number in _typed_integers(words) if abs(number) > SQLITE_MAX_INT]
    if not huge:
        return None
    message = gettext("{number} is too large a number (at most {largest})")
    typer.echo(error_line(message.format(number=huge[0], largest=SQLITE_MAX_INT) + "."), err=True)
    return typer.Exit(2)


def _typed_integers(words: list[str]) -> list[tuple[str, int]]:
    """The integers on a command line as Click reads them (int(): signs, spaces,
    underscores, any script's digits), alone or as an option's value: --client=12
    or -c12."""
    found = []
    for word in words:
        for text in (word, word.partition("=")[2], word[2:] if word[:1] == "-" else ""):
            try:
                found.append((text.strip(), int(text)))
                break
            except ValueError:
                continue
    return found


def _audit_denied(app: AppContext, ctx: Any, exc: Exception) -> None:
    """Every refused action is in the audit log: who, which command, why (never arguments)."""
    from sempi_cli.clock import iso_utc
    from sempi_cli.services.audit import record_denied

    actor = app._actor
    if actor is None or app._conn is None:
        return
    command = denied_command(getattr(ctx.command, "invoked_args", []))
    try:
        record_denied(app._conn, iso_utc(app.clock.now()), actor.id, command, str(exc))
    except Exception:  # the refusal must still be reported if the log is busy
        pass


def _is_click_error(exc: BaseException) -> bool:
    return isinstance(exc, ClickException)


def _usage_error(exc: Exception) -> int:
    """Click's parse errors as one line: 'Error: <problem>. See '<cmd> --help'.'"""
    if isinstance(exc, NoArgsIsHelpError):
        if exc.ctx:
            language.help_now()
            language.translate(exc.ctx.command)
        typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return 0
    if not isinstance(exc, ClickException):
        raise exc
    from sempi_cli.cli.click_texts import translated

    message = translated(exc.format_message()).replace("\n", " ").rstrip(".")
    if isinstance(exc, UsageError) and exc.ctx is not None:
        see = gettext("See '{command} --help'").format(command=exc.ctx.command_path)
        message += f" {see}" if message.endswith("?") else f". {see}"  # after a suggestion
    typer.echo(error_line(f"{message}."), err=True)
    return exc.exit_code


app = typer.Typer(
    name="sempi",
    cls=SempiGroup,
    help="Organise an accounting firm's work: practices, clients, tasks, deadlines.\n\n"
    "Example: sempi client list --studio 'Studio Rossi' --json",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sempi {__version__}")
        raise typer.Exit()


def _store_option(value: str | None) -> str | None:
    """--db as typer checks a file (a folder, or a file this account may not read,
    is a usage error); a postgresql:// address as it is."""
    import os

    from sempi_cli.paths import is_address

    if value is None or is_address(value):
        return value
    path = os.path.expanduser(value)
    if os.path.isdir(path):
        raise typer.BadParameter(gettext("File {path!r} is a directory.").format(path=value))
    if os.path.exists(path) and not os.access(path, os.R_OK):
        raise typer.BadParameter(gettext("File {path!r} is not readable.").format(path=value))
    return value


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="SEMPI_DB",
            help="The store: its file (default: $SEMPI_HOME/sempi.db), or a postgresql:// address.",
            show_envvar=True,
            callback=_store_option,
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="Output: table, json, jsonl, csv (scripts: ',' and column names) or excel"
            " (an Italian Excel opens it: ';', UTF-8 with BOM, 1234,5, dd/mm/yyyy, Italian headers).",
            case_sensitive=False,
        ),
    ] = "table",
    json_: Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")] = False,
    excel: Annotated[bool, typer.Option("--excel", help="Shorthand for --format excel.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No messages, only data and errors.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to confirmations.")] = False,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt; fail instead.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of internal errors.")
    ] = False,
    no_hooks: Annotated[
        bool,
        typer.Option(
            "--no-hooks",
            help="Run this one command without the before-hooks (firm administrators; audited).",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    from sempi_cli.errors import UsageProblem
    from sempi_cli.output import FORMATS

    if json_ and excel:
        raise UsageProblem(gettext("--json and --excel: give one of them"))
    fmt = "json" if json_ else "excel" if excel else fmt.lower()
    if fmt not in FORMATS:
        problem = gettext("--format: {value} is not one of {choices}")
        raise UsageProblem(problem.format(value=repr(fmt), choices=", ".join(FORMATS)))
    obj = ctx.find_object(AppContext)
    if obj is None:
        obj = AppContext()
        ctx.obj = obj
    if db is not None:
        obj.db_path = db
    obj.fmt, obj.quiet, obj.yes, obj.no_input = (
        fmt,
        quiet or obj.quiet,
        yes or obj.yes,
        no_input or obj.no_input,
    )
    obj.debug = debug or obj.debug
    obj.no_hooks = no_hooks or obj.no_hooks
    if obj.no_hooks:  # the audit of --no-hooks names the command
        obj.command = denied_command(getattr(ctx.command, "invoked_args", []))
    ctx.call_on_close(obj.close)
    from sempi_cli.cli.terminal import guard_streams

    ctx.call_on_close(guard_streams(fmt))


def _register_top_level() -> None:
    from sempi_cli.cli import session, setup

    app.command("init")(setup.init)
    app.command("login")(session.login)
    app.command("logout")(session.logout)
    app.command("whoami")(session.whoami)
    app.command("passwd")(session.passwd)
    app.command("doctor")(importlib.import_module("sempi_cli.cli.doctor").doctor)
    app.command("status")(importlib.import_module("sempi_cli.cli.status").status)


_register_top_level()


def main() -> None:
    """The full CLI (cli/fastpath.py's main, the `sempi` entry point, runs it for
    every command line the fast path does not answer)."""
    app()
