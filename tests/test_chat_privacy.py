"""The chat under the GDPR: a client's export carries what its external users
wrote; an erasure removes their messages' text (earlier versions, the chat's
notes naming them and the search index included), keeps everyone else's
messages, and shows them as "utente rimosso"."""

from __future__ import annotations

import json

from tests import test_clients_privacy as privacy
from tests.helpers import ok
from tests.test_clients_privacy import (
    EXTERNAL,
    EXTERNAL_NAME,
    REASON,
    STAFF,
    _raw_store_bytes,
    erase,
    export,
)

world = privacy.world  # the fixture: a practice, a client with an external user

SECRET_FIRST, SECRET_EDITED = "Zebrafragola", "Ornitorinco"


def said(cli, chat, text, as_user):
    return json.loads(ok(cli("chat", "send", chat, text, "--json", as_user=as_user)).stdout)


def chat_of(world) -> str:
    return f"client:{world['client']['id']}"


def conversation(cli, world) -> dict:
    theirs = said(cli, chat_of(world), f"{SECRET_FIRST}: ecco le fatture", EXTERNAL)
    ok(cli("chat", "edit", str(theirs["id"]), f"{SECRET_EDITED}: ecco le fatture",
           as_user=EXTERNAL))  # fmt: skip
    said(cli, chat_of(world), "@marco.verdi la F24 è pronta?", EXTERNAL)  # a mention: Marco's
    ours = said(cli, chat_of(world), "Ricevute, grazie: le registriamo", STAFF)  # inbox names her
    return {"theirs": theirs["id"], "ours": ours["id"]}


def test_the_export_carries_their_messages_and_earlier_texts(cli, world, tmp_path):
    ids = conversation(cli, world)
    out = tmp_path / "export.json"
    ok(export(cli, world["client"]["id"], out))
    (person,) = json.loads(out.read_text())["external_users"]
    message, mention = person["messages"]
    assert message["id"] == ids["theirs"] and mention["text"] == "@marco.verdi la F24 è pronta?"
    assert message["text"] == f"{SECRET_EDITED}: ecco le fatture"
    assert [v["text"] for v in message["earlier_texts"]] == [f"{SECRET_FIRST}: ecco le fatture"]


def test_erasure_removes_their_text_and_keeps_the_others(cli, world, store_path):
    ids = conversation(cli, world)
    raw = _raw_store_bytes(store_path)
    assert SECRET_FIRST.encode() in raw and SECRET_EDITED.encode() in raw  # the check can see
    ok(erase(cli, world["client"]["id"], "--reason", REASON, "--yes"))
    raw = _raw_store_bytes(store_path)
    for gone in (SECRET_FIRST, SECRET_EDITED, EXTERNAL, EXTERNAL_NAME):
        assert gone.encode() not in raw, gone  # table, versions, search index, notifications
    shown = json.loads(ok(cli("chat", "show", chat_of(world), "--json", as_user=STAFF)).stdout)
    by_id = {m["id"]: m for m in shown}
    assert by_id[ids["theirs"]]["author"] == "utente rimosso"
    assert SECRET_EDITED not in json.dumps(by_id[ids["theirs"]])
    assert by_id[ids["ours"]]["text"] == "Ricevute, grazie: le registriamo"
    found = json.loads(ok(cli("chat", "search", SECRET_EDITED, "--json")).stdout)
    assert found == []
    mention = json.loads(
        ok(cli("notify", "list", "--kind", "mention", "--json", as_user=STAFF)).stdout
    )[0]
    assert mention["text"].startswith("utente rimosso mentioned you")


def test_erasure_takes_their_name_out_of_the_chats_notes(cli, world, store_path, db):
    chat = json.loads(
        ok(
            cli("chat", "add", "Documenti 2026", "--member", STAFF, "--json", as_user=EXTERNAL)
        ).stdout
    )
    ok(cli("chat", "leave", str(chat["id"]), as_user=EXTERNAL))  # hand-over: a note names them
    assert (
        db.execute(
            "SELECT count(*) FROM chat_messages WHERE kind = 'event' AND instr(body, ?) > 0",
            (EXTERNAL_NAME,),
        ).fetchone()[0]
        == 1
    )
    ok(erase(cli, world["client"]["id"], "--reason", REASON, "--yes"))
    assert EXTERNAL_NAME.encode() not in _raw_store_bytes(store_path)
    (note,) = db.execute("SELECT body FROM chat_messages WHERE kind = 'event'").fetchall()
    assert "utente rimosso" in note[0]
