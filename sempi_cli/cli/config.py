"""`sempi config`: the firm's settings."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_rows, group_app, say, state

app = group_app("config")
Key = Annotated[
    str, typer.Argument(help="The setting, e.g. auth.require_otp (see 'sempi config list').")
]


@app.command("list")
def config_list(ctx: typer.Context) -> None:
    """List every setting with its value, default and meaning.

    Example: sempi config list
    """
    from sempi_cli.services.settings import ConfigService

    rows = state(ctx).service(ConfigService).list()
    if state(ctx).fmt in ("table", "excel"):  # for people; json and csv keep the code's words
        from sempi_cli.i18n import gettext as _

        rows = [{**row, "meaning": _(row["meaning"])} for row in rows]
    emit_rows(ctx, rows, ("key", "value", "default", "meaning"))


@app.command("get")
def config_get(ctx: typer.Context, key: Key) -> None:
    """Print one setting's value.

    Example: sempi config get auth.require_otp
    """
    from sempi_cli.services.settings import ConfigService

    typer.echo(state(ctx).service(ConfigService).get(key))


@app.command("set")
def config_set(
    ctx: typer.Context, key: Key, value: Annotated[str, typer.Argument(help="The new value.")]
) -> None:
    """Change a setting.

    Example: sempi config set auth.require_otp firm-admin,staff
    """
    from sempi_cli.services.settings import ConfigService

    value = state(ctx).service(ConfigService).set(key, value)
    say(ctx, f"{key} = {value}")
