"""The `sempi scheduler` group, apart from its commands: commands.py (the run and
the firm's adjustments) and views.py (the scadenzario) both add to it, and
neither imports the other for it."""

from __future__ import annotations

from sempi_cli.cli.common import group_app

app = group_app("scheduler")
