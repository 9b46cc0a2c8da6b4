"""Fuzz over the whole command tree: every command, random options and arguments,
run as different users against a populated store. Whatever comes in, sempi answers
with a documented exit code (docs/exit-codes.md), never a traceback nor an
"internal error"; a failure says so in one `Error:` line, the last one on stderr;
and no command waits for ever (each run is bounded by a timeout).

The commands come from sempi_cli.docgen.walk (the walker behind docs/cli.md, which
loads the lazy groups as the command line does), so a new command is fuzzed as soon
as it exists. The store is built once per module through the CLI itself, and each
example runs on a fresh copy of it, in a fresh folder of input files (a FIFO, an
empty file, a tree to import, a name with odd characters...), so destructive
commands are fine.

Examples: SEMPI_FUZZ_EXAMPLES (default DEFAULT_EXAMPLES), e.g.
    SEMPI_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/test_fuzz_cli.py -x
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import socket
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, NOW, Cli, piva

DEFAULT_EXAMPLES = 200
EXAMPLES = int(os.environ.get("SEMPI_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
# Seconds one command may take before it counts as hung (the longest honest run here,
# a scheduler run over three years, takes a few seconds on a loaded machine).
TIMEOUT = float(os.environ.get("SEMPI_FUZZ_TIMEOUT", 30))

# Commands that cannot be fuzzed in-process, with the reason. Keep it short: a
# command that prompts must refuse without a terminal, and that is fuzzed too.
EXCLUDED: dict[str, str] = {
    # "sempi <group> <verb>": "why",
    "sempi chat follow": "follows the store until a signal, which a thread cannot get: a"
    " real process follows and stops (tests/test_chat_processes.py)",
    "sempi events tail": "follows the store until a signal, which a thread cannot get: a"
    " real process follows and stops (tests/test_events_core.py)",
}

DOCUMENTED_EXIT_CODES = {0, *range(2, 13), 130, 141}

# --- the people --------------------------------------------------------------------

CREATOR, DOER = "creator@sempi.test", "doer@sempi.test"
SADMIN, OPERATOR, OTHER_SADMIN = "sadmin@rossi.test", "op@rossi.test", "sadmin@verdi.test"
EXTERNAL, INVITEE = "ext@client.test", "invitee@client.test"  # the invitee has no password
PASSWORDS = {ADMIN_EMAIL: ADMIN_PASSWORD} | {
    email: f"pw-{email}-for-fuzz"
    for email in (CREATOR, DOER, SADMIN, OPERATOR, OTHER_SADMIN, EXTERNAL)
}
# Who runs a command, as the firm would: mostly people who can do things. None is
# whoever the session file says (the admin logged in with `sempi login` at build time).
ACTORS = [ADMIN_EMAIL, ADMIN_EMAIL, None, CREATOR, DOER, SADMIN, OPERATOR, EXTERNAL, INVITEE]
# Standard input: nothing (nothing waits on it), a blank line, a wrong password; the
# test adds the user's right password.
STDIN = ["", "", "", "\n", "not-the-password\n"]


# --- the store, built once through the CLI ---------------------------------------------


def _build(cli: Cli, folder: Path) -> None:
    """A firm with something of everything: practices and their people, clients, an
    external user, tasks with checklists, items, files, comments, time, reminders,
    templates and recurrence, document folders, scheduler deadlines, mail, sessions."""

    def run(*args: str, as_user: str = ADMIN_EMAIL, input: str | None = None) -> str:
        result = cli(*args, as_user=as_user, input=input)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    run("studio", "add", "--name", "Studio Rossi")
    run("studio", "add", "--name", "Studio Verdi", "--city", "Bologna")
    for email, name, role, studio in (
        (CREATOR, "Carla Creator", "staff", None),
        (DOER, "Dario Doer", "staff", None),
        (SADMIN, "Sandro Admin", "studio-admin", "Studio Rossi"),
        (OPERATOR, "Olga Operatrice", "studio-operator", "Studio Rossi"),
        (OTHER_SADMIN, "Vera Verdi", "studio-admin", "Studio Verdi"),
    ):
        where = ["--studio", studio] if studio else []
        run("user", "add", "--email", email, "--name", name, "--role", role, *where,
            "--password-stdin", input=PASSWORDS[email] + "\n")  # fmt: skip
    run("client", "add", "--name", "Alfa Srl", "--studio", "Studio Rossi", "--piva", piva(1),
        "-r", CREATOR, "-p", "iva_periodicity=mensile", "-p", "sostituto_imposta=yes")  # fmt: skip
    run("client", "add", "--name", "Beta Snc", "--studio", "Studio Rossi", "--piva", piva(2),
        "--kind", "societa_persone", "-r", DOER)  # fmt: skip
    run("client", "add", "--name", "Gamma Spa", "--studio", "Studio Verdi", "--piva", piva(3),
        "-r", CREATOR, "-p", "iva_periodicity=trimestrale")  # fmt: skip
    run("user", "add", "--email", EXTERNAL, "--name", "Ezio Esterno", "--role", "external",
        "--client", "1", "--password-stdin", input=PASSWORDS[EXTERNAL] + "\n")  # fmt: skip
    run("user", "add", "--email", INVITEE, "--name", "Ines Invitata", "--role", "external",
        "--client", "1")  # fmt: skip
    run("group", "add-member", "1", OPERATOR)
    run("group", "add-member", "1", DOER)
    # Tasks 1-4: a parent with a subtask, a finished one, a practice's own.
    run("task", "add", "Bilancio 2026", "-r", DOER, "-c", "1", "-d", "2026-12-15",
        "--participant", OPERATOR, "--observer", EXTERNAL, "-t", "bilancio", "--approval",
        "--time-tracking", "--description", "- [ ] Fatture\n- [ ] Banche",
        as_user=CREATOR)  # fmt: skip
    run("task", "add", "Sottoattività", "--parent", "1", "-r", DOER, "-d", "+3d", as_user=CREATOR)
    run("task", "add", "Chiusa", "-r", DOER, "-c", "2", as_user=DOER)
    run("task", "done", "3", as_user=DOER)
    run("task", "add", "Interna", "-r", OPERATOR, "-c", "1", "--high", as_user=SADMIN)
    run("checklist", "add-list", "1", "Documenti", as_user=CREATOR)
    run("checklist", "add", "1", "Fatture", "-l", "Documenti", "--important",
        "--participant", OPERATOR, as_user=CREATOR)  # fmt: skip
    run("checklist", "add", "1", "Estratti conto", "-l", "Documenti", as_user=CREATOR)
    run("checklist", "add", "1", "Gennaio", "-l", "Documenti", "--under", "1", as_user=CREATOR)
    run("checklist", "check", "2", as_user=DOER)
    (folder / "f24.txt").write_text("ricevuta F24\n")
    run("checklist", "file", "add", "1", str(folder / "f24.txt"), as_user=CREATOR)
    run("task", "comment", "1", "Serve la visura", as_user=DOER)
    run("timer", "add", "1", "--duration", "1h30m", "--comment", "Telefonata", as_user=DOER)
    run("timer", "start", "1", as_user=DOER)
    run("task", "remind", "add", "1", "--before", "2d", "--to", DOER, as_user=CREATOR)
    run("task", "remind", "add", "2", "--at", "2026-11-20 09:00", as_user=CREATOR)
    run("task", "template", "add", "chiusura", "--from-task", "1", as_user=CREATOR)
    run("task", "template", "add", "lipe-mensile", "--title", "LIPE", "-c", "1", "-r", DOER,
        "--deadline-days", "5")  # fmt: skip
    run("task", "recur", "set", "lipe-mensile", "--freq", "monthly", "--start", "2026-11-20")
    run("task", "recur", "run", "--until", "2027-01-31")
    run("doc", "folder", "add", "Anagrafica/Visure", "--client", "1", "--parents", as_user=CREATOR)
    run("doc", "add", str(folder / "f24.txt"), "--client", "1", "--folder", "Anagrafica",
        as_user=CREATOR)  # fmt: skip
    run("scheduler", "run", "--from", "2026-11-01", "--to", "2027-03-31")
    run("scheduler", "override", "add", "LIPE", "2026-Q4", "2027-03-02", "--reason", "DL 1/2027")
    run("mail", "invite", INVITEE)
    run("auth", "app-password", "add", "cron", "--password-stdin", input=ADMIN_PASSWORD + "\n")
    run("login", "-e", ADMIN_EMAIL, "--password-stdin", input=ADMIN_PASSWORD + "\n")
    (folder / "f24.txt").unlink()


@dataclass
class Prepared:
    """The store made once, and what the fuzzer picks from: ids, names, vocabularies."""

    folder: Path  # where each example runs: the store, input files (the working directory)
    home: Path  # SEMPI_HOME: the login session of the admin
    snapshot: Path  # the store as built
    sessions: dict[str, bytes]
    tasks_json: bytes
    ids: dict[str, list[int]] = field(default_factory=dict)
    words: dict[str, list[str]] = field(default_factory=dict)

    @property
    def store(self) -> Path:
        return self.folder / "sempi.db"


ID_TABLES = {
    "task": "tasks",
    "item": "checklist_items",
    "client": "clients",
    "document": "documents",
    "entry": "time_entries",
    "mail": "mail_outbox",
    "session": "sessions",
    "app_password": "app_passwords",
    "reminder": "reminders",
    "notification": "notifications",
    "user": "users",
    "studio": "studios",
    "folder": "doc_folders",
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, template_store: Path) -> Prepared:
    from sempi_cli.clock import FixedClock

    root = tmp_path_factory.mktemp("fuzz")
    folder, home = root / "example", root / "home"
    folder.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEMPI_HOME", str(home))
        shutil.copy2(template_store, folder / "sempi.db")
        cli = Cli(folder / "sempi.db", FixedClock(NOW))
        _build(cli, folder)
        exported = cli("task", "export", "--json", as_user=CREATOR)
        assert exported.exit_code == 0, exported.stderr
        rules = json.loads(cli("scheduler", "rules", "--json").stdout)
        config = json.loads(cli("config", "list", "--json").stdout)
        fields = json.loads(cli("client", "fields", "--json").stdout)
    conn = sqlite3.connect(folder / "sempi.db")
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ids = {
            kind: [row[0] for row in conn.execute(f"SELECT id FROM {table} ORDER BY id")]
            for kind, table in ID_TABLES.items()
        }
        periods = sorted({row[0] for row in conn.execute("SELECT period FROM deadlines")})
    finally:
        conn.close()
    snapshot = root / "snapshot.db"
    shutil.copy2(folder / "sempi.db", snapshot)
    sessions = {p.name: p.read_bytes() for p in (home / "sessions").iterdir()}
    words = {
        "rule": [rule["id"] for rule in rules],
        "period": periods,
        "key": [row["key"] for row in config],
        "value": sorted(
            {str(row["value"]) for row in config} | {str(r["default"]) for r in config}
        ),
        "profile": [
            f"{row['field']}={value}"
            for row in fields
            for value in [*row["values"].split(", "), "", "maybe"]
        ],
    }
    return Prepared(folder, home, snapshot, sessions, exported.stdout.encode(), ids, words)


def _fresh(prepared: Prepared) -> None:
    """The example's world as built: the store, the session, the input files."""
    folder, home = prepared.folder, prepared.home
    for path in (folder, home):
        if path.exists():
            os.chmod(path, 0o700)
            shutil.rmtree(path)
    folder.mkdir(mode=0o700)
    shutil.copy2(prepared.snapshot, prepared.store)  # with its mode, 0600: sempi checks it
    home.mkdir(mode=0o700)
    (home / "sessions").mkdir(mode=0o700)  # private, or sempi ignores the session
    for name, token in prepared.sessions.items():
        session = home / "sessions" / name
        session.write_bytes(token)
        session.chmod(0o600)
    (folder / "plain.txt").write_text("una riga\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (folder / "latin1.csv").write_bytes(
        "ragione_sociale;partita_iva\nCaffè Srl;x\n".encode("latin-1")
    )
    (folder / "tasks.json").write_bytes(prepared.tasks_json)
    (folder / "tasks.jsonl").write_text('{"title": "Da file", "external_key": "k1"}\n{"x": \n')
    (folder / "bad.json").write_text('[{"title": ')
    (folder / "clients.csv").write_text(
        "ragione_sociale;partita_iva;kind;responsible\n"
        f"Delta Srl;{piva(7)};societa_capitali;{CREATOR}\n"
        "Epsilon;123;societa_capitali;nobody@x.test\n"
    )
    (folder / "clients.json").write_text(
        json.dumps([{"ragione_sociale": "Zeta Srl", "partita_iva": piva(8)}])
    )
    (folder / "mapping.csv").write_text("a.txt;Anagrafica\nsub;Nuova/Cartella\n")
    # What parsers choke on: nesting past the recursion limit, a number of thousands of
    # digits, a cell past the csv module's limit, UTF-16.
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "digits.json").write_text('[{"external_key": ' + "1" * 5000 + "}]")
    (folder / "big-cell.csv").write_text(
        "ragione_sociale;partita_iva\na.txt;" + "x" * 140_000 + "\n"
    )
    (folder / "utf16.csv").write_text("ragione_sociale;partita_iva\nx;1\n", encoding="utf-16")
    tree = folder / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a\n")
    (tree / "sub" / "b.pdf").write_bytes(b"%PDF-1.4\n")
    (tree / ".hidden").write_text("h\n")
    os.mkfifo(folder / "fifo")
    os.mkfifo(tree / "pipe")
    (folder / ODD_NAME).write_text("strano\n")
    os.symlink("loop", folder / "loop")
    os.symlink("tree", folder / "tree-link")
    os.symlink("missing-target", folder / "dangling")
    locked = folder / "locked.txt"
    locked.write_text("segreto\n")
    locked.chmod(0)
    (folder / "existing-out.txt").write_text("già qui\n")


ODD_NAME = "odd name\twith 'quotes' \"and\" ü – \x1b[31m.txt"


def _release_fifos(prepared: Prepared) -> None:
    """A command stuck opening a FIFO gets its other end, so its thread can finish."""
    for fifo in (prepared.folder / "fifo", prepared.folder / "tree" / "pipe"):
        for mode in (os.O_RDONLY | os.O_NONBLOCK, os.O_WRONLY | os.O_NONBLOCK):
            try:
                os.close(os.open(fifo, mode))
            except OSError:
                pass


# --- what the fuzzer types ------------------------------------------------------------

HUGE = ["99999999999999999999", str(2**63), str(2**63 - 1), str(-(2**63) - 1), "1" * 400]
BAD_NUMBERS = [
    "0", "-1", "-0", "+1", "1e3", "0x10", "١٢", "abc", "", " 7", "7 ", "1.5", "999999", "1_0",
    "٣",
]  # fmt: skip
DATES = [
    "2026-11-16", "2026-11-16 09:00", "2026-11-16T09:00", "2026-11-16T25:61", "16/11/2026",
    "31/02/2026", "29/02/2028", "1/1/26", "99/99/9999", "today", "tomorrow", "yesterday", "now",
    "+3d", "-3d", "+2w", "+1m", "+99999999d", "-99999999999d", "eom", "eoq", "eoy", "friday",
    "next friday", "domani", "oggi", "0001-01-01", "9999-12-31", "1900-01-01", "2100-01-01",
    "2026-13-01", "2026-00-10", "2026", "2026-11", "2026-Q4", "2026-W47", "garbage", "",
    " ", "2026-11-16 09:00 +05:00", "2026-11-16T09:00:00Z", "16/11/2026 15:30", "24:00",
    "10000-01-01", "31/12/9999", "9999-12-31 23:59", "01/01/0001", "01/01/0001 00:10",
    "2100-12-31", "2101-01-01", "1949-12-31", "1950-01-01", "29/02/2027", "+36m", "+100y",
    "tra 3 giorni", "lunedì prossimo", "16/01", "16.01.2027", "fine mese",
]  # fmt: skip
DURATIONS = [
    "1h30m", "90m", "1.5h", "01:30", "0m", "0", "-1h", "2d", "1w", "3h", "1d12h", "12m", "2y",
    "36m", "37m", "90d", "99999999h", "1e308h", "nan", "inf", "1h-30m", "99:99", "00:00",
    "1.5.5h", "h", "m", "", "5", "10:00:00", "1h 30m", "P1D", "24h", "9999h", "10000h",
    "0.0001h", "1,5h", "9999:59",
]  # fmt: skip
PATHS = [
    "plain.txt", "empty.txt", "binary.bin", "latin1.csv", "tasks.json", "tasks.jsonl", "bad.json",
    "clients.csv", "clients.json", "mapping.csv", "deep.json", "digits.json", "big-cell.csv",
    "utf16.csv", "tree", "tree/", "tree-link", "tree/sub",
    "tree/pipe", "fifo", ODD_NAME, "loop", "dangling", "locked.txt", "existing-out.txt",
    "missing.txt", "missing-dir/out.txt", "new-out.txt", "new.ics", "new.json", "new.csv",
    "new.db", "sempi.db", "/dev/null", "/dev/zero", "/dev/full", "/", ".", "..", "-", "",
    "/proc/self/mem", "~/x.txt", "a" * 300, "dir/" * 50 + "x", "plain.txt/child",
]  # fmt: skip
ODD_TEXT = [
    "", " ", "\t", "a\nb", "riga\r\nriga", "\x1b[31mrosso\x1b[0m", "\x07", "\x7f", "\x00",
    "a\x00b", "\udcff", "\u202eabc", "\ufeffBOM", "é", "e\u0301", "日本語", "🙂", "Ⅻ",
    "'; DROP TABLE tasks; --", "%s%n%x", "{0}{}", "${HOME}", "$(id)", "../../etc/passwd", "-",
    "--", "-x", "--yes", "NULL", "None", "null", "true", "[]", "{}", "0", "-0", "x" * 10_000,
    "è" * 1_000, "x" * 131_072, "me", "*", "%", "_", "\\", "a,b", "a;b",
]  # fmt: skip
USER_REFS = [
    ADMIN_EMAIL, CREATOR, DOER, SADMIN, OPERATOR, OTHER_SADMIN, EXTERNAL, INVITEE, "me",
    "ADMIN@SEMPI.TEST", f" {DOER} ", "nobody@sempi.test", "not-an-email", "@", "1", "2", "5",
    "0", "-1", HUGE[0],
]  # fmt: skip
STUDIO_REFS = ["1", "2", "3", "Studio Rossi", "studio rossi", "Studio Verdi", "Studio Bianchi"]
CLIENT_REFS = ["1", "2", "3", "4", "Alfa Srl", "alfa", "Beta Snc", "Gamma Spa", "Omega"]
CHOICES = [
    "open", "in_progress", "done", "deferred", "awaiting_approval", "returned", "upcoming",
    "overdue", "queued", "sent", "failed", "cancelled", "all", "none", "bogus", "OPEN",
    "extraordinary", "ordinary", "fiscal", "societa_capitali", "persona_fisica", "ente",
    "staff", "firm-admin", "studio-admin", "studio-operator", "external", "daily", "weekdays",
    "weekly", "monthly", "monthly_last", "quarterly", "yearly", "next-working-day", "task",
    "user", "client", "day", "week", "month", "15m", "deadline", "-deadline", "title",
    "created", "priority", "mensile", "trimestrale", ";", ",", "\t", "utf-8", "cp1252",
    "latin-1", "utf-16", "rot13", "nonexistent-codec", "fattura-smart", "smart-hub,corrispettivi-smart",
    "all", "task", "client", "user", "reminder", "isa_subject", "forfettario", "09:00", "25:00",
]  # fmt: skip
NAMES = ["chiusura", "lipe-mensile", "Documenti", "Checklist", "f24.txt", "Anagrafica",
         "Anagrafica/Visure", "Visure", "cron", "bilancio", "1", "task-1", "Nuova"]  # fmt: skip

# Which pools an option or argument draws from, by its name (the rest: text).
CATEGORIES = {
    "date": {"deadline", "planned", "from_", "start", "end", "to", "at", "since", "until",
             "due", "due_before", "due_by", "due_from", "due_to", "month", "deadline_time"},
    "duration": {"duration", "before", "horizon", "max_age", "round_to"},
    "path": {"file", "files", "path", "output", "ics", "directory", "report_file", "mapping"},
    "user": {"user", "responsible", "participant", "observer", "add_participant", "creator",
             "add_observer", "remove_participant", "remove_observer", "actor", "to", "email",
             "admin_email", "external", "practice_users", "target"},
    "studio": {"studio", "ref"},
    "client": {"client", "parent", "delegation"},
    "choice": {"status", "kind", "role", "freq", "shift", "by", "sort", "iva", "smart",
               "delimiter", "encoding", "object_type", "action", "module", "applies_to"},
    "name": {"name", "new_name", "list_name", "template", "folder", "tag", "untag", "project",
             "target"},
    "rule": {"rule"},
    "period": {"period"},
    "key": {"key"},
    "value": {"value"},
    "profile": {"profile"},
}  # fmt: skip
ID_PARAMS = {  # integer parameters that name a row: which table's ids are "existing"
    "task_id": "task", "task_ids": "task", "from_task": "task", "item_id": "item",
    "item_ids": "item", "under": "item", "before": "item", "after": "item", "client": "client",
    "client_id": "client", "document_id": "document", "entry_id": "entry", "mail_id": "mail",
    "session_id": "session", "app_password_id": "app_password", "reminder_ids": "reminder",
    "ids": "notification", "object_id": "task",
}  # fmt: skip
GLOBAL_OPTIONS = [
    ["--json"], ["--format", "csv"], ["--format=jsonl"], ["--format", "table"], ["--format", "xml"],
    ["--quiet"], ["-q"], ["--yes"], ["-y"], ["--no-input"], ["--db", "plain.txt"],
    ["--db", "fifo"], ["--db", "tree"], ["--db", "missing.txt"], ["--db", "/dev/null"],
    ["--db=empty.txt"], ["--db", "sempi.db"], ["--help"], ["-h"], ["--version"],
]  # fmt: skip
UNKNOWN_OPTIONS = [["--bogus"], ["--bogus=1"], ["-Z"], ["--jsonx"], ["---"], ["--"], ["-"]]


def chance(data, percent: int) -> bool:
    return data.draw(st.integers(0, 99)) < percent


def _id_values(prepared: Prepared, kind: str | None, wild: bool) -> st.SearchStrategy[str]:
    existing = st.sampled_from(prepared.ids.get(kind or "task") or [1]).map(str)
    if not wild:
        return st.one_of(existing, existing, existing, st.integers(0, 400).map(str))
    return st.one_of(existing, st.sampled_from(HUGE + BAD_NUMBERS), st.integers(-5, 400).map(str))


def _text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=40))


def _values(prepared: Prepared, param, wild: bool) -> st.SearchStrategy[str]:
    """Values for one option or argument: of its kind, or (wild) sometimes anything."""
    name = param.name or ""
    if type(param.type).__name__ in ("IntParamType", "IntRange"):
        own = _id_values(prepared, ID_PARAMS.get(name), wild)
    else:
        pools = {
            "date": st.sampled_from(DATES),
            "duration": st.sampled_from(DURATIONS),
            "path": st.sampled_from(PATHS),
            "user": st.sampled_from(USER_REFS),
            "studio": st.sampled_from(STUDIO_REFS),
            "client": st.sampled_from(CLIENT_REFS),
            "choice": st.sampled_from(CHOICES),
            "name": st.sampled_from(NAMES),
            "rule": st.sampled_from(prepared.words["rule"] + ["lipe", "NOPE"]),
            "period": st.sampled_from(prepared.words["period"] + ["2026-Q5", "2026-13", "1999"]),
            "key": st.sampled_from(prepared.words["key"] + ["nope.key", "smtp"]),
            "value": st.sampled_from(prepared.words["value"] + ["-1", "0", "99999"]),
            "profile": st.sampled_from(prepared.words["profile"] + ["x=y", "=", "novalue"]),
        }
        own = st.one_of(
            [pools[category] for category, names in CATEGORIES.items() if name in names]
            or [_text()]
        )
    if not wild:
        return own
    anything = st.one_of(
        _text(),
        st.sampled_from(DATES + DURATIONS + PATHS + USER_REFS + HUGE + BAD_NUMBERS + NAMES),
    )
    return st.one_of(own, anything)


def _option_words(data, prepared: Prepared, param, wild: bool, force: bool) -> list[list[str]]:
    """One option as it may be typed: absent, once, or repeated; long or short; '=' or not."""
    names = [*param.opts, *getattr(param, "secondary_opts", [])]
    if not (force or chance(data, (95 if param.required else 30) - (10 if wild else 0))):
        return []
    times = data.draw(st.sampled_from([1, 1, 1, 2, 3] if param.multiple else [1, 1, 1, 1, 2]))
    words = []
    for _ in range(times):
        opt = data.draw(st.sampled_from(names))
        if param.is_flag:
            words.append([opt])
            continue
        value = data.draw(_values(prepared, param, wild))
        if opt.startswith("--") and data.draw(st.booleans()):
            words.append([f"{opt}={value}"])
        else:
            words.append([opt, value])
    return words


def _argument_words(data, prepared: Prepared, param, wild: bool, force: bool) -> list[str]:
    if param.nargs == -1:
        smallest = 1 if force or not wild else 0
        return data.draw(st.lists(_values(prepared, param, wild), min_size=smallest, max_size=4))
    if param.required and wild and not force and chance(data, 10):
        return []
    return [data.draw(_values(prepared, param, wild))]


SANE_GLOBALS = [["--json"], ["--format", "csv"], ["--format=jsonl"], ["--quiet"], ["--yes"]]


def _argv(data, prepared: Prepared, path: tuple[str, ...], command) -> list[str]:
    """The words after 'sempi', in one of three moods. Sane: each parameter gets
    something of its kind (odd ones included), so the run gets past parsing to the
    services. Aimed: the same, but one parameter, always given, gets anything (a huge
    id, a FIFO, a date at the calendar's edge): what a person mistypes. Wild: anything
    anywhere, unknown options, a bad store, a word too many or too few."""
    mood = data.draw(st.sampled_from(["sane", "sane", "aimed", "aimed", "aimed", "wild", "wild"]))
    wild = mood == "wild"
    valued = [p for p in command.params if not getattr(p, "is_flag", False)]
    aimed = data.draw(st.sampled_from(valued)) if mood == "aimed" and valued else None
    args: list[str] = []
    options: list[list[str]] = []
    for param in command.params:
        odd, force = wild or param is aimed, param is aimed
        if param.param_type_name == "argument":
            args.extend(_argument_words(data, prepared, param, odd, force))
        else:
            options.extend(_option_words(data, prepared, param, odd, force))
    if chance(data, 30):
        options.append(data.draw(st.sampled_from(GLOBAL_OPTIONS if wild else SANE_GLOBALS)))
    if wild and chance(data, 30):
        options.append(data.draw(st.sampled_from(UNKNOWN_OPTIONS)))
    if wild and chance(data, 10):
        args.append(data.draw(_text()))  # one argument too many
    words = list(path[:-1]) if wild and chance(data, 5) else list(path)
    tail: list[str | list[str]] = list(args)
    for group in options:  # options stand anywhere among the arguments
        tail.insert(data.draw(st.integers(0, len(tail))), group)
    for item in tail:
        words.extend(item if isinstance(item, list) else [item])
    return words


def leaf_commands() -> dict[tuple[str, ...], object]:
    """Every command (not group) of sempi, by its words: docs/cli.md's walker."""
    from typer.core import TyperGroup

    from sempi_cli.docgen import walk

    return {
        tuple(ctx.command_path.split()[1:]): ctx.command
        for ctx in walk()
        if not isinstance(ctx.command, TyperGroup)
    }


COMMANDS = leaf_commands()
FUZZED = sorted(path for path in COMMANDS if " ".join(("sempi", *path)) not in EXCLUDED)


# --- the rules --------------------------------------------------------------------------

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*File \"[^\"]+\", line \d+", re.M)


def broken_rules(exit_code: int, stdout: str, stderr: str) -> list[str]:
    """What a run did against the contract of docs/exit-codes.md (empty: nothing)."""
    problems = []
    if exit_code not in DOCUMENTED_EXIT_CODES:
        problems.append(f"exit code {exit_code} is not a documented one")
    if TRACEBACK.search(stdout) or TRACEBACK.search(stderr):
        problems.append("a traceback in the output")
    if "Error: internal error (" in stderr:  # the boundary's words for an unexpected exception
        problems.append("an internal error")
    if exit_code != 0:
        # Lines as a script or a terminal sees them: "\n" ends one (str.splitlines would
        # also split at U+2028 and the like, which both show inside a line).
        lines = [line for line in stderr.split("\n") if line.strip()]
        errors = [line for line in lines if line.startswith("Error:")]
        if not lines or not lines[-1].startswith("Error: "):
            problems.append("the last line on stderr is not the 'Error: ...' line")
        if len(errors) != 1:
            problems.append(f"{len(errors)} 'Error:' lines on stderr, not one")
    return problems


def _shown(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _no_network(*args: object, **kwargs: object) -> socket.socket:
    raise ConnectionRefusedError(errno.ECONNREFUSED, "no network in the fuzz test")


def _run_bounded(prepared: Prepared, cli: Cli, argv: list[str], user: str, stdin: str):
    """The command in a thread, so a hang fails the test instead of blocking it."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["result"] = cli(*argv, as_user=user, input=stdin)
        except BaseException as exc:  # reported by the test, with the argv
            outcome["exception"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        _release_fifos(prepared)
        thread.join(5)
    return thread.is_alive(), outcome


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=st.data())
def test_every_command_keeps_the_exit_code_contract(
    prepared: Prepared, data, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One to three commands in a row on a fresh copy of the store (a later one meets
    what an earlier one changed: a task removed, a client erased), each one checked."""
    from sempi_cli.clock import FixedClock

    _fresh(prepared)
    monkeypatch.chdir(prepared.folder)
    monkeypatch.setenv("SEMPI_HOME", str(prepared.home))
    monkeypatch.setenv("HOME", str(prepared.home))
    # No network: a host the fuzzer sets (config set smtp.host 587, then mail send) would
    # be tried for real, for up to smtplib's timeout; here it is refused at once.
    monkeypatch.setattr(socket, "create_connection", _no_network)
    cli = Cli(prepared.store, FixedClock(NOW))
    earlier = ""
    for _ in range(data.draw(st.sampled_from([1, 1, 2, 3]), label="commands")):
        path = data.draw(st.sampled_from(FUZZED), label="command")
        argv = _argv(data, prepared, path, COMMANDS[path])
        user = data.draw(st.sampled_from(ACTORS), label="user")
        password = PASSWORDS.get(user or ADMIN_EMAIL, "") + "\n"
        stdin = data.draw(st.sampled_from([*STDIN, password]), label="stdin")
        hung, outcome = _run_bounded(prepared, cli, argv, user, stdin)
        who = user or "the admin's login session"
        line = f"{earlier}as {who}, stdin {stdin!r}: sempi {shlex.join(argv)}"
        assert not hung, f"no answer after {TIMEOUT:.0f} s: {line}"
        if "exception" in outcome:
            exc = outcome["exception"]
            raise AssertionError(f"{type(exc).__name__} escaped: {line}") from exc
        result = outcome["result"]
        event(f"exit {result.exit_code}")  # see them with --hypothesis-show-statistics
        problems = broken_rules(result.exit_code, result.stdout, result.stderr)
        assert not problems, (
            f"{'; '.join(problems)}\n{line}\nexit code {result.exit_code}\n"
            f"--- stdout\n{_shown(result.stdout)}\n--- stderr\n{_shown(result.stderr)}"
        )
        earlier = f"{line} (exit {result.exit_code}), then\n"


# --- the fuzzer's own checks -----------------------------------------------------------


def test_the_whole_tree_is_fuzzed():
    """Every command is in the fuzzed list or excluded with a reason; no stale exclusion."""
    names = {" ".join(("sempi", *path)) for path in COMMANDS}
    assert len(COMMANDS) > 100
    assert set(EXCLUDED) <= names, set(EXCLUDED) - names
    assert all(reason.strip() for reason in EXCLUDED.values())
    assert {" ".join(("sempi", *path)) for path in FUZZED} | set(EXCLUDED) == names


@pytest.mark.parametrize(
    ("code", "stderr", "broken"),
    [
        (0, "Done.\n", []),
        (3, "Error: task 9 not found.\n", []),
        (3, "Error: practice 'a\u2028b' not found.\n", []),  # one line on a terminal
        (12, "row 2: refused\nError: 1 row refused.\n", []),
        (1, "Error: internal error (KeyError: 'x').\n", ["not a documented", "internal error"]),
        (5, "Error: refused.\nmore\n", ["last line"]),
        (5, "Error: one.\nError: two.\n", ["2 'Error:' lines"]),
        (2, "", ["last line", "0 'Error:' lines"]),
        (6, "Traceback (most recent call last):\nError: x\n", ["traceback"]),
    ],
)
def test_the_rules_catch_what_they_should(code, stderr, broken):
    problems = broken_rules(code, "", stderr)
    assert len(problems) == len(broken), problems
    for fragment, problem in zip(broken, problems, strict=True):
        assert fragment in problem
