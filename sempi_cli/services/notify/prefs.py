"""Each person's choice, per kind, of how notifications reach them: the inbox (the
default), e-mail instead, both, or not at all. Read by NotificationService.notify
(centre.channel_of) at every delivery, so a change counts from the next one."""

from __future__ import annotations

from sempi_cli.services.base import Service
from sempi_cli.services.notify.kinds import ABOUT, DEFAULT_CHANNEL, KINDS, check_channel, check_kind

COLUMNS = ("kind", "channel", "about")


class PreferenceService(Service):
    """The actor's own preferences: nobody reads or sets another person's."""

    def list(self) -> list[dict]:
        """Every kind with its channel (the default where none was chosen)."""
        chosen = dict(
            self.db.execute(
                "SELECT kind, channel FROM notification_prefs WHERE user_id = ?", (self.actor.id,)
            ).fetchall()
        )
        return [
            {"kind": kind, "channel": chosen.get(kind, DEFAULT_CHANNEL), "about": ABOUT[kind]}
            for kind in KINDS
        ]

    def set(self, kind: str, channel: str) -> dict:
        """Choose how notifications of ``kind`` reach the actor from now on."""
        kind = check_kind((kind or "").strip().lower(), "KIND")
        channel = check_channel((channel or "").strip().lower(), "CHANNEL")
        me = self.actor.id
        with self.transaction():
            old = self.db.execute(
                "SELECT channel FROM notification_prefs WHERE user_id = ? AND kind = ?", (me, kind)
            ).fetchone()
            before = old[0] if old else DEFAULT_CHANNEL
            self.db.execute(
                "INSERT INTO notification_prefs (user_id, kind, channel) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, kind) DO UPDATE SET channel = excluded.channel",
                (me, kind, channel),
            )
            if before != channel:
                self.audit("set_notification_pref", "user", me, kind=kind, old=before, new=channel)
        return {"kind": kind, "channel": channel, "about": ABOUT[kind]}
