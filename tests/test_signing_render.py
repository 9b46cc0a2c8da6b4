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


# --- fonts: the standard Helvetica for Windows-1252 text, DejaVu Sans beyond it --------


def test_italian_text_uses_the_standard_font_and_embeds_nothing():
    line = "Perché più però già così: 1.200,00 € «sì» l’Attività — fine…"
    pdf = to_pdf("Città è", line, "text", footer="Firma · àèéìòù", created_at=AT)
    assert b"/BaseFont /Helvetica" in pdf and b"/BaseFont /Helvetica-Bold" in pdf
    assert b"/FontFile2" not in pdf and b"DejaVu" not in pdf
    assert _text(pdf).splitlines()[:2] == ["Città è", line]


@pytest.mark.parametrize("name", ["Ștefan Popescu", "Łukasz Wróbel", "王 漢"])
def test_a_name_beyond_windows_1252_falls_back_to_dejavu(name):
    pdf = to_pdf("Lettera", f"Firmatario: **{name}**, àè €", "markdown", footer=FOOTER,
                 created_at=AT)  # fmt: skip
    assert b"/FontFile2" in pdf and b"DejaVuSans" in pdf
    assert b"/BaseFont /Helvetica" not in pdf
    text = " ".join(_text(pdf).split())
    if "漢" not in name:  # not in DejaVu Sans: a box, read back as whatever
        assert f"Firmatario: {name}, àè €" in text


# --- lines: our own layout ------------------------------------------------------------


def _setter(text: str):
    from sempi_cli.services.signing.render import Setter, document

    return Setter(document(text))


def _width() -> float:
    from sempi_cli.services.signing.render import MARGIN

    return 210 - 2 * MARGIN  # A4 less the margins


def test_a_long_paragraph_wraps_within_the_margins():
    from sempi_cli.services.signing.render import BODY_SIZE

    parts = runs("Il compenso annuo è di **1.200,00 €** più IVA, da versare in rate. " * 30)
    setter = _setter("".join(part for part, _bold in parts))
    lines = setter.layout(parts, _width(), BODY_SIZE)
    assert len(lines) > 10
    for line in lines:
        assert 0 < line.width <= _width()
        assert line.width == pytest.approx(sum(width for _t, _b, width in line.segments))
        assert not line.cut
    assert lines[0].width > _width() * 0.85  # filled, not broken early
    words = [word for line in lines for text, _b, _w in line.segments for word in text.split()]
    assert words == "".join(part for part, _bold in parts).split()


def test_a_word_longer_than_a_line_is_broken_and_reads_back_whole():
    from sempi_cli.services.signing.render import BODY_SIZE

    word = "Precipitevolissimevolmente" * 8
    lines = _setter(word).layout([(f"prima {word} dopo", False)], _width(), BODY_SIZE)
    assert len(lines) >= 3 and all(line.width <= _width() for line in lines)
    assert [line.cut for line in lines] == [False] + [True] * (len(lines) - 2) + [False]
    pdf = to_pdf("T", f"prima {word} dopo", "markdown", footer="f", created_at=AT)
    assert f"prima{word}dopo" in "".join(_text(pdf).split())


def test_bold_runs_inside_a_line_keep_their_order():
    from sempi_cli.services.signing.render import BODY_SIZE

    parts = runs("per **Alfa** e **Beta**, non **Gamma**ma")
    [line] = _setter("per Alfa e Beta").layout(parts, _width(), BODY_SIZE)
    assert [(text, bold) for text, bold, _w in line.segments] == [
        ("per ", False), ("Alfa", True), (" e ", False), ("Beta", True), (", non ", False),
        ("Gamma", True), ("ma", False),
    ]  # fmt: skip
    pdf = to_pdf("T", "per **Alfa** e **Beta**, non **Gamma**ma", "markdown", footer="f",
                 created_at=AT)  # fmt: skip
    assert "per Alfa e Beta, non Gammama" in _text(pdf)


def test_an_empty_text_is_one_empty_line_and_newlines_break_lines():
    setter = _setter("a b")
    assert [line.segments for line in setter.layout([], 50, 11)] == [[]]
    lines = setter.layout([("a\n\nb", False)], 50, 11)
    assert [[text for text, _b, _w in line.segments] for line in lines] == [["a"], [], ["b"]]


_PIECES = st.sampled_from(
    list("aàbcdeèéfghiìjklmnoòpqrstuùvwxyzAÀBCDEÈÉZ0123456789     .,;:'’«»€$%&()*-#\n")
    + ["ß", "ł", "ș", "ğ", "α", "Ω", "ж", "Я", "—", "…", "™", "→", "∑", "א", "ა", "漢", "W" * 40]
)  # a word of 40 W is wider than the narrower lines


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.lists(_PIECES, max_size=40).map("".join), st.booleans()), max_size=8),
    st.sampled_from([25.0, 60.0, 170.0]),
)
def test_the_lines_give_back_the_words_in_order(parts, width):
    """Whatever the runs, the lines joined (a line cut inside a word joined to the next
    without a space) are the input's words in order, and none is wider than asked."""
    text = "".join(part for part, _bold in parts)
    lines = _setter(text).layout(parts, width, 11)
    assert lines
    joined = "".join(
        "".join(piece for piece, _b, _w in line.segments) + ("" if line.cut else " ")
        for line in lines
    )
    assert joined.split() == text.split()
    assert all(line.width <= width for line in lines)
