"""The backlog tree of `sempi doc import`: where each file goes, before any is read.

Each top-level directory of the tree goes to the client's top-level folder of
the same name (whatever the case); its sub-directories become sub-folders of
that folder, made as needed. A mapping file (CSV, two columns
``source;folder``) overrides: a source is a directory of the tree ("fatture
2023", "2023/iva", or "." for the files at the top), a folder is a path of an
existing folder of the client. A directory whose files would go nowhere is
listed as unmapped and skipped. No link is followed: the tree is the user's,
its links could point anywhere on the machine. A directory the walk cannot
read, or whose name no folder may have, counts as one entry, as unreadable or
refused.
"""

from __future__ import annotations

import csv
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from sempi_cli.errors import InvalidData, NotFound
from sempi_cli.i18n import gettext as _
from sempi_cli.services.content import LINK_NOT_FOLLOWED
from sempi_cli.services.documents.documents import clean_document_name
from sempi_cli.services.documents.folders import FolderAccess, Tree, clean_folder_name, folder_key

SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", "icon\r"})
COUNTS = (
    "files_seen",
    "imported",
    "duplicates",
    "skipped",
    "conflicts",
    "refused",
    "unreadable",
    "ignored",
    "folders_created",
    "bytes_read",
    "bytes_stored",
)
Mapping = dict[tuple[str, ...], tuple[str, ...]]
Target = tuple[str, ...] | None  # the client's folder path a directory's files go to


@dataclass
class Planned:
    path: str  # as the file system knows it
    rel: str  # relative to the tree: for reports, and the document's source
    folder: tuple[str, ...]  # the client's folder path, by name from the top
    name: str
    size: int


@dataclass
class Plan:
    files: list[Planned] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    mapped_dirs: int = 0

    def problem(self, kind: str, rel: str, text: str, *, count: bool = True) -> None:
        """A file (``count``: it goes into the summary's counts) or a folder the import
        ignored on purpose, with why."""
        if count:
            self.counts[_COUNT_OF.get(kind, kind)] += 1
        self.problems.append({"path": rel, "kind": kind, "problem": text})

    def passed_over(self, kind: str, rel: str, text: str) -> None:
        """A directory whose files the import cannot reach (unreadable, or a name no
        folder may have): counted as one entry, so the import does not end in 0."""
        self.counts["files_seen"] += 1
        self.problem(kind, rel, text)


_COUNT_OF = {"conflict": "conflicts"}


def read_mapping(path: str, tree: Tree) -> Mapping:
    """The mapping file: source directory (folded names) -> folder path (names)."""
    from sempi_cli.services.user_files import read_user_text

    lines = read_user_text(path, "--mapping", encoding="utf-8-sig", newline="").splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = ";" if ";" in first else ","
    mapping: Mapping = {}
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        rows = list(reader)  # a mapping is a few lines
    except csv.Error as exc:  # a cell past the csv module's limit (128 KiB)
        raise InvalidData(
            "--mapping",
            _("line {line}: not CSV: {reason}").format(line=reader.line_num, reason=exc),
        ) from None
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if [c.casefold() for c in cells] == ["source", "folder"]:
            continue  # the header
        if len(cells) != 2 or not cells[1]:
            raise InvalidData(
                "--mapping",
                _("line {line}: expected two columns, source{delimiter}folder").format(
                    line=number, delimiter=delimiter
                ),
            )
        parts = [p for p in cells[0].replace("\\", "/").split("/") if p not in ("", ".")]
        if ".." in parts:
            raise InvalidData(
                "--mapping",
                _("line {line}: {source} leaves the tree").format(
                    line=number, source=repr(cells[0])
                ),
            )
        key = tuple(folder_key(p) for p in parts)
        if key in mapping:
            raise InvalidData(
                "--mapping",
                _("line {line}: {source} is mapped twice").format(
                    line=number, source=repr(cells[0])
                ),
            )
        try:
            folder_id = FolderAccess.resolve(tree, cells[1], "--mapping")
        except InvalidData as exc:
            raise InvalidData(
                "--mapping", _("line {line}: {problem}").format(line=number, problem=exc.problem)
            ) from None
        except NotFound:
            raise InvalidData(
                "--mapping",
                _("line {line}: client {client} has no folder {folder}").format(
                    line=number, client=tree.client_id, folder=repr(cells[1])
                ),
                _("create it first: sempi doc folder add --client {client} --parents PATH").format(
                    client=tree.client_id
                ),
            ) from None
        mapping[key] = tuple(tree.path(folder_id).split("/"))
    return mapping


def plan(root: str, tree: Tree, mapping: Mapping) -> Plan:
    """Walk the tree (sorted, no link followed) and decide where each file goes.
    Reads no file's content."""
    return _Walk(tree, mapping).run(root)


def _display(parts: Iterable[str]) -> str:
    """A path as reports show it: a name that is not UTF-8 with '?', control
    characters escaped (a crafted name must not drive the terminal of whoever
    reads the summary)."""
    text = "/".join(parts).encode("utf-8", "replace").decode()
    if text.isprintable():
        return text
    return "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in text)


def _kind(entry: os.DirEntry) -> tuple[str, str]:
    """What an entry is, no link followed: dir, file, link_dir (ignored), link (a
    link to anything else: refused), or unreadable, with why."""
    try:
        if not entry.is_symlink():
            if entry.is_dir(follow_symlinks=False):
                return "dir", ""
            if entry.is_file(follow_symlinks=False):
                return "file", ""
            return "unreadable", _("not a regular file")
        if entry.is_dir():
            return "link_dir", ""
        entry.stat()  # where it points, never what it holds
    except FileNotFoundError:
        return "unreadable", _("a link to nothing")
    except OSError as exc:
        return "unreadable", exc.strerror or str(exc)
    return "link", _("{reason} (it could point outside the tree)").format(
        reason=_(LINK_NOT_FOLLOWED)
    )


class _Walk:
    """One walk of a tree: the plan it builds, and which mapping lines it used."""

    def __init__(self, tree: Tree, mapping: Mapping) -> None:
        self.tree = tree
        self.mapping = mapping
        self.result = Plan()
        self.used: set[tuple[str, ...]] = set()

    def run(self, root: str) -> Plan:
        top = self.mapping.get(())
        if top is not None:
            self.used.add(())
            self.result.mapped_dirs += 1
        stack: list[tuple[str, tuple[str, ...], Target]] = [(root, (), top)]
        while stack:
            stack.extend(reversed(self.directory(*stack.pop())))
        for key in self.mapping.keys() - self.used:
            self.result.problems.append(
                {
                    "path": "/".join(key),
                    "kind": "mapping",
                    "problem": _("no such directory in the tree"),
                }
            )
        return self.result

    def directory(
        self, path: str, rel: tuple[str, ...], target: Target
    ) -> list[tuple[str, tuple[str, ...], Target]]:
        """Plan one directory's files; its sub-directories to walk next."""
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:  # its files are unknown: it counts as one, unreadable
            shown = _display(rel) + "/" if rel else "./"
            self.result.passed_over("unreadable", shown, exc.strerror or str(exc))
            return []
        below: list[tuple[str, tuple[str, ...], Target]] = []
        for entry in entries:
            shown = _display((*rel, entry.name))
            kind, why = _kind(entry)
            hidden = entry.name.startswith(".") or entry.name.casefold() in SYSTEM_FILES
            if kind in ("dir", "link_dir") and (hidden or kind == "link_dir"):
                why = (
                    _("a link to a folder: not imported")
                    if kind == "link_dir"
                    else _("a hidden folder: not imported")
                )
                self.result.problem("ignored", shown + "/", why, count=False)
            elif kind == "dir":
                self.subdirectory(entry, rel, target, shown, below)
            elif target is None:  # a file of a directory walked only for a mapping below it
                self.result.unmapped.append(shown)
            else:
                self.file(entry, kind, why, hidden, target, shown)
        return below

    def subdirectory(
        self,
        entry: os.DirEntry,
        rel: tuple[str, ...],
        target: Target,
        shown: str,
        below: list[tuple[str, tuple[str, ...], Target]],
    ) -> None:
        child = self.child_target(rel, entry.name, target, shown)
        if child is not None or _mapped_below(self.mapping, (*rel, entry.name)):
            below.append((entry.path, (*rel, entry.name), child))
        elif not rel or target is None:  # its files go nowhere: listed, like the top's
            self.result.unmapped.append(shown + "/")

    def file(
        self, entry: os.DirEntry, kind: str, why: str, hidden: bool, target: tuple[str, ...],
        shown: str,
    ) -> None:  # fmt: skip
        result = self.result
        result.counts["files_seen"] += 1
        if hidden:
            result.counts["ignored"] += 1
        elif kind == "link":
            result.problem("refused", shown, why)
        elif kind != "file":
            result.problem("unreadable", shown, why)
        else:
            try:
                name = clean_document_name(entry.name)
                size = entry.stat(follow_symlinks=False).st_size
            except InvalidData as exc:
                result.problem(
                    "refused",
                    shown,
                    _("not usable as a document name: {problem}").format(problem=exc.problem),
                )
            except OSError as exc:
                result.problem("unreadable", shown, exc.strerror or str(exc))
            else:
                result.files.append(Planned(entry.path, shown, target, name, size))

    def child_target(self, rel: tuple[str, ...], name: str, parent: Target, shown: str) -> Target:
        """Where a sub-directory's files go: its mapping line, else (at the top) the
        client's folder of that name, else a sub-folder of its parent's folder. A
        name that cannot be a folder's passes the directory over, counted as one."""
        key = tuple(folder_key(p) for p in (*rel, name))
        if key in self.mapping:
            self.used.add(key)
            self.result.mapped_dirs += 1
            return self.mapping[key]
        if not rel:
            found = self.tree.child_loose(None, name)
            if found is None:
                return None
            self.result.mapped_dirs += 1
            return (self.tree.folders[found]["name"],)
        if parent is None:
            return None
        try:
            return (*parent, clean_folder_name(name))
        except InvalidData as exc:
            why = _("not usable as a folder name: {problem}").format(problem=exc.problem)
            self.result.passed_over("refused", shown + "/", why)
            return None


def _mapped_below(mapping: Iterable[tuple[str, ...]], rel: tuple[str, ...]) -> bool:
    key = tuple(folder_key(p) for p in rel)
    return any(len(k) > len(key) and k[: len(key)] == key for k in mapping)
