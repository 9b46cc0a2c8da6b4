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
    from sempi_cli.output import FORMULA_STARTS

    return "'" + text if text.startswith(FORMULA_STARTS) else text


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x")', "+39 02 1234", "-1+1", "@SUM(A1)", "\tx", "\rx"]
)
def test_csv_never_lets_a_cell_start_a_formula(text):
    parsed = list(
        csv.reader(io.StringIO(render([{"a": text, "n": -3}], ["a", "n"], "csv"), newline=""))
    )
    assert parsed[1] == ["'" + text, "-3"]  # text kept, shown as text; numbers stay numbers
