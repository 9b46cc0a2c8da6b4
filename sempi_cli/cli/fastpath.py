"""`sempi`'s entry point: the hot commands answered before typer is imported.

A shell prompt runs `sempi status --short` at every line, and people type
`sempi timer start TASK` and `sempi timer pause` dozens of times a day. Loading
typer (and its Click) costs more than all the work of these commands, so
``main`` recognises exactly these command lines, with the global options
(--db, --format, --json, --excel, -q, --yes, --no-input) wherever they stand, and runs
them itself: the same services (timers/running.py, ops/glance.py, the session
check of identity/sessions.py, the store's open_current) and the same words
(cli/bare.py) as the full CLI, so output, errors and exit codes are the same.

Anything else goes to the full CLI (cli/app.py) before anything is done: another
command, an option or argument it does not know, --help, --version, --debug,
shell completion, an application password (SEMPI_APP_PASSWORD: scripts, not
people at a prompt), an argument that is not UTF-8, a store whose schema needs
migrating. SEMPI_FASTPATH=0 sends every command there (the tests run both ways).
"""

from __future__ import annotations

import os
import stat
import sys

from sempi_cli.cli import bare

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from types import SimpleNamespace

    from sempi_cli.clock import Clock

# output.FORMATS, without importing output (tests/test_fastpath.py keeps them equal).
FORMATS = ("table", "json", "jsonl", "csv", "excel")
MAX_ID_DIGITS = 18  # below SQLite's 2**63: the full CLI names a larger number itself


class Line:
    """One command line the fast path answers."""

    def __init__(self, words: list[str]) -> None:
        self.words = words  # as hoisted: what the audit log's command is read from
        self.db: str | None = None
        self.fmt = "table"
        self.quiet = False
        self.command = ""  # "status", "start" or "pause"
        self.task_id: int | None = None
        self.language: str | None = None  # SEMPI_LANG's; else the person's, the firm's


def main() -> None:
    if os.environ.get("SEMPI_FASTPATH") != "0":
        code = run(sys.argv[1:])
        if code is not None:
            # The store is closed and stdout flushed (answer): nothing left needs the
            # interpreter's teardown, which would cost a prompt a tenth of its time.
            try:
                sys.stderr.flush()
            except (AttributeError, OSError, ValueError):  # closed, or None
                pass
            os._exit(code)
    from sempi_cli.cli.app import main as full_cli

    full_cli()


def run(args: list[str], clock: Clock | None = None) -> int | None:
    """Answer ``args`` (the command line after ``sempi``) and return the exit status;
    None, having done nothing, when the full CLI must answer it."""
    if os.environ.get("SEMPI_APP_PASSWORD") or any(
        name.startswith(("_SEMPI_COMPLETE", "_TYPER_COMPLETE")) for name in os.environ
    ):
        return None
    from sempi_cli import i18n

    try:
        chosen = i18n.from_environment()
    except Exception:  # SEMPI_LANG names no language: the full CLI refuses it by name
        return None
    line = parse(args)
    if line is None:
        return None
    line.language = chosen
    i18n.use(chosen or i18n.from_locale())  # until the store says the person's
    if clock is None:
        from sempi_cli.clock import SystemClock

        clock = SystemClock()
    return answer(line, clock)


def parse(args: list[str]) -> Line | None:
    """The command line, if it is one the fast path knows entirely; else None."""
    for arg in args:
        if "\0" in arg or not _utf8(arg):
            return None  # the full CLI refuses it by name
    line = Line(bare.hoist_global_options(list(args)))
    words = line.words
    as_json = as_excel = False
    i = 0
    while i < len(words):
        word = words[i]
        name, equals, value = word.partition("=")
        if word == "--json":
            as_json = True
        elif word == "--excel":
            as_excel = True
        elif word in ("--quiet", "-q"):
            line.quiet = True
        elif word in ("--yes", "-y", "--no-input"):
            pass  # nothing here asks
        elif name in ("--db", "--format") and (equals or word == name):
            if not equals:
                if i + 1 == len(words):
                    return None
                i += 1
                value = words[i]
            if not value or value.startswith("-"):
                return None
            if name == "--db":
                line.db = value
            else:
                line.fmt = value
        else:
            break
        i += 1
    if as_json and as_excel:
        return None  # the full CLI refuses the pair
    line.fmt = "json" if as_json else "excel" if as_excel else line.fmt.lower()
    if line.fmt not in FORMATS or not _command(line, words[i:]):
        return None
    db = line.db if line.db is not None else (os.environ.get("SEMPI_DB") or None)
    if db is not None and not _plain_file_option(db):
        return None
    return line


def _plain_file_option(value: str) -> bool:
    """Whether typer's --db (a file path, Click's rules) takes ``value`` as it is: it
    refuses by itself a directory, or a file it may not read."""
    try:
        info = os.stat(value)
    except OSError:
        return True  # not there (yet): the store's open says so
    return not stat.S_ISDIR(info.st_mode) and os.access(value, os.R_OK)


def _command(line: Line, rest: list[str]) -> bool:
    if rest == ["status", "--short"]:
        line.command = "status"
        return True
    if rest[:2] not in (["timer", "start"], ["timer", "pause"]):
        return False
    line.command = rest[1]
    ids = rest[2:]
    if len(ids) > 1 or (line.command == "start" and not ids):
        return False
    if ids:
        text = ids[0]
        if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS):
            return False
        line.task_id = int(text)
    return True


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8, kept as lone surrogates
        return False
    return True


def answer(line: Line, clock: Clock) -> int | None:
    """Run the command line as the full CLI would; None if the store's schema is not
    this code's (nothing was changed: the full CLI migrates or refuses it)."""
    from sempi_cli import paths
    from sempi_cli.store.connection import open_current
    from sempi_cli.store.constants import SCHEMA_VERSION, SchemaElsewhere

    short = line.command == "status"
    store = paths.store_file(line.db)
    conn: sqlite3.Connection | None = None
    actor: SimpleNamespace | None = None
    try:
        try:
            conn = open_current(store, SCHEMA_VERSION)
            _speak(line, conn, None)
            actor = _session_actor(conn, store, clock, touch=not short)
            _speak(line, conn, actor.id)
            code = _run(line, conn, actor, clock)
        except SchemaElsewhere:
            return None
        except KeyboardInterrupt:  # as typer ends it
            code = 130
        except BrokenPipeError:
            code = bare.output_closed()
        except Exception as exc:
            code = bare.exit_code(exc) if short else _failed(exc, line, conn, actor, clock)
    finally:
        if conn is not None:
            conn.close()
    return bare.flush_stdout(code)


def _speak(line: Line, conn: sqlite3.Connection, user_id: int | None) -> None:
    """This command's language, as cli/language.py chooses it for the full CLI."""
    from sempi_cli import i18n
    from sempi_cli.services import language

    i18n.use(line.language or language.preferred(conn, user_id))


def _session_actor(
    conn: sqlite3.Connection, store: str, clock: Clock, *, touch: bool
) -> SimpleNamespace:
    """The logged-in user, checked as AppContext._authenticate checks a session, as
    the few fields the services ask of an actor."""
    from types import SimpleNamespace

    from sempi_cli import paths, sessionfile
    from sempi_cli.services.identity import sessions

    token = sessionfile.read_token(paths.session_text(store))
    if token is None:
        raise sessions.not_logged_in()
    user = sessions.session_user(conn, token, clock.now(), touch=touch)
    return SimpleNamespace(
        id=user["id"],
        email=user["email"],
        role=user["role"],
        studio_id=user["studio_id"],
        client_id=user["client_id"],
        via="session",
        must_enrol=sessions.must_enrol(conn, user),
    )


def _run(line: Line, conn: sqlite3.Connection, actor: SimpleNamespace, clock: Clock) -> int:
    if line.command == "status":
        from sempi_cli.services.ops.glance import Glance

        glance = Glance(conn, clock, actor).short()
        if line.fmt == "table":
            text = bare.short_line(glance, bare.utf8_output())
            if text:
                _out(bare.terminal_safe(text, keep="\n\t\r"))
        else:
            _record(line, glance)
        return 0
    from sempi_cli.services.timers.running import RunningTimer

    timer = RunningTimer(conn, clock, actor)
    if line.command == "start":
        assert line.task_id is not None  # parse() requires it
        result = timer.start(line.task_id)
        messages = bare.timer_started(result)
    else:
        result = timer.pause(line.task_id)
        messages = [bare.timer_paused(result)]
    if line.fmt != "table":
        _record(line, result)
    if not line.quiet:
        for message in messages:
            _err(message)
    return 0


def _failed(
    exc: Exception,
    line: Line,
    conn: sqlite3.Connection | None,
    actor: SimpleNamespace | None,
    clock: Clock,
) -> int:
    """The one error boundary's answer (cli/app.py): one line, the exit code, and a
    refused action in the audit log."""
    from sempi_cli.errors import PermissionDenied, SempiError

    exc = bare.store_error(exc)
    if not isinstance(exc, SempiError):
        _err(bare.internal_error(exc))
        return 1
    if isinstance(exc, PermissionDenied) and actor is not None and conn is not None:
        from sempi_cli.clock import iso_utc
        from sempi_cli.services.audit import record_denied

        try:
            command = bare.denied_command(line.words)
            record_denied(conn, iso_utc(clock.now()), actor.id, command, str(exc))
        except Exception:  # the refusal must still be reported if the log is busy
            pass
    _err(bare.error_line(bare.one_line(str(exc))))
    return exc.exit_code


def _record(line: Line, record: dict) -> None:
    """One object on stdout as `--format` asks (cli/common.py's emit_record)."""
    from sempi_cli.output import line_end, render_record

    text = render_record(record, line.fmt)
    # The full CLI guards stdout (cli/terminal.py) unless it carries JSON.
    _out(
        text if line.fmt in ("json", "jsonl") else bare.terminal_safe(text, keep="\n\t\r"),
        line_end(line.fmt),
    )


def _out(text: str, end: str = "\n") -> None:
    if sys.stdout is None:  # started with stdout closed: Click's echo skips it too
        return
    sys.stdout.write(text + end)
    sys.stdout.flush()


def _err(text: str) -> None:
    if sys.stderr is None:
        return
    sys.stderr.write(bare.terminal_safe(text, keep="\n\t\r") + "\n")
    sys.stderr.flush()
