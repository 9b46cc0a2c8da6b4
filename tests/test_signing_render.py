"""Signature documents as PDF: the text reads back, accents and the euro included,
and the same input makes the same bytes."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from datetime import UTC, date, datetime

import pypdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sempi_cli.services.signing.placeholders import PLACEHOLDERS, fill, values_for
from sempi_cli.services.signing.render import blocks, runs, to_pdf

AT = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)
FOOTER = "Richiesta 12 · Firma elettronica semplice"
TEMPLATE = """# Lettera d'incarico professionale

Il sottoscritto, per conto di **{{client.ragione_sociale}}** (codice fiscale
{{client.codice_fiscale}}, partita IVA {{client.partita_iva}}), conferisce a
{{studio.name}} l'incarico descritto qui di seguito.

## Attività e compenso

- tenuta della contabilità e dichiarazioni fiscali
- compenso annuo di 1.200,00 € più IVA, però già concordato
- firmatari: {{signer.names}}

Roma, {{today}}
"""


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _letter() -> str:
    client = {"ragione_sociale": "Società Alfa S.r.l.", "codice_fiscale": "RSSMRA80A01H501U",
              "partita_iva": "01234567897", "email": None, "pec": None}  # fmt: skip
    values = values_for(client=client, studio={"name": "Studio Rossi", "partita_iva": None},
                        firm_name="Sempi Srl", today=date(2026, 3, 16),
                        signers=["Mario Rossi", "Anna Bianchi"])  # fmt: skip
    return fill(TEMPLATE, values)


def test_the_client_data_and_accents_read_back():
    pdf = to_pdf("Lettera d'incarico", _letter(), "markdown", footer=FOOTER, created_at=AT)
    assert pdf.startswith(b"%PDF-")
    text = " ".join(_text(pdf).split())
    for expected in ("Società Alfa S.r.l.", "RSSMRA80A01H501U", "01234567897", "Studio Rossi",
                     "1.200,00 €", "però", "Mario Rossi e Anna Bianchi", "16 marzo 2026",
                     "Attività e compenso", "Firma elettronica semplice"):  # fmt: skip
        assert expected in text, expected
    assert "**" not in text and "{{" not in text and "# " not in text


def test_same_input_same_bytes_and_hash():
    first = to_pdf("T", _letter(), "markdown", footer=FOOTER, created_at=AT)
    second = to_pdf("T", _letter(), "markdown", footer=FOOTER, created_at=AT)
    assert first == second
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()


def test_the_creation_date_is_the_one_given():
    pdf = to_pdf("T", "x", "text", footer=FOOTER, created_at=AT)
    later = to_pdf("T", "x", "text", footer=FOOTER, created_at=datetime(2026, 3, 17, tzinfo=UTC))
    assert pdf != later
    assert b"D:20260316093000" in pdf


def test_a_long_text_has_the_footer_on_every_page():
    body = "\n\n".join(f"Paragrafo {n}: " + "parole in più, " * 60 for n in range(40))
    pdf = to_pdf("Lungo", body, "markdown", footer=FOOTER, created_at=AT)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    assert pages > 2
    for number, page in enumerate(reader.pages, 1):
        assert f"Firma elettronica semplice · {number}/{pages}" in page.extract_text()
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4


def test_plain_text_keeps_its_lines_and_its_marks():
    pdf = to_pdf("T", "riga uno\n**non grassetto**\n- non un elenco", "text", footer="f",
                 created_at=AT)  # fmt: skip
    text = _text(pdf)
    assert "**non grassetto**" in text and "- non un elenco" in text
    assert "riga uno\n" in text


@settings(max_examples=15)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=200))
def test_any_text_renders(text):
    """Never a failure on an accent, a symbol or a script the font lacks."""
    assert to_pdf("Tìtolo €", text, "markdown", footer="àèìòù €", created_at=AT)[:5] == b"%PDF-"


def test_markdown_blocks():
    text = "# Uno\n\nriga a\nriga b\n\n## Due\n- voce uno\n  continua\n- voce due\ntesto"
    assert list(blocks(text, "markdown")) == [
        ("h1", "Uno"),
        ("p", "riga a riga b"),
        ("h2", "Due"),
        ("li", "voce uno continua"),
        ("li", "voce due testo"),
    ]


def test_bold_runs_and_an_unpaired_marker():
    assert runs("a **b** c") == [("a ", False), ("b", True), (" c", False)]
    assert runs("a ** b") == [("a ** b", False)]
    assert runs("**a** b **c") == [("a", True), (" b **c", False)]


@pytest.mark.slow
def test_tabs_and_characters_the_font_lacks_say_nothing_on_stderr():
    """fpdf2 logs a missing glyph; with no handler, Python would print it on stderr
    (pytest's own handler would hide that here: a process of its own shows it)."""
    script = (
        "import sys; from datetime import UTC, datetime;"
        "from sempi_cli.services.signing.render import to_pdf;"
        "pdf = to_pdf('T', 'col1\\tcol2 \\u6f22', 'text', footer='f',"
        " created_at=datetime(2026, 3, 16, tzinfo=UTC));"
        "sys.stdout.buffer.write(pdf)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True)
    assert done.stderr == b""
    assert "col1    col2" in _text(done.stdout)


def test_a_value_prints_as_written_whatever_its_marks():
    """A client's data filled into a Markdown template never turns bold, a heading or a
    list item: placeholders.fill escapes it, render reads the escapes."""
    odd = "**Alfa** - #1 \\ Beta*"
    template = (
        "# Per {{client.ragione_sociale}}\n\n{{client.ragione_sociale}}\n\n- **{{client.pec}}**"
    )
    values = dict.fromkeys(PLACEHOLDERS, odd)
    text = fill(template, values, markdown=True)
    assert [kind for kind, _ in blocks(text, "markdown")] == ["h1", "p", "li"]
    assert runs(list(blocks(text, "markdown"))[1][1]) == [(odd, False)]
    assert runs(list(blocks(text, "markdown"))[2][1]) == [(odd, True)]
    read = _text(to_pdf("T", text, "markdown", footer="f", created_at=AT))
    assert read.count(odd) == 3


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30))
def test_any_value_reads_back_as_itself_in_markdown(value):
    text = fill("{{client.pec}}", dict.fromkeys(PLACEHOLDERS, value), markdown=True)
    assert "".join(part for part, _bold in runs(text)) == value


def _by_hand(make) -> bytes:
    """One line of text in both fonts, on a document ``make()`` returns."""
    doc = make()
    doc.set_creation_date(datetime(2026, 11, 16, 9, 30, tzinfo=UTC))
    doc.add_page()
    doc.set_font("DejaVu", "B", 14)
    doc.cell(text="Lettera d'incarico — 1.200 € «sì»")
    doc.set_font("DejaVu", "", 11)
    doc.cell(text="Rossi Srl, Milano")
    return bytes(doc.output())


def test_the_fonts_parsed_once_make_the_same_bytes_as_fonts_added_afresh():
    """render.blank() copies a document whose fonts were parsed once per process; the
    file is byte for byte what fpdf2's own add_font on a new document makes, and the
    kept document is never changed by a file written (fpdf2 subsets fonts in place)."""
    from fpdf import FPDF

    from sempi_cli.services.signing.render import FONT, blank, font_files

    def afresh() -> FPDF:
        doc = FPDF(format="A4", unit="mm")
        for style, path in font_files().items():
            doc.add_font(FONT, style, path)
        return doc

    expected = _by_hand(afresh)
    assert _by_hand(blank) == expected
    to_pdf("Altro", "Tutt'altro testo, **grassetto**", "markdown", footer="x", created_at=AT)
    assert _by_hand(blank) == expected
    assert blank() is not blank()


_ALPHABET = st.sampled_from(
    list("aàbcdeèéfghiìjklmnoòpqrstuùvwxyzAÀBCDEÈÉZ0123456789 .,;:'’«»€$%&()*-#\n")
    + ["ß", "ł", "ș", "ğ", "α", "Ω", "ж", "Я", "—", "…", "™", "→", "∑", "א", "ა", "漢"]
)


@settings(max_examples=15, deadline=None)
@given(st.text(_ALPHABET, min_size=1, max_size=120))
def test_the_working_copy_of_the_font_writes_the_same_bytes(text):
    """Past WORKING_AFTER documents a process cuts glyphs from a working copy of the
    font (render.finish); a text with a character beyond it (∑, א, ა, 漢) uses the
    whole font. Either way the bytes are those the whole font makes."""
    from sempi_cli.services.signing import render

    made = render._made[0]
    try:
        render._made[0] = -1_000_000  # the whole font
        whole = to_pdf("Titolo", text, "markdown", footer=FOOTER, created_at=AT)
        render._made[0] = 1_000_000  # the working copy, where the text allows
        working = to_pdf("Titolo", text, "markdown", footer=FOOTER, created_at=AT)
    finally:
        render._made[0] = made
    assert working == whole
