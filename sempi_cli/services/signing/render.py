"""A filled template as a PDF (fpdf2): A4, a title, the text, a footer on each page.

The Markdown is a small subset, the one engagement letters and mandates need:
``#`` and ``##`` headings, paragraphs (lines joined until a blank line), ``- ``
bullets, ``**bold**``; anything else is text as written. Plain text keeps its lines.

The output is a function of its arguments: the creation date is one of them and
fpdf2 derives the file's /ID from the content and that date, so the same document
rendered twice has the same bytes and the same SHA-256 (a document in DejaVu Sans
embeds the machine's font file; another version of it would make other, equally
stable, bytes).

Fonts, for speed: a document whose every character is in Windows-1252 (all of
Italian, € « » ’ — …, most Western European names) is set in Helvetica, a PDF
standard font that every reader has: nothing is embedded, nothing cut out of a
font file, and a page is written in a millisecond or two. Any other character
(a Romanian ș, a Polish ł, a Chinese name) makes the whole document DejaVu Sans,
a Unicode TrueType font embedded as fpdf2's add_font does it (~0.1 s more a
document), found where Debian's fonts-dejavu-core and other distributions put it.

Lines are broken here (layout), not by fpdf2's write or multi_cell, which measure
a line again for every character added: each word is measured once, lines are
filled greedily and drawn a cell for each run of one style.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

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
FONT = "DejaVu"  # the Unicode fallback
STANDARD = "helvetica"  # the PDF standard font, Windows-1252 text
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
    pdf = document(title + text + BULLET, footer)
    pdf.set_creation_date(created_at)
    pdf.set_title(title)
    pdf.set_producer("sempi")
    pdf.set_creator("sempi")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=BOTTOM)
    pdf.add_page()
    setter = Setter(pdf)
    setter.paragraph([(title, True)], SIZES["title"], 8)
    pdf.ln(8 + 4)
    markdown = fmt == "markdown"
    for kind, body in blocks(text, fmt):
        parts = runs(body) if markdown else [(body, False)]
        if kind == "gap":
            pdf.ln(LINE)
        elif kind in ("h1", "h2"):
            level = 1 if kind == "h1" else 2
            height = 7 if level == 1 else 6.5
            pdf.ln(3 if level == 1 else 2)
            heading = "".join(part for part, _bold in parts)  # bold already
            setter.paragraph([(heading, True)], SIZES[level], height)
            pdf.ln(height + 1.5)
        elif kind == "li":
            setter.paragraph(parts, BODY_SIZE, LINE, indent=INDENT, bullet=BULLET)
            pdf.ln(LINE + 1)
        else:
            setter.paragraph(parts, BODY_SIZE, LINE)
            pdf.ln(LINE + (2.4 if markdown else 0))
    return bytes(pdf.output())


def fonts(pdf: FPDF, text: str) -> str:
    """The font family ``pdf`` prints ``text`` in, set up: the standard Helvetica in
    Windows-1252 when every character of ``text`` is in it, else DejaVu Sans added
    to ``pdf`` (regular and bold; StoreUnusable when the machine has none)."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        for style, path in font_files().items():
            pdf.add_font(FONT, style, path)
        return FONT
    pdf.core_fonts_encoding = "windows-1252"
    return STANDARD


def document(text: str, footer: str | None = None) -> FPDF:
    """A fresh A4 document (mm), no page yet, with the fonts for ``text`` (every
    character it will print) and ``footer``, when given, at the bottom of every page
    with "n/N" after it."""
    # A character the font lacks (a CJK name) is drawn as an empty box, and fpdf2 says
    # so through logging, which with no handler writes to stderr: a command's errors
    # and messages there stay its own.
    logging.getLogger("fpdf").setLevel(logging.ERROR)
    pdf: FPDF = _document_class()(footer)
    pdf.set_font(fonts(pdf, text + (footer or "") + " · 0123456789/"), "", BODY_SIZE)
    return pdf


@functools.cache
def _document_class() -> Callable[[str | None], FPDF]:
    """FPDF with the footer; made on first use, so that importing this module does
    not import fpdf2 (``sempi --help`` never needs it)."""
    from fpdf import FPDF

    class Document(FPDF):
        def __init__(self, footer: str | None) -> None:
            super().__init__(format="A4", unit="mm")
            self.footer_text = footer

        def footer(self) -> None:
            if self.footer_text is None:
                return
            self.set_y(-15)
            self.set_font(self.font_family, "", 8)
            self.set_text_color(90)
            line = f"{self.footer_text} · {self.page_no()}/{{nb}}"
            self.cell(0, 5, line, align="C")
            self.set_text_color(0)

    return Document


# --- lines ----------------------------------------------------------------------------


class Line(NamedTuple):
    """A line laid out: (text, bold, width in mm) segments, consecutive ones of other
    styles; its width; ``cut`` when it ends inside a word too wide for a line."""

    segments: list[tuple[str, bool, float]]
    width: float
    cut: bool = False


_TOKEN = re.compile(r"\n| +|[^ \n]+")


class Setter:
    """Sets text on ``pdf`` in the font family chosen for it (fonts()), measuring
    each word once per style and size."""

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf
        self.family = pdf.font_family
        self.widths: dict[tuple[str, bool, float], float] = {}

    def width(self, text: str, bold: bool, size: float) -> float:
        key = (text, bold, size)
        width = self.widths.get(key)
        if width is None:
            self.pdf.set_font(self.family, "B" if bold else "", size)
            width = self.widths[key] = self.pdf.get_string_width(text)
        return width

    def layout(self, parts: list[tuple[str, bool]], width: float, size: float) -> list[Line]:
        """``parts`` as (text, bold) runs broken into lines at most ``width`` mm wide:
        greedily, at spaces (dropped where a line breaks) and at "\\n"; a word wider
        than a line is broken between characters. At least one line, maybe empty."""
        lines: list[Line] = []
        line: list[tuple[str, bool, float]] = []
        used = 0.0
        spaces: list[tuple[str, bool, float]] = []  # before the next word
        word: list[tuple[str, bool, float]] = []

        def end(cut: bool = False) -> None:
            nonlocal line, used
            lines.append(Line(_joined(line), used, cut))
            line, used = [], 0.0

        def place() -> None:
            nonlocal used
            wide = sum(piece[2] for piece in word)
            gap = sum(space[2] for space in spaces)
            if line and used + gap + wide > width:
                end()
            elif used + gap <= width:  # leading spaces of a line are kept when they fit
                line.extend(spaces)
                used += gap
            if used + wide <= width or not wide:
                line.extend(word)
                used += wide
            else:  # too wide for a line: broken between characters
                for text, bold, _width in word:
                    for char in text:
                        advance = self.width(char, bold, size)
                        if used + advance > width and used > 0:
                            end(cut=True)
                        line.append((char, bold, advance))
                        used += advance
            spaces.clear()
            word.clear()

        for text, bold in parts:
            for token in _TOKEN.findall(text):
                if token == "\n":
                    if word:
                        place()
                    spaces.clear()
                    end()
                elif token[0] == " ":
                    if word:
                        place()
                    spaces.append((token, bold, self.width(token, bold, size)))
                else:
                    word.append((token, bold, self.width(token, bold, size)))
        if word:
            place()
        end()
        return lines

    def paragraph(
        self,
        parts: list[tuple[str, bool]],
        size: float,
        height: float,
        *,
        indent: float = 0,
        bullet: str = "",
    ) -> None:
        """``parts`` set from the left margin (plus ``indent``) to the right one, a
        line every ``height`` mm, a new page before a line that would cross the
        bottom margin; ``bullet`` is printed before the first line, in the indent.
        Left on the last line, as fpdf2's write leaves it."""
        pdf = self.pdf
        left = pdf.l_margin + indent
        width = pdf.w - pdf.r_margin - left - 2 * pdf.c_margin
        for number, line in enumerate(self.layout(parts, width, size)):
            if number:
                pdf.ln(height)
            if pdf.will_page_break(height):
                pdf.add_page()
            if bullet and not number:
                pdf.set_font(self.family, "", size)
                pdf.set_x(pdf.l_margin + 1.5)
                pdf.cell(indent - 1.5, height, bullet)
            pdf.set_x(left)
            for text, bold, wide in line.segments:
                pdf.set_font(self.family, "B" if bold else "", size)
                pdf.cell(wide, height, text)


def _joined(pieces: list[tuple[str, bool, float]]) -> list[tuple[str, bool, float]]:
    segments: list[tuple[str, bool, float]] = []
    for text, bold, width in pieces:
        if segments and segments[-1][1] == bold:
            last = segments[-1]
            segments[-1] = (last[0] + text, bold, last[2] + width)
        else:
            segments.append((text, bold, width))
    return segments
