"""The shared-server deployment of docs/security.md, performed for real.

A service account owns the store in a 0700 folder; a plain user reaches it
only through a sudo rule that allows exactly one command, a root-owned
wrapper that fixes SEMPI_HOME and runs sempi. The test proves that the plain
user cannot read the file or open it with sempi directly, cannot use the
rule for anything else, and can work through the rule; and that two people
coming through sudo do not share a login session.

It needs root (to add users and a sudoers rule), ``useradd``, ``sudo`` and
``visudo``, and an installation of sempi that other users can execute. It
cleans up users, the sudoers rule and its files whatever happens.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # sudo, a service account and real sempi processes

SEMPI = Path(sys.executable).parent / "sempi"
SUDOERS_DIR = Path("/etc/sudoers.d")
ADMIN = "titolare@studio.test"
PASSWORD = "deployment-password-long"


def _unreachable(path: Path) -> str | None:
    """Why another user could not use ``path`` (a folder on the way not
    searchable, or the file itself not readable), or None."""
    real = Path(os.path.realpath(path))
    for folder in reversed(real.parents):
        mode = stat.S_IMODE(folder.stat().st_mode)
        if not mode & stat.S_IXOTH:
            return f"{folder} (mode {mode:04o}) is not searchable by other users"
    mode = stat.S_IMODE(real.stat().st_mode)
    needed = stat.S_IROTH | (stat.S_IXOTH if real.is_dir() or os.access(real, os.X_OK) else 0)
    if mode & needed != needed:
        return f"{real} (mode {mode:04o}) is not readable by other users"
    return None


def _why_not() -> list[str]:
    """Every reason this machine cannot perform the deployment (empty: it can)."""
    if os.geteuid() != 0:
        return ["needs root to add users and a sudoers rule"]
    reasons = [
        f"{tool} is not installed" for tool in ("useradd", "userdel") if not shutil.which(tool)
    ]
    if not (shutil.which("sudo") and shutil.which("visudo")):
        reasons.append("sudo is not installed (Debian package 'sudo', in the Makefile's TEST_DEBS)")
    if shutil.which("sudo") and not SUDOERS_DIR.is_dir():
        reasons.append(f"{SUDOERS_DIR} does not exist, so a rule cannot be added there")
    import typer

    import sempi_cli

    needed = {
        "the Python interpreter": Path(sys.executable),
        "the sempi script": SEMPI,
        "the sempi_cli package": Path(sempi_cli.__file__).parent,
        "the standard library": Path(os.__file__),
        "the installed dependencies": Path(typer.__file__).parent,
        "the temporary folder": Path(tempfile.gettempdir()),
    }
    for what, path in needed.items():
        problem = _unreachable(path)
        if problem:
            reasons.append(f"{what} ({path}) cannot be used by other accounts: {problem}")
    if any("cannot be used by other accounts" in reason for reason in reasons):
        reasons.append(
            "build the venv from a Python other accounts can run (e.g. PYTHON=/usr/bin/python3)"
        )
    return reasons


def run(*argv: object, input: str | None = None, cwd: Path) -> subprocess.CompletedProcess:
    # A new session: no controlling terminal, so sudo's use_pty never engages.
    return subprocess.run(
        [str(a) for a in argv],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        start_new_session=True,
    )


def test_store_owned_by_a_service_account_reached_through_sudo() -> None:
    reasons = _why_not()
    if reasons:
        pytest.skip("cannot perform the sudo deployment here: " + "; ".join(reasons))
    suffix = secrets.token_hex(3)
    svc, staff = f"sempi-svc-{suffix}", f"sempi-staff-{suffix}"
    base = Path(tempfile.mkdtemp(prefix="sempi-deploy-"))
    home = base / "srv"  # the service account's SEMPI_HOME: the store and the sessions
    store = home / "sempi.db"
    wrapper = base / "sempi"
    rule = SUDOERS_DIR / f"sempi-test-{suffix}"  # no dot: sudo skips names with one
    created: list[str] = []
    try:
        os.chmod(base, 0o755)
        for argv in (["--system", "--home-dir", home, "--no-create-home", svc], [staff]):
            result = run("useradd", *argv, cwd=base)
            assert result.returncode == 0, result.stderr
            created.append(str(argv[-1]))
        import pwd

        svc_user, staff_user = pwd.getpwnam(svc), pwd.getpwnam(staff)
        home.mkdir(mode=0o700)
        os.chown(home, svc_user.pw_uid, svc_user.pw_gid)
        os.chmod(home, 0o700)
        # The command the rule allows: root-owned, fixing where the store lives
        # (sudo resets the environment, so the caller cannot choose it).
        # (SEMPI_LANG: the suite reads English; sudo keeps only the locale.)
        wrapper.write_text(f'#!/bin/sh\nSEMPI_HOME={home} SEMPI_LANG=en exec {SEMPI} "$@"\n')
        os.chmod(wrapper, 0o755)
        draft = base / "sudoers"
        draft.write_text(f"{staff} ALL=({svc}) NOPASSWD: {wrapper}\n")
        checked = run("visudo", "-cf", draft, cwd=base)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        fd = os.open(rule, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o440)
        with os.fdopen(fd, "w") as fh:
            fh.write(draft.read_text())

        def through_rule(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
            """What a member of staff types: sudo -u <service account> sempi ..."""
            return run(
                "sudo", "-u", staff, "sudo", "-n", "-u", svc, wrapper, *args, input=input, cwd=base
            )

        # The service account creates the store: 0600 in its 0700 folder.
        init = run(
            "sudo", "-u", svc, wrapper, "init", "--firm", "Studio Deploy", "--admin-email", ADMIN,
            "--admin-name", "Titolare", "--password-stdin", input=PASSWORD + "\n", cwd=base,
        )  # fmt: skip
        assert init.returncode == 0, init.stderr
        info = store.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (svc_user.pw_uid, 0o600)
        assert stat.S_IMODE(home.stat().st_mode) == 0o700

        # The plain user cannot read the file, nor open it with sempi as themselves...
        cat = run("sudo", "-u", staff, "cat", store, cwd=base)
        assert cat.returncode != 0 and "Permission denied" in cat.stderr
        direct = run(
            "sudo", "-u", staff, "env", "SEMPI_LANG=en", SEMPI, "--db", store, "db", "info", cwd=base
        )  # fmt: skip
        assert direct.returncode == 10, direct.stderr
        assert "permission denied" in direct.stderr and "Traceback" not in direct.stderr
        # ...nor use the rule for any other command.
        other = run("sudo", "-u", staff, "sudo", "-n", "-u", svc, "/bin/cat", store, cwd=base)
        assert other.returncode != 0 and not other.stdout

        # Through the rule they log in and work, with the store's own checks.
        login = through_rule("login", "--email", ADMIN, "--password-stdin", input=PASSWORD + "\n")
        assert login.returncode == 0, login.stderr
        db_info = through_rule("db", "info", "--json")
        assert db_info.returncode == 0, db_info.stderr
        assert json.loads(db_info.stdout)["users_count"] == 1
        session = home / "sessions"
        files = list(session.iterdir())
        assert [f.name.endswith(f".sudo-{staff_user.pw_uid}.session") for f in files] == [True]
        assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
        assert files[0].stat().st_uid == svc_user.pw_uid
        assert files[0].read_text().strip() not in login.stdout + login.stderr

        # Another person reaching the same account through sudo (here root)
        # is not logged in as the first one.
        someone_else = run("sudo", "-u", svc, wrapper, "whoami", cwd=base)
        assert someone_else.returncode == 7, someone_else.stderr
        assert "not logged in" in someone_else.stderr

        doctor = through_rule("doctor", "--json")
        assert doctor.returncode == 0, doctor.stderr
        checks = {row["check"]: row for row in json.loads(doctor.stdout)}
        assert checks["deployment"]["status"] == "ok"
        assert checks["deployment"]["detail"].startswith("service account:")
        assert svc in checks["store"]["detail"]
        assert checks["store_mode"]["status"] == checks["session_directory"]["status"] == "ok"
    finally:
        rule.unlink(missing_ok=True)  # first: a stray rule must never outlive the test
        for name in created:
            subprocess.run(["userdel", name], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
