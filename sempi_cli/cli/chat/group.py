"""The `sempi chat` group, apart from its commands: rooms.py (the chats and their
members) and messages.py (what is said in them) both add to it, and neither
imports the other for it."""

from __future__ import annotations

from sempi_cli.cli.common import group_app

app = group_app("chat")
