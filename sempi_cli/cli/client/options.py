"""Options that `client add`, `client edit` and `client-onboard add` share, declared
once, and the one way their values become the service's ClientInput."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sempi_cli.services.clients.input import ClientInput


def _complete_profile(incomplete: str) -> list[str]:
    from sempi_cli.services.clients.profile import PROFILE_FIELDS

    options = []
    for field in PROFILE_FIELDS:
        for value in field.choices or ("yes", "no"):
            options.append(f"{field.name}={value}")
    return [o for o in options if o.startswith(incomplete)]


ClientId = Annotated[int, typer.Argument(help="The client's id.")]
# `add`: the name a new client must have, and the practice it goes to.
Name = Annotated[str, typer.Option("--name", help="Ragione sociale (or the person's full name).")]
Studio = Annotated[
    str | None, typer.Option("--studio", help="The practice: id or name (default: yours).")
]
Kind = Annotated[
    str | None,
    typer.Option("--kind", help="persona_fisica, societa_persone, societa_capitali or ente."),
]
CodiceFiscale = Annotated[
    str | None,
    typer.Option(
        "--codice-fiscale",
        "--cf",
        help="Codice fiscale (16 characters, or 11 digits for a company).",
    ),
]
PartitaIva = Annotated[
    str | None,
    typer.Option(
        "--partita-iva", "--piva", help="Partita IVA (11 digits; an IT prefix is dropped)."
    ),
]
Email = Annotated[str | None, typer.Option("--email", help="The client's e-mail.")]
Pec = Annotated[str | None, typer.Option("--pec", help="The client's PEC address.")]
Nickname = Annotated[str | None, typer.Option("--nickname", help="A short name the office uses.")]
Responsible = Annotated[
    str | None, typer.Option("--responsible", "-r", help="The responsible firm user: e-mail or id.")
]
Smart = Annotated[
    str | None,
    typer.Option(
        "--smart",
        help="Active SMART services, comma-separated: fattura-smart, smart-hub, corrispettivi-smart ('' for none).",
    ),
]
ContoTerzi = Annotated[
    str | None,
    typer.Option(
        "--conto-terzi",
        help="yes/no: served through the vendor's conto terzi arrangement (coupons).",
    ),
]
OwnLicence = Annotated[
    str | None,
    typer.Option(
        "--own-licence", help="yes/no: the client bought its own licence (no coupon for it)."
    ),
]
Profile = Annotated[
    list[str] | None,
    typer.Option(
        "--profile",
        "-p",
        help="A fiscal profile field, FIELD=VALUE; repeat it. See 'sempi client fields'.",
        autocompletion=_complete_profile,
    ),
]


def client_input(
    name: str | None,
    kind: str | None,
    codice_fiscale: str | None,
    partita_iva: str | None,
    email: str | None,
    pec: str | None,
    nickname: str | None,
    responsible: str | None,
    smart: str | None,
    profile: list[str] | None,
    studio: str | None = None,
    conto_terzi: str | None = None,
    own_licence: str | None = None,
) -> ClientInput:
    """The options above, as the service's ClientInput."""
    from sempi_cli.services.clients.input import ClientInput
    from sempi_cli.services.clients.profile import parse_assignments, yes_no

    return ClientInput(
        ragione_sociale=name,
        studio=studio,
        kind=kind,
        codice_fiscale=codice_fiscale,
        partita_iva=partita_iva,
        email=email,
        pec=pec,
        nickname=nickname,
        responsible=responsible,
        smart_services=None if smart is None else smart.split(","),
        conto_terzi=None if conto_terzi is None else yes_no(conto_terzi, "--conto-terzi"),
        own_licence=None if own_licence is None else yes_no(own_licence, "--own-licence"),
        fiscal_profile=parse_assignments(profile),
    )


ProfileFrom = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="The day the --profile changes apply from (default: the next 1 January for"
        " VAT periodicity and regime, today for the rest); 'start' corrects the profile"
        " since the client's first day.",
    ),
]
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Show the fiscal profile in force on this day (default: today)."),
]
FROM_THE_START_WORDS = ("start", "inizio")


def profile_day(ctx: typer.Context, text: str | None, field: str) -> date | None:
    """A day as people type it (dd/mm/yyyy, 'domani', ...); for --from, 'start' too."""
    from sempi_cli.cli.common import state
    from sempi_cli.timeparse import parse_date

    if text is None:
        return None
    if field == "--from" and text.strip().lower() in FROM_THE_START_WORDS:
        return date.min
    return parse_date(text, state(ctx).clock.now(), field=field)
