"""The certificate of completion: one page appended to a signed document.

It names the request, the signers with their times (Europe/Rome and UTC), the
document's SHA-256 before signature, how to verify the file, and says plainly
what the signature is: a simple electronic signature, never a qualified or
digital one. fpdf2 draws the page with render.py's fonts (the standard Helvetica,
DejaVu Sans for text beyond Windows-1252) and line breaking, pypdf joins it to the
document; the firm's seal (seal.py) is applied afterwards, so it covers the
certificate too.

The page is written in the language it is given (the firm's, Italian unless
the firm chose English), not the language of whoever runs the command.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sempi_cli.errors import Conflict, InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import speaking
from sempi_cli.services.signing.render import Setter, document
from sempi_cli.services.signing.seal import FIELD_NAME, require_pdf

MARGIN = 20  # mm


def both_times(at: datetime) -> str:
    """An instant as a person reads it in Rome and as UTC: "16/11/2026 10:30:00
    Europe/Rome (09:30:00 UTC)"."""
    from sempi_cli.clock import ROME

    rome = at.astimezone(ROME)
    utc = at.astimezone(UTC)
    return f"{rome:%d/%m/%Y %H:%M:%S} Europe/Rome ({utc:%Y-%m-%d %H:%M:%S} UTC)"


def certificate_page(
    pdf: bytes,
    lines: list[tuple[str, str]],
    *,
    title: str,
    language: str = "it",
    name: str = "file",
) -> bytes:
    """``pdf`` with one more page: the certificate of completion of ``title``,
    ``lines`` as (label, value) pairs in order (request, signers and their times,
    the SHA-256 before signature), then how to verify and what the signature is."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError

    require_pdf(pdf, name)
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted:
            raise InvalidData(name, _("an encrypted PDF cannot be given a certificate"))
        sealed = FIELD_NAME in (reader.get_fields() or {})
        writer = PdfWriter(clone_from=reader)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise InvalidData(
            name, _("a damaged PDF, it cannot be read ({detail})").format(detail=exc)
        ) from None
    if sealed:  # rewriting the file would break its seal
        raise Conflict(
            _("the document is already sealed: its certificate page comes before the seal")
        )
    with speaking(language):
        page = _render(lines, title)
    for certificate in PdfReader(io.BytesIO(page)).pages:  # many signers: several pages
        writer.add_page(certificate)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _render(lines: list[tuple[str, str]], title: str) -> bytes:
    grey = (90, 90, 90)
    paras: list[tuple[str, float, bool, float, tuple[int, int, int] | None]] = [
        (_("Certificate of completion"), 18, True, 2, None),
        (title, 12, False, 6, None),
    ]  # (text, size, bold, gap after, colour)
    for label, value in lines:
        paras += [(label, 8.5, True, 0.5, grey), (value, 10, False, 3, None)]
    closing: list[tuple[str, float, bool, float, tuple[int, int, int] | None]] = [
        (_("How to verify this file"), 11, True, 1, None),
        (
            _(
                "Run: sempi sign verify FILE (FILE is this PDF). sempi recomputes the file's"
                " SHA-256, finds the request, checks its record of events and the firm's"
                " seal, and says whether the file is valid, altered or unknown. Any PDF"
                " reader also shows the firm's seal and whether the file changed after it."
            ),
            10,
            False,
            5,
            None,
        ),
        (_("What this signature is"), 11, True, 1, None),
        (
            _(
                "The signatures recorded here are a simple electronic signature (firma"
                " elettronica semplice: art. 3 n. 10 and art. 25 Reg. UE 910/2014; art. 20"
                " c. 1-bis CAD), given with a one-time code: its weight as evidence is"
                " freely assessed. It is not a qualified electronic signature, nor a digital"
                " signature. The firm's seal on this file is not the signers' signature: it"
                " shows that the file has not changed since the firm closed it."
            ),
            10,
            False,
            0,
            None,
        ),
    ]
    # A4, the fonts the text needs (render.fonts: Helvetica, DejaVu Sans beyond Windows-1252)
    doc = document("".join(para[0] for para in paras + closing))
    doc.set_margins(MARGIN, MARGIN, MARGIN)
    doc.set_auto_page_break(True, margin=MARGIN)
    doc.add_page()
    setter = Setter(doc)
    for number, (text, size, bold, gap, colour) in enumerate(paras + closing):
        if number == len(paras):
            doc.ln(3)
        if colour:
            doc.set_text_color(*colour)
        setter.paragraph([(text, bold)], size, size * 0.5)
        doc.set_text_color(0, 0, 0)
        doc.ln(size * 0.5 + gap)
    return bytes(doc.output())
