"""`sempi scheduler`: turn each client's fiscal profile into dated deadlines (tasks).

This module holds the run and its record (run, runs, health) and the firm's
adjustments (override, template); the views (list, calendar, explain, export,
rules, holidays) live in ``views.py``; both add their commands to the group
in ``group.py``, and this module, the one the root loads, imports both.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, say, state, sub_app
from sempi_cli.cli.scheduler import views  # noqa: F401  (registers the view commands)
from sempi_cli.cli.scheduler.group import app
from sempi_cli.i18n import N_, ngettext
from sempi_cli.i18n import gettext as _

RuleArg = Annotated[
    str,
    typer.Argument(help="The rule's id, e.g. LIPE, IVA-M, ACC-1 (see 'sempi scheduler rules')."),
]
PeriodArg = Annotated[
    str,
    typer.Argument(
        help="The period: a year (2025), a quarter (2026-Q2), a month (2026-05), an instalment (2026-R1)."
    ),
]


def _date(ctx: typer.Context, text: str | None, field: str):
    from sempi_cli.timeparse import parse_date

    return None if text is None else parse_date(text, state(ctx).clock.now(), field=field)


@app.command("run")
def scheduler_run(
    ctx: typer.Context,
    from_: Annotated[
        str | None, typer.Option("--from", help="First due date to generate (default: today).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last due date to generate.")] = None,
    horizon: Annotated[
        str | None,
        typer.Option(
            "--horizon",
            help="How far ahead instead of --to: 12m (default), 2y, 90d; at most 36 months.",
        ),
    ] = None,
    client: Annotated[
        list[int] | None, typer.Option("--client", help="Only this client (repeatable).")
    ] = None,
    studio: Annotated[
        str | None, typer.Option("--studio", help="Only this practice (id or name).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
) -> None:
    """Generate the deadlines of every client (or some) as tasks; safe to run twice.

    Example: sempi scheduler run --horizon 12m
    """
    from sempi_cli.errors import UsageProblem
    from sempi_cli.services.scheduler.runner import SchedulerService, run_range

    app_state = state(ctx)
    if to is not None and horizon is not None:
        raise UsageProblem(_("--to and --horizon: give one of them"))
    start, end = run_range(
        app_state.clock, _date(ctx, from_, "--from"), _date(ctx, to, "--to"), horizon
    )
    report = app_state.service(SchedulerService, long_job=True).run(
        start=start, end=end, client_ids=client, studio=studio, dry_run=dry_run
    )
    if report["unassigned_clients"]:
        ids = ", ".join(str(i) for i in report["unassigned_clients"][:10])
        n = len(report["unassigned_clients"])
        warning = ngettext(
            "Warning: {n} client(s) have no responsible ({ids}): their new deadlines were given"
            " to you; set one with 'sempi client edit ID --responsible'.",
            "Warning: {n} client(s) have no responsible ({ids}): their new deadlines were given"
            " to you; set one with 'sempi client edit ID --responsible'.",
            n,
        )
        typer.echo(warning.format(n=n, ids=ids), err=True)
    if app_state.fmt != "table":
        emit_record(ctx, report)
        return
    if app_state.quiet:
        return
    n = report["clients"]
    if dry_run:
        summary = ngettext(
            "Dry run (nothing written), due {start} .. {end}, {n} client: created {created},"
            " updated {updated}, cancelled {cancelled}, unchanged {unchanged}.",
            "Dry run (nothing written), due {start} .. {end}, {n} clients: created {created},"
            " updated {updated}, cancelled {cancelled}, unchanged {unchanged}.",
            n,
        )
    else:
        summary = ngettext(
            "Run #{run}, due {start} .. {end}, {n} client: created {created},"
            " updated {updated}, cancelled {cancelled}, unchanged {unchanged}.",
            "Run #{run}, due {start} .. {end}, {n} clients: created {created},"
            " updated {updated}, cancelled {cancelled}, unchanged {unchanged}.",
            n,
        )
    typer.echo(
        summary.format(
            run=report["run_id"],
            start=_day(report["from"]),
            end=_day(report["to"]),
            n=n,
            created=report["created"],
            updated=report["updated"],
            cancelled=report["cancelled"],
            unchanged=report["unchanged"],
        )
    )
    for change in report["changes"]:
        typer.echo(_change_line(change))


# One line per deadline a run changed (or would have), by its action.
CHANGE_LINES = {
    "cancelled": N_(
        "  cancelled client {client} {rule} {period} (task {task}): due {old}, no longer applies"
    ),
    "kept": N_(
        "  kept      client {client} {rule} {period} (task {task}): already started, left alone"
        " (rules now say {new})"
    ),
    "updated": N_("  updated   client {client} {rule} {period} (task {task}): due {old} -> {new}"),
    "restored": N_("  restored  client {client} {rule} {period} (task {task}): due {old} -> {new}"),
}


def _day(iso: str | None) -> object:
    """A day in a message: ISO in English, as it always was; dd/mm/yyyy in Italian."""
    from sempi_cli.services.scheduler.config import Day

    return iso if iso is None else Day(iso)


def _change_line(change: dict) -> str:
    action = change["action"]
    new = _day(change["new_due"])
    if action == "kept" and not new:
        new = _("cancel")
    return _(CHANGE_LINES[action]).format(
        client=change["client_id"],
        rule=change["rule_id"],
        period=change["period"],
        task=change["task_id"],
        old=_day(change["old_due"]),
        new=new,
    )


@app.command("runs")
def scheduler_runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs, newest first.")] = 20,
) -> None:
    """List the recorded runs: start, end, status, counts.

    Example: sempi scheduler runs --limit 5
    """
    from sempi_cli.services.scheduler.runner import RUN_COLUMNS, SchedulerService

    emit_rows(ctx, state(ctx).service(SchedulerService).runs(limit), RUN_COLUMNS)


@app.command("health")
def scheduler_health(
    ctx: typer.Context,
    max_age: Annotated[
        str,
        typer.Option(
            "--max-age", help="Fail (exit 11) when the last successful run is older: 26h, 2d."
        ),
    ] = "26h",
) -> None:
    """Check that the scheduler ran successfully recently (for monitoring).

    Example: sempi scheduler health --max-age 26h
    """
    from datetime import timedelta

    from sempi_cli.services.scheduler.runner import SchedulerService
    from sempi_cli.timeparse import parse_duration

    text = max_age.strip().lower()
    if text.endswith("d") and text[:-1].isdigit():
        age = timedelta(days=int(text[:-1]))
    else:
        age = parse_duration(text, field="--max-age")
    result = state(ctx).service(SchedulerService).health(age)
    if state(ctx).fmt != "table":
        emit_record(ctx, result)
    else:
        from sempi_cli.services.scheduler.runner import decimal

        say(
            ctx,
            _("OK: run #{run} finished {hours} hours ago.").format(
                run=result["run_id"], hours=decimal(str(result["age_hours"]))
            ),
        )


override_app = sub_app(
    "override", "Per-period extensions of a rule (a government proroga), kept as data."
)
app.add_typer(override_app)


@override_app.command("add")
def override_add(
    ctx: typer.Context,
    rule: RuleArg,
    period: PeriodArg,
    due: Annotated[str, typer.Argument(help="The new due date, e.g. 2025-07-21.")],
    reason: Annotated[
        str, typer.Option("--reason", help="The act that grants it, e.g. 'DL 84/2025 art. 13'.")
    ],
    applies_to: Annotated[
        list[str] | None,
        typer.Option(
            "--applies-to",
            help="Only clients with this yes/no profile field (repeatable): isa_subject.",
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Change an existing override.")
    ] = False,
) -> None:
    """Move one period of a rule to a new date (weekend/holiday shifts still apply).

    Example: sempi scheduler override add ACC-1 2025 2025-07-21 --reason "DL 84/2025 art. 13" --applies-to isa_subject --applies-to forfettario
    """
    from sempi_cli.services.scheduler.config import SchedulerConfig

    day = _date(ctx, due, "DATE")
    result = (
        state(ctx)
        .service(SchedulerConfig)
        .add_override(rule, period, day, reason, applies_to, replace=replace)
    )
    if state(ctx).fmt != "table":
        emit_record(ctx, result)
    say(
        ctx,
        _(
            "{rule} {period}: due {due} instead of {nominal} (before shifts). Run 'sempi"
            " scheduler run' to move the deadlines not yet started."
        ).format(
            rule=result["rule_id"],
            period=result["period"],
            due=_day(result["due_date"]),
            nominal=_day(result["nominal_date"]),
        ),
    )


@override_app.command("list")
def override_list(ctx: typer.Context) -> None:
    """List the overrides.

    Example: sempi scheduler override list
    """
    from sempi_cli.services.scheduler.config import OVERRIDE_COLUMNS, SchedulerConfig

    emit_rows(ctx, state(ctx).service(SchedulerConfig).overrides(), OVERRIDE_COLUMNS)


@override_app.command("remove")
def override_remove(ctx: typer.Context, rule: RuleArg, period: PeriodArg) -> None:
    """Remove an override; the next run puts the deadlines back on the rule's date.

    Example: sempi scheduler override remove ACC-1 2025
    """
    from sempi_cli.services.scheduler.config import SchedulerConfig

    result = state(ctx).service(SchedulerConfig).remove_override(rule, period)
    say(
        ctx,
        _("Removed the override of {rule} {period}.").format(
            rule=result["rule_id"], period=result["period"]
        ),
    )


@app.command("template")
def scheduler_template(
    ctx: typer.Context,
    rule: Annotated[
        str | None, typer.Argument(help="The rule's id; without it, list the rules that have one.")
    ] = None,
    template: Annotated[
        str | None,
        typer.Argument(help="A task template whose checklists the rule's new tasks get."),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Back to the rule's default checklist.")
    ] = False,
) -> None:
    """Give a rule's new deadlines the checklists of one of the firm's task templates.

    Example: sempi scheduler template LIPE "LIPE trimestrale"
    """
    from sempi_cli.errors import UsageProblem
    from sempi_cli.services.scheduler.config import SchedulerConfig

    service = state(ctx).service(SchedulerConfig)
    if rule is None:
        emit_rows(ctx, service.templates(), ("rule_id", "template", "set_at"))
        return
    if (template is None) != clear:
        raise UsageProblem(_("give a TEMPLATE or --clear (not both)"))
    result = service.set_template(rule, None if clear else template)
    if result["template"] is None:
        say(
            ctx,
            _("{rule}: new deadlines get the rule's default checklist.").format(
                rule=result["rule_id"]
            ),
        )
    else:
        say(
            ctx,
            _("{rule}: new deadlines get the checklists of template {template}.").format(
                rule=result["rule_id"], template=repr(result["template"])
            ),
        )
