"""What a person or a script says about a task or a task template, before it is
checked against the store."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from sempi_cli.i18n import NP_

KINDS = ("ordinary", "extraordinary")
DEFAULT_KIND = "extraordinary"
STATUSES = ("pending", "in_progress", "awaiting_approval", "completed", "deferred")
# A status in a sentence for people, shown with pgettext("task status", ...) (JSON
# and CSV keep the values above).
STATUS_WORDS = {
    "pending": NP_("task status", "pending"),
    "in_progress": NP_("task status", "in progress"),
    "awaiting_approval": NP_("task status", "awaiting approval"),
    "completed": NP_("task status", "completed"),
    "deferred": NP_("task status", "deferred"),
}


@dataclass(kw_only=True)
class TaskContent:
    """What a new task and a new template both say about the work."""

    description: str = ""
    participants: list[str] = field(default_factory=list)
    observers: list[str] = field(default_factory=list)
    high_priority: bool = False
    planned: str | None = None
    project: str | None = None
    tags: list[str] = field(default_factory=list)
    kind: str | None = None  # default (None or ""): DEFAULT_KIND
    approval_required: bool = False
    responsible_sets_deadline: bool = True
    time_tracking: bool | None = None  # default: on for ordinary tasks


@dataclass
class TaskInput(TaskContent):
    """A new task. Several responsibles make several tasks with the same content."""

    title: str
    responsibles: list[str] = field(default_factory=list)  # default: whoever adds the task
    deadline: str | None = None
    client: int | None = None
    parent: int | None = None
    external_key: str | None = None
    from_template: int | None = None  # the template a one-off task is made from


@dataclass
class TemplateInput(TaskContent):
    """A new template: a task's content, plus when its instances are due."""

    name: str
    title: str
    responsible: str | None = None  # default: whoever adds the template
    client: str | None = None
    deadline_days: int = 0
    deadline_time: str | None = None  # default: the end of the office day


@dataclass(kw_only=True)
class ContentEdit:
    """Changes to the content a task and a template share (TaskService.content_fields);
    None means "leave as it is", an empty string clears."""

    title: str | None = None
    description: str | None = None
    responsible: str | None = None
    planned: str | None = None
    client: str | None = None
    project: str | None = None
    kind: str | None = None
    high_priority: bool | None = None
    approval_required: bool | None = None
    responsible_sets_deadline: bool | None = None
    time_tracking: bool | None = None
    add_participants: list[str] = field(default_factory=list)
    remove_participants: list[str] = field(default_factory=list)
    add_observers: list[str] = field(default_factory=list)
    remove_observers: list[str] = field(default_factory=list)
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) in (None, []) for f in fields(self))


@dataclass(kw_only=True)
class TaskEdit(ContentEdit):
    """Changes to tasks."""

    deadline: str | None = None
    parent: str | None = None


@dataclass(kw_only=True)
class TemplateEdit(ContentEdit):
    """Changes to a template."""

    name: str | None = None
    deadline_days: int | None = None
    deadline_time: str | None = None
    # When one of its tasks reaches this status, send this sign template for
    # signature (services/signing/on_status.py); '' clears the rule.
    sign_on_status: str | None = None
    sign_template: str | None = None
