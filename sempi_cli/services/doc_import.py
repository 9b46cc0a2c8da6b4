"""Loading a backlog tree into a client's folders: fast, deduplicated, resumable.

Where files go: each top-level directory of the tree goes to the client's
top-level folder of the same name (whatever the case); its sub-directories
become sub-folders of that folder, made as needed. A mapping file (CSV, two
columns ``source;folder``) overrides: a source is a directory of the tree
("fatture 2023", "2023/iva", or "." for the files at the top), a folder is a
path of an existing folder of the client. A top-level directory that maps to
nothing is reported and skipped; when nothing at all maps, the import is
refused before anything is read or written.

How: contents are stored once per SHA-256 (a file identical to one already in
the store, a checklist file included, only adds a document pointing at it).
Work is committed in batches (``BATCH_FILES`` files or ``BATCH_BYTES`` bytes
read), so a killed import keeps its finished batches, and a re-run skips
every file already in (same folder, name and SHA-256) and finishes the rest.
Every file lands in exactly one of the summary's counts: imported (new
content), duplicates (content already stored), skipped (already imported),
conflicts (another document has that name there), refused (too big, or a
name that cannot be stored), unreadable (permission denied, vanished, a link
to nothing, not a regular file), ignored (hidden files, Thumbs.db,
desktop.ini, links to folders).
"""

from __future__ import annotations

import csv
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sempi_cli.errors import InvalidData, NotFound
from sempi_cli.services.doc_folders import FolderService, Tree, folder_key, load_tree
from sempi_cli.services.documents import (
    MB,
    WHOLE_READ,
    ContentStore,
    FileContent,
    FileProblem,
    clean_document_name,
    limit_bytes,
    read_content,
)

BATCH_FILES = 200
BATCH_BYTES = 50 * MB
READ_AHEAD_FILES = 64
READ_AHEAD_BYTES = 64 * MB
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
Progress = Callable[[int, int], None]


@dataclass
class Planned:
    path: str  # as the file system knows it
    rel: str  # relative to the tree, for reports
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
        passed over, with why."""
        if count:
            self.counts[_COUNT_OF.get(kind, kind)] += 1
        self.problems.append({"path": rel, "kind": kind, "problem": text})


_COUNT_OF = {"conflict": "conflicts"}


def read_mapping(path: str, tree: Tree) -> dict[tuple[str, ...], tuple[str, ...]]:
    """The mapping file: source directory (folded names) -> folder path (names)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        raise InvalidData("--mapping", f"no file {path}") from None
    except UnicodeDecodeError:
        raise InvalidData("--mapping", f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise InvalidData("--mapping", f"cannot read {path}: {exc.strerror}") from None
    first = next((line for line in lines if line.strip()), "")
    delimiter = ";" if ";" in first else ","
    mapping: dict[tuple[str, ...], tuple[str, ...]] = {}
    for number, row in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if [c.casefold() for c in cells] == ["source", "folder"]:
            continue  # the header
        if len(cells) != 2 or not cells[1]:
            raise InvalidData(
                "--mapping", f"line {number}: expected two columns, source{delimiter}folder"
            )
        parts = [p for p in cells[0].replace("\\", "/").split("/") if p not in ("", ".")]
        if ".." in parts:
            raise InvalidData("--mapping", f"line {number}: {cells[0]!r} leaves the tree")
        key = tuple(folder_key(p) for p in parts)
        if key in mapping:
            raise InvalidData("--mapping", f"line {number}: {cells[0]!r} is mapped twice")
        try:
            folder_id = FolderService.resolve(tree, cells[1], "--mapping")
        except InvalidData as exc:
            raise InvalidData("--mapping", f"line {number}: {exc.problem}") from None
        except NotFound:
            raise InvalidData(
                "--mapping",
                f"line {number}: client {tree.client_id} has no folder {cells[1]!r}",
                f"create it first: sempi doc folder add --client {tree.client_id} --parents PATH",
            ) from None
        mapping[key] = tuple(tree.path(folder_id).split("/"))
    return mapping


def plan(root: str, tree: Tree, mapping: dict[tuple[str, ...], tuple[str, ...]]) -> Plan:
    """Walk the tree (sorted, links to folders not followed) and decide where each
    file goes. Reads no file's content."""
    result = Plan()
    used: set[tuple[str, ...]] = set()
    top = mapping.get(())
    if top is not None:
        used.add(())
        result.mapped_dirs += 1
    stack: list[tuple[str, tuple[str, ...], tuple[str, ...] | None]] = [(root, (), top)]
    while stack:
        directory, rel, target = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            result.problem("unreadable", "/".join(rel) + "/", exc.strerror or str(exc), count=False)
            continue
        below: list[tuple[str, tuple[str, ...], tuple[str, ...] | None]] = []
        for entry in entries:
            shown = "/".join((*rel, entry.name)).encode("utf-8", "replace").decode()
            try:
                is_dir, is_link, is_file = entry.is_dir(), entry.is_symlink(), entry.is_file()
            except OSError as exc:
                is_dir = is_link = is_file = False
                error = exc.strerror or str(exc)
            else:
                error = "a link to nothing" if is_link else "not a regular file"
            hidden = entry.name.startswith(".") or entry.name.casefold() in SYSTEM_FILES
            if is_dir:
                if hidden or is_link:
                    why = "a link to a folder" if is_link else "a hidden folder"
                    result.problem("ignored", shown + "/", f"{why}: not imported", count=False)
                    continue
                child = _child_target(result, rel, entry.name, target, tree, mapping, used, shown)
                if child is not None or _mapped_below(mapping, (*rel, entry.name)):
                    below.append((entry.path, (*rel, entry.name), child))
                elif not rel:
                    result.unmapped.append(shown + "/")
                continue
            if target is None:  # a file of a directory walked only for a mapping below it
                result.unmapped.append(shown)
                continue
            result.counts["files_seen"] += 1
            if hidden:
                result.counts["ignored"] += 1
            elif not is_file:
                result.problem("unreadable", shown, error)
            else:
                try:
                    name = clean_document_name(entry.name)
                    size = entry.stat().st_size
                except InvalidData:
                    result.problem("refused", shown, "the name is not valid UTF-8")
                    continue
                except OSError as exc:
                    result.problem("unreadable", shown, exc.strerror or str(exc))
                    continue
                result.files.append(Planned(entry.path, shown, target, name, size))
        stack.extend(reversed(below))
    for key in mapping.keys() - used:
        result.problems.append(
            {"path": "/".join(key), "kind": "mapping", "problem": "no such directory in the tree"}
        )
    return result


def _child_target(
    result: Plan,
    rel: tuple[str, ...],
    name: str,
    parent: tuple[str, ...] | None,
    tree: Tree,
    mapping: dict[tuple[str, ...], tuple[str, ...]],
    used: set[tuple[str, ...]],
    shown: str,
) -> tuple[str, ...] | None:
    key = tuple(folder_key(p) for p in (*rel, name))
    if key in mapping:
        used.add(key)
        result.mapped_dirs += 1
        return mapping[key]
    if not rel:
        found = tree.child_loose(None, name)
        if found is None:
            return None
        result.mapped_dirs += 1
        return (tree.folders[found]["name"],)
    if parent is None:
        return None
    from sempi_cli.services.doc_folders import clean_folder_name

    try:
        return (*parent, clean_folder_name(name))
    except (InvalidData, UnicodeError):
        result.problem("refused", shown + "/", "not usable as a folder name: skipped", count=False)
        return None


def _mapped_below(mapping: Iterable[tuple[str, ...]], rel: tuple[str, ...]) -> bool:
    key = tuple(folder_key(p) for p in rel)
    return any(len(k) > len(key) and k[: len(key)] == key for k in mapping)


class ReadAhead:
    """The planned files' contents, in order, read and hashed by a worker thread up to
    ``READ_AHEAD_FILES`` files or ``READ_AHEAD_BYTES`` bytes ahead of the caller.

    Why: hashing and SQLite's writes each release the GIL, so on two cores the
    import hashes the next files while it stores this one, instead of after.
    A file's outcome is a FileContent or the FileProblem it raised.
    """

    def __init__(self, files: list[Planned], limit: int) -> None:
        self.files = files
        self.limit = limit
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sempi-read")
        self.pending: deque[tuple[int, Future[FileContent]]] = deque()
        self.queued = 0  # files handed to the worker so far
        self.ahead_bytes = 0

    def __enter__(self) -> Iterator[FileContent | FileProblem]:
        return self._outcomes()

    def __exit__(self, *exc: object) -> None:
        for _, future in self.pending:
            future.cancel()
        self.pool.shutdown(wait=True)

    def _outcomes(self) -> Iterator[FileContent | FileProblem]:
        for _ in self.files:
            self._fill()
            weight, future = self.pending.popleft()
            self.ahead_bytes -= weight
            try:
                yield future.result()
            except FileProblem as problem:
                yield problem

    def _fill(self) -> None:
        while self.queued < len(self.files) and (
            not self.pending
            or (
                len(self.pending) < READ_AHEAD_FILES
                and self.ahead_bytes + self._weight(self.queued) <= READ_AHEAD_BYTES
            )
        ):
            weight = self._weight(self.queued)
            path = self.files[self.queued].path
            self.pending.append((weight, self.pool.submit(read_content, path, self.limit)))
            self.ahead_bytes += weight
            self.queued += 1

    def _weight(self, position: int) -> int:
        """The memory a file's outcome holds: its bytes if read whole, else nothing."""
        size = self.files[position].size
        return size if size <= WHOLE_READ else 0


class DocImport(FolderService):
    def run(
        self,
        directory: str,
        client_id: int,
        *,
        mapping: str | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> dict:
        """Import the tree at ``directory``; the summary of what happened (or would)."""
        if not os.path.isdir(directory):
            what = "is not a folder" if os.path.exists(directory) else "does not exist"
            raise InvalidData("DIR", f"{directory} {what}")
        self.organisable_client(client_id)
        tree = load_tree(self.db, client_id)
        rules = read_mapping(mapping, tree) if mapping else {}
        work = plan(directory, tree, rules)
        if not work.mapped_dirs and work.unmapped:
            shown = ", ".join(work.unmapped[:5]) + (", ..." if len(work.unmapped) > 5 else "")
            raise InvalidData(
                "DIR",
                f"nothing in {directory} matches a folder of client {client_id} ({shown})",
                f"name the directories like the folders ('sempi doc folder list --client"
                f" {client_id}') or give a mapping file with --mapping",
            )
        run = _Run(self, client_id, work, dry_run, progress)
        run.all()
        return {
            "client_id": client_id,
            "directory": os.path.abspath(directory),
            "dry_run": dry_run,
            **work.counts,
            "unmapped": work.unmapped,
            "problems": work.problems,
        }


class _Run:
    """One import's execution: batches of files, each batch one transaction."""

    def __init__(
        self,
        service: DocImport,
        client_id: int,
        work: Plan,
        dry_run: bool,
        progress: Progress | None,
    ) -> None:
        self.service = service
        self.db = service.db
        self.client_id = client_id
        self.work = work
        self.counts = work.counts
        self.dry_run = dry_run
        self.progress = progress
        self.limit = limit_bytes(self.db)
        self.store = ContentStore(self.db, service.now(), self.limit)
        self.done: dict[tuple[int, str], str] = {}  # (folder id, name) -> sha256, this run
        self.fake: dict[tuple[int | str | None, ...], int] = {}  # folders a dry run would make
        self.seen: set[str] = set()  # contents a dry run would store

    def all(self) -> None:
        files = self.work.files
        with ReadAhead(files, self.limit) as outcomes:
            if self.dry_run:
                tree = load_tree(self.db, self.client_id)
                for position, (item, outcome) in enumerate(
                    zip(files, outcomes, strict=True), start=1
                ):
                    self.one(item, outcome, tree, [])
                    self._tick(position)
                return
            position = 0
            while position < len(files):
                position = self._batch(files, position, outcomes)

    def _batch(self, files: list[Planned], position: int, outcomes: Iterator) -> int:
        """One transaction: files from ``position`` up to the batch's size; where it
        stopped."""
        with self.service.transaction():
            # Under the lock: the folders as they are now, and no content id
            # remembered from before (a checklist may have let one go since).
            tree = load_tree(self.db, self.client_id)
            self.store.known.clear()
            rows: list[tuple] = []
            made, stored, read, start = self.counts["folders_created"], 0, 0, position
            while position < len(files) and position - start < BATCH_FILES and read < BATCH_BYTES:
                before = self.counts["bytes_read"], self.counts["bytes_stored"]
                self.one(files[position], next(outcomes), tree, rows)
                read += self.counts["bytes_read"] - before[0]
                stored += self.counts["bytes_stored"] - before[1]
                position += 1
                self._tick(position)
            self.db.executemany(
                "INSERT INTO documents (client_id, folder_id, name, attachment_id, size,"
                " sha256, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            if rows or self.counts["folders_created"] > made:
                self.service.audit(
                    "import", "client", self.client_id, documents=len(rows),
                    bytes_stored=stored, folders_created=self.counts["folders_created"] - made,
                )  # fmt: skip
        return position

    def _tick(self, position: int) -> None:
        if self.progress is not None:
            self.progress(position, len(self.work.files))

    def folder(self, tree: Tree, parts: tuple[str, ...]) -> int:
        """The folder for ``parts``, matching existing ones loosely (case, accents) and
        making the missing ones (a dry run only counts them)."""
        parent: int | None = None
        depth = 0
        while depth < len(parts):
            found = tree.child_loose(parent, parts[depth])
            if found is None:
                break
            parent, depth = found, depth + 1
        if parent is not None and depth == len(parts):
            return parent
        missing = list(parts[depth:])
        if not self.dry_run:
            folder_id, created = self.service.ensure(tree, missing, parent)
            self.counts["folders_created"] += len(created)
            return folder_id
        for end in range(1, len(missing) + 1):
            key = (parent, *(folder_key(p) for p in missing[:end]))
            if key not in self.fake:
                self.fake[key] = -1 - len(self.fake)
                self.counts["folders_created"] += 1
        return self.fake[(parent, *(folder_key(p) for p in missing))]

    def one(
        self, item: Planned, outcome: FileContent | FileProblem, tree: Tree, rows: list[tuple]
    ) -> None:
        folder_id = self.folder(tree, item.folder)
        prior = self.done.get((folder_id, item.name))
        if prior is None and folder_id > 0:
            row = self.db.execute(
                "SELECT sha256, size FROM documents WHERE folder_id = ? AND name = ?"
                " AND removed_at IS NULL",
                (folder_id, item.name),
            ).fetchone()
            if row is not None and row[1] != item.size:
                return self._conflict(item)
            prior = row[0] if row else None
        if isinstance(outcome, FileProblem):
            kind = "refused" if outcome.kind == "too_big" else "unreadable"
            return self.work.problem(kind, item.rel, outcome.reason)
        content = outcome
        self.counts["bytes_read"] += content.size
        if prior is not None:
            if prior == content.sha256:
                self.counts["skipped"] += 1
                return None
            return self._conflict(item)
        self.done[(folder_id, item.name)] = content.sha256
        if self.dry_run:
            new = content.sha256 not in self.seen and self.store.existing(content.sha256) is None
            self.seen.add(content.sha256)
        else:
            try:
                attachment_id, new = self.store.store(content)
            except FileProblem as problem:
                del self.done[(folder_id, item.name)]
                return self.work.problem("unreadable", item.rel, problem.reason)
            rows.append(
                (self.client_id, folder_id, item.name, attachment_id, content.size,
                 content.sha256, self.service.actor.id, self.service.now())
            )  # fmt: skip
        if new:
            self.counts["imported"] += 1
            self.counts["bytes_stored"] += content.size
        else:
            self.counts["duplicates"] += 1
        return None

    def _conflict(self, item: Planned) -> None:
        self.work.problem(
            "conflict",
            item.rel,
            f"folder {'/'.join(item.folder)!r} already has another document named {item.name!r}",
        )
