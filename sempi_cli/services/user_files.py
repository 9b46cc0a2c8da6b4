"""Reading a file a person named (a task import, a mapping file, a checklist
attachment): every way it can fail becomes one line naming the file and the
option it came from (exit 6), never a traceback.

Shared by several domains, so it imports none of them. (Contents kept in the
store are services/content.py's.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sempi_cli.errors import InvalidData, SempiError

MISSING = "no file {path}"


@contextmanager
def _as_invalid_data(path: str, field: str, missing: str, folder: str | None) -> Iterator[None]:
    """``missing`` and ``folder`` are templates with ``{path}``; without ``folder`` a
    folder is reported like any other file that cannot be read."""
    try:
        yield
    except FileNotFoundError:
        raise InvalidData(field, missing.format(path=path)) from None
    except IsADirectoryError as exc:
        problem = folder.format(path=path) if folder else f"cannot read {path}: {exc.strerror}"
        raise InvalidData(field, problem) from None
    except OSError as exc:  # PermissionError included
        raise InvalidData(field, f"cannot read {path}: {exc.strerror}") from None


def read_user_file(
    path: str,
    field: str,
    *,
    limit: int | None = None,
    too_big: Callable[[int], SempiError] | None = None,
    missing: str = MISSING,
    folder: str | None = None,
) -> bytes:
    """A file's bytes. Over ``limit`` bytes, ``too_big(size)`` is raised before the
    file is read in full (and again if it grew past the limit while being read)."""
    if limit is not None and too_big is None:
        raise ValueError("a limit needs its too_big error")
    with _as_invalid_data(path, field, missing, folder), open(path, "rb") as fh:
        if limit is None or too_big is None:
            return fh.read()
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise too_big(size)
        content = fh.read(limit + 1)  # the file may have grown since fstat
    if len(content) > limit:
        raise too_big(len(content))
    return content


def read_user_text(
    path: str,
    field: str,
    *,
    encoding: str = "utf-8",
    newline: str | None = None,
    missing: str = MISSING,
    folder: str | None = None,
) -> str:
    """A text file, whole; ``encoding`` is a UTF-8 one (utf-8, or utf-8-sig to drop a
    BOM), ``newline`` as for ``open``."""
    with _as_invalid_data(path, field, missing, folder):
        try:
            with open(path, encoding=encoding, newline=newline) as fh:
                return fh.read()
        except UnicodeDecodeError:
            raise InvalidData(field, f"{path} is not UTF-8 text") from None
