"""The parts of the command line that need no typer: where global options may stand,
what a refused command is called in the audit log, how a store error becomes one,
what the timer commands and `status --short` say, and how output ends.

Both front ends use them: cli/app.py (the full CLI, typer) and cli/fastpath.py
(the hot commands, answered before typer is imported), so the two cannot drift.
Only the standard library at module level; what renders data is imported when
there is data to render.
"""

from __future__ import annotations

import os
import sys

# The root's global options (cli/app.py): flags, and options that take a value.
FLAGS = {"--json", "--excel", "--quiet", "-q", "--yes", "-y", "--no-input", "--debug", "--no-hooks"}
VALUED = {"--db", "--format"}

# The reader of our output went away (`sempi task due | head -1`): stop quietly, as
# a Unix tool killed by SIGPIPE does, with its exit status (128 + SIGPIPE; errors.EXIT_CODES).
OUTPUT_CLOSED = 141


def hoist_global_options(args: list[str]) -> list[str]:
    """Let global options stand anywhere (``sempi client list --json``) by moving
    them before the group name; nothing after ``--`` is touched."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in FLAGS or (name in VALUED and "=" in arg):
            front.append(arg)
        elif arg in VALUED and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def denied_command(args: list[str]) -> str:
    """A refused command as the audit log names it: its first three plain words
    (lower-case letters and hyphens), never its arguments."""

    def plain(word: str) -> bool:
        return "a" <= word[:1] <= "z" and all("a" <= c <= "z" or c == "-" for c in word)

    return " ".join([word for word in args if plain(word)][:3])


def store_error(exc: Exception) -> Exception:
    """SQLite's errors as the SempiError they mean (busy: 9, unusable or damaged: 10);
    any other exception as it is."""
    import sqlite3

    if isinstance(exc, sqlite3.OperationalError):
        from sempi_cli.store.transaction import busy_or_unusable

        return busy_or_unusable(exc)
    if type(exc) is sqlite3.DatabaseError:  # "database disk image is malformed"
        from sempi_cli.errors import StoreUnusable
        from sempi_cli.i18n import gettext

        return StoreUnusable(
            gettext("the store is damaged ({detail})").format(detail=exc),
            gettext("run 'sempi db check', then restore the latest backup"),
        )
    return exc


def exit_code(exc: Exception) -> int:
    """The documented exit status of a failure (errors.py; 1: an internal error)."""
    from sempi_cli.errors import SempiError

    exc = store_error(exc)
    return exc.exit_code if isinstance(exc, SempiError) else 1


def terminal_safe(text: str, keep: str) -> str:
    """output.terminal_safe, importing output (csv, json, re) only for a text that
    holds a control character at all."""
    if text.isprintable():
        return text
    from sempi_cli.output import terminal_safe as escape

    return escape(text, keep=keep)


def error_line(message: str) -> str:
    """``Error: <message>`` in this command's language (``Errore: ...``)."""
    from sempi_cli.i18n import gettext

    return gettext("Error: {message}").format(message=message)


def internal_error(exc: Exception) -> str:
    """The line of a failure that is ours, not the user's: exit 1."""
    from sempi_cli.i18n import gettext

    text = gettext("internal error ({kind}: {detail}). Run again with --debug for details.")
    return error_line(text.format(kind=type(exc).__name__, detail=one_line(str(exc))))


def one_line(message: str) -> str:
    """An error is one line: a line break in the data it quotes (a file name, a title)
    is shown as an escape (\\x0a), as every control character is."""
    return terminal_safe(message, keep="\t")


def output_closed() -> int:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)
    return OUTPUT_CLOSED


def flush_stdout(code: int) -> int:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return output_closed()
    except (OSError, ValueError, AttributeError):  # closed, None, or not a real file
        pass
    return code


# --- what the hot commands say ---------------------------------------------------------


def timer_started(result: dict) -> list[str]:
    """The messages of `timer start` (TimerService.start's result)."""
    from sempi_cli.i18n import gettext

    lines = []
    paused = result["paused"]
    if paused:
        lines.append(timer_paused(paused))
    started = gettext("Timer started on task {task} (entry {entry}).")
    lines.append(started.format(task=result["task_id"], entry=result["id"]))
    return lines


def timer_paused(result: dict) -> str:
    """The message of `timer pause` (TimerService.pause's result)."""
    from sempi_cli.i18n import duration, gettext

    paused = gettext("Paused the timer on task {task} ({elapsed}).")
    return paused.format(task=result["task_id"], elapsed=duration(result["seconds"]))


def utf8_output() -> bool:
    """Whether the person's locale (LC_ALL, else LC_CTYPE, else LANG) is UTF-8 and
    stdout encodes it: then `status --short` may draw its symbols."""
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(name)
        if value:
            break
    else:
        return False
    encoding = getattr(sys.stdout, "encoding", None) or ""
    return "utf8" in value.lower().replace("-", "") and encoding.lower().replace("-", "") == "utf8"


def short_line(glance: dict, utf8: bool) -> str:
    """`sempi status --short`: ``⏱ 0:42 #123 · 3 unread · 2 overdue`` (in ASCII:
    ``timer 0:42 #123 | 3 unread | 2 overdue``); a part with nothing to say is left
    out, and with nothing at all the line is empty."""
    from sempi_cli.i18n import gettext, ngettext
    from sempi_cli.services.timers.running import hours_minutes

    parts = []
    timer = glance["timer"]
    if timer is not None:
        mark = "\u23f1" if utf8 else gettext("timer")
        parts.append(f"{mark} {hours_minutes(timer['elapsed_seconds'])} #{timer['task_id']}")
    if glance["unread"]:
        n = glance["unread"]
        parts.append(ngettext("{n} unread", "{n} unread", n).format(n=n))
    if glance["overdue"]:
        n = glance["overdue"]
        parts.append(ngettext("{n} overdue", "{n} overdue", n).format(n=n))
    return (" \u00b7 " if utf8 else " | ").join(parts)
