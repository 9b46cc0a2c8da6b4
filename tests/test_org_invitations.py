"""Invitations of users without a password, and `sempi user activate`.

End to end: invite → `sempi mail send` to a real SMTP server on 127.0.0.1 →
the activation code read from the message the server received → `sempi user
activate` → `sempi login`.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta

import pytest

from sempi_cli.errors import NotFound, PermissionDenied
from sempi_cli.services.org import invitations
from tests.conftest import ADMIN_EMAIL, actor, register_secret
from tests.helpers import FIRM, assert_one_line_error, configure, ok

EXTERNAL = "mario.bianchi@alfa.test"
PASSWORD = "una-password-lunga-per-Mario"
CODE = re.compile(r"^ {4}([a-z2-9]{5}(?:-[a-z2-9]{5}){3})\r?$", re.MULTILINE)


@pytest.fixture
def invitee(org, firm):
    """Studio Rossi (admin ra@) with client Alfa Srl (responsible s1@) and its external user
    Mario Bianchi (no password); Studio Verdi's admin va@; staff s2@ unrelated to Alfa."""
    org.user("s1@sempi.test", "Staff One")
    org.user("s2@sempi.test", "Staff Two")
    rossi = org.practice("Studio Rossi")
    verdi = org.practice("Studio Verdi")
    org.user("ra@rossi.test", "Admin Rossi", "studio-admin", studio=rossi)
    org.user("va@verdi.test", "Admin Verdi", "studio-admin", studio=verdi)
    client = org.client("Alfa Srl", rossi, 1, responsible="s1@sempi.test")
    user = org.user(EXTERNAL, "Mario Bianchi", "external", client=client)
    return {"client": client, "user": user["id"], "studio": rossi}


def invite(db, clock, user_id: int, who: str = ADMIN_EMAIL, **kw) -> int | None:
    return invitations.Invitations(db, clock, actor(db, who)).invite(user_id, **kw)


def live(db) -> list[sqlite3.Row]:
    return db.execute(
        "SELECT * FROM invitations WHERE used_at IS NULL AND revoked_at IS NULL"
    ).fetchall()


def received_code(server) -> str:
    """The activation code of the last message the SMTP server received."""
    [code] = CODE.findall(server.received[-1].message.get_content())
    return register_secret(code, "an activation code")


def spooled_code(db, mail_id: int) -> str:
    """The activation code waiting in the outbox spool for message ``mail_id``."""
    import json

    from sempi_cli.store import spool

    [name] = db.execute("SELECT secret_file FROM mail_outbox WHERE id = ?", (mail_id,)).fetchone()
    return json.loads((spool.folder_of(db) / name).read_text())["code"]


def activate(cli, code: str, password: str = PASSWORD, email: str = EXTERNAL):
    register_secret(password, "a new password")
    return cli(
        "user", "activate", "--email", email, "--stdin", input=f"{code}\n{password}\n", as_user=None
    )


# --- inviting --------------------------------------------------------------------------


def test_an_invitation_queues_one_mail_with_the_code_kept_apart(db, clock, invitee):
    from sempi_cli.services.mail.outbox import Outbox
    from sempi_cli.services.mail.templates import secret_mark

    mail_id = invite(db, clock, invitee["user"])
    shown = Outbox(db, clock, actor(db, ADMIN_EMAIL)).show(mail_id)
    assert shown["kind"] == "invitation" and shown["to_address"] == EXTERNAL
    assert shown["subject"] == f"Invito — {FIRM}"
    assert shown["dedupe_key"] == f"invite:{invitee['user']}:1"
    assert shown["client_id"] == invitee["client"]
    body = shown["body"]
    assert "Gentile Mario Bianchi," in body and "spazio di lavoro riservato di Alfa Srl" in body
    assert f"sempi user activate --email {EXTERNAL}" in body
    assert "fino al 30/11/2026 alle 10:30" in body  # 14 days, Rome time
    assert secret_mark("code") in body and not CODE.search(body)
    [invitation] = live(db)
    assert invitation["mail_id"] == mail_id
    assert invitation["expires_at"] == "2026-11-30T09:30:00+00:00"
    assert len(invitation["code_hash"]) == 64  # SHA-256, the code itself is not stored


def test_inviting_again_does_nothing_while_the_code_is_valid(db, clock, invitee):
    from sempi_cli.store import write_transaction

    first = invite(db, clock, invitee["user"])
    with write_transaction(db):  # an onboarding re-run, inside its own transaction
        assert invite(db, clock, invitee["user"]) is None
    assert db.execute("SELECT count(*) FROM mail_outbox").fetchone()[0] == 1
    assert [r["mail_id"] for r in live(db)] == [first]
    # Expired: inviting makes a new one.
    clock.advance(timedelta(days=14))
    second = invite(db, clock, invitee["user"])
    assert second is not None and second != first
    assert [r["seq"] for r in live(db)] == [2]


def test_resend_replaces_the_code_and_cancels_the_unsent_mail(db, clock, invitee):
    first = invite(db, clock, invitee["user"])
    second = invite(db, clock, invitee["user"], resend=True)
    assert second != first
    statuses = dict(db.execute("SELECT id, status FROM mail_outbox").fetchall())
    assert statuses == {first: "cancelled", second: "queued"}
    assert (
        db.execute("SELECT secret_file FROM mail_outbox WHERE id = ?", (first,)).fetchone()[0]
        is None
    )
    assert [r["seq"] for r in live(db)] == [2]
    assert db.execute("SELECT count(*) FROM invitations").fetchone()[0] == 2


def test_who_may_invite(db, clock, invitee):
    user = invitee["user"]
    from sempi_cli.services.org.groups import GroupService

    with pytest.raises(NotFound):
        invite(db, clock, user, "s2@sempi.test")  # staff outside Alfa's work group
    GroupService(db, clock, actor(db, ADMIN_EMAIL)).add_member(invitee["client"], "s2@sempi.test")
    with pytest.raises(PermissionDenied):
        invite(db, clock, user, "s2@sempi.test")  # a member, but not the client's responsible
    with pytest.raises(NotFound):
        invite(db, clock, user, "va@verdi.test")  # another practice does not even see him
    assert invite(db, clock, user, "ra@rossi.test") is not None  # the practice's admin
    assert invite(db, clock, user, "s1@sempi.test", resend=True) is not None  # the responsible


def test_only_a_user_without_a_password_is_invited(cli, db, clock, invitee):
    # The service (an onboarding re-run): nothing to do, nothing queued.
    assert invite(db, clock, actor(db, ADMIN_EMAIL).id) is None
    line = assert_one_line_error(cli("mail", "invite", ADMIN_EMAIL), 5)
    assert "already has a password" in line
    db.execute(
        "UPDATE users SET disabled_at = '2026-11-01T00:00:00+00:00' WHERE id = ?",
        (invitee["user"],),
    )
    assert invite(db, clock, invitee["user"]) is None
    assert_one_line_error(cli("mail", "invite", EXTERNAL), 5, "disabled")
    assert db.execute("SELECT count(*) FROM mail_outbox").fetchone()[0] == 0


def test_an_onboarding_rerun_after_activation_changes_nothing(cli, db, clock, delivered):
    assert activate(cli, delivered).exit_code == 0
    user_id = db.execute("SELECT id FROM users WHERE email = ?", (EXTERNAL,)).fetchone()[0]
    assert invite(db, clock, user_id) is None
    assert db.execute("SELECT count(*) FROM mail_outbox").fetchone()[0] == 1


def test_mail_invite_on_the_command_line(cli, invitee):
    first = ok(cli("mail", "invite", EXTERNAL, "--json"), json=True)
    assert first == {"user": EXTERNAL, "mail_id": 1, "queued": True}
    again = cli("mail", "invite", EXTERNAL, "--json")
    assert ok(again, json=True) == {"user": EXTERNAL, "mail_id": None, "queued": False}
    assert "--resend" in again.stderr
    assert ok(cli("mail", "invite", EXTERNAL, "--resend", "--json"), json=True)["mail_id"] == 2
    assert_one_line_error(cli("mail", "invite", "nobody@alfa.test"), 3)
    assert_one_line_error(cli("mail", "invite", EXTERNAL, as_user="s2@sempi.test"), 3)


def test_codes_are_long_random_and_typed_loosely(db, clock, invitee):
    codes = {invitations.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(CODE.match("    " + c) for c in codes)
    code = next(iter(codes))
    assert invitations.code_hash(5, code) == invitations.code_hash(5, f" {code.upper()} ")
    assert invitations.code_hash(5, code) == invitations.code_hash(5, code.replace("-", ""))
    assert invitations.code_hash(5, code) != invitations.code_hash(6, code)
    bits = invitations.CODE_LENGTH * __import__("math").log2(len(invitations._ALPHABET))
    assert bits >= 80


# --- activating, end to end --------------------------------------------------------------


@pytest.fixture
def delivered(cli, db, clock, invitee, smtp):
    """The invitation went through the real SMTP server; returns the code it carried."""
    configure(db, clock, smtp.port)
    ok(cli("mail", "invite", EXTERNAL, "--json"), json=True)
    assert ok(cli("mail", "send", "--json"), json=True)["sent"] == 1
    [received] = smtp.received
    assert received.rcpt_tos == [EXTERNAL]
    assert received.message["Subject"] == f"Invito — {FIRM}"
    assert FIRM in received.message.get_content()
    return received_code(smtp)


def test_activate_with_the_code_from_the_mail_then_log_in(cli, db, delivered, store_path):
    result = activate(cli, delivered)
    assert result.exit_code == 0, result.stderr
    assert "sempi login --email" in result.stderr
    login = cli("login", "-e", EXTERNAL, "--password-stdin", input=PASSWORD + "\n", as_user=None)
    assert login.exit_code == 0, login.stderr
    assert "Mario Bianchi" in login.stderr
    assert live(db) == []
    # The code is nowhere in the store any more (the outbox erased it once sent).
    dump = "\n".join(sqlite3.connect(store_path).iterdump())
    assert delivered not in dump and delivered.replace("-", "") not in dump
    # Used once: a second activation fails.
    assert_one_line_error(activate(cli, delivered, "altra-password-lunga-42"), 7, "already used")


def test_mail_show_never_shows_the_code(cli, db, clock, invitee):
    ok(cli("mail", "invite", EXTERNAL, "--json"), json=True)
    code = register_secret(spooled_code(db, 1), "an activation code")
    shown = cli("mail", "show", "1")
    assert shown.exit_code == 0 and "shown only in the delivered message" in shown.stdout
    assert code not in shown.stdout + cli("mail", "show", "1", "--json").stdout


def test_a_wrong_code_is_one_line_exit_7_and_counts_as_a_failed_login(cli, db, delivered):
    line = assert_one_line_error(activate(cli, "aaaaa-bbbbb-ccccc-ddddd"), 7)
    assert "wrong, expired or already used code" in line
    assert [tuple(r) for r in db.execute("SELECT kind FROM auth_failures")] == [("code",)]
    assert_one_line_error(activate(cli, delivered, email="nobody@alfa.test"), 7)
    assert live(db)  # not used up
    # Failures slow the next try: even the right code is refused until the wait ends.
    for _ in range(9):
        assert_one_line_error(activate(cli, "aaaaa-bbbbb-ccccc-ddddd"), 7)
    assert_one_line_error(activate(cli, delivered), 7)
    cli.clock.advance(timedelta(minutes=1))
    assert activate(cli, delivered).exit_code == 0


def test_an_expired_code_is_refused(cli, db, delivered):
    cli.clock.advance(timedelta(days=14))
    assert_one_line_error(activate(cli, delivered), 7)
    cli.clock.advance(timedelta(seconds=-1))
    assert activate(cli, delivered).exit_code == 0


def test_a_replaced_code_is_refused(cli, db, delivered):
    ok(cli("mail", "invite", EXTERNAL, "--resend", "--json"), json=True)
    assert_one_line_error(activate(cli, delivered), 7)


def test_a_weak_password_keeps_the_code(cli, db, delivered):
    line = assert_one_line_error(activate(cli, delivered, "q7#zk"), 6)
    assert "new password" in line and "too short" in line
    assert live(db)
    assert activate(cli, delivered).exit_code == 0


def test_activation_needs_a_terminal_or_stdin(cli, delivered):
    result = cli("user", "activate", "--email", EXTERNAL, as_user=None, no_input=True)
    assert_one_line_error(result, 2, "no terminal")


# --- the code is kept no longer than it is needed ----------------------------------------


def outbox_row(db, mail_id: int) -> sqlite3.Row:
    return db.execute("SELECT * FROM mail_outbox WHERE id = ?", (mail_id,)).fetchone()


def test_activation_erases_the_code_of_a_message_left_in_doubt(cli, db, clock, invitee, smtp):
    configure(db, clock, smtp.port)
    mail_id = ok(cli("mail", "invite", EXTERNAL, "--json"), json=True)["mail_id"]
    smtp.handler.drop_after_data = True  # received, but the sender never heard "250"
    assert ok(cli("mail", "send", "--json"), json=True)["in_doubt"] == 1
    assert outbox_row(db, mail_id)["secret_file"] is not None  # a person may still retry
    assert activate(cli, received_code(smtp)).exit_code == 0
    spent = outbox_row(db, mail_id)
    assert (spent["status"], spent["secret_file"]) == ("cancelled", None)


def test_a_failed_invitation_keeps_no_code_and_inviting_again_replaces_it(
    cli,
    db,
    clock,
    invitee,
    smtp,
):
    configure(db, clock, smtp.port)
    first = ok(cli("mail", "invite", EXTERNAL, "--json"), json=True)["mail_id"]
    smtp.handler.rcpt_reply = "550 5.1.1 No such user here"
    assert ok(cli("mail", "send", "--json"), json=True)["failed"] == 1
    failed = outbox_row(db, first)
    assert (failed["status"], failed["secret_file"]) == ("failed", None)
    line = assert_one_line_error(cli("mail", "retry", str(first)), 5)
    assert "one-time code was erased" in line and "--resend" in line
    # The code never reached anyone: inviting again (no --resend needed) makes a new one.
    second = ok(cli("mail", "invite", EXTERNAL, "--json"), json=True)["mail_id"]
    assert second not in (None, first)
    assert [r["mail_id"] for r in live(db)] == [second]
    smtp.handler.rcpt_reply = None
    assert ok(cli("mail", "send", "--json"), json=True)["sent"] == 1
    assert activate(cli, received_code(smtp)).exit_code == 0


def test_an_expired_invitation_is_never_delivered(cli, db, clock, invitee, smtp):
    configure(db, clock, smtp.port)
    mail_id = ok(cli("mail", "invite", EXTERNAL, "--json"), json=True)["mail_id"]
    cli.clock.advance(invitations.VALID_FOR)
    dry = ok(cli("mail", "send", "--dry-run", "--json"), json=True)
    assert (dry["due"], [m["outcome"] for m in dry["messages"]]) == (0, ["expired"])
    assert ok(cli("mail", "send", "--json"), json=True)["messages"] == []
    assert smtp.received == []
    expired = outbox_row(db, mail_id)
    assert (expired["status"], expired["secret_file"]) == ("failed", None)
    assert expired["last_error"] == "the invitation expired before it was delivered"


def test_a_code_replaced_while_its_mail_is_being_sent_is_never_delivered_later(
    cli,
    db,
    clock,
    invitee,
    smtp,
    store_path,
):
    from sempi_cli.store import open_store

    configure(db, clock, smtp.port)
    first = ok(cli("mail", "invite", EXTERNAL, "--json"), json=True)["mail_id"]

    def resend_meanwhile() -> None:  # a person sends a new code while the sender waits
        smtp.handler.on_rcpt = None  # once
        conn = open_store(store_path)
        try:
            invitations.Invitations(conn, clock, actor(conn, ADMIN_EMAIL)).invite(
                invitee["user"], resend=True
            )
        finally:
            conn.close()

    smtp.handler.on_rcpt = resend_meanwhile
    smtp.handler.rcpt_reply = "451 4.3.0 Try again later"
    assert ok(cli("mail", "send", "--json"), json=True)["deferred"] == 2  # the old and the new one
    held = outbox_row(db, first)  # the sender's outcome stands; the old code is gone
    assert (held["status"], held["secret_file"]) == ("queued", None)
    smtp.handler.rcpt_reply = None
    cli.clock.advance(timedelta(minutes=5))
    result = ok(cli("mail", "send", "--json"), json=True)
    outcomes = {m["id"]: (m["outcome"], m["error"]) for m in result["messages"]}
    assert outcomes[first][0] == "failed" and "one-time code was erased" in outcomes[first][1]
    [received] = smtp.received  # only the new code went out, never a placeholder
    assert "shown only in the delivered message" not in received.message.get_content()
    assert activate(cli, received_code(smtp)).exit_code == 0


def test_a_practice_admin_sees_the_invitation_of_its_operator(cli, db, clock, invitee):
    ok(cli("user", "add", "--email", "op@rossi.test", "--name", "Op Rossi", "--role",
           "studio-operator", "--studio", "Studio Rossi", "--json", as_user="ra@rossi.test"), json=True)  # fmt: skip
    queued = ok(
        cli("mail", "invite", "op@rossi.test", "--json", as_user="ra@rossi.test"), json=True
    )
    shown = ok(
        cli("mail", "show", str(queued["mail_id"]), "--json", as_user="ra@rossi.test"), json=True
    )
    assert (shown["client_id"], shown["studio_id"]) == (None, invitee["studio"])
    assert_one_line_error(cli("mail", "show", str(queued["mail_id"]), as_user="va@verdi.test"), 3)
    line = assert_one_line_error(cli("mail", "invite", "op@rossi.test", as_user="s1@sempi.test"), 8)
    assert "you may not invite op@rossi.test" in line
