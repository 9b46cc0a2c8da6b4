"""`sempi coupon` commands: migrate (being written)."""

from __future__ import annotations

from sempi_cli.cli.coupon.group import app  # noqa: F401
