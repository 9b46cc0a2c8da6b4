"""Checklist items: adding, editing, checking, moving, removing, their people.

Moves live in checklist_moves.py, files in attachments.py.
Group actions take several item ids (of one task or several) and are all or
nothing: one transaction, every check made before anything is kept, and with
``dry_run`` the very same work rolled back. Who may do what: the task's
creator and responsible (and firm administrators) change lists and items;
task participants and item participants (of the item or one above it) may
also check and uncheck; observers only read.
"""

from __future__ import annotations

import json
import re
import sqlite3

from sempi_cli.clock import Clock
from sempi_cli.errors import InvalidData, NotFound, PermissionDenied, RuleViolation
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.checklists.checklists import (
    DEFAULT_LIST,
    ChecklistService,
    Tree,
    clean_text,
)
from sempi_cli.services.tasks.tasks import TaskService
from sempi_cli.store.sql import listed

ROLES = ("participant", "observer")
# A line of a description that is a list entry: "- x", "* x", "• x", "1. x", "2) x", "[ ] x".
_BULLET = re.compile(r"^(\s*)(?:[-*+•–]\s+|\d{1,3}[.)]\s+)?(?:\[[ xX]\]\s*)?(.*)$")
_IS_ENTRY = re.compile(r"^\s*(?:[-*+•–]\s+|\d{1,3}[.)]\s+|\[[ xX]\]\s*)")


class ChecklistItems(Service):
    """The items of a task's checklists. Holds the ChecklistService that owns the lists
    and reads the tree, and the TaskService whose rights and history every change
    goes through (composed, not inherited)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor | None = None) -> None:
        super().__init__(db, clock, actor)
        self.lists = ChecklistService(db, clock, actor)
        self.tasks = TaskService(db, clock, actor)

    # --- finding items and deciding who may touch them ---------------------------------

    def resolve(self, item_ids: list[int]) -> list[tuple[int, sqlite3.Row, Tree]]:
        """(item id, task, tree) for each id, in order, duplicates dropped. An item
        of a task the actor cannot see is "not found", exactly like a missing one."""
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            raise InvalidData("ITEM", _("give at least one item id"))
        task_of = dict(
            self.db.execute(
                "SELECT ci.id, cl.task_id FROM checklist_items ci JOIN checklists cl"
                f" ON cl.id = ci.checklist_id WHERE ci.id IN ({listed(self.db, '?')})",
                (json.dumps(ids),),
            ).fetchall()
        )
        loaded: dict[int, tuple[sqlite3.Row, Tree]] = {}
        found = []
        for item_id in ids:
            task_id = task_of.get(item_id)
            if task_id is None:
                raise NotFound(_("checklist item {item} not found").format(item=item_id))
            if task_id not in loaded:
                try:
                    task = self.tasks.row(task_id)
                except NotFound:
                    raise NotFound(
                        _("checklist item {item} not found").format(item=item_id)
                    ) from None
                loaded[task_id] = (task, self.lists.tree(task_id))
            found.append((item_id, *loaded[task_id]))
        return found

    def may_check(self, task: sqlite3.Row, tree: Tree, item_id: int) -> None:
        actor = self.actor
        if actor.id in (task["creator_id"], task["responsible_id"]) or actor.is_firm_admin:
            return
        for above in (item_id, *tree.ancestors(item_id)):
            if "participant" in tree.members.get(above, {}).get(actor.id, set()):
                return
        if self.db.execute(
            "SELECT 1 FROM task_members WHERE task_id = ? AND user_id = ? AND role = 'participant'",
            (task["id"], actor.id),
        ).fetchone():
            return
        raise PermissionDenied(
            _("only the creator, the responsible or a participant may check item {item}").format(
                item=item_id
            )
        )

    # --- adding -----------------------------------------------------------------------

    def add(
        self,
        task_id: int,
        text: str,
        *,
        list_name: str | None = None,
        under: int | None = None,
        important: bool = False,
        participants: list[str] | None = None,
        observers: list[str] | None = None,
    ) -> dict:
        text = clean_text(text)
        with self.transaction():
            task = self.tasks.row(task_id)
            self.tasks.may_change(task)
            tree = self.lists.tree(task_id)
            item_id = self._insert(tree, text, list_name, under, important)
            for role, people in (("participant", participants), ("observer", observers)):
                for ref in people or []:
                    self._add_member(task, item_id, ref, role)
        return self.show(item_id)

    def target_list(self, tree: Tree, list_name: str | None, under: int | None) -> int:
        """The list a new or moved item goes to: the one of ``under``, the one named,
        else the task's only list (a first one made if it has none)."""
        if under is not None:
            if under not in tree.items:
                raise InvalidData(
                    "--under",
                    _("item {item} is not in task {task}").format(item=under, task=tree.task_id),
                )
            checklist_id = tree.items[under]["checklist_id"]
            if list_name is not None and tree.list_named(list_name)["id"] != checklist_id:
                raise InvalidData(
                    "--list", _("item {item} is in another checklist").format(item=under)
                )
            return int(checklist_id)
        if list_name is not None:
            return int(tree.list_named(list_name)["id"])
        if not tree.lists:
            made = self.lists.create_list(tree.task_id, DEFAULT_LIST)
            tree.lists[made["id"]] = {"id": made["id"], "name": made["name"], "position": 1}
            return int(made["id"])
        if len(tree.lists) > 1:
            names = ", ".join(repr(c["name"]) for c in tree.lists.values())
            raise InvalidData(
                "--list",
                _("task {task} has several checklists ({names}): name one").format(
                    task=tree.task_id, names=names
                ),
            )
        return int(next(iter(tree.lists)))

    def _insert(
        self, tree: Tree, text: str, list_name: str | None, under: int | None, important: bool
    ) -> int:
        self.refuse_if_closed(tree.task_id)
        checklist_id = self.target_list(tree, list_name, under)
        siblings = tree.children.setdefault((checklist_id, under), [])
        position = 1 + max((tree.items[s]["position"] for s in siblings), default=0)
        now = self.now()
        item_id = self.db.execute(
            "INSERT INTO checklist_items (checklist_id, parent_id, position, text, important,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (checklist_id, under, position, text, int(important), now, now),
        ).fetchone()[0]
        tree.items[item_id] = {
            "id": item_id,
            "checklist_id": checklist_id,
            "parent_id": under,
            "position": position,
            "text": text,
            "important": int(important),
            "done_at": None,
            "done_by": None,
        }
        siblings.append(item_id)
        self.tasks.history(tree.task_id, "add_item", "checklist_item", None, f"{item_id} {text}")
        self._reopen_above(tree, item_id)
        return item_id

    def from_description(self, task_id: int, list_name: str | None = None) -> list[dict]:
        """Turn the task description's list lines (bullets, numbers, [ ]) into items,
        nested by indentation; without such lines, every non-empty line. Lines that
        are items of the list already (same text, same parent) are skipped, so a
        second run adds only what is new."""
        with self.transaction():
            task = self.tasks.row(task_id)
            self.tasks.may_change(task)
            lines = [line.expandtabs(4) for line in task["description"].splitlines()]
            entries = [line for line in lines if _IS_ENTRY.match(line)] or [
                line for line in lines if line.strip()
            ]
            if not entries:
                raise InvalidData(
                    "description",
                    _("task {task} has no description to turn into items").format(task=task_id),
                )
            tree = self.lists.tree(task_id)
            checklist_id = self.target_list(tree, list_name, None)
            stack: list[tuple[int, int]] = []  # (indent, item id) of the open path
            made = []
            for line in entries:
                match = _BULLET.match(line)
                assert match is not None  # every part of _BULLET is optional: any line matches
                indent, text = len(match.group(1)), " ".join(match.group(2).split())
                if not text:
                    continue
                while stack and stack[-1][0] >= indent:
                    stack.pop()
                parent = stack[-1][1] if stack else None
                existing = next(
                    (
                        i
                        for i in tree.children.get((checklist_id, parent), [])
                        if tree.items[i]["text"] == text
                    ),
                    None,
                )
                if existing is None:
                    name = tree.lists[checklist_id]["name"] if parent is None else None
                    existing = self._insert(tree, text, name, parent, False)
                    made.append({"id": existing, "parent_id": parent, "text": text})
                stack.append((indent, existing))
        return made

    # --- one item -----------------------------------------------------------------------

    def show(self, item_id: int) -> dict:
        ((_item, task, tree),) = self.resolve([item_id])
        item = tree.items[item_id]
        people = tree.members.get(item_id, {})
        emails = self.lists.emails(tree)
        files = self.db.execute(
            "SELECT ia.name, a.size, a.sha256, ia.added_at, u.email AS added_by"
            " FROM item_attachments ia JOIN attachments a ON a.id = ia.attachment_id"
            " JOIN users u ON u.id = ia.added_by WHERE ia.item_id = ? ORDER BY ia.name",
            (item_id,),
        ).fetchall()
        times = self.db.execute(
            "SELECT created_at, updated_at FROM checklist_items WHERE id = ?", (item_id,)
        ).fetchone()
        done, total = tree.counts()[item_id]
        return {
            "id": item_id,
            "task_id": task["id"],
            "checklist": tree.lists[item["checklist_id"]]["name"],
            "parent_id": item["parent_id"],
            "text": item["text"],
            "important": bool(item["important"]),
            "done": item["done_at"] is not None,
            "done_at": item["done_at"],
            "done_by": emails.get(item["done_by"]),
            "sub_items_done": done,
            "sub_items": total,
            "participants": sorted(emails[u] for u, r in people.items() if "participant" in r),
            "observers": sorted(emails[u] for u, r in people.items() if "observer" in r),
            "files": [dict(f) for f in files],
            "created_at": times["created_at"],
            "updated_at": times["updated_at"],
        }

    def edit(self, item_id: int, text: str) -> dict:
        text = clean_text(text, "--text")
        with self.transaction():
            ((_item, task, tree),) = self.resolve([item_id])
            self.tasks.may_change(task)
            old = tree.items[item_id]["text"]
            if old != text:
                self.update_item(item_id, text=text)
                self.tasks.history(task["id"], "edit_item", f"item {item_id}", old, text)
        return self.show(item_id)

    def update_item(self, item_id: int, **values: object) -> None:
        """Set columns of an item and its ``updated_at``; the caller writes the history."""
        sets = ", ".join(f"{k} = :{k}" for k in values)
        self.db.execute(
            f"UPDATE checklist_items SET {sets}, updated_at = :now WHERE id = :id",
            {**values, "now": self.now(), "id": item_id},
        )

    # --- group actions ----------------------------------------------------------------

    def check(self, item_ids: list[int], *, dry_run: bool = False) -> list[dict]:
        """Check items off, each with all its sub-items."""
        changed: list[dict] = []
        now = self.now()
        with self.rehearsal(dry_run):
            for item_id, task, tree in self.resolve(item_ids):
                self.may_check(task, tree, item_id)
                for sub in tree.subtree(item_id):
                    item = tree.items[sub]
                    if item["done_at"] is None:
                        item["done_at"], item["done_by"] = now, self.actor.id
                        self.update_item(sub, done_at=now, done_by=self.actor.id)
                        self.tasks.history(task["id"], "check_item", f"item {sub}", None, "done")
                        changed.append({"id": sub, "text": item["text"], "done": True})
        return changed

    def uncheck(self, item_ids: list[int], *, dry_run: bool = False) -> list[dict]:
        """Open items again, and the items above them (a done item has no open sub-item)."""
        changed: list[dict] = []
        with self.rehearsal(dry_run):
            for item_id, task, tree in self.resolve(item_ids):
                self.may_check(task, tree, item_id)
                changed.extend(self.reopen(tree, [item_id, *tree.ancestors(item_id)]))
        return changed

    def _reopen_above(self, tree: Tree, item_id: int) -> list[dict]:
        return self.reopen(tree, tree.ancestors(item_id))

    def refuse_if_closed(self, task_id: int) -> None:
        """A completed task has no open item: that is what its completion checked.
        Opening one again goes through the task first. (A task awaiting approval may
        gain one: its creator, reviewing, adds what is missing, and approval waits.)"""
        status = self.db.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()[0]
        if status == "completed":
            raise RuleViolation(
                _("task {task} is completed: it cannot gain an open checklist item").format(
                    task=task_id
                ),
                _("reopen the task first: sempi task reopen {task}").format(task=task_id),
            )

    def reopen(self, tree: Tree, ids: list[int]) -> list[dict]:
        """Open those of ``ids`` that are done (a done item has no open sub-item)."""
        changed = []
        if any(tree.items[i]["done_at"] is not None for i in ids):
            self.refuse_if_closed(tree.task_id)
        for item_id in ids:
            item = tree.items[item_id]
            if item["done_at"] is not None:
                item["done_at"] = item["done_by"] = None
                self.update_item(item_id, done_at=None, done_by=None)
                self.tasks.history(tree.task_id, "uncheck_item", f"item {item_id}", "done", None)
                changed.append({"id": item_id, "text": item["text"], "done": False})
        return changed

    def important(
        self, item_ids: list[int], on: bool = True, *, dry_run: bool = False
    ) -> list[dict]:
        changed = []
        with self.rehearsal(dry_run):
            for item_id, task, tree in self.resolve(item_ids):
                self.tasks.may_change(task)
                item = tree.items[item_id]
                if bool(item["important"]) != on:
                    self.update_item(item_id, important=int(on))
                    self.tasks.history(
                        task["id"], "important_item", f"item {item_id}", item["important"], int(on)
                    )
                    changed.append({"id": item_id, "text": item["text"], "important": on})
        return changed

    def remove(self, item_ids: list[int], *, dry_run: bool = False) -> list[dict]:
        """Remove items with their sub-items, people and file links."""
        removed: list[dict] = []
        gone: set[int] = set()
        with self.rehearsal(dry_run):
            for item_id, task, tree in self.resolve(item_ids):
                self.tasks.may_change(task)
                if item_id in gone:  # under an item removed a moment ago
                    continue
                ids = tree.subtree(item_id)
                self.lists.delete_items(ids)
                gone.update(ids)
                text = tree.items[item_id]["text"]
                self.tasks.history(
                    task["id"], "remove_item", "checklist_item", f"{item_id} {text}", None
                )
                removed.append({"id": item_id, "text": text, "sub_items": len(ids) - 1})
        return removed

    # --- people on an item ------------------------------------------------------------

    def add_member(self, item_id: int, user: str, role: str = "participant") -> dict:
        """A participant or observer of an item sees the whole task from now on."""
        if role not in ROLES:
            raise InvalidData(
                "--role",
                _("{value} is not one of {choices}").format(
                    value=repr(role), choices=", ".join(ROLES)
                ),
            )
        with self.transaction():
            ((_item, task, _tree),) = self.resolve([item_id])
            self.tasks.may_change(task)
            self._add_member(task, item_id, user, role)
        return self.show(item_id)

    def _add_member(self, task: sqlite3.Row, item_id: int, ref: str, role: str) -> None:
        user_id = self.tasks.user_id(ref, f"--{role}" if role else "USER")
        access.require_within_reach(self.db, [user_id], task["client_id"], f"--{role}")
        if self.db.execute(
            "INSERT INTO checklist_item_members (item_id, user_id, role) VALUES (?, ?, ?)"
            " ON CONFLICT (item_id, user_id, role) DO NOTHING",
            (item_id, user_id, role),
        ).rowcount:
            self.tasks.history(task["id"], f"add_item_{role}", f"item {item_id}", None, user_id)

    def remove_member(self, item_id: int, user: str, role: str | None = None) -> dict:
        """Take someone off an item (both roles unless one is named); unless they
        have another way in, the task is gone for them on their next command."""
        if role is not None and role not in ROLES:
            raise InvalidData(
                "--role",
                _("{value} is not one of {choices}").format(
                    value=repr(role), choices=", ".join(ROLES)
                ),
            )
        with self.transaction():
            ((_item, task, _tree),) = self.resolve([item_id])
            self.tasks.may_change(task)
            user_id = self.tasks.user_id(user, "USER")
            removed = 0
            for each in [role] if role else list(ROLES):
                if self.db.execute(
                    "DELETE FROM checklist_item_members WHERE item_id = ? AND user_id = ? AND role = ?",
                    (item_id, user_id, each),
                ).rowcount:
                    removed += 1
                    self.tasks.history(
                        task["id"], f"remove_item_{each}", f"item {item_id}", user_id, None
                    )
            if not removed:
                raise NotFound(_("{user} is not on item {item}").format(user=user, item=item_id))
        return self.show(item_id)
