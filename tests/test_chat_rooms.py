"""The chats themselves (services/chat/chats.py): making public and private chats,
their titles and topics, the general chat's posting policy, `info`, muting, and
who may know that a chat exists.

Membership (join, invite, remove, leave, hand-over) is in test_chat_rooms_members.py,
`chat list` in test_chat_rooms_list.py, the command line in test_chat_rooms_cli.py.
"""

from __future__ import annotations

import pytest

from sempi_cli.errors import (
    Conflict,
    InvalidData,
    NotFound,
    PermissionDenied,
    RuleViolation,
    UsageProblem,
)
from sempi_cli.services.chat import rooms
from sempi_cli.services.chat.chats import ChatService
from tests.conftest import ADMIN_EMAIL, actor, store_digest
from tests.helpers import CREATOR, DOER, EXTERNAL, HELPER, OPERATOR, OUTSIDER

GENERAL, ALFA, BETA = 1, 2, 3  # m016's general chat, then task_people's clients' chats


@pytest.fixture
def chats(people, db, clock):
    """ChatService as a given user: chats(EMAIL)."""
    return lambda email: ChatService(db, clock, actor(db, email))


def audit(db, action: str) -> list[tuple]:
    rows = db.execute(
        "SELECT object_id, details FROM audit_log WHERE object_type = 'chat' AND action = ?"
        " ORDER BY id",
        (action,),
    )
    return [tuple(r) for r in rows]


# --- private chats ---------------------------------------------------------------------


def test_a_private_chat_is_owned_by_its_creator_and_lists_its_members(chats, db):
    info = chats(CREATOR).add("Bilanci 2026", members=[DOER, "4"])  # 4: HELPER's id
    assert info["kind"] == "private"
    assert info["owner"] == CREATOR
    assert info["members"] == [CREATOR, DOER, HELPER]
    assert info["member_count"] == 3
    assert info["member"] is True
    row = db.execute("SELECT owner_id, created_by FROM chats WHERE id = ?", (info["id"],))
    assert tuple(row.fetchone()) == (2, 2)
    (created,) = audit(db, "create")
    assert created[0] == info["id"]


def test_members_of_a_new_chat_are_told_in_their_inbox(chats, db):
    chat = chats(CREATOR).add("Bilanci 2026", members=[DOER, HELPER])["id"]
    rows = db.execute(
        "SELECT u.email, n.kind, n.chat_id, n.text FROM notifications n JOIN users u ON u.id = n.user_id"
        " WHERE n.source LIKE 'chat-invite:%' ORDER BY u.email"
    ).fetchall()
    assert [tuple(r)[:3] for r in rows] == [
        (DOER, "invitation", chat),
        (HELPER, "invitation", chat),
    ]
    assert "Bilanci 2026" in rows[0][3]


def test_only_members_know_a_private_chat_exists(chats):
    chat = chats(CREATOR).add("Segreto", members=[DOER])["id"]
    assert chats(DOER).info(chat)["title"] == "Segreto"
    for outsider in (HELPER, ADMIN_EMAIL, OPERATOR, EXTERNAL):
        with pytest.raises(NotFound) as by_id:
            chats(outsider).info(chat)
        with pytest.raises(NotFound) as missing:
            chats(outsider).info(999)
        assert str(by_id.value) == str(missing.value).replace("999", str(chat))
        with pytest.raises(NotFound):
            chats(outsider).info("Segreto")


def test_the_creator_named_among_the_members_is_in_once(chats):
    info = chats(CREATOR).add("Io e Doer", members=[CREATOR, DOER, DOER])
    assert info["members"] == [CREATOR, DOER]


def test_an_external_user_is_a_member_only_when_sharing_a_work_group(chats, db, store_path):
    # CREATOR is Alfa's responsible, in its work group with EXTERNAL (Alfa's person).
    assert chats(CREATOR).add("Con il cliente", members=[EXTERNAL])["members"] == [
        CREATOR,
        EXTERNAL,
    ]
    # DOER shares no work group with EXTERNAL (and cannot even see them in the directory);
    # the firm administrator sees everyone but shares no group either.
    before = store_digest(store_path)
    with pytest.raises(NotFound, match="ext@client.test"):
        chats(DOER).add("Senza gruppo", members=[EXTERNAL])
    with pytest.raises(RuleViolation, match="ext@client.test.*shares no work group"):
        chats(ADMIN_EMAIL).add("Senza gruppo", members=[EXTERNAL])
    assert store_digest(store_path) == before


def test_an_external_user_makes_a_private_chat_with_their_work_group(chats, store_path):
    info = chats(EXTERNAL).add("Domande", members=[CREATOR, OPERATOR])
    assert (info["owner"], info["members"]) == (EXTERNAL, [CREATOR, OPERATOR, EXTERNAL])
    before = store_digest(store_path)
    with pytest.raises(NotFound, match=DOER):  # outside their groups: not in their directory
        chats(EXTERNAL).add("Altre", members=[DOER])
    assert store_digest(store_path) == before


# --- public chats ------------------------------------------------------------------------


def test_a_public_chat_starts_with_its_description(chats, db):
    info = chats(DOER).add("Novità fiscali", public=True, description="Circolari\te novità.\n")
    assert (info["kind"], info["owner"], info["topic"], info["members"]) == (
        "public", None, "Circolari\te novità.", [DOER]
    )  # fmt: skip
    first = db.execute(
        "SELECT author_id, kind, body FROM chat_messages WHERE chat_id = ? ORDER BY id",
        (info["id"],),
    ).fetchall()
    assert [tuple(r) for r in first] == [(3, "text", "Circolari\te novità.")]
    last = db.execute(
        "SELECT last_message_id, last_message_at FROM chats WHERE id = ?", (info["id"],)
    )
    assert last.fetchone()[1] == "2026-11-16T09:30:00+00:00"


def test_a_public_chat_needs_a_description_and_no_members(chats, store_path):
    before = store_digest(store_path)
    with pytest.raises(InvalidData, match="--description"):
        chats(DOER).add("Novità", public=True)
    with pytest.raises(InvalidData, match="--description"):
        chats(DOER).add("Novità", public=True, description=" \n ")
    with pytest.raises(UsageProblem, match="--member"):
        chats(DOER).add("Novità", public=True, description="x", members=[HELPER])
    assert store_digest(store_path) == before


def test_external_users_neither_make_nor_see_public_chats(chats, store_path):
    chat = chats(DOER).add("Novità", public=True, description="Per tutti")["id"]
    known = chats(OPERATOR).info(chat)  # a practice user may know it...
    assert (known["member"], known["member_count"], known["members"]) == (False, 1, None)
    assert known["topic"] == "Per tutti"  # ...and what it is for, not who is in it
    before = store_digest(store_path)
    with pytest.raises(PermissionDenied):
        chats(EXTERNAL).add("Aperta", public=True, description="x")
    for ref in (chat, "Novità"):
        with pytest.raises(NotFound):
            chats(EXTERNAL).info(ref)
    assert store_digest(store_path) == before


def test_two_open_public_chats_never_share_a_title(chats, store_path):
    chats(DOER).add("Novità", public=True, description="x")
    before = store_digest(store_path)
    with pytest.raises(Conflict, match="already named"):
        chats(HELPER).add("NOVITÀ", public=True, description="y")
    assert store_digest(store_path) == before
    chats(HELPER).add("Novità", members=[DOER])  # a private title may repeat a public one


# --- titles and topics ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "problem"),
    [
        ("", "TITLE: is empty"),
        ("   ", "TITLE: is empty"),
        ("x" * 500, "TITLE: longer than 120 characters (500)"),
        ("Rosso\x1b[31m", "TITLE: a control character (U+001B)"),
        ("2026", "TITLE: digits alone"),
        ("Generale", "TITLE: 'Generale' names the general chat"),
        ("client:12", "TITLE: 'client:' names"),
    ],
)
def test_a_bad_title_is_refused_by_name_and_writes_nothing(chats, store_path, title, problem):
    before = store_digest(store_path)
    with pytest.raises(InvalidData) as refused:
        chats(DOER).add(title, members=[HELPER])
    assert str(refused.value).startswith(problem)
    assert store_digest(store_path) == before


def test_a_title_on_two_lines_becomes_one_and_120_characters_fit(chats):
    assert chats(DOER).add("Bilanci\n2026")["title"] == "Bilanci 2026"
    assert chats(DOER).add("x" * 120)["title"] == "x" * 120


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("x" * 10_001, "--description: longer than 10000 characters (10001)"),
        ("riga\rnascosta", "--description: a control character (U+000D)"),
        ("bip\x07", "--description: a control character (U+0007)"),
    ],
)
def test_a_bad_description_is_refused_by_name(chats, store_path, text, problem):
    before = store_digest(store_path)
    with pytest.raises(InvalidData) as refused:
        chats(DOER).add("Novità", public=True, description=text)
    assert str(refused.value).startswith(problem)
    assert store_digest(store_path) == before
    assert chats(DOER).add("Lunga", public=True, description="y" * 10_000)["topic"] == "y" * 10_000


# --- edit_chat ---------------------------------------------------------------------------


def test_any_member_renames_a_chat_and_changes_its_topic(chats, db):
    chat = chats(CREATOR).add("Bilanci", members=[DOER])["id"]
    info = chats(DOER).edit_chat(chat, title="Bilanci 2026", topic="Scadenze di aprile")
    assert (info["title"], info["topic"]) == ("Bilanci 2026", "Scadenze di aprile")
    assert chats(DOER).edit_chat("Bilanci 2026", topic="")["topic"] is None  # cleared
    (renamed, cleared) = audit(db, "edit")
    assert '"title": {"new": "Bilanci 2026", "old": "Bilanci"}' in renamed[1]
    assert "Scadenze" not in renamed[1] + cleared[1]  # a topic's text stays out of the log
    with pytest.raises(NotFound):
        chats(HELPER).edit_chat(chat, title="Mio")


def test_edit_checks_titles_like_add(chats, store_path):
    chats(DOER).add("Novità", public=True, description="x")
    other = chats(HELPER).add("Circolari", public=True, description="y")["id"]
    before = store_digest(store_path)
    with pytest.raises(Conflict):
        chats(HELPER).edit_chat(other, title="novità")
    with pytest.raises(InvalidData, match="--title: longer than 120"):
        chats(HELPER).edit_chat(other, title="t" * 500)
    with pytest.raises(InvalidData, match="--topic: longer than 10000"):
        chats(HELPER).edit_chat(other, topic="t" * 10_001)
    with pytest.raises(UsageProblem, match="nothing to change"):
        chats(HELPER).edit_chat(other)
    assert store_digest(store_path) == before
    assert chats(HELPER).edit_chat(other, title="Circolari")["title"] == "Circolari"  # its own


def test_the_general_and_group_chats_keep_their_titles(chats, store_path):
    before = store_digest(store_path)
    with pytest.raises(
        RuleViolation, match="--title: the general chat's title and topic are fixed"
    ):
        chats(ADMIN_EMAIL).edit_chat("general", title="Tutti")
    with pytest.raises(RuleViolation, match="--topic: chat 2 is a work group's"):
        chats(CREATOR).edit_chat(ALFA, topic="Contabilità")
    assert store_digest(store_path) == before


def test_only_a_firm_administrator_restricts_posting_in_the_general_chat(chats, db, store_path):
    before = store_digest(store_path)
    with pytest.raises(PermissionDenied, match="firm administrator"):
        chats(CREATOR).edit_chat("general", post="admins")
    private = chats(ADMIN_EMAIL).add("Amministrazione")["id"]
    digest = store_digest(store_path)
    with pytest.raises(RuleViolation, match="--post: only the general chat"):
        chats(ADMIN_EMAIL).edit_chat(private, post="admins")
    with pytest.raises(InvalidData, match="--post: 'nobody' is not one of everyone, admins"):
        chats(ADMIN_EMAIL).edit_chat("general", post="nobody")
    assert store_digest(store_path) == digest != before
    assert chats(ADMIN_EMAIL).edit_chat("generale", post="admins")["post_policy"] == "admins"
    general = rooms.find_chat(db, actor(db, DOER), "general")
    assert rooms.post_refusal(actor(db, DOER), general) is not None
    assert rooms.post_refusal(actor(db, ADMIN_EMAIL), general) is None
    assert [r[1] for r in audit(db, "edit")] == [
        '{"post_policy": {"new": "admins", "old": "everyone"}}'
    ]


# --- info --------------------------------------------------------------------------------


def test_info_of_the_general_chat_counts_its_members(chats, org):
    info = chats(DOER).info("general")
    # The administrator, five firm staff, the practice operator; never the external user.
    assert (info["kind"], info["members"], info["member_count"]) == ("general", None, 7)
    assert info["post_policy"] == "everyone"
    with pytest.raises(NotFound):
        chats(EXTERNAL).info("general")


def test_info_of_a_group_chat_names_its_client_and_its_group(chats, db, org):
    db.execute("UPDATE clients SET ragione_sociale = 'Alfa Spa' WHERE id = 1")  # renamed since
    info = chats(CREATOR).info("client:1")
    assert (info["kind"], info["title"], info["client_id"]) == ("group", "Alfa Spa", 1)
    assert info["members"] == [CREATOR, OPERATOR, EXTERNAL]
    assert chats(EXTERNAL).info(ALFA)["member"] is True
    assert chats(ADMIN_EMAIL).info(ALFA)["member"] is False  # reads it, not in the group
    for outsider in (DOER, OUTSIDER):
        with pytest.raises(NotFound):
            chats(outsider).info(ALFA)


# --- mute ----------------------------------------------------------------------------------


def test_mute_is_each_persons_own(chats, db):
    assert chats(DOER).mute("general")["muted"] is True
    assert chats(DOER).info("general")["muted"] is True
    assert chats(HELPER).info("general")["muted"] is False
    assert chats(DOER).mute("general")["muted"] is True  # again: still muted
    assert chats(DOER).unmute("general")["muted"] is False
    assert chats(DOER).info("general")["muted"] is False
    assert chats(EXTERNAL).mute(ALFA)["muted"] is True  # a group chat too
    with pytest.raises(NotFound):
        chats(EXTERNAL).mute("general")
    assert audit(db, "mute") == []
