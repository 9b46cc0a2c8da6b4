"""`sempi db`: what is in the store, whether it is sound, and a safe copy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, for_output, group_app, say, state
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

app = group_app("db")


@app.command("info")
def db_info(ctx: typer.Context) -> None:
    """Show the store's path, schema version, sizes and row counts.

    Example: sempi db info
    """
    from sempi_cli.services.ops.maintenance import MaintenanceService

    app_ = state(ctx)
    emit_record(ctx, app_.service(MaintenanceService).info(app_.store_path))


@app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Run SQLite's integrity and foreign-key checks; exit 10 on any problem.

    Example: sempi db check
    """
    from sempi_cli.errors import StoreUnusable
    from sempi_cli.services.ops.maintenance import MaintenanceService

    problems = for_output(ctx, lambda: state(ctx).service(MaintenanceService).check())
    if problems:
        emit_rows(ctx, [{"problem": p} for p in problems], ["problem"])
        n = len(problems)
        raise StoreUnusable(
            ngettext("the store has {n} problem(s)", "the store has {n} problem(s)", n).format(n=n),
            _("restore the latest backup"),
        )
    say(ctx, _("The store is sound."))


@app.command("backup")
def db_backup(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="Where to write the copy (must not exist).", dir_okay=False)
    ],
) -> None:
    """Write a consistent copy of the live store (mode 0600; never overwrites).

    Example: sempi db backup /srv/backup/sempi-2026-11-22.db
    """
    from sempi_cli.services.ops.maintenance import MaintenanceService

    emit_record(ctx, state(ctx).service(MaintenanceService).backup(path))


@app.command("migrate-to")
def db_migrate_to(
    ctx: typer.Context,
    address: Annotated[
        str,
        typer.Argument(
            help="The empty PostgreSQL database: postgresql://ROLE@HOST/NAME (the password"
            " in PGPASSFILE, never here)."
        ),
    ],
) -> None:
    """Copy this SQLite store into an empty PostgreSQL database, and verify it.

    Table by table, resumable (run it again after an interruption), each table's
    rows counted and hashed on both sides. This store is left as it was.

    Example: sempi db migrate-to postgresql://sempi@db.studio.lan/sempi
    """
    from sempi_cli.services.ops.maintenance import MaintenanceService

    app_ = state(ctx)

    def told(table: str, rows: int) -> None:
        say(
            ctx, ngettext("{table}: {n} row", "{table}: {n} rows", rows).format(table=table, n=rows)
        )

    copied = app_.service(MaintenanceService).migrate_to(app_.store_path, address, told)
    emit_rows(ctx, copied, ["table", "rows", "sha256"])
    say(
        ctx,
        ngettext(
            "{n} table copied and verified.", "{n} tables copied and verified.", len(copied)
        ).format(n=len(copied)),
    )
