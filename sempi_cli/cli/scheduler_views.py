"""`sempi scheduler` views: list (the scadenzario), calendar, explain, export, rules, holidays."""

from __future__ import annotations

from sempi_cli.cli.scheduler import app  # noqa: F401
