"""`sempi scheduler`: turn each client's fiscal profile into dated deadlines (tasks).

This module holds the run and its record (run, runs, health) and the firm's
adjustments (override, template); the views (list, calendar, explain, export,
rules, holidays) live in ``scheduler_views``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, group_app, say, state

app = group_app("scheduler")


from sempi_cli.cli import scheduler_views  # noqa: E402,F401  (registers the view commands)
