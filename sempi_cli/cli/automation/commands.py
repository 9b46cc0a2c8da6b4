"""`sempi automation`: the firm's rules (rules.py: no code needed) and the hooks
(hooks.py: the office's own executables), both acting on the events record."""

from __future__ import annotations

from sempi_cli.cli.common import group_app

app = group_app("automation")

# The hooks' commands (cli/automation/hooks.py): run, failures, retry.
