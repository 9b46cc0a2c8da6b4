"""`sempi sign request|show|accept|decline|list|status`: documents sent for
signature, from the office's side and the signer's."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import (
    emit_record,
    emit_record_with_text,
    emit_rows,
    read_secret,
    say,
    state,
)
from sempi_cli.i18n import gettext as _

Request = Annotated[int, typer.Argument(help="The request (its id).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Check everything; change nothing.")]
# The declaration typed as a yes: the words `confirm` takes, in Italian and English.
_YES = ("s", "si", "sì", "y", "yes")


def sign_request(
    ctx: typer.Context,
    client: Annotated[int, typer.Option("--client", "-c", help="The client (id).")],
    template: Annotated[
        str | None, typer.Option("--template", "-t", help="The template (name or id).")
    ] = None,
    signer: Annotated[
        list[str] | None,
        typer.Option("--signer", "-s", help="A signer (e-mail or id); repeat for more."),
    ] = None,
    due: Annotated[
        str | None, typer.Option("--due", help="To be signed by this day (e.g. 2026-12-31).")
    ] = None,
    like: Annotated[
        int | None,
        typer.Option(
            "--like",
            help="The template and signers of this request, unless given (for another"
            " client, its own external users sign in place of the first client's).",
        ),
    ] = None,
    dry_run: DryRun = False,
) -> None:
    """Send a document for signature to one client's signers.

    The template is filled with the client's data and rendered as a PDF, filed in
    the client's folder "Firme"; each signer gets an e-mail and a notification.

    Example: sempi sign request --client 12 --template "Lettera d'incarico"
    --signer mario.rossi@alfa.it --due 2026-12-31
    """
    from sempi_cli.services.signing.requests import SignRequests

    record = (
        state(ctx)
        .service(SignRequests)
        .request(
            client, template=template, signers=signer or [], due=due, like=like,
            dry_run=dry_run,
        )
    )  # fmt: skip
    emit_record(ctx, record)
    if dry_run:
        done = _("Would send request {request} ({title}) for signature.")
    else:
        done = _("Sent request {request} ({title}) for signature.")
    say(ctx, done.format(request=record["id"], title=record["title"]))


def sign_show(
    ctx: typer.Context,
    request: Request,
    out: Annotated[
        str | None,
        typer.Option("--out", "-o", help="Write the PDF to this new file (never overwritten)."),
    ] = None,
) -> None:
    """Show a document sent for signature, its SHA-256 and what signing it means.

    The text is shown; with --out the PDF is written to a new file instead.

    Example: sempi sign show 7 --out lettera.pdf
    """
    from sempi_cli.cli.common import write_private_bytes
    from sempi_cli.services.signing.requests import SignRequests

    service = state(ctx).service(SignRequests)
    if out is not None:
        record = service.show(request, out=lambda pdf: write_private_bytes(out, [pdf]))
        emit_record(ctx, record)
        say(ctx, _("Wrote the document to {path}.").format(path=out))
        return
    record = service.show(request)
    emit_record_with_text(ctx, record)


def sign_accept(
    ctx: typer.Context,
    request: Request,
    code_stdin: Annotated[
        bool,
        typer.Option("--code-stdin", help="Read the one-time code from standard input."),
    ] = False,
    declare: Annotated[
        bool,
        typer.Option(
            "--declare",
            help="Make the declaration without being asked (scripts): you have read the"
            " document and sign it with a simple electronic signature.",
        ),
    ] = False,
) -> None:
    """Sign a document with a simple electronic signature (firma elettronica semplice).

    First the declaration, then a one-time code: your authenticator app's, or one
    sent by e-mail. The code is never given on the command line.

    Example: sempi sign accept 7
    """
    from sempi_cli.errors import UsageProblem
    from sempi_cli.services.signing.requests import DECLARATION, SignRequests

    app_state = state(ctx)
    service = app_state.service(SignRequests)
    info = service.prepare(request)
    if not declare:
        if not app_state.interactive:
            raise UsageProblem(
                _("the declaration is needed: {declaration}").format(declaration=_(DECLARATION)),
                _("add --declare to make it"),
            )
        answer = typer.prompt(
            _("{declaration}. Type 'sì' to confirm").format(declaration=_(DECLARATION)),
            err=True,
        )
        if answer.strip().lower() not in _YES:
            say(ctx, _("Not signed."))
            raise typer.Exit(1)
    if info["channel"] == "email" and not info["code_waiting"]:
        sent = service.send_code(request)
        say(ctx, _("A one-time code was sent to your e-mail (valid ten minutes)."))
        if code_stdin:  # a script could not know the code yet
            emit_record(ctx, {"id": request, "outcome": None, "code_sent": sent["code_id"]})
            say(ctx, _("Run the command again with the code on standard input."))
            return
    if not code_stdin and not app_state.interactive:
        raise UsageProblem(
            _("code: no terminal to ask on"), _("pass it on standard input with --code-stdin")
        )
    if info["channel"] == "totp":
        prompt = _("Code from your authenticator app")
    else:
        prompt = _("Code from the e-mail")
    code = read_secret(ctx, prompt, from_stdin=code_stdin, field="code")
    record = service.accept(request, code, declared=True)
    emit_record(ctx, record)
    if record["status"] == "completed":
        say(
            ctx,
            _("Signed. Everyone has signed: the sealed copy is document {document}.").format(
                document=record["sealed_document_id"]
            ),
        )
    else:
        say(ctx, _("Signed request {request}.").format(request=request))


def sign_decline(
    ctx: typer.Context,
    request: Request,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why you decline (one line).")],
) -> None:
    """Decline to sign; the request is closed for everyone and its sender told why.

    Example: sempi sign decline 7 --reason "La data di decorrenza è sbagliata"
    """
    from sempi_cli.services.signing.requests import SignRequests

    record = state(ctx).service(SignRequests).decline(request, reason)
    emit_record(ctx, record)
    say(ctx, _("Declined request {request}.").format(request=request))


def sign_list(
    ctx: typer.Context,
    client: Annotated[
        int | None, typer.Option("--client", "-c", help="Of this client (id).")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Only these: sent, completed, declined, expired."),
    ] = None,
) -> None:
    """List the requests you are to sign and, for the office, those of your clients.

    Example: sempi sign list --status sent
    """
    from sempi_cli.services.signing.requests import LIST_COLUMNS, SignRequests

    rows = state(ctx).service(SignRequests).list(client_id=client, status=status)
    emit_rows(ctx, rows, LIST_COLUMNS)


def sign_status(ctx: typer.Context, request: Request) -> None:
    """Show a request: its signers with their outcomes and times, and its events.

    Example: sempi sign status 7
    """
    from sempi_cli.services.signing.requests import SignRequests

    emit_record(ctx, state(ctx).service(SignRequests).status(request))
