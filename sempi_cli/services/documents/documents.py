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

import errno
import hashlib
import json
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
from sempi_cli.services import access
from sempi_cli.services.documents.folders import (
    FolderService,
    Tree,
    load_tree,
    may_add,
    may_organise,
    refuse_unstorable,
)
from sempi_cli.services.org import settings

MB = 1024 * 1024
CHUNK = MB
# A file up to this size is read once, into memory; a larger one is hashed in a
# first pass and, only if its content is new, streamed into the blob in a second.
WHOLE_READ = 16 * MB
LINK_NOT_FOLLOWED = "a link: not followed"


def limit_bytes(db: sqlite3.Connection) -> int:
    return int(settings.get(db, "documents.max_file_mb")) * MB


def clean_document_name(name: str, field: str = "FILES") -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name or name in (".", "..") or "/" in name:
        raise InvalidData(field, f"{name!r} is not a file name")
    refuse_unstorable(name, field)
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
    follow_links: bool = True  # how ContentStore opens it again to stream it in


def _open(path: str, follow_links: bool) -> int:
    """A descriptor for ``path``. O_NONBLOCK: a FIFO in a tree must not hang the
    import (no effect on files). Without ``follow_links`` (an import) a link put in
    place of a file after the walk is refused, not read: it could point anywhere."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_links else os.O_NOFOLLOW)
    try:
        return os.open(path, flags)
    except FileNotFoundError:
        raise FileProblem("unreadable", "no such file (or a link to nothing)") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise FileProblem("unreadable", LINK_NOT_FOLLOWED) from None
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
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise FileProblem("unreadable", kind)
        if info.st_size > limit:
            raise FileProblem("too_big", _too_big(info.st_size, limit))
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
                raise FileProblem("too_big", _too_big(size, limit))
            digest.update(chunk)
        if size > limit:
            raise FileProblem("too_big", _too_big(size, limit))
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


def _too_big(size: int, limit: int) -> str:
    return f"{size / MB:.1f} MB, over the limit of {limit // MB} MB"


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
                cursor = self.db.execute(
                    "INSERT INTO attachments (sha256, size, content, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (content.sha256, content.size, content.data, self.now),
                )
                self.known[content.sha256] = int(cursor.lastrowid)  # type: ignore[arg-type]
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

    def _select(self, where: str, params: dict) -> list[sqlite3.Row]:
        """Documents of clients the actor sees. The adder's e-mail comes only where the
        actor may see that user (the user directory's rule, access.visible_users):
        a document must not reveal a person ``user show`` calls not found."""
        clients, client_params = access.visible_clients(self.actor, "c")
        users, user_params = access.visible_users(self.actor, "u")
        return self.db.execute(
            f"SELECT d.*, CASE WHEN {users} THEN u.email END AS added_by_email"
            " FROM documents d JOIN clients c ON c.id = d.client_id"
            f" JOIN users u ON u.id = d.added_by WHERE {clients} AND {where}",
            {**client_params, **user_params, **params},
        ).fetchall()

    def _row(self, document_id: int) -> sqlite3.Row:
        """A document the actor may see, removed or not; else NotFound."""
        rows = self._select("d.id = :id", {"id": document_id})
        if not rows:
            raise NotFound(f"document {document_id} not found")
        return rows[0]

    @staticmethod
    def _live(row: sqlite3.Row) -> None:
        if row["removed_at"] is not None:
            raise RuleViolation(f"document {row['id']} was removed on {row['removed_at']}")

    def _detail(self, row: sqlite3.Row, tree: Tree | None = None) -> dict:
        """The one record of a document, for every command and the GDPR export."""
        tree = tree or load_tree(self.db, row["client_id"])
        return {
            "id": row["id"],
            "client_id": row["client_id"],
            "folder_id": row["folder_id"],
            "folder": tree.path(row["folder_id"]) if row["folder_id"] else row["removed_from"],
            "name": row["name"],
            "size": row["size"],
            "sha256": row["sha256"],
            "added_by": row["added_by_email"],  # None: a user the actor may not see
            "added_at": row["added_at"],
            "removed_at": row["removed_at"],
            "source": row["source"],  # the file's path in an imported tree; None for add
        }

    # --- adding --------------------------------------------------------------------------

    def add(
        self, client_id: int, folder: str, paths: list[str], *, replace: bool = False
    ) -> list[dict]:
        """Store files in a folder, all or nothing. A name already in the folder is a
        conflict unless ``replace``: then the old document is removed (kept as removed)
        and the new one takes its place, for those who may remove documents; the same
        content under the same name is left as it is."""
        limit = limit_bytes(self.db)
        names = _check_paths(paths, limit)
        with self.transaction():
            client = access.client_row(self.db, self.actor, client_id)
            if not may_add(self.db, self.actor, client):
                raise PermissionDenied(f"you may not add documents to client {client_id}")
            self.refuse_removed(client)
            # Replacing removes the old document: it takes the right to remove (doc
            # remove's); an external user may add, not replace.
            may_replace = may_organise(self.db, self.actor, client)
            tree = load_tree(self.db, client_id)
            folder_id = self.resolve(tree, folder)
            store = ContentStore(self.db, self.now())
            return [
                self._add_one(tree, folder_id, name, path, store, limit, replace, may_replace)
                for name, path in names.items()
            ]

    def _add_one(
        self, tree: Tree, folder_id: int, name: str, path: str, store: ContentStore, limit: int,
        replace: bool, may_replace: bool,
    ) -> dict:  # fmt: skip
        """One file of ``add``: added, replaced, or unchanged (same name, same content)."""
        try:
            content = read_content(path, limit)
            old = self._taken(tree, folder_id, name, replace=replace)
            if old is not None and old["sha256"] == content.sha256:
                return {**self._detail(self._row(old["id"]), tree), "action": "unchanged"}
            if old is not None and not may_replace:
                raise PermissionDenied(
                    f"you may not replace document {old['id']}: replacing removes it",
                    "add the file under another name",
                )
            attachment_id = store.store(content)
        except FileProblem as problem:
            raise _as_error(path, problem) from None
        if old is not None:
            self._mark_removed(old["id"], tree.path(folder_id))
        cursor = self.db.execute(
            "INSERT INTO documents (client_id, folder_id, name, attachment_id, size, sha256,"
            " added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (tree.client_id, folder_id, name, attachment_id, content.size, content.sha256,
             self.actor.id, self.now()),
        )  # fmt: skip
        document_id = int(cursor.lastrowid)  # type: ignore[arg-type]
        self.audit(
            "add", "document", document_id, client_id=tree.client_id, folder_id=folder_id,
            replaces=old["id"] if old else None,
        )  # fmt: skip
        action = "replaced" if old is not None else "added"
        return {**self._detail(self._row(document_id), tree), "action": action}

    def _taken(self, tree: Tree, folder_id: int, name: str, *, replace: bool) -> sqlite3.Row | None:
        """The live document of that name in the folder, if any, when ``replace``;
        a conflict without it."""
        old = self.db.execute(
            "SELECT id, sha256 FROM documents WHERE folder_id = ? AND name = ?"
            " AND removed_at IS NULL",
            (folder_id, name),
        ).fetchone()
        if old is None:
            return None
        if not replace:
            raise Conflict(
                f"folder {tree.path(folder_id)!r} already has a document named {name!r}"
                f" (document {old['id']})",
                "add --replace to put the new one in its place",
            )
        return old

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
        where, params = "d.client_id = :client", {"client": client_id}
        if folder is not None:
            folder_id = self.resolve(tree, folder)
            ids = tree.subtree(folder_id) if recursive else [folder_id]
            where += " AND d.folder_id IN (SELECT value FROM json_each(:folders))"
            params["folders"] = json.dumps(ids)
        if not removed:
            where += " AND d.removed_at IS NULL"
        rows = [self._detail(row, tree) for row in self._select(where, params)]
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


def _check_paths(paths: list[str], limit: int) -> dict[str, str]:
    """Every check of ``doc add``'s files that needs no lock, before taking it:
    their names, each to its path."""
    if not paths:
        raise InvalidData("FILES", "give at least one file")
    names: dict[str, str] = {}
    for path in paths:
        name = clean_document_name(os.path.basename(path.rstrip("/")) or path)
        if name in names:
            raise InvalidData("FILES", f"{names[name]} and {path} have the same name {name!r}")
        names[name] = path
        _check_file(path, limit)
    return names


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
