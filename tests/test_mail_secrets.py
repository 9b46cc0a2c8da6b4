"""Activation codes waiting in the outbox live beside the store, never in it.

A copy of the store (`sempi db backup`, or the file and its -wal copied off a
lost laptop) must not activate an account: the outbox keeps only the name and
SHA-256 of a file in the spool folder ``<store>.outbox`` (store/spool.py,
services/mail/secret_files.py), made 0700 with files 0600 whatever the umask,
and the file goes with the code's last use. A spool file that is missing or
cannot be trusted fails its message with one line, and a new invitation fixes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from sempi_cli.services.mail import outbox as mail
from sempi_cli.services.org import invitations
from sempi_cli.store import spool, write_transaction
from tests.conftest import ADMIN_EMAIL, actor, register_secret
from tests.helpers import FIRM, configure, ok

EXTERNALS = ("lucia.verdi@alfa.test", "paolo.neri@alfa.test", "anna.gialli@alfa.test")
PASSWORD = "una-password-lunga-per-Lucia"
# A code as mailed: four groups of five of the 31 symbols (services/org/invitations.py).
CODE_SHAPE = re.compile(rb"[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}", re.IGNORECASE)
MAILED = re.compile(r"^ {4}([a-z2-9]{5}(?:-[a-z2-9]{5}){3})\r?$", re.MULTILINE)


@pytest.fixture
def alfa(org, firm) -> dict:
    """Studio Rossi's client Alfa Srl with three external users, none invited yet."""
    studio = org.practice("Studio Rossi")
    client = org.client("Alfa Srl", studio, 1)
    users = [org.user(e, e.split(".")[0].title(), "external", client=client) for e in EXTERNALS]
    return {"client": client, "users": [u["id"] for u in users]}


@pytest.fixture
def umask():
    """Set a umask for one test, restoring the previous one after."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def invite(db, clock, user_id: int, **kw) -> int | None:
    return invitations.Invitations(db, clock, actor(db, ADMIN_EMAIL)).invite(user_id, **kw)


def folder(db) -> Path:
    found = spool.folder_of(db)
    assert found is not None
    return found


def files(db) -> list[str]:
    try:
        return sorted(os.listdir(folder(db)))
    except FileNotFoundError:
        return []


def secret_file(db, mail_id: int) -> str | None:
    return db.execute("SELECT secret_file FROM mail_outbox WHERE id = ?", (mail_id,)).fetchone()[0]


def spooled_code(db, mail_id: int) -> str:
    """The code waiting for message ``mail_id``, read from its spool file."""
    [name] = db.execute("SELECT secret_file FROM mail_outbox WHERE id = ?", (mail_id,)).fetchone()
    code = json.loads((folder(db) / name).read_text())["code"]
    return register_secret(code, "an activation code")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def traces(blobs: dict[str, bytes], codes: list[str]) -> list[str]:
    """Where a code (with or without dashes, any case) or anything shaped like one
    appears in ``blobs``: labels only, so a failure never prints a code."""
    found = []
    for label, data in blobs.items():
        lowered = data.lower()
        for n, code in enumerate(codes):
            for form in (code, code.replace("-", "")):
                if form.encode() in lowered:
                    found.append(f"code {n} in {label}")
        if CODE_SHAPE.search(data):
            found.append(f"something shaped like a code in {label}")
    return found


# --- a copy of the store is useless ----------------------------------------------------------


def test_a_copy_of_the_store_holds_no_activation_code(
    cli, db, clock, alfa, smtp, tmp_path, store_path
):
    """Three invitations waiting (one left in doubt by a broken connection, two queued):
    the backup, the store file and its -wal hold none of their codes, nor anything
    shaped like a code, and the only traces are SHA-256 digests. Opened elsewhere
    without the spool, the copy delivers no code at all."""
    configure(db, clock, smtp.port)
    mail_ids = [invite(db, clock, user) for user in alfa["users"]]
    smtp.handler.drop_after_data = True  # the first is received, the sender never hears 250
    assert ok(cli("mail", "send", "--json"), json=True)["in_doubt"] == 1
    smtp.handler.drop_after_data = False
    codes = [spooled_code(db, mail_id) for mail_id in mail_ids]
    assert len(set(codes)) == 3 and len(files(db)) == 3
    backup = tmp_path / "backup.db"
    ok(cli("db", "backup", str(backup)))
    copies = {
        "the backup": backup.read_bytes(),
        "the store file": store_path.read_bytes(),
        "the -wal file": Path(f"{store_path}-wal").read_bytes(),
    }
    # The invitations' rows are in the copies searched (their bodies, placeholder and all).
    placeholder = mail_placeholder().encode()
    assert placeholder in copies["the backup"]
    assert placeholder in copies["the store file"] + copies["the -wal file"]
    assert traces(copies, codes) == []
    columns = {r[1] for r in db.execute("PRAGMA table_info(mail_outbox)")}
    assert "secret_values" not in columns
    for mail_id in mail_ids:  # a random name and the SHA-256 of the file, nothing else
        name, digest = db.execute(
            "SELECT secret_file, secret_sha256 FROM mail_outbox WHERE id = ?", (mail_id,)
        ).fetchone()
        assert re.fullmatch(r"[0-9a-f]{32}\.secret", name)
        assert digest == hashlib.sha256((folder(db) / name).read_bytes()).hexdigest()
    # The copy alone, opened where no spool is: every message fails, no code goes out.
    restored = tmp_path / "restored" / "sempi.db"
    restored.parent.mkdir(mode=0o700)
    shutil.copy2(backup, restored)
    from tests.conftest import Cli

    elsewhere = Cli(restored, clock)
    ok(elsewhere("--yes", "mail", "retry", str(mail_ids[0])))
    result = ok(elsewhere("mail", "send", "--json"), json=True)
    assert (result["sent"], result["failed"]) == (0, 3)
    assert all("is missing" in m["error"] for m in result["messages"])
    assert len(smtp.received) == 1  # only the first delivery, before the copy was made
    assert files(db) != [] and not Path(f"{restored}{spool.SUFFIX}").exists()


def test_the_spool_file_goes_with_the_codes_last_use(cli, db, clock, alfa, smtp):
    """Sent, activated, replaced, cancelled, expired, erased: each removes the file."""
    configure(db, clock, smtp.port)
    first, second, third = alfa["users"]
    sent = invite(db, clock, first)
    ok(cli("mail", "send", "--json"))
    assert secret_file(db, sent) is None and files(db) == []
    replaced = invite(db, clock, second)
    assert len(files(db)) == 1
    new = invite(db, clock, second, resend=True)
    assert len(files(db)) == 1 and new != replaced  # the old code's file went
    ok(cli("--yes", "mail", "cancel", str(new)))
    assert files(db) == []
    invite(db, clock, third)
    clock.advance(invitations.VALID_FOR)
    assert ok(cli("mail", "send", "--json"), json=True)["messages"] == []  # expired: failed
    assert files(db) == []
    again = invite(db, clock, third)
    assert len(files(db)) == 1
    with write_transaction(db):
        mail.erase_personal_data(db, alfa["client"], [EXTERNALS[2]], clock.now())
    assert files(db) == []
    assert db.execute("SELECT status FROM mail_outbox WHERE id = ?", (again,)).fetchone()[0] == (
        "cancelled"
    )


def test_activation_removes_the_file_of_a_message_left_in_doubt(cli, db, clock, alfa, smtp):
    configure(db, clock, smtp.port)
    invite(db, clock, alfa["users"][0])
    smtp.handler.drop_after_data = True
    assert ok(cli("mail", "send", "--json"), json=True)["in_doubt"] == 1
    assert len(files(db)) == 1  # a person may still retry it
    [code] = MAILED.findall(smtp.received[-1].message.get_content())
    register_secret(code, "an activation code")
    register_secret(PASSWORD, "a new password")
    activated = cli("user", "activate", "--email", EXTERNALS[0], "--stdin",
                    input=f"{code}\n{PASSWORD}\n", as_user=None)  # fmt: skip
    assert activated.exit_code == 0, activated.stderr
    assert files(db) == []


# --- transactions: nothing left behind ---------------------------------------------------------


def test_a_rolled_back_invitation_leaves_no_file_and_no_folder(db, clock, alfa):
    with pytest.raises(RuntimeError), write_transaction(db):
        invite(db, clock, alfa["users"][0])
        assert len(files(db)) == 1
        raise RuntimeError("the rest of the onboarding failed")
    assert not folder(db).exists()  # made for this transaction, gone with it
    assert db.execute("SELECT count(*) FROM mail_outbox").fetchone()[0] == 0


def test_a_savepoint_undone_takes_its_file_the_rest_commits(db, clock, alfa):
    with write_transaction(db):
        kept = invite(db, clock, alfa["users"][0])
        with pytest.raises(RuntimeError), write_transaction(db):
            invite(db, clock, alfa["users"][1])
            assert len(files(db)) == 2
            raise RuntimeError("one row of a batch failed")
        assert len(files(db)) == 1
    assert files(db) == [secret_file(db, kept)]


def test_an_onboarding_dry_run_writes_no_file(cli, db, alfa):
    from tests.conftest import piva

    result = cli("client-onboard", "add", "--name", "Beta Srl", "--studio", "Studio Rossi",
                 "--piva", piva(7), "--external", "Gino Blu <gino@beta.test>", "--dry-run",
                 "--json")  # fmt: skip
    report = ok(result, json=True)
    assert [i["email"] for i in report["invitations"]] == ["gino@beta.test"]
    assert not folder(db).exists()


def test_a_file_a_crash_left_behind_is_swept_by_the_next_run(cli, db, clock, alfa, smtp):
    from sempi_cli.clock import iso_utc

    configure(db, clock, smtp.port)
    kept = invite(db, clock, alfa["users"][0])
    tomorrow = iso_utc(clock.now() + timedelta(days=1))  # not due: the run leaves it queued
    db.execute("UPDATE mail_outbox SET next_attempt_at = ? WHERE id = ?", (tomorrow, kept))
    # A process killed between committing "no longer needed" and removing the file.
    spool.write(folder(db), b'{"code": "left by a crash"}')
    assert len(files(db)) == 2
    assert ok(cli("mail", "send", "--json"), json=True)["messages"] == []
    assert files(db) == [secret_file(db, kept)]


# --- a spool file that cannot be used: one line, then a new invitation ------------------------


def _damage(path: Path, how: str) -> None:
    if how == "missing":
        path.unlink()
    elif how == "open":
        os.chmod(path, 0o644)
    elif how == "changed":
        path.write_text('{"code": "aaaaa-bbbbb-ccccc-ddddd"}')
    elif how == "link":
        target = path.with_name("elsewhere")
        path.rename(target)
        path.symlink_to(target)
    elif how == "open_folder":
        os.chmod(path.parent, 0o755)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("missing", "is missing"),
        ("open", "has mode 0644, open to others"),
        ("changed", "its SHA-256 differs"),
        ("link", "symbolic link"),
        ("open_folder", "has mode 0755, open to others"),
    ],
)
def test_an_unusable_spool_file_fails_its_message_in_one_line(
    cli, db, clock, alfa, smtp, how, reason
):
    configure(db, clock, smtp.port)
    mail_id = invite(db, clock, alfa["users"][0])
    [name] = files(db)
    _damage(folder(db) / name, how)
    result = cli("mail", "send", "--json")
    run = ok(result, json=True)
    assert "Traceback" not in result.stdout + result.stderr
    [message] = run["messages"]
    assert (message["outcome"], run["failed"], smtp.received) == ("failed", 1, [])
    error = message["error"]
    assert "\n" not in error and reason in error and str(folder(db)) in error
    assert f"sempi mail invite {EXTERNALS[0]} --resend" in error
    failed = db.execute("SELECT status, secret_file FROM mail_outbox WHERE id = ?", (mail_id,))
    assert tuple(failed.fetchone()) == ("failed", None)
    assert name not in files(db)  # the untrusted file went with its message
    # The fix the message names: a new invitation, delivered, and its code works.
    if how == "open_folder":
        os.chmod(folder(db), 0o700)
    ok(cli("mail", "invite", EXTERNALS[0], "--resend", "--json"))
    assert ok(cli("mail", "send", "--json"), json=True)["sent"] == 1
    [code] = MAILED.findall(smtp.received[-1].message.get_content())
    register_secret(code, "an activation code")
    register_secret(PASSWORD, "a new password")
    activated = cli("user", "activate", "--email", EXTERNALS[0], "--stdin",
                    input=f"{code}\n{PASSWORD}\n", as_user=None)  # fmt: skip
    assert activated.exit_code == 0, activated.stderr
    assert FIRM in smtp.received[-1].message.get_content()


# --- private whatever the umask, and `sempi doctor` says so -----------------------------------


@pytest.mark.parametrize("mask", [0, 0o022, 0o077, 0o277])
def test_the_spool_is_private_whatever_the_umask(cli, db, clock, alfa, umask, mask):
    umask(mask)
    invite(db, clock, alfa["users"][0])
    umask(0o022)
    [name] = files(db)
    assert (mode(folder(db)), mode(folder(db) / name)) == (0o700, 0o600)
    row = doctor(cli)["outbox_spool"]
    assert (
        row["status"] == "ok"
        and row["detail"] == f"{folder(db)}: mode 0700, 1 file(s), all private"
    )


def test_an_open_spool_folder_is_tightened_before_a_new_file(db, clock, alfa, umask):
    umask(0)
    folder(db).mkdir(mode=0o777)
    invite(db, clock, alfa["users"][0])
    assert mode(folder(db)) == 0o700


def doctor(cli, code: int = 0) -> dict[str, dict]:
    result = cli("doctor", "--json")
    assert result.exit_code == code, result.stderr
    return {row["check"]: row for row in json.loads(result.stdout)}


def test_doctor_fails_on_an_open_spool_folder_or_file(cli, db, clock, alfa):
    assert doctor(cli)["outbox_spool"] == {
        "check": "outbox_spool",
        "status": "ok",
        "detail": f"{folder(db)}: absent (no activation code waiting)",
    }
    invite(db, clock, alfa["users"][0])
    [name] = files(db)
    os.chmod(folder(db) / name, 0o640)
    row = doctor(cli, 10)["outbox_spool"]
    assert row["status"] == "fail" and name in row["detail"] and "--resend" in row["detail"]
    os.chmod(folder(db) / name, 0o600)
    os.chmod(folder(db), 0o750)
    row = doctor(cli, 10)["outbox_spool"]
    assert row["status"] == "fail" and "mode 0750" in row["detail"]
    assert f"chmod 700 {folder(db)}" in row["detail"]


# --- the upgrade: m012 moves the codes out --------------------------------------------------


def _store_before_m012(path: Path, clock, monkeypatch, code: str) -> None:
    """A store as the code before m012 made it: one queued invitation with its code
    in clear in mail_outbox.secret_values, and one already sent (code erased)."""
    from sempi_cli.services.org.firm import create_store
    from sempi_cli.store import migrations
    from tests.conftest import ADMIN_PASSWORD

    with monkeypatch.context() as before:
        before.setattr(migrations, "STEPS", migrations.STEPS[:11])
        before.setattr(migrations, "LATEST", 11)
        conn, _ = create_store(path, clock, FIRM, ADMIN_EMAIL, "Anna", ADMIN_PASSWORD)
        admin = actor(conn, ADMIN_EMAIL)
        from sempi_cli.services.org.users import UserService

        user = UserService(conn, clock, admin).add(EXTERNALS[0], "Lucia Verdi", "staff")
        now = "2026-11-16T09:30:00+00:00"
        with write_transaction(conn):
            for status, secret in (("queued", json.dumps({"code": code})), ("sent", None)):
                conn.execute(
                    "INSERT INTO mail_outbox (kind, to_address, subject, body, status,"
                    " next_attempt_at, sent_at, dedupe_key, secret_values, created_at)"
                    " VALUES ('invitation', ?, 'Invito', ?, ?, ?, ?, ?, ?, ?)",
                    (EXTERNALS[0], f"codice:\n\n    {mail_placeholder()}\n", status,
                     now if status == "queued" else None, now if status == "sent" else None,
                     f"invite:{user['id']}:{1 if status == 'queued' else 9}", secret, now),
                )  # fmt: skip
            conn.execute(
                "INSERT INTO invitations (user_id, seq, code_hash, mail_id, created_at, expires_at)"
                " VALUES (?, 1, ?, 1, ?, '2026-11-30T09:30:00+00:00')",
                (user["id"], invitations.code_hash(user["id"], code), now),
            )
        assert code.encode() in Path(f"{path}-wal").read_bytes() + path.read_bytes()
        conn.close()


def mail_placeholder() -> str:
    from sempi_cli.services.mail.templates import secret_mark

    return secret_mark("code")


def test_m012_moves_a_waiting_code_out_of_the_store(tmp_path, clock, monkeypatch, smtp):
    from sempi_cli.store import open_store
    from tests.conftest import Cli

    code = register_secret(invitations.new_code(), "an activation code")
    path = tmp_path / "old" / "sempi.db"
    _store_before_m012(path, clock, monkeypatch, code)
    conn = open_store(path)  # migrates
    try:
        assert "secret_values" not in {r[1] for r in conn.execute("PRAGMA table_info(mail_outbox)")}
        [name] = files(conn)
        assert (mode(folder(conn)), mode(folder(conn) / name)) == (0o700, 0o600)
        assert json.loads((folder(conn) / name).read_text()) == {"code": code}
        blobs = {"store": path.read_bytes(), "-wal": Path(f"{path}-wal").read_bytes()}
        assert traces(blobs, [code]) == []
        configure(conn, clock, smtp.port)
    finally:
        conn.close()
    cli = Cli(path, clock)
    assert ok(cli("mail", "send", "--json"), json=True)["sent"] == 1
    assert code in smtp.received[0].message.get_content()
    register_secret(PASSWORD, "a new password")
    activated = cli("user", "activate", "--email", EXTERNALS[0], "--stdin",
                    input=f"{code}\n{PASSWORD}\n", as_user=None)  # fmt: skip
    assert activated.exit_code == 0, activated.stderr


def test_m012_fails_a_code_it_cannot_move_and_keeps_it_nowhere(tmp_path, clock, monkeypatch):
    from sempi_cli.store import open_store
    from sempi_cli.store.migrations import m012_outbox_secrets_out as m012
    from tests.conftest import Cli

    code = register_secret(invitations.new_code(), "an activation code")
    path = tmp_path / "old" / "sempi.db"
    _store_before_m012(path, clock, monkeypatch, code)
    Path(f"{path}{spool.SUFFIX}").write_text("not a folder")  # the spool cannot be made
    conn = open_store(path)
    try:
        failed = conn.execute(
            "SELECT status, last_error, secret_file FROM mail_outbox WHERE id = 1"
        )
        assert tuple(failed.fetchone()) == ("failed", m012.MOVE_FAILED, None)
        blobs = {"store": path.read_bytes(), "-wal": Path(f"{path}-wal").read_bytes()}
        assert traces(blobs, [code]) == []
    finally:
        conn.close()
    # The documented fix: invite again (the failed e-mail is replaced by a new code).
    Path(f"{path}{spool.SUFFIX}").unlink()
    queued = ok(Cli(path, clock)("mail", "invite", EXTERNALS[0], "--json"), json=True)
    assert queued["queued"] is True
    conn = sqlite3.connect(path)
    try:
        assert (
            conn.execute(
                "SELECT status FROM mail_outbox WHERE id = ?", (queued["mail_id"],)
            ).fetchone()[0]
            == "queued"
        )
    finally:
        conn.close()


def test_every_doctor_check_is_in_the_security_docs_table(cli):
    text = (Path(__file__).parents[1] / "docs" / "security.md").read_text()
    table = text.split("## What `sempi doctor` checks", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    missing = [name for name in doctor(cli) if not any(f"`{name}`" in r for r in rows)]
    assert missing == []
