"""Each table has one owning package, and only it writes the table (DESIGN.md, "Layers").

Others, bulk paths included, call the owner's functions. The source is read with
``ast``: every string literal (implicitly concatenated, f-strings with ``{}`` where
a value goes, ``+`` of literals) is searched for INSERT / UPDATE / DELETE / REPLACE,
and every sqlite-utils write (``db["x"].insert(...)``, ``db.table("x").upsert(...)``)
and writable ``blobopen("x", ...)`` is found by its call. Docstrings are prose and
skipped. The migrations create the tables and are not looked at.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sempi_cli"
MIGRATIONS = PACKAGE / "store" / "migrations"

# table -> the package (services/<package>/) or shared module (services/<module>.py)
# that alone writes it. Lower in the dependency order than every package that needs
# the table written (docs/architecture.md): the others call its functions.
OWNERS = {
    # identity/
    "users": "identity",
    "sessions": "identity",
    "app_passwords": "identity",
    "auth_failures": "identity",
    "recovery_codes": "identity",
    # org/
    "firm": "org",
    "studios": "org",
    "work_group_members": "org",
    "invitations": "org",
    # clients/
    "clients": "clients",
    "client_profiles": "clients",
    # mail/, notify/
    "mail_outbox": "mail",
    "notifications": "notify",
    # tasks/
    "tasks": "tasks",
    "task_history": "tasks",
    "task_members": "tasks",
    "task_tags": "tasks",
    "task_comments": "tasks",
    "reminders": "tasks",
    # checklists/
    "checklists": "checklists",
    "checklist_items": "checklists",
    "checklist_item_members": "checklists",
    "item_attachments": "checklists",
    # templates/, timers/
    "task_templates": "templates",
    "time_entries": "timers",
    # documents/
    "doc_folders": "documents",
    "documents": "documents",
    # scheduler/
    "deadlines": "scheduler",
    "scheduler_runs": "scheduler",
    "fiscal_overrides": "scheduler",
    "fiscal_rule_templates": "scheduler",
    # chat/
    "chats": "chat",
    "chat_members": "chat",
    "chat_marks": "chat",
    "chat_messages": "chat",
    "chat_message_versions": "chat",
    "chat_search": "chat",
    "notification_prefs": "notify",
    # consent/
    "smart_options": "consent",
    "consent_requests": "consent",
    "consent_answers": "consent",
    # coupons/
    "coupon_packages": "coupons",
    "coupon_cancellations": "coupons",
    "coupon_accounts": "coupons",
    "coupon_licences": "coupons",
    # signing/
    "sign_templates": "signing",
    "sign_requests": "signing",
    "sign_signers": "signing",
    "sign_codes": "signing",
    "sign_events": "signing",
    "sign_on_status": "signing",
    "sign_seals": "signing",
    # onboarding/
    "client_modules": "onboarding",
    "client_delegations": "onboarding",
    # the shared modules under every domain
    "attachments": "content",  # the file store documents and checklist files share
    "audit_log": "audit",
    "events": "event_log",
    # automation/
    "automation_rules": "automation",
    "hook_cursor": "automation",
    "hook_deliveries": "automation",  # every domain records its events through event_log.record
    "settings": "settings",
}

# Tables no package writes: SQLite's own, the migrations' bookkeeping
# (sqlite-utils' Migrations, run by store/ when a store is opened; on PostgreSQL
# store/pg_store.py's sempi_store), and the
# shadow tables FTS5 keeps for chat_search (written by SQLite itself).
NOT_OWNED = {
    "sqlite_sequence", "_sqlite_migrations", "sempi_store",
    "chat_search_config", "chat_search_data", "chat_search_docsize", "chat_search_idx",
}  # fmt: skip

DYNAMIC = "{}"  # a table named by a value: the test cannot tell which; name it literally

# (file relative to sempi_cli/, table) writes allowed outside the owner. Keep it short,
# each with its reason. Empty: privacy/'s erasure calls the owners' functions
# (clients.erase_personal_fields, accounts.erase_personal_data, mail's, groups').
ALLOWLIST: dict[tuple[str, str], str] = {
    ("services/ledger.py", DYNAMIC): "the shared append-only ledger writes the table its caller"
    ' names; each `ledger.append(db, "table", ...)` counts as a write of that table by'
    " the calling file (below), so only the table's owner may call it",
    ("store/copy.py", DYNAMIC): "`db migrate-to` copies every table of a SQLite store, row"
    " for row, into a new PostgreSQL one: store/ making a store, as the migrations do",
    ("store/postgres.py", DYNAMIC): "sqlite3's blobopen on PostgreSQL writes the bytea"
    " column of the row its caller opened (the caller, the table's owner, named it)",
    ("store/pg_store.py", DYNAMIC): "a new PostgreSQL store is made with the rows the"
    " migrations write (the general chat, ...), copied from the SQLite schema they make:"
    " store/ making the store, as the migrations do",
}

SQL_WRITE = re.compile(
    r"\bINSERT\s+(?:OR\s+\w+\s+)?INTO\s+[\"`\[]?(?P<insert>\{\}|\w+)"
    r"|\bREPLACE\s+INTO\s+[\"`\[]?(?P<replace>\{\}|\w+)"
    r"|\bUPDATE\s+(?:OR\s+\w+\s+)?[\"`\[]?(?P<update>\{\}|\w+)[\"`\]]?(?:\s+(?:AS\s+)?\w+)?\s+SET\b"
    r"|\bDELETE\s+FROM\s+[\"`\[]?(?P<delete>\{\}|\w+)",
    re.IGNORECASE,
)
SQLITE_UTILS_WRITES = {
    "insert", "insert_all", "upsert", "upsert_all", "update", "delete", "delete_where", "lookup",
}  # fmt: skip


def owner_of(path: Path) -> str:
    """services/<package>/x.py -> package; services/<module>.py -> module; anything in
    cli/ -> "cli" (never an owner: the CLI does not write); else its path."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[0] == "services" and len(parts) >= 2:
        return parts[1]
    if parts[0] == "cli":
        return "cli"
    return "/".join(parts)


def _text(node: ast.AST) -> str | None:
    """The text of a string expression, ``{}`` where a value is interpolated."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else DYNAMIC for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        if left is not None or right is not None:
            return (left or DYNAMIC) + (right or DYNAMIC)
    return None


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _literal_table(node: ast.AST) -> str:
    text = _text(node)
    return text if text is not None and DYNAMIC not in text else DYNAMIC


def _call_writes(node: ast.Call) -> str | None:
    """The table a sqlite-utils write or a writable blobopen names, if the call is one."""
    func = node.func
    if not isinstance(func, ast.Attribute):
        return None
    if (
        func.attr == "append"
        and isinstance(func.value, ast.Name)
        and func.value.id == "ledger"
        and len(node.args) >= 2
    ):  # ledger.append(db, "table", content): the caller writes that table
        return _literal_table(node.args[1])
    if func.attr == "blobopen" and node.args:
        readonly = next((k.value for k in node.keywords if k.arg == "readonly"), None)
        if not (isinstance(readonly, ast.Constant) and readonly.value is True):
            return _literal_table(node.args[0])
        return None
    if func.attr not in SQLITE_UTILS_WRITES:
        return None
    target = func.value
    if isinstance(target, ast.Subscript):  # db["table"].insert(...)
        # Only a literal key: results[i].update(...) is a dict's, not a table's.
        text = _text(target.slice)
        return None if text is None else _literal_table(target.slice)
    if (
        isinstance(target, ast.Call)
        and isinstance(target.func, ast.Attribute)
        and target.func.attr == "table"
        and target.args
    ):  # db.table("table").insert(...)
        return _literal_table(target.args[0])
    return None


def writes(source: str, known: set[str]) -> set[str]:
    """The tables a module's source writes; DYNAMIC for a table it names by a value."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            table = _call_writes(node)
            if table is not None:
                found.add(table)
        if id(node) in skip or not isinstance(node, (ast.Constant, ast.JoinedStr, ast.BinOp)):
            continue
        text = _text(node)
        if text is None:
            continue
        for match in SQL_WRITE.finditer(text):
            table = next(v for v in match.groupdict().values() if v is not None)
            # A word that is no table is prose ("delete from the list"), not SQL.
            if table == DYNAMIC or table.lower() in known:
                found.add(table if table == DYNAMIC else table.lower())
    return found


def sources() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if MIGRATIONS not in p.parents and p.is_file()]


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every table a fresh store has once the migrations ran."""
    from sempi_cli.store import open_store

    conn = open_store(tmp_path_factory.mktemp("owners") / "sempi.db", create=True)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def writers(known: set[str]) -> dict[str, set[tuple[str, str]]]:
    """table -> {(file, package)} of every file that writes it."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in sources():
        for table in writes(path.read_text(), known):
            found[table].add((str(path.relative_to(PACKAGE)), owner_of(path)))
    return found


def test_every_table_has_an_owner(tables: set[str]) -> None:
    """A new table gets its owner here, in the same change as its migration."""
    assert sorted(tables - NOT_OWNED - OWNERS.keys()) == [], "tables without an owner"
    assert sorted(OWNERS.keys() - tables) == [], "owners of tables no migration creates"


def test_only_the_owner_writes_a_table(tables: set[str]) -> None:
    wrong = sorted(
        (file, table, package)
        for table, files in writers(tables).items()
        for file, package in files
        if package != OWNERS.get(table) and (file, table) not in ALLOWLIST
    )
    assert wrong == [], "\n".join(
        ["tables written outside their owner (file, table, its package; owner):"]
        + [
            f"  {file}: {table} (a table named by a value: name it literally)"
            if table == DYNAMIC
            else f"  {file}: {table} (package {package!r}; owner {OWNERS.get(table)!r})"
            for file, table, package in wrong
        ]
    )


def test_the_allowlist_holds_only_live_exceptions(tables: set[str]) -> None:
    """An exception that no longer happens goes from the list."""
    found = {(file, table) for table, files in writers(tables).items() for file, _ in files}
    assert sorted(ALLOWLIST.keys() - found) == []


def test_the_search_finds_what_it_must() -> None:
    """The reader itself: multi-line, f-string, concatenated and sqlite-utils writes."""
    source = '''
def f(db, table, sets):
    """Delete from tasks whatever: a docstring is prose."""
    db.execute("INSERT INTO tasks (id)"
               " VALUES (?) ON CONFLICT (id) DO UPDATE SET id = excluded.id")
    db.execute(f"UPDATE clients SET {sets}, updated_at = ? WHERE id = ?")
    db.execute("DELETE FROM " + "users WHERE id = ?")
    db.execute(f"DELETE FROM {table} WHERE id = ?")
    db.execute("INSERT OR REPLACE INTO firm VALUES (1)")
    db["studios"].upsert({"id": 1}, pk="id")
    db.table("reminders").insert_all([])
    db.blobopen("attachments", "content", 1)
    db.blobopen("documents", "content", 1, readonly=True)
    ledger.append(db, "consent_answers", {"answer": "yes"})
    db.execute("SELECT id FROM checklists")
    raise ValueError("cannot delete from the list")
'''
    assert writes(source, set(OWNERS)) == {
        "tasks", "clients", "users", DYNAMIC, "firm", "studios", "reminders", "attachments",
        "consent_answers",
    }  # fmt: skip
