"""The chat with real `sempi` processes on one store, as people use it: two
senders at once lose nothing, and `chat follow` (a long-running process polling
the store) prints what another process sends, stops cleanly on SIGTERM or SIGINT,
and stops with "not found" when its user loses the chat. Processes authenticate
as cron jobs do (tests/conftest.py: cron_env); every wait is for a line the
process prints, with generous timeouts for a busy machine, never a sleep."""

from __future__ import annotations

import json
import queue
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from sempi_cli.services.chat.chats import ChatService
from tests.conftest import cron_env, log_output, run_logged
from tests.helpers import DOER, SEMPI, assert_one_line_error

pytestmark = pytest.mark.slow  # real sempi processes

TIMEOUT = 300  # seconds: a line a process must print, on a machine busy with other tests
MESSAGES = 50


@pytest.fixture
def env(store_path: Path, tmp_path: Path) -> dict[str, str]:
    return {
        **cron_env(store_path, tmp_path / "cron-home", "chat tests"),
        "SEMPI_DB": str(store_path),
    }


class Lines:
    """The lines a stream prints, read by a thread, so a test waits for the next one
    with a timeout instead of blocking for ever."""

    def __init__(self, stream) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def next(self, timeout: float = TIMEOUT) -> str:
        line = self._lines.get(timeout=timeout)
        assert line is not None, f"the stream ended; it printed: {self.seen}"
        self.seen.append(line)
        return line

    def rest(self, timeout: float = TIMEOUT) -> str:
        """Everything after what was read, once the stream ends."""
        while (line := self._lines.get(timeout=timeout)) is not None:
            self.seen.append(line)
        return "".join(self.seen)


def follower(env: dict[str, str], *args: str) -> tuple[subprocess.Popen, Lines, Lines]:
    """`sempi chat follow ...` running, once it said it is following."""
    proc = subprocess.Popen(
        [SEMPI, "chat", "follow", *args, "--format", "jsonl", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    assert err.next().startswith("Following "), err.seen
    return proc, out, err


def finish(proc: subprocess.Popen, out: Lines, err: Lines, label: str) -> tuple[str, str]:
    proc.wait(timeout=TIMEOUT)
    stdout, stderr = out.rest(), err.rest()
    log_output(label, stdout, stderr)
    return stdout, stderr


def test_two_processes_sending_at_once_lose_nothing(store_path, env):
    script = 'for i in $(seq 1 %d); do "$SEMPI" chat send general "$TAG-$i" -q || exit 1; done'
    senders = [
        subprocess.Popen(
            ["bash", "-c", script % MESSAGES],
            env={**env, "SEMPI": SEMPI, "TAG": tag},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("primo", "secondo")
    ]
    for sender in senders:
        out, err = sender.communicate(timeout=TIMEOUT * 2)
        log_output("chat send x50", out, err)
        assert sender.returncode == 0, err
    conn = sqlite3.connect(store_path)
    rows = conn.execute(
        "SELECT id, body FROM chat_messages WHERE chat_id = 1 ORDER BY id"
    ).fetchall()
    assert sorted(body for _, body in rows) == sorted(
        f"{tag}-{i}" for tag in ("primo", "secondo") for i in range(1, MESSAGES + 1)
    )
    for tag in ("primo", "secondo"):  # each sender's messages in the order it sent them
        mine = [int(body.split("-")[1]) for _, body in rows if body.startswith(tag)]
        assert mine == list(range(1, MESSAGES + 1))
    last = conn.execute("SELECT last_message_id FROM chats WHERE id = 1").fetchone()[0]
    assert last == rows[-1][0]
    indexed = conn.execute(
        "SELECT count(*) FROM chat_search WHERE chat_search MATCH 'primo OR secondo'"
    )
    assert indexed.fetchone()[0] == 2 * MESSAGES
    conn.execute("INSERT INTO chat_search (chat_search) VALUES ('integrity-check')")
    conn.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_follow_prints_what_another_process_sends_and_stops_cleanly(env, sig):
    proc, out, err = follower(env, "general")
    try:
        sent = run_logged([SEMPI, "chat", "send", "general", "Dal secondo processo"], env=env)
        assert sent.returncode == 0, sent.stderr
        message = json.loads(out.next())
        assert (message["text"], message["author"]) == ("Dal secondo processo", env["SEMPI_USER"])
        proc.send_signal(sig)
        stdout, stderr = finish(proc, out, err, "chat follow general")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "Error" not in stderr


def test_follow_stops_with_not_found_when_its_user_loses_the_chat(env, db, clock, org, admin):
    org.staff(DOER)
    chats = ChatService(db, clock, admin)
    private = chats.add("Riservata", members=[DOER])["id"]
    proc, out, err = follower(env, str(private))
    try:
        chats.leave(private)  # the administrator leaves; DOER owns it now
        finish(proc, out, err, "chat follow (left)")
    finally:
        if proc.poll() is None:
            proc.kill()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, "", "".join(err.seen[1:]))
    assert_one_line_error(result, 3, f"chat {private} not found")
