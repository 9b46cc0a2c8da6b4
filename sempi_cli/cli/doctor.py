"""`sempi doctor`: how well the store, its files and the sessions are protected."""

from __future__ import annotations

import typer

from sempi_cli.cli.common import emit_rows, say, state


def doctor(ctx: typer.Context) -> None:
    """Check the deployment's security posture; exit 10 if any check fails.

    Reports the store's owner and file modes (with -wal, -shm and its folder),
    whether it belongs to a service account, the session folder, two-step
    login for firm administrators, the journal mode and a quick integrity
    check. Firm administrators only.

    Example: sempi doctor --json
    """
    from sempi_cli.errors import StoreUnusable
    from sempi_cli.paths import session_file
    from sempi_cli.services.ops.posture import PostureService

    app = state(ctx)
    rows = app.service(PostureService).report(app.store_path, session_file(app.store_path).parent)
    emit_rows(ctx, rows, ("check", "status", "detail"))
    failed = [row["check"] for row in rows if row["status"] == "fail"]
    if failed:
        raise StoreUnusable(
            f"{len(failed)} check(s) failed: {', '.join(failed)}",
            "fix them as each detail says (docs/security.md)",
        )
    warned = sum(row["status"] == "warn" for row in rows)
    say(ctx, f"No check failed ({warned} warning(s)).")
