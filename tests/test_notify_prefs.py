"""How notifications reach people (`sempi notify prefs`): inbox, email, both, off; and
the e-mail digest: one queued message per person, gathering every notification
until `sempi mail send` delivers it (a real SMTP server on 127.0.0.1)."""

from __future__ import annotations

import pytest

from sempi_cli.services.mail import outbox
from sempi_cli.services.notify.centre import NotificationService
from sempi_cli.services.notify.kinds import KINDS
from sempi_cli.services.notify.prefs import PreferenceService
from sempi_cli.store import write_transaction
from tests.conftest import ADMIN_EMAIL, actor, store_digest
from tests.helpers import (
    CREATOR,
    DOER,
    EXTERNAL,
    HELPER,
    OPERATOR,
    assert_one_line_error,
    configure,
    data,
    ok,
)


def prefer(db, clock, user: str, kind: str, channel: str) -> None:
    PreferenceService(db, clock, actor(db, user)).set(kind, channel)


def deliver(db, clock, user: str, kind: str, text: str, source: str) -> int | None:
    return NotificationService(db, clock, actor(db, ADMIN_EMAIL)).notify(
        actor(db, user).id, kind, text, source
    )


def digests(db) -> list[dict]:
    return [
        dict(r)
        for r in db.execute(
            "SELECT id, kind, to_address, subject, body, status, dedupe_key, client_id, studio_id"
            " FROM mail_outbox WHERE kind = 'notifications' ORDER BY id"
        )
    ]


def note(db, notification_id: int) -> dict:
    return dict(
        db.execute("SELECT * FROM notifications WHERE id = ?", (notification_id,)).fetchone()
    )


# --- the preferences -------------------------------------------------------------------


def test_every_kind_starts_in_the_inbox_and_each_person_chooses_their_own(cli, people):
    shown = data(cli("notify", "prefs", "--json", as_user=DOER))
    assert [(p["kind"], p["channel"]) for p in shown] == [(k, "inbox") for k in KINDS]
    assert all(p["about"] for p in shown)
    assert data(cli("notify", "prefs", "set", "task", "both", "--json", as_user=DOER)) == {
        "kind": "task", "channel": "both", "about": shown[2]["about"],
    }  # fmt: skip
    ok(cli("notify", "prefs", "set", "Mention", "OFF", as_user=DOER))  # any case
    mine = {p["kind"]: p["channel"] for p in data(cli("notify", "prefs", "--json", as_user=DOER))}
    assert (mine["task"], mine["mention"], mine["message"]) == ("both", "off", "inbox")
    theirs = data(cli("notify", "prefs", "--json", as_user=HELPER))
    assert {p["channel"] for p in theirs} == {"inbox"}
    ok(cli("notify", "prefs", "set", "task", "inbox", as_user=DOER))  # back to the default
    table = ok(cli("notify", "prefs", as_user=DOER))
    assert "task" in table.stdout and "both" not in table.stdout


def test_a_change_is_audited(cli, db, people):
    ok(cli("notify", "prefs", "set", "reminder", "email", as_user=DOER))
    ok(cli("notify", "prefs", "set", "reminder", "email", as_user=DOER))  # no change: no entry
    rows = db.execute(
        "SELECT details FROM audit_log WHERE action = 'set_notification_pref'"
    ).fetchall()
    assert len(rows) == 1 and '"new": "email"' in rows[0][0]


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (("gossip", "inbox"), 6, "KIND"),
        (("task", "pigeon"), 6, "CHANNEL"),
        (("task", ""), 6, "CHANNEL"),
    ],
)
def test_bad_preferences_are_refused_naming_the_argument(
    cli, people, store_path, args, code, field
):
    before = store_digest(store_path)
    line = assert_one_line_error(cli("notify", "prefs", "set", *args, as_user=DOER), code, field)
    assert "Use one of: " in line
    assert store_digest(store_path) == before


def test_a_missing_argument_is_a_usage_error(cli, people, store_path):
    before = store_digest(store_path)
    assert cli("notify", "prefs", "set", "task", as_user=DOER).exit_code == 2
    assert store_digest(store_path) == before


# --- off, inbox, email, both ---------------------------------------------------------------


def test_off_stores_nothing_and_counts_from_the_next_delivery(db, clock, people):
    prefer(db, clock, DOER, "reminder", "off")
    assert deliver(db, clock, DOER, "reminder", "Promemoria 1", "test:1") is None
    assert (
        db.execute("SELECT count(*) FROM notifications WHERE source = 'test:1'").fetchone()[0] == 0
    )
    assert deliver(db, clock, DOER, "task", "Another kind still arrives", "test:2") is not None
    prefer(db, clock, DOER, "reminder", "inbox")
    assert deliver(db, clock, DOER, "reminder", "Promemoria 1", "test:1") is not None
    assert digests(db) == []


def test_email_is_mailed_instead_of_shown_unread(cli, db, clock, people):
    prefer(db, clock, DOER, "reminder", "email")
    made = deliver(db, clock, DOER, "reminder", "Promemoria: F24 di novembre", "test:1")
    assert made is not None
    stored = note(db, made)
    assert stored["emailed_at"] == stored["read_at"] == "2026-11-16T09:30:00+00:00"
    assert data(cli("notify", "list", "--unread", "--json", as_user=DOER)) == []
    [listed] = data(cli("notify", "list", "--json", as_user=DOER))  # the record of what was mailed
    assert (listed["id"], listed["read"], listed["emailed_at"]) == (
        made,
        True,
        stored["emailed_at"],
    )
    [mail] = digests(db)
    assert (mail["to_address"], mail["status"]) == (DOER, "queued")
    assert mail["dedupe_key"] == f"notify:{actor(db, DOER).id}:{made}"
    assert mail["body"].startswith("Gentile Doer,\n\n")
    assert mail["body"].endswith("\n\n- 16/11/2026 10:30 · promemoria: Promemoria: F24 di novembre")
    assert "sempi notify prefs" in mail["body"]
    # The same event again: neither stored nor mailed twice.
    assert deliver(db, clock, DOER, "reminder", "Promemoria: F24 di novembre", "test:1") is None
    assert digests(db)[0]["body"] == mail["body"]


def test_both_keeps_it_unread_and_mails_it(cli, db, clock, people):
    prefer(db, clock, DOER, "task", "both")
    made = deliver(db, clock, DOER, "task", "Creator gave you task 1 (IVA)", "test:1")
    assert made is not None
    stored = note(db, made)
    assert stored["read_at"] is None and stored["emailed_at"] == "2026-11-16T09:30:00+00:00"
    assert [n["id"] for n in data(cli("notify", "list", "--unread", "--json", as_user=DOER))] == [
        made
    ]
    [mail] = digests(db)
    assert mail["body"].endswith("· incarico: Creator gave you task 1 (IVA)")


def test_a_disabled_account_gets_no_mail_and_keeps_the_notification(db, clock, people):
    prefer(db, clock, HELPER, "task", "email")
    db.execute(
        "UPDATE users SET disabled_at = '2026-11-01T00:00:00+00:00' WHERE email = ?", (HELPER,)
    )
    made = deliver(db, clock, HELPER, "task", "Creator gave you task 1", "test:1")
    assert made is not None
    stored = note(db, made)
    assert stored["emailed_at"] is None and stored["read_at"] is None
    assert digests(db) == []


# --- the digest ---------------------------------------------------------------------------------


def test_one_message_per_person_until_mail_send_then_a_new_one(cli, db, clock, people, smtp, firm):
    configure(db, clock, smtp.port)
    for kind in ("task", "mention", "reminder"):
        prefer(db, clock, DOER, kind, "email")
    prefer(db, clock, HELPER, "task", "both")
    deliver(db, clock, DOER, "task", "Creator gave you task 1", "test:1")
    deliver(db, clock, HELPER, "task", "Creator added you to task 1", "test:2")
    deliver(db, clock, DOER, "mention", "Creator named you in Generale", "test:3")
    deliver(db, clock, DOER, "message", "Not by e-mail: the inbox", "test:4")
    deliver(db, clock, DOER, "reminder", "Promemoria: F24", "test:5")
    first = digests(db)
    assert [(m["to_address"], m["status"]) for m in first] == [(DOER, "queued"), (HELPER, "queued")]
    lines = [line for line in first[0]["body"].splitlines() if line.startswith("- ")]
    assert lines == [
        "- 16/11/2026 10:30 · incarico: Creator gave you task 1",
        "- 16/11/2026 10:30 · menzione: Creator named you in Generale",
        "- 16/11/2026 10:30 · promemoria: Promemoria: F24",
    ]
    result = data(cli("mail", "send", "--json"))
    assert result["sent"] == 2
    received = {r.rcpt_tos[0]: r.message for r in smtp.received}
    assert set(received) == {DOER, HELPER}
    assert received[DOER]["Subject"] == f"Le sue notifiche — {firm}"
    body = received[DOER].get_content()
    assert "Creator gave you task 1" in body and "Promemoria: F24" in body
    assert "Not by e-mail" not in body
    # After the run the next notification starts a new message, with itself alone.
    deliver(db, clock, DOER, "task", "Creator moved the deadline of task 1", "test:6")
    after = digests(db)
    assert [m["status"] for m in after] == ["sent", "sent", "queued"]
    assert after[2]["body"].count("\n- ") == 1 and "moved the deadline" in after[2]["body"]
    assert "moved the deadline" not in after[0]["body"]
    assert data(cli("mail", "send", "--json"))["sent"] == 1
    assert len(smtp.received) == 3


def test_a_claimed_digest_is_never_appended_to(db, clock, people):
    """`mail send` claims a message (sending) before it talks to the server: a line
    added then would never be delivered; it starts a new message instead."""
    prefer(db, clock, DOER, "task", "email")
    deliver(db, clock, DOER, "task", "First", "test:1")
    db.execute(
        "UPDATE mail_outbox SET status = 'sending', claimed_at = '2026-11-16T09:30:00+00:00'"
    )
    deliver(db, clock, DOER, "task", "Second", "test:2")
    first, second = digests(db)
    assert "Second" not in first["body"] and second["body"].endswith("· incarico: Second")
    db.execute(
        "UPDATE mail_outbox SET status = 'cancelled', claimed_at = NULL WHERE id = ?",
        (second["id"],),
    )
    deliver(db, clock, DOER, "task", "Third", "test:3")
    assert len(digests(db)) == 3


def test_where_the_mail_belongs(db, clock, people):
    """An external user's to their own address, belonging to their client; a practice
    user's to their practice; firm staff's to the firm (administrators only)."""
    for user in (EXTERNAL, OPERATOR, DOER):
        prefer(db, clock, user, "task", "email")
        deliver(db, clock, user, "task", f"Something for {user}", f"test:{user}")
    by_address = {m["to_address"]: m for m in digests(db)}
    client = people["client"]
    studio = db.execute("SELECT studio_id FROM clients WHERE id = ?", (client,)).fetchone()[0]
    assert (by_address[EXTERNAL]["client_id"], by_address[EXTERNAL]["studio_id"]) == (
        client,
        studio,
    )
    assert (by_address[OPERATOR]["client_id"], by_address[OPERATOR]["studio_id"]) == (None, studio)
    assert (by_address[DOER]["client_id"], by_address[DOER]["studio_id"]) == (None, None)
    assert all(f"Something for {a}" in m["body"] and m["subject"].startswith("Le sue notifiche")
               for a, m in by_address.items())  # fmt: skip


def test_a_full_digest_starts_another(db, clock, people, monkeypatch):
    from sempi_cli.services.notify import digest

    prefer(db, clock, DOER, "task", "email")
    deliver(db, clock, DOER, "task", "x" * 40, "test:1")
    size = len(digests(db)[0]["body"])
    monkeypatch.setattr(digest, "MAX_BODY", size + 100)
    deliver(db, clock, DOER, "task", "y" * 40, "test:2")  # fits
    deliver(db, clock, DOER, "task", "z" * 40, "test:3")  # would not
    first, second = digests(db)
    assert "y" * 40 in first["body"] and len(first["body"]) <= size + 100
    assert "z" * 40 in second["body"] and "x" * 40 not in second["body"]


def test_the_digest_belongs_to_the_callers_transaction(db, clock, people):
    prefer(db, clock, DOER, "task", "both")
    with pytest.raises(RuntimeError), write_transaction(db):
        deliver(db, clock, DOER, "task", "Creator gave you task 1", "test:1")
        raise RuntimeError("the task's change failed later")
    assert digests(db) == []
    assert (
        db.execute("SELECT count(*) FROM notifications WHERE source = 'test:1'").fetchone()[0] == 0
    )


def test_append_queued_finds_only_its_own_prefix(db, clock, people):
    box = outbox.Outbox(db, clock, actor(db, ADMIN_EMAIL))
    context = {"full_name": "Doer", "items": "- first"}
    five = box.queue("notifications", DOER, context, dedupe_key="notify:5:1")
    fifty_five = box.queue("notifications", DOER, context, dedupe_key="notify:55:1")
    assert outbox.append_queued(db, "notify:5:", "\n- second", max_body=10_000) == five
    assert outbox.append_queued(db, "notify:6:", "\n- other", max_body=10_000) is None
    bodies = dict(db.execute("SELECT id, body FROM mail_outbox").fetchall())
    assert bodies[five].endswith("- first\n- second") and bodies[fifty_five].endswith("- first")
    with pytest.raises(ValueError):
        outbox.append_queued(db, "", "x", max_body=10)


def test_the_firm_staff_digest_is_for_firm_administrators_only(cli, db, clock, people):
    """The outbox shows a practice's administrator their practice's mail only."""
    prefer(db, clock, DOER, "task", "email")
    deliver(db, clock, DOER, "task", "Creator gave you task 1", "test:1")
    assert [m["to_address"] for m in data(cli("mail", "list", "--json"))] == [DOER]
    sadmin = "sadmin@rossi.test"
    studio = db.execute("SELECT id FROM studios WHERE name = 'Studio Rossi'").fetchone()[0]
    from tests.helpers import Org

    Org(db, clock).user(sadmin, "Sandro Admin", "studio-admin", studio=studio)
    assert data(cli("mail", "list", "--json", as_user=sadmin)) in ([], None)
    assert CREATOR not in [m["to_address"] for m in data(cli("mail", "list", "--json"))]
