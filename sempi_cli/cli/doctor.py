"""`sempi doctor`: how well the store (its files, or its PostgreSQL server), and the
sessions are protected."""

from __future__ import annotations

import os

import typer

from sempi_cli.cli.common import MACHINE_FORMATS, emit_rows, for_output, say, state
from sempi_cli.i18n import N_, ngettext
from sempi_cli.i18n import gettext as _

# The names of the checks and verdicts (ops/posture.py) are also their English words:
# marked here for the catalog, translated for a person, kept as they are for scripts.
CHECKS = (
    N_("store"),
    N_("store_mode"),
    N_("wal_mode"),
    N_("shm_mode"),
    N_("store_directory"),
    N_("store_path"),
    N_("deployment"),
    N_("pg_tls"),
    N_("pg_role"),
    N_("pg_version"),
    N_("pg_replica"),
    N_("session_directory"),
    N_("outbox_spool"),
    N_("require_otp"),
    N_("admins_without_otp"),
    N_("journal_mode"),
    N_("integrity"),
    N_("practice_boundary"),
    N_("hooks"),
    N_("bypass"),
)
VERDICTS = (N_("ok"), N_("warn"), N_("fail"))


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
    rows = for_output(
        ctx,
        lambda: app.service(PostureService).report(
            app.store_path, session_file(app.store_path).parent, os.environ.get("SEMPI_DB_READ")
        ),
    )
    failed = [_(row["check"]) for row in rows if row["status"] == "fail"]
    warned = sum(row["status"] == "warn" for row in rows)
    if app.fmt not in MACHINE_FORMATS:
        rows = [
            {
                "check": _(row["check"]),
                "status": _(row["status"]),
                "detail": row["detail"],
            }
            for row in rows
        ]
    emit_rows(ctx, rows, ("check", "status", "detail"))
    if failed:
        raise StoreUnusable(
            ngettext(
                "{n} check(s) failed: {checks}", "{n} check(s) failed: {checks}", len(failed)
            ).format(n=len(failed), checks=", ".join(failed)),
            _("fix them as each detail says (docs/security.md)"),
        )
    say(
        ctx,
        ngettext(
            "No check failed ({n} warning(s)).", "No check failed ({n} warning(s)).", warned
        ).format(n=warned),
    )
