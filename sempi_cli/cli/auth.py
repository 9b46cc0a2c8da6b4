"""`sempi auth`: two-step login, recovery codes, application passwords, sessions."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import (
    ask_code,
    emit_record,
    emit_rows,
    group_app,
    say,
    state,
    step_up,
    sub_app,
)
from sempi_cli.i18n import gettext as _

app = group_app("auth")
otp_app = sub_app("otp", "Turn two-step login (TOTP codes) on or off.")
recovery_app = sub_app("recovery", "Recovery codes for a lost authenticator.")
apps_app = sub_app("app-password", "Application passwords for scripts and cron.")
sessions_app = sub_app("sessions", "List and end login sessions.")
app.add_typer(otp_app)
app.add_typer(recovery_app)
app.add_typer(apps_app)
app.add_typer(sessions_app)

Stdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read from standard input, one a line: your password, then your code if you use two-step login.",
    ),
]


def _show_recovery_codes(ctx: typer.Context, codes: list[str]) -> None:
    typer.echo("\n".join(codes))
    say(
        ctx,
        _("These recovery codes are shown only now: keep them somewhere safe. Each works once."),
    )


@otp_app.command("enable")
def otp_enable(
    ctx: typer.Context,
    code_stdin: Annotated[
        bool, typer.Option("--code-stdin", help="Read the confirmation code from standard input.")
    ] = False,
) -> None:
    """Turn on two-step login: scan the QR code, then type the code your app shows.

    Example: sempi auth otp enable
    """
    from sempi_cli.services.identity.totp import qr_text
    from sempi_cli.services.identity.two_step import TwoStepService
    from sempi_cli.services.org.firm import FirmService

    app_ = state(ctx)
    service = app_.service(TwoStepService)
    issuer = app_.service(FirmService, anonymous=True).name()
    pending = service.begin(issuer)
    typer.echo(qr_text(pending["uri"]))
    typer.echo(pending["uri"])
    typer.echo(_("Key (if you cannot scan): {key}").format(key=pending["secret"]))
    say(
        ctx,
        _(
            "This key is shown only now. Add it to your authenticator app, then type the code"
            " it shows."
        ),
    )
    codes = service.confirm(pending["secret"], ask_code(ctx, from_stdin=code_stdin))
    say(ctx, _("Two-step login is on."))
    _show_recovery_codes(ctx, codes)


@otp_app.command("disable")
def otp_disable(ctx: typer.Context, password_stdin: Stdin = False) -> None:
    """Turn off your two-step login (password and a code or recovery code asked again).

    All your sessions and application passwords end.

    Example: sempi auth otp disable
    """
    from sempi_cli.services.identity.two_step import TwoStepService

    emit_record(
        ctx, state(ctx).service(TwoStepService).disable(step_up(ctx, from_stdin=password_stdin))
    )
    say(ctx, _("Two-step login is off. Log in again."))


@otp_app.command("reset")
def otp_reset(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="Whose two-step login: e-mail or id.")],
    password_stdin: Stdin = False,
) -> None:
    """Reset another user's two-step login (a lost phone); firm administrators.

    Example: sempi auth otp reset luca@sempi.it
    """
    from sempi_cli.services.identity.two_step import TwoStepService

    emit_record(
        ctx, state(ctx).service(TwoStepService).reset(user, step_up(ctx, from_stdin=password_stdin))
    )


@otp_app.command("status")
def otp_status(ctx: typer.Context) -> None:
    """Show whether two-step login is on and how many recovery codes are left.

    Example: sempi auth otp status
    """
    from sempi_cli.services.identity.two_step import TwoStepService

    emit_record(ctx, state(ctx).service(TwoStepService).status())


@recovery_app.command("regenerate")
def recovery_regenerate(ctx: typer.Context, password_stdin: Stdin = False) -> None:
    """Make ten new recovery codes; the old ones stop working.

    Example: sempi auth recovery regenerate
    """
    from sempi_cli.services.identity.two_step import TwoStepService

    _show_recovery_codes(
        ctx,
        state(ctx)
        .service(TwoStepService)
        .regenerate_recovery(step_up(ctx, from_stdin=password_stdin)),
    )


@apps_app.command("add")
def app_password_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What it is for, e.g. 'cron scheduler'.")],
    password_stdin: Stdin = False,
) -> None:
    """Create an application password for a script or cron job (shown once).

    Example: sempi auth app-password add "cron scheduler"
    """
    from sempi_cli.services.identity.app_passwords import AppPasswordService

    created = (
        state(ctx).service(AppPasswordService).add(name, step_up(ctx, from_stdin=password_stdin))
    )
    typer.echo(created["secret"])
    say(
        ctx,
        _(
            "Application password {id} ({name}) is shown only now. Give it to the script as"
            " SEMPI_APP_PASSWORD (with SEMPI_USER), from a file only that user can read: never"
            " on the command line."
        ).format(id=created["id"], name=created["name"]),
    )


@apps_app.command("list")
def app_password_list(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", help="Another user's (firm administrators).")
    ] = None,
) -> None:
    """List live application passwords: name, created, last used.

    Example: sempi auth app-password list
    """
    from sempi_cli.services.identity.app_passwords import COLUMNS, AppPasswordService

    emit_rows(ctx, state(ctx).service(AppPasswordService).list(user), COLUMNS)


@apps_app.command("revoke")
def app_password_revoke(
    ctx: typer.Context,
    app_password_id: Annotated[int, typer.Argument(help="The id shown by 'list'.")],
) -> None:
    """Revoke an application password: scripts using it stop working at once.

    Example: sempi auth app-password revoke 3
    """
    from sempi_cli.services.identity.app_passwords import AppPasswordService

    state(ctx).service(AppPasswordService).revoke(app_password_id)
    say(ctx, _("Application password {id} revoked.").format(id=app_password_id))


@sessions_app.command("list")
def sessions_list(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", help="Another user's (firm administrators).")
    ] = None,
) -> None:
    """List live login sessions (yours; a firm administrator sees everyone's).

    Example: sempi auth sessions list
    """
    from sempi_cli.services.identity.auth import AuthService

    rows = state(ctx).service(AuthService).sessions(user)
    emit_rows(ctx, rows, ("id", "user", "created_at", "last_seen_at", "expires_at"))


@sessions_app.command("kill")
def sessions_kill(
    ctx: typer.Context, session_id: Annotated[int, typer.Argument(help="The id shown by 'list'.")]
) -> None:
    """End a login session (yours, or anyone's for a firm administrator).

    Example: sempi auth sessions kill 12
    """
    from sempi_cli.services.identity.auth import AuthService

    state(ctx).service(AuthService).kill_session(session_id)
    say(ctx, _("Session {id} ended.").format(id=session_id))
