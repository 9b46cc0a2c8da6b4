"""Who sees which rows, as SQL predicates: the part of access.py that the fast path
(cli/fastpath.py) needs, in a module that imports nothing heavy. Callers ask
``access``, which re-exports these; the actor is anything with an ``id``, a
``role``, a ``studio_id`` and a ``client_id`` (access.Actor, or the fast path's
view of the session's user).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Actor(Protocol):
        @property
        def id(self) -> int: ...
        @property
        def role(self) -> str: ...
        @property
        def studio_id(self) -> int | None: ...
        @property
        def client_id(self) -> int | None: ...


FIRM_ROLES = ("firm-admin", "staff")
STUDIO_ROLES = ("studio-admin", "studio-operator")
ROLES = (*FIRM_ROLES, *STUDIO_ROLES, "external")


def _member_of(alias: str) -> str:
    return f"{alias}.id IN (SELECT client_id FROM work_group_members WHERE user_id = :actor_id)"


def visible_clients(actor: Actor, alias: str = "c") -> tuple[str, dict]:
    """SQL predicate over ``clients AS alias``: the clients whose work group the actor may see.

    Firm admins: all. Studio admins: their practice's clients. Staff and
    operators: the work groups they are members of (an operator only within
    their own practice). Externals: their own client.
    """
    params = {
        "actor_id": actor.id,
        "actor_studio": actor.studio_id,
        "actor_client": actor.client_id,
    }
    if actor.role == "firm-admin":
        return "TRUE", params
    if actor.role == "studio-admin":
        return f"{alias}.studio_id = :actor_studio", params
    if actor.role == "studio-operator":
        return f"({alias}.studio_id = :actor_studio AND {_member_of(alias)})", params
    if actor.role == "external":
        return f"({alias}.id = :actor_client AND {_member_of(alias)})", params
    return _member_of(alias), params


def visible_tasks(actor: Actor, alias: str = "t") -> tuple[str, dict]:
    """SQL predicate over ``tasks AS alias``: creator, responsible, participants,
    observers, participants and observers of any checklist item, and whoever
    sees the client's work group. Firm admins: all."""
    if actor.role == "firm-admin":
        return "TRUE", {"actor_id": actor.id}
    clients, params = visible_clients(actor, "vc")
    params["actor_role"] = actor.role
    return (
        f"({within_reach_sql(alias)} AND ({alias}.creator_id = :actor_id"
        f" OR {alias}.responsible_id = :actor_id"
        # Correlated EXISTS: a one-row lookup stays one row, not a list built per call.
        f" OR EXISTS (SELECT 1 FROM task_members tm WHERE tm.task_id = {alias}.id AND tm.user_id = :actor_id)"
        # A participant or observer of one checklist item sees the whole task.
        f" OR EXISTS (SELECT 1 FROM checklist_item_members cm"
        f" JOIN checklist_items ci ON ci.id = cm.item_id JOIN checklists cl ON cl.id = ci.checklist_id"
        f" WHERE cl.task_id = {alias}.id AND cm.user_id = :actor_id)"
        f" OR EXISTS (SELECT 1 FROM clients vc WHERE vc.id = {alias}.client_id AND {clients})))",
        params,
    )


def within_reach_sql(alias: str = "t") -> str:
    """SQL predicate over a row with ``{alias}.client_id`` for the actor's params of
    visible_clients: the same rule on reads, so a role granted before the rule (or
    behind the tool's back) shows nothing across the boundary."""
    return (
        f"(:actor_role IN ('firm-admin', 'staff')"
        f" OR (:actor_role = 'external' AND {alias}.client_id = :actor_client)"
        f" OR (:actor_role IN ('studio-admin', 'studio-operator') AND ({alias}.client_id IS NULL"
        f" OR {alias}.client_id IN (SELECT id FROM clients WHERE studio_id = :actor_studio))))"
    )
