"""`chat list` (services/chat/listing.py): which chats are mine, what I have not
read in each, the order, the filters, the public chats to join; work-group chats
following the groups at every moment."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sempi_cli.errors import InvalidData, NotFound, UsageProblem
from sempi_cli.services.chat import rooms
from sempi_cli.services.chat.chats import ChatService
from sempi_cli.services.org.groups import GroupService
from tests.conftest import ADMIN_EMAIL, actor
from tests.helpers import CREATOR, DOER, EXTERNAL, HELPER, OPERATOR, OUTSIDER, WATCHER

GENERAL, ALFA, BETA = 1, 2, 3
IDS = {
    ADMIN_EMAIL: 1,
    CREATOR: 2,
    DOER: 3,
    HELPER: 4,
    WATCHER: 5,
    OUTSIDER: 6,
    OPERATOR: 7,
    EXTERNAL: 8,
}


@pytest.fixture
def chats(people, db, clock):
    return lambda email: ChatService(db, clock, actor(db, email))


def say(
    db, chat_id: int, email: str | None, body: str = "ciao", at: str = "2026-11-16T10:00:00+00:00"
) -> int:
    """A message as `chat send` will write it (an event when ``email`` is None)."""
    author = IDS[email] if email else None
    return rooms.append_message(db, chat_id, author, body, at, kind="text" if email else "event")


def delete(db, message_id: int) -> None:
    """A message deleted as `chat delete` does it: its earlier text kept as a version."""
    db.execute(
        "INSERT INTO chat_message_versions (message_id, version, body, replaced_at)"
        " SELECT id, 1, body, created_at FROM chat_messages WHERE id = ?",
        (message_id,),
    )
    db.execute("UPDATE chat_messages SET deleted_at = created_at WHERE id = ?", (message_id,))


def read_up_to(db, chat_id: int, email: str, message_id: int) -> None:
    db.execute(
        "INSERT INTO chat_marks (chat_id, user_id, read_up_to) VALUES (?, ?, ?)"
        " ON CONFLICT (chat_id, user_id) DO UPDATE SET read_up_to = excluded.read_up_to",
        (chat_id, IDS[email], message_id),
    )


def listed(service: ChatService, **options) -> dict[int, dict]:
    return {row["id"]: row for row in service.list(**options)}


# --- which chats are mine ------------------------------------------------------------------


def test_my_chats_are_the_general_mine_and_my_work_groups(chats):
    private = chats(CREATOR).add("Bilanci", members=[DOER])["id"]
    public = chats(HELPER).add("Novità", public=True, description="x")["id"]
    assert set(listed(chats(CREATOR))) == {GENERAL, ALFA, BETA, private}  # responsible of both
    assert set(listed(chats(DOER))) == {GENERAL, private}
    assert set(listed(chats(HELPER))) == {GENERAL, public}
    assert set(listed(chats(OPERATOR))) == {GENERAL, ALFA}
    assert set(listed(chats(EXTERNAL))) == {ALFA}  # never the general chat
    assert set(listed(chats(OUTSIDER))) == {GENERAL}


def test_an_administrator_lists_the_groups_they_oversee_once_something_is_said(chats, db):
    assert set(listed(chats(ADMIN_EMAIL))) == {GENERAL}
    say(db, BETA, CREATOR)
    assert set(listed(chats(ADMIN_EMAIL))) == {GENERAL, BETA}
    assert set(listed(chats(OUTSIDER))) == {GENERAL}  # staff: their own groups only


def test_a_group_chat_follows_its_work_group_at_every_moment(chats, db, org):
    groups = GroupService(db, org.clock, org.admin)
    groups.add_member(2, DOER)  # Beta is client 2, its chat 3
    assert BETA in listed(chats(DOER))
    assert chats(DOER).info(BETA)["member"] is True
    groups.remove_member(2, DOER)
    assert BETA not in listed(chats(DOER))
    with pytest.raises(NotFound):
        chats(DOER).info(BETA)


def test_an_external_user_who_loses_every_work_group_loses_their_private_chats(chats, db, org):
    private = chats(CREATOR).add("Con il cliente", members=[EXTERNAL])["id"]
    assert set(listed(chats(EXTERNAL))) == {ALFA, private}
    db.execute("DELETE FROM work_group_members WHERE user_id = ?", (IDS[EXTERNAL],))
    assert listed(chats(EXTERNAL)) == {}
    with pytest.raises(NotFound):
        chats(EXTERNAL).info(private)


def test_a_removed_client_and_an_archived_chat_are_not_listed(chats, db):
    private = chats(CREATOR).add("Bilanci", members=[DOER])["id"]
    db.execute("UPDATE clients SET removed_at = '2026-11-01T00:00:00+00:00' WHERE id = 2")
    db.execute(
        "UPDATE chats SET archived_at = '2026-11-01T00:00:00+00:00' WHERE id = ?", (private,)
    )
    assert set(listed(chats(CREATOR))) == {GENERAL, ALFA}


# --- unread counts and order ---------------------------------------------------------------


def test_unread_counts_others_messages_above_my_mark(chats, db):
    chat = chats(CREATOR).add("Bilanci", members=[DOER])["id"]
    first = say(db, chat, CREATOR, "uno")
    say(db, chat, CREATOR, "due")
    mine = say(db, chat, DOER, "mio")
    gone = say(db, chat, CREATOR, "cancellato")
    delete(db, gone)
    say(db, chat, None, "evento")
    assert listed(chats(DOER))[chat]["unread"] == 3  # uno, due, evento
    assert listed(chats(CREATOR))[chat]["unread"] == 2  # mio, evento
    read_up_to(db, chat, DOER, first)
    assert listed(chats(DOER))[chat]["unread"] == 2
    read_up_to(db, chat, DOER, mine)
    assert listed(chats(DOER))[chat]["unread"] == 1


def test_an_invitee_without_history_counts_only_what_came_after(chats, db):
    chat = chats(CREATOR).add("Bilanci")["id"]
    for _ in range(3):
        say(db, chat, CREATOR)
    chats(CREATOR).invite(chat, [DOER])
    chats(CREATOR).invite(chat, [HELPER], show_history=True)
    say(db, chat, CREATOR)
    assert listed(chats(DOER))[chat]["unread"] == 1
    assert listed(chats(HELPER))[chat]["unread"] == 4


def test_most_recent_activity_first_then_by_id(chats, db):
    one = chats(CREATOR).add("Uno", members=[DOER])["id"]
    two = chats(CREATOR).add("Due", members=[DOER])["id"]
    say(db, one, CREATOR, at="2026-11-16T08:00:00+00:00")
    say(db, GENERAL, HELPER, at="2026-11-16T09:00:00+00:00")
    assert list(listed(chats(DOER))) == [GENERAL, one, two]
    say(db, two, CREATOR, at="2026-11-16T10:00:00+00:00")
    rows = chats(DOER).list()
    assert [r["id"] for r in rows] == [two, GENERAL, one]
    assert rows[0]["last_message_at"] == "2026-11-16T10:00:00+00:00"


def test_unread_kind_and_client_filter_the_list(chats, db):
    chat = chats(CREATOR).add("Bilanci", members=[DOER])["id"]
    say(db, chat, DOER)
    say(db, ALFA, OPERATOR)
    assert set(listed(chats(CREATOR), unread_only=True)) == {chat, ALFA}
    assert set(listed(chats(CREATOR), kind="group")) == {ALFA, BETA}
    assert set(listed(chats(CREATOR), kind="private", unread_only=True)) == {chat}
    assert set(listed(chats(CREATOR), client_id=2)) == {BETA}
    assert set(listed(chats(ADMIN_EMAIL), client_id=2)) == {BETA}  # asked for: readable is enough
    muted = chats(CREATOR).mute(ALFA)
    assert muted["muted"] is True and listed(chats(CREATOR))[ALFA]["muted"] is True


def test_bad_list_options_are_refused(chats):
    with pytest.raises(
        InvalidData, match="--kind: 'room' is not one of general, public, private, group"
    ):
        chats(DOER).list(kind="room")
    with pytest.raises(UsageProblem, match="--public"):
        chats(DOER).list(public=True, kind="public")
    with pytest.raises(NotFound, match="client 1 not found"):
        chats(DOER).list(client_id=1)  # not in Alfa's work group
    with pytest.raises(NotFound, match="client 99 not found"):
        chats(DOER).list(client_id=99)


def test_the_unread_summary_leaves_muted_chats_out_unless_asked(chats, db):
    chat = chats(CREATOR).add("Bilanci", members=[DOER])["id"]
    for _ in range(2):
        say(db, chat, CREATOR)
    say(db, GENERAL, HELPER)
    assert chats(DOER).unread_summary() == {"chats": 2, "messages": 3}
    chats(DOER).mute("general")
    assert chats(DOER).unread_summary() == {"chats": 1, "messages": 2}
    assert chats(DOER).unread_summary(include_muted=True) == {"chats": 2, "messages": 3}


# --- public chats ---------------------------------------------------------------------------


def test_list_public_shows_every_open_public_chat_with_joined_and_members(chats, db):
    news = chats(DOER).add("Novità", public=True, description="x")["id"]
    circ = chats(HELPER).add("Circolari", public=True, description="y")["id"]
    chats(WATCHER).join(news)
    closed = chats(OUTSIDER).add("Chiusa", public=True, description="z")["id"]
    chats(OUTSIDER).leave(closed)
    rows = chats(DOER).list(public=True)
    assert [(r["id"], r["members"], r["joined"]) for r in rows] == [
        (news, 2, True),
        (circ, 1, False),
    ]
    assert chats(EXTERNAL).list(public=True) == []
    assert [r["id"] for r in chats(OPERATOR).list(public=True)] == [news, circ]


def test_a_public_chat_not_joined_is_not_among_my_chats(chats):
    news = chats(DOER).add("Novità", public=True, description="x")["id"]
    assert news not in listed(chats(HELPER))
    chats(HELPER).join(news)
    assert listed(chats(HELPER))[news]["unread"] == 1  # the description


# The fast count (the index range, less own and deleted messages found through their
# indexes) agrees with the rule read row by row, whatever was said, deleted and read.
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.sampled_from([CREATOR, DOER, None]), st.booleans()),
        max_size=25,
    ),
    st.integers(0, 30),
    st.integers(0, 30),
)
def test_the_unread_count_is_the_rule_read_row_by_row(chats, db, messages, mark, join_at):
    chat = chats(CREATOR).add("Conto", members=[])["id"]
    ids = [say(db, chat, author) for author, _ in messages]
    for message_id, (_, deleted) in zip(ids, messages, strict=True):
        if deleted:
            delete(db, message_id)
    base = ids[0] - 1 if ids else 0
    db.execute(
        "INSERT INTO chat_members (chat_id, user_id, joined_at, sees_from) VALUES (?, ?, 'x', ?)",
        (chat, IDS[DOER], base + join_at),
    )
    read_up_to(db, chat, DOER, base + mark)
    expected = db.execute(
        "SELECT count(*) FROM chat_messages WHERE chat_id = ? AND id > ? AND id >= ?"
        " AND deleted_at IS NULL AND (author_id IS NULL OR author_id <> ?)",
        (chat, base + mark, base + join_at, IDS[DOER]),
    ).fetchone()[0]
    assert listed(chats(DOER))[chat]["unread"] == expected
