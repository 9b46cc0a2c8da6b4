"""`sempi studio`: the practices (studi) the firm works for."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, group_app, state

app = group_app("studio")

Ref = Annotated[str, typer.Argument(help="The practice: id or exact name.")]
PartitaIva = Annotated[
    str | None, typer.Option("--partita-iva", help="The practice's partita IVA.")
]
CodiceFiscale = Annotated[
    str | None, typer.Option("--codice-fiscale", help="The practice's codice fiscale.")
]
Email = Annotated[str | None, typer.Option("--email", help="Contact e-mail.")]
Pec = Annotated[str | None, typer.Option("--pec", help="PEC address.")]
City = Annotated[str | None, typer.Option("--city", help="City.")]

COLUMNS = ("id", "name", "partita_iva", "city", "email", "clients")


@app.command("add")
def studio_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="The practice's name (unique).")],
    partita_iva: PartitaIva = None,
    codice_fiscale: CodiceFiscale = None,
    email: Email = None,
    pec: Pec = None,
    city: City = None,
) -> None:
    """Add a practice.

    Example: sempi studio add --name "Studio Rossi" --partita-iva 07654320154 --city Milano
    """
    from sempi_cli.services.org.studios import StudioService

    emit_record(
        ctx,
        state(ctx)
        .service(StudioService)
        .add(
            name,
            partita_iva=partita_iva,
            codice_fiscale=codice_fiscale,
            email=email,
            pec=pec,
            city=city,
        ),
    )


@app.command("list")
def studio_list(
    ctx: typer.Context,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Text in name, partita IVA or city.")
    ] = None,
) -> None:
    """List the practices you may see.

    Example: sempi studio list --search rossi
    """
    from sempi_cli.services.org.studios import StudioService

    emit_rows(ctx, state(ctx).service(StudioService).list(search=search), COLUMNS)


@app.command("show")
def studio_show(ctx: typer.Context, ref: Ref) -> None:
    """Show one practice.

    Example: sempi studio show "Studio Rossi"
    """
    from sempi_cli.services.org.studios import StudioService

    emit_record(ctx, state(ctx).service(StudioService).show(ref))


@app.command("edit")
def studio_edit(
    ctx: typer.Context,
    ref: Ref,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    partita_iva: PartitaIva = None,
    codice_fiscale: CodiceFiscale = None,
    email: Email = None,
    pec: Pec = None,
    city: City = None,
    read_receipts: Annotated[
        str | None,
        typer.Option(
            "--read-receipts",
            help="on or off: tell whoever put a document in a client's folders when the"
            " client's people first download it (on by default).",
        ),
    ] = None,
) -> None:
    """Change a practice's details (an empty value clears an optional field).

    Example: sempi studio edit 2 --pec studio.rossi@pec.it --read-receipts off
    """
    from sempi_cli.services.org.studios import StudioService

    emit_record(
        ctx,
        state(ctx)
        .service(StudioService)
        .edit(
            ref,
            name=name,
            partita_iva=partita_iva,
            codice_fiscale=codice_fiscale,
            email=email,
            pec=pec,
            city=city,
            read_receipts=read_receipts,
        ),
    )
