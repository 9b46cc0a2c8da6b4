"""Checklists on tasks: named lists of items, items nested without limit.

This module owns ``checklists`` and reading the tree; the items' writers live in
checklist_items.py, files in attachments.py. A task's whole tree is read with
one query and put together in Python (never one query per level), and every
walk is iterative, so depth is bounded by memory, not by the call stack.
Invariant kept by every writer: a done item has only done sub-items (checking
an item checks its sub-items; an open sub-item re-opens its ancestors).
Every change is a line in the task's history.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from sempi_cli.errors import Conflict, InvalidData, NotFound
from sempi_cli.i18n import gettext as _
from sempi_cli.services import content as files
from sempi_cli.services.base import Service
from sempi_cli.services.tasks.tasks import TaskService
from sempi_cli.services.text import no_control
from sempi_cli.store.sql import listed

DEFAULT_LIST = "Checklist"
MAX_NAME = 80


_NOBODY: dict[int, set[str]] = {}


def _who(people: dict[int, set[str]], role: str, emails: dict[int, str]) -> list[str]:
    return sorted(emails[u] for u, roles in people.items() if role in roles) if people else []


def clean_text(text: str | None, name: str = "TEXT") -> str:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise InvalidData(name, _("the item's text is empty"))
    no_control(cleaned, name)
    return cleaned


def clean_name(text: str | None, name: str = "NAME") -> str:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise InvalidData(name, _("the checklist's name is empty"))
    no_control(cleaned, name)
    if len(cleaned) > MAX_NAME:
        raise InvalidData(
            name,
            _("the checklist's name is longer than {n} characters").format(n=MAX_NAME),
        )
    return cleaned


@dataclass
class Tree:
    """A task's checklists and items, in memory, with the walks every writer needs."""

    task_id: int
    lists: dict[int, dict] = field(default_factory=dict)  # in position order
    items: dict[int, dict] = field(default_factory=dict)
    # (checklist_id, parent_id or None) -> item ids in order
    children: dict[tuple[int, int | None], list[int]] = field(default_factory=dict)
    members: dict[int, dict[int, set[str]]] = field(default_factory=dict)  # item -> user -> roles

    def kids(self, item_id: int) -> list[int]:
        return self.children.get((self.items[item_id]["checklist_id"], item_id), [])

    def walk(self, checklist_id: int) -> Iterator[tuple[int, int]]:
        """(item id, depth) in display order."""
        stack = [(i, 0) for i in reversed(self.children.get((checklist_id, None), []))]
        while stack:
            item_id, depth = stack.pop()
            yield item_id, depth
            stack.extend((k, depth + 1) for k in reversed(self.kids(item_id)))

    def subtree(self, item_id: int) -> list[int]:
        """The item and all its sub-items, parents before children."""
        found, stack = [], [item_id]
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(reversed(self.kids(current)))
        return found

    def ancestors(self, item_id: int) -> list[int]:
        found = []
        parent = self.items[item_id]["parent_id"]
        while parent is not None:
            found.append(parent)
            parent = self.items[parent]["parent_id"]
        return found

    def counts(self) -> dict[int, tuple[int, int]]:
        """item id -> (done, total) over all its sub-items, at any depth."""
        result: dict[int, list[int]] = {i: [0, 0] for i in self.items}
        for checklist_id in self.lists:
            for item_id, _depth in reversed(list(self.walk(checklist_id))):
                parent = self.items[item_id]["parent_id"]
                if parent is not None:
                    mine, up = result[item_id], result[parent]
                    up[0] += mine[0] + (self.items[item_id]["done_at"] is not None)
                    up[1] += mine[1] + 1
        return {i: (d, t) for i, (d, t) in result.items()}

    def list_named(self, name: str) -> dict:
        wanted = " ".join((name or "").split()).casefold()
        for checklist in self.lists.values():
            if checklist["name"].casefold() == wanted:
                return checklist
        raise NotFound(
            _("task {task} has no checklist {name}").format(task=self.task_id, name=repr(name)),
            _("see 'sempi checklist list {task}'").format(task=self.task_id),
        )


class ChecklistService(Service):
    """Lists, and reading the tree."""

    @property
    def tasks(self) -> TaskService:
        return TaskService(self.db, self.clock, self._actor)

    def tree(self, task_id: int) -> Tree:
        """One query for the lists, one for the items, one for their people."""
        tree = Tree(task_id)
        for row in self.db.execute(
            "SELECT id, name, position FROM checklists WHERE task_id = ? ORDER BY position, id",
            (task_id,),
        ):
            tree.lists[row[0]] = {"id": row[0], "name": row[1], "position": row[2]}
        for row in self.db.execute(
            "SELECT ci.id, ci.checklist_id, ci.parent_id, ci.position, ci.text, ci.important,"
            " ci.done_at, ci.done_by FROM checklist_items ci JOIN checklists cl ON cl.id = ci.checklist_id"
            " WHERE cl.task_id = ? ORDER BY ci.position, ci.id",
            (task_id,),
        ):
            item = dict(row)
            tree.items[item["id"]] = item
            tree.children.setdefault((item["checklist_id"], item["parent_id"]), []).append(
                item["id"]
            )
        for item_id, user_id, role in self.db.execute(
            "SELECT cm.item_id, cm.user_id, cm.role FROM checklist_item_members cm"
            " JOIN checklist_items ci ON ci.id = cm.item_id JOIN checklists cl ON cl.id = ci.checklist_id"
            " WHERE cl.task_id = ?",
            (task_id,),
        ):
            tree.members.setdefault(item_id, {}).setdefault(user_id, set()).add(role)
        return tree

    # --- lists ------------------------------------------------------------------------

    def add_list(self, task_id: int, name: str) -> dict:
        """A new named checklist at the end of the task's lists."""
        name = clean_name(name)
        with self.transaction():
            task = self.tasks.row(task_id)
            self.tasks.may_change(task)
            checklist = self.create_list(task_id, name)
        return checklist

    def create_list(self, task_id: int, name: str) -> dict:
        """Insert a list (the caller checked access and holds the transaction)."""
        taken = self.db.execute(
            "SELECT 1 FROM checklists WHERE task_id = ? AND name = ? COLLATE NOCASE",
            (task_id, name),
        ).fetchone()
        if taken:
            raise Conflict(
                _("task {task} already has a checklist named {name}").format(
                    task=task_id, name=repr(name)
                )
            )
        position = self.db.execute(
            "SELECT coalesce(max(position), 0) + 1 FROM checklists WHERE task_id = ?", (task_id,)
        ).fetchone()[0]
        checklist_id = self.db.execute(
            "INSERT INTO checklists (task_id, name, position, created_at) VALUES (?, ?, ?, ?)"
            " RETURNING id",
            (task_id, name, position, self.now()),
        ).fetchone()[0]
        self.tasks.history(task_id, "add_checklist", "checklist", None, name)
        return {"id": checklist_id, "task_id": task_id, "name": name}

    def rename_list(self, task_id: int, name: str, new_name: str) -> dict:
        new_name = clean_name(new_name, "NEW_NAME")
        with self.transaction():
            task = self.tasks.row(task_id)
            self.tasks.may_change(task)
            checklist = self.tree(task_id).list_named(name)
            if new_name != checklist["name"]:
                if new_name.casefold() != checklist["name"].casefold():
                    if self.db.execute(
                        "SELECT 1 FROM checklists WHERE task_id = ? AND name = ? COLLATE NOCASE",
                        (task_id, new_name),
                    ).fetchone():
                        raise Conflict(
                            _("task {task} already has a checklist named {name}").format(
                                task=task_id, name=repr(new_name)
                            )
                        )
                self.db.execute(
                    "UPDATE checklists SET name = ? WHERE id = ?", (new_name, checklist["id"])
                )
                self.tasks.history(
                    task_id, "rename_checklist", "checklist", checklist["name"], new_name
                )
        return {"id": checklist["id"], "task_id": task_id, "name": new_name}

    def remove_list(self, task_id: int, name: str, *, dry_run: bool = False) -> dict:
        """A list goes with its items, their people and their files."""
        with self.rehearsal(dry_run):
            task = self.tasks.row(task_id)
            self.tasks.may_change(task)
            tree = self.tree(task_id)
            checklist = tree.list_named(name)
            ids = [i for i, _depth in tree.walk(checklist["id"])]
            self.delete_items(ids)
            self.db.execute("DELETE FROM checklists WHERE id = ?", (checklist["id"],))
            self.tasks.history(task_id, "remove_checklist", "checklist", checklist["name"], None)
        return {
            "id": checklist["id"],
            "task_id": task_id,
            "name": checklist["name"],
            "items": len(ids),
        }

    def delete_items(self, ids: list[int]) -> None:
        """Delete items (whole subtrees: the caller passes them all), their people,
        their links to files, and files no other item uses."""
        if not ids:
            return
        chosen = (json.dumps(ids),)
        linked = [
            r[0]
            for r in self.db.execute(
                "SELECT DISTINCT attachment_id FROM item_attachments"
                f" WHERE item_id IN ({listed(self.db, '?')})",
                chosen,
            )
        ]
        self.db.execute(
            f"DELETE FROM checklist_item_members WHERE item_id IN ({listed(self.db, '?')})",
            chosen,
        )
        self.db.execute(
            f"DELETE FROM item_attachments WHERE item_id IN ({listed(self.db, '?')})",
            chosen,
        )
        # One statement for the whole subtree: foreign keys are checked at its end.
        self.db.execute(f"DELETE FROM checklist_items WHERE id IN ({listed(self.db, '?')})", chosen)
        files.drop_unlinked(self.db, linked)

    # --- reading ----------------------------------------------------------------------

    def view(
        self,
        task_id: int,
        *,
        include_done: bool = False,
        mine: bool = False,
        list_name: str | None = None,
    ) -> dict:
        """The task's checklists as flat, ordered item lists (``depth`` and
        ``parent_id`` give the tree); done/total per list and per parent count
        every item, shown or not."""
        task = self.tasks.row(task_id)
        tree = self.tree(task_id)
        lists = [tree.list_named(list_name)] if list_name else list(tree.lists.values())
        counts = tree.counts()
        emails = self.emails(tree)
        files = dict(
            self.db.execute(
                "SELECT ia.item_id, count(*) FROM item_attachments ia JOIN checklist_items ci"
                " ON ci.id = ia.item_id JOIN checklists cl ON cl.id = ci.checklist_id"
                " WHERE cl.task_id = ? GROUP BY ia.item_id",
                (task_id,),
            ).fetchall()
        )
        keep: set[int] | None = None
        if mine:
            keep = set()
            for item_id, people in tree.members.items():
                if self.actor.id in people:
                    keep.update(tree.subtree(item_id))
                    keep.update(tree.ancestors(item_id))
        result = []
        for checklist in lists:
            rows, skip_depth = [], None
            done = total = 0
            for item_id, depth in tree.walk(checklist["id"]):
                item = tree.items[item_id]
                total += 1
                done += item["done_at"] is not None
                if skip_depth is not None and depth > skip_depth:
                    continue
                skip_depth = None
                if (not include_done and item["done_at"] is not None) or (
                    keep is not None and item_id not in keep
                ):
                    skip_depth = depth  # its sub-items go with it
                    continue
                people = tree.members.get(item_id) or _NOBODY
                rows.append(
                    {
                        "id": item_id,
                        "parent_id": item["parent_id"],
                        "depth": depth,
                        "text": item["text"],
                        "done": item["done_at"] is not None,
                        "important": bool(item["important"]),
                        "done_count": counts[item_id][0],
                        "total_count": counts[item_id][1],
                        "participants": _who(people, "participant", emails),
                        "observers": _who(people, "observer", emails),
                        "files": files.get(item_id, 0),
                        "done_at": item["done_at"],
                        "done_by": emails.get(item["done_by"]),
                    }
                )
            result.append(
                {
                    "id": checklist["id"],
                    "name": checklist["name"],
                    "done": done,
                    "total": total,
                    "hidden": total - len(rows),
                    "items": rows,
                }
            )
        return {"task_id": task_id, "title": task["title"], "checklists": result}

    def emails(self, tree: Tree) -> dict[int, str]:
        """The e-mail of everyone on an item or who checked one, by user id."""
        ids = {u for people in tree.members.values() for u in people}
        ids |= {i["done_by"] for i in tree.items.values() if i["done_by"] is not None}
        if not ids:
            return {}
        return dict(
            self.db.execute(
                f"SELECT id, email FROM users WHERE id IN ({listed(self.db, '?')})",
                (json.dumps(sorted(ids)),),
            ).fetchall()
        )

    # --- templates --------------------------------------------------------------------

    def template_of(self, task_id: int) -> str:
        """A task's checklists as a template keeps them (JSON): per list, its items
        in order with their depth. Flat, so no depth is too deep to store."""
        tree = self.tree(task_id)
        spec = [
            {
                "name": checklist["name"],
                "items": [
                    {
                        "text": tree.items[i]["text"],
                        "important": bool(tree.items[i]["important"]),
                        "depth": depth,
                    }
                    for i, depth in tree.walk(checklist["id"])
                ],
            }
            for checklist in tree.lists.values()
        ]
        return json.dumps(spec, ensure_ascii=False)

    def instantiate(self, task_id: int, spec_json: str) -> int:
        """Give a new task (made from a template) open copies of the template's
        checklists; the caller holds the transaction. Returns the items made."""
        made = 0
        for spec in json.loads(spec_json or "[]"):
            checklist = self.create_list(task_id, spec["name"])
            parents: list[int] = []  # the open path: parents[d] is the last item at depth d
            for position, entry in enumerate(spec["items"], 1):
                depth = min(int(entry.get("depth", 0)), len(parents))
                del parents[depth:]
                now = self.now()
                item_id = self.db.execute(
                    "INSERT INTO checklist_items (checklist_id, parent_id, position, text, important,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (
                        checklist["id"],
                        parents[-1] if parents else None,
                        position,
                        entry["text"],
                        int(bool(entry.get("important"))),
                        now,
                        now,
                    ),
                ).fetchone()[0]
                parents.append(item_id)
                made += 1
        return made
