"""`sempi task`: tasks (incarichi) with roles, statuses, approval, history."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import confirm, emit_record, emit_rows, group_app, say, state
from sempi_cli.cli.task.options import (
    AddObservers,
    AddParticipants,
    AddTags,
    Approval,
    ApprovalSwitch,
    Client,
    CreatedByMe,
    Deadline,
    Description,
    DryRun,
    FixedDeadline,
    FixedDeadlineSwitch,
    High,
    HighSwitch,
    Kind,
    Mine,
    NewDescription,
    NewResponsible,
    NewTitle,
    Observers,
    OfClient,
    Parent,
    Participants,
    Planned,
    Project,
    RemoveObservers,
    RemoveParticipants,
    RemoveTags,
    Statuses,
    Tags,
    TaskId,
    TaskIds,
    TimeTracking,
    TimeTrackingSwitch,
    WithTags,
)
from sempi_cli.i18n import N_, NN_, ngettext
from sempi_cli.i18n import gettext as _

app = group_app("task")

RESULT_COLUMNS = ("id", "old_status", "status")
SIGN_COLUMNS = ("sign_request", "sign_problem")  # only when a template's rule applied
# The sections of `task due` (its JSON keys), as a person reads them.
DUE_HEADINGS = {
    "overdue": N_("Overdue"),
    "today": N_("Today"),
    "this_week": N_("This week"),
    "awaiting_my_approval": N_("Awaiting my approval"),
}


def _confirm_bulk(ctx: typer.Context, ids: list[int], verb: str, dry_run: bool) -> None:
    """Many tasks at once ask first (on a terminal; --yes elsewhere)."""
    from sempi_cli.services.tasks.tasks import needs_confirmation

    if needs_confirmation(len(ids)) and not dry_run:
        confirm(ctx, _bulk_question(verb, len(ids)))


# The question before acting on many tasks at once.
QUESTIONS = {
    "Edit": NN_("Edit {n} task?", "Edit {n} tasks?"),
    "Start": NN_("Start {n} task?", "Start {n} tasks?"),
    "Done": NN_("Done {n} task?", "Done {n} tasks?"),
    "Approve": NN_("Approve {n} task?", "Approve {n} tasks?"),
    "Defer": NN_("Defer {n} task?", "Defer {n} tasks?"),
    "Reopen": NN_("Reopen {n} task?", "Reopen {n} tasks?"),
    "Return": NN_("Return {n} task?", "Return {n} tasks?"),
}


def _bulk_question(verb: str, n: int) -> str:
    """ "Start 3 tasks?": the question before acting on many tasks at once."""
    return ngettext(*QUESTIONS[verb], n).format(n=n)


@app.command("add")
def task_add(
    ctx: typer.Context,
    title: Annotated[
        str | None, typer.Argument(help="What is to be done (with --template: its title).")
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            help="Make it from this template now: its content, people, tags, checklists.",
        ),
    ] = None,
    responsible: Annotated[
        list[str] | None,
        typer.Option(
            "--responsible", "-r", help="Who does it (e-mail or id); several make one task each."
        ),
    ] = None,
    description: Description = "",
    participant: Participants = None,
    observer: Observers = None,
    high: High = False,
    deadline: Deadline = None,
    planned: Planned = None,
    client: Client = None,
    project: Project = None,
    parent: Parent = None,
    tag: Tags = None,
    kind: Kind = None,
    approval: Approval = False,
    fixed_deadline: FixedDeadline = False,
    time_tracking: TimeTracking = None,
) -> None:
    """Add a task; several --responsible make one task per responsible.

    Example: sempi task add "Liquidazione IVA marzo" -r marco@sempi.it -c 12 -d 16/04/2026 --approval
    """
    from sempi_cli.errors import UsageProblem
    from sempi_cli.services.tasks.input import TaskInput
    from sempi_cli.services.tasks.tasks import TaskService

    if template is not None:
        from_template = {
            "--description": description != "", "--participant": bool(participant),
            "--observer": bool(observer), "--high": high, "--planned": planned is not None,
            "--project": project is not None, "--tag": bool(tag),
            "--kind": kind is not None, "--approval": approval,
            "--fixed-deadline": fixed_deadline, "--time-tracking": time_tracking is not None,
        }  # fmt: skip
        clash = [option for option, given in from_template.items() if given]
        if clash:
            raise UsageProblem(
                _("{option}: it comes from the template with --template").format(option=clash[0]),
                _(
                    "give the title, --responsible, --deadline, --client or --parent only;"
                    " edit the task afterwards for the rest"
                ),
            )
        from sempi_cli.services.templates.one_off import OneOffTasks

        made = state(ctx).service(OneOffTasks).add(
            template, title=title, responsibles=responsible, deadline=deadline,
            client=_id_of(client, "--client"), parent=_id_of(parent, "--parent"),
        )  # fmt: skip
        _report_added(ctx, made)
        return
    if title is None:
        raise UsageProblem(_("missing TITLE"), _("give what is to be done, or --template NAME"))
    data = TaskInput(
        title=title,
        responsibles=responsible or [],
        description=description,
        participants=participant or [],
        observers=observer or [],
        high_priority=high,
        deadline=deadline,
        planned=planned,
        client=int(client) if client and client.isdigit() else client,
        project=project,
        parent=parent,
        tags=tag or [],
        kind=kind,
        approval_required=approval,
        responsible_sets_deadline=not fixed_deadline,
        time_tracking=time_tracking,
    )
    _report_added(ctx, state(ctx).service(TaskService).add(data))


def _id_of(value: str | None, option: str) -> int | None:
    from sempi_cli.errors import InvalidData

    if value is None or not value.strip():
        return None
    if not value.strip().isdigit():
        raise InvalidData(option, _("{value} is not an id").format(value=repr(value)))
    return int(value)


def _report_added(ctx: typer.Context, created: list[dict]) -> None:
    if state(ctx).fmt == "table":
        for task in created:
            typer.echo(task["id"])
        n = len(created)
        say(ctx, ngettext("Added {n} task.", "Added {n} tasks.", n).format(n=n))
    else:
        emit_rows(ctx, created, list(created[0]))


@app.command("list")
def task_list(
    ctx: typer.Context,
    mine: Mine = False,
    created: CreatedByMe = False,
    observing: Annotated[bool, typer.Option("--observing", help="That I observe.")] = False,
    participating: Annotated[
        bool, typer.Option("--participating", help="Where I participate.")
    ] = False,
    status: Statuses = None,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Include completed tasks (listed: open ones only).")
    ] = False,
    client: OfClient = None,
    studio: Annotated[
        str | None, typer.Option("--studio", help="Of this practice's clients (id or name).")
    ] = None,
    tag: WithTags = None,
    due_before: Annotated[
        str | None, typer.Option("--due-before", help="Deadline before this moment (exclusive).")
    ] = None,
    due_by: Annotated[
        str | None, typer.Option("--due-by", help="Deadline by this date (inclusive).")
    ] = None,
    due_from: Annotated[
        str | None, typer.Option("--due-from", help="Deadline on or after this date.")
    ] = None,
    due_to: Annotated[
        str | None, typer.Option("--due-to", help="Deadline on or before this date (whole day).")
    ] = None,
    responsible: Annotated[
        str | None, typer.Option("--responsible", "-r", help="Whose responsibility (e-mail or id).")
    ] = None,
    creator: Annotated[
        str | None, typer.Option("--creator", help="Created by this user (e-mail or id).")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Of this project (its exact label).")
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Past the deadline and not completed.")
    ] = False,
    today: Annotated[bool, typer.Option("--today", help="Due today.")] = False,
    week: Annotated[bool, typer.Option("--week", help="Due this week (Monday to Sunday).")] = False,
    high: Annotated[bool, typer.Option("--high", help="High priority only.")] = False,
    kind: Kind = None,
    awaiting_approval: Annotated[
        bool, typer.Option("--awaiting-approval", help="Waiting for my approval.")
    ] = False,
    search: Annotated[
        str | None, typer.Option("--search", help="Text in title, description or project.")
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", help="deadline, priority, created, updated, title, status.")
    ] = "deadline",
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="At most this many.")
    ] = None,
) -> None:
    """List the tasks you may see, with filters.

    Example: sempi task list --responsible niccolo@studio.it --due-from 01/12 --due-to 15/12
    """
    from sempi_cli.services.tasks.queries import LIST_COLUMNS, TaskQueries, TaskQuery

    query = TaskQuery(
        mine=mine,
        created=created,
        observing=observing,
        participating=participating,
        statuses=status or [],
        client=client,
        studio=studio,
        tags=tag or [],
        due_before=due_before,
        due_by=due_by,
        due_from=due_from,
        due_to=due_to,
        responsible=responsible,
        creator=creator,
        project=project,
        overdue=overdue,
        today=today,
        week=week,
        high=high,
        kind=kind,
        awaiting_approval=awaiting_approval,
        search=search,
        include_completed=all_,
        sort=sort,
        limit=limit,
    )
    rows = state(ctx).service(TaskQueries, read_only=True).list(query)
    columns = (
        LIST_COLUMNS
        if state(ctx).fmt == "table"
        else [c for c in (rows[0] if rows else LIST_COLUMNS)]
    )
    emit_rows(ctx, rows, columns)


@app.command("due")
def task_due(ctx: typer.Context) -> None:
    """Show what is due for you: overdue, today, this week, awaiting your approval.

    Example: sempi task due
    """
    from sempi_cli.services.tasks.queries import TaskQueries

    sections = state(ctx).service(TaskQueries, read_only=True).due()
    if state(ctx).fmt != "table":
        emit_record(ctx, sections)
        return
    for name, rows in sections.items():
        heading = _(DUE_HEADINGS[name]) if name in DUE_HEADINGS else name
        typer.echo(_("{heading} ({n})").format(heading=heading, n=len(rows)))
        if rows:
            emit_rows(
                ctx,
                rows,
                ("id", "title", "client", "deadline", "flags"),
            )
        typer.echo("")


@app.command("show")
def task_show(ctx: typer.Context, task_id: TaskId) -> None:
    """Show everything about a task: roles, dates, subtasks, counts.

    Example: sempi task show 42
    """
    from sempi_cli.services.tasks.tasks import TaskService

    emit_record(ctx, state(ctx).service(TaskService, read_only=True).show(task_id))


@app.command("edit")
def task_edit(
    ctx: typer.Context,
    task_ids: TaskIds,
    title: NewTitle = None,
    description: NewDescription = None,
    responsible: NewResponsible = None,
    deadline: Deadline = None,
    planned: Planned = None,
    client: Client = None,
    project: Project = None,
    parent: Parent = None,
    kind: Kind = None,
    high: HighSwitch = None,
    approval: ApprovalSwitch = None,
    fixed_deadline: FixedDeadlineSwitch = None,
    time_tracking: TimeTrackingSwitch = None,
    add_participant: AddParticipants = None,
    remove_participant: RemoveParticipants = None,
    add_observer: AddObservers = None,
    remove_observer: RemoveObservers = None,
    tag: AddTags = None,
    untag: RemoveTags = None,
    dry_run: DryRun = False,
) -> None:
    """Change one or more tasks ('' clears an optional field); all or nothing.

    Example: sempi task edit 42 43 --deadline +2d --tag urgente
    """
    from sempi_cli.services.tasks.input import TaskEdit
    from sempi_cli.services.tasks.tasks import TaskService

    changes = TaskEdit(
        title=title,
        description=description,
        responsible=responsible,
        deadline=deadline,
        planned=planned,
        client=client,
        project=project,
        parent=parent,
        kind=kind,
        high_priority=high,
        approval_required=approval,
        responsible_sets_deadline=None if fixed_deadline is None else not fixed_deadline,
        time_tracking=time_tracking,
        add_participants=add_participant or [],
        remove_participants=remove_participant or [],
        add_observers=add_observer or [],
        remove_observers=remove_observer or [],
        add_tags=tag or [],
        remove_tags=untag or [],
    )
    _confirm_bulk(ctx, task_ids, "Edit", dry_run)
    results = state(ctx).service(TaskService).edit(task_ids, changes, dry_run=dry_run)
    emit_rows(ctx, results, ("id", "changes"))
    n = len(results)
    if dry_run:
        say(ctx, ngettext("Would change {n} task.", "Would change {n} tasks.", n).format(n=n))
    else:
        say(ctx, ngettext("Changed {n} task.", "Changed {n} tasks.", n).format(n=n))


def _transition(verb: str, summary: str, example: str):
    def command(ctx: typer.Context, task_ids: TaskIds, dry_run: DryRun = False) -> None:
        from sempi_cli.services.tasks.flow import TaskFlow

        _confirm_bulk(ctx, task_ids, verb.capitalize(), dry_run)
        results = state(ctx).service(TaskFlow).change(verb, task_ids, dry_run=dry_run)
        signing = any("sign_request" in r or "sign_problem" in r for r in results)
        emit_rows(ctx, results, RESULT_COLUMNS + (SIGN_COLUMNS if signing else ()))
        for result in results:  # a task template's signing rule (task template edit)
            if "sign_request" in result:
                say(ctx, _("Task {task}: sent for signature as request {request}.").format(
                    task=result["id"], request=result["sign_request"]))  # fmt: skip
            elif "sign_problem" in result:
                say(ctx, _("Task {task}: the document for signature was not sent: {why}").format(
                    task=result["id"], why=result["sign_problem"]))  # fmt: skip

    command.__doc__ = f"{summary}\n\nExample: {example}"
    return command


app.command("start")(
    _transition("start", "Start working on tasks (status: in progress).", "sempi task start 42")
)
app.command("done")(
    _transition(
        "done",
        "Complete tasks (or send them for approval when the task asks for it).",
        "sempi task done 42",
    )
)
app.command("approve")(
    _transition(
        "approve", "Approve tasks you created that await approval.", "sempi task approve 42"
    )
)
app.command("defer")(
    _transition("defer", "Put tasks off (status: deferred).", "sempi task defer 42 43")
)
app.command("reopen")(
    _transition("reopen", "Reopen completed or deferred tasks.", "sempi task reopen 42")
)


@app.command("return")
def task_return(
    ctx: typer.Context,
    task_ids: TaskIds,
    reason: Annotated[str, typer.Option("--reason", help="Why it goes back (required).")],
    dry_run: DryRun = False,
) -> None:
    """Send tasks awaiting your approval back to their responsible for rework.

    Example: sempi task return 42 --reason "Manca la ricevuta F24"
    """
    from sempi_cli.services.tasks.flow import TaskFlow

    _confirm_bulk(ctx, task_ids, "Return", dry_run)
    emit_rows(
        ctx,
        state(ctx).service(TaskFlow).change("return", task_ids, reason=reason, dry_run=dry_run),
        RESULT_COLUMNS,
    )


@app.command("remove")
def task_remove(ctx: typer.Context, task_ids: TaskIds, dry_run: DryRun = False) -> None:
    """Remove tasks you created (they leave every list; their history stays).

    Example: sempi task remove 42 --yes
    """
    from sempi_cli.services.tasks.tasks import TaskService

    if not dry_run:
        n = len(task_ids)
        confirm(ctx, ngettext("Remove {n} task?", "Remove {n} tasks?", n).format(n=n))
    results = state(ctx).service(TaskService).remove(task_ids, dry_run=dry_run)
    emit_rows(ctx, results, ("id", "title"))
    n = len(results)
    if dry_run:
        say(ctx, ngettext("Would remove {n} task.", "Would remove {n} tasks.", n).format(n=n))
    else:
        say(ctx, ngettext("Removed {n} task.", "Removed {n} tasks.", n).format(n=n))


@app.command("comment")
def task_comment(
    ctx: typer.Context, task_id: TaskId, text: Annotated[str, typer.Argument(help="The comment.")]
) -> None:
    """Comment on a task (observers may too).

    Example: sempi task comment 42 "Il cliente ha inviato le fatture"
    """
    from sempi_cli.services.tasks.tasks import TaskService

    emit_record(ctx, state(ctx).service(TaskService).comment(task_id, text))


@app.command("comments")
def task_comments(ctx: typer.Context, task_id: TaskId) -> None:
    """List a task's comments, oldest first.

    Example: sempi task comments 42
    """
    from sempi_cli.services.tasks.tasks import TaskService

    emit_rows(
        ctx,
        state(ctx).service(TaskService, read_only=True).comments(task_id),
        ("id", "at", "author", "body"),
    )


@app.command("history")
def task_history(ctx: typer.Context, task_id: TaskId) -> None:
    """Show a task's history: every change, who, when, old and new value.

    Example: sempi task history 42
    """
    from sempi_cli.services.tasks.tasks import TaskService

    rows = state(ctx).service(TaskService, read_only=True).history_of(task_id)
    emit_rows(ctx, rows, ("id", "at", "actor", "action", "field", "old", "new"))


from sempi_cli.cli.task import remind as task_remind  # noqa: E402

app.add_typer(task_remind.app)

from sempi_cli.cli.task import transfer as task_transfer  # noqa: E402

app.command("export")(task_transfer.task_export)
app.command("import")(task_transfer.task_import)

from sempi_cli.cli.task import reassign as task_reassign  # noqa: E402

app.command("reassign")(task_reassign.task_reassign)


# Sub-groups: `sempi task template ...` and `sempi task recur ...`.
from sempi_cli.cli.task import recur as task_recur  # noqa: E402
from sempi_cli.cli.task import template as task_template  # noqa: E402

app.add_typer(task_template.app)
app.add_typer(task_recur.app)
