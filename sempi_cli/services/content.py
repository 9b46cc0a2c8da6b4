"""The file store that documents and checklist files share: each content once per
SHA-256 in ``attachments``, read back in chunks, dropped when nothing links to it.

Why one module: a file attached to a checklist item and stored as a document is
one blob, so both domains must agree on how a content is read from disk, written,
checked on the way out and let go. It sits under every domain and imports none;
it owns the ``attachments`` table (the links to it stay with their domains:
``item_attachments`` with checklists, ``documents`` with documents).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sempi_cli.errors import StoreUnusable
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.store.sql import listed

MB = 1024 * 1024
CHUNK = MB
# A file up to this size is read once, into memory; a larger one is hashed in a
# first pass and, only if its content is new, streamed into the blob in a second.
WHOLE_READ = 16 * MB
LINK_NOT_FOLLOWED = N_("a link: not followed")  # translated where it is shown


class FileProblem(Exception):
    """A file that cannot be stored: ``kind`` is "too_big" or "unreadable"."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class FileContent:
    """A file read (or hashed) once: its digest, size, and its bytes if small."""

    path: str
    sha256: str
    size: int
    data: bytes | None
    follow_links: bool = True  # how ContentStore opens it again to stream it in


def _open(path: str, follow_links: bool) -> int:
    """A descriptor for ``path``. O_NONBLOCK: a FIFO in a tree must not hang the
    import (no effect on files). Without ``follow_links`` (an import) a link put in
    place of a file after the walk is refused, not read: it could point anywhere."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_links else os.O_NOFOLLOW)
    try:
        return os.open(path, flags)
    except FileNotFoundError:
        raise FileProblem("unreadable", _("no such file (or a link to nothing)")) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise FileProblem("unreadable", _(LINK_NOT_FOLLOWED)) from None
        raise FileProblem("unreadable", exc.strerror or str(exc)) from None


def read_content(path: str, limit: int, *, follow_links: bool = True) -> FileContent:
    """Hash a regular file, refusing one over ``limit`` before reading it. A small file
    comes back with its bytes; a large one only hashed (ContentStore streams it).

    A small file is read with one ``os.read`` of its size plus a byte (to notice
    growth): a buffered read of a fixed large size costs an allocation, page
    faults and a shrink per file, five times the read itself on a backlog.
    """
    fd = _open(path, follow_links)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _("a folder") if stat.S_ISDIR(info.st_mode) else _("not a regular file")
            raise FileProblem("unreadable", kind)
        if info.st_size > limit:
            raise FileProblem("too_big", too_big(info.st_size, limit))
        digest, size = hashlib.sha256(), 0
        if info.st_size <= WHOLE_READ:
            data = _read_exactly(fd, info.st_size + 1)
            if len(data) <= info.st_size:
                sha256 = hashlib.sha256(data).hexdigest()
                return FileContent(path, sha256, len(data), data, follow_links)
            digest.update(data)  # it grew since fstat: hashed only, like a large one
            size = len(data)
        while chunk := os.read(fd, CHUNK):
            size += len(chunk)
            if size > limit:
                raise FileProblem("too_big", too_big(size, limit))
            digest.update(chunk)
        if size > limit:
            raise FileProblem("too_big", too_big(size, limit))
        return FileContent(path, digest.hexdigest(), size, None, follow_links)
    except OSError as exc:
        raise FileProblem("unreadable", exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def _read_exactly(fd: int, wanted: int) -> bytes:
    """``wanted`` bytes of ``fd``, or fewer at the end of the file: a single read may
    return less on a network or FUSE mount, or after a signal."""
    data = os.read(fd, wanted)
    if len(data) == wanted or not data:
        return data
    parts = [data]
    got = len(data)
    while got < wanted and (more := os.read(fd, wanted - got)):
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def too_big(size: int, limit: int) -> str:
    """Why a file of ``size`` bytes is refused, in megabytes as the settings count them."""
    from sempi_cli.i18n import current, number

    megabytes = f"{size / MB:.1f}" if current() == "en" else number(size / MB, 1)
    return _("{size} MB, over the limit of {limit} MB").format(size=megabytes, limit=limit // MB)


class ContentStore:
    """Writes contents into ``attachments`` once per SHA-256, inside the caller's
    transaction. Remembers the digests it has looked up, for a long import.
    Storage is shared by every client; what a client is told (imported or a
    duplicate) depends only on that client's own documents (see doc_import)."""

    def __init__(self, db: sqlite3.Connection, now: str) -> None:
        self.db = db
        self.now = now
        self.known: dict[str, int] = {}

    def store(self, content: FileContent) -> int:
        """The id of the attachment holding ``content``: the one stored, else a new one."""
        if content.sha256 not in self.known:
            row = self.db.execute(
                "SELECT id FROM attachments WHERE sha256 = ?", (content.sha256,)
            ).fetchone()
            if row is not None:
                self.known[content.sha256] = int(row[0])
            elif content.data is not None:
                self.known[content.sha256] = self.db.execute(
                    "INSERT INTO attachments (sha256, size, content, created_at)"
                    " VALUES (?, ?, ?, ?) RETURNING id",
                    (content.sha256, content.size, content.data, self.now),
                ).fetchone()[0]
            else:
                self.known[content.sha256] = self._stream(content)
        return self.known[content.sha256]

    def _stream(self, content: FileContent) -> int:
        """The second pass of a large file, straight into the blob; a file that changed
        since it was hashed leaves nothing behind."""
        from sempi_cli.store import write_transaction

        try:
            fd = _open(content.path, content.follow_links)
            with os.fdopen(fd, "rb", buffering=0) as fh, write_transaction(self.db):
                rowid = self.db.execute(
                    "INSERT INTO attachments (sha256, size, content, created_at)"
                    " VALUES (?, ?, zeroblob(?), ?) RETURNING id",
                    (content.sha256, content.size, content.size, self.now),
                ).fetchone()[0]
                digest, written = hashlib.sha256(), 0
                with self.db.blobopen("attachments", "content", rowid) as blob:
                    while written < content.size and (
                        chunk := fh.read(min(CHUNK, content.size - written))
                    ):
                        blob.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
                if written != content.size or digest.hexdigest() != content.sha256 or fh.read(1):
                    raise FileProblem("unreadable", _("it changed while it was being read"))
        except OSError as exc:
            raise FileProblem("unreadable", exc.strerror or str(exc)) from None
        return rowid


def store_bytes(db: sqlite3.Connection, data: bytes, sha256: str, at: str) -> int:
    """The id of the attachment holding ``data`` (whose digest the caller computed
    before taking the write lock): the one stored, else a new one. Inside the
    caller's transaction; the UNIQUE sha256 decides, never a read."""
    db.execute(
        "INSERT INTO attachments (sha256, size, content, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (sha256) DO NOTHING",
        (sha256, len(data), data, at),
    )
    return int(db.execute("SELECT id FROM attachments WHERE sha256 = ?", (sha256,)).fetchone()[0])


def read_chunks(
    db: sqlite3.Connection, attachment_id: int, sha256: str, what: str
) -> Iterator[bytes]:
    """A content in chunks straight from the blob (a large one is never held in
    memory whole); its digest is checked at the end, and a mismatch names ``what``
    (e.g. "document 7") as the store's damage it is."""
    digest = hashlib.sha256()
    with db.blobopen("attachments", "content", attachment_id, readonly=True) as blob:
        while chunk := blob.read(CHUNK):
            digest.update(chunk)
            yield chunk
    if digest.hexdigest() != sha256:
        raise StoreUnusable(
            _("the content of {what} does not match its SHA-256").format(what=what),
            _("run 'sempi db check' and restore from a backup"),
        )


def drop_unlinked(db: sqlite3.Connection, attachment_ids: Iterable[int]) -> None:
    """Delete those contents no checklist item and no document links to any more
    (a document's content is kept for good: documents are only marked removed).
    Inside the caller's transaction."""
    db.execute(
        f"DELETE FROM attachments WHERE id IN ({listed(db, '?')})"
        " AND NOT EXISTS (SELECT 1 FROM item_attachments ia WHERE ia.attachment_id = attachments.id)"
        " AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.attachment_id = attachments.id)",
        (json.dumps(list(attachment_ids)),),
    )
