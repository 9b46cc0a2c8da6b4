"""`sempi coupon`: Conto Terzi migration coupons, the whole lifecycle; the commands
live in the package's modules."""

from __future__ import annotations

from sempi_cli.cli.coupon import packages  # noqa: F401  (they register the commands)
from sempi_cli.cli.coupon.group import app

__all__ = ["app"]
