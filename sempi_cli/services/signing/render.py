"""A filled template as a PDF (fpdf2): A4, a title, the text, a footer on each page.

The Markdown is a small subset, the one engagement letters and mandates need:
``#`` and ``##`` headings, paragraphs (lines joined until a blank line), ``- ``
bullets, ``**bold**``; anything else is text as written. Plain text keeps its lines.

The output is a function of its arguments: the creation date is one of them and
fpdf2 derives the file's /ID from the content and that date, so the same document
rendered twice has the same bytes and the same SHA-256 (the font file is the
machine's; another version of it would make other, equally stable, bytes).

Text is set in DejaVu Sans, a Unicode TrueType font (accents, €, «», ’), found
where Debian's fonts-dejavu-core and other distributions put it; fpdf2's built-in
fonts know Latin-1 only and would refuse the euro sign.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from sempi_cli.errors import StoreUnusable
from sempi_cli.i18n import gettext as _

if TYPE_CHECKING:
    from fpdf import FPDF

FORMATS = ("markdown", "text")
FONT_FOLDERS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu: fonts-dejavu-core
    "/usr/share/fonts/dejavu-sans-fonts",  # Fedora
    "/usr/share/fonts/TTF",  # Arch
    "/usr/share/fonts/dejavu",  # Alpine
    "/usr/local/share/fonts/dejavu",  # FreeBSD
)
FONT = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

MARGIN = 20  # mm, left, right and top
BOTTOM = 22  # mm: the footer lives in the last 15
BODY_SIZE = 11  # pt
LINE = 5.6  # mm between lines of body text
SIZES = {"title": 17, 1: 14, 2: 12}
BULLET = "•"
INDENT = 6  # mm, a bullet's text from the margin


def font_files() -> dict[str, str]:
    """The style → path of the regular and bold DejaVu Sans; StoreUnusable naming the
    package to install when the machine has none (a deployment problem, not input)."""
    for folder in FONT_FOLDERS:
        paths = {style: os.path.join(folder, name) for style, name in FONT_FILES.items()}
        if all(os.path.isfile(path) for path in paths.values()):
            return paths
    raise StoreUnusable(
        _("cannot make PDF documents: the font DejaVu Sans is not installed"),
        _("install it (Debian: apt-get install fonts-dejavu-core)"),
    )


# --- the Markdown subset, as blocks ---------------------------------------------------


def blocks(text: str, fmt: str) -> Iterator[tuple[str, str]]:
    """(kind, text) pairs: kind is "h1", "h2", "p", "li", or "gap" (a blank line in
    plain text). Markdown joins a paragraph's lines with a space; plain text keeps
    every line a line of its own. A tab is four spaces (the font has no tab)."""
    lines = text.replace("\r\n", "\n").replace("\t", "    ").split("\n")
    if fmt == "text":
        for line in lines:
            yield ("p", line.rstrip()) if line.strip() else ("gap", "")
        return
    kind, words = "", list[str]()
    for raw in lines:
        line = raw.strip()
        heading = _heading(line)
        starts = heading is not None or line.startswith(("- ", "* ")) or not line
        if starts and kind:
            yield kind, " ".join(words)
            kind, words = "", []
        if heading is not None:
            yield heading
        elif line.startswith(("- ", "* ")):
            kind, words = "li", [line[2:].strip()]
        elif line:
            if not kind:
                kind = "p"
            words.append(line)
    if kind:
        yield kind, " ".join(words)


def _heading(line: str) -> tuple[str, str] | None:
    for marks, kind in (("## ", "h2"), ("# ", "h1")):
        if line.startswith(marks):
            return kind, line[len(marks) :].strip()
    return None


_INLINE = re.compile(r"\\([\\*#-])|\*\*")


def runs(text: str) -> list[tuple[str, bool]]:
    """``**bold**`` split into (text, bold) runs; an unpaired ``**`` is text, and so
    is a character after a backslash among ``\\*#-`` (placeholders.fill escapes the
    values so: a client's name never turns bold)."""
    parts = [""]  # text between markers; markers are where a new part starts
    pos = 0
    for match in _INLINE.finditer(text):
        parts[-1] += text[pos : match.start()]
        if match[1] is not None:
            parts[-1] += match[1]
        else:
            parts.append("")
        pos = match.end()
    parts[-1] += text[pos:]
    if len(parts) % 2 == 0:  # an odd number of markers: the last one is text
        parts[-2:] = [parts[-2] + "**" + parts[-1]]
    return [(part, i % 2 == 1) for i, part in enumerate(parts) if part]


# --- the PDF ------------------------------------------------------------------------------


def to_pdf(title: str, text: str, fmt: str, *, footer: str, created_at: datetime) -> bytes:
    """The document as PDF bytes. ``fmt`` is "markdown" or "text"; ``footer`` is the
    line at the bottom of every page (with "n/N" after it); ``created_at`` (aware) is
    written as the file's creation date, and makes the output reproducible."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    pdf = _document(footer)
    pdf.set_creation_date(created_at)
    pdf.set_title(title)
    pdf.set_producer("sempi")
    pdf.set_creator("sempi")
    pdf.add_page()
    pdf.set_font(FONT, "B", SIZES["title"])
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    markdown = fmt == "markdown"
    for kind, body in blocks(text, fmt):
        if kind == "gap":
            pdf.ln(LINE)
        elif kind in ("h1", "h2"):
            level = 1 if kind == "h1" else 2
            pdf.ln(3 if level == 1 else 2)
            pdf.set_font(FONT, "B", SIZES[level])
            heading = "".join(part for part, _bold in runs(body))  # bold already
            pdf.multi_cell(0, 7 if level == 1 else 6.5, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
        elif kind == "li":
            pdf.set_font(FONT, "", BODY_SIZE)
            pdf.set_x(MARGIN + 1.5)
            pdf.cell(INDENT - 1.5, LINE, BULLET)
            pdf.set_left_margin(MARGIN + INDENT)
            _write(pdf, body, markdown)
            pdf.set_left_margin(MARGIN)
            pdf.ln(LINE + 1)
        else:
            _write(pdf, body, markdown)
            pdf.ln(LINE + (2.4 if markdown else 0))
    return finish(pdf, title + text + footer + BULLET)


def _write(pdf: FPDF, text: str, markdown: bool) -> None:
    for part, bold in runs(text) if markdown else [(text, False)]:
        pdf.set_font(FONT, "B" if bold else "", BODY_SIZE)
        pdf.write(LINE, part)


def _document(footer: str) -> FPDF:
    """A blank A4 document with the fonts loaded and ``footer`` on every page."""
    pdf = blank()
    pdf.footer_text = footer  # type: ignore[attr-defined]
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=BOTTOM)
    return pdf


def blank() -> FPDF:
    """A fresh A4 document (mm) with DejaVu Sans regular and bold loaded, no page yet.

    fpdf2's add_font parses a font file and measures every glyph (~0.04 s a font,
    more than the rest of a one-page document): that is done once per process, into
    a document kept aside, and each document is a deep copy of it. fpdf2's own copy
    of a font (TTFFont.__deepcopy__, made for its FPDFRecorder) shares the parsed
    font file, which fpdf2 subsets in place when it writes a PDF: each copy is given
    a font file of its own, read lazily from the bytes kept in memory. The bytes
    written are those of fonts added afresh (tests/test_signing_render.py); a
    document costs ~0.09 s instead of ~0.13, a certificate page ~0.12 instead of ~0.15."""
    import copy
    import io

    from fontTools import ttLib  # type: ignore[import-untyped]
    from fpdf.fonts import TTFFont

    fonts = tuple(font_files().items())
    pdf = copy.deepcopy(_loaded(fonts))
    for font in pdf.fonts.values():
        assert isinstance(font, TTFFont)  # DejaVu Sans, nothing else is added
        font.ttfont = ttLib.TTFont(
            io.BytesIO(_font_bytes(str(font.ttffile))), recalcTimestamp=False, lazy=True
        )
    return pdf


@functools.cache
def _font_bytes(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


# The scripts a working copy of the font keeps: Latin (with Latin-1, Extended-A and
# B, IPA), Greek, Cyrillic, and the punctuation, currency, letter-like and arrow
# blocks. A document whose text stays within them is written with it.
WORKING_RANGES = ((0x20, 0x250), (0x370, 0x530), (0x2000, 0x2200))
WORKING_AFTER = 8  # documents made in a process before the working copy pays off
_made = [0]


def finish(pdf: FPDF, text: str) -> bytes:
    """``pdf`` written out; ``text`` is every character it was given to print.

    fpdf2 embeds the glyphs a document uses, cutting them out of the whole font
    file (fontTools' subsetter), and DejaVu Sans has ~6,000 glyphs to read first:
    most of a document's time. A process that makes many documents (a batch, the
    bench) makes, once, a working copy of each font with the ~1,400 glyphs of the
    scripts in WORKING_RANGES, and cuts from it whenever ``text`` stays within
    them: the glyphs cut out are the same, and so are the bytes written
    (tests/test_signing_render.py). Text beyond them uses the whole font."""
    _made[0] += 1
    if _made[0] > WORKING_AFTER and _within(text):
        import io

        from fontTools import ttLib
        from fpdf.fonts import TTFFont

        for font in pdf.fonts.values():
            assert isinstance(font, TTFFont)  # DejaVu Sans, nothing else is added
            font.ttfont = ttLib.TTFont(
                io.BytesIO(_working_bytes(str(font.ttffile))), recalcTimestamp=False, lazy=True
            )
    return bytes(pdf.output())


def _within(text: str) -> bool:
    return all(
        char in "\n\r\t" or any(low <= ord(char) < high for low, high in WORKING_RANGES)
        for char in set(text)
    )


@functools.cache
def _working_bytes(path: str) -> bytes:
    """The font at ``path`` cut down to WORKING_RANGES with the options of fpdf2's own
    cut (its outlines, their hinting, the glyph names; the layout tables it drops
    dropped), so that cutting again from it gives what fpdf2 cuts from the whole."""
    import io

    from fontTools import subset, ttLib

    font = ttLib.TTFont(io.BytesIO(_font_bytes(path)), recalcTimestamp=False)
    options = subset.Options(
        notdef_outline=True, recommended_glyphs=True, glyph_names=True, hinting=True,
        layout_features=[],
    )  # fmt: skip
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "MATH", "FFTM", "hdmx"]
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=[c for low, high in WORKING_RANGES for c in range(low, high)])
    cutter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@functools.cache
def _loaded(fonts: tuple[tuple[str, str], ...]) -> FPDF:
    import logging

    from fpdf import FPDF

    # A character the font lacks (a CJK name) is drawn as an empty box, and fpdf2 says
    # so through logging, which with no handler writes to stderr: a command's errors
    # and messages there stay its own.
    logging.getLogger("fpdf").setLevel(logging.ERROR)

    class Document(FPDF):
        footer_text: str | None = None

        def footer(self) -> None:
            if self.footer_text is None:
                return
            self.set_y(-15)
            self.set_font(FONT, "", 8)
            self.set_text_color(90)
            line = f"{self.footer_text} · {self.page_no()}/{{nb}}"
            self.cell(0, 5, line, align="C")
            self.set_text_color(0)

    pdf = Document(format="A4", unit="mm")
    for style, path in fonts:
        pdf.add_font(FONT, style, path)
    return pdf
