"""The fast path (cli/fastpath.py) answers `status --short`, `timer start` and
`timer pause` exactly as the full CLI does: each case runs both ways on the same
store from the same state, and stdout, stderr, the exit code and the store
afterwards must be equal. What the fast path does not know goes to the full CLI
untouched. In-process for the bulk; real processes through the `sempi` entry
point for a few, where a typer that cannot be imported proves which path ran."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from sempi_cli.cli import fastpath
from sempi_cli.cli.app import app
from sempi_cli.cli.context import AppContext
from sempi_cli.store.constants import SCHEMA_VERSION
from tests.conftest import NOW, register_secret, store_digest
from tests.helpers import DOER, HELPER, OUTSIDER, SEMPI, WATCHER

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Outcome:
    code: int | None
    stdout: str
    stderr: str
    store: str  # the store's content afterwards (store_digest)


def _store(path: Path) -> str:
    return store_digest(path) if path.exists() else "(no store)"


@pytest.fixture
def world(store_path, clock):
    """DOER responsible for tasks a and b (HELPER a participant, WATCHER an observer),
    a task that does not track time, an overdue one, a notification; OUTSIDER sees
    none of them. DOER is logged in (a session file, as `sempi login` leaves it)."""
    from sempi_cli.services.tasks.input import TaskInput
    from sempi_cli.services.tasks.tasks import TaskService
    from sempi_cli.store import open_store
    from tests.helpers import Org

    conn = open_store(store_path)
    try:
        org = Org(conn, clock)
        org.staff(DOER, HELPER, WATCHER, OUTSIDER)
        studio = org.practice("Studio Rossi")
        alfa = org.client("Alfa Srl", studio, 1)
        service = TaskService(conn, clock, org.admin)

        def task(title, **kw):
            kw.setdefault("time_tracking", True)
            data = TaskInput(
                title, responsibles=[DOER], participants=[HELPER], observers=[WATCHER], **kw
            )
            return service.add(data)[0]["id"]

        ids = {
            "a": task("Liquidazione IVA", client=alfa),
            "b": task("Bilancio", client=alfa, deadline="2026-11-20 18:00"),
            "off": task("Senza timer", client=alfa, time_tracking=False),
            "late": task("F24 scaduto", client=alfa, deadline="2026-11-10 18:00"),
        }
        from sempi_cli.services.notify.centre import NotificationService

        doer = conn.execute("SELECT id FROM users WHERE email = ?", (DOER,)).fetchone()[0]
        NotificationService(conn, clock, org.admin).notify(doer, "reminder", "F24", "test:1")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    login(store_path, DOER, clock.now())
    return ids


def login(store_path: Path, email: str, at: datetime) -> str:
    """A live session for ``email`` in the store and its token in the session file."""
    import secrets

    from sempi_cli import sessionfile
    from sempi_cli.paths import session_file
    from sempi_cli.services.identity.sessions import token_hash

    token = register_secret(secrets.token_urlsafe(32), "a session token")
    conn = sqlite3.connect(store_path)
    with conn:
        user = conn.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0]
        seen = (at - timedelta(minutes=5)).isoformat(timespec="seconds")
        ends = (at + timedelta(days=7)).isoformat(timespec="seconds")
        conn.execute(
            "INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (user, token_hash(token), seen, seen, ends),
        )
    conn.close()
    sessionfile.write_token(session_file(store_path), token)
    return token


def run_fast(args: list[str], clock) -> Outcome:
    """fastpath.run in this process, its streams captured as a terminal's would be."""
    saved = sys.stdout, sys.stderr
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    sys.stdout, sys.stderr = out, err
    try:
        code = fastpath.run(list(args), clock=clock)
    finally:
        sys.stdout, sys.stderr = saved
    texts = []
    for stream in (out, err):
        stream.flush()
        texts.append(stream.buffer.getvalue().decode())  # type: ignore[attr-defined]
    return Outcome(code, texts[0], texts[1], "")


def run_full(args: list[str], clock) -> Outcome:
    result = CliRunner().invoke(app, list(args), obj=AppContext(clock=clock))
    # The bytes: Click's result.stdout turns "\r\n" (CSV) into "\n".
    return Outcome(result.exit_code, result.stdout_bytes.decode(), result.stderr_bytes.decode(), "")


class Twice:
    """Runs a command line both ways from the same saved state of the store."""

    def __init__(self, store_path: Path, clock) -> None:
        self.store_path, self.clock = store_path, clock
        self.stores = [store_path]  # saved and restored around each pair of runs

    def _restore(self, saved: dict[Path, bytes | None]) -> None:
        for path, content in saved.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(content)

    def _save(self) -> dict[Path, bytes | None]:
        names = [Path(f"{s}{suffix}") for s in self.stores for suffix in ("", "-wal", "-shm")]
        return {p: p.read_bytes() if p.exists() else None for p in names}

    def __call__(self, *args: str, falls_through: bool = False) -> Outcome:
        saved = self._save()
        fast = run_fast(list(args), self.clock)
        fast = Outcome(fast.code, fast.stdout, fast.stderr, _store(self.store_path))
        if falls_through:
            assert fast == Outcome(None, "", "", _store(self.store_path)), fast
            self._restore(saved)
            return run_full(list(args), self.clock)
        assert fast.code is not None, "the fast path handed the command to the full CLI"
        self._restore(saved)
        full = run_full(list(args), self.clock)
        full = Outcome(full.code, full.stdout, full.stderr, _store(self.store_path))
        assert fast == full
        return fast


@pytest.fixture
def both(store_path, clock, world) -> Twice:
    return Twice(store_path, clock)


def timer_start(both, world, key="a", *extra: str) -> Outcome:
    return both("timer", "start", str(world[key]), *extra)


# --- success -----------------------------------------------------------------------------


def test_start_pause_and_start_again_on_another_task(both, world, clock):
    started = timer_start(both, world)
    assert (started.code, started.stdout) == (0, "")
    assert started.stderr == f"Timer started on task {world['a']} (entry 1).\n"
    clock.advance(timedelta(minutes=42))
    moved = timer_start(both, world, "b")
    assert moved.stderr.splitlines() == [
        f"Paused the timer on task {world['a']} (42 min).",
        f"Timer started on task {world['b']} (entry 2).",
    ]
    clock.advance(timedelta(minutes=5))
    paused = both("timer", "pause")
    assert (paused.code, paused.stderr) == (0, f"Paused the timer on task {world['b']} (5 min).\n")


@pytest.mark.parametrize(
    "options",
    [
        ["--json"],
        ["--format", "json"],
        ["--format=JSON"],
        ["--format", "jsonl"],
        ["--format", "csv"],
        ["-q"],
        ["--quiet", "--json"],
        ["--yes", "--no-input"],
    ],
)
def test_global_options_anywhere(both, world, clock, options):
    import json

    started = both(*options, "timer", "start", str(world["a"]))
    assert started.code == 0
    clock.advance(timedelta(minutes=1))
    paused = both("timer", "pause", str(world["a"]), *options)
    assert paused.code == 0
    if "json" in " ".join(options).lower() and "jsonl" not in options:
        assert json.loads(started.stdout)["task_id"] == world["a"]
        assert json.loads(paused.stdout)["seconds"] == 60
    if "-q" in options or "--quiet" in options:
        assert started.stderr == paused.stderr == ""


def test_the_store_by_db_option_and_by_environment(both, world, store_path, tmp_path, monkeypatch):
    other = tmp_path / "elsewhere" / "studio.db"
    other.parent.mkdir(mode=0o700)
    shutil.copy2(store_path, other)
    both.stores.append(other)
    # --db names another file: a session for that store is its own (not logged in there).
    assert both("--db", str(other), "timer", "start", str(world["a"])).code == 7
    login(other, DOER, NOW)
    assert both(f"--db={other}", "timer", "start", str(world["a"])).code == 0
    monkeypatch.setenv("SEMPI_DB", str(other))
    assert both("timer", "pause").code == 0
    relative = os.path.relpath(other)
    assert both("--db", relative, "timer", "start", str(world["a"])).code == 0


# --- refusals: the same line, the same code, nothing written ------------------------------


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["timer", "start", "999"], 3, "task 999 not found"),
        (["timer", "start", "0"], 3, "task 0 not found"),
        (["timer", "pause"], 5, "no timer of yours is running"),
        (["timer", "pause", "999"], 3, "task 999 not found"),
    ],
)
def test_not_found_and_nothing_to_pause(both, args, code, words):
    failed = both(*args)
    assert failed.code == code and words in failed.stderr
    assert failed.stderr.startswith("Error: ") and failed.stderr.count("\n") == 1


def test_someone_elses_task_is_not_found_and_a_task_seen_but_not_mine_is_denied(
    both, world, store_path, clock
):
    login(store_path, OUTSIDER, clock.now())  # sees none of DOER's tasks
    hidden = timer_start(both, world)
    assert (hidden.code, hidden.stderr) == (3, f"Error: task {world['a']} not found.\n")
    login(store_path, WATCHER, clock.now())  # an observer sees the task, may not time it
    denied = timer_start(both, world)
    assert denied.code == 8 and "only the responsible and the participants" in denied.stderr
    conn = sqlite3.connect(store_path)
    audit = conn.execute(
        "SELECT details FROM audit_log WHERE action = 'denied' ORDER BY id DESC"
    ).fetchone()
    conn.close()
    assert '"command": "timer start"' in audit[0]  # both wrote it (the digests are equal)


def test_already_running_tracking_off_and_pause_of_another_task(both, world):
    assert timer_start(both, world).code == 0
    again = timer_start(both, world)
    assert again.code == 5
    assert again.stderr == (
        f"Error: your timer is already running on task {world['a']}."
        f" Pause it with 'sempi timer pause {world['a']}'.\n"
    )
    off = timer_start(both, world, "off")
    assert off.code == 5 and "time tracking is off" in off.stderr
    other = both("timer", "pause", str(world["b"]))
    assert other.code == 5 and f"on task {world['b']}" in other.stderr


def test_not_logged_in_ended_and_expired_sessions(both, world, store_path, clock, sempi_home):
    from sempi_cli.paths import session_file

    session = session_file(store_path)
    token = session.read_text()
    session.unlink()
    out = timer_start(both, world)
    assert out.code == 7 and "you are not logged in" in out.stderr
    assert both("status", "--short") == Outcome(7, "", "", _store(store_path))
    session.write_text(token)
    os.chmod(session, 0o600)
    clock.advance(timedelta(hours=9))  # idle past auth.session_idle_hours
    expired = both("timer", "pause")
    assert expired.code == 7 and "your session has expired" in expired.stderr
    session.write_text("not-a-token\n")
    assert "your session has ended" in both("timer", "pause").stderr
    os.chmod(session, 0o644)  # readable by others: refused, naming the file
    unsafe = both("timer", "pause")
    assert unsafe.code == 7 and "too open" in unsafe.stderr


def test_a_user_who_must_enrol_in_two_step_login_is_refused_and_audited(both, world, store_path):
    conn = sqlite3.connect(store_path)
    with conn:
        conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES ('auth.require_otp', 'all', ?)",
            (NOW.isoformat(),),
        )
    conn.close()
    refused = timer_start(both, world)
    assert refused.code == 8 and "two-step login is required" in refused.stderr
    assert both("status", "--short").code == 8


def test_no_store_and_stores_that_are_not_ours(both, world, store_path, tmp_path):
    missing = tmp_path / "nowhere" / "sempi.db"
    gone = both("--db", str(missing), "timer", "start", "1")
    assert (gone.code, gone.stdout) == (10, "")
    assert gone.stderr == f"Error: no sempi store at {missing}. Create one with 'sempi init'.\n"
    assert both("--db", str(missing), "status", "--short").stderr == ""
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    assert both("--db", str(foreign), "timer", "pause").stderr == (
        f"Error: {foreign} is not a sempi store.\n"
    )
    text = tmp_path / "notes.db"
    text.write_text("appunti\n")
    assert both("--db", str(text), "timer", "pause").code == 10
    os.chmod(store_path, 0o644)  # others may read it: refused
    assert "too open" in both("timer", "pause").stderr


def test_a_busy_store_is_exit_9_on_both_paths(both, world, store_path, monkeypatch):
    from sempi_cli.store import constants

    waits = tuple(p.replace(str(constants.BUSY_TIMEOUT_MS), "50") for p in constants.PRAGMAS)
    monkeypatch.setattr("sempi_cli.store.connection.PRAGMAS", waits)
    monkeypatch.setattr("sempi_cli.store.connection.BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(store_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        busy = timer_start(both, world)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert busy.code == 9 and "the store is busy" in busy.stderr


# --- status --short ---------------------------------------------------------------------


def test_status_short_line_and_json(both, world, clock, monkeypatch):
    import json

    monkeypatch.setenv("LC_ALL", "it_IT.UTF-8")
    idle = both("status", "--short")
    assert idle.code == 0 and idle.stderr == ""
    assert idle.stdout.endswith("overdue\n") and "unread" in idle.stdout
    timer_start(both, world)
    clock.advance(timedelta(minutes=42))
    line = both("status", "--short").stdout
    assert line.startswith(f"\u23f1 0:42 #{world['a']} \u00b7 ") and " \u00b7 1 overdue" in line
    monkeypatch.setenv("LC_ALL", "C")
    assert both("status", "--short").stdout.startswith(f"timer 0:42 #{world['a']} | ")
    record = json.loads(both("--json", "status", "--short").stdout)
    assert record["timer"]["elapsed_seconds"] == 42 * 60 and record["overdue"] == 1


def test_status_short_keeps_no_session_alive_and_writes_nothing(both, world, store_path):
    before = _store(store_path)
    assert both("status", "--short").store == before  # last_seen_at is 5 minutes old
    assert timer_start(both, world).store != before  # a command is activity


# --- what the fast path hands over untouched --------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["status", "--short", "--help"],
        ["timer", "start", "--help"],
        ["--help"],
        ["--version"],
        ["--debug", "timer", "pause"],
        ["timer", "status"],
        ["timer", "start"],
        ["timer", "start", "abc"],
        ["timer", "start", "+1"],
        ["timer", "start", "1", "2"],
        ["timer", "start", "99999999999999999999"],
        ["timer", "start", "--", "1"],
        ["timer", "pause", "--verbose"],
        ["--format", "xml", "timer", "pause"],
        ["--format"],
        ["--db", "", "timer", "pause"],
        ["-qy", "timer", "pause"],
        ["timer", "start", "1\x00"],
        ["timer", "start", "\udcff"],
        ["client", "list"],
    ],
)
def test_anything_else_goes_to_the_full_cli_untouched(both, args):
    both(*args, falls_through=True)


def test_a_directory_as_db_goes_to_the_full_cli(both, tmp_path):
    refused = both("--db", str(tmp_path), "timer", "pause", falls_through=True)
    assert refused.code == 2 and "is a directory" in refused.stderr


def test_a_db_file_typer_may_not_read_goes_to_the_full_cli(both, store_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for another account
    refused = both("--db", str(store_path), "timer", "pause", falls_through=True)
    assert refused.code == 2 and "is not readable" in refused.stderr


@pytest.mark.parametrize(
    "variable", ["SEMPI_APP_PASSWORD", "_SEMPI_COMPLETE", "_TYPER_COMPLETE_ARGS"]
)
def test_application_passwords_and_completion_go_to_the_full_cli(both, monkeypatch, variable):
    monkeypatch.setenv("SEMPI_USER", DOER)
    monkeypatch.setenv(variable, "x")
    assert run_fast(["timer", "pause"], None).code is None


def test_a_store_to_migrate_or_newer_goes_to_the_full_cli(both, world, store_path):
    conn = sqlite3.connect(store_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    newer = both("timer", "pause", falls_through=True)
    assert newer.code == 10 and "newer than this sempi knows" in newer.stderr
    conn = sqlite3.connect(store_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")  # as before a migration
    conn.close()
    older = both("timer", "start", str(world["a"]), falls_through=True)
    assert older.code == 0  # the full CLI migrates what is pending, then starts it


def test_the_fast_path_knows_the_formats_of_the_full_cli():
    from sempi_cli.output import FORMATS

    assert fastpath.FORMATS == FORMATS


# --- real processes through the `sempi` entry point ---------------------------------------


@pytest.fixture
def real_time_world(world, store_path):
    """The same firm, DOER's session made for the real clock (processes use it)."""
    login(store_path, DOER, datetime.now(UTC))
    return world


@pytest.fixture
def no_typer(tmp_path) -> str:
    """A folder holding a `typer` that cannot be imported: put first on PYTHONPATH it
    makes the full CLI fail, so a command that succeeds took the fast path."""
    folder = tmp_path / "no-typer"
    (folder / "typer").mkdir(parents=True)
    (folder / "typer" / "__init__.py").write_text("raise ImportError('typer: not here')\n")
    return str(folder)


def sempi(*args: str, fast: bool, env_extra: dict[str, str] | None = None):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SEMPI_FASTPATH"] = "1" if fast else "0"
    env.update(env_extra or {})
    return subprocess.run([SEMPI, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["timer", "start", "A"],
        ["timer", "pause"],
        ["--json", "timer", "start", "999"],
        ["status", "--short"],
        ["--db", "/nonexistent/sempi.db", "timer", "pause"],
    ],
)
def test_the_entry_point_answers_as_the_full_cli_without_importing_typer(
    real_time_world, store_path, args, no_typer
):
    args = [str(real_time_world["a"]) if a == "A" else a for a in args]
    twice = Twice(store_path, None)
    saved = twice._save()
    fast = sempi(*args, fast=True, env_extra={"PYTHONPATH": no_typer})
    fast_rows = _rows(store_path)
    twice._restore(saved)
    full = sempi(*args, fast=False)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        full.returncode,
        full.stdout,
        full.stderr,
    )
    assert fast_rows == _rows(store_path)  # the real clock: rows, not timestamps
    assert "typer: not here" not in fast.stderr


def _rows(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            for table in ("time_entries", "task_history", "audit_log", "sessions")
        ] + conn.execute("SELECT task_id, ended_at IS NULL FROM time_entries").fetchall()
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("closed", [">&-", "2>&-", ">&- 2>&-"])
def test_closed_output_streams_end_alike(real_time_world, closed):
    """A prompt's `sempi status --short >&-`: Click's echo skips a stream that was
    closed at start, and so does the fast path; the exit codes agree."""
    codes = []
    for fast in (True, False):
        for args in ("status --short", f"timer start {real_time_world['a']}", "timer pause"):
            env = {**os.environ, "SEMPI_FASTPATH": "1" if fast else "0"}
            shell = f"{SEMPI} {args} {closed}"
            codes.append(subprocess.run(["sh", "-c", shell], env=env, timeout=60).returncode)
    assert codes[:3] == codes[3:] == [0, 0, 0]


@pytest.mark.slow
def test_the_entry_point_hands_other_commands_to_the_full_cli(real_time_world, no_typer):
    assert sempi("whoami", fast=True).returncode == 0
    # With typer missing, the full CLI cannot start: proof that it was asked.
    failed = sempi("whoami", fast=True, env_extra={"PYTHONPATH": no_typer})
    assert failed.returncode != 0 and "typer: not here" in failed.stderr


@pytest.mark.slow
def test_the_fast_path_imports_no_framework(real_time_world):
    """Run in a bare interpreter (no site: nothing preloaded), the hot commands import
    neither typer nor sqlite-utils nor tabulate, nor the slow stdlib modules that the
    fast path exists to avoid."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from sempi_cli.cli import fastpath;"
        f"codes = [fastpath.run(a) for a in (['timer', 'start', '{real_time_world['a']}'],"
        " ['timer', 'pause'], ['status', '--short'])];"
        "print(codes, ' '.join(sorted(sys.modules)))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, str(ROOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    last = done.stdout.splitlines()[-1] if done.stdout else ""
    assert last.startswith("[0, 0, 0] "), (done.stdout, done.stderr)
    loaded = set(last.split())
    assert "sempi_cli.services.ops.glance" in loaded, done.stderr
    heavy = {"typer", "click", "sqlite_utils", "tabulate", "dataclasses", "pathlib", "typing"}
    heavy |= {"zoneinfo", "json", "re", "hashlib", "sempi_cli.cli.app", "sempi_cli.output"}
    assert loaded & heavy == set()


# --- the light modules name files as pathlib and typer did ---------------------------------


@given(st.text(alphabet="/.~ab", max_size=12))
def test_path_text_is_pathlibs_form(text):
    from sempi_cli.paths import path_text

    def outcome(make):
        try:
            return make()
        except Exception as exc:  # "~" alone may not expand in a bare environment
            return type(exc)

    assert outcome(lambda: path_text(text)) == outcome(lambda: str(Path(text).expanduser()))
    assert path_text(text, expand=False) == str(Path(text))


@pytest.mark.parametrize("xdg", [None, "", "/srv/config", "~/cfg"])
def test_the_home_without_sempi_home_is_typers_app_dir(monkeypatch, xdg):
    import typer

    from sempi_cli import paths

    monkeypatch.delenv("SEMPI_HOME")
    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    assert paths.home() == Path(typer.get_app_dir("sempi"))
    assert paths.store_path() == Path(typer.get_app_dir("sempi")) / "sempi.db"


@pytest.mark.parametrize("home", ["/tmp/h", "/tmp/h/", "rel/h", ".", "~/h"])
def test_the_session_file_of_a_store_is_where_it_was(monkeypatch, tmp_path, home):
    import hashlib

    from sempi_cli.paths import session_file, session_text

    monkeypatch.setenv("SEMPI_HOME", home)
    store = tmp_path / "a" / ".." / "sempi.db"
    key = hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:16]
    expected = Path(home).expanduser() / "sessions" / f"{key}.session"
    assert session_file(store) == expected
    assert session_text(str(store)) == str(expected)
