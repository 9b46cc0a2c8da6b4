"""A client's document folders: a tree, like the binders of old, addressed by path.

A path is folder names joined by '/' ("IVA/Liquidazioni"), matched whatever
the case ("iva/liquidazioni" is the same folder; so is "CONTABILITÀ" for
"Contabilità": names are compared NFC-normalised and case-folded). A
reference that is not the path of a folder but a whole number is taken as the
folder's id: a folder named "2024" is found by path first.

Who may do what (the same rule for documents, see documents.py): whoever sees
the client (access.visible_clients) reads its folders and documents; changing
folders and moving or removing documents is for those who may edit the client
(access.can_edit_client) and for every member of its work group who is not an
external user; an external user of the client may add documents to their own
client, nothing more.
"""

from __future__ import annotations

import builtins
import sqlite3
import unicodedata
from dataclasses import dataclass, field

from sempi_cli.clock import Clock
from sempi_cli.errors import Conflict, InvalidData, NotFound, PermissionDenied, RuleViolation
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext
from sempi_cli.services import access, settings
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.store.sql import highest_id_ever

MAX_NAME = 64


def folder_key(name: str) -> str:
    """The form two folder names are compared in."""
    return unicodedata.normalize("NFC", name).casefold()


def plain_key(name: str) -> str:
    """A looser form for matching a backlog's directories: accents dropped too
    ("Contabilita" finds "Contabilità")."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def refuse_unstorable(name: str, field: str) -> None:
    """Refuse a name SQLite cannot store or a terminal must not receive: one that is
    not UTF-8 (a Latin-1 name from an old Samba share arrives with surrogates and
    fails at the INSERT), or one with control characters (an ANSI escape in a name
    would reach the screen of whoever lists it)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidData(
            field,
            _("{name} is not valid UTF-8").format(name=repr(name.encode("utf-8", "replace"))),
        ) from None
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise InvalidData(field, _("{name} has control characters").format(name=repr(name)))


def clean_folder_name(name: str, field: str = "PATH") -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name or name in (".", ".."):
        raise InvalidData(field, _("{name} is not a folder name").format(name=repr(name)))
    refuse_unstorable(name, field)
    if len(name) > MAX_NAME:
        raise InvalidData(
            field,
            _("{name}... is longer than {n} characters").format(name=repr(name[:20]), n=MAX_NAME),
        )
    if "/" in name or "\\" in name:
        raise InvalidData(
            field, _("{name}: a folder name has no '/' or '\\'").format(name=repr(name))
        )
    return name


def split_path(path: str, field: str = "PATH") -> list[str]:
    """'IVA/Liquidazioni' -> ['IVA', 'Liquidazioni']; a leading or trailing '/' is allowed."""
    text = (path or "").strip().strip("/")
    if not text:
        raise InvalidData(field, _("give a folder path, e.g. IVA/Liquidazioni"))
    return [clean_folder_name(part, field) for part in text.split("/")]


def default_paths(db: sqlite3.Connection) -> list[str]:
    """The folder paths a new client gets: the setting documents.default_folders."""
    value = settings.get(db, "documents.default_folders")
    paths = ("/".join(p.strip() for p in item.split("/")) for item in value.split(","))
    return list(dict.fromkeys(p for p in paths if p))


def create_default_trees(db: sqlite3.Connection, client_ids: list[int], at: str) -> int:
    """The default tree for many new clients at once (a batch onboarding), in the
    caller's transaction; returns the folders made. For clients that have no folder
    yet: the caller decides who may, and which clients are new. The same names,
    keys and order as FolderService.create_default_tree, in one ``executemany``
    with ids allocated under the caller's write lock (one client at a time costs
    some fifteen statements each)."""
    shape: list[tuple[int | None, str, str]] = []  # (parent's index in shape, name, key)
    index: dict[tuple[str, ...], int] = {}
    for path in default_paths(db):
        parts = [clean_folder_name(p, "documents.default_folders") for p in path.split("/")]
        for depth in range(1, len(parts) + 1):
            key = tuple(folder_key(p) for p in parts[:depth])
            if key not in index:
                index[key] = len(shape)
                shape.append((index.get(key[:-1]), parts[depth - 1], key[-1]))
    next_id = next_folder_id(db)
    rows: list[tuple[int, int, int | None, str, str, str]] = []
    for client_id in client_ids:
        rows.extend(
            (next_id + i, client_id, None if parent is None else next_id + parent, name, key, at)
            for i, (parent, name, key) in enumerate(shape)
        )
        next_id += len(shape)
    db.executemany(
        "INSERT INTO doc_folders (id, client_id, parent_id, name, name_key, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def next_folder_id(db: sqlite3.Connection) -> int:
    """The id AUTOINCREMENT would give next: above every id ever used (m010), so an
    id given explicitly never reuses a removed folder's (the audit log names it)."""
    live, ever = db.execute(
        "SELECT coalesce((SELECT max(id) FROM doc_folders), 0),"
        f" {highest_id_ever(db, 'doc_folders')}"
    ).fetchone()
    return max(int(live), int(ever)) + 1


# --- who may do what ---------------------------------------------------------------------


def in_work_group(db: sqlite3.Connection, client_id: int, user_id: int) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM work_group_members WHERE client_id = ? AND user_id = ?",
            (client_id, user_id),
        ).fetchone()
        is not None
    )


def may_organise(db: sqlite3.Connection, actor: Actor, client: sqlite3.Row) -> bool:
    """Change folders, move and remove documents, import a backlog."""
    if access.can_edit_client(db, actor, client):
        return True
    return actor.role != "external" and in_work_group(db, client["id"], actor.id)


def may_add(db: sqlite3.Connection, actor: Actor, client: sqlite3.Row) -> bool:
    """Add documents: the organisers, and the client's own external users."""
    if actor.role == "external":
        return actor.client_id == client["id"] and in_work_group(db, client["id"], actor.id)
    return may_organise(db, actor, client)


# --- a client's tree in memory ----------------------------------------------------------


@dataclass
class Tree:
    """One client's folders: by id, and by (parent id, name key)."""

    client_id: int
    folders: dict[int, dict] = field(default_factory=dict)
    by_name: dict[tuple[int | None, str], int] = field(default_factory=dict)
    kids: dict[int | None, set[int]] = field(default_factory=dict)

    def add(self, row: dict) -> None:
        self.folders[row["id"]] = row
        self.by_name[(row["parent_id"], row["name_key"])] = row["id"]
        self.kids.setdefault(row["parent_id"], set()).add(row["id"])

    def child(self, parent_id: int | None, name: str) -> int | None:
        return self.by_name.get((parent_id, folder_key(name)))

    def child_loose(self, parent_id: int | None, name: str) -> int | None:
        """The child of that name, else the only child whose name differs in accents."""
        found = self.child(parent_id, name)
        if found is not None:
            return found
        plain = plain_key(name)
        matches = [
            fid
            for (pid, key), fid in self.by_name.items()
            if pid == parent_id and plain_key(key) == plain
        ]
        return matches[0] if len(matches) == 1 else None

    def find(self, parts: list[str]) -> int | None:
        folder_id: int | None = None
        for part in parts:
            folder_id = self.child(folder_id, part)
            if folder_id is None:
                return None
        return folder_id

    def path(self, folder_id: int) -> str:
        names = []
        current: int | None = folder_id
        while current is not None:
            names.append(self.folders[current]["name"])
            current = self.folders[current]["parent_id"]
        return "/".join(reversed(names))

    def children(self, parent_id: int | None) -> list[int]:
        """In the order they were made (ids grow)."""
        return sorted(fid for fid in self.kids.get(parent_id, ()) if fid in self.folders)

    def subtree(self, folder_id: int) -> list[int]:
        """The folder and everything under it, parents before children."""
        order, stack = [], [folder_id]
        while stack:
            current = stack.pop()
            order.append(current)
            stack.extend(reversed(self.children(current)))
        return order

    def depth(self, folder_id: int) -> int:
        return self.path(folder_id).count("/")


def load_tree(db: sqlite3.Connection, client_id: int) -> Tree:
    tree = Tree(client_id)
    for row in db.execute(
        "SELECT id, parent_id, name, name_key FROM doc_folders WHERE client_id = ?", (client_id,)
    ):
        tree.add(dict(row))
    return tree


class FolderAccess(Service):
    """What the folder commands, the document commands and the import share: a
    client's access checks, and finding and making its folders. FolderService,
    DocumentService and DocImport each hold one (composed, not inherited)."""

    # --- clients and access --------------------------------------------------------------

    def readable_client(self, client_id: int) -> sqlite3.Row:
        return access.client_row(self.db, self.actor, client_id)

    def organisable_client(self, client_id: int) -> sqlite3.Row:
        client = access.client_row(self.db, self.actor, client_id)
        if not may_organise(self.db, self.actor, client):
            raise PermissionDenied(
                _("you may not change the folders and documents of client {client}").format(
                    client=client_id
                )
            )
        self.refuse_removed(client)
        return client

    @staticmethod
    def refuse_removed(client: sqlite3.Row) -> None:
        if client["removed_at"] is not None:
            raise RuleViolation(
                _("client {client} is removed").format(client=client["id"]),
                _("restore it first: sempi client restore {client}").format(client=client["id"]),
            )

    # --- finding folders -----------------------------------------------------------------

    @staticmethod
    def resolve(tree: Tree, ref: str, field: str = "--folder") -> int:
        """A folder by path (whatever the case), else by id; NotFound names the client."""
        text = (ref or "").strip()
        found = tree.find(split_path(text, field)) if text.strip("/") else None
        if found is None and text.isdigit() and int(text) in tree.folders:
            found = int(text)
        if found is None:
            raise NotFound(
                _("client {client} has no folder {folder}").format(
                    client=tree.client_id, folder=repr(text)
                ),
                _("see 'sempi doc folder list --client {client}'").format(client=tree.client_id),
            )
        return found

    def ensure(
        self, tree: Tree, parts: list[str], parent: int | None = None
    ) -> tuple[int, list[int]]:
        """The folder at ``parts`` (under ``parent``), made with any missing folder above
        it; (its id, ids created). Inside the caller's transaction."""
        created = []
        for part in parts:
            found = tree.child(parent, part)
            if found is None:
                found = self._insert(tree, parent, part)
                created.append(found)
            parent = found
        assert parent is not None
        return parent, created

    def _insert(self, tree: Tree, parent_id: int | None, name: str) -> int:
        name = clean_folder_name(name)
        folder_id = self.db.execute(
            "INSERT INTO doc_folders (client_id, parent_id, name, name_key, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (tree.client_id, parent_id, name, folder_key(name), self.now()),
        ).fetchone()[0]
        tree.add(
            {"id": folder_id, "parent_id": parent_id, "name": name, "name_key": folder_key(name)}
        )
        return folder_id

    def record(self, tree: Tree, folder_id: int, counts: dict[int, int] | None = None) -> dict:
        """A folder as every folder command shows it (``documents``: its live count)."""
        row = tree.folders[folder_id]
        record = {
            "id": folder_id,
            "client_id": tree.client_id,
            "parent_id": row["parent_id"],
            "name": row["name"],
            "path": tree.path(folder_id),
            "depth": tree.depth(folder_id),
        }
        if counts is not None:
            record["documents"] = counts.get(folder_id, 0)
        return record


class FolderService(Service):
    """The folder commands; the access checks and finding and making folders are
    the FolderAccess it holds."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor | None = None) -> None:
        super().__init__(db, clock, actor)
        self.folders = FolderAccess(db, clock, actor)

    # --- commands ------------------------------------------------------------------------

    def list(self, client_id: int) -> list[dict]:
        """The client's folders depth first, siblings in the order they were made (the
        default tree in the setting's order), with how many live documents each holds."""
        self.folders.readable_client(client_id)
        tree = load_tree(self.db, client_id)
        counts = dict(
            self.db.execute(
                "SELECT folder_id, count(*) FROM documents WHERE client_id = ?"
                " AND removed_at IS NULL GROUP BY folder_id",
                (client_id,),
            ).fetchall()
        )
        order = [fid for root in tree.children(None) for fid in tree.subtree(root)]
        return [self.folders.record(tree, fid, counts) for fid in order]

    def add(self, client_id: int, path: str, *, parents: bool = False) -> dict:
        parts = split_path(path)
        with self.transaction():
            self.folders.organisable_client(client_id)
            tree = load_tree(self.db, client_id)
            if tree.find(parts) is not None:
                raise Conflict(
                    _("client {client} already has the folder {folder}").format(
                        client=client_id, folder=repr("/".join(parts))
                    )
                )
            if not parents and len(parts) > 1 and tree.find(parts[:-1]) is None:
                raise NotFound(
                    _("client {client} has no folder {folder}").format(
                        client=client_id, folder=repr("/".join(parts[:-1]))
                    ),
                    _("add --parents to create the missing folders too"),
                )
            folder_id, created = self.folders.ensure(tree, parts)
            self.audit("add", "doc_folder", folder_id, client_id=client_id, created=len(created))
        return {**self.folders.record(tree, folder_id), "created": len(created)}

    def rename(self, client_id: int, path: str, new_name: str) -> dict:
        new_name = clean_folder_name(new_name, "NEW_NAME")
        with self.transaction():
            self.folders.organisable_client(client_id)
            tree = load_tree(self.db, client_id)
            folder_id = self.folders.resolve(tree, path, "PATH")
            row = tree.folders[folder_id]
            other = tree.child(row["parent_id"], new_name)
            if other is not None and other != folder_id:
                raise Conflict(
                    _("a folder named {name} is already there").format(
                        name=repr(tree.folders[other]["name"])
                    )
                )
            old_path = tree.path(folder_id)
            self.db.execute(
                "UPDATE doc_folders SET name = ?, name_key = ? WHERE id = ?",
                (new_name, folder_key(new_name), folder_id),
            )
            del tree.by_name[(row["parent_id"], row["name_key"])]
            tree.add({**row, "name": new_name, "name_key": folder_key(new_name)})
            self.audit("rename", "doc_folder", folder_id, client_id=client_id)
        return {**self.folders.record(tree, folder_id), "old_path": old_path}

    def remove(
        self, client_id: int, path: str, *, recursive: bool = False, dry_run: bool = False
    ) -> dict:
        """Remove a folder: only an empty one, or with ``recursive`` everything under
        it (its documents are soft-removed and remember the path they were in)."""
        with self.rehearsal(dry_run):
            self.folders.organisable_client(client_id)
            tree = load_tree(self.db, client_id)
            folder_id = self.folders.resolve(tree, path, "PATH")
            ids = tree.subtree(folder_id)
            live = self.db.execute(
                "SELECT count(*) FROM documents WHERE removed_at IS NULL AND folder_id IN"
                f" ({', '.join('?' * len(ids))})",
                ids,
            ).fetchone()[0]
            if not recursive and (live or len(ids) > 1):
                below = len(ids) - 1
                raise RuleViolation(
                    _("folder {folder} is not empty ({folders}, {documents})").format(
                        folder=repr(tree.path(folder_id)),
                        folders=ngettext("{n} sub-folder(s)", "{n} sub-folder(s)", below).format(
                            n=below
                        ),
                        documents=ngettext("{n} document(s)", "{n} document(s)", live).format(
                            n=live
                        ),
                    ),
                    _("add --recursive to remove it with everything in it"),
                )
            result = {
                "id": folder_id,
                "client_id": client_id,
                "path": tree.path(folder_id),
                "folders": len(ids),
                "documents": live,
            }
            now = self.now()
            for fid in ids:
                self.db.execute(
                    "UPDATE documents SET removed_at = ?, removed_by = ?, removed_from = ?"
                    " WHERE folder_id = ? AND removed_at IS NULL",
                    (now, self.actor.id, tree.path(fid), fid),
                )
                self.db.execute(
                    "UPDATE documents SET folder_id = NULL,"
                    " removed_from = coalesce(removed_from, ?) WHERE folder_id = ?",
                    (tree.path(fid), fid),
                )
            for fid in reversed(ids):  # children before their parent
                self.db.execute("DELETE FROM doc_folders WHERE id = ?", (fid,))
            self.audit(
                "remove",
                "doc_folder",
                folder_id,
                client_id=client_id,
                folders=len(ids),
                documents=live,
            )
        return result

    def create_default_tree(self, client_id: int) -> builtins.list[dict]:
        """The tree of documents.default_folders for a client: missing paths are made,
        existing ones kept (so calling it twice changes nothing). Runs inside the
        caller's transaction when there is one. Returns each folder on the default
        paths with ``created`` true for those made now."""
        paths = [p.split("/") for p in default_paths(self.db)]
        with self.transaction():
            self.folders.organisable_client(client_id)
            tree = load_tree(self.db, client_id)
            made: set[int] = set()
            ids: list[int] = []
            for parts in paths:
                parent: int | None = None
                for depth in range(1, len(parts) + 1):
                    parent, created = self.folders.ensure(tree, parts[:depth])
                    made.update(created)
                    if parent not in ids:
                        ids.append(parent)
            if made:
                self.audit(
                    "add_default", "doc_folder", None, client_id=client_id, created=len(made)
                )
        return [{**self.folders.record(tree, fid), "created": fid in made} for fid in ids]
