"""`sempi status`: one screen for the person at the terminal.

The running timer, what is unread (notifications, chats), the tasks that need
them (overdue, due this week, awaiting their approval) and the next fiscal
deadlines they can see. It reads timers, notifications, chats, tasks and the
scheduler, so it sits in ops/, above them all; each part is asked of its own
package, so the screen says what `timer status`, `notify list --unread`,
`chat list --unread`, `task due` and `scheduler list` say.
"""

from __future__ import annotations

from sempi_cli.services.base import Service
from sempi_cli.services.ops.glance import Glance

# The longest list of each section on the screen (JSON carries them whole but
# the deadlines, which are the next few by definition).
DEADLINES = 5
TASK_FIELDS = ("id", "title", "client", "deadline", "status", "flags")
DEADLINE_FIELDS = ("due_date", "client", "rule_id", "label", "period", "task_id", "responsible")


class StatusService(Service):
    def short(self) -> dict:
        """The prompt's line: ops/glance.py."""
        return Glance(self.db, self.clock, self.actor).short()

    def overview(self) -> dict:
        # The counts come from the functions behind `chat list` and `notify list`
        # (listing.unread_summary; glance's count is NotificationService.unread_count's
        # query, a test holds them equal) rather than their services, whose imports
        # (mail, e-mail) would double the time of this screen.
        from sempi_cli.services.chat.listing import unread_summary
        from sempi_cli.services.ops.glance import unread_notifications
        from sempi_cli.services.scheduler.views import DeadlineQuery, ScheduleViews
        from sempi_cli.services.tasks.queries import TaskQueries
        from sempi_cli.services.timers.timers import TimerService

        actor = self.actor
        timer = TimerService(self.db, self.clock, actor).status()
        chats = unread_summary(self.db, actor)
        due = TaskQueries(self.db, self.clock, actor).due()
        deadlines = ScheduleViews(self.db, self.clock, actor).list(
            DeadlineQuery(statuses=["upcoming"], limit=DEADLINES)
        )

        def tasks(rows: list[dict]) -> list[dict]:
            return [{key: row[key] for key in TASK_FIELDS} for row in rows]

        overview = {
            "user": actor.email,
            "timer": _timer(timer),
            "unread_notifications": unread_notifications(self.db, actor.id),
            "unread_chats": chats["chats"],
            "unread_chat_messages": chats["messages"],
            "overdue": tasks(due["overdue"]),
            "due_this_week": tasks(due["today"] + due["this_week"]),
            "awaiting_my_approval": tasks(due["awaiting_my_approval"]),
            "next_deadlines": [{key: row[key] for key in DEADLINE_FIELDS} for row in deadlines],
        }
        if actor.role == "external":  # the consent request their client has not answered
            from sempi_cli.services.consent.requests import pending_for

            overview["consent_request"] = pending_for(self.db, actor)
        return overview


def _timer(status: dict) -> dict | None:
    if not status["running"]:
        return None
    return {
        "entry_id": status["id"],
        "task_id": status["task_id"],
        "task": status["task"],
        "started_at": status["started_at"],
        "elapsed_seconds": status["elapsed_seconds"],
        "warning": status["warning"],
    }
