"""A task template's signing rule: "when one of my tasks reaches status S, send
sign template T for signature to the task's client" (`task template edit
--sign-on-status S --sign-template T`). The automation rules of a later issue
will do the same for any event; this is the one direct rule a template carries.

The signers are the client's active external users, in the order they were
made: the people of the client who log in to sempi. The request is sent by whoever
moved the task, inside the same transaction, with the same checks as `sign
request`. When it cannot be sent (the task has no client, the client has no
external user, the seal is not configured, the sender may not file in the
client's folders...), the task still moves: its responsible is told why, in
their inbox, and the command's result says so. Nothing is sent twice for the
same task and status: a task reopened and completed again sends again, as a
person doing it by hand would.
"""

from __future__ import annotations

import sqlite3

from sempi_cli.errors import InvalidData, RuleViolation, SempiError
from sempi_cli.i18n import Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services.base import Service

# The statuses a task can reach (m003_tasks), in the order of its life.
TASK_STATUSES = ("pending", "in_progress", "awaiting_approval", "completed", "deferred")


class SignOnStatus(Service):
    def rule(self, task_template_id: int) -> dict | None:
        """The template's rule as {"status", "template"} (the sign template's name)."""
        row = self.db.execute(
            "SELECT r.status, t.name FROM sign_on_status r"
            " JOIN sign_templates t ON t.id = r.sign_template_id WHERE r.task_template_id = ?",
            (task_template_id,),
        ).fetchone()
        return {"status": row[0], "template": row[1]} if row else None

    def set(self, task_template_id: int, status: str | None, template: str | None) -> dict:
        """Set (``status`` and ``template``) or clear (``status`` == '') the rule, inside
        the caller's transaction; the change as {"sign_on_status": {"old", "new"}}, or
        {} when nothing changed. The caller checked who may change the template."""
        from sempi_cli.services.signing.templates import SignTemplates

        before = self.rule(task_template_id)
        if status == "":
            if template:
                raise InvalidData(
                    "--sign-template", _("give no template when clearing --sign-on-status")
                )
            self.db.execute(
                "DELETE FROM sign_on_status WHERE task_template_id = ?", (task_template_id,)
            )
            after = None
        else:
            if status is None or not template:
                missing = "--sign-on-status" if status is None else "--sign-template"
                raise InvalidData(
                    missing,
                    _("--sign-on-status and --sign-template go together"),
                    _("give both, or --sign-on-status '' to clear the rule"),
                )
            status = status.strip().lower().replace("-", "_")
            if status not in TASK_STATUSES:
                raise InvalidData(
                    "--sign-on-status",
                    _("{value} is not a task status").format(value=repr(status)),
                    _("use one of: {choices}").format(choices=", ".join(TASK_STATUSES)),
                )
            sign_template = SignTemplates(self.db, self.clock, self.actor).row(template)
            self.db.execute(
                "INSERT INTO sign_on_status (task_template_id, status, sign_template_id)"
                " VALUES (?, ?, ?) ON CONFLICT (task_template_id) DO UPDATE SET"
                " status = excluded.status, sign_template_id = excluded.sign_template_id",
                (task_template_id, status, sign_template["id"]),
            )
            after = {"status": status, "template": sign_template["name"]}
        return {} if before == after else {"sign_on_status": {"old": before, "new": after}}

    def reached(self, task: sqlite3.Row, status: str) -> dict | None:
        """Task ``task`` (a row) has just reached ``status``: send its template's
        document if the rule says so. {"sign_request": id} when sent,
        {"sign_problem": why} when it could not be, None when no rule applies."""
        template_id = task["template_id"] or task["from_template_id"]
        if template_id is None:
            return None
        rule = self.db.execute(
            "SELECT sign_template_id FROM sign_on_status WHERE task_template_id = ? AND status = ?",
            (template_id, status),
        ).fetchone()
        if rule is None:
            return None
        try:
            request = self._send(task, rule[0])
        except SempiError as exc:
            self._tell_responsible(task, str(exc))
            return {"sign_problem": str(exc)}
        return {"sign_request": request["id"]}

    def _send(self, task: sqlite3.Row, sign_template_id: int) -> dict:
        from sempi_cli.services.signing.requests import SignRequests, client_signers

        if task["client_id"] is None:
            raise RuleViolation(_("the task has no client to send the document to"))
        signers = client_signers(self.db, task["client_id"])
        if not signers:
            raise RuleViolation(_("the client has no active external user to sign"))
        return SignRequests(self.db, self.clock, self.actor).request(
            task["client_id"], template=str(sign_template_id), signers=signers
        )

    def _tell_responsible(self, task: sqlite3.Row, why: str) -> None:
        from sempi_cli.services.notify.centre import NotificationService

        NotificationService(self.db, self.clock, self.actor).notify(
            task["responsible_id"],
            "signature",
            Text(
                "Task {task} ('{title}'): the document for signature was not sent: {why}",
                task=task["id"],
                title=task["title"],
                why=why,
            ),  # fmt: skip
            f"sign-on-status:{task['id']}:{self.now()}",
            task_id=task["id"],
        )
