"""`sempi task recur`: recurrence rules on templates, and the run that makes the tasks."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, say, state, sub_app
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

app = sub_app("recur", "Make tasks recur: set a rule on a template or task, run it from cron.")

TEMPLATE_COLUMNS = ("id", "name", "rule", "last_occurrence", "next")


@app.command("set")
def recur_set(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="TASK_OR_TEMPLATE",
            help="A template's name, or a task's id (its content becomes template task-<id>).",
        ),
    ],
    freq: Annotated[
        str,
        typer.Option(
            "--freq",
            help="daily, weekdays, weekly, monthly, monthly_last, quarterly or yearly.",
        ),
    ],
    start: Annotated[
        str,
        typer.Option(
            "--start",
            help="The first date; weekly, monthly, quarterly and yearly keep its weekday or day.",
        ),
    ],
    interval: Annotated[
        int, typer.Option("--interval", help="Every N days, weeks, months, quarters or years.")
    ] = 1,
    until: Annotated[
        str | None, typer.Option("--until", help="The last possible date (inclusive).")
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", help="Stop after this many occurrences.")
    ] = None,
    shift: Annotated[
        str,
        typer.Option(
            "--shift",
            help="none, or next-working-day: a weekend or national holiday moves to the next working day.",
        ),
    ] = "none",
) -> None:
    """Make a template (or a task) recur; 'sempi task recur run' makes the tasks.

    A monthly rule on the 29th-31st falls on the last day of shorter months.

    Example: sempi task recur set lipe-mensile --freq monthly --start 2026-01-16 --shift next-working-day
    """
    from sempi_cli.services.templates.recurring import RecurrenceService

    service = state(ctx).service(RecurrenceService)
    rule = service.rule(freq, start, interval=interval, until=until, count=count, shift=shift)
    template = service.recur(target, rule)
    emit_record(ctx, template)
    from sempi_cli.services.templates.rrule import describe_for_people, rule_of

    recurring = rule_of(template)
    words = describe_for_people(recurring) if recurring else template["rule"]
    recurs = _("Template {name} recurs: {rule}.")
    say(ctx, recurs.format(name=repr(template["name"]), rule=words))


@app.command("stop")
def recur_stop(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The template's name (or task-<id>).")],
) -> None:
    """Stop a template recurring; the tasks it made stay.

    Example: sempi task recur stop lipe-mensile
    """
    from sempi_cli.services.templates.recurring import RecurrenceService

    template = state(ctx).service(RecurrenceService).recur(name, None)
    emit_record(ctx, template)
    say(ctx, _("Template {name} no longer recurs.").format(name=repr(template["name"])))


@app.command("list")
def recur_list(ctx: typer.Context) -> None:
    """List the recurring templates with their last and next occurrences.

    Example: sempi task recur list --json
    """
    from sempi_cli.services.templates.templates import TemplateService

    rows = state(ctx).service(TemplateService).list(recurring=True)
    emit_rows(ctx, rows, TEMPLATE_COLUMNS)


@app.command("run")
def recur_run(
    ctx: typer.Context,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Make the occurrences up to this date (default: today, Rome)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be made; make nothing.")
    ] = False,
) -> None:
    """Make a task for every occurrence due and not yet made (safe to re-run, cron).

    Runs of the same day, or two at once, never make a task twice.

    Example: SEMPI_USER=cron@sempi.it SEMPI_APP_PASSWORD=... sempi -q task recur run
    """
    from datetime import date

    from sempi_cli.services.templates.recurring import RecurrenceService
    from sempi_cli.services.templates.rrule import people_day

    counts = state(ctx).service(RecurrenceService).run(until, dry_run=dry_run)
    if not state(ctx).quiet:  # a cron job with -q prints nothing unless it fails
        emit_record(ctx, counts)
    n, templates = counts["created"], counts["templates"]
    if dry_run:
        made = ngettext(
            "Would make {n} task(s) up to {day} from {templates}; {existing} already made.",
            "Would make {n} task(s) up to {day} from {templates}; {existing} already made.",
            n,
        )
    else:
        made = ngettext(
            "Made {n} task(s) up to {day} from {templates}; {existing} already made.",
            "Made {n} task(s) up to {day} from {templates}; {existing} already made.",
            n,
        )
    message = made.format(
        n=n,
        day=people_day(date.fromisoformat(counts["until"])),
        templates=ngettext(
            "{n} recurring template(s)", "{n} recurring template(s)", templates
        ).format(n=templates),
        existing=counts["existing"],
    )
    if counts["skipped"]:
        skipped = _("Skipped (responsible disabled): {names}.")
        message += " " + skipped.format(names=", ".join(counts["skipped"]))
    say(ctx, message)
