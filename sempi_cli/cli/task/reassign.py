"""`sempi task reassign`: someone's tasks to a colleague, in one go (registered on the
task group by cli/task/commands.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import confirm, emit_rows, say, state
from sempi_cli.cli.task.options import DryRun
from sempi_cli.i18n import ngettext

COLUMNS = ("id", "title", "status", "client_id", "deadline")


def task_reassign(
    ctx: typer.Context,
    from_: Annotated[str, typer.Option("--from", help="Whose tasks (e-mail or id).")],
    to: Annotated[str, typer.Option("--to", help="Who takes them over (e-mail or id).")],
    client: Annotated[
        int | None, typer.Option("--client", "-c", help="Only this client's tasks (id).")
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Only tasks not completed (the usual hand-over).")
    ] = False,
    dry_run: DryRun = False,
) -> None:
    """Give every task of one person to another, e.g. when someone leaves.

    Firm administrators only; each task's history says so.

    Example: sempi task reassign --from anna@sempi.it --to marco@sempi.it --open --dry-run
    """
    from sempi_cli.services.tasks.handover import Handover
    from sempi_cli.services.tasks.tasks import needs_confirmation

    handover = state(ctx).service(Handover)
    options = {"client": client, "open_only": open_}
    moved = handover.reassign(from_, to, dry_run=True, **options)
    n = len(moved)
    if not dry_run:
        if needs_confirmation(n):
            question = ngettext(
                "Give {n} task of {giver} to {taker}?", "Give {n} tasks of {giver} to {taker}?", n
            )
            confirm(ctx, question.format(n=n, giver=from_, taker=to))
        moved = handover.reassign(from_, to, **options)
    emit_rows(ctx, moved, COLUMNS)
    n = len(moved)
    if dry_run:
        done = ngettext(
            "Would give {n} task of {giver} to {taker}.",
            "Would give {n} tasks of {giver} to {taker}.",
            n,
        )
    else:
        done = ngettext(
            "Gave {n} task of {giver} to {taker}.", "Gave {n} tasks of {giver} to {taker}.", n
        )
    say(ctx, done.format(n=n, giver=from_, taker=to))
