"""Options that `task`, `task template` and `task remind` share, declared once,
and the table-only rendering of their times."""

from __future__ import annotations

from typing import Annotated

import typer

TaskId = Annotated[int, typer.Argument(help="The task's id.")]
TaskIds = Annotated[list[int], typer.Argument(help="One or more task ids.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]
Description = Annotated[str, typer.Option("--description", help="Details.")]
Deadline = Annotated[
    str | None,
    typer.Option(
        "--deadline", "-d", help="Due: 2026-03-16 18:00, 16/03/2026, tomorrow, +3d, eom, friday..."
    ),
]
Planned = Annotated[
    str | None, typer.Option("--planned", help="Planned time: 1h30m, 90m, 1.5h, 01:30.")
]
Client = Annotated[
    str | None, typer.Option("--client", "-c", help="The client (its work group) by id.")
]
Project = Annotated[str | None, typer.Option("--project", help="A project label.")]
Parent = Annotated[str | None, typer.Option("--parent", help="Make it a subtask of this task id.")]
Kind = Annotated[
    str | None, typer.Option("--kind", help="ordinary (recurring, fiscal) or extraordinary.")
]
NewTitle = Annotated[str | None, typer.Option("--title", help="A new title.")]
NewDescription = Annotated[str | None, typer.Option("--description", help="A new description.")]
NewResponsible = Annotated[
    str | None, typer.Option("--responsible", "-r", help="A new responsible.")
]
Participants = Annotated[
    list[str] | None, typer.Option("--participant", help="A participant; repeat it.")
]
Observers = Annotated[list[str] | None, typer.Option("--observer", help="An observer; repeat it.")]
Tags = Annotated[list[str] | None, typer.Option("--tag", "-t", help="A tag; repeat it.")]
High = Annotated[bool, typer.Option("--high", help="High priority.")]
Approval = Annotated[bool, typer.Option("--approval", help="The creator approves the completion.")]
FixedDeadline = Annotated[
    bool, typer.Option("--fixed-deadline", help="Only the creator may change the deadline.")
]
TimeTracking = Annotated[
    bool | None,
    typer.Option(
        "--time-tracking/--no-time-tracking", help="Track time (default: ordinary tasks)."
    ),
]
# Switches for `edit`: None leaves the value as it is.
HighSwitch = Annotated[
    bool | None, typer.Option("--high/--normal", help="High or normal priority.")
]
ApprovalSwitch = Annotated[
    bool | None, typer.Option("--approval/--no-approval", help="Approval on completion.")
]
FixedDeadlineSwitch = Annotated[
    bool | None,
    typer.Option(
        "--fixed-deadline/--flexible-deadline", help="Only the creator changes the deadline."
    ),
]
TimeTrackingSwitch = Annotated[
    bool | None, typer.Option("--time-tracking/--no-time-tracking", help="Time tracking.")
]
AddParticipants = Annotated[
    list[str] | None, typer.Option("--add-participant", help="Add a participant.")
]
RemoveParticipants = Annotated[
    list[str] | None, typer.Option("--remove-participant", help="Remove a participant.")
]
AddObservers = Annotated[list[str] | None, typer.Option("--add-observer", help="Add an observer.")]
RemoveObservers = Annotated[
    list[str] | None, typer.Option("--remove-observer", help="Remove an observer.")
]
AddTags = Annotated[list[str] | None, typer.Option("--tag", "-t", help="Add a tag.")]
RemoveTags = Annotated[list[str] | None, typer.Option("--untag", help="Remove a tag.")]
# Filters that `task list` and `task export` share.
Mine = Annotated[bool, typer.Option("--mine", help="Where I am responsible.")]
CreatedByMe = Annotated[bool, typer.Option("--created", help="That I created.")]
Statuses = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        "-s",
        help="pending, in_progress, awaiting_approval, completed, deferred; repeat it.",
    ),
]
OfClient = Annotated[int | None, typer.Option("--client", "-c", help="Of this client (id).")]
WithTags = Annotated[
    list[str] | None, typer.Option("--tag", "-t", help="With this tag; repeat for all of them.")
]
