"""`sempi task export` and `sempi task import`: tasks as JSON, in and out.

Registered on the task group by sempi_cli/cli/task/commands.py.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import confirm, emit_rows, say, state, write_private
from sempi_cli.cli.task.options import CreatedByMe, Mine, OfClient, Statuses, WithTags
from sempi_cli.i18n import ngettext


def task_export(
    ctx: typer.Context,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="The file to create (mode 0600; never overwritten), or - for standard output.",
        ),
    ] = "-",
    mine: Mine = False,
    created: CreatedByMe = False,
    status: Statuses = None,
    open_only: Annotated[bool, typer.Option("--open", help="Not completed.")] = False,
    client: OfClient = None,
    tag: WithTags = None,
    ics: Annotated[
        bool,
        typer.Option(
            "--ics",
            help="An iCalendar file instead (tasks with a deadline; stable UIDs), for a phone's calendar.",
        ),
    ] = False,
) -> None:
    """Export the tasks you may see as JSON (stable keys; 'task import' reads it back).

    One object per task, oldest first, keys sorted: external_key (the task's
    key, or sempi:<id>:<created> for a task without one), title, people as
    e-mails, deadline in Rome time, status, flags, and the store's own
    id/creator/created_at/updated_at/completed_at (not imported). The same
    tasks give the same bytes. --format does not apply: the file is JSON.

    With --ics, an iCalendar file: one event at each deadline, the same UID every
    time (a calendar app importing a newer file updates its events), completed
    tasks marked cancelled. Example: sempi task export --mine --open --ics -o incarichi.ics

    Example: sempi task export --mine --open --output mie-attivita.json
    """

    from sempi_cli.services.tasks.queries import TaskQuery
    from sempi_cli.services.tasks.transfer import TaskTransfer, export_chunks

    query = TaskQuery(
        mine=mine,
        created=created,
        statuses=status or [],
        include_completed=not open_only,
        client=client,
        tags=tag or [],
    )
    service = state(ctx).service(TaskTransfer)
    if ics:
        text = service.export_ics(query)
        if output == "-":
            typer.echo(text, nl=False)
            return
        write_private(output, lambda fh: fh.write(text))
        events = text.count("BEGIN:VEVENT")
        exported = ngettext(
            "Exported {n} task(s) with a deadline to {file} (readable only by you).",
            "Exported {n} task(s) with a deadline to {file} (readable only by you).",
            events,
        )
        say(ctx, exported.format(n=events, file=output))
        return
    if output == "-":
        for chunk in export_chunks(service.export(query)):
            typer.echo(chunk, nl=False)
        return
    records = service.export(query)
    write_private(output, lambda fh: fh.writelines(export_chunks(records)))
    exported = ngettext(
        "Exported {n} task(s) to {file} (readable only by you).",
        "Exported {n} task(s) to {file} (readable only by you).",
        len(records),
    )
    say(ctx, exported.format(n=len(records), file=output))


def task_import(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(
            help="A JSON array of tasks (as 'task export' writes) or JSON Lines; - for standard input.",
            metavar="FILE",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every record and report; change nothing.")
    ] = False,
) -> None:
    """Create or update tasks from a JSON file, matched by external_key; all or nothing.

    A record whose external_key names a task you may see updates it, through
    the same checks as 'task edit' (only the fields the record holds; lists
    such as participants and tags become exactly the file's); a new key
    creates a task, as 'task add' would. The status is reached through the
    usual verbs (start, done, ...), so their rules apply. id, creator,
    parent_id and the *_at timestamps are not imported: the parent is named by
    parent_key. The report says, per record, created, updated or unchanged.
    Three or more records ask first (on a terminal; --yes elsewhere).

    Example: sempi task import mie-attivita.json --dry-run
    """
    from sempi_cli.services.tasks.tasks import needs_confirmation
    from sempi_cli.services.tasks.transfer import REPORT_COLUMNS, TaskTransfer, read_records

    numbered = read_records(_read_text(file))
    if needs_confirmation(len(numbered)) and not dry_run:
        n = len(numbered)
        confirm(ctx, ngettext("Import {n} task record?", "Import {n} task records?", n).format(n=n))
    report = (
        state(ctx)
        .service(TaskTransfer)
        .import_(
            [record for _number, record in numbered],
            dry_run,
            numbers=[number for number, _record in numbered],
        )
    )
    emit_rows(ctx, report, REPORT_COLUMNS)
    counts = {a: sum(r["action"] == a for r in report) for a in ("created", "updated", "unchanged")}
    if dry_run:
        done = ngettext(
            "Would import {n} record(s): {created} created, {updated} updated,"
            " {unchanged} unchanged.",
            "Would import {n} record(s): {created} created, {updated} updated,"
            " {unchanged} unchanged.",
            len(report),
        )
    else:
        done = ngettext(
            "Imported {n} record(s): {created} created, {updated} updated, {unchanged} unchanged.",
            "Imported {n} record(s): {created} created, {updated} updated, {unchanged} unchanged.",
            len(report),
        )
    say(ctx, done.format(n=len(report), **counts))


def _read_text(path: str) -> str:
    import sys

    from sempi_cli.services.tasks.transfer import read_import_file
    from sempi_cli.services.user_files import read_user_stream

    return read_user_stream(sys.stdin.buffer, "FILE") if path == "-" else read_import_file(path)
