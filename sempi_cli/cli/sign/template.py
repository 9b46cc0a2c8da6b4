"""`sempi sign template`: the texts sent for signature, with their placeholders."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import (
    confirm,
    emit_record,
    emit_record_with_text,
    emit_rows,
    say,
    state,
    sub_app,
)
from sempi_cli.i18n import gettext as _

app = sub_app(
    "template", "Keep the texts sent for signature: Markdown or plain text with placeholders."
)

Name = Annotated[
    str, typer.Argument(help="The template's name (or id), e.g. 'Lettera d'incarico'.")
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]
LIST_COLUMNS = ("id", "name", "format", "placeholders", "requests", "created_at", "created_by")


@app.command("add")
def template_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The template's name, 1 to 64 characters.")],
    file: Annotated[
        str,
        typer.Argument(
            help="The text: a .md file (Markdown) or a .txt file (plain text), UTF-8, "
            "with placeholders such as {{client.ragione_sociale}}."
        ),
    ],
) -> None:
    """Add a template from a file; an unknown placeholder is refused, named.

    Example: sempi sign template add "Lettera d'incarico" incarico.md
    """
    from sempi_cli.services.signing.templates import SignTemplates

    record = state(ctx).service(SignTemplates).add(name, file)
    emit_record(ctx, record)
    say(ctx, _("Added signature template {name}.").format(name=repr(record["name"])))


@app.command("list")
def template_list(ctx: typer.Context) -> None:
    """List the templates, the placeholders each uses and how many requests used it.

    Example: sempi sign template list
    """
    from sempi_cli.services.signing.templates import SignTemplates

    rows = state(ctx).service(SignTemplates).list()
    emit_rows(ctx, rows, LIST_COLUMNS)


@app.command("show")
def template_show(ctx: typer.Context, name: Name) -> None:
    """Show a template: its placeholders, what each becomes, and its text.

    Example: sempi sign template show "Lettera d'incarico"
    """
    from sempi_cli.services.signing.templates import SignTemplates

    record = state(ctx).service(SignTemplates).show(name)
    emit_record_with_text(ctx, record)


@app.command("remove")
def template_remove(ctx: typer.Context, name: Name, dry_run: DryRun = False) -> None:
    """Remove a template no request used (a used one stays, with its requests).

    Example: sempi sign template remove "Lettera d'incarico" --yes
    """
    from sempi_cli.services.signing.templates import SignTemplates

    if not dry_run:
        confirm(ctx, _("Remove signature template {name}?").format(name=repr(name)))
    record = state(ctx).service(SignTemplates).remove(name, dry_run=dry_run)
    emit_record(ctx, record)
    if dry_run:
        done = _("Would remove signature template {name}.")
    else:
        done = _("Removed signature template {name}.")
    say(ctx, done.format(name=repr(record["name"])))
