"""`sempi consent`: the practice's option, the requests and their grid."""

from __future__ import annotations

from sempi_cli.cli.consent.group import app  # noqa: F401
