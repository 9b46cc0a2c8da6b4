"""Work changing hands: a client's new responsible takes over its fiscal deadlines
still to come, and `sempi task reassign` moves a person's tasks to a colleague
(someone leaves, goes on leave, changes role).

The scheduler gives each deadline task the client's responsible (or, when the
client has none, the person who ran it: the task's creator). A task still held by
that person was never reassigned by hand, so it follows the client's new
responsible; one someone moved to another colleague stays where it was put.
Started work stays too: in progress, a checked item, time logged, or past.
"""

from __future__ import annotations

import sqlite3

from sempi_cli.errors import InvalidData, NotFound
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.base import Service
from sempi_cli.services.tasks.tasks import TaskService

# Not started: pending, due from now on, nothing checked, no time logged.
_NOT_STARTED = (
    "t.status = 'pending' AND t.removed_at IS NULL AND t.deadline >= :now"
    " AND NOT EXISTS (SELECT 1 FROM checklists cl JOIN checklist_items ci"
    " ON ci.checklist_id = cl.id WHERE cl.task_id = t.id AND ci.done_at IS NOT NULL)"
    " AND NOT EXISTS (SELECT 1 FROM time_entries e WHERE e.task_id = t.id"
    " AND e.removed_at IS NULL)"
)


def follow_client(tasks: TaskService, client_id: int, old_id: int | None, new_id: int) -> list[int]:
    """The client's fiscal deadline tasks to come that its old responsible (or, with
    none, their maker) still holds go to ``new_id``; inside the caller's transaction.
    Returns the tasks moved."""
    rows = tasks.db.execute(
        "SELECT t.* FROM tasks t WHERE t.client_id = :client AND t.external_key LIKE 'fiscal:%'"
        " AND t.responsible_id = coalesce(:old, t.creator_id) AND t.responsible_id <> :new"
        f" AND {_NOT_STARTED} ORDER BY t.id",
        {"client": client_id, "old": old_id, "new": new_id, "now": tasks.now()},
    ).fetchall()
    for row in rows:
        tasks.set_fields(row, {"responsible_id": new_id}, "follow_client")
    return [int(row["id"]) for row in rows]


class Handover(Service):
    def reassign(
        self,
        from_ref: str,
        to_ref: str,
        *,
        client: int | None = None,
        open_only: bool = False,
        dry_run: bool = False,
    ) -> list[dict]:
        """Every task ``from_ref`` is responsible for (of one client, or open only)
        goes to ``to_ref``; firm administrators only. The new responsible must be
        within reach of each task's client, or nothing moves."""
        access.require_firm_admin(self.actor, N_("reassign someone's tasks"))
        from sempi_cli.services.identity.accounts import find_user

        tasks = TaskService(self.db, self.clock, self._actor)
        try:  # someone who left may be disabled already: their tasks still move
            old = int(find_user(self.db, self.actor, from_ref)["id"])
        except NotFound:
            raise InvalidData("--from", _("no user {user}").format(user=repr(from_ref))) from None
        new = tasks.user_id(to_ref, "--to", allow_external=False)
        if old == new:
            raise InvalidData("--to", _("is the same person as --from"))
        if client is not None:
            access.client_row(self.db, self.actor, client)  # NotFound if unseen
        moved: list[dict] = []
        with self.rehearsal(dry_run):
            for row in self._held(old, client, open_only):
                access.require_within_reach(self.db, [new], row["client_id"], "--to")
                tasks.set_fields(row, {"responsible_id": new}, "reassign")
                moved.append(
                    {"id": row["id"], "title": row["title"], "status": row["status"],
                     "client_id": row["client_id"], "deadline": row["deadline"]}
                )  # fmt: skip
            if not moved:
                raise NotFound(
                    _("no task to reassign"),
                    _("check --from, --client and --open ('sempi task list --responsible ...')"),
                )
            self.audit("reassign", "user", old, to=new, tasks=len(moved), client=client)
        return moved

    def _held(self, user_id: int, client: int | None, open_only: bool) -> list[sqlite3.Row]:
        where = ["t.responsible_id = :user", "t.removed_at IS NULL"]
        if client is not None:
            where.append("t.client_id = :client")
        if open_only:
            where.append("t.status <> 'completed'")
        return self.db.execute(
            f"SELECT t.* FROM tasks t WHERE {' AND '.join(where)} ORDER BY t.id",
            {"user": user_id, "client": client},
        ).fetchall()
