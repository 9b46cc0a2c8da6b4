"""Rows that break the boundary between practices (access.outside_reason), found
after the fact: roles granted before the rule existed, or written behind the
tool's back. `sempi doctor` and `sempi db check` report them; nothing deletes
them, since only a person can tell which side of each was meant. Reads already
ignore them (access.within_reach_sql)."""

from __future__ import annotations

import sqlite3

from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _

# (the line for one crossing, SQL giving task-or-client id and user id for each role
# on a client's work)
_ROLES = (
    (N_("{email} is responsible of task {id} across practices"),
     "SELECT t.id, t.client_id, t.responsible_id AS user_id FROM tasks t"),
    (N_("{email} is member of task {id} across practices"),
     "SELECT m.task_id, t.client_id, m.user_id FROM task_members m"
     " JOIN tasks t ON t.id = m.task_id"),
    (N_("{email} is checklist item member on task {id} across practices"),
     "SELECT cl.task_id, t.client_id, cm.user_id"
     " FROM checklist_item_members cm JOIN checklist_items ci ON ci.id = cm.item_id"
     " JOIN checklists cl ON cl.id = ci.checklist_id JOIN tasks t ON t.id = cl.task_id"),
    (N_("{email} is work group member of client {id} across practices"),
     "SELECT g.client_id AS id, g.client_id, g.user_id FROM work_group_members g"),
)  # fmt: skip

_OUTSIDE = (
    "(u.role IN ('studio-admin', 'studio-operator') AND r.client_id IS NOT NULL"
    " AND u.studio_id IS DISTINCT FROM c.studio_id)"
    " OR (u.role = 'external' AND u.client_id IS DISTINCT FROM r.client_id)"
)


def crossings(db: sqlite3.Connection, limit: int = 50) -> list[str]:
    """One line per role held across the boundary, at most ``limit`` of them."""
    found: list[str] = []
    for line, roles in _ROLES:
        rows = db.execute(
            f"SELECT r.*, u.email FROM ({roles}) r JOIN users u ON u.id = r.user_id"
            f" LEFT JOIN clients c ON c.id = r.client_id WHERE {_OUTSIDE}"
            " ORDER BY 1, u.email LIMIT ?",
            (limit - len(found),),
        ).fetchall()
        found += [_(line).format(email=row["email"], id=row[0]) for row in rows]
        if len(found) >= limit:
            break
    return found
