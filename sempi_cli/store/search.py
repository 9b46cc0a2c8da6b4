"""Full-text search: the one place that knows the engine (SQLite's FTS5 today).

A service hands over what a person typed and a filter over the rows it may show;
this module turns the text into an FTS5 query that can never be a syntax error,
ranks the matches (bm25) and says where the matched words are in each text. On
PostgreSQL the same function would build a ``tsquery``; the services would not
change.

What a person may type (docs/chat.md): words (every one must appear,
accents and case ignored), ``"a phrase"`` in double quotes, a prefix ``fattur*``
(also after a phrase), and ``OR`` in capitals between two of those. Nothing else
is syntax: ``AND``, ``NOT``, ``NEAR``, ``:``, ``^``, ``(`` and ``-`` are searched
as text (every term is quoted for FTS5), and control characters are spaces.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext
from sempi_cli.store.transaction import engine

MAX_QUERY = 1000  # characters a person types into a search; past it, a paste gone wrong
# What highlight() puts around a matched word: control characters, which a message
# never holds (services refuse them), and the spans are checked against the text.
_OPEN, _CLOSE = "\x02", "\x03"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
# A phrase in quotes, or a run of anything else up to a space or a quote; either
# may end in asterisks (a prefix).
_ITEM = re.compile(r'"(?P<phrase>[^"]*)"(?P<pstar>\**)|(?P<word>[^\s"]+)')


@dataclass(frozen=True)
class Found:
    """One match: the row's key and where the matched words are in its text
    (character offsets, end exclusive)."""

    key: int
    spans: tuple[tuple[int, int], ...]


@contextmanager
def indexed_writes(db: sqlite3.Connection) -> Iterator[None]:
    """Around every write of a table an FTS5 index follows by triggers (m016:
    ``chat_messages`` → ``chat_search``): the store runs with ``trusted_schema=OFF``
    (store/constants.py), under which SQLite refuses a trigger that writes a
    virtual table FTS5 does not declare innocuous ("unsafe use of virtual table").
    The schema is trusted for the statements inside only, then no longer; a
    writer that forgets this fails at once rather than leaving the index stale.
    The threat model is unchanged: whoever could plant a trigger in the file
    could already change any row (docs/security.md)."""
    if engine(db) == "postgresql":  # no virtual table, no such pragma
        yield
        return
    before = int(db.execute("PRAGMA trusted_schema").fetchone()[0])
    db.execute("PRAGMA trusted_schema = ON")
    try:
        yield
    finally:
        db.execute(f"PRAGMA trusted_schema = {'ON' if before else 'OFF'}")


def _searchable(term: str) -> bool:
    """Whether the tokenizer (unicode61) makes at least one token of it: a letter
    or a digit. A term of punctuation alone would match nothing, silently."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in term)


def _quoted(term: str, prefix: bool) -> str:
    return '"' + term.replace('"', '""') + '"' + ("*" if prefix else "")


def match_query(text: str, field: str = "TEXT") -> str:
    """The FTS5 query for what a person typed, or InvalidData naming ``field``
    (never a query FTS5 would refuse)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidData(field, _("is not valid UTF-8 text")) from None
    if len(text) > MAX_QUERY:
        raise InvalidData(
            field,
            ngettext(
                "longer than {limit} characters ({length})",
                "longer than {limit} characters ({length})",
                MAX_QUERY,
            ).format(limit=MAX_QUERY, length=len(text)),
        )
    # Control characters (a NUL ends FTS5's string early) separate words, as spaces do.
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    if text.count('"') % 2:
        raise InvalidData(
            field,
            _("a phrase has no closing double quote"),
            _("e.g. {example}").format(example='"fattura elettronica"'),
        )
    items: list[str | None] = []  # None stands for OR
    for match in _ITEM.finditer(text):
        if match["phrase"] is not None:
            term, prefix = match["phrase"], bool(match["pstar"])
        else:
            word = match["word"]
            if word == "OR":
                items.append(None)
                continue
            term, prefix = word.rstrip("*"), word.endswith("*")
        if _searchable(term):
            items.append(_quoted(term, prefix))
    parts: list[str] = []
    for i, item in enumerate(items):
        if item is not None:
            parts.append(item)
        elif 0 < i < len(items) - 1 and items[i - 1] is not None and items[i + 1] is not None:
            parts.append("OR")
        # An OR with no term on one side is a word nobody searches for ("or"): dropped.
    if not parts:
        raise InvalidData(
            field, _("nothing to search for"), _("give a word, a prefix* or a phrase")
        )
    return " ".join(parts)


RANK_WINDOW = 5000  # the newest matches a search ranks (see search())


def search(
    db: sqlite3.Connection,
    *,
    index: str,
    source: str,
    key: str,
    where: str,
    params: Mapping[str, object],
    text: str,
    limit: int,
    field: str = "TEXT",
) -> list[Found]:
    """The best ``limit`` rows of ``source`` (a FROM clause; ``key`` is its rowid in
    the index) that match ``text`` and ``where``, best first among the newest
    RANK_WINDOW that match (bm25, then newest), with the matched words' places. ``index`` is an FTS5 table over one column; the caller's ``where`` is
    its access rule, so nothing it may not show is ever ranked or highlighted."""
    if not _IDENTIFIER.fullmatch(index):
        raise ValueError(f"not an index name: {index!r}")
    if limit < 1:
        raise InvalidData("--limit", _("must be at least 1"))
    query = match_query(text, field)
    args = {**params, "fts_query": query, "fts_limit": limit, "fts_window": RANK_WINDOW - 1}
    matching = (
        f"FROM {index}, {source} WHERE {index} MATCH :fts_query"
        f" AND {key} = {index}.rowid AND ({where})"
    )
    try:
        # Ranked among the newest RANK_WINDOW matches the reader may see: scoring
        # every match of a common word or a short prefix would cost more than the
        # rest of the command. The lowest rowid of that window is found in rowid
        # order (FTS5 walks it without scoring), then bounds the ranked query.
        low = db.execute(
            f"SELECT {index}.rowid {matching} ORDER BY {index}.rowid DESC"
            " LIMIT 1 OFFSET :fts_window",
            args,
        ).fetchone()
        keys = [
            int(r[0])
            for r in db.execute(
                f"SELECT {index}.rowid {matching} AND {index}.rowid >= :fts_low"
                f" ORDER BY bm25({index}), {index}.rowid DESC LIMIT :fts_limit",
                {**args, "fts_low": low[0] if low is not None else 0},
            )
        ]
        # Highlighting only the rows shown, within their rowid range; `+rowid` keeps
        # FTS5 from expanding a prefix query once per row of the IN list.
        marks = ", ".join("?" * len(keys))
        marked = (
            {
                int(r[0]): r[1]
                for r in db.execute(
                    f"SELECT rowid, highlight({index}, 0, ?, ?) FROM {index}"
                    f" WHERE {index} MATCH ? AND rowid >= ? AND +rowid IN ({marks})",
                    (_OPEN, _CLOSE, query, min(keys), *keys),
                )
            }
            if keys
            else {}
        )
    except sqlite3.OperationalError as exc:
        if "fts5" in str(exc) or "unterminated" in str(exc):  # never expected: a last guard
            raise InvalidData(
                field, _("cannot search for {text}").format(text=repr(text))
            ) from None
        raise
    return [Found(k, spans(marked.get(k) or "")) for k in keys]


def spans(marked: str) -> tuple[tuple[int, int], ...]:
    """Where the marked words are in the text without its marks."""
    found: list[tuple[int, int]] = []
    plain = 0
    start: int | None = None
    for ch in marked:
        if ch == _OPEN and start is None:
            start = plain
        elif ch == _CLOSE and start is not None:
            found.append((start, plain))
            start = None
        elif ch in (_OPEN, _CLOSE):
            return ()  # a text holding the marks (no service stores one): no highlight
        else:
            plain += 1
    return tuple(found) if start is None else ()
