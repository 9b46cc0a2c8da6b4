"""The command-line frame: global options, one-line errors, exit codes."""

from __future__ import annotations

import json
import os

import pytest

from sempi_cli.cli.app import hoist_global_options
from sempi_cli.store import open_store
from tests.conftest import store_digest
from tests.helpers import assert_one_line_error, ok


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("sempi ")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["client", "list", "--json"], ["--json", "client", "list"]),
        (["client", "list", "--format", "csv", "-q"], ["--format", "csv", "-q", "client", "list"]),
        (["client", "list", "--format=csv"], ["--format=csv", "client", "list"]),
        (["--db", "x.db", "client", "list"], ["--db", "x.db", "client", "list"]),
        (["client", "add", "--", "--json"], ["client", "add", "--", "--json"]),
    ],
)
def test_global_options_may_stand_anywhere(args, expected):
    assert hoist_global_options(args) == expected


def test_json_after_the_command(cli):
    result = cli("studio", "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_bad_format_is_a_usage_error(cli):
    assert_one_line_error(cli("--format", "xml", "studio", "list"), 2, "--format")


@pytest.mark.parametrize(
    "args",
    [
        ("client", "show", "99999999999999999999999"),
        ("task", "list", "--client", "99999999999999999999999"),
        ("doc", "list", "--client", "-99999999999999999999999"),
    ],
)
def test_an_id_too_large_for_the_store_is_a_usage_error(cli, args):
    line = assert_one_line_error(cli(*args), 2)
    assert args[-1] in line and "too large" in line


@pytest.mark.parametrize(
    "args",
    [
        ("task", "list", "--client=99999999999999999999"),
        ("doc", "list", "-c99999999999999999999"),
        ("client", "show", "99_999_999_999_999_999_999"),
        ("client", "list", "--limit= 99999999999999999999"),
    ],
)
def test_a_too_large_id_however_typed_is_a_usage_error(cli, args):
    """--opt=N, -oN, underscores, spaces: every form Click reads as an integer (the fuzz
    test found --client=N past 2**63 reported as an internal OverflowError)."""
    line = assert_one_line_error(cli(*args), 2, "too large")
    assert "99" in line


def test_unknown_command_is_a_usage_error(cli):
    assert_one_line_error(cli("clinet", "list"), 2, "No such command")


def test_missing_required_option_names_it(cli, store_path):
    before = store_digest(store_path)
    assert_one_line_error(cli("client", "add", "--studio", "1"), 2, "--name")
    assert store_digest(store_path) == before


def test_bad_integer_argument(cli):
    assert_one_line_error(cli("client", "show", "twelve"), 2, "client_id")


def test_group_without_verb_shows_help(cli):
    result = cli("client")
    assert "add" in result.stdout and "list" in result.stdout


def test_not_a_sempi_store(cli, tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("not a database")
    line = assert_one_line_error(cli("--db", str(other), "client", "list", as_user=None), 10)
    assert "not a sempi store" in line


def test_a_store_name_too_long_for_the_file_system_is_unusable(cli, tmp_path):
    """ENAMETOOLONG is the store's problem (10), not an internal OSError (found by fuzzing)."""
    long_name = tmp_path / ("a" * 300)
    line = assert_one_line_error(cli("--db", str(long_name), "client", "list", as_user=None), 10)
    assert "cannot open" in line


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="Linux /proc")
def test_a_store_file_that_fails_to_read_is_unusable(cli):
    """/proc/self/mem stats as a regular file and fails every read with EIO."""
    line = assert_one_line_error(cli("--db", "/proc/self/mem", "client", "list"), 10)
    assert "cannot read" in line


@pytest.mark.parametrize(
    "args", [("doc", "import", "a\nb", "--client", "1"), ("task", "import", "a\rb\n")]
)
def test_an_error_quoting_a_line_break_stays_one_line(cli, args):
    """A file name with a line break, quoted in the error, is escaped like any control
    character: the Error line stays one line (the fuzz test found two)."""
    line = assert_one_line_error(cli(*args), 6)
    assert "\n" not in line and "\r" not in line and "\\x0" in line


def test_not_logged_in(cli):
    line = assert_one_line_error(cli("client", "list", as_user=None), 7)
    assert "sempi login" in line


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), OverflowError("date value")])
def test_internal_error_is_one_line_and_exit_1(cli, monkeypatch, error):
    """An OverflowError with no huge number typed is internal too, and --debug shows it."""
    from sempi_cli.services.org.studios import StudioService

    def broken(self, **kwargs):
        raise error

    monkeypatch.setattr(StudioService, "list", broken)
    line = assert_one_line_error(cli("studio", "list"), 1)
    assert "--debug" in line
    with pytest.raises(type(error)):
        cli("--debug", "studio", "list")


def test_store_busy_is_exit_9(cli, store_path):
    """Another process holds the write lock past the timeout: exit 9, retry later."""
    from sempi_cli.cli.context import AppContext

    holder = open_store(store_path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        impatient = open_store(store_path)
        impatient.execute("PRAGMA busy_timeout = 50")
        obj = AppContext(db_path=store_path, clock=cli.clock, actor_email="admin@sempi.test")
        obj._conn = impatient
        from sempi_cli.cli.app import app

        result = cli.runner.invoke(app, ["studio", "add", "--name", "Studio Busy"], obj=obj)
        line = assert_one_line_error(result, 9)
        assert "retry" in line.lower()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_csv_and_jsonl_outputs(cli):
    cli("studio", "add", "--name", "Studio Uno", "--city", "Roma, centro")
    cli("studio", "add", "--name", "Studio Due")
    csv_out = cli("studio", "list", "--format", "csv").stdout.splitlines()  # CRLF or LF
    assert csv_out[0] == "id,name,partita_iva,city,email,clients"
    assert '"Roma, centro"' in csv_out[2] or '"Roma, centro"' in csv_out[1]
    jsonl = [
        json.loads(line) for line in cli("studio", "list", "--format", "jsonl").stdout.splitlines()
    ]
    assert {r["name"] for r in jsonl} == {"Studio Uno", "Studio Due"}
    assert all(isinstance(r["id"], int) for r in jsonl)


def test_quiet_silences_messages_not_errors(cli):
    result = cli("db", "check", "--quiet")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_bad_date_names_the_option(cli):
    line = assert_one_line_error(cli("audit", "list", "--since", "the day after"), 6)
    assert line.startswith("Error: --since: cannot read 'the day after' as a date")


def test_dates_people_type_are_accepted(cli):
    for text in ("2026-11-01", "01/11/2026", "-7d", "yesterday", "lun"):
        assert cli("audit", "list", "--since", text).exit_code == 0, text


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["--help"],
        ["task", "due"],
        ["task", "list", "--all", "--json"],
        ["scheduler", "rules"],
        ["user", "list"],
    ],
    ids=" ".join,
)
def test_a_closed_pipe_ends_the_command_quietly(args, store_path, tmp_path, cli) -> None:
    """`sempi task due | head -1`: the reader has gone; no traceback, no internal
    error, exit 141 as a Unix tool ended by SIGPIPE. The pipe is closed before the
    command writes, so every run meets it (not 7 runs in 10)."""
    import subprocess

    from tests.conftest import cron_env
    from tests.helpers import SEMPI

    for n in range(30):
        cli("task", "add", f"Pratica {n}", "--deadline", "tomorrow")
    env = {**cron_env(store_path, tmp_path / "home", "pipe"), "SEMPI_DB": str(store_path)}
    proc = subprocess.Popen(
        [SEMPI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""


def test_stored_escapes_never_reach_the_terminal(cli, db):
    """Text stored before the input rules (or written by another path) is shown,
    not obeyed: tables, records, text views and messages show escapes; JSON keeps
    the exact text, escaped as JSON allows."""
    hostile = "F24 \x1b]52;c;ZXZpbA==\x07\x9b31m"
    created = json.loads(cli("task", "add", "F24", "--json").stdout)[0]
    with db:
        db.execute(
            "UPDATE tasks SET title = ?, description = ? WHERE id = ?",
            (hostile, hostile, created["id"]),
        )
    for args in (
        ("task", "list"),
        ("task", "show", str(created["id"])),
        ("task", "list", "--format", "csv"),
        ("task", "done", str(created["id"])),
        ("task", "history", str(created["id"])),
    ):
        result = cli(*args)
        for stream in (result.stdout, result.stderr):
            assert not any(c in stream for c in "\x1b\x07\x9b"), args
    assert "\\x1b]52" in cli("task", "show", str(created["id"])).stdout
    # A text view printed straight to the terminal (the checklist tree).
    cli("checklist", "add", str(created["id"]), "Controllo")
    with db:
        db.execute("UPDATE checklist_items SET text = ?", (hostile,))
    tree = cli("checklist", "list", str(created["id"]))
    assert "Controllo" not in tree.stdout and "\\x1b]52" in tree.stdout
    assert not any(c in tree.stdout for c in "\x1b\x07\x9b")
    shown = json.loads(cli("task", "show", str(created["id"]), "--json").stdout)
    assert shown["title"] == hostile


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["task", "add", "caf\udce9"], "argument 3"),
        (["task", "add", "Pratica", "--description", "caf\udce9"], "--description"),
        (["task", "add", "Pratica", "--description=caf\udce9"], "--description"),
        (["client", "list", "--search", "\udce9"], "--search"),
        (["task", "export", "--output", "x\0y"], "--output"),
        (["client", "export", "1", "--output", "x\0y"], "--output"),
    ],
)
def test_arguments_that_are_not_utf8_are_refused_by_name(cli, store_path, args, field):
    """Bytes that are not UTF-8 in argv (a Latin-1 script) were an internal error
    (UnicodeEncodeError in the store); now one line naming the option, exit 6,
    nothing written."""
    before = store_digest(store_path)
    line = assert_one_line_error(cli(*args), 6, field)
    assert "UTF-8" in line or "NUL" in line
    assert "\udce9" not in line
    assert store_digest(store_path) == before


def test_a_password_on_stdin_that_is_not_utf8_is_refused(cli):
    result = cli(
        "login",
        "--email",
        "admin@example.test",
        "--password-stdin",
        as_user=None,
        input=b"caf\xe9\n",
    )
    assert_one_line_error(result, 6, "password", "not valid UTF-8")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "args", "field"),
    [
        ("fifo", ["task", "import", "{path}"], "FILE"),
        ("zero", ["task", "import", "{path}"], "FILE"),
        ("fifo", ["checklist", "file", "add", "{item}", "{path}"], "PATH"),
        ("zero", ["checklist", "file", "add", "{item}", "{path}"], "PATH"),
        ("fifo", ["doc", "import", "{tree}", "--client", "1", "--mapping", "{path}"], "--mapping"),
    ],
)
def test_a_pipe_or_a_device_as_a_file_is_refused_without_hanging(
    kind, args, field, store_path, tmp_path, cli, org
):
    """`task import FIFO` waited forever and `task import /dev/zero` grew ~0.5 GB/s:
    anything that is not a regular file is refused before a byte is read."""
    import subprocess

    from tests.conftest import cron_env
    from tests.helpers import SEMPI

    org.client("Alfa Srl", org.practice("Studio Rossi"), 1)
    task = ok(cli("task", "add", "F24", "--json"), json=True)[0]["id"]
    item = ok(cli("checklist", "add", str(task), "Ricevuta", "--json"), json=True)["id"]
    (tmp_path / "tree").mkdir()
    path = "/dev/zero"
    if kind == "fifo":
        path = str(tmp_path / "pipe")
        os.mkfifo(path)
    words = [a.format(path=path, item=item, tree=tmp_path / "tree") for a in args]
    env = {**cron_env(store_path, tmp_path / "home", "files"), "SEMPI_DB": str(store_path)}
    quiet = ("app_passwords", "audit_log")  # the job's login is recorded
    before = store_digest(store_path, quiet)
    result = subprocess.run(
        [SEMPI, *words, "--yes"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 6, result.stderr
    assert result.stderr.count("\n") == 1 and field in result.stderr
    assert "not a regular file" in result.stderr
    assert store_digest(store_path, quiet) == before


@pytest.mark.slow
def test_endless_standard_input_is_capped(store_path, tmp_path):
    """`cat /dev/zero | sempi task import -` stops at the cap with one line."""
    import subprocess

    from tests.conftest import cron_env
    from tests.helpers import SEMPI

    env = {**cron_env(store_path, tmp_path / "home", "stdin"), "SEMPI_DB": str(store_path)}
    with open("/dev/zero", "rb") as zero:
        result = subprocess.run(
            [SEMPI, "task", "import", "-", "--yes"],
            stdin=zero,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 6, result.stderr
    assert "too large to read" in result.stderr and result.stderr.count("\n") == 1


def test_a_group_builds_only_the_command_asked_for():
    """Typer would turn every function of a group into a Click command to run one."""
    import typer

    from sempi_cli.cli.app import LazyGroup, lazy_group
    from sempi_cli.cli.chat.commands import app as chat_app

    group = lazy_group(chat_app, "chat")
    assert isinstance(group, LazyGroup) and group.commands == {}
    ctx = typer.Context(group)
    assert group.get_command(ctx, "send").name == "send"
    assert set(group.commands) == {"send"} and "show" in group.pending
    assert group.list_commands(ctx)[:2] == ["send", "show"]  # as declared, for help
    assert group.get_command(ctx, "nothing") is None
