"""Logging in and out: `sempi login`, `logout`, `whoami`, `passwd`."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import ask, ask_code, emit_record, read_secret, say, state, step_up
from sempi_cli.i18n import gettext as _


def login(
    ctx: typer.Context,
    email: Annotated[
        str | None, typer.Option("--email", "-e", help="Your e-mail (asked if missing).")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read from standard input, one a line: the password, then the code if you use two-step login.",
        ),
    ] = False,
) -> None:
    """Log in to the store and keep a session for the next commands.

    Example: sempi login --email anna@sempi.it
    """
    from sempi_cli import sessionfile
    from sempi_cli.paths import session_file
    from sempi_cli.services.identity.auth import AuthService
    from sempi_cli.services.org.users import role_word

    app = state(ctx)
    email = email or ask(ctx, _("E-mail"), field="--email")
    password = read_secret(ctx, _("Password"), from_stdin=password_stdin, field="password")
    token, actor = app.service(AuthService, anonymous=True).login(
        email, password, lambda: ask_code(ctx, from_stdin=password_stdin)
    )
    sessionfile.write_token(session_file(app.store_path), token)
    say(
        ctx,
        _("Logged in as {name} <{email}> ({role}).").format(
            name=actor.full_name, email=actor.email, role=role_word(actor.role)
        ),
    )
    if actor.role == "external":  # as the practices' portal does at the client's next entry
        from sempi_cli.services.consent.requests import pending_for, pending_line

        pending = pending_for(app.connection(), actor)
        if pending is not None:
            say(ctx, _("Consent: {line}").format(line=pending_line(pending)))
    if actor.must_enrol:
        say(
            ctx,
            _(
                "Two-step login is required for your account: turn it on now with"
                " 'sempi auth otp enable'."
            ),
        )


def logout(ctx: typer.Context) -> None:
    """End your session on this store.

    Example: sempi logout
    """
    from sempi_cli import sessionfile
    from sempi_cli.paths import session_file
    from sempi_cli.services.identity.auth import AuthService

    app = state(ctx)
    path = session_file(app.store_path)
    token = sessionfile.read_token(path)
    if token is not None:
        app.service(AuthService, anonymous=True).logout(token)
    sessionfile.remove(path)
    say(ctx, _("Logged out.") if token else _("You were not logged in."))


def whoami(ctx: typer.Context) -> None:
    """Show who you are logged in as.

    Example: sempi whoami --json
    """
    from sempi_cli.services.org.users import UserService

    app = state(ctx)
    emit_record(ctx, app.service(UserService).show(app.actor().id))


def passwd(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Argument(help="Whose password (default: yours); e-mail or id.")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read from standard input, one a line: your current password, your code if "
            "you use two-step login, then the new password.",
        ),
    ] = False,
) -> None:
    """Change your password, or set another user's as their administrator.

    Every session and application password of that user ends.

    Example: sempi passwd
    """
    from sempi_cli.services.org.users import UserService

    app = state(ctx)
    app.service(UserService).set_password(
        user or app.actor().id,
        lambda: read_secret(
            ctx,
            _("New password"),
            from_stdin=password_stdin,
            field="new password",
            confirm_it=True,
        ),
        step_up(ctx, from_stdin=password_stdin),
    )
    say(
        ctx,
        _("Password changed; every session and application password of that user has ended."),
    )
