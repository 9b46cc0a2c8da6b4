"""`sempi sign seal`: the firm's own seal key, which closes every signed PDF."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, say, state, sub_app
from sempi_cli.i18n import gettext as _

app = sub_app("seal", "The firm's seal key, which closes every signed PDF (firm administrators).")


@app.command("init")
def seal_init(
    ctx: typer.Context,
    folder: Annotated[
        str,
        typer.Argument(
            help="A folder outside the store that only its owner writes (created 0700 if"
            " missing); the key and its certificate are made there."
        ),
    ],
) -> None:
    """Create the firm's seal: an EC P-256 key (0600) and a self-signed certificate.

    The setting sign.seal_key then names the key. Back the key up and never share
    it: whoever holds it can seal files in the firm's name. Firm administrators only.

    Example: sempi sign seal init /srv/sempi/sigillo
    """
    from sempi_cli.services.signing.seal import SealService

    paths = state(ctx).service(SealService).init(folder)
    emit_record(ctx, {"key": paths.key, "certificate": paths.certificate})
    say(
        ctx,
        _("Created the firm's seal: the key is {key}, its certificate {certificate}.").format(
            key=paths.key, certificate=paths.certificate
        ),
    )
    say(
        ctx,
        _(
            "Back up the key and never share it: whoever holds it can seal files in the"
            " firm's name. The certificate may be given to anyone who checks a file."
        ),
    )
