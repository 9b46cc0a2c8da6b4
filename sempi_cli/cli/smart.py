"""`sempi smart`: a client's SMART services, reached where its consent allows."""

from __future__ import annotations

from sempi_cli.cli.common import group_app

app = group_app("smart")
