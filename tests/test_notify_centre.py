"""The inbox (`sempi notify list`, `read`, `unread`): filters, marking, bad input, and
the text of a notification about a chat its person can no longer read.

Notifications are delivered through NotificationService.notify, as the services
do; the clock stands at NOW (2026-11-16 09:30 UTC, 10:30 in Rome) and moves.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sempi_cli.services.notify.centre import HIDDEN_TEXT, NotificationService
from tests.conftest import ADMIN_EMAIL, actor, store_digest
from tests.helpers import CREATOR, DOER, HELPER, OPERATOR, assert_one_line_error, data, ok


def deliver(db, clock, user, kind, text, source, **kw) -> int:
    inbox = NotificationService(db, clock, actor(db, ADMIN_EMAIL))
    made = inbox.notify(actor(db, user).id, kind, text, source, **kw)
    assert isinstance(made, int)
    return made


def inbox(cli, user, *args) -> list[dict]:
    return data(cli("notify", "list", *args, "--json", as_user=user))


def ids(cli, user, *args) -> list[int]:
    return [n["id"] for n in inbox(cli, user, *args)]


@pytest.fixture
def notes(db, clock, people) -> dict[str, int]:
    """DOER's inbox: five notifications a day apart (the newest at NOW + 4 days)."""
    made = {}
    for n, (kind, text) in enumerate(
        (
            ("reminder", "Promemoria: F24 di novembre"),
            ("task", "Creator gave you task 1 (Liquidazione IVA)"),
            ("mention", "Creator named you: la fattura di Alfa è pronta"),
            ("task", "Creator commented on task 1 (Liquidazione IVA): 100% fatto"),
            ("timer", "Your timer on task 1 is running over midnight"),
        )
    ):
        made[f"{kind}{n}"] = deliver(db, clock, DOER, kind, text, f"test:{n}")
        clock.advance(timedelta(days=1))
    clock.advance(timedelta(days=-1))
    return made


# --- filters ---------------------------------------------------------------------------


def test_everything_newest_first_and_only_ones_own(cli, db, clock, notes):
    assert ids(cli, DOER) == sorted(notes.values(), reverse=True)
    first = inbox(cli, DOER)[-1]
    assert first == {
        "id": notes["reminder0"], "created_at": "2026-11-16T09:30:00+00:00", "kind": "reminder",
        "task_id": None, "chat_id": None, "text": "Promemoria: F24 di novembre",
        "read_at": None, "emailed_at": None, "read": False,
    }  # fmt: skip
    assert inbox(cli, HELPER) == [] and inbox(cli, ADMIN_EMAIL) == []
    # CREATOR, the clients' responsible, was only told of joining their work groups.
    assert {n["kind"] for n in inbox(cli, CREATOR)} == {"invitation"}


def test_kind_is_repeatable(cli, notes):
    assert ids(cli, DOER, "--kind", "task") == [notes["task3"], notes["task1"]]
    assert ids(cli, DOER, "--kind", "timer", "--kind", "mention") == [
        notes["timer4"],
        notes["mention2"],
    ]
    assert ids(cli, DOER, "--kind", "deadline") == []


def test_text_finds_every_word_in_any_case_literally(cli, notes):
    assert ids(cli, DOER, "--text", "liquidazione") == [notes["task3"], notes["task1"]]
    assert ids(cli, DOER, "--text", "IVA commented") == [notes["task3"]]
    assert ids(cli, DOER, "--text", "100%") == [notes["task3"]]
    assert ids(cli, DOER, "--text", "1_0") == []  # _ and % are no wildcards
    assert ids(cli, DOER, "--search", "f24") == [notes["reminder0"]]  # the older name


def test_from_and_to_take_days_whole_and_times_as_typed(cli, notes):
    # Days in Rome: the notes are at 10:30 on 16, 17, 18, 19 and 20 November.
    assert ids(cli, DOER, "--from", "18/11/2026") == [
        notes["timer4"],
        notes["task3"],
        notes["mention2"],
    ]
    assert ids(cli, DOER, "--to", "17/11/2026") == [notes["task1"], notes["reminder0"]]
    assert ids(cli, DOER, "--from", "2026-11-17", "--to", "2026-11-17") == [notes["task1"]]
    assert ids(cli, DOER, "--to", "17/11/2026 10:29") == [notes["reminder0"]]
    assert ids(cli, DOER, "--to", "17/11/2026 10:30") == [notes["task1"], notes["reminder0"]]
    assert ids(cli, DOER, "--from", "-1d") == [notes["timer4"], notes["task3"]]  # clock: 20/11
    assert ids(cli, DOER, "--since", "20/11/2026") == [notes["timer4"]]  # the older name
    assert ids(cli, DOER, "--kind", "task", "--from", "18/11/2026", "--limit", "5") == [
        notes["task3"]
    ]
    assert ids(cli, DOER, "--limit", "2") == [notes["timer4"], notes["task3"]]


def test_unread_and_the_count(cli, notes):
    ok(cli("notify", "read", str(notes["task1"]), str(notes["timer4"]), as_user=DOER))
    assert ids(cli, DOER, "--unread") == [notes["task3"], notes["mention2"], notes["reminder0"]]
    table = ok(cli("notify", "list", "--unread", "--kind", "task", as_user=DOER))
    assert "Liquidazione" in table.stdout and "3 unread." in table.stderr


# --- marking unread ------------------------------------------------------------------------


def test_unread_marks_again_all_or_nothing(cli, db, clock, notes, store_path):
    ok(cli("notify", "read", "--all", as_user=DOER))
    result = data(
        cli("notify", "unread", str(notes["task1"]), str(notes["mention2"]), "--json", as_user=DOER)
    )
    assert result == {"marked_unread": 2, "unread": 2}
    assert ids(cli, DOER, "--unread") == [notes["mention2"], notes["task1"]]
    again = data(cli("notify", "unread", str(notes["task1"]), "--json", as_user=DOER))
    assert again == {"marked_unread": 0, "unread": 2}  # already unread: unchanged
    theirs = deliver(db, clock, CREATOR, "task", "Doer commented on task 1", "test:creator")
    ok(cli("notify", "read", "--all", as_user=CREATOR))
    before = store_digest(store_path)
    line = assert_one_line_error(
        cli("notify", "unread", str(notes["reminder0"]), str(theirs), as_user=DOER), 3
    )
    assert f"notification {theirs} not found" in line
    assert_one_line_error(cli("notify", "unread", "999", as_user=DOER), 3, "not found")
    assert_one_line_error(cli("notify", "unread", as_user=DOER), 2)
    assert store_digest(store_path) == before
    assert inbox(cli, CREATOR)[0]["read"] is True


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (("--kind", "gossip"), 6, "--kind"),
        (("--kind", "task", "--kind", "Task"), 6, "--kind"),
        (("--from", "someday"), 6, "--from"),
        (("--to", "31/02/2026"), 6, "--to"),
        (("--since", "yesterday-ish"), 6, "--since"),
        (("--from", "20/11/2026", "--to", "19/11/2026"), 6, "--to"),
        (("--from", "today", "--since", "today"), 2, "--since"),
        (("--text", "a", "--search", "b"), 2, "--search"),
    ],
)
def test_bad_filters_say_which_option(cli, notes, store_path, args, code, field):
    before = store_digest(store_path)
    assert_one_line_error(cli("notify", "list", *args, as_user=DOER), code, field)
    assert store_digest(store_path) == before


def test_a_person_sees_the_newest_page_unless_they_ask_for_all(cli, db, clock, people):
    for n in range(55):
        deliver(db, clock, DOER, "reminder", f"Promemoria {n}", f"page:{n}")
    result = ok(cli("notify", "list", as_user=DOER))
    assert "Promemoria 54" in result.stdout and "Promemoria 4\n" not in result.stdout
    assert "--all for more" in result.stderr
    assert len(ids(cli, DOER)) == 50  # JSON too: a page, the newest
    assert len(ids(cli, DOER, "--all")) == 55
    assert len(ids(cli, DOER, "-n", "60")) == 55
    assert_one_line_error(cli("notify", "list", "--all", "-n", "5", as_user=DOER), 2, "--all")


def test_a_limit_below_one_is_a_usage_error(cli, notes):
    result = cli("notify", "list", "--limit", "0", as_user=DOER)
    assert result.exit_code == 2 and "--limit" in result.stderr


def test_bad_input_of_notify_itself(db, clock, people):
    from sempi_cli.errors import InvalidData

    inbox = NotificationService(db, clock, actor(db, ADMIN_EMAIL))
    doer = actor(db, DOER).id
    count = "SELECT count(*) FROM notifications"
    before = db.execute(count).fetchone()[0]
    with pytest.raises(InvalidData, match="kind"):
        inbox.notify(doer, "gossip", "x", "test:1")
    with pytest.raises(InvalidData, match="text"):
        inbox.notify(doer, "task", "  ", "test:1")
    with pytest.raises(InvalidData, match="source"):
        inbox.notify(doer, "task", "x", " ")
    assert db.execute(count).fetchone()[0] == before


# --- chats the person can no longer read -------------------------------------------------------


def private_chat(db, clock, *members: str) -> int:
    """A private chat with these members (rows written as chat/ would write them)."""
    now = clock.now().isoformat()
    owner = actor(db, members[0]).id
    chat = db.execute(
        "INSERT INTO chats (kind, title, owner_id, created_by, created_at)"
        " VALUES ('private', 'Riservata', ?, ?, ?) RETURNING id",
        (owner, owner, now),
    ).fetchone()[0]
    for member in members:
        db.execute(
            "INSERT INTO chat_members (chat_id, user_id, joined_at) VALUES (?, ?, ?)",
            (chat, actor(db, member).id, now),
        )
    return int(chat)


def test_a_chat_notification_hides_its_text_once_the_chat_is_unreadable(cli, db, clock, people):
    chat = private_chat(db, clock, CREATOR, DOER, HELPER)
    secret = "Creator: il bilancio di Alfa chiude in perdita"
    note = deliver(db, clock, DOER, "message", secret, "test:msg", chat_id=chat)
    other = deliver(db, clock, DOER, "task", "Creator gave you task 1", "test:task")
    [shown] = inbox(cli, DOER, "--kind", "message")
    assert (shown["id"], shown["text"], shown["chat_id"]) == (note, secret, chat)
    assert ids(cli, DOER, "--text", "bilancio") == [note]

    db.execute(
        "DELETE FROM chat_members WHERE chat_id = ? AND user_id = ?", (chat, actor(db, DOER).id)
    )
    listed = inbox(cli, DOER)
    assert [(n["id"], n["text"]) for n in listed] == [
        (other, "Creator gave you task 1"),
        (note, HIDDEN_TEXT),
    ]
    for fmt in ("table", "csv", "jsonl"):
        result = ok(cli("notify", "list", "--format", fmt, as_user=DOER))
        assert "bilancio" not in result.stdout and "Riservata" not in result.stdout
    assert ids(cli, DOER, "--text", "bilancio") == []  # a search finds nothing it hides
    assert ids(cli, DOER, "--text", "no longer have access") == [note]
    # Still the person's own: it can be read and marked unread like any other.
    ok(cli("notify", "read", str(note), as_user=DOER))
    ok(cli("notify", "unread", str(note), as_user=DOER))
    assert ids(cli, HELPER) == []  # and nobody else's


def test_a_work_group_chat_follows_the_group(cli, db, clock, people):
    group_chat = db.execute(
        "SELECT id FROM chats WHERE client_id = ?", (people["client"],)
    ).fetchone()[0]
    ok(cli("notify", "read", "--all", as_user=OPERATOR))  # the group's invitation
    note = deliver(
        db,
        clock,
        OPERATOR,
        "mention",
        "Creator: @op, i conti di Alfa",
        "test:m",
        chat_id=group_chat,
    )
    assert inbox(cli, OPERATOR, "--unread")[0]["text"] == "Creator: @op, i conti di Alfa"
    ok(cli("group", "remove-member", str(people["client"]), OPERATOR))
    [hidden] = inbox(cli, OPERATOR, "--unread")
    assert (hidden["id"], hidden["text"]) == (note, HIDDEN_TEXT)
    ok(cli("group", "add-member", str(people["client"]), OPERATOR))
    assert inbox(cli, OPERATOR, "--kind", "mention")[0]["text"] == "Creator: @op, i conti di Alfa"
