"""Who is in a public or private chat (services/chat/membership.py): joining,
invitations with and without the history, removal by the owner, leaving, the
owner's hand-over drawn by a seeded random source, the last one out archiving."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sempi_cli.errors import Conflict, NotFound, PermissionDenied, RuleViolation, UsageProblem
from sempi_cli.services.chat import rooms
from sempi_cli.services.chat.chats import ChatService
from tests.conftest import ADMIN_EMAIL, actor, store_digest
from tests.helpers import CREATOR, DOER, EXTERNAL, HELPER, OPERATOR, OUTSIDER, WATCHER

GENERAL, ALFA = 1, 2
IDS = {CREATOR: 2, DOER: 3, HELPER: 4, WATCHER: 5, OUTSIDER: 6, OPERATOR: 7, EXTERNAL: 8}


@pytest.fixture
def chats(people, db, clock):
    """ChatService as a given user; ``seed`` makes its random source a seeded one."""

    def service(email: str, seed: int | None = None) -> ChatService:
        choose = random.Random(seed).choice if seed is not None else None
        return ChatService(db, clock, actor(db, email), choose=choose)

    return service


def say(db, chat_id: int, email: str, body: str) -> int:
    return rooms.append_message(db, chat_id, IDS[email], body, "2026-11-16T09:31:00+00:00")


def sees_from(db, chat_id: int, email: str) -> int:
    row = db.execute(
        "SELECT sees_from FROM chat_members WHERE chat_id = ? AND user_id = ?",
        (chat_id, IDS[email]),
    ).fetchone()
    return row[0]


def chat_audit(db, chat_id: int) -> list[tuple]:
    rows = db.execute(
        "SELECT action, actor_id, details FROM audit_log WHERE object_type = 'chat'"
        " AND object_id = ? ORDER BY id",
        (chat_id,),
    )
    return [tuple(r) for r in rows]


# --- join --------------------------------------------------------------------------------


def test_joining_a_public_chat_gives_its_whole_history(chats, db):
    chat = chats(DOER).add("Novità", public=True, description="Benvenuti")["id"]
    say(db, chat, DOER, "prima di te")
    with pytest.raises(NotFound):
        rooms.chat_row(db, actor(db, HELPER), chat)  # known, not read, before joining
    info = chats(HELPER).join("novità")
    assert info["members"] == [DOER, HELPER]
    assert sees_from(db, chat, HELPER) == 0
    assert rooms.chat_row(db, actor(db, HELPER), chat)["sees_from"] == 0
    assert chat_audit(db, chat)[-1] == ("join", IDS[HELPER], '{"user_id": 4}')
    assert chats(OPERATOR).join(chat)["member"] is True  # a practice user is internal too


def test_join_refuses_what_cannot_be_joined(chats, store_path):
    public = chats(DOER).add("Novità", public=True, description="x")["id"]
    private = chats(DOER).add("Privata", members=[HELPER])["id"]
    before = store_digest(store_path)
    with pytest.raises(Conflict, match="already a member"):
        chats(DOER).join(public)
    with pytest.raises(Conflict, match="already a member"):
        chats(HELPER).join(private)
    with pytest.raises(NotFound):
        chats(WATCHER).join(private)  # not in it: it does not exist for them
    with pytest.raises(NotFound):
        chats(EXTERNAL).join(public)
    with pytest.raises(RuleViolation, match="every internal user is in the general chat"):
        chats(DOER).join("general")
    with pytest.raises(RuleViolation, match="its work group's"):
        chats(ADMIN_EMAIL).join(ALFA)
    assert store_digest(store_path) == before


# --- invite --------------------------------------------------------------------------------


def test_an_invitee_reads_from_joining_unless_shown_the_history(chats, db):
    chat = chats(CREATOR).add("Bilanci", members=[DOER])["id"]
    say(db, chat, CREATOR, "uno")
    last = say(db, chat, DOER, "due")
    chats(DOER).invite(chat, [HELPER])  # any member invites
    chats(CREATOR).invite(chat, [WATCHER], show_history=True)
    assert sees_from(db, chat, HELPER) == last + 1
    assert sees_from(db, chat, WATCHER) == 0
    assert sees_from(db, chat, DOER) == 0  # made with the chat
    assert rooms.chat_row(db, actor(db, HELPER), chat)["sees_from"] == last + 1


def test_an_empty_chat_invitee_sees_from_its_first_message(chats, db):
    chat = chats(CREATOR).add("Vuota")["id"]
    chats(CREATOR).invite(chat, [DOER])
    assert sees_from(db, chat, DOER) == 1


def test_each_invitation_reaches_the_inbox_once_even_the_second_time(chats, db):
    chat = chats(CREATOR).add("Bilanci", members=[DOER])["id"]
    chats(CREATOR).invite(chat, [HELPER])
    chats(HELPER).leave(chat)
    chats(DOER).invite(chat, [HELPER])
    rows = db.execute(
        "SELECT kind, chat_id, source FROM notifications WHERE user_id = ? AND chat_id = ?"
        " ORDER BY id",
        (IDS[HELPER], chat),
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("invitation", chat), ("invitation", chat)]
    assert rows[0][2] != rows[1][2]
    assert [a[0] for a in chat_audit(db, chat)] == ["create", "invite", "invite", "leave", "invite"]


@pytest.mark.parametrize(
    ("who", "users", "error", "words"),
    [
        (DOER, ["nobody@sempi.test"], NotFound, "user 'nobody@sempi.test' not found"),
        (DOER, [CREATOR], Conflict, f"{CREATOR} is already a member of chat"),
        (DOER, [HELPER, CREATOR], Conflict, f"{CREATOR} is already a member"),
        (ADMIN_EMAIL, [EXTERNAL], NotFound, "not found"),  # the admin is not in the chat
        (CREATOR, [], UsageProblem, "whom?"),
    ],
)
def test_a_refused_invitation_writes_nothing(chats, store_path, who, users, error, words):
    chats(CREATOR).add("Bilanci", members=[DOER])
    before = store_digest(store_path)
    with pytest.raises(error, match=words):
        chats(who).invite("Bilanci", users)
    assert store_digest(store_path) == before


def test_an_external_user_is_invited_only_by_someone_of_their_work_group(chats, db, store_path):
    chat = chats(OPERATOR).add("Pratica", members=[DOER])["id"]
    with pytest.raises(NotFound, match="ext@client.test"):  # DOER cannot even see them
        chats(DOER).invite(chat, [EXTERNAL])
    chats(ADMIN_EMAIL).add("Direzione", members=[DOER])
    before = store_digest(store_path)
    with pytest.raises(
        RuleViolation, match="ext@client.test is an external user who shares no work group"
    ):
        chats(ADMIN_EMAIL).invite("Direzione", [EXTERNAL])
    assert store_digest(store_path) == before
    chats(OPERATOR).invite(chat, [EXTERNAL])  # the operator is in Alfa's group with them
    assert chats(EXTERNAL).info(chat)["members"] == [DOER, OPERATOR, EXTERNAL]


def test_a_public_chat_never_takes_an_external_user_or_a_disabled_one(chats, db, org, store_path):
    chat = chats(CREATOR).add("Novità", public=True, description="x")["id"]
    from sempi_cli.services.org.users import UserService

    UserService(db, org.clock, org.admin).set_disabled(OUTSIDER, True)
    before = store_digest(store_path)
    with pytest.raises(RuleViolation, match="ext@client.test is an external user: public chats"):
        chats(CREATOR).invite(chat, [EXTERNAL])
    with pytest.raises(RuleViolation, match=f"{OUTSIDER} is disabled"):
        chats(CREATOR).invite(chat, [OUTSIDER])
    assert store_digest(store_path) == before


def test_members_of_the_general_and_group_chats_are_not_invited(chats, store_path):
    before = store_digest(store_path)
    with pytest.raises(RuleViolation, match="general chat"):
        chats(DOER).invite("general", [HELPER])
    with pytest.raises(RuleViolation, match="sempi group add-member/remove-member 1"):
        chats(CREATOR).invite(ALFA, [DOER])
    assert store_digest(store_path) == before


# --- remove-member -----------------------------------------------------------------------


def test_only_the_owner_removes_members(chats, db, store_path):
    chat = chats(CREATOR).add("Bilanci", members=[DOER, HELPER])["id"]
    before = store_digest(store_path)
    with pytest.raises(PermissionDenied, match="only the owner"):
        chats(DOER).remove_member(chat, [HELPER])
    with pytest.raises(NotFound, match=f"{WATCHER} is not a member"):
        chats(CREATOR).remove_member(chat, [WATCHER])
    with pytest.raises(NotFound, match="user 'nobody@x.it' not found"):
        chats(CREATOR).remove_member(chat, ["nobody@x.it"])
    with pytest.raises(RuleViolation, match="is the owner"):
        chats(CREATOR).remove_member(chat, [DOER, CREATOR])
    assert store_digest(store_path) == before
    assert chats(CREATOR).remove_member(chat, [HELPER, "3"])["members"] == [CREATOR]
    with pytest.raises(NotFound):
        chats(HELPER).info(chat)
    assert [a[0] for a in chat_audit(db, chat)][-2:] == ["remove_member", "remove_member"]


def test_a_public_chat_has_no_owner_to_remove_anyone(chats, store_path):
    chat = chats(CREATOR).add("Novità", public=True, description="x")["id"]
    chats(DOER).join(chat)
    with pytest.raises(RuleViolation, match="public: nobody owns it"):
        chats(CREATOR).remove_member(chat, [DOER])


# --- leave and the owner's hand-over ---------------------------------------------------------


def test_nobody_leaves_the_general_or_a_group_chat(chats, store_path):
    before = store_digest(store_path)
    with pytest.raises(RuleViolation, match="nobody leaves the general chat") as general:
        chats(DOER).leave("generale")
    assert "sempi chat mute general" in str(general.value)
    with pytest.raises(RuleViolation, match="its members stay"):
        chats(EXTERNAL).leave(ALFA)
    assert store_digest(store_path) == before


def test_a_member_leaves_and_no_longer_sees_the_chat(chats, db):
    chat = chats(CREATOR).add("Bilanci", members=[DOER])["id"]
    chats(DOER).mute(chat)
    result = chats(DOER).leave(chat)
    assert result == {
        "chat_id": chat,
        "title": "Bilanci",
        "left": True,
        "new_owner": None,
        "archived": False,
    }
    with pytest.raises(NotFound):
        chats(DOER).info(chat)
    assert (
        db.execute("SELECT count(*) FROM chat_marks WHERE user_id = ?", (IDS[DOER],)).fetchone()[0]
        == 0
    )
    assert chats(CREATOR).info(chat)["owner"] == CREATOR


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_the_owners_place_goes_to_the_member_the_seeded_source_draws(chats, db, seed):
    chat = chats(CREATOR).add("Bilanci", members=[DOER, HELPER, WATCHER])["id"]
    expected = random.Random(seed).choice([IDS[DOER], IDS[HELPER], IDS[WATCHER]])
    heir = next(e for e, i in IDS.items() if i == expected)
    result = chats(CREATOR, seed).leave(chat)
    assert result["new_owner"] == heir
    assert chats(heir).info(chat)["owner"] == heir
    event = db.execute(
        "SELECT author_id, kind, body FROM chat_messages WHERE chat_id = ? ORDER BY id DESC",
        (chat,),
    ).fetchone()
    name = heir.split("@")[0].title()
    assert tuple(event) == (None, "event", f"Creator left; {name} is now the owner")
    assert chat_audit(db, chat)[-1] == (
        "hand_over", IDS[CREATOR], f'{{"new_owner": {expected}, "old_owner": {IDS[CREATOR]}}}'
    )  # fmt: skip


def test_a_disabled_member_is_not_made_owner_while_an_active_one_remains(chats, db, org):
    ids = [
        chats(CREATOR).add(f"Bilanci {seed}", members=[DOER, OUTSIDER])["id"] for seed in range(6)
    ]
    from sempi_cli.services.org.users import UserService

    UserService(db, org.clock, org.admin).set_disabled(OUTSIDER, True)
    for seed, chat in enumerate(ids):  # whatever the draw
        assert chats(CREATOR, seed).leave(chat)["new_owner"] == DOER


def test_the_last_member_out_archives_the_chat(chats, db):
    chat = chats(CREATOR).add("Bilanci", members=[DOER])["id"]
    assert chats(CREATOR, 7).leave(chat)["new_owner"] == DOER
    result = chats(DOER).leave(chat)
    assert (result["archived"], result["new_owner"]) == (True, None)
    row = db.execute("SELECT archived_at, owner_id FROM chats WHERE id = ?", (chat,)).fetchone()
    assert tuple(row) == ("2026-11-16T09:30:00+00:00", None)
    assert [a[0] for a in chat_audit(db, chat)][-2:] == ["leave", "archive"]
    public = chats(HELPER).add("Novità", public=True, description="x")["id"]
    assert chats(HELPER).leave(public)["archived"] is True
    with pytest.raises(NotFound):
        chats(DOER).join(public)  # archived: nobody can find it any more


# A firm of six staff members (ids 2..7) and any order of leaving: after each departure
# exactly one owner, one of the members still there, until the last one archives it.
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.permutations([CREATOR, DOER, HELPER, WATCHER, OUTSIDER]),
    st.integers(min_value=0, max_value=2**32),
)
def test_hand_over_always_leaves_one_owner_among_the_members(chats, db, order, seed):
    chat = chats(CREATOR).add("Giro", members=[DOER, HELPER, WATCHER, OUTSIDER])["id"]
    draw = random.Random(seed).choice
    for n, email in enumerate(order):
        service = chats(email)
        service.choose = draw
        service.leave(chat)
        members = {
            r[0] for r in db.execute("SELECT user_id FROM chat_members WHERE chat_id = ?", (chat,))
        }
        owner, archived = db.execute(
            "SELECT owner_id, archived_at FROM chats WHERE id = ?", (chat,)
        ).fetchone()
        if n < len(order) - 1:
            assert owner in members and archived is None
        else:
            assert (members, owner) == (set(), None) and archived is not None
