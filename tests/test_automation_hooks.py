"""Hooks (services/automation/hooks.py and runner.py): real executables in the hooks'
folder beside the store. Before-hooks veto a change inside its transaction; after-hooks
get the events in batches, at least once, in order per client, with retries and dead
letters."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from sempi_cli.clock import iso_utc
from sempi_cli.services import event_log
from sempi_cli.services.automation import hooks, runner
from sempi_cli.store import open_store, write_transaction
from tests.conftest import ADMIN_EMAIL, cron_env
from tests.helpers import SEMPI, assert_one_line_error, data, ok

PYTHON = sys.executable
STAFF = "anna@studio.test"


@pytest.fixture
def folder(store_path: Path) -> Path:
    """The default hooks' folder: ``hooks`` beside the store, the service account's."""
    where = store_path.parent / "hooks"
    where.mkdir(mode=0o700)
    return where


def hook(folder: Path, name: str, body: str, *, python: bool = False) -> Path:
    """An executable in the folder: a shell script, or a Python one."""
    path = folder / name
    shebang = f"#!{PYTHON}\n" if python else "#!/bin/sh\n"
    path.write_text(shebang + body)
    path.chmod(0o700)
    return path


def digest(store: Path) -> str:
    """The whole store's content (every table's rows), to prove nothing was written."""
    conn = sqlite3.connect(store)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


def events(db, kind: str | None = None) -> list[sqlite3.Row]:
    sql = "SELECT * FROM events" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
    return db.execute(sql, (kind,) if kind else ()).fetchall()


# --- before-hooks ----------------------------------------------------------------------------


def test_a_before_hook_that_exits_non_zero_vetoes_the_change_with_its_first_stderr_line(
    cli, store_path, folder
):
    hook(
        folder,
        "before-task.created",
        "cat > /dev/null\necho 'Titolo non ammesso: usare il modello F24' >&2\n"
        "echo 'second line' >&2\necho 'ignored stdout'\nexit 3\n",
    )
    before = digest(store_path)
    result = cli("task", "add", "Invio F24")
    line = assert_one_line_error(result, 5, "Titolo non ammesso: usare il modello F24")
    assert "second line" not in line and "ignored stdout" not in result.stdout + result.stderr
    assert digest(store_path) == before


def test_a_silent_refusal_names_the_hook_and_its_exit_code(cli, store_path, folder):
    hook(folder, "before-task.created", "exit 4\n")
    before = digest(store_path)
    result = cli("task", "add", "Invio F24")
    assert_one_line_error(result, 5, "the hook before-task.created refused the change (exit 4)")
    assert digest(store_path) == before


def test_a_hook_that_accepts_gets_the_event_on_stdin_in_its_folder_and_a_minimal_environment(
    cli, db, folder, monkeypatch
):
    monkeypatch.setenv("SEMPI_APP_PASSWORD", "sempi-not-to-be-seen")
    monkeypatch.setenv("SOME_PASSWORD", "hunter2")
    hook(folder, "before-task.created", "cat > seen.json\nenv > seen.env\npwd > seen.pwd\n")
    task = data(cli("task", "add", "Invio F24", "--json"))[0]
    event = json.loads((folder / "seen.json").read_text())
    assert event["kind"] == "task.created" and event["object"] == {"type": "task", "id": task["id"]}
    assert event["schema"] == 1 and event["actor"]["email"] == ADMIN_EMAIL
    assert [e["id"] for e in events(db, "task.created")] == [event["id"]]
    env = dict(
        line.split("=", 1) for line in (folder / "seen.env").read_text().splitlines() if "=" in line
    )
    assert env["SEMPI_EVENT_KIND"] == "task.created" and env["SEMPI_HOOK_PHASE"] == "before"
    assert env["SEMPI_EVENT_ID"] == str(event["id"])
    assert env["SEMPI_CAUSE"] == str(event["id"])  # its own commands' events name it
    assert "sempi-not-to-be-seen" not in (folder / "seen.env").read_text()
    assert "hunter2" not in (folder / "seen.env").read_text()
    assert not {k for k in env if k.startswith("SEMPI_") and k not in hooks_env_names()}
    assert (folder / "seen.pwd").read_text().strip() == str(folder)


def hooks_env_names() -> set[str]:
    return {"SEMPI_HOOK", "SEMPI_HOOK_PHASE", "SEMPI_EVENT_KIND", "SEMPI_EVENT_ID", "SEMPI_CAUSE"}


def test_a_hook_past_its_timeout_is_killed_with_its_group_and_the_change_refused(
    cli, store_path, folder
):
    ok(cli("config", "set", "automation.hook_timeout", "1"))
    hook(folder, "before-task.created", "sleep 30 &\necho $! > child.pid\nsleep 30\n")
    before = digest(store_path)
    started = time.monotonic()
    result = cli("task", "add", "Invio F24")
    elapsed = time.monotonic() - started
    assert_one_line_error(result, 5, "before-task.created", "1 s", "refused")
    assert elapsed < 20  # 1 s, and whatever a loaded machine adds; never the 30 s
    assert digest(store_path) == before
    child = int((folder / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for a parent that is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_garbage_on_stderr_becomes_one_safe_line(cli, folder):
    hook(
        folder,
        "before-task.created",
        "printf '\\n\\033[31mRifiutato\\007 \\377\\376 dal\\tcontrollo\\r finto\\033]0;x\\007\\n"
        "seconda' >&2\nexit 1\n",
    )
    result = cli("task", "add", "Invio F24")
    line = assert_one_line_error(result, 5, "Rifiutato", "dal controllo")
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in line)
    assert "seconda" not in line


def test_a_long_stderr_line_is_capped(cli, folder):
    hook(folder, "before-task.created", "head -c 100000 /dev/zero | tr '\\0' 'x' >&2\nexit 1\n")
    line = assert_one_line_error(cli("task", "add", "Invio F24"), 5)
    assert len(line) < hooks.MESSAGE_LIMIT + 20


def test_safe_line_keeps_printable_text_and_drops_the_rest():
    assert hooks.safe_line(b"\n\n  ok \x1b[1mbold\x1b[0m\r\nnext") == "ok [1mbold [0m"
    assert hooks.safe_line(b"\xff\xfe") == "\ufffd\ufffd"
    assert hooks.safe_line("rtl \u202eevil".encode()) == "rtl evil"
    assert hooks.safe_line(b"") == ""


def test_no_hooks_lets_a_firm_administrator_skip_the_before_hooks_audited(cli, db, folder):
    hook(folder, "before-task.created", "echo no >&2\nexit 1\n")
    ok(cli("task", "add", "Invio F24", "--no-hooks"))  # anywhere on the line
    assert len(events(db, "task.created")) == 1
    audited = db.execute(
        "SELECT actor_id, details FROM audit_log WHERE action = 'hooks_skipped' ORDER BY id"
    ).fetchall()
    assert [json.loads(r[1]) for r in audited] == [{"command": "task add"}]
    assert_one_line_error(cli("task", "add", "Invio F24"), 5, "no")  # the next command: hooks


def test_no_hooks_is_refused_to_anyone_else_and_nothing_is_written(cli, org, store_path, folder):
    org.user(STAFF)
    hook(folder, "before-task.created", "echo no >&2\nexit 1\n")
    result = cli("--no-hooks", "task", "add", "Invio F24", as_user=STAFF)
    assert_one_line_error(result, 8, "firm administrator", "--no-hooks")
    conn = sqlite3.connect(store_path)
    denied = conn.execute("SELECT details FROM audit_log WHERE action = 'denied'").fetchall()
    assert [json.loads(r[0])["command"] for r in denied] == ["task add"]
    assert not conn.execute("SELECT 1 FROM tasks").fetchall()
    assert not conn.execute("SELECT 1 FROM events WHERE kind = 'task.created'").fetchall()
    conn.close()


# --- the folder's and the hooks' permissions --------------------------------------------------


def doctor(cli) -> list[dict]:
    """`sempi doctor`'s rows (it exits 10 when a check fails)."""
    return json.loads(cli("doctor", "--json").stdout)


def test_a_group_writable_hook_is_refused_and_doctor_reports_it(cli, folder):
    path = hook(folder, "before-task.created", "exit 0\n")
    path.chmod(0o720)
    assert_one_line_error(cli("task", "add", "Invio F24"), 5, str(path), "0720")
    rows = {r["check"]: r for r in doctor(cli)}
    assert rows["hooks"]["status"] == "fail" and "0720" in rows["hooks"]["detail"]


def test_a_group_writable_folder_is_refused_and_doctor_reports_it(cli, folder):
    hook(folder, "before-task.created", "exit 0\n")
    folder.chmod(0o770)
    assert_one_line_error(cli("task", "add", "Invio F24"), 5, str(folder), "0770")
    rows = {r["check"]: r for r in doctor(cli)}
    assert rows["hooks"]["status"] == "fail" and str(folder) in rows["hooks"]["detail"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another owner needs root")
def test_a_hook_of_another_owner_is_refused(cli, folder):
    path = hook(folder, "before-task.created", "exit 0\n")
    os.chown(path, 65534, -1)
    assert_one_line_error(cli("task", "add", "Invio F24"), 5, str(path), "uid 65534")
    rows = {r["check"]: r for r in doctor(cli)}
    assert rows["hooks"]["status"] == "fail" and "uid 65534" in rows["hooks"]["detail"]


def test_another_owner_is_refused_as_the_service_account_sees_it(folder, monkeypatch):
    path = hook(folder, "before-task.created", "exit 0\n")
    monkeypatch.setattr(os, "geteuid", lambda: path.stat().st_uid + 1)
    assert "owned by uid" in hooks.unsafe(path, hook=True)


def test_doctor_warns_of_a_file_whose_name_is_no_hook_and_it_never_runs(cli, db, folder):
    hook(folder, "before-task.finished", "touch ran\nexit 1\n")
    hook(folder, "after-nothing", "exit 0\n")
    ok(cli("task", "add", "Invio F24"))
    assert not (folder / "ran").exists()
    rows = {r["check"]: r for r in doctor(cli)}
    assert rows["hooks"]["status"] == "warn"
    assert "before-task.finished" in rows["hooks"]["detail"]
    assert "after-nothing" in rows["hooks"]["detail"]


def test_doctor_is_content_with_a_sound_folder(cli, folder):
    hook(folder, "before-task.created", "exit 0\n")
    hook(folder, "after-task.created", "exit 0\n")
    rows = {r["check"]: r for r in doctor(cli)}
    assert rows["hooks"]["status"] == "ok" and "2 hooks" in rows["hooks"]["detail"]


def test_the_folder_may_be_set_elsewhere(cli, tmp_path):
    elsewhere = tmp_path / "altrove"
    elsewhere.mkdir(mode=0o700)
    ok(cli("config", "set", "automation.hooks_dir", str(elsewhere)))
    hook(elsewhere, "before-task.created", "echo da altrove >&2\nexit 1\n")
    assert_one_line_error(cli("task", "add", "Invio F24"), 5, "da altrove")
    assert_one_line_error(cli("config", "set", "automation.hooks_dir", "relative/x"), 6)


def test_a_new_hook_is_seen_at_once_though_the_listing_is_cached(cli, folder):
    ok(cli("task", "add", "Invio F24"))
    time.sleep(0.01)
    hook(folder, "before-task.created", "echo adesso no >&2\nexit 1\n")
    assert_one_line_error(cli("task", "add", "Invio F24"), 5, "adesso no")


# --- after-hooks ------------------------------------------------------------------------------

RECORDER = """
import json, os, sys
events = [json.loads(line) for line in sys.stdin]
refuse = os.path.exists("refuse") and set(open("refuse").read().split())
bad = [e for e in events if refuse and str(e["client_id"]) in refuse]
if bad:
    print("client %s refused" % bad[0]["client_id"], file=sys.stderr)
    sys.exit(2)
with open("got", "a") as out:
    out.write(" ".join("%d:%s" % (e["id"], e["client_id"]) for e in events) + "\\n")
"""


@pytest.fixture
def clients(org) -> list[int]:
    practice = org.practice("Studio Rossi")
    return [org.client(f"Cliente {n}", practice, n) for n in range(1, 4)]


def updated(db, clock, client: int, n: int = 1) -> list[int]:
    """``n`` client.updated events about ``client``; their ids."""
    ids = []
    with write_transaction(db):
        for _ in range(n):
            ids.append(event_log.record(db, clock, None, "client.updated", client, client))
    return ids


def got(folder: Path) -> list[list[tuple[int, int]]]:
    """The batches the recorder received: (event id, client) each."""
    path = folder / "got"
    if not path.exists():
        return []
    return [
        [tuple(None if x == "None" else int(x) for x in item.split(":")) for item in line.split()]
        for line in path.read_text().splitlines()
    ]


def test_after_hooks_get_the_events_in_batches_one_json_line_each(db, clock, folder, clients):
    hook(folder, "after-client.updated", RECORDER, python=True)
    first = runner.deliver(db, clock)  # the clients' own events are before the hook: queued too
    ids = [i for c in clients for i in updated(db, clock, c, 3)]
    summary = runner.deliver(db, clock)
    assert summary.queued == 9 and summary.delivered == 9 and summary.batches == 1
    assert [e for e, _ in got(folder)[-1]] == ids
    assert runner.deliver(db, clock).delivered == 0  # nothing twice
    assert first.delivered == first.queued


def test_a_kind_without_an_after_hook_is_not_queued(db, clock, folder, clients):
    hook(folder, "after-task.completed", "exit 0\n")
    updated(db, clock, clients[0])
    assert runner.deliver(db, clock).queued == 0
    assert db.execute("SELECT last_event FROM hook_cursor").fetchone()[0] == events(db)[-1]["id"]


def test_a_failing_delivery_is_retried_later_then_dead_and_retry_puts_it_back(
    cli, db, clock, folder, clients
):
    ok(cli("config", "set", "automation.max_attempts", "2"))
    path = hook(folder, "after-client.updated", "cat >/dev/null\necho 'CRM down' >&2\nexit 1\n")
    runner.deliver(db, clock)
    [event] = updated(db, clock, clients[0])
    assert runner.deliver(db, clock).failed == 1
    [failing] = [f for f in data(cli("automation", "failures", "--json")) if f["event"] == event]
    assert failing["status"] == "failing" and failing["attempts"] == 1
    assert failing["last_error"] == "CRM down"
    assert runner.deliver(db, clock).failed == 0  # not due yet: a growing wait
    clock.advance(timedelta(seconds=runner.backoff(1)))
    assert runner.deliver(db, clock).dead >= 1
    [dead] = [f for f in data(cli("automation", "failures", "--json")) if f["event"] == event]
    assert dead["status"] == "dead" and dead["attempts"] == 2 and dead["next_at"] is None
    clock.advance(timedelta(hours=2))
    assert runner.deliver(db, clock).failed == 0  # a dead one is left alone
    path.write_text(f"#!{PYTHON}\n" + RECORDER)
    assert_one_line_error(cli("automation", "retry"), 6, "--all")
    assert_one_line_error(cli("automation", "retry", "999999"), 3, "999999")
    retried = data(cli("automation", "retry", str(dead["id"]), "--json"))
    assert retried == {"retried": 1}
    summary = data(cli("automation", "run", "--json"))
    assert summary["delivered"] >= 1 and event in [e for b in got(folder) for e, _ in b]
    assert [f for f in data(cli("automation", "failures", "--json")) if f["event"] == event] == []


def test_retry_all_and_a_delivery_not_dead(cli, db, clock, folder, clients):
    ok(cli("config", "set", "automation.max_attempts", "1"))
    hook(folder, "after-client.updated", "exit 1\n")
    runner.deliver(db, clock)
    updated(db, clock, clients[0], 2)
    runner.deliver(db, clock)
    dead = [f for f in data(cli("automation", "failures", "--json")) if f["status"] == "dead"]
    assert dead and all(f["last_error"] == "exit 1" for f in dead)
    assert data(cli("automation", "retry", "--all", "--json")) == {"retried": len(dead)}
    assert_one_line_error(cli("automation", "retry", str(dead[0]["id"])), 5, "not dead")
    audited = db.execute("SELECT count(*) FROM audit_log WHERE action = 'hooks_retried'")
    assert audited.fetchone()[0] == 1


def test_a_failing_client_holds_up_only_its_own_events_in_order(db, clock, folder, clients):
    alfa, beta, gamma = clients
    hook(folder, "after-client.updated", RECORDER, python=True)
    runner.deliver(db, clock)
    (folder / "got").unlink(missing_ok=True)
    (folder / "refuse").write_text(str(beta))
    ids = []
    for client in (alfa, beta, gamma, alfa, beta, gamma):
        ids += updated(db, clock, client)
    summary = runner.deliver(db, clock)
    assert summary.delivered == 4 and summary.failed == 2
    delivered = [item for b in got(folder) for item in b]
    assert {c for _, c in delivered} == {alfa, gamma}
    for client in (alfa, gamma):
        mine = [e for e, c in delivered if c == client]
        assert mine == sorted(mine) and len(mine) == 2
    later = updated(db, clock, alfa) + updated(db, clock, beta)
    assert runner.deliver(db, clock).delivered == 1  # alfa's; beta's waits behind its failure
    waiting = db.execute(
        "SELECT attempts FROM hook_deliveries WHERE event_id = ?", (later[1],)
    ).fetchone()
    assert waiting["attempts"] == 0
    (folder / "refuse").unlink()
    clock.advance(timedelta(seconds=runner.backoff(1)))
    runner.deliver(db, clock)
    beta_got = [e for b in got(folder) for e, c in b if c == beta]
    assert beta_got == [ids[1], ids[4], later[1]]


def test_two_runners_never_run_the_same_batch_at_once(db, clock, folder, clients, store_path):
    hook(folder, "after-client.updated", "cat >/dev/null\n", python=False)
    runner.deliver(db, clock)
    updated(db, clock, clients[0], 3)
    runner.queue(db, clock, folder)
    now, until = iso_utc(clock.now()), iso_utc(clock.now() + timedelta(minutes=1))
    claim = runner._claim(db, now, until, "elsewhere:1:x", 10)
    assert claim is not None and len(claim.rows) == 3
    other = open_store(store_path)
    assert runner._claim(other, now, until, "here:2:y", 10) is None
    # The claim of a process that is gone lapses at once.
    gone = f"{runner._HOST}:{_dead_pid()}:z"
    db.execute("UPDATE hook_deliveries SET claimed_by = ? WHERE claimed_by IS NOT NULL", (gone,))
    again = runner._claim(other, now, until, "here:2:y", 10)
    assert again is not None and len(again.rows) == 3
    other.close()


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_run_after_command_delivers_as_the_command_ends_and_never_fails_it(cli, db, folder):
    hook(folder, "after-task.created", RECORDER, python=True)
    ok(cli("config", "set", "automation.run_after_command", "yes"))
    task = data(cli("task", "add", "Invio F24", "--json"))[0]
    assert task["id"] in [
        db.execute("SELECT object_id FROM events WHERE id = ?", (e,)).fetchone()[0]
        for b in got(folder)
        for e, _ in b
    ]
    folder.chmod(0o777)  # the run refuses the folder: the command still succeeds
    result = cli("task", "add", "Invio F24 bis")
    assert result.exit_code == 0
    assert "Warning: the after-hooks did not run" in result.stderr and str(folder) in result.stderr


def test_run_is_for_firm_administrators(cli, org):
    org.user(STAFF)
    assert_one_line_error(cli("automation", "run", as_user=STAFF), 8)
    assert_one_line_error(cli("automation", "failures", as_user=STAFF), 8)


def test_run_refuses_an_unsafe_folder_and_queues_nothing(cli, db, folder):
    hook(folder, "after-task.created", "exit 0\n")
    ok(cli("task", "add", "Invio F24"))
    folder.chmod(0o777)
    assert_one_line_error(cli("automation", "run"), 5, str(folder), "0777")
    assert db.execute("SELECT count(*) FROM hook_deliveries").fetchone()[0] == 0


@pytest.mark.slow
def test_at_least_once_across_a_sigkill_of_the_runner(db, clock, folder, clients, store_path):
    """A real `sempi automation run` killed (-9) while its hook runs: the next run
    delivers that batch again; every event arrives, in order per client."""
    hook(
        folder,
        "after-client.updated",
        "ids=$(cat)\n"
        "if [ ! -e slowed ]; then touch slowed; echo $$ > hook.pid; sleep 30; fi\n"
        'printf "%s\\n" "$ids" | sed -n \'s/^{"schema": 1, "id": \\([0-9]*\\),.*"client_id": '
        "\\([0-9]*\\),.*/\\1:\\2/p' | tr '\\n' ' ' >> got\necho >> got\n",
    )
    ids = []
    for _ in range(5):
        for client in clients:
            ids += updated(db, clock, client)
    env = {**cron_env(store_path, store_path.parent, "hooks"), "SEMPI_DB": str(store_path)}
    first = subprocess.Popen([SEMPI, "automation", "run"], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while (
        not (folder / "hook.pid").exists() and first.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert (folder / "hook.pid").exists(), first.communicate()
    first.kill()
    first.wait()
    os.killpg(int((folder / "hook.pid").read_text()), signal.SIGKILL)  # the orphaned hook
    again = subprocess.run(
        [SEMPI, "automation", "run", "--json"], env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    delivered = [item for batch in got(folder) for item in batch]
    assert {e for e, _ in delivered} >= set(ids)
    for client in clients:
        mine = [e for e, c in delivered if c == client]
        assert mine == sorted(mine)


def test_limit_caps_the_deliveries_of_a_run(cli, db, clock, folder, clients):
    hook(folder, "after-client.updated", RECORDER, python=True)
    runner.deliver(db, clock)
    ids = updated(db, clock, clients[0], 5)
    assert data(cli("automation", "run", "--limit", "2", "--json"))["delivered"] == 2
    assert data(cli("automation", "run", "--json"))["delivered"] == 3
    assert [e for b in got(folder) for e, _ in b][-5:] == ids
    assert_one_line_error(cli("automation", "run", "--limit", "0"), 2, "--limit")


def test_an_after_hook_past_its_timeout_fails_its_batch(cli, db, clock, folder, clients):
    ok(cli("config", "set", "automation.hook_timeout", "1"))
    hook(folder, "after-client.updated", "sleep 30\n")
    runner.deliver(db, clock)
    [event] = updated(db, clock, clients[0])
    clock.advance(timedelta(hours=1))
    runner.deliver(db, clock)
    [failing] = [f for f in data(cli("automation", "failures", "--json")) if f["event"] == event]
    assert failing["last_error"] == "ran past 1 s" and failing["status"] == "failing"


@pytest.mark.slow
def test_an_after_hook_that_sets_itself_off_stops_at_the_depth_limit(
    cli, db, clock, folder, store_path
):
    """after-task.updated edits the task it was told about, which writes task.updated
    again: the events its own commands write carry their cause (SEMPI_CAUSE), one step
    deeper each time, and none at MAX_DEPTH is delivered: the chain ends, audited."""
    # The hook starts a sempi command for each event: on a busy machine (bytecode
    # still to compile) one took past the 5 s default, and its retry came too late.
    ok(cli("config", "set", "automation.hook_timeout", "60"))
    env = {**cron_env(store_path, store_path.parent, "loop"), "SEMPI_DB": str(store_path)}
    credentials = "".join(f"export {k}='{env[k]}'\n" for k in
                          ("SEMPI_DB", "SEMPI_USER", "SEMPI_APP_PASSWORD", "SEMPI_LANG"))  # fmt: skip
    hook(
        folder,
        "after-task.updated",
        credentials
        + "while read -r event; do\n"
        + '  task=$(printf \'%s\' "$event" | sed \'s/.*"object": {"type": "task", "id": \\([0-9]*\\)}.*/\\1/\')\n'
        + f'  {SEMPI} -q task edit "$task" --title "giro $(date +%s%N)" || exit 1\n'
        + "done\n",
    )
    added = subprocess.run([SEMPI, "task", "add", "Invio F24", "--json"], env=env,
                           capture_output=True, text=True)  # fmt: skip
    assert added.returncode == 0, added.stderr
    task = json.loads(added.stdout)[0]["id"]
    edited = subprocess.run([SEMPI, "-q", "task", "edit", str(task), "--title", "primo"], env=env,
                            capture_output=True, text=True)  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    for _ in range(event_log.MAX_DEPTH + 3):  # more runs than the chain may be long
        done = subprocess.run([SEMPI, "automation", "run", "--json"], env=env,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
    rows = db.execute(
        "SELECT id, origin_id, depth FROM events WHERE kind = 'task.updated' ORDER BY id"
    ).fetchall()
    assert [r["depth"] for r in rows] == list(range(event_log.MAX_DEPTH + 1))
    assert all(r["origin_id"] == p["id"] for p, r in zip(rows, rows[1:], strict=False))
    stopped = db.execute(
        "SELECT details FROM audit_log WHERE action = 'automation_stopped'"
    ).fetchall()
    assert len(stopped) == 1 and json.loads(stopped[0][0])["events"] == [rows[-1]["id"]]


def test_a_write_with_no_hook_and_no_rule_loads_none_of_the_automation(store_path):
    """Every writing command asks the automation what is to run (reactor.py): with no
    hook and no rule, the hooks', rules' and actions' code is never imported (a
    command paid 24 ms for it when it was); with a rule, the engine is, the actions
    only when a rule acts."""
    env = {**cron_env(store_path, store_path.parent, "imports"), "SEMPI_DB": str(store_path)}
    code = (
        "import sys\nfrom sempi_cli.cli.fastpath import main\n"
        "sys.argv = ['sempi', '-q', 'task', 'add', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    assert not stop.code, stop.code\n"
        "print(' '.join(sorted(m.rsplit('.', 1)[1] for m in sys.modules"
        " if m.startswith('sempi_cli.services.automation.'))))\n"
    )

    def loaded(title: str) -> set[str]:
        done = subprocess.run([sys.executable, "-c", code, title], env=env,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return set(done.stdout.split()[1:])  # (the first word: the new task's id)

    assert loaded("Invio F24") == {"lookup", "reactor"}
    added = subprocess.run([SEMPI, "automation", "add", "never", "--on", "task.created",
                            "--if", "client_id=-1", "--do", "notify", "--to", ADMIN_EMAIL,
                            "--message", "x"], env=env, capture_output=True, text=True)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert loaded("Invio F24 bis") == {"conditions", "engine", "lookup", "reactor"}
