"""`sempi sign verify FILE`: valid, altered or unknown, with the reason."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, state
from sempi_cli.i18n import gettext as _


def sign_verify(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(
            help="The PDF to check (a document sent for signature or a signed, sealed one)."
        ),
    ],
) -> None:
    """Say whether a PDF is one sempi recorded, unchanged: valid, altered or unknown.

    Recomputes the file's SHA-256, finds its request, checks the record of events
    and, for a signed file, the firm's seal. Exit 0 valid, 11 altered, 3 unknown
    (no request of this file that you may see); 6 if the file is not a PDF.

    Example: sempi sign verify "Lettera d'incarico - firmata.pdf"
    """
    from sempi_cli.errors import CheckFailed, NotFound
    from sempi_cli.services.signing.verify import ALTERED, UNKNOWN, VerifyService

    result = state(ctx).service(VerifyService).verify(file)
    words = {"valid": _("valid"), "altered": _("altered"), "unknown": _("unknown")}
    if state(ctx).fmt == "table":
        typer.echo(
            _("{verdict}: {reason}").format(verdict=words[result.verdict], reason=result.reason)
        )
    else:
        emit_record(ctx, result.as_record())
    # The verdict is on stdout for scripts; the exit code and the one Error line say
    # "no" as every failing sempi command does (docs/exit-codes.md).
    if result.verdict == ALTERED:
        raise CheckFailed(_("{file} is altered: {reason}").format(file=file, reason=result.reason))
    if result.verdict == UNKNOWN:
        raise NotFound(_("{file} is unknown: {reason}").format(file=file, reason=result.reason))
