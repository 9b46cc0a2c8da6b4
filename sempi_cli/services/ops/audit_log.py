"""Reading the activity log (`sempi audit`), for firm administrators; services/audit.py writes it."""

from __future__ import annotations

import json

from sempi_cli.i18n import N_
from sempi_cli.services.access import require_firm_admin
from sempi_cli.services.base import Service


class AuditService(Service):
    def list(
        self,
        *,
        object_type: str | None = None,
        object_id: int | None = None,
        actor_email: str | None = None,
        action: str | None = None,
        since: str | None = None,
        limit: int | None = 100,
    ) -> list[dict]:
        """The log, newest first; firm administrators only."""
        require_firm_admin(self.actor, N_("read the audit log"))
        where = ["TRUE"]
        params: dict[str, str | int] = {}
        if object_type:
            where.append("a.object_type = :object_type")
            params["object_type"] = object_type
        if object_id is not None:
            where.append("a.object_id = :object_id")
            params["object_id"] = object_id
        if actor_email:
            where.append("u.email = :actor_email")
            params["actor_email"] = actor_email.strip().lower()
        if action:
            where.append("a.action = :action")
            params["action"] = action
        if since:
            where.append("a.at >= :since")
            params["since"] = since
        sql = (
            "SELECT a.id, a.at, u.email AS actor, a.action, a.object_type, a.object_id, a.details"
            " FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id"
            f" WHERE {' AND '.join(where)} ORDER BY a.id DESC"
        )
        if limit:
            sql += " LIMIT :limit"
            params["limit"] = limit
        rows = []
        for row in self.db.execute(sql, params):
            item = dict(row)
            item["details"] = json.loads(item["details"])
            rows.append(item)
        return rows
