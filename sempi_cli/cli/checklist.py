"""`sempi checklist`: named checklists on tasks, items nested without limit,
group actions, item participants and observers, attached files."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import (
    confirm,
    emit_record,
    emit_rows,
    group_app,
    say,
    state,
    sub_app,
    write_private_bytes,
)
from sempi_cli.i18n import NN_, ngettext
from sempi_cli.i18n import gettext as _

app = group_app("checklist")
member_app = sub_app("member", "Add or remove an item's participants and observers.")
file_app = sub_app("file", "Attach files to items, get them back, remove them.")
app.add_typer(member_app)
app.add_typer(file_app)

TaskId = Annotated[int, typer.Argument(help="The task's id.")]
ItemId = Annotated[int, typer.Argument(help="The item's id.")]
ItemIds = Annotated[list[int], typer.Argument(help="One or more item ids.")]
ListName = Annotated[
    str | None,
    typer.Option("--list", "-l", help="The checklist, by name (default: the task's only one)."),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]
CHANGED = ("id", "text", "done")


def _items():
    from sempi_cli.services.checklists.items import ChecklistItems

    return ChecklistItems


# What a group action asks first, and says after (done, or what a dry run would do).
QUESTIONS = {
    "Check": NN_("Check {n} item?", "Check {n} items?"),
    "Uncheck": NN_("Uncheck {n} item?", "Uncheck {n} items?"),
    "Mark": NN_("Mark {n} item?", "Mark {n} items?"),
    "Move": NN_("Move {n} item?", "Move {n} items?"),
}
DONE = {
    "Check": NN_("Checked {n} item.", "Checked {n} items."),
    "Uncheck": NN_("Unchecked {n} item.", "Unchecked {n} items."),
    "Mark": NN_("Marked {n} item.", "Marked {n} items."),
    "Remove": NN_("Removed {n} item.", "Removed {n} items."),
    "Move": NN_("Moved {n} item.", "Moved {n} items."),
}
WOULD = {
    "Check": NN_("Would check {n} item.", "Would check {n} items."),
    "Uncheck": NN_("Would uncheck {n} item.", "Would uncheck {n} items."),
    "Mark": NN_("Would mark {n} item.", "Would mark {n} items."),
    "Remove": NN_("Would remove {n} item.", "Would remove {n} items."),
    "Move": NN_("Would move {n} item.", "Would move {n} items."),
}


def _confirm_bulk(ctx: typer.Context, ids: list[int], verb: str, dry_run: bool) -> None:
    """Many items at once ask first (on a terminal; --yes elsewhere)."""
    from sempi_cli.services.tasks.tasks import needs_confirmation

    n = len(set(ids))
    if needs_confirmation(n) and not dry_run:
        confirm(ctx, ngettext(*QUESTIONS[verb], n).format(n=n))


def _done(ctx: typer.Context, rows: list[dict], verb: str, dry_run: bool) -> None:
    """'Checked 3 items.', or 'Would check 3 items.' for a dry run."""
    n = len(rows)
    say(ctx, ngettext(*(WOULD if dry_run else DONE)[verb], n).format(n=n))


# --- lists ---------------------------------------------------------------------------


@app.command("add-list")
def checklist_add_list(
    ctx: typer.Context,
    task_id: TaskId,
    name: Annotated[str, typer.Argument(help="The checklist's name (unique in the task).")],
) -> None:
    """Add a named checklist to a task.

    Example: sempi checklist add-list 42 "Documenti dal cliente"
    """
    from sempi_cli.services.checklists.checklists import ChecklistService

    emit_record(ctx, state(ctx).service(ChecklistService).add_list(task_id, name))


@app.command("rename-list")
def checklist_rename_list(
    ctx: typer.Context,
    task_id: TaskId,
    name: Annotated[str, typer.Argument(help="The checklist's current name.")],
    new_name: Annotated[str, typer.Argument(help="Its new name.")],
) -> None:
    """Rename a task's checklist.

    Example: sempi checklist rename-list 42 Documenti "Documenti ricevuti"
    """
    from sempi_cli.services.checklists.checklists import ChecklistService

    emit_record(ctx, state(ctx).service(ChecklistService).rename_list(task_id, name, new_name))


@app.command("remove-list")
def checklist_remove_list(
    ctx: typer.Context,
    task_id: TaskId,
    name: Annotated[str, typer.Argument(help="The checklist's name.")],
    dry_run: DryRun = False,
) -> None:
    """Remove a checklist with all its items and their files (asks first).

    Example: sempi checklist remove-list 42 Bozza --yes
    """
    from sempi_cli.services.checklists.checklists import ChecklistService

    if not dry_run:
        question = _("Remove checklist {name} of task {task} with all its items?")
        confirm(ctx, question.format(name=repr(name), task=task_id))
    result = state(ctx).service(ChecklistService).remove_list(task_id, name, dry_run=dry_run)
    emit_record(ctx, result)


# --- items ---------------------------------------------------------------------------


@app.command("add")
def checklist_add(
    ctx: typer.Context,
    task_id: TaskId,
    text: Annotated[str, typer.Argument(help="What is to be done.")],
    list_name: ListName = None,
    under: Annotated[
        int | None, typer.Option("--under", "-u", help="Make it a sub-item of this item id.")
    ] = None,
    important: Annotated[bool, typer.Option("--important", help="Mark it important.")] = False,
    participant: Annotated[
        list[str] | None,
        typer.Option("--participant", help="A participant (sees the task, checks it); repeat it."),
    ] = None,
    observer: Annotated[
        list[str] | None,
        typer.Option("--observer", help="An observer (sees the task); repeat it."),
    ] = None,
) -> None:
    """Add an item to a task's checklist, or a sub-item under an item.

    Example: sempi checklist add 42 "Raccogliere fatture" --list Documenti --under 12
    """
    item = (
        state(ctx)
        .service(_items())
        .add(
            task_id,
            text,
            list_name=list_name,
            under=under,
            important=important,
            participants=participant or [],
            observers=observer or [],
        )
    )
    if state(ctx).fmt == "table":
        typer.echo(item["id"])
    else:
        emit_record(ctx, item)


@app.command("list")
def checklist_list(
    ctx: typer.Context,
    task_id: TaskId,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Show completed items too (hidden by default).")
    ] = False,
    mine: Annotated[
        bool, typer.Option("--mine", help="Only items where I am participant or observer.")
    ] = False,
    list_name: Annotated[
        str | None, typer.Option("--list", "-l", help="Only this checklist, by name.")
    ] = None,
) -> None:
    """Show a task's checklists as indented trees, with done/total counts.

    Example: sempi checklist list 42 --all
    """
    from sempi_cli.services.checklists.checklists import ChecklistService

    view = (
        state(ctx)
        .service(ChecklistService)
        .view(task_id, include_done=all_, mine=mine, list_name=list_name)
    )
    if state(ctx).fmt != "table":
        emit_record(ctx, view)
        return
    lines = [_("Task {task}: {title}").format(task=view["task_id"], title=view["title"])]
    for checklist in view["checklists"]:
        hidden = ""
        if checklist["hidden"]:
            n = checklist["hidden"]
            hidden = "  " + ngettext("({n} not shown)", "({n} not shown)", n).format(n=n)
        lines.append(f"{checklist['name']}  {checklist['done']}/{checklist['total']}{hidden}")
        for item in checklist["items"]:
            extra = []
            if item["total_count"]:
                extra.append(f"{item['done_count']}/{item['total_count']}")
            if item["important"]:
                extra.append(_("important"))
            if item["files"]:
                n = item["files"]
                extra.append(ngettext("{n} file", "{n} files", n).format(n=n))
            observer = _("{user} (obs.)")
            people = item["participants"] + [observer.format(user=o) for o in item["observers"]]
            if people:
                extra.append(", ".join(people))
            mark = "[x]" if item["done"] else "[ ]"
            tail = f"  ({'; '.join(extra)})" if extra else ""
            lines.append(f"{'  ' * (item['depth'] + 1)}{mark} {item['id']}  {item['text']}{tail}")
    if not view["checklists"]:
        none_yet = _("No checklists yet: add one with 'sempi checklist add {task} TEXT'.")
        lines.append(none_yet.format(task=task_id))
    typer.echo("\n".join(lines))


@app.command("show")
def checklist_show(ctx: typer.Context, item_id: ItemId) -> None:
    """Show one item: its text, state, people and files.

    Example: sempi checklist show 12
    """
    emit_record(ctx, state(ctx).service(_items()).show(item_id))


@app.command("edit")
def checklist_edit(
    ctx: typer.Context,
    item_id: ItemId,
    text: Annotated[str, typer.Option("--text", help="The item's new text.")],
) -> None:
    """Change an item's text.

    Example: sempi checklist edit 12 --text "Raccogliere fatture di marzo"
    """
    emit_record(ctx, state(ctx).service(_items()).edit(item_id, text))


@app.command("check")
def checklist_check(ctx: typer.Context, item_ids: ItemIds, dry_run: DryRun = False) -> None:
    """Check items off, each with its sub-items; all or nothing.

    Example: sempi checklist check 12 13 14 --yes
    """
    _confirm_bulk(ctx, item_ids, "Check", dry_run)
    rows = state(ctx).service(_items()).check(item_ids, dry_run=dry_run)
    emit_rows(ctx, rows, CHANGED)
    _done(ctx, rows, "Check", dry_run)


@app.command("uncheck")
def checklist_uncheck(ctx: typer.Context, item_ids: ItemIds, dry_run: DryRun = False) -> None:
    """Open items again (and the items above them); all or nothing.

    Example: sempi checklist uncheck 12
    """
    _confirm_bulk(ctx, item_ids, "Uncheck", dry_run)
    rows = state(ctx).service(_items()).uncheck(item_ids, dry_run=dry_run)
    emit_rows(ctx, rows, CHANGED)
    _done(ctx, rows, "Uncheck", dry_run)


@app.command("important")
def checklist_important(
    ctx: typer.Context,
    item_ids: ItemIds,
    off: Annotated[bool, typer.Option("--off", help="Clear the mark instead.")] = False,
    dry_run: DryRun = False,
) -> None:
    """Mark items important (or clear the mark with --off); all or nothing.

    Example: sempi checklist important 12 15
    """
    _confirm_bulk(ctx, item_ids, "Mark", dry_run)
    rows = state(ctx).service(_items()).important(item_ids, not off, dry_run=dry_run)
    emit_rows(ctx, rows, ("id", "text", "important"))
    _done(ctx, rows, "Mark", dry_run)


@app.command("remove")
def checklist_remove(ctx: typer.Context, item_ids: ItemIds, dry_run: DryRun = False) -> None:
    """Remove items with their sub-items and files (asks first); all or nothing.

    Example: sempi checklist remove 12 --yes
    """
    if not dry_run:
        n = len(set(item_ids))
        question = ngettext(
            "Remove {n} item with its sub-items?", "Remove {n} items with their sub-items?", n
        )
        confirm(ctx, question.format(n=n))
    rows = state(ctx).service(_items()).remove(item_ids, dry_run=dry_run)
    emit_rows(ctx, rows, ("id", "text", "sub_items"))
    _done(ctx, rows, "Remove", dry_run)


@app.command("move")
def checklist_move(
    ctx: typer.Context,
    item_ids: ItemIds,
    under: Annotated[
        int | None, typer.Option("--under", "-u", help="Make them sub-items of this item.")
    ] = None,
    top: Annotated[bool, typer.Option("--top", help="Make them top-level items.")] = False,
    list_name: Annotated[
        str | None, typer.Option("--list", "-l", help="Into this checklist of the task.")
    ] = None,
    before: Annotated[
        int | None, typer.Option("--before", help="Just before this item (its siblings).")
    ] = None,
    after: Annotated[
        int | None, typer.Option("--after", help="Just after this item (its siblings).")
    ] = None,
    position: Annotated[
        int | None, typer.Option("--position", help="At this place among siblings (1 = first).")
    ] = None,
    dry_run: DryRun = False,
) -> None:
    """Reorder items, put them under another item, or move them to another list.

    Example: sempi checklist move 15 16 --under 12 --position 1
    """
    from sempi_cli.services.checklists.moves import ChecklistMoves, Where

    where = Where(
        list_name=list_name, under=under, top=top, before=before, after=after, position=position
    )
    _confirm_bulk(ctx, item_ids, "Move", dry_run)
    rows = state(ctx).service(ChecklistMoves).move(item_ids, where, dry_run=dry_run)
    emit_rows(ctx, rows, ("id", "text", "from", "to"))
    _done(ctx, rows, "Move", dry_run)


@app.command("from-description")
def checklist_from_description(
    ctx: typer.Context, task_id: TaskId, list_name: ListName = None
) -> None:
    """Turn the list lines of the task's description into items (nested by indent).

    Example: sempi checklist from-description 42 --list Documenti
    """
    rows = state(ctx).service(_items()).from_description(task_id, list_name)
    emit_rows(ctx, rows, ("id", "parent_id", "text"))
    n = len(rows)
    say(ctx, ngettext("Added {n} item.", "Added {n} items.", n).format(n=n))


# --- people --------------------------------------------------------------------------

User = Annotated[str, typer.Argument(help="The person (e-mail or id).")]


@member_app.command("add")
def checklist_member_add(
    ctx: typer.Context,
    item_id: ItemId,
    user: User,
    observer: Annotated[
        bool, typer.Option("--observer", help="As an observer (default: participant).")
    ] = False,
) -> None:
    """Add a participant or observer to an item (they see the whole task).

    Example: sempi checklist member add 12 giulia@sempi.it
    """
    role = "observer" if observer else "participant"
    emit_record(ctx, state(ctx).service(_items()).add_member(item_id, user, role))


@member_app.command("remove")
def checklist_member_remove(
    ctx: typer.Context,
    item_id: ItemId,
    user: User,
    role: Annotated[
        str | None,
        typer.Option("--role", help="participant or observer (default: both)."),
    ] = None,
) -> None:
    """Take someone off an item (their access through it ends at once).

    Example: sempi checklist member remove 12 giulia@sempi.it
    """
    emit_record(ctx, state(ctx).service(_items()).remove_member(item_id, user, role))


# --- files ---------------------------------------------------------------------------

FileName = Annotated[str, typer.Argument(help="The file's name on the item.")]


@file_app.command("add")
def checklist_file_add(
    ctx: typer.Context,
    item_id: ItemId,
    path: Annotated[str, typer.Argument(help="The file to attach.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Its name on the item (default: the file's).")
    ] = None,
) -> None:
    """Attach a file to an item (stored in the store, once per content).

    Example: sempi checklist file add 12 ricevuta-f24.pdf
    """
    from sempi_cli.services.checklists.attachments import Attachments

    emit_record(ctx, state(ctx).service(Attachments).attach(item_id, path, name))


@file_app.command("get")
def checklist_file_get(
    ctx: typer.Context,
    item_id: ItemId,
    name: FileName,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="Write here (a new file; '-' for stdout). Default: NAME."
        ),
    ] = None,
) -> None:
    """Write an attached file back out, byte for byte.

    Example: sempi checklist file get 12 ricevuta-f24.pdf -o /tmp/ricevuta.pdf
    """

    from sempi_cli.services.checklists.attachments import Attachments

    stored_name, content = state(ctx).service(Attachments).content(item_id, name)
    if output == "-":
        stream = typer.get_binary_stream("stdout")
        stream.write(content)
        stream.flush()
        return
    target = output or stored_name
    write_private_bytes(target, [content])
    n = len(content)
    say(
        ctx,
        ngettext("Wrote {file} ({n} byte).", "Wrote {file} ({n} bytes).", n).format(
            file=target, n=n
        ),
    )


@file_app.command("remove")
def checklist_file_remove(ctx: typer.Context, item_id: ItemId, name: FileName) -> None:
    """Remove a file from an item.

    Example: sempi checklist file remove 12 bozza.pdf
    """
    from sempi_cli.services.checklists.attachments import Attachments

    emit_record(ctx, state(ctx).service(Attachments).detach(item_id, name))
