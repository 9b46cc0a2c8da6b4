"""The `sempi coupon` group, apart from its commands: each module of this package
adds its own to it (packages, migrate, accounts, renewal, usage, grid), and none
imports another for it."""

from __future__ import annotations

from sempi_cli.cli.common import group_app

app = group_app("coupon")
