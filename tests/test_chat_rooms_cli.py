"""The chat commands of cli/chat/rooms.py, wired: add, list, info, join, invite,
remove-member, leave, mute, unmute; their errors (one line, the documented exit
code, nothing written); an external user and a practice operator enumerating
chat ids learn nothing; new clients (one, or a batch) get their chat."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import ADMIN_EMAIL, piva, store_digest
from tests.helpers import (
    CREATOR,
    DOER,
    EXTERNAL,
    HELPER,
    OPERATOR,
    WATCHER,
    assert_one_line_error,
    data,
    ok,
)

GENERAL, ALFA, BETA = 1, 2, 3


@pytest.fixture
def chat(cli, people):
    """`sempi chat ...` as a given user."""

    def run(*args: str, as_user: str = CREATOR, **kw):
        return cli("chat", *args, as_user=as_user, **kw)

    return run


def test_add_a_private_chat_and_read_it_back(chat):
    made = data(chat("add", "Bilanci 2026", "--member", DOER, "-m", HELPER, "--json"))
    assert (made["kind"], made["owner"], made["members"]) == (
        "private",
        CREATOR,
        [CREATOR, DOER, HELPER],
    )
    info = data(chat("info", "bilanci 2026", "--json", as_user=DOER))
    assert info == made
    table = ok(chat("info", str(made["id"]))).stdout
    assert "owner" in table and CREATOR in table


def test_a_public_chat_is_listed_joined_and_left(chat):
    made = data(chat("add", "Novità", "--public", "--description", "Circolari e novità", "--json"))
    assert made["topic"] == "Circolari e novità"
    rows = data(chat("list", "--public", "--json", as_user=DOER))
    assert rows == [
        {
            "id": made["id"],
            "title": "Novità",
            "members": 1,
            "joined": False,
            "last_message_at": made["created_at"],
        }
    ]
    assert data(chat("join", "Novità", "--json", as_user=DOER))["members"] == [CREATOR, DOER]
    mine = data(chat("list", "--json", as_user=DOER))
    assert [(r["id"], r["unread"]) for r in mine][0] == (made["id"], 1)  # the description
    left = data(chat("leave", "Novità", "--json", as_user=DOER))
    assert left == {
        "chat_id": made["id"],
        "title": "Novità",
        "left": True,
        "new_owner": None,
        "archived": False,
    }


def test_invite_remove_member_and_the_owners_hand_over(chat):
    made = data(chat("add", "Bilanci", "--json"))
    invited = data(chat("invite", "Bilanci", DOER, HELPER, "--show-history", "--json"))
    assert invited["members"] == [CREATOR, DOER, HELPER]
    assert data(chat("remove-member", "Bilanci", HELPER, "--json"))["members"] == [CREATOR, DOER]
    left = data(chat("leave", str(made["id"]), "--json"))
    assert left["new_owner"] == DOER  # the only one left to draw
    assert data(chat("info", "Bilanci", "--json", as_user=DOER))["owner"] == DOER


def test_list_filters_and_the_table(chat):
    data(chat("add", "Bilanci", "--member", DOER, "--json"))
    rows = data(chat("list", "--kind", "group", "--json"))
    assert [r["id"] for r in rows] == [ALFA, BETA]
    assert set(rows[0]) == {"id", "kind", "title", "unread", "last_message_at", "muted"}
    assert [r["id"] for r in data(chat("list", "--client", "2", "--json"))] == [BETA]
    assert data(chat("list", "--unread", "--json")) == []
    table = ok(chat("list")).stdout.splitlines()
    assert table[0].split() == ["id", "kind", "title", "unread", "last_message_at", "muted"]
    assert any("Bilanci" in line for line in table)


def test_mute_and_unmute(chat):
    assert data(chat("mute", "general", "--json", as_user=DOER))["muted"] is True
    assert data(chat("list", "--kind", "general", "--json", as_user=DOER))[0]["muted"] is True
    assert data(chat("unmute", "generale", "--json", as_user=DOER))["muted"] is False


@pytest.mark.parametrize(
    ("args", "who", "code", "words"),
    [
        (["info", "Nessuna"], CREATOR, 3, "chat 'Nessuna' not found"),
        (["info", "99"], CREATOR, 3, "chat 99 not found"),
        (
            ["invite", "Bilanci", "nobody@sempi.test"],
            CREATOR,
            3,
            "user 'nobody@sempi.test' not found",
        ),
        (["add", "x" * 500], CREATOR, 6, "TITLE: longer than 120 characters (500)"),
        (["add", ""], CREATOR, 6, "TITLE: is empty"),
        (["add", "Nuova", "--public"], CREATOR, 6, "--description"),
        (["invite", "Bilanci", DOER], CREATOR, 4, f"{DOER} is already a member"),
        (["leave", "general"], CREATOR, 5, "nobody leaves the general chat"),
        (["leave", "client:1"], CREATOR, 5, "its members stay"),
        (["remove-member", "Bilanci", CREATOR], DOER, 8, "only the owner"),
        (["list", "--public", "--kind", "group"], CREATOR, 2, "--public"),
        (["list", "--kind", "room"], CREATOR, 6, "--kind: 'room'"),
        (["add", "Aperta", "--public", "--description", "x"], EXTERNAL, 8, "external users"),
    ],
)
def test_bad_input_is_one_line_the_documented_code_and_nothing_written(
    chat, store_path, args, who, code, words
):
    ok(chat("add", "Bilanci", "--member", DOER))
    # A refusal for want of permission (8) is itself logged ("denied"): nothing else.
    before = store_digest(store_path, ignore=("audit_log",))
    audit = _chat_audit(store_path)
    assert_one_line_error(chat(*args, as_user=who), code, words)
    assert store_digest(store_path, ignore=("audit_log",)) == before
    assert _chat_audit(store_path) == audit


def _chat_audit(store_path) -> list[tuple]:
    conn = sqlite3.connect(store_path)
    try:
        return conn.execute(
            "SELECT * FROM audit_log WHERE action <> 'denied' ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def _not_found(result, chat_id: int) -> bool:
    return result.exit_code == 3 and result.stderr.strip() == (
        f"Error: chat {chat_id} not found. See your chats with 'sempi chat list'."
    )


@pytest.mark.parametrize("who", [EXTERNAL, OPERATOR])
def test_enumerating_chat_ids_tells_nothing_of_other_peoples_chats(chat, who):
    """Chats 1..N as an external user and a practice operator: the ones they may not
    read (or, for info and join, know of) answer exactly as an id that does not exist,
    whatever the command; the others answer something else."""
    data(chat("add", "Riservata", "--member", DOER, "--json"))
    public = data(chat("add", "Aperta", "--public", "--description", "x", "--json"))["id"]
    theirs = data(chat("add", "Con loro", "--member", who, "--json"))["id"]
    readable = {EXTERNAL: {ALFA, theirs}, OPERATOR: {GENERAL, ALFA, theirs}}[who]
    knowable = readable | ({public} if who == OPERATOR else set())
    assert {r["id"] for r in data(chat("list", "--json", as_user=who))} == readable
    public_listed = {r["id"] for r in data(chat("list", "--public", "--json", as_user=who))}
    assert public_listed == knowable - readable
    for chat_id in range(1, theirs + 3):
        ref = str(chat_id)
        # In this order: a public chat is read only once joined, and leaving comes last.
        for command, expected in (
            (["info", ref], knowable),
            (["mute", ref], readable),
            (["invite", ref, HELPER], readable),
            (["remove-member", ref, DOER], readable),
            (["join", ref], knowable),
            (["leave", ref], knowable),
        ):
            result = chat(*command, as_user=who)
            assert _not_found(result, chat_id) is (chat_id not in expected), (
                command,
                result.stderr,
            )
    assert data(chat("info", "Riservata", "--json", as_user=DOER))["members"] == [CREATOR, DOER]


# --- new clients get their chat ---------------------------------------------------------------


def test_client_add_gives_the_new_client_its_chat(cli, chat):
    ok(cli("studio", "add", "--name", "Studio Verdi"))
    made = data(
        cli(
            "client",
            "add",
            "--name",
            "Gamma Srl",
            "--studio",
            "Studio Verdi",
            "--piva",
            piva(9),
            "--json",
        )
    )
    info = data(chat("info", f"client:{made['id']}", "--json", as_user=ADMIN_EMAIL))
    assert (info["kind"], info["title"], info["client_id"]) == ("group", "Gamma Srl", made["id"])
    assert data(chat("info", "Gamma Srl", "--json", as_user=ADMIN_EMAIL))["id"] == info["id"]


def test_an_onboarding_batch_gives_each_new_client_its_chat(cli, chat, tmp_path, store_path):
    ok(cli("studio", "add", "--name", "Studio Verdi"))
    header = "ragione_sociale;kind;codice_fiscale;partita_iva;responsible;externals"
    rows = [f"Cliente {n} Srl;societa_capitali;;{piva(20 + n)};{WATCHER};" for n in range(3)]
    csv = tmp_path / "clienti.csv"
    csv.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    ok(cli("client-onboard", "batch", str(csv), "--studio", "Studio Verdi", "--yes"))
    mine = data(chat("list", "--kind", "group", "--json", as_user=WATCHER))
    assert [r["title"] for r in mine] == ["Cliente 0 Srl", "Cliente 1 Srl", "Cliente 2 Srl"]
    conn = sqlite3.connect(store_path)
    try:
        missing = conn.execute(
            "SELECT count(*) FROM clients c WHERE NOT EXISTS (SELECT 1 FROM chats ch WHERE ch.client_id = c.id)"
        ).fetchone()[0]
    finally:
        conn.close()
    assert missing == 0


def test_list_shows_a_page_of_the_most_active_unless_asked_for_all(cli, people):
    """Someone in hundreds of chats gets a page, and is told of the rest."""
    from sempi_cli.cli.chat import rooms as cli_rooms

    for n in range(4):
        ok(cli("chat", "add", f"Novità {n}", "--public", "--description", "Per tutti"))
    listed = data(cli("chat", "list", "--all", "--json"))
    assert len(listed) == 5  # the general chat and the four public ones
    page = cli("chat", "list", "-n", "2", "--json")
    assert [c["id"] for c in data(page)] == [c["id"] for c in listed[:2]]
    assert "3 more" in page.stderr
    assert cli_rooms.PAGE == 50
    assert_one_line_error(cli("chat", "list", "--all", "-n", "2"), 2, "--all")
