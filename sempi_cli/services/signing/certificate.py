"""The certificate of completion: one page appended to a signed document.

It names the request, the signers with their times (Europe/Rome and UTC), the
document's SHA-256 before signature, how to verify the file, and says plainly
what the signature is: a simple electronic signature, never a qualified or
digital one. fpdf2 draws the page in the document's font (render.py: DejaVu Sans),
pypdf joins it to the document; the firm's seal (seal.py) is applied afterwards,
so it covers the certificate too.

The page is written in the language it is given (the firm's, Italian unless
the firm chose English), not the language of whoever runs the command.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sempi_cli.errors import Conflict, InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import speaking
from sempi_cli.services.signing.render import FONT, blank, finish
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
    writer.add_page(PdfReader(io.BytesIO(page)).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _render(lines: list[tuple[str, str]], title: str) -> bytes:
    doc = blank()  # A4, the document's own font (DejaVu Sans) loaded once per process
    doc.set_margins(MARGIN, MARGIN, MARGIN)
    doc.set_auto_page_break(True, margin=MARGIN)
    doc.add_page()
    width = doc.w - 2 * MARGIN

    printed: list[str] = []

    def para(value: str, size: float, style: str = "", gap: float = 0) -> None:
        printed.append(value)
        doc.set_font(FONT, style, size)
        doc.multi_cell(width, size * 0.5, value, align="L", new_x="LMARGIN", new_y="NEXT")
        if gap:
            doc.ln(gap)

    para(_("Certificate of completion"), 18, "B", 2)
    para(title, 12, "", 6)
    for label, value in lines:
        doc.set_text_color(90, 90, 90)
        para(label, 8.5, "B", 0.5)
        doc.set_text_color(0, 0, 0)
        para(value, 10, "", 3)
    doc.ln(3)
    para(_("How to verify this file"), 11, "B", 1)
    para(
        _(
            "Run: sempi sign verify FILE (FILE is this PDF). sempi recomputes the file's"
            " SHA-256, finds the request, checks its record of events and the firm's seal,"
            " and says whether the file is valid, altered or unknown. Any PDF reader also"
            " shows the firm's seal and whether the file changed after it."
        ),
        10,
        "",
        5,
    )
    para(_("What this signature is"), 11, "B", 1)
    para(
        _(
            "The signatures recorded here are a simple electronic signature (firma"
            " elettronica semplice: art. 3 n. 10 and art. 25 Reg. UE 910/2014; art. 20 c."
            " 1-bis CAD), given with a one-time code: its weight as evidence is freely"
            " assessed. It is not a qualified electronic signature, nor a digital signature."
            " The firm's seal on this file is not the signers' signature: it shows that the"
            " file has not changed since the firm closed it."
        ),
        10,
    )
    return finish(doc, "".join(printed))
