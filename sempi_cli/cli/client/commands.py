"""`sempi client`: clients, their identifiers, responsible and fiscal profile."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.client.options import (
    AsOf,
    ClientId,
    CodiceFiscale,
    ContoTerzi,
    Email,
    Kind,
    Name,
    Nickname,
    OwnLicence,
    PartitaIva,
    Pec,
    Profile,
    ProfileFrom,
    Responsible,
    Smart,
    Studio,
    client_input,
    profile_day,
)
from sempi_cli.cli.common import (
    confirm,
    emit_record,
    emit_rows,
    group_app,
    say,
    state,
)
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

app = group_app("client")


@app.command("add")
def client_add(
    ctx: typer.Context,
    name: Name,
    studio: Studio = None,
    kind: Kind = "societa_capitali",
    codice_fiscale: CodiceFiscale = None,
    partita_iva: PartitaIva = None,
    email: Email = None,
    pec: Pec = None,
    nickname: Nickname = None,
    responsible: Responsible = None,
    smart: Smart = None,
    conto_terzi: ContoTerzi = None,
    own_licence: OwnLicence = None,
    profile: Profile = None,
) -> None:
    """Add a client to a practice, with its work group and fiscal profile.

    Example: sempi client add --name "Bianchi Srl" --studio "Studio Rossi" --piva 12345670017 -p iva_periodicity=mensile
    """
    from sempi_cli.services.clients.clients import ClientService

    data = client_input(
        name,
        kind,
        codice_fiscale,
        partita_iva,
        email,
        pec,
        nickname,
        responsible,
        smart,
        profile,
        studio,
        conto_terzi,
        own_licence,
    )
    emit_record(ctx, state(ctx).service(ClientService).add(data))


@app.command("list")
def client_list(
    ctx: typer.Context,
    studio: Annotated[
        str | None, typer.Option("--studio", help="Only this practice: id or name.")
    ] = None,
    responsible: Responsible = None,
    iva: Annotated[
        str | None,
        typer.Option(
            "--iva",
            help="Only this VAT periodicity: mensile, trimestrale, trimestrale_speciale, none.",
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search", "-s", help="Text in name, nickname, codice fiscale, partita IVA, e-mail."
        ),
    ] = None,
    removed: Annotated[bool, typer.Option("--removed", help="Include removed clients.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="At most this many clients.")
    ] = None,
) -> None:
    """List the clients you may see, by ragione sociale.

    Example: sempi client list --iva mensile --limit 50
    """
    from sempi_cli.services.clients.clients import LIST_COLUMNS, ClientService

    rows = (
        state(ctx)
        .service(ClientService, read_only=True)
        .list(
            studio=studio,
            responsible=responsible,
            iva_periodicity=iva,
            search=search,
            include_removed=removed,
            limit=limit,
        )
    )
    emit_rows(
        ctx,
        rows,
        LIST_COLUMNS if state(ctx).fmt == "table" else list(rows[0]) if rows else LIST_COLUMNS,
    )


@app.command("show")
def client_show(ctx: typer.Context, client_id: ClientId, as_of: AsOf = None) -> None:
    """Show everything about one client, with its fiscal profile on a day.

    The profile is the one in force today, or on --as-of; profile_changes lists
    each change of the profile with the day it applies from.

    Example: sempi client show 12 --as-of 01/01/2027
    """
    from sempi_cli.services.clients.clients import ClientService

    day = profile_day(ctx, as_of, "--as-of")
    emit_record(ctx, state(ctx).service(ClientService, read_only=True).show(client_id, day))


@app.command("edit")
def client_edit(
    ctx: typer.Context,
    client_id: ClientId,
    name: Annotated[str | None, typer.Option("--name", help="A new ragione sociale.")] = None,
    kind: Kind = None,
    codice_fiscale: CodiceFiscale = None,
    partita_iva: PartitaIva = None,
    email: Email = None,
    pec: Pec = None,
    nickname: Nickname = None,
    responsible: Responsible = None,
    smart: Smart = None,
    conto_terzi: ContoTerzi = None,
    own_licence: OwnLicence = None,
    profile: Profile = None,
    profile_from: ProfileFrom = None,
) -> None:
    """Change a client's details or fiscal profile (an empty value clears an optional field).

    A profile change applies from a day: --from, or the law's (VAT periodicity and
    regime from the next 1 January, the rest from today). The scheduler uses, for
    each period, the profile in force then.

    Example: sempi client edit 12 -p iva_periodicity=mensile --from 01/01/2027
    """
    from sempi_cli.services.clients.clients import ClientService

    data = client_input(
        name,
        kind,
        codice_fiscale,
        partita_iva,
        email,
        pec,
        nickname,
        responsible,
        smart,
        profile,
        conto_terzi=conto_terzi,
        own_licence=own_licence,
    )
    day = profile_day(ctx, profile_from, "--from")
    emit_record(ctx, state(ctx).service(ClientService).edit(client_id, data, day))


@app.command("remove")
def client_remove(ctx: typer.Context, client_id: ClientId) -> None:
    """Remove a client from the lists (its records are kept; 'restore' brings it back).

    Example: sempi client remove 12 --yes
    """
    from sempi_cli.services.clients.clients import ClientService

    service = state(ctx).service(ClientService)
    client = service.show(client_id)
    confirm(
        ctx,
        _("Remove client {client} ({name})?").format(
            client=client_id, name=client["ragione_sociale"]
        ),
    )
    service.set_removed(client_id, True)
    say(ctx, _("Client {client} removed.").format(client=client_id))


@app.command("restore")
def client_restore(ctx: typer.Context, client_id: ClientId) -> None:
    """Bring back a removed client.

    Example: sempi client restore 12
    """
    from sempi_cli.services.clients.clients import ClientService

    emit_record(ctx, state(ctx).service(ClientService).set_removed(client_id, False))


@app.command("fields")
def client_fields(ctx: typer.Context) -> None:
    """List the fiscal profile fields and the values each accepts.

    Example: sempi client fields
    """
    from sempi_cli.services.clients.profile import PROFILE_FIELDS

    rows = [
        {
            "field": f.name,
            "values": ", ".join(f.choices or ("yes", "no")),
            "default": f.default if f.choices else ("yes" if f.default else "no"),
            "meaning": _meaning(ctx, f.help),
        }
        for f in PROFILE_FIELDS
    ]
    emit_rows(ctx, rows, ("field", "values", "default", "meaning"))


PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read from standard input, one a line: your password, then your code if you use two-step login.",
    ),
]


@app.command("export")
def client_export(
    ctx: typer.Context,
    client_id: ClientId,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="The file to create (mode 0600; never overwritten), or - for standard output.",
        ),
    ],
    password_stdin: PasswordStdin = False,
) -> None:
    """Export everything stored about a client as JSON (GDPR access, portability).

    Asks for your password (and code) again; firm administrators and the
    practice's administrator only. The same data gives the same bytes. See
    docs/security.md, "Personal data: export and erasure".

    Example: sempi client export 12 --output bianchi-srl.json
    """

    from sempi_cli.cli.common import step_up, write_private
    from sempi_cli.services.privacy.gdpr import PrivacyService, export_text

    service = state(ctx).service(PrivacyService)
    if output == "-":
        data = service.export(client_id, step_up(ctx, from_stdin=password_stdin))
        typer.echo(export_text(data), nl=False)
        return
    write_private(
        output,
        lambda fh: fh.write(
            export_text(service.export(client_id, step_up(ctx, from_stdin=password_stdin)))
        ),
    )
    say(
        ctx,
        _("Client {client} exported to {file} (readable only by you).").format(
            client=client_id, file=output
        ),
    )


@app.command("erase")
def client_erase(
    ctx: typer.Context,
    client_id: ClientId,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="Why (e.g. the data subject's request and its date); kept in the audit log. No personal data.",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be erased and kept; change nothing.")
    ] = False,
    password_stdin: PasswordStdin = False,
) -> None:
    """Erase the personal data of a client that the law does not require (GDPR).

    Removes e-mail, PEC, nickname and SMART services, and disables and
    anonymises the client's external users; keeps ragione sociale, codice
    fiscale, partita IVA and fiscal profile (art. 2220 c.c., art. 22 DPR
    600/1973) and marks the client removed. Cannot be undone: confirms, and
    asks for your password (and code) again.

    Example: sempi client erase 12 --reason "request of the data subject, PEC of 3/11/2026"
    """
    from sempi_cli.cli.common import step_up
    from sempi_cli.services.privacy.gdpr import PrivacyService

    service = state(ctx).service(PrivacyService)
    plan = service.erasure_plan(client_id, reason)
    if dry_run:
        emit_record(ctx, _legal_basis_for_people(ctx, plan))
        return
    users = len(plan["external_users"])
    confirm(
        ctx,
        ngettext(
            "Erase the personal data of client {client} ({name}) and of its {n} external"
            " user? This cannot be undone",
            "Erase the personal data of client {client} ({name}) and of its {n} external"
            " users? This cannot be undone",
            users,
        ).format(client=client_id, name=plan["ragione_sociale"], n=users),
    )
    result = service.erase(client_id, step_up(ctx, from_stdin=password_stdin), reason)
    emit_record(ctx, _legal_basis_for_people(ctx, result))
    # The legal note is English in the record (JSON, the audit log); here, for a person.
    say(
        ctx,
        _("Client {client}: personal data erased; {legal_basis}.").format(
            client=client_id, legal_basis=_(result["legal_basis"])
        ),
    )


def _meaning(ctx: typer.Context, text: str) -> str:
    """A text marked N_ where it is a value of the output: for people, in the reader's
    language on a screen and in Italian in Excel (as its headers); scripts (json,
    jsonl, csv) keep the code's words."""
    from sempi_cli.i18n import speaking

    fmt = state(ctx).fmt
    if fmt == "excel":
        with speaking("it"):
            return _(text)
    return _(text) if fmt == "table" else text


def _legal_basis_for_people(ctx: typer.Context, record: dict) -> dict:
    """An erasure's record as people read it: the legal note in their words (scripts
    keep the code's, as the audit log does)."""
    return {**record, "legal_basis": _meaning(ctx, record["legal_basis"])}
