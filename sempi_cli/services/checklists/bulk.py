"""Writing checklists in bulk, for a caller that makes thousands at once (the scheduler).

checklists/ owns the checklist tables, so a bulk writer elsewhere calls these
functions instead of its own SQL. Rows pass straight through to one
``executemany`` per table, inside the caller's transaction (nothing here opens
one). Ids given by the caller come from ``next_ids`` read under its ``BEGIN
IMMEDIATE`` lock, so nobody else writes meanwhile; an item's parent is an id of
the same rows, so a whole tree goes in without a round trip per item.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

# A spec as templates keep checklists: [{"name", "items": [{"text", "important", "depth"}]}]
ChecklistSpec = list[dict]
# Per list: (name, items as (index of the parent in the list or None, position, text, important))
FlatChecklists = list[tuple[str, list[tuple[int | None, int, str, int]]]]

# The order of the values in each row ``insert_many`` takes.
LIST_COLUMNS = ("id", "task_id", "name", "position", "created_at")
ITEM_COLUMNS = (
    "id", "checklist_id", "parent_id", "position", "text", "important", "created_at",
    "updated_at",
)  # fmt: skip

Row = Sequence[object]


def flatten(spec: ChecklistSpec) -> FlatChecklists:
    """Per list: its items in order, each with the index of its parent in the list,
    depth resolved the way ChecklistService.instantiate does (a depth deeper than
    one below the previous item goes one below it)."""
    flat: FlatChecklists = []
    for checklist in spec:
        items: list[tuple[int | None, int, str, int]] = []
        parents: list[int] = []
        for position, entry in enumerate(checklist["items"], 1):
            depth = min(int(entry.get("depth", 0)), len(parents))
            del parents[depth:]
            items.append(
                (
                    parents[-1] if parents else None,
                    position,
                    entry["text"],
                    int(bool(entry.get("important"))),
                )
            )
            parents.append(len(items) - 1)
        flat.append((checklist["name"], items))
    return flat


def next_ids(db: sqlite3.Connection) -> tuple[int, int]:
    """The first free checklist id and the first free item id; valid while the
    caller holds the write lock."""
    row = db.execute(
        "SELECT (SELECT coalesce(max(id), 0) + 1 FROM checklists),"
        " (SELECT coalesce(max(id), 0) + 1 FROM checklist_items)"
    ).fetchone()
    return int(row[0]), int(row[1])


def insert_many(db: sqlite3.Connection, lists: Iterable[Row], items: Iterable[Row]) -> None:
    """Checklists (rows with the values of LIST_COLUMNS), then their items (rows with
    the values of ITEM_COLUMNS, a parent before its sub-items)."""
    db.executemany(
        "INSERT INTO checklists (id, task_id, name, position, created_at) VALUES (?, ?, ?, ?, ?)",
        lists,
    )
    db.executemany(
        "INSERT INTO checklist_items (id, checklist_id, parent_id, position, text, important,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        items,
    )
