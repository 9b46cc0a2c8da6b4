"""Client documents: a name in a client's folder, its content stored in the store.

Contents live in ``attachments``, one row per distinct SHA-256, shared with
checklist files: a file attached to a checklist item and stored as a document
is one blob. A document is never deleted, only marked removed (who, when, from
which folder), so its content stays. File names are kept as given (NFC), case
and all: "Fattura.pdf" and "fattura.pdf" are two documents. Who may do what:
see doc_folders.py. Personal data stays out of the audit log: it records
document ids and counts, never file names.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from sempi_cli.errors import (
    Conflict,
    InvalidData,
    NotFound,
    PermissionDenied,
    RuleViolation,
    StoreUnusable,
)
from sempi_cli.services import access, settings
from sempi_cli.services.doc_folders import FolderService, Tree, load_tree, may_add

MB = 1024 * 1024
CHUNK = MB
# A file up to this size is read once, into memory; a larger one is hashed in a
# first pass and, only if its content is new, streamed into the blob in a second.
WHOLE_READ = 16 * MB
LIST_COLUMNS = ("id", "folder", "name", "size", "added_at", "added_by")


def limit_bytes(db: sqlite3.Connection) -> int:
    return int(settings.get(db, "documents.max_file_mb")) * MB


def clean_document_name(name: str, field: str = "FILES") -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise InvalidData(field, f"{name!r} is not a file name")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidData(
            field, f"{name.encode('utf-8', 'replace')!r} is not valid UTF-8"
        ) from None
    return name


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


def read_content(path: str, limit: int) -> FileContent:
    """Hash a regular file, refusing one over ``limit`` before reading it. A small file
    comes back with its bytes; a large one only hashed (ContentStore streams it).

    A small file is read with one ``os.read`` of its size plus a byte (to notice
    growth): a buffered read of a fixed large size costs an allocation, page
    faults and a shrink per file, five times the read itself on a backlog.
    """
    try:
        # O_NONBLOCK: a FIFO in a tree must not hang the import; no effect on files.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise FileProblem("unreadable", "no such file (or a link to nothing)") from None
    except OSError as exc:
        raise FileProblem("unreadable", exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise FileProblem("unreadable", kind)
        if info.st_size > limit:
            raise FileProblem("too_big", _too_big(info.st_size, limit))
        digest, size = hashlib.sha256(), 0
        if info.st_size <= WHOLE_READ:
            data = _read_exactly(fd, info.st_size + 1)
            if len(data) <= info.st_size:
                return FileContent(path, hashlib.sha256(data).hexdigest(), len(data), data)
            digest.update(data)  # it grew since fstat: hashed only, like a large one
            size = len(data)
        while chunk := os.read(fd, CHUNK):
            size += len(chunk)
            if size > limit:
                raise FileProblem("too_big", _too_big(size, limit))
            digest.update(chunk)
        if size > limit:
            raise FileProblem("too_big", _too_big(size, limit))
        return FileContent(path, digest.hexdigest(), size, None)
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


def _too_big(size: int, limit: int) -> str:
    return f"{size / MB:.1f} MB, over the limit of {limit // MB} MB"


class ContentStore:
    """Writes contents into ``attachments`` once per SHA-256, inside the caller's
    transaction. Remembers the digests it has looked up, for a long import."""

    def __init__(self, db: sqlite3.Connection, now: str, limit: int) -> None:
        self.db = db
        self.now = now
        self.limit = limit
        self.known: dict[str, int] = {}

    def existing(self, sha256: str) -> int | None:
        if sha256 in self.known:
            return self.known[sha256]
        row = self.db.execute("SELECT id FROM attachments WHERE sha256 = ?", (sha256,)).fetchone()
        if row is not None:
            self.known[sha256] = row[0]
            return int(row[0])
        return None

    def store(self, content: FileContent) -> tuple[int, bool]:
        """(attachment id, whether the content was new)."""
        found = self.existing(content.sha256)
        if found is not None:
            return found, False
        if content.data is not None:
            cursor = self.db.execute(
                "INSERT INTO attachments (sha256, size, content, created_at) VALUES (?, ?, ?, ?)",
                (content.sha256, content.size, content.data, self.now),
            )
            attachment_id = int(cursor.lastrowid)  # type: ignore[arg-type]
        else:
            attachment_id = self._stream(content)
        self.known[content.sha256] = attachment_id
        return attachment_id, True

    def _stream(self, content: FileContent) -> int:
        """The second pass of a large file, straight into the blob; a file that changed
        since it was hashed leaves nothing behind."""
        from sempi_cli.store import write_transaction

        try:
            with write_transaction(self.db), open(content.path, "rb", buffering=0) as fh:
                cursor = self.db.execute(
                    "INSERT INTO attachments (sha256, size, content, created_at)"
                    " VALUES (?, ?, zeroblob(?), ?)",
                    (content.sha256, content.size, content.size, self.now),
                )
                rowid = int(cursor.lastrowid)  # type: ignore[arg-type]
                digest, written = hashlib.sha256(), 0
                with self.db.blobopen("attachments", "content", rowid) as blob:
                    while written < content.size and (
                        chunk := fh.read(min(CHUNK, content.size - written))
                    ):
                        blob.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
                if written != content.size or digest.hexdigest() != content.sha256 or fh.read(1):
                    raise FileProblem("unreadable", "it changed while it was being read")
        except OSError as exc:
            raise FileProblem("unreadable", exc.strerror or str(exc)) from None
        return rowid


class DocumentService(FolderService):
    # --- finding documents --------------------------------------------------------------

    def _row(self, document_id: int) -> sqlite3.Row:
        """A document the actor may see, removed or not; else NotFound."""
        where, params = access.visible_clients(self.actor)
        row = self.db.execute(
            "SELECT d.* FROM documents d JOIN clients c ON c.id = d.client_id"
            f" WHERE d.id = :id AND {where}",
            {**params, "id": document_id},
        ).fetchone()
        if row is None:
            raise NotFound(f"document {document_id} not found")
        return row

    @staticmethod
    def _live(row: sqlite3.Row) -> None:
        if row["removed_at"] is not None:
            raise RuleViolation(f"document {row['id']} was removed on {row['removed_at']}")

    def _detail(self, row: sqlite3.Row, tree: Tree | None = None) -> dict:
        tree = tree or load_tree(self.db, row["client_id"])
        added_by = self.db.execute("SELECT email FROM users WHERE id = ?", (row["added_by"],))
        return {
            "id": row["id"],
            "client_id": row["client_id"],
            "folder_id": row["folder_id"],
            "folder": tree.path(row["folder_id"]) if row["folder_id"] else row["removed_from"],
            "name": row["name"],
            "size": row["size"],
            "sha256": row["sha256"],
            "added_by": added_by.fetchone()[0],
            "added_at": row["added_at"],
            "removed_at": row["removed_at"],
        }

    # --- adding --------------------------------------------------------------------------

    def add(
        self, client_id: int, folder: str, paths: list[str], *, replace: bool = False
    ) -> list[dict]:
        """Store files in a folder, all or nothing. A name already in the folder is a
        conflict unless ``replace``: then the old document is removed (kept as removed)
        and the new one takes its place; the same content under the same name is left
        as it is."""
        if not paths:
            raise InvalidData("FILES", "give at least one file")
        names: dict[str, str] = {}
        limit = limit_bytes(self.db)
        for path in paths:  # every check that needs no lock, before taking it
            name = clean_document_name(os.path.basename(path.rstrip("/")) or path)
            if name in names:
                raise InvalidData("FILES", f"{names[name]} and {path} have the same name {name!r}")
            names[name] = path
            _check_file(path, limit)
        results = []
        with self.transaction():
            client = access.client_row(self.db, self.actor, client_id)
            if not may_add(self.db, self.actor, client):
                raise PermissionDenied(f"you may not add documents to client {client_id}")
            self.refuse_removed(client)
            tree = load_tree(self.db, client_id)
            folder_id = self.resolve(tree, folder)
            store = ContentStore(self.db, self.now(), limit)
            for name, path in names.items():
                try:
                    content = read_content(path, limit)
                except FileProblem as problem:
                    raise _as_error(path, problem) from None
                old = self.db.execute(
                    "SELECT id, sha256 FROM documents WHERE folder_id = ? AND name = ?"
                    " AND removed_at IS NULL",
                    (folder_id, name),
                ).fetchone()
                if old is not None and not replace:
                    raise Conflict(
                        f"folder {tree.path(folder_id)!r} already has a document named {name!r}"
                        f" (document {old['id']})",
                        "add --replace to put the new one in its place",
                    )
                if old is not None and old["sha256"] == content.sha256:
                    results.append(
                        {**self._detail(self._row(old["id"]), tree), "action": "unchanged"}
                    )
                    continue
                try:
                    attachment_id, _ = store.store(content)
                except FileProblem as problem:
                    raise _as_error(path, problem) from None
                if old is not None:
                    self._mark_removed(old["id"], tree.path(folder_id))
                cursor = self.db.execute(
                    "INSERT INTO documents (client_id, folder_id, name, attachment_id, size, sha256,"
                    " added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (client_id, folder_id, name, attachment_id, content.size, content.sha256,
                     self.actor.id, self.now()),
                )  # fmt: skip
                document_id = int(cursor.lastrowid)  # type: ignore[arg-type]
                self.audit(
                    "add", "document", document_id, client_id=client_id, folder_id=folder_id,
                    replaces=old["id"] if old else None,
                )  # fmt: skip
                action = "replaced" if old is not None else "added"
                results.append({**self._detail(self._row(document_id), tree), "action": action})
        return results

    # --- reading -------------------------------------------------------------------------

    def list(
        self,
        client_id: int,
        *,
        folder: str | None = None,
        recursive: bool = False,
        removed: bool = False,
    ) -> list[dict]:
        """A client's documents: all of them, or one folder's (with ``recursive``, and
        its sub-folders'), by folder path then name."""
        self.readable_client(client_id)
        tree = load_tree(self.db, client_id)
        sql = (
            "SELECT d.*, u.email AS added_by_email FROM documents d JOIN users u ON u.id = d.added_by"
            " WHERE d.client_id = ?"
        )
        params: list[object] = [client_id]
        if folder is not None:
            folder_id = self.resolve(tree, folder)
            ids = tree.subtree(folder_id) if recursive else [folder_id]
            sql += f" AND d.folder_id IN ({', '.join('?' * len(ids))})"
            params.extend(ids)
        if not removed:
            sql += " AND d.removed_at IS NULL"
        rows = []
        for row in self.db.execute(sql, params):
            path = tree.path(row["folder_id"]) if row["folder_id"] else row["removed_from"]
            rows.append(
                {
                    "id": row["id"],
                    "folder_id": row["folder_id"],
                    "folder": path,
                    "name": row["name"],
                    "size": row["size"],
                    "sha256": row["sha256"],
                    "added_at": row["added_at"],
                    "added_by": row["added_by_email"],
                    "removed_at": row["removed_at"],
                }
            )
        rows.sort(key=lambda r: ([p.casefold() for p in (r["folder"] or "").split("/")],
                                 r["name"].casefold(), r["id"]))  # fmt: skip
        return rows

    def show(self, document_id: int) -> dict:
        return self._detail(self._row(document_id))

    def content(self, document_id: int) -> tuple[dict, Iterator[bytes]]:
        """A live document and its bytes, in chunks straight from the blob (a large
        document is never held in memory whole); the digest is checked at the end."""
        row = self._row(document_id)
        self._live(row)
        detail = self._detail(row)
        return detail, self._chunks(row["attachment_id"], row["sha256"], document_id)

    def _chunks(self, attachment_id: int, sha256: str, document_id: int) -> Iterator[bytes]:
        digest = hashlib.sha256()
        with self.db.blobopen("attachments", "content", attachment_id, readonly=True) as blob:
            while chunk := blob.read(CHUNK):
                digest.update(chunk)
                yield chunk
        if digest.hexdigest() != sha256:
            raise StoreUnusable(
                f"the content of document {document_id} does not match its SHA-256",
                "run 'sempi db check' and restore from a backup",
            )

    # --- changing ------------------------------------------------------------------------

    def move(self, document_id: int, folder: str) -> dict:
        with self.transaction():
            row = self._row(document_id)
            self._live(row)
            self.organisable_client(row["client_id"])
            tree = load_tree(self.db, row["client_id"])
            target = self.resolve(tree, folder)
            if target != row["folder_id"]:
                taken = self.db.execute(
                    "SELECT id FROM documents WHERE folder_id = ? AND name = ? AND removed_at IS NULL",
                    (target, row["name"]),
                ).fetchone()
                if taken is not None:
                    raise Conflict(
                        f"folder {tree.path(target)!r} already has a document named"
                        f" {row['name']!r} (document {taken[0]})"
                    )
                self.db.execute(
                    "UPDATE documents SET folder_id = ? WHERE id = ?", (target, document_id)
                )
                self.audit("move", "document", document_id, old=row["folder_id"], new=target)
            moved = self._row(document_id)
        return {**self._detail(moved, tree), "from": tree.path(row["folder_id"])}

    def remove(self, document_id: int) -> dict:
        """Mark a document removed: it leaves its folder's listing; its content stays."""
        with self.transaction():
            row = self._row(document_id)
            self._live(row)
            self.organisable_client(row["client_id"])
            tree = load_tree(self.db, row["client_id"])
            self._mark_removed(document_id, tree.path(row["folder_id"]))
            self.audit("remove", "document", document_id, client_id=row["client_id"])
            return self._detail(self._row(document_id), tree)

    def _mark_removed(self, document_id: int, folder_path: str) -> None:
        self.db.execute(
            "UPDATE documents SET removed_at = ?, removed_by = ?, removed_from = ? WHERE id = ?",
            (self.now(), self.actor.id, folder_path, document_id),
        )


def _check_file(path: str, limit: int) -> None:
    """The checks of one file that read nothing: it exists, is a file, fits the limit."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InvalidData("FILES", f"no file {path}") from None
    except OSError as exc:
        raise InvalidData("FILES", f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidData(
            "FILES",
            f"{path} is a folder, not a file",
            "import a whole tree with 'sempi doc import'",
        )
    if not stat.S_ISREG(info.st_mode):
        raise InvalidData("FILES", f"{path} is not a regular file")
    if info.st_size > limit:
        raise _as_error(path, FileProblem("too_big", _too_big(info.st_size, limit)))


def _as_error(path: str, problem: FileProblem) -> Exception:
    if problem.kind == "too_big":
        return RuleViolation(
            f"{path} is {problem.reason}",
            "a firm administrator can change it: sempi config set documents.max_file_mb N",
        )
    return InvalidData("FILES", f"cannot read {path}: {problem.reason}")
