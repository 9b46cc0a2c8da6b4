"""Files attached to checklist items, kept in the store.

Content is stored once per SHA-256 in the file store documents share
(services/content.py: the same file on ten items is one blob); each item links
to it under a name. A file over ``checklist.max_attachment_mb``
is refused before it is read in full. A file goes when its last link goes;
checking an item keeps its files.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3

from sempi_cli.clock import Clock
from sempi_cli.errors import Conflict, InvalidData, NotFound, RuleViolation
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import number
from sempi_cli.services import content as files
from sempi_cli.services import settings
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.checklists.items import ChecklistItems
from sempi_cli.services.text import no_control

MB = 1024 * 1024


class Attachments(Service):
    """Files on items; holds the ChecklistItems that finds an item and says who may
    check it (whoever may check an item may attach its evidence)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor | None = None) -> None:
        super().__init__(db, clock, actor)
        self.items = ChecklistItems(db, clock, actor)
        self.tasks = self.items.tasks

    def limit(self) -> int:
        return int(settings.get(self.db, "checklist.max_attachment_mb")) * MB

    def attach(self, item_id: int, path: str, name: str | None = None) -> dict:
        """Attach a file: whoever may check the item may attach its evidence."""
        name = _clean_name(name if name is not None else os.path.basename(path))
        content = self._read(path)  # before taking the write lock: reading may be slow
        digest = hashlib.sha256(content).hexdigest()
        with self.transaction():
            ((_item, task, tree),) = self.items.resolve([item_id])
            self.items.may_check(task, tree, item_id)
            attachment_id = files.store_bytes(self.db, content, digest, self.now())
            if not self.db.execute(
                "INSERT INTO item_attachments (item_id, attachment_id, name, added_at, added_by)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_id, name) DO NOTHING",
                (item_id, attachment_id, name, self.now(), self.actor.id),
            ).rowcount:
                raise Conflict(
                    _("item {item} already has a file named {name}").format(
                        item=item_id, name=repr(name)
                    ),
                    _("give it another name with --name, or remove the old one first"),
                )
            self.tasks.history(task["id"], "attach_file", f"item {item_id}", None, name)
        return {"item_id": item_id, "name": name, "size": len(content), "sha256": digest}

    def _read(self, path: str) -> bytes:
        from sempi_cli.services.user_files import read_user_file

        limit = self.limit()
        return read_user_file(
            path,
            "PATH",
            limit=limit,
            too_big=lambda size: self._too_big(path, size, limit),
            folder=_("{path} is a folder, not a file"),
        )

    @staticmethod
    def _too_big(path: str, size: int, limit: int) -> RuleViolation:
        return RuleViolation(
            _("{file} is {size} MB, over the limit of {limit} MB").format(
                file=os.path.basename(path), size=number(size / MB, 1), limit=limit // MB
            ),
            _("a firm administrator can change it: sempi config set checklist.max_attachment_mb N"),
        )

    def content(self, item_id: int, name: str) -> tuple[str, bytes]:
        """A file's name and bytes, for anyone who sees the task."""
        self.items.resolve([item_id])
        row = self.db.execute(
            "SELECT ia.name, a.content FROM item_attachments ia JOIN attachments a"
            " ON a.id = ia.attachment_id WHERE ia.item_id = ? AND ia.name = ?",
            (item_id, name),
        ).fetchone()
        if row is None:
            raise NotFound(
                _("item {item} has no file named {name}").format(item=item_id, name=repr(name)),
                _("see 'sempi checklist show {item}'").format(item=item_id),
            )
        return row[0], bytes(row[1])

    def detach(self, item_id: int, name: str) -> dict:
        with self.transaction():
            ((_item, task, tree),) = self.items.resolve([item_id])
            self.items.may_check(task, tree, item_id)
            row = self.db.execute(
                "SELECT id, attachment_id FROM item_attachments WHERE item_id = ? AND name = ?",
                (item_id, name),
            ).fetchone()
            if row is None:
                raise NotFound(
                    _("item {item} has no file named {name}").format(item=item_id, name=repr(name))
                )
            self.db.execute("DELETE FROM item_attachments WHERE id = ?", (row[0],))
            files.drop_unlinked(self.db, [row[1]])
            self.tasks.history(task["id"], "detach_file", f"item {item_id}", name, None)
        return {"item_id": item_id, "name": name}


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise InvalidData("--name", _("{name} is not a file name").format(name=repr(name)))
    no_control(name, "--name")
    return name
