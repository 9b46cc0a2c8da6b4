"""The PostgreSQL schema, read off the SQLite one (issue 20).

No PostgreSQL store existed before schema 24, so a new one is not made by
replaying the SQLite migrations, whose table rebuilds (create, copy, drop,
rename) PostgreSQL's foreign keys refuse: it is made at once at the latest
schema, translated from what those migrations leave in ``sqlite_master`` (one
schema, written once, for both engines). A later migration carries its own
PostgreSQL step where its SQL differs (store/migrations).

The translation knows the few SQLite forms the schema uses:

- ``INTEGER PRIMARY KEY [AUTOINCREMENT]`` is an identity column (ids never
  reused), ``INTEGER`` is ``BIGINT`` (SQLite's integers are 64-bit), ``BLOB``
  is ``BYTEA``, ``REAL`` is ``DOUBLE PRECISION``; ``WITHOUT ROWID`` goes;
- foreign keys are added once every table exists (the tables refer to each
  other both ways);
- ``COLLATE NOCASE`` names a case-insensitive ICU collation made here, so the
  same words mean the same thing on both engines;
- ``x GLOB 'pattern'`` is a regular expression; ``IS NOT`` between values is
  ``IS DISTINCT FROM``; an index on an expression puts it in parentheses;
- a trigger ``[WHEN cond] BEGIN SELECT RAISE(ABORT, 'msg'); END`` is a plpgsql
  function that raises the same message (``RAISE(IGNORE)``: the row is skipped);
- a full-text table (FTS5, over one column of another table) is a GIN index of
  that column's unaccented words, named as the table; its shadow tables and the
  triggers that feed it go (PostgreSQL keeps its index itself; store/search.py).
"""

from __future__ import annotations

import re
import sqlite3

# The collation and SQLite's functions the translated schema (and the services'
# SQL) use, made before it: the SQL stays one text for both engines. Each is
# PARALLEL SAFE (pure): a query that names one may still be run by several workers.
PRELUDE = (
    # Full-text search (store/search.py) indexes words without their accents, as
    # FTS5's remove_diacritics does: unaccent (a trusted extension, which the
    # database's owner may add) in an immutable function an index may use.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE OR REPLACE FUNCTION sempi_unaccent(text) RETURNS text"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT"
    " AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$",
    "CREATE COLLATION IF NOT EXISTS nocase"
    " (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
    # SQLite's unixepoch(): seconds since 1970 of an ISO-8601 timestamp.
    "CREATE OR REPLACE FUNCTION unixepoch(stamp text) RETURNS bigint"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT"
    " AS $$ SELECT extract(epoch FROM stamp::timestamptz)::bigint $$",
    # SQLite's zeroblob(n): n zero bytes, a content's place before it is streamed in.
    "CREATE OR REPLACE FUNCTION zeroblob(size bigint) RETURNS bytea"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$ SELECT decode(repeat('00', size::integer), 'hex') $$",
    "CREATE OR REPLACE FUNCTION instr(haystack text, needle text) RETURNS integer"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$ SELECT strpos(haystack, needle) $$",
    "CREATE OR REPLACE FUNCTION ifnull(value anycompatible, otherwise anycompatible)"
    " RETURNS anycompatible LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(value, otherwise) $$",
    # An id written by hand (the bulk writers take max(id) + 1 under the write lock,
    # as SQLite gives a new row) moves the identity's sequence past it, so the next
    # row the engine numbers does not collide: SQLite's rowid rule, on both engines.
    # It reads the statement's own rows, not the table: a serializable write
    # (store/postgres.py's scoped one) that adds a row then conflicts with no other.
    """CREATE OR REPLACE FUNCTION sempi_follow_ids() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sequence regclass := pg_get_serial_sequence(TG_TABLE_NAME, TG_ARGV[0])::regclass;
    top bigint;
BEGIN
    EXECUTE format('SELECT max(%I) FROM inserted', TG_ARGV[0]) INTO top;
    IF top > coalesce(pg_sequence_last_value(sequence), 0) THEN
        PERFORM setval(sequence, top);
    END IF;
    RETURN NULL;
END $$""",
)

_CREATE_TABLE = re.compile(r'CREATE TABLE\s+["\']?(\w+)["\']?\s*\(', re.IGNORECASE)
_COMMENT_OR_TEXT = re.compile(r"'(?:[^']|'')*'|--[^\n]*", re.DOTALL)
_REFERENCES = re.compile(
    r"\bREFERENCES\s+(\w+)\s*(\([^)]*\))?((?:\s+ON\s+(?:DELETE|UPDATE)\s+"
    r"(?:SET\s+NULL|SET\s+DEFAULT|CASCADE|RESTRICT|NO\s+ACTION))*)",
    re.IGNORECASE,
)
_TYPES = {"INTEGER": "BIGINT", "BLOB": "BYTEA", "REAL": "DOUBLE PRECISION", "TEXT": "TEXT"}
_GLOB = re.compile(r"\bGLOB\s+'((?:[^']|'')*)'", re.IGNORECASE)
_IS_NOT_VALUE = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)
_TRIGGER = re.compile(
    r"CREATE\s+TRIGGER\s+(\w+)\s+(BEFORE|AFTER)\s+(INSERT|UPDATE|DELETE)"
    r"(?:\s+OF\s+([\w\s,]+?))?\s+ON\s+(\w+)(?:\s+FOR\s+EACH\s+ROW)?"
    r"(?:\s+WHEN\s+(.*?))?\s+BEGIN\s+SELECT\s+RAISE\s*\(\s*(ABORT|IGNORE)\s*(?:,\s*('(?:[^']|'')*'))?\s*\)\s*;\s*END",
    re.IGNORECASE | re.DOTALL,
)
_INDEX = re.compile(
    r"(CREATE\s+(?:UNIQUE\s+)?INDEX\s+\S+\s+ON\s+\S+?\s*)\((.*?)\)(\s+WHERE\s+.*)?$",
    re.IGNORECASE | re.DOTALL,
)
_PLAIN_TERM = re.compile(r'^"?\w+"?(\s+COLLATE\s+\w+)?(\s+(ASC|DESC))?$', re.IGNORECASE)


def statements(sqlite_conn: sqlite3.Connection) -> list[str]:
    """The PostgreSQL statements that make the schema ``sqlite_conn`` has."""
    rows = sqlite_conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master"
        " WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    ).fetchall()
    virtual = [name for kind, name, _, sql in rows if "VIRTUAL TABLE" in sql.upper()]
    searched = [s for _, name, _, sql in rows if name in virtual for s in _full_text(sql)]

    def skipped(name: str, table: str, sql: str) -> bool:
        if name.startswith("_sqlite_") or table.startswith("_sqlite_"):
            return True  # sqlite-utils' record of migrations: the store's own metadata says
        return any(
            name == v or name.startswith(f"{v}_") or table == v or re.search(rf"\b{v}\b", sql)
            for v in virtual
        )

    tables: list[str] = []
    follow: list[str] = []
    keys: list[str] = []
    others: list[str] = []
    for kind, name, table, sql in rows:
        if skipped(name, table, sql):
            continue
        sql = _strip_comments(sql)
        if kind == "table":
            created, foreign = _table(sql)
            tables.append(created)
            keys.extend(foreign)
            for column in re.findall(r"^\s+(\w+) BYTEA", created, re.M):
                # Uncompressed, out of line: a slice is read without the whole value
                # (the blob reads of store/postgres.py).
                follow.append(f"ALTER TABLE {name} ALTER {column} SET STORAGE EXTERNAL")
            identity = re.search(
                r"^\s+(\w+) BIGINT GENERATED BY DEFAULT AS IDENTITY", created, re.M
            )
            if identity:
                follow.append(
                    f"CREATE TRIGGER {name}_follow_ids AFTER INSERT ON {name}"
                    " REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT"
                    f" EXECUTE FUNCTION sempi_follow_ids('{identity.group(1)}')"
                )
        elif kind == "index":
            others.append(_index(sql))
        elif kind == "trigger":
            others.extend(_trigger(sql))
        else:
            raise ValueError(f"no PostgreSQL form for the {kind} {name}")
    return [*PRELUDE, *tables, *keys, *follow, *others, *searched]


_FTS5 = re.compile(r"CREATE\s+VIRTUAL\s+TABLE\s+(\w+)\s+USING\s+fts5\s*\((.*)\)\s*$", re.I | re.S)


def _full_text(sql: str) -> list[str]:
    """An FTS5 table over one column of another table (``content=``) as a column of
    that table holding the column's unaccented words (a stored tsvector, kept by
    the server) and its GIN index, both named as the FTS5 table. Stored, not an
    index expression: a search ranks and filters thousands of rows by their words,
    which an expression would compute again for each (bench/postgres.py)."""
    found = _FTS5.match(sql.strip())
    if found is None:
        raise ValueError(f"no PostgreSQL form for {sql[:60]!r}")
    name, arguments = found.groups()
    columns, options = [], {}
    for part in _split(arguments):
        key, equals, value = part.partition("=")
        if equals:
            options[key.strip().lower()] = value.strip().strip("'")
        else:
            columns.append(part.strip())
    if len(columns) != 1 or "content" not in options:
        raise ValueError(f"no PostgreSQL form for the full-text table {name}")
    table = options["content"]
    return [
        f"ALTER TABLE {table} ADD COLUMN {name} tsvector GENERATED ALWAYS AS"
        f" (to_tsvector('simple', sempi_unaccent({columns[0]}))) STORED",
        f"CREATE INDEX {name} ON {table} USING gin ({name})",
    ]


def seed_tables(sqlite_conn: sqlite3.Connection) -> list[str]:
    """The tables a new store is made with rows in (the migrations write some: the
    general chat, the default settings), to be copied with the schema."""
    names = [
        row[0]
        for row in sqlite_conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE '%VIRTUAL%'"
            " AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_sqlite\\_%' ESCAPE '\\'"
            " ORDER BY rowid"
        )
    ]
    virtual = [
        row[0]
        for row in sqlite_conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%VIRTUAL%'"
        )
    ]
    return [
        name
        for name in names
        if not any(name.startswith(f"{v}_") for v in virtual)
        and sqlite_conn.execute(f"SELECT EXISTS (SELECT 1 FROM {name})").fetchone()[0]
    ]


def _strip_comments(sql: str) -> str:
    return _COMMENT_OR_TEXT.sub(lambda m: m.group(0) if m.group(0)[0] == "'" else "", sql)


def _split(body: str) -> list[str]:
    """``body``'s parts at the commas outside parentheses and quoted text."""
    parts, depth, start, quoted = [], 0, 0, False
    for at, char in enumerate(body):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(body[start:at].strip())
            start = at + 1
    parts.append(body[start:].strip())
    return [part for part in parts if part]


def _closing(sql: str, opening: int) -> int:
    """Where the parenthesis opened at ``opening`` closes."""
    depth, quoted = 0, False
    for at in range(opening, len(sql)):
        char = sql[at]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return at
    raise ValueError(f"unbalanced parentheses in {sql[:60]!r}")


def _expression(sql: str) -> str:
    """A CHECK or WHEN expression in PostgreSQL's words."""
    sql = _GLOB.sub(lambda m: f"~ '{_glob_regex(m.group(1))}'", sql)
    return _IS_NOT_VALUE.sub("IS DISTINCT FROM ", sql)


def _glob_regex(pattern: str) -> str:
    """A GLOB pattern (``*``, ``?``, ``[...]``) as an anchored regular expression."""
    out, at = ["^"], 0
    while at < len(pattern):
        char = pattern[at]
        if char == "[":
            end = pattern.index("]", at + 1)
            out.append(pattern[at : end + 1])
            at = end + 1
            continue
        out.append({"*": ".*", "?": "."}.get(char, re.escape(char)))
        at += 1
    return "".join(out) + "$"


def _table(sql: str) -> tuple[str, list[str]]:
    """The CREATE TABLE statement, and the ALTER TABLEs adding its foreign keys."""
    found = _CREATE_TABLE.match(sql.strip())
    if found is None:
        raise ValueError(f"not a CREATE TABLE: {sql[:60]!r}")
    table = found.group(1)
    sql = sql.strip()
    opening = found.end() - 1
    closing = _closing(sql, opening)
    columns, foreign = [], []
    for part in _split(sql[opening + 1 : closing]):
        words = part.split(None, 2)
        first = words[0].upper()
        if first == "FOREIGN":
            foreign.append(f"ALTER TABLE {table} ADD {part}")
            continue
        if first in ("CHECK", "PRIMARY", "UNIQUE", "CONSTRAINT"):
            columns.append(_expression(part))
            continue
        column = words[0]
        for ref in _REFERENCES.finditer(part):
            target = ref.group(2) or ""
            foreign.append(
                f"ALTER TABLE {table} ADD FOREIGN KEY ({column})"
                f" REFERENCES {ref.group(1)}{target}{ref.group(3) or ''}"
            )
        part = _REFERENCES.sub("", part)
        columns.append(_column(column, part[len(column) :].strip()))
    return f"CREATE TABLE {table} (\n    " + ",\n    ".join(columns) + "\n)", foreign


def _column(name: str, rest: str) -> str:
    declared = rest.split(None, 1)
    kind = declared[0].upper() if declared else ""
    if kind not in _TYPES:  # no type: SQLite's "any"; text is what such columns hold
        declared = ["TEXT", rest]
        kind = "TEXT"
    tail = declared[1] if len(declared) > 1 else ""
    if kind == "INTEGER" and re.match(r"PRIMARY\s+KEY\b", tail, re.IGNORECASE):
        tail = re.sub(r"\s+AUTOINCREMENT\b", "", tail, flags=re.IGNORECASE)
        return f"{name} BIGINT GENERATED BY DEFAULT AS IDENTITY {_expression(tail)}".rstrip()
    return f"{name} {_TYPES[kind]} {_expression(tail)}".rstrip()


def _index(sql: str) -> str:
    found = _INDEX.match(sql.strip())
    if found is None:
        raise ValueError(f"not a CREATE INDEX: {sql[:60]!r}")
    head, terms, where = found.groups()
    shown = [term if _PLAIN_TERM.match(term) else f"({term})" for term in _split(terms)]
    return f"{head}({', '.join(shown)}){_expression(where or '')}"


def _trigger(sql: str) -> list[str]:
    """A SQLite trigger that refuses (or skips) a row, as a plpgsql function and trigger."""
    found = _TRIGGER.match(sql.strip())
    if found is None:
        raise ValueError(f"no PostgreSQL form for the trigger {sql[:60]!r}")
    name, when, event, columns, table, condition, action, message = found.groups()
    row = "OLD" if event.upper() == "DELETE" else "NEW"
    refuse = (
        "RETURN NULL;"
        if action.upper() == "IGNORE"
        else f"RAISE EXCEPTION USING MESSAGE = {message}, ERRCODE = 'integrity_constraint_violation';"
    )
    body = f"IF {_expression(condition)} THEN {refuse} END IF;" if condition else refuse
    of = f" OF {columns.strip()}" if columns else ""
    return [
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql"
        f" AS $$ BEGIN {body} RETURN {row}; END $$",
        f"CREATE TRIGGER {name} {when} {event}{of} ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {name}()",
    ]
