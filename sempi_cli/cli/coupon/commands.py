"""`sempi coupon`: Conto Terzi migration coupons, the whole lifecycle; the commands
live in the package's modules."""

from __future__ import annotations

from sempi_cli.cli.coupon import (  # noqa: F401  (they register the commands)
    accounts,
    grid,
    migrate,
    packages,
    renewal,
    usage,
)
from sempi_cli.cli.coupon.group import app

__all__ = ["app"]
