"""`sempi task remind`: reminders on a task, and the job (cron) that delivers them."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import confirm, emit_record, emit_rows, say, state, sub_app
from sempi_cli.cli.task.options import (
    DryRun,
    TaskId,
)
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

# A sub-group of `task`, not a top-level group: it is not in GROUP_HELP.
app = sub_app(
    "remind", "Reminders on a task: add, list, remove; 'run' delivers the due ones (cron)."
)

LIST_COLUMNS = ("id", "recipient", "when", "due_at", "state", "created_by")


@app.command("add")
def remind_add(
    ctx: typer.Context,
    task_id: TaskId,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="When: 2026-03-16 09:00, 16/03/2026 15:30, tomorrow (09:00), +2d, friday...",
        ),
    ] = None,
    before: Annotated[
        str | None,
        typer.Option(
            "--before", help="This long before the task's deadline: 2d, 1w, 3h, 1d12h, 90m."
        ),
    ] = None,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            help="Who is reminded (e-mail, id, or 'me'); repeat it. Default: the responsible.",
        ),
    ] = None,
) -> None:
    """Add a reminder to a task: at a time or before its deadline.

    One reminder per recipient. The task's creator and responsible may remind
    any of its people; anyone else who sees the task, only themselves. A
    reminder set with --before follows the deadline if the deadline moves.

    Example: sempi task remind add 42 --before 2d --to marco@sempi.it --to me
    """
    from sempi_cli.services.tasks.reminders import ReminderService

    rows = state(ctx).service(ReminderService).add(task_id, at=at, before=before, to=to or [])
    emit_rows(ctx, rows, LIST_COLUMNS if _table(ctx) else list(rows[0]))
    n = len(rows)
    say(ctx, ngettext("Added {n} reminder.", "Added {n} reminders.", n).format(n=n))


@app.command("list")
def remind_list(ctx: typer.Context, task_id: TaskId) -> None:
    """List a task's reminders and whether each was delivered.

    States: pending, due (the next run delivers it), delivered, withheld (the
    recipient no longer saw the task), no_deadline, task_completed.

    Example: sempi task remind list 42
    """
    from sempi_cli.services.tasks.reminders import COLUMNS, ReminderService

    rows = state(ctx).service(ReminderService).list(task_id)
    columns = LIST_COLUMNS if _table(ctx) else (list(rows[0]) if rows else COLUMNS)
    emit_rows(ctx, rows, columns)


@app.command("remove")
def remind_remove(
    ctx: typer.Context,
    reminder_ids: Annotated[list[int], typer.Argument(help="One or more reminder ids.")],
    dry_run: DryRun = False,
) -> None:
    """Cancel reminders not yet delivered; all or nothing.

    Example: sempi task remind remove 7
    """
    from sempi_cli.services.tasks.reminders import ReminderService
    from sempi_cli.services.tasks.tasks import needs_confirmation

    if needs_confirmation(len(reminder_ids)) and not dry_run:
        n = len(reminder_ids)
        confirm(ctx, ngettext("Remove {n} reminder?", "Remove {n} reminders?", n).format(n=n))
    rows = state(ctx).service(ReminderService).remove(reminder_ids, dry_run=dry_run)
    emit_rows(ctx, rows, ("id", "task_id", "recipient", "when"))
    n = len(rows)
    if dry_run:
        done = ngettext("Would remove {n} reminder.", "Would remove {n} reminders.", n)
    else:
        done = ngettext("Removed {n} reminder.", "Removed {n} reminders.", n)
    say(ctx, done.format(n=n))


@app.command("run")
def remind_run(ctx: typer.Context, dry_run: DryRun = False) -> None:
    """Deliver due reminders to the recipients' inboxes, once each.

    Safe to run as often as you like, and two at once: a reminder is delivered
    once. Runs as a firm user; cron gives a firm user's application password in
    SEMPI_USER and SEMPI_APP_PASSWORD. It also runs the delegations watch:
    each client's responsible is told once at 60 and once at 15 days before a
    tax-authority delegation expires (see sempi consent delegations); and the
    signatures watch: who has not signed a request with a due date is reminded
    3 days before and on the last day, and a request past it is marked expired.

    Example: sempi -q task remind run
    """
    from sempi_cli.services.consent.delegations import DelegationWatch
    from sempi_cli.services.signing.watch import SignWatch
    from sempi_cli.services.tasks.reminders import RUN_COLUMNS, ReminderService

    result = state(ctx).service(ReminderService).run(dry_run=dry_run)
    # The cron entry point also runs the delegations watch (docs/cron.md): each
    # client's responsible is told at 60 and 15 days before a delegation expires.
    result["delegation_notices"] = (
        state(ctx).service(DelegationWatch).run(dry_run=dry_run)["notified"]
    )
    # ... and the signatures watch: reminders before a request's due date, expiry after.
    signatures = state(ctx).service(SignWatch).run(dry_run=dry_run)
    result["signature_reminders"] = signatures["reminded"]
    result["signature_requests_expired"] = signatures["expired"]
    if _table(ctx) and not state(ctx).quiet:  # a cron job with -q prints nothing unless it fails
        emit_rows(ctx, result["reminders"], RUN_COLUMNS)
    elif not state(ctx).quiet:
        emit_record(ctx, result)
    details = ""
    if result["withheld"]:
        details += _(", withheld {n}").format(n=result["withheld"])
    notices = result["delegation_notices"]
    if notices:
        details += ngettext(", {n} delegation notice", ", {n} delegation notices", notices).format(
            n=notices
        )
    reminders = result["signature_reminders"]
    if reminders:
        details += ngettext(
            ", {n} signature reminder", ", {n} signature reminders", reminders
        ).format(n=reminders)
    expired = len(result["signature_requests_expired"])
    if expired:
        details += ngettext(
            ", {n} signature request expired", ", {n} signature requests expired", expired
        ).format(n=expired)
    n = result["delivered"]
    if dry_run:
        done = ngettext(
            "Would deliver {n} reminder{details}.", "Would deliver {n} reminders{details}.", n
        )
    else:
        done = ngettext("Delivered {n} reminder{details}.", "Delivered {n} reminders{details}.", n)
    say(ctx, done.format(n=n, details=details))


def _table(ctx: typer.Context) -> bool:
    return state(ctx).fmt == "table"
