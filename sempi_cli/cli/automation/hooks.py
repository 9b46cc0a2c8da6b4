"""`sempi automation run|failures|retry`: the after-hooks' deliveries
(services/automation/runner.py; docs/automation.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, say, state
from sempi_cli.i18n import ngettext

FAILURE_COLUMNS = ("id", "event", "kind", "client", "hook", "status", "attempts", "next_at", "last_error")  # fmt: skip


def hooks_run(
    ctx: typer.Context,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Deliver at most N events in this run."),
    ] = None,
) -> None:
    """Deliver the new events to the after-hooks, in batches, in order per client.

    Events since the last run are queued for each after-<kind> hook of the hooks'
    folder; each run of a hook gets many events, one JSON object a line on stdin.
    Exit 0 marks them delivered; a failure is retried later, and after
    automation.max_attempts the delivery is dead (sempi automation failures).
    Run it from cron, or set automation.run_after_command yes. Firm administrators only.

    Example: sempi automation run --limit 5000
    """
    from sempi_cli.services.automation.runner import HookRunner

    summary = state(ctx).service(HookRunner, long_job=True).run(limit)
    emit_record(ctx, summary)
    say(
        ctx,
        ngettext(
            "Delivered {n} event to the after-hooks ({failed} failed, {dead} dead, {queued} queued).",
            "Delivered {n} events to the after-hooks ({failed} failed, {dead} dead, {queued} queued).",
            summary["delivered"],
        ).format(
            n=summary["delivered"],
            failed=summary["failed"],
            dead=summary["dead"],
            queued=summary["queued"],
        ),
    )


def hooks_failures(ctx: typer.Context) -> None:
    """List the after-hooks' deliveries that failed (retried later) and the dead ones.

    Each row: the delivery's id (for sempi automation retry), the event, the hook,
    the attempts and the hook's last error (its first stderr line). Firm administrators only.

    Example: sempi automation failures --json
    """
    from sempi_cli.services.automation.runner import HookRunner

    rows = state(ctx).service(HookRunner).failures()
    emit_rows(ctx, rows, FAILURE_COLUMNS)


def hooks_retry(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None,
        typer.Argument(help="The dead deliveries' ids (sempi automation failures).", min=1),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead delivery.")] = False,
) -> None:
    """Put dead deliveries back in the line: the next automation run delivers them.

    Their attempts start from zero. A retried delivery goes after the later events
    of its client, which were delivered meanwhile. Firm administrators only.

    Example: sempi automation retry --all
    """
    from sempi_cli.services.automation.runner import HookRunner

    count = state(ctx).service(HookRunner).retry(ids or (), every=every)
    emit_record(ctx, {"retried": count})
    say(
        ctx,
        ngettext(
            "{n} delivery is back in the line.", "{n} deliveries are back in the line.", count
        ).format(n=count),
    )
