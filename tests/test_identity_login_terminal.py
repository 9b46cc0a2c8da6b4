"""`sempi login` for a two-step user, typed in a real terminal.

A real pseudo-terminal, driven the way a person would: tmux (`new-session`,
`send-keys`, `capture-pane`) and, as a second driver that needs no tmux,
pexpect. The code typed at the prompt comes from an implementation that is not
sempi's: `oathtool --totp` (OATH Toolkit, C). Where oathtool is not installed,
the code comes from pyotp run in a separate process, which is a weaker check
(sempi computes codes with pyotp too); `make system-deps` installs oathtool.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pyotp
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, log_output, register_secret, run_logged
from tests.helpers import SEMPI, enrol_in_real_time

pytestmark = pytest.mark.slow  # a real terminal (tmux, pexpect) running sempi

TMUX = shutil.which("tmux")
OATHTOOL = shutil.which("oathtool")
CODE_PROMPT = "Code from your authenticator app (or a recovery code):"
WAIT_SECONDS = 10.0  # an upper bound for polling, not a timing assertion


def independent_code(secret: str) -> str:
    """The current code, computed outside sempi (the secret goes on stdin, not argv)."""
    if OATHTOOL:
        cmd = [OATHTOOL, "--totp", "-b", "-"]
    else:  # the fallback the module docstring owns up to
        cmd = [sys.executable, "-c", "import pyotp, sys; print(pyotp.TOTP(input()).now())"]
    result = run_logged(cmd, input=secret, label="independent TOTP code", timeout=30)
    assert result.returncode == 0, result.stderr
    code = result.stdout.strip()
    assert re.fullmatch(r"[0-9]{6}", code), "not a six-digit code"
    # Shown once, by its generator (standing for the phone): never again afterwards.
    return register_secret(code, "a TOTP code typed in a terminal", shown_once=True)


class Terminal:
    """A shell in a pseudo-terminal: type lines, read the screen, wait for text."""

    def type(self, text: str) -> None:
        raise NotImplementedError

    def screen(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def wait_for(self, pattern: str) -> str:
        """Poll the screen until ``pattern`` (a regex) shows, for at most WAIT_SECONDS."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} did not appear; the screen:\n{screen}")
            time.sleep(0.05)


class TmuxTerminal(Terminal):
    def __init__(self, env: dict[str, str]) -> None:
        # A private server on its own socket (short path: sockets have a length limit),
        # with no user configuration, 120x40.
        self._dir = tempfile.mkdtemp(prefix="sempi-tmux-")
        self._tmux = [TMUX, "-S", os.path.join(self._dir, "s"), "-f", "/dev/null"]
        subprocess.run(
            [*self._tmux, "new-session", "-d", "-x", "120", "-y", "40", "-s", "t"]
            + ["bash", "--norc", "--noprofile"],
            env=env,
            check=True,
            timeout=30,
        )

    def type(self, text: str) -> None:
        subprocess.run([*self._tmux, "send-keys", "-t", "t", "-l", text], check=True, timeout=30)
        subprocess.run([*self._tmux, "send-keys", "-t", "t", "Enter"], check=True, timeout=30)

    def screen(self) -> str:
        return subprocess.run(
            [*self._tmux, "capture-pane", "-p", "-J", "-t", "t"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout

    def close(self) -> None:
        subprocess.run([*self._tmux, "kill-server"], capture_output=True, timeout=30)
        shutil.rmtree(self._dir, ignore_errors=True)


class PexpectTerminal(Terminal):
    def __init__(self, env: dict[str, str]) -> None:
        import pexpect

        self._quiet = (pexpect.TIMEOUT, pexpect.EOF)
        self._transcript = io.StringIO()
        self._child = pexpect.spawn(
            "bash",
            ["--norc", "--noprofile"],
            env={**env, "TERM": "dumb"},
            encoding="utf-8",
            dimensions=(40, 120),
        )
        self._child.logfile_read = self._transcript  # everything the terminal showed

    def type(self, text: str) -> None:
        self._child.sendline(text)

    def screen(self) -> str:
        try:  # drain what is there without waiting for more
            while self._child.read_nonblocking(4096, timeout=0.05):
                pass
        except self._quiet:
            pass
        return self._transcript.getvalue()

    def close(self) -> None:
        self._child.close(force=True)


def open_terminal(kind: str, env: dict[str, str]) -> Terminal:
    if kind == "tmux":
        if TMUX is None:
            pytest.skip(
                "tmux is not installed (make system-deps); the pexpect run still drives a terminal"
            )
        return TmuxTerminal(env)
    return PexpectTerminal(env)


@pytest.mark.parametrize("kind", ["tmux", "pexpect"])
def test_two_step_login_typed_in_a_terminal(kind, store_path, tmp_path):
    secret = pyotp.random_base32(32)
    enrol_in_real_time(store_path, ADMIN_EMAIL, secret)
    env = {
        **os.environ,
        "SEMPI_DB": str(store_path),  # SEMPI_HOME: the autouse fixture's
        "HOME": str(tmp_path),
        "HISTFILE": "/dev/null",
        "PS1": "test$ ",
    }
    terminal = open_terminal(kind, env)
    try:
        terminal.type(f"{SEMPI} login; echo LOGIN-EXIT=$?")
        terminal.wait_for(r"E-mail: ")
        terminal.type(ADMIN_EMAIL)
        before = terminal.wait_for(r"Password: ")
        assert CODE_PROMPT not in before  # asked only once the password is in
        terminal.type(ADMIN_PASSWORD)
        asked = terminal.wait_for(re.escape(CODE_PROMPT))
        assert ADMIN_PASSWORD not in asked, "the password was echoed"
        assert asked.index("Password: ") < asked.index(CODE_PROMPT)
        code = independent_code(secret)
        terminal.type(code)
        after = terminal.wait_for(r"LOGIN-EXIT=\d")
        log_output(f"{kind} screen after login", after)
        assert "LOGIN-EXIT=0" in after, after
        assert f"Logged in as Anna Admin <{ADMIN_EMAIL}>" in after
        assert ADMIN_PASSWORD not in after, "the password was echoed"
        assert not re.search(rf"(?<![0-9]){code}(?![0-9])", after), "the code was echoed"

        terminal.type(f"{SEMPI} whoami --json; echo WHOAMI-EXIT=$?")
        screen = terminal.wait_for(r"WHOAMI-EXIT=\d")
        log_output(f"{kind} screen after whoami", screen)
        assert "WHOAMI-EXIT=0" in screen, screen
        shown = screen.rsplit("whoami --json", 1)[1]
        output = shown[shown.index("{") : shown.rindex("}") + 1]
        assert json.loads(output)["email"] == ADMIN_EMAIL
    finally:
        terminal.close()
