"""`sempi consent`: the practice's option, consent requests, the clients' answers;
the commands live in requests.py and answers.py."""

from __future__ import annotations

from sempi_cli.cli.consent import answers, delegations, requests  # noqa: F401  (they register the commands)
from sempi_cli.cli.consent.group import app

__all__ = ["app"]
