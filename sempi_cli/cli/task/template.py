"""`sempi task template`: reusable task content (firm users)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import confirm, emit_record, emit_rows, say, state, sub_app
from sempi_cli.cli.task.options import (
    AddObservers,
    AddParticipants,
    AddTags,
    Approval,
    ApprovalSwitch,
    Client,
    Description,
    DryRun,
    FixedDeadline,
    FixedDeadlineSwitch,
    High,
    HighSwitch,
    Kind,
    NewDescription,
    NewResponsible,
    NewTitle,
    Observers,
    Participants,
    Planned,
    Project,
    RemoveObservers,
    RemoveParticipants,
    RemoveTags,
    Tags,
    TimeTracking,
    TimeTrackingSwitch,
)
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

app = sub_app("template", "Keep reusable tasks (templates) for recurring and repeated work.")

Name = Annotated[str, typer.Argument(help="The template's name, e.g. lipe-mensile.")]
DeadlineDays = Annotated[
    int | None,
    typer.Option("--deadline-days", help="Each instance is due this many days after its date."),
]
DeadlineTime = Annotated[
    str | None,
    typer.Option("--deadline-time", help="Each instance is due at this time, Rome (hh:mm)."),
]
LIST_COLUMNS = ("id", "name", "title", "responsible", "client", "rule", "next")


@app.command("add")
def template_add(
    ctx: typer.Context,
    name: Name,
    title: Annotated[
        str | None, typer.Option("--title", help="The title of each task it makes.")
    ] = None,
    from_task: Annotated[
        int | None,
        typer.Option("--from-task", help="Copy the content of this task (id) instead."),
    ] = None,
    responsible: Annotated[
        str | None,
        typer.Option("--responsible", "-r", help="Who does the work (e-mail or id); default: you."),
    ] = None,
    description: Description = "",
    participant: Participants = None,
    observer: Observers = None,
    high: High = False,
    planned: Planned = None,
    client: Client = None,
    project: Project = None,
    tag: Tags = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="ordinary (recurring, fiscal) or extraordinary (default)."),
    ] = None,
    approval: Approval = False,
    fixed_deadline: FixedDeadline = False,
    time_tracking: TimeTracking = None,
    deadline_days: DeadlineDays = 0,
    deadline_time: DeadlineTime = None,
) -> None:
    """Add a task template, from options or from an existing task.

    Example: sempi task template add lipe-mensile --title "Liquidazione IVA" -c 12 --kind ordinary
    """
    from sempi_cli.errors import UsageProblem
    from sempi_cli.services.templates.templates import TemplateInput, TemplateService

    service = state(ctx).service(TemplateService)
    if from_task is not None:
        content = (title, responsible, participant, observer, planned, client, project, tag)
        flags = (description, high, approval, fixed_deadline, kind, time_tracking is not None)
        if any(content) or any(flags):
            raise UsageProblem(
                _("--from-task copies the task's content: give no other content option"),
                _("change the template afterwards with 'sempi task template edit'"),
            )
        template = service.from_task(
            from_task, name, deadline_days=deadline_days, deadline_time=deadline_time
        )
    else:
        if title is None:
            raise UsageProblem(_("missing --title (or --from-task)"))
        template = service.add(
            TemplateInput(
                name=name,
                title=title,
                responsible=responsible,
                description=description,
                participants=participant or [],
                observers=observer or [],
                high_priority=high,
                planned=planned,
                client=client,
                project=project,
                tags=tag or [],
                kind=kind,
                approval_required=approval,
                responsible_sets_deadline=not fixed_deadline,
                time_tracking=time_tracking,
                deadline_days=deadline_days,
                deadline_time=deadline_time,
            )
        )
    emit_record(ctx, template)
    say(ctx, _("Added template {name}.").format(name=repr(template["name"])))


@app.command("list")
def template_list(
    ctx: typer.Context,
    recurring: Annotated[
        bool, typer.Option("--recurring", help="Only templates with a recurrence rule.")
    ] = False,
) -> None:
    """List the task templates you may see, with their rule and next dates.

    Example: sempi task template list --recurring
    """
    from sempi_cli.services.templates.templates import TemplateService

    rows = state(ctx).service(TemplateService).list(recurring=recurring)
    emit_rows(
        ctx,
        rows,
        LIST_COLUMNS
        if state(ctx).fmt == "table"
        else [*LIST_COLUMNS[:6], "last_occurrence", "next"],
    )


@app.command("show")
def template_show(ctx: typer.Context, name: Name) -> None:
    """Show a template: its content, its rule, and what it made.

    Example: sempi task template show lipe-mensile
    """
    from sempi_cli.services.templates.templates import TemplateService

    emit_record(ctx, state(ctx).service(TemplateService).show(name))


@app.command("edit")
def template_edit(
    ctx: typer.Context,
    name: Name,
    new_name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    title: NewTitle = None,
    description: NewDescription = None,
    responsible: NewResponsible = None,
    planned: Planned = None,
    client: Client = None,
    project: Project = None,
    kind: Kind = None,
    high: HighSwitch = None,
    approval: ApprovalSwitch = None,
    fixed_deadline: FixedDeadlineSwitch = None,
    time_tracking: TimeTrackingSwitch = None,
    deadline_days: DeadlineDays = None,
    deadline_time: DeadlineTime = None,
    add_participant: AddParticipants = None,
    remove_participant: RemoveParticipants = None,
    add_observer: AddObservers = None,
    remove_observer: RemoveObservers = None,
    tag: AddTags = None,
    untag: RemoveTags = None,
    sign_on_status: Annotated[
        str | None,
        typer.Option(
            "--sign-on-status",
            help="When one of its tasks reaches this status (e.g. completed), send"
            " --sign-template for signature to the task's client ('' stops it).",
            metavar="STATUS",
        ),
    ] = None,
    sign_template: Annotated[
        str | None,
        typer.Option(
            "--sign-template",
            help="The signature template sent by --sign-on-status (sempi sign template list).",
            metavar="TEMPLATE",
        ),
    ] = None,
    dry_run: DryRun = False,
) -> None:
    """Change a template ('' clears an optional field); tasks it made stay as they are.

    With --sign-on-status and --sign-template, a task of this template that
    reaches the status sends the signature template to its client's external
    users, as sempi sign request does (a simple electronic signature).

    Example: sempi task template edit lipe-mensile --deadline-days 2 --tag iva
    Example: sempi task template edit incarico --sign-on-status completed --sign-template lettera
    """
    from sempi_cli.services.templates.templates import TemplateEdit, TemplateService

    change = TemplateEdit(
        name=new_name,
        title=title,
        description=description,
        responsible=responsible,
        planned=planned,
        client=client,
        project=project,
        kind=kind,
        high_priority=high,
        approval_required=approval,
        responsible_sets_deadline=None if fixed_deadline is None else not fixed_deadline,
        time_tracking=time_tracking,
        deadline_days=deadline_days,
        deadline_time=deadline_time,
        add_participants=add_participant or [],
        remove_participants=remove_participant or [],
        add_observers=add_observer or [],
        remove_observers=remove_observer or [],
        add_tags=tag or [],
        remove_tags=untag or [],
        sign_on_status=sign_on_status,
        sign_template=sign_template,
    )
    result = state(ctx).service(TemplateService).edit(name, change, dry_run=dry_run)
    emit_record(ctx, result)
    n = len(result["changes"])
    if dry_run:
        done = ngettext(
            "Would change {n} field of template {name}.",
            "Would change {n} fields of template {name}.",
            n,
        )
    else:
        done = ngettext(
            "Changed {n} field of template {name}.", "Changed {n} fields of template {name}.", n
        )
    say(ctx, done.format(n=n, name=repr(result["name"])))


@app.command("remove")
def template_remove(ctx: typer.Context, name: Name, dry_run: DryRun = False) -> None:
    """Remove a template: it makes no more tasks; the tasks it made stay.

    Example: sempi task template remove lipe-mensile --yes
    """
    from sempi_cli.services.templates.templates import TemplateService

    if not dry_run:
        confirm(ctx, _("Remove template {name}?").format(name=repr(name)))
    result = state(ctx).service(TemplateService).remove(name, dry_run=dry_run)
    emit_record(ctx, result)
    done = _("Would remove template {name}.") if dry_run else _("Removed template {name}.")
    say(ctx, done.format(name=repr(result["name"])))
