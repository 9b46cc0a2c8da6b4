"""Shared fixtures: every test gets its own SEMPI_HOME, store and fixed clock."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path

import pytest
import typer.testing
from hypothesis import settings as hypothesis_settings
from typer.testing import CliRunner

from sempi_cli.cli.app import app
from sempi_cli.cli.context import AppContext
from sempi_cli.clock import FixedClock
from sempi_cli.services.access import Actor
from sempi_cli.services.identity.auth import actor_from_row
from sempi_cli.store import open_store

NOW = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
ADMIN_EMAIL = "admin@sempi.test"
ADMIN_PASSWORD = "admin-password-for-tests"


# Property tests check rules, not speed (benchmarks do): no per-example deadline.
# With one, the first example to load the holiday calendar (~0.3 s on a busy
# machine) fails as "too slow" and passes on replay - a flaky test.
hypothesis_settings.register_profile("sempi", deadline=None)
hypothesis_settings.load_profile("sempi")


@pytest.fixture(autouse=True)
def sempi_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No test ever touches real data: the home and store live in tmp_path."""
    home = tmp_path / "home"
    monkeypatch.setenv("SEMPI_HOME", str(home))
    for var in ("SEMPI_DB", "SEMPI_USER", "SEMPI_APP_PASSWORD", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    # The suite reads the code's own words; tests of the Italian interface set
    # SEMPI_LANG=it themselves. A command run in-process chooses the language of
    # the process: the next test starts from English again.
    monkeypatch.setenv("SEMPI_LANG", "en")
    yield home
    from sempi_cli import i18n

    i18n.use("en")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One initialised store per test process (hashing the password costs ~0.2 s)."""
    from sempi_cli.services.org.firm import create_store

    path = tmp_path_factory.mktemp("template") / "sempi.db"
    conn, _ = create_store(
        path, FixedClock(NOW), "Sempi Servizi Srl", ADMIN_EMAIL, "Anna Admin", ADMIN_PASSWORD
    )
    # The suite reads English, and so do the people of its firm: a notification is
    # written in its recipient's language, the firm's unless they chose one. Tests
    # of the Italian interface make the firm Italian again (italian_firm).
    conn.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES ('ui.language', 'en', ?)",
        (NOW.isoformat(),),
    )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


@pytest.fixture
def italian(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's commands speak Italian (SEMPI_LANG=it)."""
    monkeypatch.setenv("SEMPI_LANG", "it")


@pytest.fixture
def italian_firm(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The firm as a new one is: Italian (no ui.language stored), and SEMPI_LANG
    unset, so the language is the person's, else the firm's."""
    import sqlite3

    with sqlite3.connect(store_path) as conn:
        conn.execute("DELETE FROM settings WHERE key = 'ui.language'")
    conn.close()
    monkeypatch.delenv("SEMPI_LANG", raising=False)


@pytest.fixture
def store_path(sempi_home: Path, template_store: Path) -> Path:
    """An initialised store: the firm and its first administrator (a fresh copy)."""
    import shutil

    sempi_home.mkdir(mode=0o700, exist_ok=True)
    path = sempi_home / "sempi.db"
    shutil.copy2(template_store, path)
    return path


# --- the engine under the services ---------------------------------------------------------
# SEMPI_TEST_STORE=postgresql runs the tests that reach the store only through ``db``
# and ``cli`` (the services, and the commands as users type them) on PostgreSQL: each
# worker starts a server (tests/postgres_server.py), makes the firm once in a template
# database, and gives every test a database of its own copied from it. `make test`
# runs the suite on SQLite, then these again on PostgreSQL.
ENGINE = os.environ.get("SEMPI_TEST_STORE", "sqlite")
_FILE_FIXTURES = frozenset({"store_path", "template_store", "italian_firm"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, only the tests that reach the store through ``db`` or ``cli``: one
    that reads the store's file, or is marked sqlite_only, is an SQLite test (the
    first run has it)."""
    if ENGINE != "postgresql":
        other = [item for item in items if item.get_closest_marker("postgresql_only")]
        if other:
            config.hook.pytest_deselected(items=other)
            items[:] = [item for item in items if item not in other]
        return
    chosen, other = [], []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        service = "store" in names and not names & _FILE_FIXTURES
        service = service and item.get_closest_marker("sqlite_only") is None
        (chosen if service else other).append(item)
    config.hook.pytest_deselected(items=other)
    items[:] = chosen


@dataclass
class _PgStore:
    """This worker's PostgreSQL store, and how to put it back as it was made."""

    address: str
    conn: object  # a PgConnection to it (sempi's role), kept for the resets
    rows: dict[str, tuple[str, list[tuple]]]  # table -> (its columns, its rows) once made
    identities: list[tuple[str, str]]  # (table, column) numbered by the engine
    server: str  # the server's address as its superuser (other databases: test_db_read.py)

    def reset(self) -> None:
        """Every table as right after the firm was made, ids counting from there:
        one transaction with the triggers and foreign keys off (as a superuser's
        restore does). A new database a test would cost ten times as much."""
        conn = self.conn
        conn.execute("BEGIN")
        conn.execute("SET LOCAL session_replication_role = replica")
        for table, (columns, rows) in self.rows.items():
            conn.execute(f"DELETE FROM {table}")
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        for table, column in self.identities:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                f" coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
            )
        conn.execute("COMMIT")


@pytest.fixture(scope="session")
def postgres_store() -> Iterator[_PgStore]:
    """This worker's server (tests/postgres_server.py) and its one store, made once
    with the firm, as template_store is for SQLite."""
    from sempi_cli.services.org.firm import create_store
    from tests import postgres_server

    with postgres_server.server() as server:
        address = postgres_server.database_for_app(server, "sempi_test")
        conn, _ = create_store(
            address, FixedClock(NOW), "Sempi Servizi Srl", ADMIN_EMAIL, "Anna Admin",
            ADMIN_PASSWORD,
        )  # fmt: skip
        conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES ('ui.language', 'en', ?)",
            (NOW.isoformat(),),
        )
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename <> 'sempi_store' ORDER BY tablename"
            )
        ]
        rows = {}
        for table in tables:
            columns = ", ".join(
                r[0]
                for r in conn.execute(  # not the columns the server keeps (search words)
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
                    " AND table_schema = current_schema() AND is_generated = 'NEVER'"
                    " ORDER BY ordinal_position",
                    (table,),
                )
            )
            found = [tuple(r) for r in conn.execute(f"SELECT {columns} FROM {table}")]
            rows[table] = (columns, found)
        identities = [
            (r[0], r[1])
            for r in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND is_identity = 'YES'"
            )
        ]
        yield _PgStore(address, conn, rows, identities, server)
        conn.close()


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Iterator[Path | str]:
    """The test's initialised store, as `--db` names it: a copy of the template file
    (store_path), or on PostgreSQL the worker's store put back as it was made."""
    if ENGINE != "postgresql":
        yield request.getfixturevalue("store_path")
        return
    made: _PgStore = request.getfixturevalue("postgres_store")
    made.reset()
    yield made.address


@pytest.fixture
def db(store: Path | str):
    conn = open_store(store)
    yield conn
    conn.close()


def actor(db: sqlite3.Connection, email: str) -> Actor:
    return actor_from_row(db.execute("SELECT * FROM users WHERE email = ?", (email,)).fetchone())


@pytest.fixture
def admin(db: sqlite3.Connection) -> Actor:
    return actor(db, ADMIN_EMAIL)


# --- a firm to test in (the builder and the people are in tests/helpers.py) -----------------


@pytest.fixture
def org(db: sqlite3.Connection, clock: FixedClock):
    """The factory of a test's firm: org.staff(...), org.practice(...), org.user(...),
    org.client(...), org.group(...), through the services as the firm administrator."""
    from tests.helpers import Org

    return Org(db, clock)


@pytest.fixture
def people(org) -> dict:
    """The task tests' firm (helpers.task_people): staff CREATOR, DOER, HELPER, WATCHER,
    OUTSIDER; Studio Rossi's OPERATOR in Alfa's work group; Alfa ("client") and Beta
    ("other_client"), both CREATOR's; EXTERNAL, Alfa's external user."""
    from tests.helpers import task_people

    return task_people(org)


_build_command = typer.testing._get_command


@cache
def _command_once(typer_app):
    """The click command of a Typer app, built once per test process as one run of sempi
    builds it once. Typer's CliRunner rebuilds it on every invoke: ~60 ms, most of the
    time an in-process `sempi` takes (the fast loop's CPU time drops by about a fifth).
    typer.testing._get_command is private: typer is pinned below 0.29 (pyproject.toml)."""
    return _build_command(typer_app)


typer.testing._get_command = _command_once


@dataclass
class Cli:
    """Runs `sempi` in-process as a given user, with stdout and stderr apart."""

    store_path: Path | str  # a file, or on PostgreSQL a database's address
    clock: FixedClock
    runner: CliRunner = field(default_factory=CliRunner)

    def __call__(
        self, *args: str, as_user: str | None = ADMIN_EMAIL, input: str | None = None, **ctx: object
    ):
        obj = AppContext(db_path=self.store_path, clock=self.clock, actor_email=as_user, **ctx)
        result = self.runner.invoke(app, list(args), obj=obj, input=input, catch_exceptions=False)
        record_cli_run(self.store_path, args, input, result)  # the secrets check (end of file)
        return result


@pytest.fixture
def cli(store: Path | str, clock: FixedClock) -> Cli:
    return Cli(store, clock)


# --- mail: a real SMTP server on 127.0.0.1 (tests/helpers.py has the machinery) ------------


@pytest.fixture
def smtp():
    """An aiosmtpd server in a thread of the test process; what it received is in .received."""
    from tests.helpers import start_server

    server, controller = start_server()
    yield server
    if server.handler.hold is not None:
        server.handler.hold.set()
    controller.stop()


@pytest.fixture
def firm(db) -> str:
    """The firm's name, with a non-ASCII letter (mail headers and texts carry it)."""
    from tests.helpers import FIRM

    db.execute("UPDATE firm SET name = ?", (FIRM,))
    return FIRM


def store_digest(path: Path, ignore: tuple[str, ...] = ()) -> str:
    """The store's content, for proving that a failed command changed nothing.
    ``ignore`` leaves out tables that record the refusal itself (``audit_log``)."""
    conn = sqlite3.connect(path)
    try:
        lines = [
            line
            for line in conn.iterdump()
            if not any(line.startswith(f'INSERT INTO "{table}"') for table in ignore)
        ]
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()
    finally:
        conn.close()


def scheduler_rows(path: Path) -> list[tuple]:
    """What a scheduler run produced, without ids, timestamps or run numbers: every
    deadline with its task, checklist items, reminders and history, by key. Two
    stores hold the same deadlines exactly when these lists are equal."""
    conn = sqlite3.connect(path)
    try:
        key = "d.client_id, d.rule_id, d.period"
        queries = (
            f"SELECT {key}, d.nominal_date, d.due_date, d.shifts, d.override_reason, d.state,"
            " t.title, t.description, t.kind, t.status, t.responsible_id, t.creator_id, t.client_id,"
            " t.deadline, t.external_key, t.removed_at IS NULL, t.responsible_sets_deadline"
            " FROM deadlines d JOIN tasks t ON t.id = d.task_id",
            f"SELECT {key}, cl.name, cl.position, ci.position, ci.text, ci.important, ci.done_at IS NULL,"
            " (SELECT p.text FROM checklist_items p WHERE p.id = ci.parent_id)"
            " FROM deadlines d JOIN checklists cl ON cl.task_id = d.task_id"
            " JOIN checklist_items ci ON ci.checklist_id = cl.id",
            f"SELECT {key}, r.recipient_id, r.remind_at, r.before_minutes, r.delivered_at IS NULL"
            " FROM deadlines d JOIN reminders r ON r.task_id = d.task_id",
            f"SELECT {key}, h.actor_id, h.action, h.field, h.old, h.new"
            " FROM deadlines d JOIN task_history h ON h.task_id = d.task_id",
        )
        return [
            (n, *row)
            for n, sql in enumerate(queries)
            for row in sorted(conn.execute(sql), key=repr)
        ]
    finally:
        conn.close()


# Valid Italian identifiers used across the tests (check digits computed by stdnum).
def piva(n: int) -> str:
    from stdnum import luhn

    base = f"{n + 1:07d}" + "001"  # 7-digit progressive + office code 001 (Milano)
    return base + luhn.calc_check_digit(base)


def cf_person(n: int) -> str:
    from stdnum.it import codicefiscale

    letters = "BCDFGHLMNPRSTVZ"
    surname = letters[n % 15] + letters[(n // 15) % 15] + "X"
    body = f"{surname}MRA85T{10 + n % 18:02d}F205"
    return body + codicefiscale.calc_check_digit(body)


# --- no secret in what the test suite printed ---------------------------------
# "A test greps everything the test suite printed and logged for every test
# password, secret, code, recovery code, application password and token: none
# appears." SECRETS (one per test process, so one per xdist worker) keeps a log
# of every output: each Cli run (stdout and stderr), each subprocess run through
# run_logged(), what pytest captured of each test (stdout, stderr, logging),
# and whatever a test hands to log_output() (e.g. a terminal screen). Secrets
# are registered as tests create them; Cli registers on its own what it can see:
# the lines fed to --password-stdin / --code-stdin, the session token on disk,
# and the values a command shows once (enrolment key, recovery codes,
# application password). A value shown once may appear in the output that
# showed it and never again; any other secret may appear nowhere. The check
# runs when each worker's session ends (the fixture below); failure messages
# name the secret's kind and where it appeared, never the value itself.

_RECOVERY_CODE = re.compile(r"^([a-z2-9]{5}-[a-z2-9]{5})$", re.MULTILINE)
_APP_PASSWORD = re.compile(r"^(sempi-[A-Za-z0-9_-]{20,})$", re.MULTILINE)
_OTPAUTH_SECRET = re.compile(r"[?&]secret=([A-Z2-7]{16,})")
_SECRET_INPUT_FLAGS = ("--password-stdin", "--code-stdin")
MIN_TYPED_SECRET = 8  # shorter typed values ("short" in a too-short test) match common words
MIN_TOKEN = 32  # a real session token has 43 characters


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "tests/conftest.py").rsplit(" (", 1)[0]


@dataclass
class RegisteredSecret:
    value: str = field(repr=False)  # a failure message is output too
    label: str
    origin: str  # the test that registered it
    shown_once: bool
    shown_in: set[int] = field(default_factory=set)  # log entries allowed to show it


@dataclass
class SecretRegistry:
    """Secrets a test run knows, and everything it printed, in order."""

    secrets: dict[str, RegisteredSecret] = field(default_factory=dict, repr=False)
    log: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def register(self, value: str | None, label: str, *, shown_once: bool = False) -> str | None:
        """Remember a secret. For a value shown once, call it right after the output
        that showed it was logged: that output, and only that one, may contain it.
        The first registration of a value decides its kind (a recovery code shown at
        enrolment and typed later stays a shown-once value); a shown-once value
        shown again by its own kind of command (a test that enrols twice with one
        key) adds that output too."""
        if not value or value in _public_values():
            return value
        secret = self.secrets.get(value)
        if secret is None:
            secret = self.secrets[value] = RegisteredSecret(
                value, label, _current_test(), shown_once
            )
        if shown_once and secret.shown_once and self.log:
            secret.shown_in.add(len(self.log) - 1)
        return value

    def log_output(self, source: str, *texts: str | None) -> None:
        text = "\n".join(
            t if isinstance(t, str) else bytes(t).decode(errors="replace") for t in texts if t
        )
        if text:
            self.log.append((source, text))

    def leaks(self, extra: Iterable[tuple[str, str]] = ()) -> list[str]:
        """Where a secret appears that it must not: its kind and the output's source,
        never the value (a failure message is output too)."""
        import bisect

        entries = [*self.log, *extra]
        starts, chunks, offset = [], [], 0
        for _, text in entries:
            starts.append(offset)
            chunks.append(text)
            offset += len(text) + 1
        haystack = "\0".join(chunks)
        found = []
        for secret in self.secrets.values():
            if secret.value.isdigit():  # a code: a word of its own, not part of a number or hash
                pattern = re.compile(rf"(?<![0-9A-Za-z]){secret.value}(?![0-9A-Za-z])")
                hits = (m.start() for m in pattern.finditer(haystack))
            else:
                hits = _find_all(haystack, secret.value)
            where = {bisect.bisect_right(starts, at) - 1 for at in hits} - secret.shown_in
            sources = {entries[i][0] for i in where}
            when = " beyond the output that showed it once" if secret.shown_once else ""
            found.extend(
                f"{secret.label} (from {secret.origin}) appears{when} in: {source}"
                for source in sorted(sources)
            )
        return found


def _find_all(haystack: str, needle: str) -> Iterator[int]:
    at = haystack.find(needle)
    while at != -1:
        yield at
        at = haystack.find(needle, at + 1)


@lru_cache(maxsize=1)
def _public_values() -> frozenset[str]:
    """Values that are secrets elsewhere but public on purpose (the demo store's password)."""
    try:
        from sempi_cli.demo import DEMO_PASSWORD
    except (ImportError, AttributeError):
        return frozenset()
    return frozenset({DEMO_PASSWORD})


SECRETS = SecretRegistry()
SECRETS.register(ADMIN_PASSWORD, "the test administrator's password")


def register_secret(value: str | None, label: str = "a secret", *, shown_once: bool = False):
    return SECRETS.register(value, label, shown_once=shown_once)


def log_output(source: str, *texts: str | None) -> None:
    SECRETS.log_output(f"{_current_test()}: {source}", *texts)


def run_logged(
    cmd: Sequence[str], *, label: str | None = None, **kwargs: object
) -> subprocess.CompletedProcess:
    """subprocess.run with text output captured and added to the secrets log
    (``label`` names it there instead of its argv)."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    result = subprocess.run(list(cmd), **kwargs)  # callers check the return code
    log_output(label or " ".join([Path(cmd[0]).name, *cmd[1:]]), result.stdout, result.stderr)
    return result


def json_at_once(
    cmd: Sequence[str], env: dict[str, str], times: int, timeout: float = 120
) -> list[dict]:
    """``cmd`` (``--json`` output) run by ``times`` processes started together, as
    cron jobs overlapping would: each must succeed; their outputs, parsed."""
    procs = [
        subprocess.Popen(
            list(cmd), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(times)
    ]
    outputs = [proc.communicate(timeout=timeout) for proc in procs]
    for out, err in outputs:
        log_output(" ".join([Path(cmd[0]).name, *cmd[1:]]), out, err)
    assert [proc.returncode for proc in procs] == [0] * times, [err for _, err in outputs]
    return [json.loads(out) for out, _ in outputs]


def cron_env(store: Path | str, home: Path, purpose: str) -> dict[str, str]:
    """The environment of a cron job on *store*: the firm administrator logs in once
    (session in *home*), makes an application password for *purpose*, and the job
    authenticates with it through SEMPI_USER / SEMPI_APP_PASSWORD, as docs/cron.md says.
    Both secrets are registered, so the suite checks they never leak."""
    import os
    import sys

    sempi = str(Path(sys.executable).parent / "sempi")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SEMPI_")}
    base["SEMPI_LANG"] = "en"
    env = {**base, "SEMPI_HOME": str(home), "SEMPI_DB": str(store)}
    login = run_logged(
        [sempi, "login", "-e", ADMIN_EMAIL, "--password-stdin"],
        env=env,
        input=ADMIN_PASSWORD + "\n",
    )
    assert login.returncode == 0, login.stderr
    for token in (home / "sessions").glob("*.session"):
        register_secret(token.read_text().strip(), "a session token")
    added = run_logged(
        [sempi, "auth", "app-password", "add", purpose, "--password-stdin"],
        env=env,
        input=ADMIN_PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    secret = register_secret(added.stdout.strip(), "an application password", shown_once=True)
    assert secret and secret.startswith("sempi-")
    return {**base, "SEMPI_USER": ADMIN_EMAIL, "SEMPI_APP_PASSWORD": secret}


def record_cli_run(store_path: Path, args: Sequence[str], input: str | None, result) -> None:
    """Log one Cli run's output and register the secrets it used, made or showed."""
    from sempi_cli.paths import session_file

    SECRETS.log_output(f"{_current_test()}: sempi {' '.join(args)}", result.stdout, result.stderr)
    if input and any(flag in args for flag in _SECRET_INPUT_FLAGS):
        for line in input.splitlines():
            if len(line) >= MIN_TYPED_SECRET or (len(line) == 6 and line.isdigit()):
                register_secret(line, "a secret typed on standard input")
    try:  # read directly: sempi's reader may refuse a file a test made unsafe on purpose
        token = session_file(store_path).read_text().strip()
    except (OSError, UnicodeDecodeError):
        token = ""
    if len(token) >= MIN_TOKEN:  # not junk a test wrote there on purpose
        register_secret(token, "a session token")
    if result.exit_code != 0:
        return
    words = set(args)
    if {"otp", "enable"} <= words:
        for key in _OTPAUTH_SECRET.findall(result.stdout):
            register_secret(key, "a TOTP secret (enrolment key)", shown_once=True)
    if {"otp", "enable"} <= words or {"recovery", "regenerate"} <= words:
        for code in _RECOVERY_CODE.findall(result.stdout):
            register_secret(code, "a recovery code", shown_once=True)
    if {"app-password", "add"} <= words:
        for secret in _APP_PASSWORD.findall(result.stdout):
            register_secret(secret, "an application password", shown_once=True)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """What pytest captured of each test phase: print(), stderr, logging."""
    # Each phase's report repeats the sections of the phases before it: take its own.
    own = [text for title, text in report.sections if title.endswith(f" {report.when}")]
    SECRETS.log_output(f"{report.nodeid} ({report.when}): captured output", *own)


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_this_workers_output() -> Iterator[None]:
    """At the end of each test process (each xdist worker), grep its whole log.
    A failure shows as an error in the teardown of that process's last test."""
    yield
    leaks = SECRETS.leaks()
    if leaks:
        pytest.fail("secrets leaked into output:\n" + "\n".join(leaks[:50]), pytrace=False)
