"""`sempi chat` and `sempi notify` in Italian (issue 17): what they say to a person
(confirmations, summaries, plurals, errors, help, the words of a table) reads
Italian with SEMPI_LANG=it; a notification is written in its recipient's
language, whoever caused it; what scripts read (JSON, exit codes) does not change."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import ADMIN_EMAIL
from tests.helpers import CREATOR, DOER, HELPER, data, in_both_languages, ok


def both(cli, monkeypatch: pytest.MonkeyPatch, *args: str, as_user: str = CREATOR):
    """The same command in Italian, then in English."""
    return in_both_languages(cli, monkeypatch, *args, as_user=as_user)


def speaks(db: sqlite3.Connection, email: str, language: str | None) -> None:
    """A person's own language, as `user edit --language` stores it."""
    db.execute("UPDATE users SET language = ? WHERE email = ?", (language, email))


def firm_speaks(db: sqlite3.Connection, language: str) -> None:
    """The firm's default (`config set ui.language`) for whoever chose none."""
    db.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES ('ui.language', ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (language, "2026-11-16T09:30:00+00:00"),
    )


def test_sending_editing_deleting_speak_italian(cli, people, italian) -> None:
    sent = cli("chat", "send", "general", "Buongiorno a tutti", as_user=CREATOR)
    assert sent.exit_code == 0, sent.stderr
    message = int(sent.stderr.split()[1])
    assert sent.stderr == f"Messaggio {message} inviato nella chat 1.\n"
    edited = ok(cli("chat", "edit", str(message), "Buongiorno!", as_user=CREATOR))
    assert edited.stderr == f"Messaggio {message} modificato.\n"
    asked = cli("chat", "delete", str(message), as_user=CREATOR)  # no --yes, no terminal
    assert asked.exit_code == 2
    assert asked.stderr.startswith(f"Errore: Eliminare il messaggio {message}")
    rehearsed = ok(cli("chat", "delete", str(message), "--dry-run", as_user=CREATOR))
    assert rehearsed.stderr == (
        f"Simulazione: il messaggio {message} verrebbe eliminato; nulla è stato scritto.\n"
    )
    deleted = ok(cli("chat", "delete", str(message), "--yes", as_user=CREATOR))
    assert deleted.stderr == f"Messaggio {message} eliminato.\n"
    table = ok(cli("chat", "show", "general", as_user=DOER)).stdout
    assert "(messaggio eliminato)" in table and "eliminato" in table.split("\n")[-2]
    assert "(message deleted)" not in table
    found = ok(cli("chat", "search", "nessunaparolacosi", as_user=DOER))
    assert found.stderr == "Nessun messaggio trovato.\n"


def test_refusals_read_italian_with_the_same_exit_codes(cli, people, monkeypatch) -> None:
    missing_it, missing_en = both(cli, monkeypatch, "chat", "show", "999")
    assert missing_it.exit_code == missing_en.exit_code == 3
    assert missing_it.stderr == (
        "Errore: chat 999 non trovata. Veda le sue chat con 'sempi chat list'.\n"
    )
    assert missing_en.stderr == (
        "Error: chat 999 not found. See your chats with 'sempi chat list'.\n"
    )
    leave_it, leave_en = both(cli, monkeypatch, "chat", "leave", "general")
    assert leave_it.exit_code == leave_en.exit_code == 5
    assert leave_it.stderr == (
        "Errore: nessuno esce dalla chat generale. La silenzi con 'sempi chat mute general'.\n"
    )
    nobody_it, nobody_en = both(
        cli, monkeypatch, "chat", "send", "general", "@nessuno@altrove.it ciao"
    )
    assert nobody_it.exit_code == nobody_en.exit_code == 6
    assert nobody_it.stderr == (
        "Errore: TEXT: @nessuno@altrove.it non è membro della chat 1."
        " Menzioni solo i membri (con l'e-mail o nome.cognome).\n"
    )


def test_a_notification_reads_in_its_recipients_language(cli, people, db, monkeypatch) -> None:
    """CREATOR reads English and writes; DOER chose nothing (the firm's Italian),
    HELPER chose English: each is told in their own language."""
    firm_speaks(db, "it")
    speaks(db, CREATOR, "en")
    speaks(db, HELPER, "en")
    monkeypatch.setenv("SEMPI_LANG", "en")  # the sender's terminal
    sent = cli(
        "chat", "send", "general", f"@{DOER} @{HELPER} la F24 è pronta?", as_user=CREATOR
    )  # fmt: skip
    assert sent.exit_code == 0, sent.stderr
    assert sent.stderr.startswith("Sent message ")
    message = data(cli("chat", "show", "general", "--json", as_user=CREATOR))[-1]["id"]
    task = data(cli("task", "add", "Dichiarazione IVA", "-r", DOER, "--json", as_user=CREATOR))
    task_id = task[0]["id"] if isinstance(task, list) else task["id"]

    def told(user: str, kind: str) -> list[str]:
        shown = cli("notify", "list", "--kind", kind, "--json", as_user=user)
        return [n["text"] for n in data(shown)]

    assert told(DOER, "mention") == [
        f"{CREATOR} la menziona nella chat 1 (Generale), messaggio {message}"
    ]
    assert told(HELPER, "mention") == [
        f"{CREATOR} mentioned you in chat 1 (Generale), message {message}"
    ]
    assert told(DOER, "task") == [
        f"Creator le ha affidato l'incarico {task_id} (Dichiarazione IVA)."
    ]


def test_unread_counts_are_plural_in_italian(cli, people, db, italian) -> None:
    firm_speaks(db, "it")
    ok(cli("chat", "send", "general", f"@{DOER} prima", as_user=CREATOR))
    one = ok(cli("notify", "list", as_user=DOER))
    assert one.stderr == "1 notifica non letta.\n"
    ok(cli("chat", "send", "general", f"@{DOER} seconda", as_user=HELPER))
    ok(cli("chat", "send", "general", f"@{DOER} terza", as_user=ADMIN_EMAIL))
    three = ok(cli("notify", "list", as_user=DOER))
    assert three.stderr == "3 notifiche non lette.\n"
    read = ok(cli("notify", "read", "--all", as_user=DOER))
    assert read.stderr == "Segnate come lette: 3; non lette: 0.\n"
    none = ok(cli("notify", "list", as_user=DOER))
    assert none.stderr == "Nessuna notifica non letta.\n"
    prefs = ok(cli("notify", "prefs", as_user=DOER)).stdout
    assert "qualcuno la menziona in un messaggio di chat" in prefs
    assert "scadenze fiscali" in prefs


def test_help_reads_italian(cli, italian) -> None:
    chat = ok(cli("chat", "send", "--help")).stdout
    assert "Invia un messaggio; le menzioni @email o @nome.cognome avvisano quei membri." in chat
    assert 'sempi chat send "Alfa Srl"' in chat  # the example's command line stays
    prefs = ok(cli("notify", "prefs", "set", "--help")).stdout
    assert "Sceglie come le arriva un tipo di notifica." in prefs


def test_json_is_the_same_in_both_languages(cli, people, db, monkeypatch) -> None:
    firm_speaks(db, "it")
    ok(cli("chat", "add", "Bilanci 2026", "--member", DOER, as_user=CREATOR))
    ok(cli("chat", "send", "Bilanci 2026", f"@{DOER} ciao", as_user=CREATOR))
    removed = data(cli("chat", "send", "general", "da togliere", "--json", as_user=CREATOR))
    ok(cli("chat", "delete", str(removed["id"]), "--yes", as_user=CREATOR))
    for args, user in (
        (("chat", "list", "--json"), DOER),
        (("chat", "info", "Bilanci 2026", "--json"), DOER),
        (("chat", "show", "general", "--json"), DOER),
        (("chat", "history", str(removed["id"]), "--json"), ADMIN_EMAIL),
        (("chat", "search", "ciao", "--json"), DOER),
        (("notify", "list", "--json"), DOER),
        (("notify", "prefs", "--json"), DOER),
    ):
        in_italian, in_english = both(cli, monkeypatch, *args, as_user=user)
        assert in_italian.exit_code == in_english.exit_code == 0, in_italian.stderr
        assert in_italian.stdout == in_english.stdout, args
    shown = data(cli("chat", "show", "general", "--json", as_user=DOER))
    assert shown[-1]["text"] == "(message deleted)"  # a value of the JSON, not a text


@pytest.mark.parametrize(
    ("firm", "note"),
    [
        ("it", "Creator ha lasciato la chat; ora il proprietario è Doer"),
        ("en", "Creator left; Doer is now the owner"),
    ],
)
def test_a_chats_note_is_in_the_firms_language(cli, people, db, firm, note) -> None:
    """The note of a new owner is one text for every reader: the firm's language."""
    firm_speaks(db, firm)
    ok(cli("chat", "add", "Bilanci 2026", "--member", DOER, as_user=CREATOR))
    ok(cli("chat", "leave", "Bilanci 2026", as_user=CREATOR))
    shown = data(cli("chat", "show", "Bilanci 2026", "--json", as_user=DOER))
    assert (shown[-1]["kind"], shown[-1]["text"]) == ("event", note)


def test_a_followed_message_reads_italian() -> None:
    """`chat follow` on a terminal: a note of the chat answering another message."""
    from sempi_cli import i18n
    from sempi_cli.cli.chat.messages import _line

    message = {
        "id": 5, "chat_id": 1, "created_at": "2026-11-16T09:30:00+00:00", "author": None,
        "kind": "event", "text": "Creator ha lasciato la chat", "reply_to": 3,
        "attachment": {"available": False, "document_id": None, "name": None},
        "deleted": False, "edited": False,
    }  # fmt: skip
    with i18n.speaking("it"):
        italian = _line(message)
    assert italian.splitlines()[0].endswith("chat 1  #5  (nota)  (in risposta a #3)")
    assert italian.splitlines()[-1] == "    [(allegato non disponibile)]"
    assert "(note)  (reply to #3)" in _line(message)
