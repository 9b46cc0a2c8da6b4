"""services/ledger.py: the append-only, hash-chained record every domain that must
show it was not edited uses. Tried on consent_answers, the first such table."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sempi_cli.services import ledger
from tests.helpers import drop_trigger

COLUMNS = ("client_id", "answer", "comment", "answered_at", "answered_by", "on_behalf", "channel")


@pytest.fixture
def answers(org, db):
    rossi = org.practice("Studio Rossi")
    client = org.client("Alfa Srl", rossi, 1)
    admin = db.execute("SELECT id FROM users ORDER BY id LIMIT 1").fetchone()[0]

    def add(answer: str, comment: str | None = None) -> int:
        return ledger.append(
            db,
            "consent_answers",
            {"client_id": client, "answer": answer, "comment": comment,
             "answered_at": "2026-12-07T10:00:00+00:00", "answered_by": admin,
             "on_behalf": 0, "channel": "sempi"},
        )  # fmt: skip

    return add


def test_rows_link_to_the_one_before(db, answers):
    first, second = answers("yes"), answers("no", "ci ho ripensato")
    rows = db.execute("SELECT id, prev_hash, row_hash FROM consent_answers ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [first, second]
    assert rows[0][1] == ledger.GENESIS and rows[1][1] == rows[0][2]
    assert ledger.verify(db, "consent_answers", COLUMNS) == {
        "rows": 2, "ok": True, "first_bad": None, "problem": None
    }  # fmt: skip


def test_the_store_refuses_to_change_or_remove_a_row(db, answers):
    answers("yes")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE consent_answers SET answer = 'no'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM consent_answers")


@pytest.mark.parametrize("how", ["change", "remove", "insert"])
def test_editing_the_file_behind_the_tool_is_found(db, answers, how):
    ids = [answers("yes"), answers("no"), answers("yes")]
    drop_trigger(db, "consent_answers_append_only_update", "consent_answers")
    drop_trigger(db, "consent_answers_append_only_delete", "consent_answers")
    if how == "change":
        db.execute("UPDATE consent_answers SET answer = 'yes' WHERE id = ?", (ids[1],))
        expected = ids[1]
    elif how == "remove":
        db.execute("DELETE FROM consent_answers WHERE id = ?", (ids[1],))
        expected = ids[2]
    else:
        db.execute(
            "INSERT INTO consent_answers (id, client_id, answer, answered_at, answered_by,"
            " channel, prev_hash, row_hash) SELECT 0, client_id, 'yes', answered_at,"
            " answered_by, 'sempi', ?, ? FROM consent_answers LIMIT 1",
            (ledger.GENESIS, "f" * 64),
        )
        expected = 0
    result = ledger.verify(db, "consent_answers", COLUMNS)
    assert (result["ok"], result["first_bad"]) == (False, expected)


def test_table_and_column_names_are_checked(db):
    with pytest.raises(ValueError):
        ledger.append(db, "consent_answers; DROP TABLE x", {"a": 1})
    with pytest.raises(ValueError):
        ledger.verify(db, "consent_answers", ["answer) FROM users --"])


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.none(), st.integers(), st.text()))
)
def test_the_canonical_form_does_not_depend_on_key_order(content):
    reordered = dict(reversed(list(content.items())))
    assert ledger.canonical(content) == ledger.canonical(reordered)
    assert ledger.link(ledger.GENESIS, content) == ledger.link(ledger.GENESIS, reordered)
