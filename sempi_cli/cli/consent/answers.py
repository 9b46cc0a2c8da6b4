"""`sempi consent`: the answers, their record, and who may reach a client's SMART services."""

from __future__ import annotations

from sempi_cli.cli.consent.group import app  # noqa: F401
