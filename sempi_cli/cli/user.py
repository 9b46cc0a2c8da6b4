"""`sempi user`: firm staff, practice users and clients' external users."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, group_app, read_secret, state, step_up
from sempi_cli.i18n import gettext as _

app = group_app("user")

UserRef = Annotated[str, typer.Argument(help="The user: e-mail or id.")]
ROLE_HELP = "firm-admin, staff, studio-admin, studio-operator or external."


@app.command("add")
def user_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", help="The user's e-mail (their login).")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    studio: Annotated[
        str | None, typer.Option("--studio", help="Practice (studio roles): id or name.")
    ] = None,
    client: Annotated[
        int | None, typer.Option("--client", help="Client id (external users).")
    ] = None,
    codice_fiscale: Annotated[
        str | None, typer.Option("--codice-fiscale", "--cf", help="The person's codice fiscale.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read an initial password from standard input.")
    ] = False,
    set_password: Annotated[
        bool,
        typer.Option(
            "--set-password",
            help="Ask for an initial password (otherwise the user cannot log in until one is set).",
        ),
    ] = False,
) -> None:
    """Add a user. External users join their client's work group.

    Example: sempi user add --email luca@studiorossi.it --name "Luca Rossi" --role studio-operator --studio "Studio Rossi"
    """
    from sempi_cli.services.org.users import UserService

    password = None
    if password_stdin or set_password:
        password = read_secret(
            ctx, _("Initial password"), from_stdin=password_stdin, field="password", confirm_it=True
        )
    emit_record(
        ctx,
        state(ctx)
        .service(UserService)
        .add(
            email,
            name,
            role,
            studio=studio,
            client=client,
            codice_fiscale=codice_fiscale,
            password=password,
        ),
    )


@app.command("list")
def user_list(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Option("--role", help="Only this role: " + ROLE_HELP)] = None,
    studio: Annotated[
        str | None, typer.Option("--studio", help="Only this practice: id or name.")
    ] = None,
    client: Annotated[
        int | None, typer.Option("--client", help="Only the external users of this client.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Text in name or e-mail.")
    ] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Include disabled users.")] = False,
) -> None:
    """List the users you may see.

    Example: sempi user list --role staff
    """
    from sempi_cli.services.org.users import COLUMNS, UserService

    rows = (
        state(ctx)
        .service(UserService)
        .list(role=role, studio=studio, client=client, search=search, include_disabled=disabled)
    )
    emit_rows(ctx, rows, COLUMNS)


@app.command("show")
def user_show(ctx: typer.Context, user: UserRef) -> None:
    """Show one user, with the work groups they belong to.

    Example: sempi user show luca@studiorossi.it
    """
    from sempi_cli.services.org.users import UserService

    emit_record(ctx, state(ctx).service(UserService).show(user))


@app.command("edit")
def user_edit(
    ctx: typer.Context,
    user: UserRef,
    name: Annotated[str | None, typer.Option("--name", help="A new full name.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="A new e-mail.")] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="A new role (firm administrators): " + ROLE_HELP)
    ] = None,
    codice_fiscale: Annotated[
        str | None,
        typer.Option(
            "--codice-fiscale", "--cf", help="The person's codice fiscale ('' clears it)."
        ),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(
            "--language",
            help="The language sempi speaks to the person: it or en ('' for the firm's,"
            " config ui.language). Anyone may choose their own.",
        ),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="For a role change: read your password (and code) from standard input.",
        ),
    ] = False,
) -> None:
    """Change a user's name, e-mail, role, codice fiscale or language (a role change asks your password).

    Example: sempi user edit luca@studiorossi.it --name "Luca Rossi Bianchi"
    """
    from sempi_cli.services.org.users import UserService

    emit_record(
        ctx,
        state(ctx)
        .service(UserService)
        .edit(
            user,
            full_name=name,
            email=email,
            role=role,
            codice_fiscale=codice_fiscale,
            language=language,
            confirm=step_up(ctx, from_stdin=password_stdin),
        ),
    )


@app.command("disable")
def user_disable(ctx: typer.Context, user: UserRef) -> None:
    """Disable a user: they can no longer log in and their sessions end.

    Example: sempi user disable luca@studiorossi.it
    """
    from sempi_cli.services.org.users import UserService

    emit_record(ctx, state(ctx).service(UserService).set_disabled(user, True))


@app.command("enable")
def user_enable(ctx: typer.Context, user: UserRef) -> None:
    """Enable a disabled user again.

    Example: sempi user enable luca@studiorossi.it
    """
    from sempi_cli.services.org.users import UserService

    emit_record(ctx, state(ctx).service(UserService).set_disabled(user, False))


@app.command("unlock")
def user_unlock(ctx: typer.Context, user: UserRef) -> None:
    """Let a user log in again at once: lift a lock and forget the failed attempts.

    Firm administrators only. Example: sempi user unlock luca@studiorossi.it
    """
    from sempi_cli.services.identity.auth import AuthService

    emit_record(ctx, state(ctx).service(AuthService).unlock(user))


@app.command("activate")
def user_activate(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", "-e", help="Your e-mail, as in the invitation.")],
    stdin: Annotated[
        bool,
        typer.Option(
            "--stdin",
            "--password-stdin",
            help="Read from standard input, one a line: the activation code, then the new password.",
        ),
    ] = False,
) -> None:
    """Activate your account with the code from the invitation e-mail and choose a password.

    No login needed: the code is the proof. Then log in with 'sempi login'.

    Example: sempi user activate --email mario.bianchi@cliente.it
    """
    from sempi_cli.cli.common import say
    from sempi_cli.services.org.invitations import Invitations

    code = read_secret(
        ctx, _("Activation code (from the e-mail)"), from_stdin=stdin, field="activation code"
    )
    result = (
        state(ctx)
        .service(Invitations, anonymous=True)
        .activate(
            email,
            code,
            lambda: read_secret(
                ctx, _("New password"), from_stdin=stdin, field="new password", confirm_it=True
            ),
        )
    )
    emit_record(ctx, result)
    say(
        ctx,
        _("Account activated. Log in with 'sempi login --email {email}'.").format(
            email=result["email"]
        ),
    )
