"""`sempi doc`: client documents in folders: add, import a backlog, list, get, move,
remove; and the folder tree (`sempi doc folder ...`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sempi_cli.cli.common import (
    confirm,
    data_language,
    emit_record,
    emit_rows,
    group_app,
    say,
    state,
    sub_app,
    write_private_bytes,
)
from sempi_cli.i18n import N_, ngettext
from sempi_cli.i18n import gettext as _

app = group_app("doc")
folder_app = sub_app("folder", "A client's document folders: list, add, rename, remove.")
app.add_typer(folder_app)

Client = Annotated[int, typer.Option("--client", "-c", help="The client (id).")]
DocumentId = Annotated[int, typer.Argument(help="The document's id.")]
FolderPath = Annotated[
    str, typer.Argument(help="The folder's path, e.g. IVA/Liquidazioni (any case), or its id.")
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]
DOC_COLUMNS = ("id", "folder", "name", "size", "added_at", "added_by")
HIDDEN_USER = N_("(firm)")  # the service gives no e-mail of a user you may not see


def _documents(ctx: typer.Context):
    from sempi_cli.services.documents.documents import DocumentService

    return state(ctx).service(DocumentService)


def _folders(ctx: typer.Context):
    from sempi_cli.services.documents.folders import FolderService

    return state(ctx).service(FolderService)


def _shown(ctx: typer.Context, document: dict) -> dict:
    """A document as a table shows it: "(firm)" for an adder you may not see, no
    source line for a document that was not imported. JSON keeps null for both."""
    if state(ctx).fmt != "table":
        return document
    shown = {**document, "added_by": document["added_by"] or _(HIDDEN_USER)}
    if shown.get("source") is None:
        shown.pop("source", None)
    return shown


# --- folders --------------------------------------------------------------------------


@folder_app.command("list")
def doc_folder_list(ctx: typer.Context, client: Client) -> None:
    """Show a client's folders as a tree, with how many documents each holds.

    Example: sempi doc folder list --client 12
    """
    rows = _folders(ctx).list(client)
    if state(ctx).fmt != "table":
        emit_rows(ctx, rows, ("id", "parent_id", "name", "path", "depth", "documents"))
        return
    if not rows:
        say(
            ctx,
            _("No folders yet: add one with 'sempi doc folder add --client {client} NAME'.").format(
                client=client
            ),
        )
        return
    width = max(len(str(r["id"])) for r in rows)
    lines = []
    for row in rows:
        n = row["documents"]
        count = "  " + ngettext("({n} document)", "({n} documents)", n).format(n=n) if n else ""
        lines.append(f"{str(row['id']).rjust(width)}  {'  ' * row['depth']}{row['name']}{count}")
    typer.echo("\n".join(lines))


@folder_app.command("add")
def doc_folder_add(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="The new folder's path, e.g. IVA/Liquidazioni.")],
    client: Client,
    parents: Annotated[
        bool, typer.Option("--parents", "-p", help="Create missing folders above it too.")
    ] = False,
) -> None:
    """Add a folder to a client's tree.

    Example: sempi doc folder add --client 12 IVA/Liquidazioni --parents
    """
    emit_record(ctx, _folders(ctx).add(client, path, parents=parents))


@folder_app.command("rename")
def doc_folder_rename(
    ctx: typer.Context,
    path: FolderPath,
    new_name: Annotated[str, typer.Argument(help="Its new name (a name, not a path).")],
    client: Client,
) -> None:
    """Rename a folder (it stays where it is, with everything in it).

    Example: sempi doc folder rename --client 12 Corrispondenza "Corrispondenza varia"
    """
    emit_record(ctx, _folders(ctx).rename(client, path, new_name))


@folder_app.command("remove")
def doc_folder_remove(
    ctx: typer.Context,
    path: FolderPath,
    client: Client,
    recursive: Annotated[
        bool,
        typer.Option("--recursive", "-r", help="Also its sub-folders and documents (asks first)."),
    ] = False,
    dry_run: DryRun = False,
) -> None:
    """Remove an empty folder, or with --recursive everything in it (documents are kept as removed).

    Example: sempi doc folder remove --client 12 Bozze --recursive --yes
    """
    if recursive and not dry_run:
        confirm(
            ctx,
            _("Remove folder {path} of client {client} with everything in it?").format(
                path=repr(path), client=client
            ),
        )
    result = _folders(ctx).remove(client, path, recursive=recursive, dry_run=dry_run)
    emit_record(ctx, result)
    folders = ngettext("{n} folder", "{n} folders", result["folders"]).format(n=result["folders"])
    documents = ngettext("{n} document", "{n} documents", result["documents"]).format(
        n=result["documents"]
    )
    if dry_run:
        line = _("Would remove {folders} and {documents}.")
    else:
        line = _("Removed {folders} and {documents}.")
    say(ctx, line.format(folders=folders, documents=documents))


# --- documents ------------------------------------------------------------------------


@app.command("add")
def doc_add(
    ctx: typer.Context,
    files: Annotated[list[str], typer.Argument(help="The files to store.")],
    client: Client,
    folder: Annotated[str, typer.Option("--folder", "-f", help="Into this folder (path or id).")],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace a document of the same name (kept as removed); needs the right to remove.",
        ),
    ] = False,
) -> None:
    """Store files in a client's folder, all or nothing.

    Example: sempi doc add visura.pdf statuto.pdf --client 12 --folder Anagrafica
    """
    rows = _documents(ctx).add(client, folder, files, replace=replace)
    columns = ("id", "folder", "name", "size", "action")
    if state(ctx).fmt != "table":
        columns = ("id", "client_id", "folder_id", "folder", "name", "size", "sha256",
                   "added_by", "added_at", "action")  # fmt: skip
    emit_rows(ctx, [_shown(ctx, row) for row in rows], columns)
    added = sum(r["action"] != "unchanged" for r in rows)
    say(ctx, ngettext("Stored {n} document.", "Stored {n} documents.", added).format(n=added))


@app.command("list")
def doc_list(
    ctx: typer.Context,
    client: Client,
    folder: Annotated[
        str | None, typer.Option("--folder", "-f", help="Only this folder (path or id).")
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="With --folder: its sub-folders too.")
    ] = False,
    removed: Annotated[bool, typer.Option("--removed", help="Show removed documents too.")] = False,
) -> None:
    """List a client's documents, or one folder's.

    Example: sempi doc list --client 12 --folder IVA --recursive
    """
    rows = _documents(ctx).list(client, folder=folder, recursive=recursive, removed=removed)
    columns = (*DOC_COLUMNS, "removed_at") if removed else DOC_COLUMNS
    if state(ctx).fmt != "table":
        columns = ("id", "folder_id", *columns[1:], "sha256", "source")
    emit_rows(ctx, [_shown(ctx, row) for row in rows], columns)
    if not rows:
        say(ctx, _("No documents."))


@app.command("show")
def doc_show(ctx: typer.Context, document_id: DocumentId) -> None:
    """Show a document: its folder, name, size, SHA-256, who added it, when, and from where.

    Example: sempi doc show 345
    """
    emit_record(ctx, _shown(ctx, _documents(ctx).show(document_id)))


@app.command("get")
def doc_get(
    ctx: typer.Context,
    document_id: DocumentId,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Write here (a new file, never overwritten; '-' for stdout). Default: its name.",
        ),
    ] = None,
) -> None:
    """Write a document out, byte for byte.

    Example: sempi doc get 345 -o /tmp/visura.pdf
    """

    detail, chunks = _documents(ctx).content(document_id)
    if output == "-":
        stream = typer.get_binary_stream("stdout")
        for chunk in chunks:
            stream.write(chunk)
        stream.flush()
        return
    target = output or detail["name"]
    write_private_bytes(target, chunks)
    size = detail["size"]
    say(
        ctx,
        ngettext("Wrote {file} ({n} byte).", "Wrote {file} ({n} bytes).", size).format(
            file=target, n=size
        ),
    )


@app.command("move")
def doc_move(
    ctx: typer.Context,
    document_id: DocumentId,
    folder: Annotated[str, typer.Option("--folder", "-f", help="The folder (path or id).")],
) -> None:
    """Move a document to another folder of its client.

    Example: sempi doc move 345 --folder IVA/Liquidazioni
    """
    emit_record(ctx, _shown(ctx, _documents(ctx).move(document_id, folder)))


@app.command("remove")
def doc_remove(ctx: typer.Context, document_id: DocumentId) -> None:
    """Remove a document (it leaves the listings; it is kept, marked removed).

    Example: sempi doc remove 345
    """
    emit_record(ctx, _shown(ctx, _documents(ctx).remove(document_id)))


@app.command("import")
def doc_import(
    ctx: typer.Context,
    directory: Annotated[str, typer.Argument(help="The tree to load (a folder).")],
    client: Client,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping", "-m", help="A CSV file of 'source;folder' lines (overrides names)."
        ),
    ] = None,
    dry_run: DryRun = False,
) -> None:
    """Load a backlog tree into a client's folders: deduplicated, resumable, with a summary.

    Example: sempi doc import /mnt/archivio/rossi --client 12 --mapping mappa.csv
    """
    from sempi_cli.errors import PartlyDone
    from sempi_cli.services.documents.backlog import DocImport

    app_state = state(ctx)
    bar = _Bar() if sys.stderr.isatty() and not app_state.quiet else None
    try:
        with data_language(ctx):  # the problems: English for scripts
            summary = app_state.service(DocImport, long_job=True).run(
                directory, client, mapping=mapping, dry_run=dry_run, progress=bar
            )
    finally:
        if bar is not None:
            bar.close()
    if app_state.fmt == "table":
        shown = {k: v for k, v in summary.items() if k not in ("unmapped", "problems")}
        shown["unmapped"] = ", ".join(summary["unmapped"]) or None
        emit_record(ctx, shown)
        if summary["problems"]:
            typer.echo("")
            emit_rows(ctx, summary["problems"], ("path", "kind", "problem"))
    else:
        emit_record(ctx, summary)
    missed = summary["refused"] + summary["unreadable"] + summary["conflicts"]
    if missed:
        if dry_run:
            message = ngettext(
                "{n} file would not be imported ({refused} refused, {unreadable} unreadable,"
                " {conflicts} in conflict)",
                "{n} files would not be imported ({refused} refused, {unreadable} unreadable,"
                " {conflicts} in conflict)",
                missed,
            )
        else:
            message = ngettext(
                "{n} file was not imported ({refused} refused, {unreadable} unreadable,"
                " {conflicts} in conflict)",
                "{n} files were not imported ({refused} refused, {unreadable} unreadable,"
                " {conflicts} in conflict)",
                missed,
            )
        raise PartlyDone(
            message.format(
                n=missed,
                refused=summary["refused"],
                unreadable=summary["unreadable"],
                conflicts=summary["conflicts"],
            ),
            _("see the problems in the summary; a re-run imports only what is missing"),
        )


class _Bar:
    """A progress bar on stderr, made when the total is known."""

    def __init__(self) -> None:
        self.bar = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = typer.progressbar(
                length=total,
                label=_("Importing"),
                file=sys.stderr,
                update_min_steps=max(1, total // 500),
            )
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
