"""Hooks: the office's own executables, run on events (git's and Taskwarrior's idea).

They live in one folder (``automation.hooks_dir``; by default ``hooks`` beside the
store file), named by phase and event kind: ``before-task.completed``,
``after-deadline.created``. The folder and every hook must belong to the account
sempi runs as and be writable by no one else: whoever could write there would run
code as that account, which owns the store. Anything else is refused, and
``sempi doctor`` says so.

A before-hook, found by reactor.py at the write, runs inside the writer's
transaction with the event's JSON on stdin; a non-zero exit, or running past
``automation.hook_timeout``, refuses the change (nothing is written). Its stdout
is ignored. The after-hooks are delivered by runner.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from contextvars import Token
from dataclasses import dataclass
from pathlib import Path

from sempi_cli.clock import Clock, iso_utc
from sempi_cli.errors import RuleViolation
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import audit, event_log, settings
from sempi_cli.services.access import Actor, require_firm_admin
from sempi_cli.services.automation.lookup import folder_text, names, skipping_before_hooks
from sempi_cli.store import write_transaction

PHASES = ("before", "after")
MESSAGE_LIMIT = 200  # characters of a hook's stderr line shown in a refusal
STDERR_READ = 4096  # bytes of a hook's stderr read at most
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def folder(db: sqlite3.Connection) -> Path:
    """The hooks' folder: the setting, else ``hooks`` beside the store file."""
    return Path(folder_text(db))


def kind_of(name: str) -> tuple[str, str] | None:
    """(phase, event kind) of a hook's file name; None for any other name."""
    phase, sep, kind = name.partition("-")
    if sep and phase in PHASES and kind in event_log.KINDS:
        return phase, kind
    return None


def unsafe(path: Path, *, hook: bool) -> str | None:
    """Why ``path`` (the folder, or a hook) may not be trusted; None when it may."""
    try:
        info = path.stat()
    except OSError as exc:
        return _("{path}: cannot be read ({reason})").format(path=path, reason=exc.strerror)
    mode = f"{stat.S_IMODE(info.st_mode):04o}"
    if info.st_uid != os.geteuid():
        return _(
            "{path}: owned by uid {owner}, mode {mode}: hooks and their folder must belong to"
            " the account sempi runs as (uid {me})"
        ).format(path=path, owner=info.st_uid, mode=mode, me=os.geteuid())
    if info.st_mode & 0o022:
        return _(
            "{path}: mode {mode}, writable by others than its owner: chmod go-w {path}"
        ).format(path=path, mode=mode)
    if hook and not stat.S_ISREG(info.st_mode):
        return _("{path}: not a regular file").format(path=path)
    if hook and not info.st_mode & stat.S_IXUSR:
        return _("{path}: mode {mode}, not executable: chmod u+x {path}").format(
            path=path, mode=mode
        )
    if not hook and not stat.S_ISDIR(info.st_mode):
        return _("{path}: not a folder").format(path=path)
    return None


def require_safe(path: Path, *, hook: bool) -> None:
    problem = unsafe(path, hook=hook)
    if problem is not None:
        raise RuleViolation(problem)


def problems(where: Path) -> tuple[list[str], list[str]]:
    """What `sempi doctor` reports about the folder: (what sempi refuses to run: the
    folder's or a hook's owner and mode; files whose names are no phase and event
    kind, which are never run)."""
    listing = names(where)
    if not listing:
        return [], []
    refused = [p for p in [unsafe(where, hook=False)] if p is not None]
    misnamed = []
    for name in sorted(listing):
        if name.startswith("."):
            continue
        if kind_of(name) is None:
            misnamed.append(str(where / name))
            continue
        problem = unsafe(where / name, hook=True)
        if problem is not None:
            refused.append(problem)
    return refused, misnamed


def safe_line(raw: bytes) -> str:
    """A hook's first stderr line as one line a terminal may show: decoded leniently,
    without control or direction characters, capped."""
    text = raw.decode("utf-8", errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    line = " ".join(_CONTROL.sub(" ", first).split())
    if len(line) > MESSAGE_LIMIT:
        line = line[: MESSAGE_LIMIT - 1].rstrip() + "…"
    return line


@dataclass(frozen=True)
class Outcome:
    code: int | None  # the exit status; None: stopped at the timeout
    message: str  # the first stderr line, made safe ("" when none)


def environment(name: str, extra: dict[str, str]) -> dict[str, str]:
    """What a hook sees: PATH, HOME, LANG and what it is run for; never a session
    token, an application password or anything else of the caller's."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "SEMPI_HOOK": name,
    }
    env.update(extra)
    return env


def run(path: Path, stdin: bytes, env: dict[str, str], timeout: float) -> Outcome:
    """Run one hook in its folder, in a session (process group) of its own, with
    ``stdin``; past ``timeout`` seconds the whole group is killed. Its stderr goes
    to an unnamed temporary file (no pipe to fill, however much it prints)."""
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(
                [str(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                cwd=path.parent,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            return Outcome(126, safe_line(f"{path.name}: {exc.strerror}".encode()))
        code: int | None = None
        try:
            process.communicate(stdin, timeout=timeout)
            code = process.returncode
        except subprocess.TimeoutExpired:
            pass
        finally:
            if code is None:  # the timeout, or this process interrupted
                _kill_group(process.pid)  # before the wait: the group still exists
                process.kill()
                process.wait()
        errors.seek(0)
        return Outcome(code, safe_line(errors.read(STDERR_READ)))


def _kill_group(pid: int) -> None:
    """Whatever the hook left running in its group goes with it."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def timeout_of(db: sqlite3.Connection) -> int:
    return int(settings.get(db, "automation.hook_timeout"))


def before_reactor(db: sqlite3.Connection, where: str, kind: str) -> Callable[..., None]:
    """The reaction to a write's events of ``kind``, whose before-hook is in the
    folder ``where`` (reactor.py looked): the timeout is read once for the write,
    not again for each event of a bulk write."""
    folder_path, name, seconds = Path(where), f"before-{kind}", timeout_of(db)

    def react(
        db: sqlite3.Connection, clock: Clock, actor: Actor | None, event: Mapping[str, object]
    ) -> None:
        before(folder_path, name, seconds, event)

    return react


def before(where: Path, name: str, seconds: int, event: Mapping[str, object]) -> None:
    """Run the before-hook ``name`` on ``event``; its refusal (a non-zero exit, or
    the timeout) refuses the change, raised inside the writer's transaction."""
    if name not in names(where):  # removed since ``prepare`` looked
        return
    path = where / name
    require_safe(where, hook=False)
    require_safe(path, hook=True)
    extra = {
        "SEMPI_HOOK_PHASE": "before",
        "SEMPI_EVENT_KIND": str(event["kind"]),
        "SEMPI_EVENT_ID": str(event["id"]),
        event_log.HOOK_CAUSE: str(event["id"]),
    }
    body = json.dumps(dict(event), ensure_ascii=False).encode() + b"\n"
    outcome = run(path, body, environment(name, extra), seconds)
    if outcome.code == 0:
        return
    if outcome.code is None:
        raise RuleViolation(
            _("the hook {hook} ran past {seconds} s: the change is refused").format(
                hook=name, seconds=seconds
            )
        )
    raise RuleViolation(
        outcome.message
        or _("the hook {hook} refused the change (exit {code})").format(
            hook=name, code=outcome.code
        )
    )


def skip_before_hooks(
    db: sqlite3.Connection, clock: Clock, actor: Actor, command: str
) -> Token[bool]:
    """--no-hooks: a firm administrator's command runs without the before-hooks,
    and the audit log says which command (kept even if the command then fails)."""
    require_firm_admin(actor, N_("skip the before-hooks (--no-hooks)"))
    with write_transaction(db):
        audit.record(
            db, iso_utc(clock.now()), actor.id, "hooks_skipped", "command", None,
            {"command": command},
        )  # fmt: skip
    return skipping_before_hooks.set(True)


def stop_skipping(token: Token[bool]) -> None:
    skipping_before_hooks.reset(token)
