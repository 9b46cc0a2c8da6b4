"""`chat search` (services/chat/search.py, store/search.py): the query language
(words, "phrases", prefix*, OR; accents and case ignored), ranking, the matched
words' places and their highlighting on a terminal only, the filters, and the
access rule inside the query: readable chats, from each reader's sees_from, not
deleted. A property test: whatever a person types becomes a query FTS5 accepts,
or one line of invalid data, never an SQLite error."""

from __future__ import annotations

import io
import sqlite3
import sys
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.errors import InvalidData
from sempi_cli.services.chat.chats import ChatService
from sempi_cli.store.search import match_query, search, spans
from tests.conftest import actor, store_digest
from tests.helpers import (
    CREATOR,
    DOER,
    EXTERNAL,
    HELPER,
    OPERATOR,
    OUTSIDER,
    WATCHER,
    assert_one_line_error,
    data,
    ok,
)

GENERAL, ALFA, BETA = "1", "2", "3"


@pytest.fixture
def run(cli):
    """`sempi chat ...` as CREATOR unless told otherwise."""
    return lambda *args, as_user=CREATOR, **kw: cli("chat", *args, as_user=as_user, **kw)


def send(run, chat: str, text: str, as_user: str = CREATOR) -> int:
    return data(run("send", chat, text, "--json", as_user=as_user))["id"]


def found(run, *args: str, as_user: str = CREATOR) -> list[dict]:
    return data(run("search", *args, "--json", as_user=as_user))


def texts(run, *args: str, as_user: str = CREATOR) -> list[str]:
    return [hit["text"] for hit in found(run, *args, as_user=as_user)]


# --- the query language ---------------------------------------------------------------------


def test_prefixes_phrases_accents_and_or(run, people):
    send(run, GENERAL, "La fattura elettronica è pronta")
    send(run, GENERAL, "Fatturazione di città")
    send(run, GENERAL, "Elettronica e fattura, non in quest'ordine")
    assert sorted(texts(run, "fattur*")) == sorted(
        [
            "La fattura elettronica è pronta",
            "Fatturazione di città",
            "Elettronica e fattura, non in quest'ordine",
        ]
    )
    assert texts(run, '"fattura elettronica"') == ["La fattura elettronica è pronta"]
    assert texts(run, "CITTA") == ["Fatturazione di città"]  # accents and case ignored
    assert sorted(texts(run, "pronta OR ordine")) == [
        "Elettronica e fattura, non in quest'ordine",
        "La fattura elettronica è pronta",
    ]
    assert texts(run, "fattura pronta") == ["La fattura elettronica è pronta"]  # all words
    # FTS5's own syntax is only text here: no error, no column filter, no NOT.
    assert texts(run, "body: NOT fattura") == []
    assert texts(run, "fattura-elettronica") == ["La fattura elettronica è pronta"]


def test_the_best_match_comes_first_and_the_words_are_placed(run, people):
    send(run, GENERAL, "Domani parliamo della fattura di ottobre e di altre cose da fare")
    best = send(run, GENERAL, "Fattura, fattura, fattura!")
    hits = found(run, "fattura")
    assert hits[0]["id"] == best
    for hit in hits:
        assert hit["matches"]
        assert all(hit["text"][a:b].lower() == "fattura" for a, b in hit["matches"])
    assert hits[0]["matches"] == [[0, 7], [9, 16], [18, 25]]


def test_bad_queries_are_one_line_of_invalid_data(run, people, store_path):
    send(run, GENERAL, "ciao")
    before = store_digest(store_path)
    for query, fragment in (
        ('"fattura elettronica', "no closing double quote"),
        ("!!! ???", "nothing to search for"),
        ("", "nothing to search for"),
        ("*", "nothing to search for"),
        ("x" * 1001, "longer than 1000 characters"),
    ):
        assert_one_line_error(run("search", query), 6, "TEXT", fragment)
    assert_one_line_error(run("search", "ciao", "--limit", "0"), 2)
    assert store_digest(store_path) == before


@given(st.text(max_size=60))
def test_any_text_is_a_query_fts5_accepts_or_one_line_of_invalid_data(text):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute(
        "CREATE VIRTUAL TABLE docs_fts USING fts5(body, content = 'docs', content_rowid = 'id',"
        " tokenize = 'unicode61 remove_diacritics 2')"
    )
    bodies = ["La fattura è pronta", 'Un "caso" strano: NOT AND OR NEAR(a b) * ^ -x', "città"]
    db.executemany("INSERT INTO docs (body) VALUES (?)", [(b,) for b in bodies])
    db.execute("INSERT INTO docs_fts (docs_fts) VALUES ('rebuild')")
    try:
        query = match_query(text)
        hits = search(db, index="docs_fts", source="docs d", key="d.id", where="1",
                      params={}, text=text, limit=5)  # fmt: skip
    except InvalidData as exc:
        assert "\n" not in str(exc) and str(exc).startswith("TEXT: ")
        return
    assert query  # accepted by FTS5: the search above ran it
    for hit in hits:
        body = bodies[hit.key - 1]
        assert all(0 <= a < b <= len(body) for a, b in hit.spans)


def test_spans_refuse_a_text_that_holds_the_marks_itself():
    assert spans("a \x02b\x03 c") == ((2, 3),)
    assert spans("a \x02b c") == ()
    assert spans("a \x03b\x02 c") == ()


# --- what the actor may read ------------------------------------------------------------------


def test_search_finds_only_readable_chats_and_not_deleted_messages(run, people):
    send(run, GENERAL, "bilancio generale")
    send(run, ALFA, "bilancio di Alfa")
    send(run, BETA, "bilancio di Beta")
    gone = send(run, ALFA, "bilancio da cancellare")
    ok(run("delete", str(gone), "--yes"))
    edited = send(run, ALFA, "bozza vecchia")
    ok(run("edit", str(edited), "bilancio nuovo"))
    assert sorted(texts(run, "bilancio")) == [
        "bilancio di Alfa",
        "bilancio di Beta",
        "bilancio generale",
        "bilancio nuovo",
    ]
    assert texts(run, "vecchia") == [] and texts(run, "cancellare") == []
    assert sorted(texts(run, "bilancio", as_user=OPERATOR)) == [
        "bilancio di Alfa",
        "bilancio generale",
        "bilancio nuovo",
    ]
    assert sorted(texts(run, "bilancio", as_user=EXTERNAL)) == [
        "bilancio di Alfa",
        "bilancio nuovo",
    ]
    assert texts(run, "bilancio", as_user=HELPER) == ["bilancio generale"]


def test_show_history_on_and_off_through_show_and_search(run, people, db, clock):
    chats = ChatService(db, clock, actor(db, CREATOR))
    private = str(chats.add("Riservata", members=[DOER])["id"])
    send(run, private, "verbale prima degli inviti")
    chats.invite(private, [HELPER])  # without the history: from joining
    chats.invite(private, [WATCHER], show_history=True)
    send(run, private, "verbale dopo gli inviti")

    def shown(who: str) -> list[str]:
        return [m["text"] for m in data(run("show", private, "--json", as_user=who))]

    for who in (HELPER, WATCHER):
        assert "verbale dopo gli inviti" in shown(who)
    assert "verbale prima degli inviti" not in shown(HELPER)
    assert texts(run, "verbale", as_user=HELPER) == ["verbale dopo gli inviti"]
    assert "verbale prima degli inviti" in shown(WATCHER)
    assert sorted(texts(run, "verbale", as_user=WATCHER)) == [
        "verbale dopo gli inviti",
        "verbale prima degli inviti",
    ]
    assert texts(run, "verbale", as_user=OPERATOR) == []  # not a member at all


@pytest.mark.sqlite_only  # reads FTS5's shadow tables; PostgreSQL's vacuum is the server's
def test_optimizing_the_index_leaves_no_word_of_a_deleted_message(run, people, db):
    from sempi_cli.services.chat.search import optimize_index

    gone = send(run, GENERAL, "parolasegretissima da cancellare")
    send(run, GENERAL, "un messaggio che resta")
    ok(run("delete", str(gone), "--yes"))

    def index_bytes() -> bytes:
        return b"".join(r[0] for r in db.execute("SELECT block FROM chat_search_data"))

    assert b"parolasegretissima" in index_bytes()  # FTS5 keeps it until a merge
    optimize_index(db)
    assert b"parolasegretissima" not in index_bytes()
    assert texts(run, "resta") == ["un messaggio che resta"]


# --- filters ------------------------------------------------------------------------------------


def test_filters_by_chat_author_and_whole_days(run, people, clock):
    send(run, GENERAL, "scadenza IVA")  # 16/11
    clock.advance(timedelta(days=1))
    send(run, ALFA, "scadenza IVA di Alfa", as_user=OPERATOR)  # 17/11
    clock.advance(timedelta(days=1))
    send(run, GENERAL, "scadenza F24")  # 18/11
    assert texts(run, "scadenza", "--chat", "client:1") == ["scadenza IVA di Alfa"]
    assert texts(run, "scadenza", "--author", OPERATOR) == ["scadenza IVA di Alfa"]
    assert sorted(texts(run, "scadenza", "--from", "17/11/2026")) == [
        "scadenza F24",
        "scadenza IVA di Alfa",
    ]
    assert texts(run, "scadenza", "--from", "2026-11-17", "--to", "2026-11-17") == [
        "scadenza IVA di Alfa"
    ]
    assert len(found(run, "scadenza", "--limit", "2")) == 2
    assert_one_line_error(run("search", "x", "--author", "nobody@x.it"), 6, "--author")
    assert_one_line_error(
        run("search", "x", "--from", "18/11/2026", "--to", "17/11/2026"), 6, "--to"
    )
    assert_one_line_error(run("search", "x", "--chat", "999"), 3, "chat 999 not found")


# --- on a terminal --------------------------------------------------------------------------------


def test_matched_words_are_bold_on_a_terminal_only(run, people, monkeypatch):
    from sempi_cli.cli.chat import messages as cli_messages

    send(run, GENERAL, "La fattura è pronta")
    piped = ok(run("search", "fattura")).stdout
    assert "La fattura è pronta" in piped and "\x1b" not in piped

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    from sempi_cli.cli.terminal import guard_streams

    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    hit = found(run, "fattura")[0]
    undo = guard_streams("table")  # as the CLI runs: the guard on stdout
    try:
        assert cli_messages._bold_ok() is True
        cli_messages._print_hits([hit], bold=cli_messages._bold_ok())
    finally:
        undo()
    assert "La \x1b[1mfattura\x1b[0m è pronta" in terminal.getvalue()  # past the guard
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli_messages._bold_ok() is False


def test_a_long_message_is_cut_around_its_first_match():
    from sempi_cli.cli.chat.messages import EXCERPT, _excerpt

    text = "parola " * 100 + "fattura" + " altro" * 100
    start = text.index("fattura")
    cut, moved = _excerpt(text, [[start, start + 7]])
    assert len(cut) <= EXCERPT + 2
    assert cut[moved[0][0] : moved[0][1]] == "fattura"
    assert _excerpt("breve\nriga", [[0, 5]]) == ("breve riga", [[0, 5]])


def test_ranking_looks_at_the_newest_matches_only(run, people, monkeypatch):
    """Scoring every match of a common word costs more than the command: the best
    are chosen among the newest RANK_WINDOW matches the reader may see."""
    from sempi_cli.store import search as store_search

    old = send(run, GENERAL, "fattura fattura fattura fattura")  # the best match, but old
    newer = [send(run, GENERAL, f"fattura numero {n} del mese") for n in range(3)]
    assert [h["id"] for h in found(run, "fattura")][0] == old  # ranked first while in the window
    monkeypatch.setattr(store_search, "RANK_WINDOW", 3)
    assert sorted(h["id"] for h in found(run, "fattura")) == newer
    send(run, ALFA, "fattura riservata")  # newest, but not OUTSIDER's to see:
    # the window holds the newest matches the reader may see, not the newest of all
    assert sorted(h["id"] for h in found(run, "fattura", as_user=OUTSIDER)) == newer
