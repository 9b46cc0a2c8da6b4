"""The `sempi consent` group, apart from its commands: requests.py (the practice's
option, the requests and their grid) and answers.py (the answers, their record,
who may reach what) both add to it, and neither imports the other for it."""

from __future__ import annotations

from sempi_cli.cli.common import group_app

app = group_app("consent")
