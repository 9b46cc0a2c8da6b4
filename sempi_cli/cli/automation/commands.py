"""`sempi automation`: the firm's rules (rules.py: no code needed) and the hooks
(hooks.py: the office's own executables), both acting on the events record."""

from __future__ import annotations

from sempi_cli.cli.common import group_app

app = group_app("automation")

# The rules' commands (cli/automation/rules.py): no code needed.
from sempi_cli.cli.automation import rules as automation_rules  # noqa: E402

for _name in ("add", "list", "show", "enable", "disable", "remove", "test"):
    app.command(_name)(getattr(automation_rules, f"rule_{_name}"))

# The hooks' commands (cli/automation/hooks.py): run, failures, retry.
from sempi_cli.cli.automation import hooks as automation_hooks  # noqa: E402

for _name in ("run", "failures", "retry"):
    app.command(_name)(getattr(automation_hooks, f"hooks_{_name}"))
