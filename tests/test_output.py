"""output.render: one pure function for tables and machine formats."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.output import render, render_record

ROWS = [
    {"id": 1, "name": "Bianchi Srl", "active": True, "tags": ["iva", "f24"], "note": None},
    {
        "id": 2,
        "name": "Rossi, Verdi & C. Snc",
        "active": False,
        "tags": [],
        "note": 'detto "il grande"',
    },
]
COLUMNS = ["id", "name", "active", "tags", "note"]


def test_json_keeps_types_and_picks_columns():
    data = json.loads(render(ROWS, ["id", "active", "note"], "json"))
    assert data == [
        {"id": 1, "active": True, "note": None},
        {"id": 2, "active": False, "note": 'detto "il grande"'},
    ]


def test_jsonl_is_one_object_per_line():
    lines = render(ROWS, COLUMNS, "jsonl").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2]


def test_csv_quotes_and_flattens():
    parsed = list(csv.reader(io.StringIO(render(ROWS, COLUMNS, "csv"))))
    assert parsed[0] == COLUMNS
    assert parsed[1] == ["1", "Bianchi Srl", "yes", "iva, f24", ""]
    assert parsed[2][1] == "Rossi, Verdi & C. Snc"


def test_table_is_for_people():
    text = render(ROWS, COLUMNS, "table")
    assert text.splitlines()[0].split() == COLUMNS
    assert "Bianchi Srl" in text and "yes" in text
    assert render([], COLUMNS, "table") == ""
    assert "01234567897" in render(
        [{"piva": "01234567897"}], ["piva"], "table"
    )  # no number parsing


def test_record_forms():
    record = {"id": 7, "name": "Bianchi", "members": [{"email": "a@b.it"}]}
    assert json.loads(render_record(record, "json")) == record
    text = render_record(record, "table")
    assert "members:" in text and "a@b.it" in text


@given(
    st.lists(st.fixed_dictionaries({"a": st.text(), "b": st.integers() | st.none()}), max_size=5)
)
def test_csv_round_trips_any_text(rows):
    parsed = list(csv.reader(io.StringIO(render(rows, ["a", "b"], "csv"), newline="")))
    assert parsed[0] == ["a", "b"]
    assert parsed[1:] == [
        [_safe(row["a"]), "" if row["b"] is None else str(row["b"])] for row in rows
    ]


def _safe(text: str) -> str:
    from sempi_cli.output import FORMULA_STARTS, terminal_safe

    text = terminal_safe(text, keep="\n\t\r")
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x")', "+39 02 1234", "-1+1", "@SUM(A1)", "\tx", "\rx"]
)
def test_csv_never_lets_a_cell_start_a_formula(text):
    parsed = list(
        csv.reader(io.StringIO(render([{"a": text, "n": -3}], ["a", "n"], "csv"), newline=""))
    )
    assert parsed[1] == ["'" + text, "-3"]  # text kept, shown as text; numbers stay numbers


# --- control characters never reach a terminal (OSC 52 writes the clipboard) ----------

HOSTILE = "Pratica \x1b]52;c;ZXZpbA==\x07 fine\x9b2J\x7f"


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_tables_and_csv_show_control_characters_as_escapes(fmt):
    text = render([{"title": HOSTILE, "note": "riga 1\nriga 2"}], ["title", "note"], fmt)
    assert not any(c in text for c in "\x1b\x07\x9b\x7f")
    assert "\\x1b]52;c;ZXZpbA==\\x07 fine\\x9b2J\\x7f" in text
    assert "riga 1" in text and "riga 2" in text  # line breaks stay line breaks


def test_records_show_control_characters_as_escapes():
    text = render_record({"title": HOSTILE, "tags": [HOSTILE]}, "table")
    assert not any(c in text for c in "\x1b\x07\x9b\x7f")


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_stays_exact_and_inert(fmt):
    rows = [{"title": HOSTILE}]
    text = render(rows, ["title"], fmt)
    assert not any(c in text for c in "\x1b\x07\x9b\x7f")
    parsed = json.loads(text)
    assert (parsed[0] if fmt == "json" else parsed) == {"title": HOSTILE}
    assert json.loads(render_record({"title": HOSTILE}, fmt)) == {"title": HOSTILE}


@given(st.text())
def test_terminal_safe_leaves_no_control_character_but_line_breaks(text):
    from sempi_cli.output import terminal_safe

    shown = terminal_safe(text)
    assert all(c == "\n" or not (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) for c in shown)
    assert terminal_safe(shown) == shown  # idempotent: escapes are plain text


# A table's cells: printable one-line text with spaces at either end (stripped, as
# tabulate strips them), accents and wide letters, empty cells.
_one_line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12
).filter(lambda t: "\n" not in t)


@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda n: st.tuples(
            st.lists(st.text("abcdefghij_", min_size=1, max_size=10), min_size=n, max_size=n),
            st.lists(st.lists(_one_line_text, min_size=n, max_size=n), min_size=1, max_size=6),
        )
    )
)
def test_the_table_is_the_one_tabulate_writes(table):
    """output.simple_table writes tabulate's "simple" table without tabulate's type
    inference (the time of a 10,000-row table): the same text, cell for cell."""
    from tabulate import tabulate

    from sempi_cli.output import simple_table

    headers, rows = table
    cells = [[c.strip() for c in row] for row in rows]
    expected = tabulate(cells, headers=headers, tablefmt="simple", disable_numparse=True)
    assert simple_table(cells, headers) == expected
    rendered = render([dict(zip(headers, row, strict=True)) for row in rows], headers)
    if len(set(headers)) == len(headers):
        assert rendered == expected


def test_a_cell_of_several_lines_is_laid_out_by_tabulate():
    rows = [{"a": "one\ntwo", "b": "x"}]
    assert render(rows, ["a", "b"]).splitlines()[2:] == ["one  x", "two"]
