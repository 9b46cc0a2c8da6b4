"""What is said in the chats (services/chat/messages.py, mentions.py, follow.py):
sending, paged history and the read mark, the one `message` notification per chat
until read, mentions (muted or not), attachments checked when read, edits and
deletions with their versions and audit, bad input, and nobody reading past their
chats by counting ids. Search is in test_chat_search.py; real processes in
test_chat_processes.py."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sempi_cli.errors import NotFound
from sempi_cli.services.chat.chats import ChatService
from sempi_cli.services.chat.follow import FollowService
from sempi_cli.store.search import indexed_writes
from tests.conftest import ADMIN_EMAIL, actor, store_digest
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

GENERAL, ALFA, BETA = "1", "2", "3"  # m016's general chat, then the two clients' chats


def send(cli, chat: str, text: str, *args: str, as_user: str = CREATOR, **kw) -> dict:
    return data(cli("chat", "send", chat, text, *args, "--json", as_user=as_user, **kw))


def show(cli, chat: str, *args: str, as_user: str = CREATOR) -> list[dict]:
    return data(cli("chat", "show", chat, *args, "--json", as_user=as_user))


@pytest.fixture
def run(cli):
    """`sempi chat ...` as CREATOR unless told otherwise (Cli's default is the admin)."""
    return lambda *args, as_user=CREATOR, **kw: cli("chat", *args, as_user=as_user, **kw)


def uid(db, email: str) -> int:
    return db.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0]


def inbox(db, email: str, kind: str = "message") -> list[tuple]:
    rows = db.execute(
        "SELECT chat_id, source, read_at IS NOT NULL FROM notifications"
        " WHERE user_id = ? AND kind = ? ORDER BY id",
        (uid(db, email), kind),
    )
    return [(r[0], r[1], bool(r[2])) for r in rows]


def mark(db, chat: str, email: str) -> int | None:
    row = db.execute(
        "SELECT read_up_to FROM chat_marks WHERE chat_id = ? AND user_id = ?",
        (int(chat), uid(db, email)),
    ).fetchone()
    return None if row is None else row[0]


# --- sending and reading -------------------------------------------------------------------


def test_a_message_is_shown_newest_last_and_moves_the_chat_and_the_senders_mark(cli, people, db):
    first = send(cli, GENERAL, "Buongiorno a tutti")
    second = send(
        cli, "generale", "La fattura è pronta", "--reply-to", str(first["id"]), as_user=DOER
    )
    assert second["reply_to"] == first["id"] and second["author"] == DOER
    assert [m["text"] for m in show(cli, GENERAL, as_user=HELPER)] == [
        "Buongiorno a tutti",
        "La fattura è pronta",
    ]
    chat = db.execute("SELECT last_message_id, last_message_at FROM chats WHERE id = 1").fetchone()
    assert tuple(chat) == (second["id"], second["created_at"])
    assert mark(db, GENERAL, DOER) == second["id"]  # the sender has read their own message
    assert mark(db, GENERAL, CREATOR) == first["id"]


def test_text_from_standard_input_keeps_its_lines_and_tabs(cli, people):
    sent = send(cli, GENERAL, "-", input="Riga uno\n\tRiga due\n\n")
    assert sent["text"] == "Riga uno\n\tRiga due"


def test_the_table_shows_rome_time_marks_and_notes(cli, run, people, db):
    sent = send(cli, GENERAL, "Prima")
    ok(run("edit", str(sent["id"]), "Prima, corretta"))
    with indexed_writes(db):  # the index's triggers (store/search.py)
        db.execute(
            "INSERT INTO chat_messages (chat_id, kind, body, created_at)"
            " VALUES (1, 'event', 'Luca joined the chat', '2026-11-16T09:30:00+00:00')"
        )
    table = ok(run("show", GENERAL)).stdout
    assert "16/11/2026 10:30" in table and "edited" in table
    assert "(note)" in table and "Luca joined the chat" in table
    note = show(cli, GENERAL)[-1]
    assert (note["kind"], note["author"]) == ("event", None)


def test_paging_before_after_and_since(cli, people, clock):
    ids = []
    for n in range(7):
        ids.append(send(cli, GENERAL, f"messaggio {n}")["id"])
        clock.advance(timedelta(hours=1))
    texts = lambda rows: [r["text"][-1] for r in rows]  # noqa: E731
    assert texts(show(cli, GENERAL, "--limit", "3")) == ["4", "5", "6"]
    assert texts(show(cli, GENERAL, "--limit", "3", "--before", str(ids[4]))) == ["1", "2", "3"]
    assert texts(show(cli, GENERAL, "--limit", "2", "--after", str(ids[1]))) == ["2", "3"]
    assert texts(show(cli, GENERAL, "--after", str(ids[1]), "--before", str(ids[4]))) == ["2", "3"]
    since = "2026-11-16 13:30"  # Rome time: message 3 was sent at 12:30 UTC (09:30 + 3 h)
    assert texts(show(cli, GENERAL, "--since", since, "--limit", "2")) == ["3", "4"]


def test_reading_marks_the_chat_read_up_to_the_last_message_shown_never_back(cli, people, db):
    ids = [send(cli, GENERAL, f"m{n}")["id"] for n in range(5)]
    show(cli, GENERAL, "--limit", "2", "--before", str(ids[3]), as_user=DOER)
    assert mark(db, GENERAL, DOER) == ids[2]
    show(cli, GENERAL, as_user=DOER)
    assert mark(db, GENERAL, DOER) == ids[4]
    show(cli, GENERAL, "--limit", "1", "--before", str(ids[1]), as_user=DOER)
    assert mark(db, GENERAL, DOER) == ids[4]


def test_an_erased_author_shows_as_utente_rimosso(cli, people, db, clock):
    from sempi_cli.services.identity.accounts import erase_personal_data

    send(cli, ALFA, "Ecco i documenti", as_user=EXTERNAL)
    erase_personal_data(db, uid(db, EXTERNAL), "2026-11-17T09:00:00+00:00")
    assert [m["author"] for m in show(cli, ALFA)] == ["utente rimosso"]


# --- notifications ----------------------------------------------------------------------------


def test_one_message_notification_per_chat_until_read(cli, people, db):
    for n in range(3):
        send(cli, GENERAL, f"m{n}")
    assert inbox(db, DOER) == [(1, f"chat:1:user:{uid(db, DOER)}:read:0", False)]
    assert inbox(db, CREATOR) == []  # the author
    assert [row[0] for row in inbox(db, OPERATOR)] == [1]  # practice users are in the general chat
    assert inbox(db, EXTERNAL) == []  # external users are not
    show(cli, GENERAL, as_user=DOER)  # read: the notification too
    assert inbox(db, DOER)[0][2] is True
    last = send(cli, GENERAL, "m3")["id"]
    send(cli, GENERAL, "m4")
    assert [row[1:] for row in inbox(db, DOER)] == [
        (f"chat:1:user:{uid(db, DOER)}:read:0", True),
        (f"chat:1:user:{uid(db, DOER)}:read:{last - 1}", False),
    ]


def test_a_muted_chat_sends_no_message_notification_but_a_mention_still_notifies(
    cli, people, db, org, clock
):
    org.user("nicolo@sempi.test", "Nicolò Dell'Acqua")
    ChatService(db, clock, actor(db, "nicolo@sempi.test")).mute("general")
    ChatService(db, clock, actor(db, DOER)).mute("general")
    send(cli, GENERAL, "Riunione alle 15")
    assert inbox(db, DOER) == [] and inbox(db, "nicolo@sempi.test") == []
    sent = send(cli, GENERAL, "@NICOLO.dell'acqua e @doer@sempi.test, a voi.")
    for person in ("nicolo@sempi.test", DOER):
        assert inbox(db, person, "mention") == [
            (1, f"chat-message:{sent['id']}:mention:{uid(db, person)}", False)
        ]
        assert inbox(db, person) == []


def test_a_mention_outside_the_chat_is_refused_and_nothing_is_written(cli, run, people, store_path):
    before = store_digest(store_path)
    for who in ("helper@sempi.test", "nobody@sempi.test", "mario.rossi"):
        result = run("send", ALFA, f"Vedi tu @{who}?")
        assert_one_line_error(result, 6, f"@{who}", "is not a member of chat 2")
    assert store_digest(store_path) == before


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stdin", "code", "fragment"),
    [
        ((GENERAL, ""), None, 6, "the message is empty"),
        ((GENERAL, " \n\t "), None, 6, "the message is empty"),
        ((GENERAL, "x" * 10_001), None, 6, "longer than 10,000 characters (10,001)"),
        ((GENERAL, "a\x1b[31mb"), None, 6, "U+001B"),
        ((GENERAL, "-"), b"caff\xe8\n", 6, "not valid UTF-8"),
        (("999", "ciao"), None, 3, "chat 999 not found"),
        (("Nessuna chat", "ciao"), None, 3, "not found"),
        ((GENERAL, "ciao", "--reply-to", "{alfa_message}"), None, 6, "is not a message of chat 1"),
        (
            (GENERAL, "ciao", "--reply-to", "9999"),
            None,
            6,
            "message 9999 is not a message of chat 1",
        ),
        ((GENERAL, "ciao", "--attach", "1"), None, 6, "only in a client's work-group chat"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    cli, run, people, store_path, args, stdin, code, fragment
):
    alfa_message = send(cli, ALFA, "nel gruppo di Alfa")["id"]
    args = [a.format(alfa_message=alfa_message) for a in args]
    before = store_digest(store_path)
    assert_one_line_error(run("send", *args, input=stdin), code, fragment)
    assert store_digest(store_path) == before


def test_before_or_after_of_another_chats_message_is_refused(cli, run, people, store_path):
    elsewhere = send(cli, ALFA, "nel gruppo di Alfa")["id"]
    send(cli, GENERAL, "nel generale")
    before = store_digest(store_path)
    for option in ("--before", "--after"):
        result = run("show", GENERAL, option, str(elsewhere))
        assert_one_line_error(result, 6, option, f"message {elsewhere} is not a message of chat 1")
    assert_one_line_error(run("show", GENERAL, "--since", "ieri l'altro"), 6, "--since")
    assert store_digest(store_path) == before


# --- attachments ---------------------------------------------------------------------------------


@pytest.fixture
def documents(people, db, clock, org, tmp_path):
    """A document in Alfa's folders and one in Beta's: their ids."""
    from sempi_cli.services.documents.documents import DocumentService
    from sempi_cli.services.documents.folders import FolderService

    ids = []
    for client in (people["client"], people["other_client"]):
        FolderService(db, clock, org.admin).create_default_tree(client)
        path = tmp_path / f"fattura-{client}.pdf"
        path.write_bytes(b"%PDF-1.4 fattura")
        ids.append(DocumentService(db, clock, org.admin).add(client, "IVA", [str(path)])[0]["id"])
    return ids


def test_an_attachment_is_a_document_of_the_groups_client_shown_to_who_may_read_it(
    cli, run, documents, db, store_path
):
    alfa_doc, beta_doc = documents
    sent = send(cli, ALFA, "La fattura", "--attach", str(alfa_doc))
    view = {"available": True, "document_id": alfa_doc, "name": "fattura-1.pdf", "removed": False}
    assert sent["attachment"] == view
    assert show(cli, ALFA, as_user=OPERATOR)[-1]["attachment"] == view
    before = store_digest(store_path)
    for doc in (beta_doc, 9999):
        result = run("send", ALFA, "Quella di Beta", "--attach", str(doc))
        assert_one_line_error(result, 6, f"document {doc} is not a document of this chat's client")
    assert store_digest(store_path) == before
    # The reader's right is asked when shown: a link to Beta's document (written behind
    # the tool's back, or by a rule that changed) is not available to Alfa's operator.
    db.execute("UPDATE chat_messages SET document_id = ? WHERE id = ?", (beta_doc, sent["id"]))
    assert show(cli, ALFA, as_user=OPERATOR)[-1]["attachment"]["available"] is False
    assert "(attachment not available)" in ok(run("show", ALFA, as_user=OPERATOR)).stdout
    assert show(cli, ALFA, as_user=CREATOR)[-1]["attachment"]["document_id"] == beta_doc


# --- edits and deletions ----------------------------------------------------------------------


def audit(db, action: str) -> list[dict]:
    rows = db.execute("SELECT details FROM audit_log WHERE action = ? ORDER BY id", (action,))
    return [json.loads(r[0]) for r in rows]


def test_an_edit_keeps_the_earlier_text_for_administrators_and_audits_lengths_only(
    cli, run, people, db
):
    sent = send(cli, GENERAL, "Scadenza il 15")
    edited = data(run("edit", str(sent["id"]), "-", "--json", input="Scadenza il 16\n"))
    assert (edited["text"], edited["edited"]) == ("Scadenza il 16", True)
    (entry,) = audit(db, "chat_message_edited")
    assert entry == {"chat_id": 1, "version": 1, "old_length": 14, "new_length": 14}
    history = data(run("history", str(sent["id"]), "--json", as_user=ADMIN_EMAIL))
    assert [(v["version"], v["text"]) for v in history] == [
        (1, "Scadenza il 15"),
        (2, "Scadenza il 16"),
    ]
    assert_one_line_error(run("history", str(sent["id"])), 8, "firm administrator")
    assert_one_line_error(run("edit", str(sent["id"]), "Mio!", as_user=DOER), 8, "author")


def test_an_edit_that_mentions_someone_new_notifies_them_once(cli, run, people, db):
    sent = send(cli, GENERAL, "Chi se ne occupa?")
    for _ in range(2):
        ok(run("edit", str(sent["id"]), "Chi se ne occupa? @doer@sempi.test"))
        ok(run("edit", str(sent["id"]), "Chi se ne occupa?? @doer@sempi.test"))
    assert len(inbox(db, DOER, "mention")) == 1


def test_a_deletion_shows_as_deleted_keeps_the_text_for_administrators(cli, run, people, db):
    mine = send(cli, GENERAL, "Riservato: IBAN IT60X0542811101000000123456")
    theirs = send(cli, GENERAL, "Un altro", as_user=DOER)
    assert_one_line_error(run("delete", str(theirs["id"]), "--yes"), 8, "author")
    dry = data(run("delete", str(mine["id"]), "--dry-run", "--json"))
    assert dry["deleted"] is True
    assert show(cli, GENERAL)[0]["deleted"] is False  # the dry run undid it
    ok(run("delete", str(mine["id"]), "--yes"))
    ok(run("delete", str(theirs["id"]), "--yes", as_user=ADMIN_EMAIL))  # moderation
    rows = show(cli, GENERAL)
    assert [(r["text"], r["deleted"]) for r in rows] == [("(message deleted)", True)] * 2
    assert (
        db.execute("SELECT body FROM chat_messages WHERE id = ?", (mine["id"],)).fetchone()[0] == ""
    )
    history = data(run("history", str(mine["id"]), "--json", as_user=ADMIN_EMAIL))
    assert history[0]["text"].startswith("Riservato") and history[1]["text"] == "(message deleted)"
    assert [e["own"] for e in audit(db, "chat_message_deleted")] == [True, False]
    assert "IBAN" not in json.dumps(audit(db, "chat_message_deleted"))
    assert_one_line_error(run("delete", str(mine["id"]), "--yes"), 5, "was deleted")
    assert_one_line_error(run("edit", str(mine["id"]), "Di nuovo"), 5, "was deleted")


def test_edit_takes_a_message_text_or_chat_options_not_both_nor_neither(
    cli, run, people, db, clock
):
    sent = send(cli, GENERAL, "Ciao")
    assert_one_line_error(run("edit", str(sent["id"])), 2, "nothing to change")
    both = run("edit", str(sent["id"]), "Ciao!", "--title", "Nuovo")
    assert_one_line_error(both, 2, "not both")
    assert_one_line_error(run("edit", "Bilanci", "Ciao!"), 2, "not a message id")
    private = ChatService(db, clock, actor(db, CREATOR)).add("Bilanci", members=[DOER])["id"]
    renamed = data(run("edit", str(private), "--title", "Bilanci 2026", "--json", as_user=DOER))
    assert renamed["title"] == "Bilanci 2026"
    ok(run("edit", "general", "--post", "admins", as_user=ADMIN_EMAIL))
    assert_one_line_error(run("send", GENERAL, "Ciao"), 5, "only administrators may post")
    assert_one_line_error(run("edit", str(sent["id"]), "Ciao!"), 5, "only administrators")


# --- invitees without the history ----------------------------------------------------------


def test_an_invitee_without_the_history_reads_from_joining_with_it_all(cli, run, people, db, clock):
    chats = ChatService(db, clock, actor(db, CREATOR))
    private = str(chats.add("Bilanci", members=[DOER])["id"])
    old = send(cli, private, "Prima dell'invito")
    chats.invite(private, [HELPER])
    chats.invite(private, [WATCHER], show_history=True)
    send(cli, private, "Dopo l'invito")
    assert [m["text"] for m in show(cli, private, as_user=HELPER)][-1:] == ["Dopo l'invito"]
    assert "Prima dell'invito" not in [m["text"] for m in show(cli, private, as_user=HELPER)]
    assert "Prima dell'invito" in [m["text"] for m in show(cli, private, as_user=WATCHER)]
    assert_one_line_error(run("edit", str(old["id"]), "x", as_user=HELPER), 3, "not found")
    refused = run("send", private, "Re", "--reply-to", str(old["id"]), as_user=HELPER)
    assert_one_line_error(refused, 6, "is not a message of chat")


# --- following ----------------------------------------------------------------------------------


def test_follow_yields_each_new_message_once_then_stops_when_told(cli, people, db, clock):
    service = FollowService(db, clock, actor(db, DOER))
    chat_id, after = service.start("general")
    send(cli, ALFA, "nel gruppo")  # another chat: not followed
    sent = [send(cli, GENERAL, text)["id"] for text in ("uno", "due")]
    waits = iter([False, True])  # one more poll, then a signal
    got = list(service.follow(chat_id, after, wait=lambda seconds: next(waits)))
    assert [(m["id"], m["text"]) for m in got] == list(zip(sent, ("uno", "due"), strict=True))
    everywhere = service.follow(None, after, wait=lambda seconds: True)
    assert [m["text"] for m in everywhere] == ["uno", "due"]  # DOER is not in Alfa's group


def test_follow_takes_a_chat_or_all_and_prints_text_or_json_lines(run, people):
    assert_one_line_error(run("follow"), 2, "give a CHAT or --all")
    assert_one_line_error(run("follow", "general", "--all"), 2, "not both")
    assert_one_line_error(run("follow", "general", "--format", "csv"), 2, "--format csv")
    assert_one_line_error(run("follow", "999"), 3, "chat 999 not found")


# --- nobody reads past their chats by counting ids ------------------------------------------


@pytest.fixture
def many_chats(cli, people, db, clock):
    """Messages in every kind of chat: general, Alfa's and Beta's groups, a private one."""
    private = ChatService(db, clock, actor(db, CREATOR)).add("Staff", members=[DOER])["id"]
    for chat in (GENERAL, ALFA, BETA, str(private)):
        for n in range(2):
            send(cli, chat, f"parola segreta {chat}-{n}")
    return private


def readable_messages(db, readable: set[int]) -> dict[int, int]:
    marks = ",".join(map(str, readable))
    rows = db.execute(f"SELECT id, chat_id FROM chat_messages WHERE chat_id IN ({marks})")
    return {r[0]: r[1] for r in rows}


@pytest.mark.parametrize(("who", "readable"), [(OPERATOR, {1, 2}), (EXTERNAL, {2})])
def test_enumerating_ids_shows_nothing_beyond_ones_chats(
    cli, run, db, clock, many_chats, who, readable
):
    top_chat = db.execute("SELECT max(id) FROM chats").fetchone()[0] + 2
    top_message = db.execute("SELECT max(id) FROM chat_messages").fetchone()[0] + 2
    seen = set()
    for chat in range(1, top_chat + 1):
        result = run("show", str(chat), "--json", as_user=who)
        if result.exit_code == 0:
            seen.add(chat)
        else:
            assert_one_line_error(result, 3, f"chat {chat} not found")
    assert seen == readable
    mine = readable_messages(db, readable)
    follow = FollowService(db, clock, actor(db, who))
    assert {m["id"] for m in follow.new_messages(None, 0)} == set(mine)
    for chat in set(range(1, top_chat + 1)) - readable:
        with pytest.raises(NotFound):
            follow.new_messages(chat, 0)
        assert_one_line_error(run("follow", str(chat), as_user=who), 3, f"chat {chat} not found")
    hits = data(run("search", "segreta", "--limit", "1000", "--json", as_user=who))
    assert {h["id"] for h in hits} == set(mine)
    for message in range(1, top_message + 1):
        for verb, *extra in (("edit", "changed"), ("history",), ("delete", "--yes")):
            result = run(verb, str(message), *extra, as_user=who)
            if message in mine:  # readable, but others' (and not for administrators)
                assert_one_line_error(result, 8)
            else:
                assert_one_line_error(result, 3, f"message {message} not found")
    home = min(readable)
    for message in range(1, top_message + 1):  # (the replies add messages as it goes)
        reply = run("send", str(home), "re", "--reply-to", str(message), as_user=who)
        if readable_messages(db, readable).get(message) == home:
            ok(reply)
        else:
            assert_one_line_error(reply, 6, f"message {message} is not a message of chat {home}")
