"""`sempi chat`: the general chat, public and private chats, each work group's
chat; the commands live in rooms.py and messages.py."""

from __future__ import annotations

from sempi_cli.cli.chat import messages, rooms  # noqa: F401  (they register the commands)
from sempi_cli.cli.chat.group import app

__all__ = ["app"]
