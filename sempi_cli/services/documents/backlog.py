"""Loading a backlog tree into a client's folders: fast, deduplicated, resumable.

Where files go is services.doc_walk's job (the plan, before any file is read);
when nothing at all maps, the import is refused before anything is read or
written.

How: contents are stored once per SHA-256, shared by every client and by
checklist files. Work is committed in batches (``BATCH_FILES`` files or
``BATCH_BYTES`` bytes read), so a killed import keeps its finished batches.
Each document remembers its source (its path in the tree), so a re-run skips
every file this client already had from that path with that content, even if
it was moved or removed since, and finishes the rest.
Every file lands in exactly one of the summary's counts: imported (content
new to this client), duplicates (content this client had, or an earlier file
of this run), skipped (already imported), conflicts (another document has
that name there), refused (too big, a name that cannot be stored, a link),
unreadable (permission denied, vanished, a link to nothing, not a regular
file), ignored (hidden files, Thumbs.db, desktop.ini).
"""

from __future__ import annotations

import os
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from sempi_cli.clock import Clock
from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.services import event_log
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.content import (
    MB,
    WHOLE_READ,
    ContentStore,
    FileContent,
    FileProblem,
    read_content,
)
from sempi_cli.services.documents.documents import added_data, limit_bytes
from sempi_cli.services.documents.folders import FolderAccess, Tree, folder_key, load_tree
from sempi_cli.services.documents.walk import Plan, Planned, plan, read_mapping

BATCH_FILES = 200
BATCH_BYTES = 50 * MB
READ_AHEAD_FILES = 64
READ_AHEAD_BYTES = 64 * MB
Progress = Callable[[int, int], None]


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
        for _weight, future in self.pending:
            future.cancel()
        self.pool.shutdown(wait=True)

    def _outcomes(self) -> Iterator[FileContent | FileProblem]:
        for _file in self.files:
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
            # No link followed: one put in place of a file since the walk is refused.
            future = self.pool.submit(read_content, path, self.limit, follow_links=False)
            self.pending.append((weight, future))
            self.ahead_bytes += weight
            self.queued += 1

    def _weight(self, position: int) -> int:
        """The memory a file's outcome holds: its bytes if read whole, else nothing."""
        size = self.files[position].size
        return size if size <= WHOLE_READ else 0


class DocImport(Service):
    """The backlog import; a client's access checks and the folders it makes are the
    FolderAccess it holds (composed, not inherited)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor | None = None) -> None:
        super().__init__(db, clock, actor)
        self.folders = FolderAccess(db, clock, actor)

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
            if os.path.exists(directory):
                raise InvalidData("DIR", _("{dir} is not a folder").format(dir=directory))
            raise InvalidData("DIR", _("{dir} does not exist").format(dir=directory))
        self.folders.organisable_client(client_id)
        tree = load_tree(self.db, client_id)
        rules = read_mapping(mapping, tree) if mapping else {}
        work = plan(directory, tree, rules)
        if not work.mapped_dirs and work.unmapped:
            shown = ", ".join(work.unmapped[:5]) + (", ..." if len(work.unmapped) > 5 else "")
            raise InvalidData(
                "DIR",
                _("nothing in {dir} matches a folder of client {client} ({shown})").format(
                    dir=directory, client=client_id, shown=shown
                ),
                _(
                    "name the directories like the folders ('sempi doc folder list --client"
                    " {client}') or give a mapping file with --mapping"
                ).format(client=client_id),
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
        self.store = ContentStore(self.db, service.now())
        self.done: dict[tuple[int, str], str] = {}  # (folder id, name) -> sha256, this run
        self.fake: dict[tuple[int | str | None, ...], int] = {}  # folders a dry run would make
        self.had, self.sources = self._client_contents()

    def _client_contents(self) -> tuple[set[str], set[tuple[str, str]]]:
        """This client's contents (SHA-256s) and (source, SHA-256)s, live or removed,
        read once. Imported and duplicates are counted against these, never against
        the whole store: whether another client holds a file must not show, not even
        in a dry run. Read before the first batch: a document another process adds
        meanwhile only moves a file from imported to duplicates."""
        had: set[str] = set()
        sources: set[tuple[str, str]] = set()
        for sha256, source in self.db.execute(
            "SELECT sha256, source FROM documents WHERE client_id = ?", (self.client_id,)
        ):
            had.add(sha256)
            if source is not None:
                sources.add((source, sha256))
        return had, sources

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
            # Under the lock: the right to write here still holds (the client may
            # have been removed, the user taken out of its work group, during a long
            # import), the folders as they are now, and no content id remembered
            # from before (a checklist may have let one go since).
            self.service.folders.organisable_client(self.client_id)
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
            self._insert(tree, rows)
            if rows or self.counts["folders_created"] > made:
                self.service.audit(
                    "import", "client", self.client_id, documents=len(rows),
                    bytes_stored=stored, folders_created=self.counts["folders_created"] - made,
                )  # fmt: skip
        return position

    def _insert(self, tree: Tree, rows: list[tuple]) -> None:
        """A batch's documents, and their ``document.added`` events: one executemany
        each. The ids follow the largest one, read under this batch's write lock
        (INTEGER PRIMARY KEY: a new row takes the largest id + 1)."""
        if not rows:
            return
        last = int(self.db.execute("SELECT coalesce(max(id), 0) FROM documents").fetchone()[0])
        self.db.executemany(
            "INSERT INTO documents (client_id, folder_id, name, attachment_id, size,"
            " sha256, added_by, added_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        paths: dict[int, str] = {}
        event_log.record_many(
            self.db, self.service.clock, self.service.actor, "document.added",
            (
                (last + n, self.client_id, None,
                 added_data(name, paths.setdefault(folder_id, tree.path(folder_id)), size,
                            sha256, None))
                for n, (_client, folder_id, name, _blob, size, sha256, *_rest)
                in enumerate(rows, start=1)
            ),
        )  # fmt: skip

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
            folder_id, created = self.service.folders.ensure(tree, missing, parent)
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
        if isinstance(outcome, FileContent) and (item.rel, outcome.sha256) in self.sources:
            # Imported before from this path with this content: skipped even if it was
            # removed or moved since (a re-run must not bring it back).
            self.counts["bytes_read"] += outcome.size
            self.counts["skipped"] += 1
            return None
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
        self.counts["bytes_read"] += outcome.size
        if prior is not None:
            if prior == outcome.sha256:
                self.counts["skipped"] += 1
                return None
            return self._conflict(item)
        if not self.dry_run:
            try:
                attachment_id = self.store.store(outcome)
            except FileProblem as problem:
                return self.work.problem("unreadable", item.rel, problem.reason)
            rows.append(
                (self.client_id, folder_id, item.name, attachment_id, outcome.size,
                 outcome.sha256, self.service.actor.id, self.service.now(), item.rel)
            )  # fmt: skip
        self.done[(folder_id, item.name)] = outcome.sha256
        self._count_new(outcome)
        return None

    def _count_new(self, content: FileContent) -> None:
        """A new document: imported if this client never had its content (nor did an
        earlier file of this run), else a duplicate."""
        if content.sha256 in self.had:
            self.counts["duplicates"] += 1
            return
        self.had.add(content.sha256)
        self.counts["imported"] += 1
        self.counts["bytes_stored"] += content.size

    def _conflict(self, item: Planned) -> None:
        self.work.problem(
            "conflict",
            item.rel,
            _("folder {folder} already has another document named {name}").format(
                folder=repr("/".join(item.folder)), name=repr(item.name)
            ),
        )
