"""`sempi timer`: track time on tasks - the timer, entries by hand, reports."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, group_app, say, state
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

app = group_app("timer")

TaskId = Annotated[int, typer.Argument(help="The task's id.")]
EntryId = Annotated[int, typer.Argument(help="The time entry's id (see 'sempi timer log').")]
Duration = Annotated[
    str | None, typer.Option("--duration", help="How long: 1h30m, 90m, 1.5h, 01:30.")
]
From = Annotated[
    str | None,
    typer.Option("--from", help="Start: 2026-03-16 09:00, 16/03/2026 09:00, now..."),
]
To = Annotated[
    str | None, typer.Option("--to", help="End: 2026-03-16 10:30, 16/03/2026 10:30, now...")
]
Comment = Annotated[
    str | None, typer.Option("--comment", "-m", help="Why it was not timed (required).")
]


def _hm(seconds: int | None) -> str:
    from sempi_cli.services.timers.running import hours_minutes

    return hours_minutes(seconds)


def _spent(seconds: int) -> str:
    """Time spent in a sentence: English keeps the clock form (1:30), Italian
    writes a time spent (1 h 30 min)."""
    from sempi_cli.i18n import current, duration

    return _hm(seconds) if current() == "en" else duration(seconds)


def _entries(ctx: typer.Context, rows: list[dict]) -> list[dict]:
    """Table form: h:mm durations, '!' for a manual entry, '>' for a running one."""
    if state(ctx).fmt != "table":
        return rows
    return [
        {
            **r,
            "duration": _hm(r["seconds"]),
            "flags": ("!" if r["manual"] else "") + (">" if r["running"] else ""),
        }
        for r in rows
    ]


def _columns(ctx: typer.Context, rows: list[dict]) -> list[str]:
    from sempi_cli.services.timers.timers import ENTRY_COLUMNS

    if state(ctx).fmt == "table":
        return [*ENTRY_COLUMNS, "comment"]
    return list(rows[0]) if rows else list(ENTRY_COLUMNS)


@app.command("start")
def timer_start(ctx: typer.Context, task_id: TaskId) -> None:
    """Start your timer on a task; a timer running on another task is paused.

    Example: sempi timer start 42
    """
    # cli/fastpath.py answers this command line too, with the same service and words.
    from sempi_cli.cli.bare import timer_started
    from sempi_cli.services.timers.running import RunningTimer

    result = state(ctx).service(RunningTimer).start(task_id)
    if state(ctx).fmt != "table":
        emit_record(ctx, result)
    for message in timer_started(result):
        say(ctx, message)


@app.command("pause")
def timer_pause(
    ctx: typer.Context,
    task_id: Annotated[
        int | None, typer.Argument(help="The task (default: whichever is running).")
    ] = None,
) -> None:
    """Pause your running timer.

    Example: sempi timer pause
    """
    # cli/fastpath.py answers this command line too, with the same service and words.
    from sempi_cli.cli.bare import timer_paused
    from sempi_cli.services.timers.running import RunningTimer

    result = state(ctx).service(RunningTimer).pause(task_id)
    if state(ctx).fmt != "table":
        emit_record(ctx, result)
    say(ctx, timer_paused(result))


@app.command("status")
def timer_status(ctx: typer.Context) -> None:
    """Show your running timer, and whether it looks forgotten.

    Example: sempi timer status
    """
    from sempi_cli.services.timers.timers import TimerService

    result = state(ctx).service(TimerService).status()
    if state(ctx).fmt != "table":
        emit_record(ctx, result)
    elif not result["running"]:
        say(ctx, _("No timer running."))
    else:
        from sempi_cli.output import for_people

        typer.echo(
            _("Task {task} ({title}): {elapsed} since {started} (entry {entry})").format(
                task=result["task_id"],
                title=result["task"],
                elapsed=_spent(result["elapsed_seconds"]),
                started=for_people(result["started_at"]),
                entry=result["id"],
            )
        )
    if result.get("warning"):
        from sempi_cli.services.timers.timers import in_words

        warning = _("Warning: the timer is {why}: pause it or fix the entry.")
        say(ctx, warning.format(why=in_words(result["warning"])))


@app.command("log")
def timer_log(
    ctx: typer.Context,
    task_id: Annotated[
        int | None, typer.Argument(help="A task: everyone's entries on it (default: yours).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="At most this many, newest first.")
    ] = None,
) -> None:
    """List time entries, newest first: a task's, or your own ('!' marks manual ones).

    Example: sempi timer log 42
    """
    from sempi_cli.services.timers.timers import TimerService

    rows = state(ctx).service(TimerService).log(task_id, limit=limit)
    emit_rows(ctx, _entries(ctx, rows), _columns(ctx, rows))


@app.command("add")
def timer_add(
    ctx: typer.Context,
    task_id: TaskId,
    duration: Duration = None,
    start: From = None,
    end: To = None,
    comment: Comment = None,
) -> None:
    """Add time worked without the timer; it is flagged manual and needs a comment.

    A duration alone ends now; with --from or --to it starts or ends there.

    Example: sempi timer add 42 --duration 1h30m --comment "Telefonata con il cliente"
    """
    from sempi_cli.services.timers.timers import TimerService

    entry = (
        state(ctx)
        .service(TimerService)
        .add(task_id, comment=comment, duration=duration, start=start, end=end)
    )
    added = _("Added entry {entry} ({spent}) to task {task}.")
    _one(ctx, entry, added.format(entry=entry["id"], spent=_spent(entry["seconds"]), task=task_id))


@app.command("edit")
def timer_edit(
    ctx: typer.Context,
    entry_id: EntryId,
    duration: Duration = None,
    start: From = None,
    end: To = None,
    comment: Annotated[str | None, typer.Option("--comment", "-m", help="A new comment.")] = None,
) -> None:
    """Change a time entry (yours; firm administrators any); new times make it manual.

    Example: sempi timer edit 7 --to "2026-03-16 12:00" --comment "Dimenticato acceso"
    """
    from sempi_cli.services.timers.timers import TimerService

    entry = (
        state(ctx)
        .service(TimerService)
        .edit(entry_id, duration=duration, start=start, end=end, comment=comment)
    )
    _one(ctx, entry, _("Changed entry {entry}.").format(entry=entry_id))


@app.command("remove")
def timer_remove(ctx: typer.Context, entry_id: EntryId) -> None:
    """Remove a time entry (yours; firm administrators any); the history keeps it.

    Example: sempi timer remove 7
    """
    from sempi_cli.services.timers.timers import TimerService

    result = state(ctx).service(TimerService).remove(entry_id)
    if state(ctx).fmt != "table":
        emit_record(ctx, result)
    say(ctx, _("Removed entry {entry}.").format(entry=entry_id))


@app.command("check")
def timer_check(ctx: typer.Context) -> None:
    """Notify the owners of forgotten timers (over midnight or past the limit), once each.

    For cron: firm users check everyone's timers, others their own. The limit
    is the setting timer.max_running_hours (default 10).

    Example: sempi -q timer check
    """
    from sempi_cli.services.timers.timers import TimerService, in_words

    found = state(ctx).service(TimerService).check()
    if not state(ctx).quiet:
        shown = found
        if state(ctx).fmt == "table":  # the reason in words; JSON and CSV keep the English
            shown = [{**f, "why": in_words(f["why"])} for f in found]
        emit_rows(
            ctx,
            shown,
            ("id", "task_id", "user", "started_at", "why", "notified"),
        )
    n, notified = len(found), sum(f["notified"] for f in found)
    summary = ngettext(
        "{n} forgotten timer, {notified} notified now.",
        "{n} forgotten timers, {notified} notified now.",
        n,
    )
    say(ctx, summary.format(n=n, notified=notified))


@app.command("report")
def timer_report(
    ctx: typer.Context,
    by: Annotated[
        str, typer.Option("--by", help="Group by task, user, client, practice, day, week, month.")
    ] = "task",
    start: Annotated[
        str | None, typer.Option("--from", help="First day (Rome): 2026-01-01, 01/01/2026, -30d...")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, included (default: today).")
    ] = None,
    round_to: Annotated[
        str | None,
        typer.Option("--round", help="Also show billed time, each entry rounded up to this: 15m."),
    ] = None,
) -> None:
    """Report time spent against planned time, and the overrun, over a period.

    The period defaults to this month; an entry counts on the Rome day it
    started. Use --format csv or --json for scripts (durations in seconds).

    Example: sempi timer report --by client --from 2026-01-01 --to 2026-03-31 --round 15m
    """
    from sempi_cli.services.timers.reports import COLUMNS, NO_CLIENT, NO_PRACTICE, TimerReports

    rows = state(ctx).service(TimerReports).report(by, start, end, round_to)
    columns = [*COLUMNS, "billed_seconds"] if round_to else list(COLUMNS)
    if state(ctx).fmt == "table":
        nameless = (NO_CLIENT, NO_PRACTICE) if by in ("client", "practice") else ()
        shown = [
            {
                c.removesuffix("_seconds"): _hm(r.get(c)) if c.endswith("_seconds") else r.get(c)
                for c in columns
            }
            for r in rows
        ]
        for row, r in zip(shown, rows, strict=True):
            if r["group"] is None and r["name"] in nameless:  # time on no client's tasks
                row["name"] = _(r["name"])
        emit_rows(ctx, shown, [c.removesuffix("_seconds") for c in columns])
        total = sum(r["spent_seconds"] or 0 for r in rows)
        n = len(rows)
        summary = ngettext("{n} group, {spent} spent.", "{n} groups, {spent} spent.", n)
        say(ctx, summary.format(n=n, spent=_spent(total)))
    else:
        emit_rows(ctx, rows, columns)


def _one(ctx: typer.Context, entry: dict, message: str) -> None:
    if state(ctx).fmt != "table":
        emit_record(ctx, entry)
    else:
        emit_rows(ctx, _entries(ctx, [entry]), _columns(ctx, [entry]))
    say(ctx, message)
