"""The last guard between the store's text and a terminal.

Tables and records are rendered terminal-safe (output.terminal_safe); this puts
the same rule on the streams themselves, so a text view, a message or an error
that quotes data (a task title, a file name) cannot send an escape sequence
either, whichever path printed it. JSON on stdout is left alone: it is already
inert (output.py escapes what JSON allows raw), and it must stay exact.
Bytes written to ``.buffer`` (a document on stdout) pass untouched.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO


class _SafeStream:
    """A text stream that shows control characters instead of sending them; tabs,
    line ends and the carriage return of a progress line pass."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        from sempi_cli.output import terminal_safe

        self._inner.write(terminal_safe(text, keep="\n\t\r"))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def guard_streams(fmt: str) -> Callable[[], None]:
    """Guard stderr always and stdout unless it carries JSON; returns the undo."""
    saved = sys.stdout, sys.stderr
    # A stream closed when sempi started is None: Click's echo skips it, so must we.
    if sys.stderr is not None and not isinstance(sys.stderr, _SafeStream):
        sys.stderr = _SafeStream(sys.stderr)  # type: ignore[assignment]
    if (
        fmt not in ("json", "jsonl")
        and sys.stdout is not None
        and not isinstance(sys.stdout, _SafeStream)
    ):
        sys.stdout = _SafeStream(sys.stdout)  # type: ignore[assignment]

    def undo() -> None:
        sys.stdout, sys.stderr = saved

    return undo


def write_styled(text: str) -> None:
    """Write *text* past the guard, to the stream it guards: for text already made
    terminal-safe whose only control sequences are our own styles (the bold of a
    search hit), which the guard would show as characters."""
    stream: Any = sys.stdout
    inner = stream._inner if isinstance(stream, _SafeStream) else stream
    inner.write(text)
    inner.flush()
