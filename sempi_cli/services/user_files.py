"""Reading a file a person named (a task import, a mapping file, a checklist
attachment): every way it can fail becomes one line naming the file and the
option it came from (exit 6), never a traceback.

Shared by several domains, so it imports none of them. (Contents kept in the
store are services/content.py's.)
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from sempi_cli.errors import InvalidData, SempiError
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _

MISSING = N_("no file {path}")


@contextmanager
def _as_invalid_data(path: str, field: str, missing: str, folder: str | None) -> Iterator[None]:
    """``missing`` and ``folder`` are templates with ``{path}`` (marked with N_, or
    translated already); without ``folder`` a folder is reported like any other file
    that cannot be read."""
    try:
        yield
    except FileNotFoundError:
        raise InvalidData(field, _(missing).format(path=path)) from None
    except IsADirectoryError as exc:
        if folder:
            problem = _(folder).format(path=path)
        else:
            problem = _("cannot read {path}: {reason}").format(path=path, reason=exc.strerror)
        raise InvalidData(field, problem) from None
    except OSError as exc:  # PermissionError included
        raise InvalidData(
            field, _("cannot read {path}: {reason}").format(path=path, reason=exc.strerror)
        ) from None


def _open_regular(path: str, field: str) -> int:
    """A descriptor on ``path`` if it is a regular file. Opened without blocking, so
    a FIFO cannot hang the command before it is refused; /dev/zero and other devices
    are refused before a byte is read (they never end)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):  # opening a folder read-only succeeds on Linux
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            raise InvalidData(
                field,
                _("{path} is not a regular file (a pipe, a device or a socket)").format(path=path),
            )
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_user_file(
    path: str,
    field: str,
    *,
    limit: int,
    too_big: Callable[[int], SempiError],
    missing: str = MISSING,
    folder: str | None = None,
) -> bytes:
    """A file's bytes. Over ``limit`` bytes, ``too_big(size)`` is raised before the
    file is read in full (and again if it grew past the limit while being read)."""
    with _as_invalid_data(path, field, missing, folder):
        fd = _open_regular(path, field)
        with open(fd, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise too_big(size)
            content = fh.read(limit + 1)  # the file may have grown since fstat
    if len(content) > limit:
        raise too_big(len(content))
    return content


# A text file a person gives a command (a task import, a folder mapping): far more
# than any real one, far less than what would exhaust the machine's memory.
MAX_TEXT_BYTES = 256 * 1024 * 1024


def read_user_text(
    path: str,
    field: str,
    *,
    encoding: str = "utf-8",
    newline: str | None = None,
    missing: str = MISSING,
    folder: str | None = None,
    limit: int = MAX_TEXT_BYTES,
) -> str:
    """A text file, whole; ``encoding`` is a UTF-8 one (utf-8, or utf-8-sig to drop a
    BOM), ``newline`` as for ``open``."""
    data = read_user_file(
        path, field, limit=limit, too_big=lambda size: _too_big(field, path, size, limit),
        missing=missing, folder=folder,
    )  # fmt: skip
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise InvalidData(field, _("{path} is not UTF-8 text").format(path=path)) from None
    if newline is None:  # universal newlines, as open() would read them
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_user_stream(stream: BinaryIO, field: str, *, limit: int = MAX_TEXT_BYTES) -> str:
    """Standard input given as ``-``: the same cap and the same UTF-8 rule as a file."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _too_big(field, _("standard input"), len(data), limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidData(field, _("standard input is not UTF-8 text")) from None


def _too_big(field: str, what: str, size: int, limit: int) -> InvalidData:
    """``what``: a path, or the words "standard input" (translated)."""
    if size > limit:
        problem = _("{what} is over {limit} MB, too large to read")
    else:
        problem = _("{what} is at {limit} MB, too large to read")
    return InvalidData(field, problem.format(what=what, limit=limit // (1024 * 1024)))
