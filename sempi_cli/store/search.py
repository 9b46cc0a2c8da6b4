"""Full-text search: the one place that knows the engine.

A service hands over what a person typed and a filter over the rows it may show;
this module turns the text into a query that can never be a syntax error (FTS5's
on SQLite; a ``tsquery`` over an index of unaccented words on PostgreSQL), ranks
the matches (bm25; ts_rank) and says where the matched words are in each text.

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


def _terms(text: str, field: str = "TEXT") -> list[tuple[str, bool] | None]:
    """What a person typed as its terms, (text, prefix) each, with None for OR; or
    InvalidData naming ``field``."""
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
    items: list[tuple[str, bool] | None] = []  # None stands for OR
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
            items.append((term, prefix))
    terms: list[tuple[str, bool] | None] = []
    for i, item in enumerate(items):
        if item is not None:
            terms.append(item)
        elif 0 < i < len(items) - 1 and items[i - 1] is not None and items[i + 1] is not None:
            terms.append(None)
        # An OR with no term on one side is a word nobody searches for ("or"): dropped.
    if not terms:
        raise InvalidData(
            field, _("nothing to search for"), _("give a word, a prefix* or a phrase")
        )
    return terms


def match_query(text: str, field: str = "TEXT") -> str:
    """The FTS5 query for what a person typed, or InvalidData naming ``field``
    (never a query FTS5 would refuse)."""
    return " ".join("OR" if term is None else _quoted(*term) for term in _terms(text, field))


_WORD = re.compile(r"\w+")


def _tokens(text: str) -> list[str]:
    """The words of ``text`` as PostgreSQL's index holds them (and as FTS5's
    unicode61 tokenizer with remove_diacritics reads them): letters and digits,
    lower case, without accents."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return [word.lower() for word in _WORD.findall(plain)]


def ts_query(text: str, field: str = "TEXT") -> str:
    """What a person typed as PostgreSQL's tsquery: words ANDed, a phrase's words
    in a row (<->), a prefix :*, OR as |; every word quoted."""
    parts: list[str] = []
    for term in _terms(text, field):
        if term is None:
            parts.append("|")
            continue
        words, prefix = _tokens(term[0]), term[1]
        quoted = [f"'{word}'" for word in words]
        if prefix:
            quoted[-1] += ":*"
        if parts and parts[-1] != "|":
            parts.append("&")
        parts.append("(" + " <-> ".join(quoted) + ")")
    return " ".join(parts)


def _placed(text: str, query: str) -> tuple[tuple[int, int], ...]:
    """Where the words of ``query`` (what a person typed) are in ``text``, as FTS5's
    highlight places them: PostgreSQL's ts_headline gives no offsets."""
    words = [
        (tokens[0], m.start(), m.end())
        for m in _WORD.finditer(text)
        if (tokens := _tokens(m.group(0)))
    ]
    found: set[tuple[int, int]] = set()
    for term in _terms(query):
        if term is None:
            continue
        wanted, prefix = _tokens(term[0]), term[1]
        for i in range(len(words) - len(wanted) + 1):
            window = words[i : i + len(wanted)]
            head = all(w[0] == t for w, t in zip(window[:-1], wanted[:-1], strict=True))
            last = window[-1][0]
            if head and (last.startswith(wanted[-1]) if prefix else last == wanted[-1]):
                found.update((w[1], w[2]) for w in window)
    return tuple(sorted(found))


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
    RANK_WINDOW that match (bm25, then newest), with the matched words' places.
    ``index`` is an FTS5 table over one column (on PostgreSQL, the source's column
    of its words); the caller's ``where`` is its access rule, so nothing it may
    not show is ever ranked or highlighted."""
    if not _IDENTIFIER.fullmatch(index):
        raise ValueError(f"not an index name: {index!r}")
    if limit < 1:
        raise InvalidData("--limit", _("must be at least 1"))
    if engine(db) == "postgresql":
        return _search_postgresql(db, index, source, key, where, params, text, limit, field)
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


def _search_postgresql(
    db: sqlite3.Connection,
    index: str,
    source: str,
    key: str,
    where: str,
    params: Mapping[str, object],
    text: str,
    limit: int,
    field: str,
) -> list[Found]:
    """search() on PostgreSQL: the words column ``index`` of the source table and
    its index (store/pg_schema.py makes them where SQLite has the FTS5 table),
    ranked by ts_rank among the newest RANK_WINDOW matches, then the words placed
    in Python in the column they are of."""
    alias = source.split()[-1]
    column = f"{alias}.{_indexed_column(db, index)}"
    document = f"{alias}.{index}"
    args = {**params, "ts_query": ts_query(text, field), "ts_limit": limit,
            "ts_window": RANK_WINDOW - 1}  # fmt: skip
    matching = f"FROM {source} WHERE {document} @@ to_tsquery('simple', :ts_query) AND ({where})"
    low = db.execute(
        f"SELECT {key} {matching} ORDER BY {key} DESC LIMIT 1 OFFSET :ts_window", args
    ).fetchone()
    rows = db.execute(
        f"SELECT {key}, {column} {matching} AND {key} >= :ts_low"
        f" ORDER BY ts_rank({document}, to_tsquery('simple', :ts_query)) DESC, {key} DESC"
        " LIMIT :ts_limit",
        {**args, "ts_low": low[0] if low is not None else 0},
    ).fetchall()
    return [Found(int(r[0]), _placed(r[1], text)) for r in rows]


_COLUMNS: dict[str, str] = {}


def _indexed_column(db: sqlite3.Connection, index: str) -> str:
    """The column whose words PostgreSQL's column ``index`` holds (read once)."""
    if index not in _COLUMNS:
        found = db.execute(
            "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a"
            " ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
            " WHERE a.attname = ? AND a.attgenerated = 's'",
            (index,),
        ).fetchone()
        column = re.search(r"sempi_unaccent\((\w+)\)", found[0]) if found else None
        if column is None:
            raise ValueError(f"no full-text index {index!r}")
        _COLUMNS[index] = column.group(1)
    return _COLUMNS[index]


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
