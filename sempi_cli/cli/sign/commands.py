"""`sempi sign`: documents sent for signature, a simple electronic signature (firma
elettronica semplice) by one-time code. Each part in its own module: template.py
(`sign template`)."""

from __future__ import annotations

from sempi_cli.cli.common import group_app

app = group_app("sign")

# Sub-groups: `sempi sign template ...`.
from sempi_cli.cli.sign import template as sign_template  # noqa: E402

app.add_typer(sign_template.app)

from sempi_cli.cli.sign import seal as sign_seal  # noqa: E402

app.add_typer(sign_seal.app)

from sempi_cli.cli.sign import verify as sign_verify  # noqa: E402

app.command("verify")(sign_verify.sign_verify)

# `sempi sign request|show|accept|decline|list|status`: the requests, both sides.
from sempi_cli.cli.sign import requests as sign_requests  # noqa: E402

for _name in ("request", "show", "accept", "decline", "list", "status"):
    app.command(_name)(getattr(sign_requests, f"sign_{_name}"))
