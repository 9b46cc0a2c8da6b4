"""Moving checklist items: reorder, re-parent, or move to another list of the
same task, several at once, all or nothing. An item never goes under itself or
one of its own sub-items (that would cut it off from its list).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from sempi_cli.clock import Clock
from sempi_cli.errors import InvalidData, RuleViolation
from sempi_cli.i18n import gettext as _
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.checklists.checklists import Tree
from sempi_cli.services.checklists.items import ChecklistItems
from sempi_cli.store.sql import listed


@dataclass
class Where:
    """Where ``move`` puts items; unset fields leave that part as it is."""

    list_name: str | None = None
    under: int | None = None
    top: bool = False
    before: int | None = None
    after: int | None = None
    position: int | None = None  # 1-based among the new siblings

    def is_empty(self) -> bool:
        return (
            self.list_name is None
            and self.under is None
            and not self.top
            and self.before is None
            and self.after is None
            and self.position is None
        )


class ChecklistMoves(Service):
    """Moving items; holds the ChecklistItems that finds them, places them in a list
    and re-opens what a move puts an open item under."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor | None = None) -> None:
        super().__init__(db, clock, actor)
        self.items = ChecklistItems(db, clock, actor)
        self.tasks = self.items.tasks

    def move(self, item_ids: list[int], where: Where, *, dry_run: bool = False) -> list[dict]:
        """Reorder, re-parent, or move items to another list of their task, in the
        order given. An item never goes under itself or one of its sub-items."""
        if where.is_empty():
            raise InvalidData(
                "options", _("say where: --under, --top, --list, --before, --after or --position")
            )
        if sum(x is not None for x in (where.under, where.before, where.after)) + where.top > 1:
            raise InvalidData("options", _("use only one of --under, --top, --before, --after"))
        if where.position is not None and where.position < 1:
            raise InvalidData("--position", _("positions start at 1"))
        moved: list[dict] = []
        with self.rehearsal(dry_run):
            found = self.items.resolve(item_ids)
            task, tree = found[0][1], found[0][2]
            if any(t["id"] != task["id"] for _item, t, _tree in found):
                raise InvalidData("ITEM", _("items of different tasks cannot move together"))
            self.tasks.may_change(task)
            ids = [i for i, _task, _tree in found]
            checklist_id, parent, index = self._destination(tree, ids, where)
            for item_id in ids:
                if parent is not None and parent in tree.subtree(item_id):
                    raise RuleViolation(
                        _(
                            "item {item} cannot go under item {parent}:"
                            " that is inside its own sub-items"
                        ).format(item=item_id, parent=parent)
                    )
            before = {i: self._place(tree, i) for i in ids}
            for item_id in ids:  # out of their old places
                item = tree.items[item_id]
                tree.children[(item["checklist_id"], item["parent_id"])].remove(item_id)
            siblings = tree.children.setdefault((checklist_id, parent), [])
            index = len(siblings) if index is None else min(index, len(siblings))
            siblings[index:index] = ids
            for item_id in ids:
                item = tree.items[item_id]
                if item["checklist_id"] != checklist_id:
                    subtree_ids = tree.subtree(item_id)  # still keyed by the old list
                    for sub in subtree_ids:
                        kids = tree.children.pop((item["checklist_id"], sub), None)
                        if kids is not None:
                            tree.children[(checklist_id, sub)] = kids
                    for sub in subtree_ids:
                        tree.items[sub]["checklist_id"] = checklist_id
                    self.db.execute(
                        "UPDATE checklist_items SET checklist_id = ? WHERE id IN"
                        f" ({listed(self.db, '?')})",
                        (checklist_id, json.dumps(subtree_ids)),
                    )
                item["parent_id"] = parent
                self.items.update_item(item_id, parent_id=parent)
            for position, sibling in enumerate(siblings, 1):
                if tree.items[sibling]["position"] != position:
                    tree.items[sibling]["position"] = position
                    self.db.execute(
                        "UPDATE checklist_items SET position = ? WHERE id = ?", (position, sibling)
                    )
            if parent is not None and any(
                tree.items[s]["done_at"] is None for i in ids for s in tree.subtree(i)
            ):
                self.items.reopen(tree, [parent, *tree.ancestors(parent)])
            for item_id in ids:
                after = self._place(tree, item_id)
                if after != before[item_id]:
                    self.tasks.history(
                        task["id"], "move_item", f"item {item_id}", before[item_id], after
                    )
                    moved.append(
                        {
                            "id": item_id,
                            "text": tree.items[item_id]["text"],
                            "from": before[item_id],
                            "to": after,
                        }
                    )
        return moved

    def _destination(
        self, tree: Tree, ids: list[int], where: Where
    ) -> tuple[int, int | None, int | None]:
        """(list, parent, index among the siblings without the moved items or None: the end)."""
        first = tree.items[ids[0]]
        anchor = where.before if where.before is not None else where.after
        if anchor is not None:
            if anchor not in tree.items:
                raise InvalidData(
                    "--before" if where.before else "--after",
                    _("item {item} is not in task {task}").format(item=anchor, task=tree.task_id),
                )
            if anchor in ids:
                raise InvalidData(
                    "--before" if where.before else "--after",
                    _("item {item} is one of those moving").format(item=anchor),
                )
            item = tree.items[anchor]
            checklist_id, parent = item["checklist_id"], item["parent_id"]
            siblings = [s for s in tree.children[(checklist_id, parent)] if s not in ids]
            index = siblings.index(anchor) + (where.after is not None)
        elif where.under is not None or where.top:
            checklist_id = (
                self.items.target_list(tree, where.list_name, where.under)
                if where.under is not None or where.list_name
                else first["checklist_id"]
            )
            parent = where.under
            index = None
        elif where.list_name is not None:
            checklist_id = tree.list_named(where.list_name)["id"]
            parent = None if checklist_id != first["checklist_id"] else first["parent_id"]
            index = None
        else:
            checklist_id, parent, index = first["checklist_id"], first["parent_id"], None
        if where.position is not None:
            if anchor is not None:
                raise InvalidData("--position", _("use --position without --before or --after"))
            index = where.position - 1
        return int(checklist_id), parent, index

    def _place(self, tree: Tree, item_id: int) -> str:
        item = tree.items[item_id]
        siblings = tree.children[(item["checklist_id"], item["parent_id"])]
        under = f" under {item['parent_id']}" if item["parent_id"] is not None else ""
        return f"{tree.lists[item['checklist_id']]['name']}{under} #{siblings.index(item_id) + 1}"
