"""`sempi automation add|list|show|enable|disable|remove|test`: the firm's rules, no
code needed (services/automation/rules.py; docs/automation.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import confirm, emit_record, emit_rows, say, state
from sempi_cli.i18n import gettext as _

Name = Annotated[str, typer.Argument(help="The rule's name, e.g. 'F24 inviato'.")]
LIST_COLUMNS = ("id", "name", "on", "if", "do", "params", "enabled", "created_by")


def _flat(rule: dict) -> dict:
    """A rule for a table: conditions and parameters on one line each."""
    params = rule["params"]
    return {
        **rule,
        "if": "; ".join(rule["if"]),
        "params": " ".join(
            f"--{k.replace('_', '-')} {', '.join(v) if isinstance(v, list) else v}"
            for k, v in params.items()
        ),
    }


def _emit(ctx: typer.Context, rule: dict) -> None:
    emit_record(ctx, rule if state(ctx).fmt in ("json", "jsonl") else _flat(rule))


def rule_add(
    ctx: typer.Context,
    name: Name,
    on: Annotated[
        str,
        typer.Option("--on", help="The kind of event, e.g. task.completed (sempi events kinds)."),
    ],
    do: Annotated[
        str,
        typer.Option(
            "--do", help="The action: notify, mail, task, set-responsible, sign, checklist."
        ),
    ],
    when: Annotated[
        list[str] | None,
        typer.Option(
            "--if",
            help="FIELD=VALUE the event must have (repeatable, all must hold), e.g. "
            "data.title=Invio F24, client_id=12, changes.status.new=completed.",
        ),
    ] = None,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            help="Who: a user (e-mail), role:ROLE (notify, repeatable); "
            "client or responsible (mail).",
        ),
    ] = None,
    message: Annotated[
        str | None,
        typer.Option(
            "--message",
            help="notify: the notification's text; mail: your words, with --mail-template notice.",
        ),
    ] = None,
    mail_template: Annotated[
        str | None, typer.Option("--mail-template", help="mail: the e-mail's template.")
    ] = None,
    task_template: Annotated[
        str | None,
        typer.Option("--task-template", help="task, checklist: the task template to use."),
    ] = None,
    sign_template: Annotated[
        str | None, typer.Option("--sign-template", help="sign: the document to send.")
    ] = None,
    checklist: Annotated[
        str | None,
        typer.Option("--checklist", help="checklist: only this list of the task template."),
    ] = None,
) -> None:
    """Add a rule: when an event of this kind happens (and each --if holds), do this.
    Everything it names is checked now; it acts as you, the firm administrator.

    Example: sempi automation add "F24 fatto" --on task.completed --if "data.title=Invio F24" --do notify --to role:staff --message "F24 inviato"
    """
    from sempi_cli.services.automation.actions import ActionInput
    from sempi_cli.services.automation.rules import AutomationRules

    given = ActionInput(
        to=to or [],
        message=message,
        mail_template=mail_template,
        task_template=task_template,
        sign_template=sign_template,
        checklist=checklist,
    )
    rule = state(ctx).service(AutomationRules).add(name, on, when or [], do, given)
    _emit(ctx, rule)
    say(ctx, _("Added rule {name}.").format(name=repr(rule["name"])))


def rule_list(ctx: typer.Context) -> None:
    """List the rules, enabled or not.

    Example: sempi automation list
    """
    from sempi_cli.services.automation.rules import AutomationRules

    rules = state(ctx).service(AutomationRules).list()
    if state(ctx).fmt in ("json", "jsonl"):
        emit_rows(ctx, rules, (*LIST_COLUMNS, "created_at", "updated_at"))
    else:
        emit_rows(ctx, [_flat(r) for r in rules], LIST_COLUMNS)


def rule_show(ctx: typer.Context, name: Name) -> None:
    """Show a rule: its event, conditions, action and who added it.

    Example: sempi automation show "F24 fatto"
    """
    from sempi_cli.services.automation.rules import AutomationRules

    _emit(ctx, state(ctx).service(AutomationRules).show(name))


def rule_enable(ctx: typer.Context, name: Name) -> None:
    """Enable a rule: it acts again from the next event.

    Example: sempi automation enable "F24 fatto"
    """
    from sempi_cli.services.automation.rules import AutomationRules

    rule = state(ctx).service(AutomationRules).set_enabled(name, True)
    _emit(ctx, rule)
    say(ctx, _("Rule {name} is enabled.").format(name=repr(rule["name"])))


def rule_disable(ctx: typer.Context, name: Name) -> None:
    """Disable a rule: it stays, and does nothing until enabled.

    Example: sempi automation disable "F24 fatto"
    """
    from sempi_cli.services.automation.rules import AutomationRules

    rule = state(ctx).service(AutomationRules).set_enabled(name, False)
    _emit(ctx, rule)
    say(ctx, _("Rule {name} is disabled.").format(name=repr(rule["name"])))


def rule_remove(ctx: typer.Context, name: Name) -> None:
    """Remove a rule (the activity log keeps what it was).

    Example: sempi automation remove "F24 fatto" --yes
    """
    from sempi_cli.services.automation.rules import AutomationRules

    confirm(ctx, _("Remove rule {name}?").format(name=repr(name)))
    rule = state(ctx).service(AutomationRules).remove(name)
    _emit(ctx, rule)
    say(ctx, _("Removed rule {name}.").format(name=repr(rule["name"])))


def rule_test(
    ctx: typer.Context,
    name: Name,
    event: Annotated[
        int, typer.Option("--event", min=1, help="A past event's id (sempi events list).")
    ],
) -> None:
    """Try a rule on a past event: whether it holds, and what its action would do.
    Nothing is kept: the action runs inside a transaction undone at the end.

    Example: sempi automation test "F24 fatto" --event 1200
    """
    from sempi_cli.services.automation.rules import AutomationRules

    result = state(ctx).service(AutomationRules).test(name, event)
    if state(ctx).fmt not in ("json", "jsonl"):
        verdict = {True: _("holds"), False: _("does not hold")}
        shown = [f"{c['if']}: {verdict[c['holds']]}" for c in result["conditions"]]
        result = {**result, "conditions": "; ".join(shown)}
    emit_record(ctx, result)
    if not result["would_run"]:
        say(ctx, _("Rule {name} would not act on event {event}.").format(
            name=repr(result["rule"]), event=event))  # fmt: skip
    elif "error" in result["outcome"]:
        say(ctx, _("Rule {name} would fail on event {event}: {why}").format(
            name=repr(result["rule"]), event=event, why=result["outcome"]["error"]))  # fmt: skip
    else:
        say(ctx, _("Rule {name} would act on event {event}; nothing was kept.").format(
            name=repr(result["rule"]), event=event))  # fmt: skip
