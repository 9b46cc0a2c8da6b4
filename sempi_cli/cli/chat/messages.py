"""`sempi chat`: what is said in the chats."""

from __future__ import annotations

from sempi_cli.cli.chat.group import app  # noqa: F401
