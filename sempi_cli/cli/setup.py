"""`sempi init`: create the store, the firm and its first administrator."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import ask, emit_record, read_secret, say, state
from sempi_cli.i18n import gettext as _


def init(
    ctx: typer.Context,
    firm: Annotated[str | None, typer.Option("--firm", help="The firm's name.")] = None,
    admin_email: Annotated[
        str | None, typer.Option("--admin-email", help="The first administrator's e-mail.")
    ] = None,
    admin_name: Annotated[
        str | None, typer.Option("--admin-name", help="The first administrator's full name.")
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(
            "--language",
            help="The first administrator's language: it or en (default: the firm's,"
            " config ui.language).",
        ),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the administrator's password from standard input."
        ),
    ] = False,
) -> None:
    """Create a new store with the firm and its first administrator.

    Example: sempi init --firm "Sempi Servizi Srl" --admin-email anna@sempi.it --admin-name "Anna Neri"
    """
    from sempi_cli.paths import store_shown
    from sempi_cli.services.org.firm import create_store
    from sempi_cli.services.org.users import person_language

    app = state(ctx)
    if language is not None:
        person_language(language)  # a bad value is refused before anything is asked
    firm = firm or ask(ctx, _("Firm name"), field="--firm")
    admin_email = admin_email or ask(ctx, _("Administrator e-mail"), field="--admin-email")
    admin_name = admin_name or ask(ctx, _("Administrator full name"), field="--admin-name")
    password = read_secret(
        ctx,
        _("Administrator password"),
        from_stdin=password_stdin,
        field="password",
        confirm_it=True,
    )
    conn, created = create_store(
        app.store_path, app.clock, firm, admin_email, admin_name, password, language=language
    )
    conn.close()
    emit_record(ctx, {"store": store_shown(app.store_path), **created})
    say(ctx, _("Store created. Log in with 'sempi login'."))
