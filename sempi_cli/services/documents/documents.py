"""Client documents: a name in a client's folder, its content stored in the store.

Contents live in the file store shared with checklist files (services/content.py):
a file attached to a checklist item and stored as a document is one blob. A
document is never deleted, only marked removed (who, when, from which folder),
so its content stays. File names are kept as given (NFC), case
and all: "Fattura.pdf" and "fattura.pdf" are two documents. Who may do what:
see doc_folders.py. Personal data stays out of the audit log: it records
document ids and counts, never file names.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import unicodedata
from collections.abc import Iterator

from sempi_cli.clock import Clock
from sempi_cli.errors import (
    Conflict,
    InvalidData,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, event_log, settings
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.content import (
    MB,
    ContentStore,
    FileProblem,
    read_chunks,
    read_content,
    too_big,
)
from sempi_cli.services.documents.folders import (
    FolderAccess,
    Tree,
    load_tree,
    may_add,
    may_organise,
    refuse_unstorable,
)
from sempi_cli.services.documents.receipts import first_read
from sempi_cli.store.sql import listed


def limit_bytes(db: sqlite3.Connection) -> int:
    return int(settings.get(db, "documents.max_file_mb")) * MB


def clean_document_name(name: str, field: str = "FILES") -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name or name in (".", "..") or "/" in name:
        raise InvalidData(field, _("{name} is not a file name").format(name=repr(name)))
    refuse_unstorable(name, field)
    return name


class DocumentService(Service):
    """Documents; a client's access checks and its folders are the FolderAccess it
    holds (composed, not inherited: documents have their own add, list and remove)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor | None = None) -> None:
        super().__init__(db, clock, actor)
        self.folders = FolderAccess(db, clock, actor)

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
            raise NotFound(_("document {document} not found").format(document=document_id))
        return rows[0]

    @staticmethod
    def _live(row: sqlite3.Row) -> None:
        if row["removed_at"] is not None:
            raise RuleViolation(
                _("document {document} was removed on {at}").format(
                    document=row["id"], at=_when(row["removed_at"])
                )
            )

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
                raise PermissionDenied(
                    _("you may not add documents to client {client}").format(client=client_id)
                )
            self.folders.refuse_removed(client)
            # Replacing removes the old document: it takes the right to remove (doc
            # remove's); an external user may add, not replace.
            may_replace = may_organise(self.db, self.actor, client)
            tree = load_tree(self.db, client_id)
            folder_id = self.folders.resolve(tree, folder)
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
                    _("you may not replace document {document}: replacing removes it").format(
                        document=old["id"]
                    ),
                    _("add the file under another name"),
                )
            attachment_id = store.store(content)
        except FileProblem as problem:
            raise _as_error(path, problem) from None
        if old is not None:
            self._mark_removed(old["id"], tree.path(folder_id))
        document_id = self.db.execute(
            "INSERT INTO documents (client_id, folder_id, name, attachment_id, size, sha256,"
            " added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (tree.client_id, folder_id, name, attachment_id, content.size, content.sha256,
             self.actor.id, self.now()),
        ).fetchone()[0]  # fmt: skip
        self.audit(
            "add", "document", document_id, client_id=tree.client_id, folder_id=folder_id,
            replaces=old["id"] if old else None,
        )  # fmt: skip
        event_log.record(
            self.db, self.clock, self.actor, "document.added", document_id, tree.client_id,
            data=added_data(name, tree.path(folder_id), content.size, content.sha256,
                            old["id"] if old else None),
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
                _(
                    "folder {folder} already has a document named {name} (document {document})"
                ).format(folder=repr(tree.path(folder_id)), name=repr(name), document=old["id"]),
                _("add --replace to put the new one in its place"),
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
        self.folders.readable_client(client_id)
        tree = load_tree(self.db, client_id)
        where = "d.client_id = :client"
        params: dict[str, int | str] = {"client": client_id}
        if folder is not None:
            folder_id = self.folders.resolve(tree, folder)
            ids = tree.subtree(folder_id) if recursive else [folder_id]
            where += f" AND d.folder_id IN ({listed(self.db, ':folders')})"
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
        return detail, self._receipted(row)

    def _receipted(self, row: sqlite3.Row) -> Iterator[bytes]:
        """The bytes, then the read receipt once all of them were read and checked."""
        yield from read_chunks(
            self.db,
            row["attachment_id"],
            row["sha256"],
            _("document {document}").format(document=row["id"]),
        )
        first_read(self.db, self.clock, self.actor, row)

    # --- changing ------------------------------------------------------------------------

    def move(self, document_id: int, folder: str) -> dict:
        with self.transaction():
            row = self._row(document_id)
            self._live(row)
            self.folders.organisable_client(row["client_id"])
            tree = load_tree(self.db, row["client_id"])
            target = self.folders.resolve(tree, folder)
            if target != row["folder_id"]:
                taken = self.db.execute(
                    "SELECT id FROM documents WHERE folder_id = ? AND name = ? AND removed_at IS NULL",
                    (target, row["name"]),
                ).fetchone()
                if taken is not None:
                    raise Conflict(
                        _(
                            "folder {folder} already has a document named {name}"
                            " (document {document})"
                        ).format(
                            folder=repr(tree.path(target)),
                            name=repr(row["name"]),
                            document=taken[0],
                        )
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
            self.folders.organisable_client(row["client_id"])
            tree = load_tree(self.db, row["client_id"])
            self._mark_removed(document_id, tree.path(row["folder_id"]))
            self.audit("remove", "document", document_id, client_id=row["client_id"])
            return self._detail(self._row(document_id), tree)

    def _mark_removed(self, document_id: int, folder_path: str) -> None:
        self.db.execute(
            "UPDATE documents SET removed_at = ?, removed_by = ?, removed_from = ? WHERE id = ?",
            (self.now(), self.actor.id, folder_path, document_id),
        )


def added_data(name: str, folder: str, size: int, sha256: str, replaces: int | None) -> dict:
    """What ``document.added`` says of a document (doc add, the backlog import)."""
    return {"name": name, "folder": folder, "size": size, "sha256": sha256, "replaces": replaces}


def _check_paths(paths: list[str], limit: int) -> dict[str, str]:
    """Every check of ``doc add``'s files that needs no lock, before taking it:
    their names, each to its path."""
    if not paths:
        raise InvalidData("FILES", _("give at least one file"))
    names: dict[str, str] = {}
    for path in paths:
        name = clean_document_name(os.path.basename(path.rstrip("/")) or path)
        if name in names:
            raise InvalidData(
                "FILES",
                _("{first} and {second} have the same name {name}").format(
                    first=names[name], second=path, name=repr(name)
                ),
            )
        names[name] = path
        _check_file(path, limit)
    return names


def _check_file(path: str, limit: int) -> None:
    """The checks of one file that read nothing: it exists, is a file, fits the limit."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InvalidData("FILES", _("no file {file}").format(file=path)) from None
    except OSError as exc:
        raise InvalidData(
            "FILES", _("cannot read {file}: {reason}").format(file=path, reason=exc.strerror)
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidData(
            "FILES",
            _("{file} is a folder, not a file").format(file=path),
            _("import a whole tree with 'sempi doc import'"),
        )
    if not stat.S_ISREG(info.st_mode):
        raise InvalidData("FILES", _("{file} is not a regular file").format(file=path))
    if info.st_size > limit:
        raise _as_error(path, FileProblem("too_big", too_big(info.st_size, limit)))


def _as_error(path: str, problem: FileProblem) -> Exception:
    if problem.kind == "too_big":
        return RuleViolation(
            _("{file} is {reason}").format(file=path, reason=problem.reason),
            _("a firm administrator can change it: sempi config set documents.max_file_mb N"),
        )
    return InvalidData(
        "FILES", _("cannot read {file}: {reason}").format(file=path, reason=problem.reason)
    )


def _when(iso: str) -> str:
    """A stored day or instant in a sentence: ISO in English, as it always showed,
    as Italians write it in Italian (16/11/2026 10:30, Rome time)."""
    from sempi_cli.i18n import current
    from sempi_cli.output import for_people

    return iso if current() == "en" else str(for_people(iso))
