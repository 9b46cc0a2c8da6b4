"""`sempi init`: create the store, the firm and its first administrator."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import ask, emit_record, read_secret, say, state


def init(
    ctx: typer.Context,
    firm: Annotated[str | None, typer.Option("--firm", help="The firm's name.")] = None,
    admin_email: Annotated[
        str | None, typer.Option("--admin-email", help="The first administrator's e-mail.")
    ] = None,
    admin_name: Annotated[
        str | None, typer.Option("--admin-name", help="The first administrator's full name.")
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
    from sempi_cli.services.org.firm import create_store

    app = state(ctx)
    firm = firm or ask(ctx, "Firm name", field="--firm")
    admin_email = admin_email or ask(ctx, "Administrator e-mail", field="--admin-email")
    admin_name = admin_name or ask(ctx, "Administrator full name", field="--admin-name")
    password = read_secret(
        ctx, "Administrator password", from_stdin=password_stdin, field="password", confirm_it=True
    )
    conn, created = create_store(app.store_path, app.clock, firm, admin_email, admin_name, password)
    conn.close()
    emit_record(ctx, {"store": str(app.store_path), **created})
    say(ctx, "Store created. Log in with 'sempi login'.")
