"""`sempi chat`: the chats and their members."""

from __future__ import annotations

from sempi_cli.cli.chat.group import app  # noqa: F401
