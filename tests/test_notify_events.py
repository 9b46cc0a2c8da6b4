"""Events that become notifications: tasks (`task` notifications), joining a work
group (`invitation`, through services/events.py), a client's first download of a
document (`document`, the read receipt). Each reaches the right people once, and
never the person who acted."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from tests.conftest import ADMIN_EMAIL, actor, store_digest
from tests.helpers import (
    CREATOR,
    DOER,
    EXTERNAL,
    HELPER,
    OPERATOR,
    OUTSIDER,
    WATCHER,
    assert_one_line_error,
    data,
    ok,
    one,
)

EVERYONE = (ADMIN_EMAIL, CREATOR, DOER, HELPER, WATCHER, OUTSIDER, OPERATOR, EXTERNAL)


def told(cli, kind: str) -> dict[str, list[str]]:
    """Each person's notifications of ``kind``, oldest first (their texts)."""
    return {
        user: [n["text"] for n in reversed(data(cli("notify", "list", "--kind", kind, "--json", as_user=user)))]
        for user in EVERYONE
    }  # fmt: skip


def news(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, list[str]]:
    """What each person was told between two looks (only those told something)."""
    return {
        user: texts[len(before[user]) :]
        for user, texts in after.items()
        if texts[len(before[user]) :]
    }


# --- tasks -------------------------------------------------------------------------------


@pytest.fixture
def task(cli, people) -> str:
    """CREATOR's task for Alfa, DOER responsible, HELPER participant, WATCHER observer,
    with approval."""
    return str(
        one(
            cli, "Dichiarazione IVA", "-r", DOER, "--participant", HELPER, "--observer", WATCHER,
            "--client", str(people["client"]), "--approval", "-d", "20/11/2026",
        )["id"]
    )  # fmt: skip


def test_a_new_task_tells_its_responsible_participants_and_observers(cli, task):
    assert news({u: [] for u in EVERYONE}, told(cli, "task")) == {
        DOER: [f"Creator gave you task {task} (Dichiarazione IVA)."],
        HELPER: [f"Creator added you as a participant to task {task} (Dichiarazione IVA)."],
        WATCHER: [f"Creator added you as an observer of task {task} (Dichiarazione IVA)."],
    }
    [shown] = data(cli("notify", "list", "--kind", "task", "--json", as_user=DOER))
    assert shown["task_id"] == int(task)


def test_nobody_is_told_of_their_own_action(cli, people):
    before = told(cli, "task")
    mine = str(one(cli, "Per me", "--participant", CREATOR)["id"])  # CREATOR responsible too
    ok(cli("task", "edit", mine, "--deadline", "30/11/2026", as_user=CREATOR))
    ok(cli("task", "comment", mine, "Nota per me", as_user=CREATOR))
    ok(cli("task", "done", mine, as_user=CREATOR))
    assert news(before, told(cli, "task")) == {}


def test_editing_tells_the_new_people(cli, task):
    before = told(cli, "task")
    ok(cli("task", "edit", task, "-r", HELPER, "--add-observer", OUTSIDER, as_user=CREATOR))
    assert news(before, told(cli, "task")) == {
        HELPER: [f"Creator gave you task {task} (Dichiarazione IVA)."],
        OUTSIDER: [f"Creator added you as an observer of task {task} (Dichiarazione IVA)."],
    }
    # Someone already there, or a field nobody is told about: no notification.
    before = told(cli, "task")
    ok(cli("task", "edit", task, "--add-observer", OUTSIDER, "--title", "Dichiarazione IVA 2026"))
    assert news(before, told(cli, "task")) == {}


def test_a_task_one_no_longer_sees_keeps_its_notification_but_not_its_text(cli, task):
    ok(cli("task", "edit", task, "--add-observer", OUTSIDER, as_user=CREATOR))
    [told_then] = data(cli("notify", "list", "--kind", "task", "--json", as_user=OUTSIDER))
    assert "Dichiarazione IVA" in told_then["text"]
    ok(cli("task", "edit", task, "--remove-observer", OUTSIDER, as_user=CREATOR))
    [now] = data(cli("notify", "list", "--kind", "task", "--json", as_user=OUTSIDER))
    assert (now["id"], now["text"]) == (told_then["id"], "(a task you no longer have access to)")
    hidden = cli("notify", "list", "--text", "Dichiarazione", "--json", as_user=OUTSIDER)
    assert data(hidden) == []  # nor found by its words


def test_a_moved_deadline_tells_everyone_on_the_task_but_the_mover(cli, task):
    before = told(cli, "task")
    ok(cli("task", "edit", task, "--deadline", "30/11/2026", as_user=CREATOR))
    text = f"Creator moved the deadline of task {task} (Dichiarazione IVA) to 30/11/2026 18:00."
    assert news(before, told(cli, "task")) == {DOER: [text], HELPER: [text], WATCHER: [text]}
    before = told(cli, "task")
    ok(cli("task", "edit", task, "--deadline", "", as_user=CREATOR))
    assert news(before, told(cli, "task"))[DOER] == [
        f"Creator moved the deadline of task {task} (Dichiarazione IVA) to none (removed)."
    ]


def test_a_dry_run_tells_nobody(cli, task, store_path):
    before = store_digest(store_path)
    ok(cli("task", "edit", task, "--deadline", "30/11/2026", "-r", HELPER, "--dry-run"))
    assert store_digest(store_path) == before


def test_a_comment_tells_everyone_else_on_the_task_each_time(cli, task):
    before = told(cli, "task")
    ok(cli("task", "comment", task, "Manca il modello\nF24 di ottobre.", as_user=DOER))
    ok(cli("task", "comment", task, "Arrivato", as_user=DOER))
    first = f"Doer commented on task {task} (Dichiarazione IVA): Manca il modello F24 di ottobre."
    second = f"Doer commented on task {task} (Dichiarazione IVA): Arrivato."
    assert news(before, told(cli, "task")) == {
        CREATOR: [first, second],
        HELPER: [first, second],
        WATCHER: [first, second],
    }


def test_a_long_comment_is_shortened(cli, task):
    ok(cli("task", "comment", task, "parola " * 100, as_user=DOER))
    [latest] = data(
        cli("notify", "list", "--kind", "task", "--limit", "1", "--json", as_user=CREATOR)
    )
    assert latest["text"].endswith("…") and len(latest["text"]) < 200


def test_return_and_approval_tell_the_responsible(cli, task):
    ok(cli("task", "done", task, as_user=DOER))
    before = told(cli, "task")
    ok(cli("task", "return", task, "--reason", "Manca la ricevuta", as_user=CREATOR))
    assert news(before, told(cli, "task")) == {
        DOER: [f"Creator returned task {task} (Dichiarazione IVA) to you: Manca la ricevuta."]
    }
    ok(cli("task", "done", task, as_user=DOER))
    before = told(cli, "task")
    ok(cli("task", "approve", task, as_user=CREATOR))
    assert news(before, told(cli, "task")) == {
        DOER: [f"Creator approved task {task} (Dichiarazione IVA)."]
    }


def test_each_event_is_delivered_once(cli, db, task):
    """A source per event and person: task:<id>:<what>:<history line>:<user>."""
    ok(cli("task", "comment", task, "Uno", as_user=DOER))
    sources = [r[0] for r in db.execute("SELECT source FROM notifications WHERE kind = 'task'")]
    assert len(sources) == len(set(sources)) == 3 + 3
    counts = Counter(s.split(":")[2] for s in sources)
    assert counts == {"assigned": 1, "participant": 1, "observer": 1, "commented": 3}


def test_a_task_event_by_email(cli, db, clock, task):
    ok(cli("notify", "prefs", "set", "task", "email", as_user=HELPER))
    ok(cli("task", "comment", task, "Serve il modello", as_user=DOER))
    [mail] = db.execute(
        "SELECT to_address, body FROM mail_outbox WHERE kind = 'notifications'"
    ).fetchall()
    assert mail[0] == HELPER and "incarico: Doer commented on task" in mail[1]
    unread = data(cli("notify", "list", "--unread", "--json", as_user=HELPER))
    listed = data(cli("notify", "list", "--json", as_user=HELPER))
    assert not any("commented" in n["text"] for n in unread)
    assert [n["read"] for n in listed if "commented" in n["text"]] == [True]


# --- work groups -----------------------------------------------------------------------------


def test_joining_a_work_group_is_an_invitation(cli, db, people):
    client = str(people["client"])
    chat = db.execute("SELECT id FROM chats WHERE client_id = ?", (people["client"],)).fetchone()[0]
    before = told(cli, "invitation")
    ok(cli("group", "add-member", client, HELPER))
    ok(cli("group", "add-member", client, ADMIN_EMAIL))  # the administrator adds themselves
    text = (
        f"Anna Admin added you to the work group of Alfa Srl (client {client}):"
        " its tasks, documents and chat are open to you."
    )
    assert news(before, told(cli, "invitation")) == {HELPER: [text]}
    [shown] = data(cli("notify", "list", "--kind", "invitation", "--json", as_user=HELPER))
    assert shown["chat_id"] == chat
    # Leaving and joining again: told again (once).
    ok(cli("group", "remove-member", client, HELPER))
    ok(cli("group", "add-member", client, HELPER))
    assert news(before, told(cli, "invitation")) == {HELPER: [text, text]}


def test_the_clients_responsible_is_told_by_whoever_made_the_client(cli, people):
    # people: the administrator made Alfa and Beta with CREATOR responsible.
    texts = told(cli, "invitation")[CREATOR]
    assert [t.split(" (client")[0] for t in texts] == [
        "Anna Admin added you to the work group of Alfa Srl",
        "Anna Admin added you to the work group of Beta Srl",
    ]


def test_whoever_adds_themselves_is_not_told(cli, db, clock, org, people):
    studio = db.execute(
        "SELECT studio_id FROM clients WHERE id = ?", (people["client"],)
    ).fetchone()[0]
    org.user("sadmin@rossi.test", "Sandro Admin", "studio-admin", studio=studio)
    ok(
        cli(
            "group",
            "add-member",
            str(people["client"]),
            "sadmin@rossi.test",
            as_user="sadmin@rossi.test",
        )
    )
    assert data(cli("notify", "list", "--json", as_user="sadmin@rossi.test")) == []


def test_the_event_and_its_invitation_are_one_transaction(cli, db, clock, people, monkeypatch):
    from sempi_cli.services.notify import subscribers

    def broken(*args):
        raise RuntimeError("the subscriber failed")

    monkeypatch.setattr(subscribers, "on_group_member_added", broken)
    result = cli("group", "add-member", str(people["client"]), HELPER)
    assert result.exit_code == 1
    members = db.execute(
        "SELECT count(*) FROM work_group_members WHERE user_id = ?", (actor(db, HELPER).id,)
    ).fetchone()[0]
    assert members == 0


# --- read receipts -------------------------------------------------------------------------


@pytest.fixture
def document(cli, db, clock, org, people, tmp_path) -> str:
    """A document OPERATOR (Studio Rossi) put in Alfa's folders."""
    from sempi_cli.services.documents.folders import FolderService

    FolderService(db, clock, org.admin).create_default_tree(people["client"])
    path = tmp_path / "visura.pdf"
    path.write_bytes(b"%PDF visura camerale")
    added = data(
        cli("doc", "add", str(path), "--client", str(people["client"]), "--folder", "IVA", "--json", as_user=OPERATOR)
    )  # fmt: skip
    return str(added[0]["id"])


def first_read_at(db, document: str) -> str | None:
    return db.execute(
        "SELECT client_first_read_at FROM documents WHERE id = ?", (int(document),)
    ).fetchone()[0]


def test_the_clients_first_download_tells_whoever_added_it_once(cli, db, clock, document):
    for insider in (CREATOR, ADMIN_EMAIL, OPERATOR):  # the firm's own reads are no receipt
        ok(cli("doc", "get", document, "-o", "-", as_user=insider))
    assert first_read_at(db, document) is None
    before = told(cli, "document")
    assert ok(cli("doc", "get", document, "-o", "-", as_user=EXTERNAL)).stdout_bytes.startswith(
        b"%PDF"
    )
    assert first_read_at(db, document) == "2026-11-16T09:30:00+00:00"
    text = f"Esterno (Alfa Srl) downloaded document {document} (visura.pdf) for the first time."
    assert news(before, told(cli, "document")) == {OPERATOR: [text]}
    clock.advance(timedelta(days=1))
    ok(cli("doc", "get", document, "-o", "-", as_user=EXTERNAL))
    assert first_read_at(db, document) == "2026-11-16T09:30:00+00:00"
    assert news(before, told(cli, "document")) == {OPERATOR: [text]}


def test_only_a_whole_download_counts(db, clock, document):
    from sempi_cli.services.documents.documents import DocumentService

    service = DocumentService(db, clock, actor(db, EXTERNAL))
    _, chunks = service.content(int(document))
    assert first_read_at(db, document) is None  # asked for, not read yet
    assert b"".join(chunks) == b"%PDF visura camerale"
    assert first_read_at(db, document) is not None


def test_the_clients_own_documents_have_no_receipt(cli, db, people, tmp_path, document):
    path = tmp_path / "ricevuta.pdf"
    path.write_bytes(b"%PDF ricevuta")
    [mine] = data(
        cli("doc", "add", str(path), "--client", str(people["client"]), "--folder", "IVA", "--json", as_user=EXTERNAL)
    )  # fmt: skip
    ok(cli("doc", "get", str(mine["id"]), "-o", "-", as_user=EXTERNAL))
    assert first_read_at(db, str(mine["id"])) is None
    assert all(texts == [] for texts in told(cli, "document").values())


def test_a_practice_can_turn_read_receipts_off(cli, db, document):
    shown = data(cli("studio", "show", "Studio Rossi", "--json"))
    assert shown["read_receipts"] == 1  # on by default
    changed = data(cli("studio", "edit", "Studio Rossi", "--read-receipts", "off", "--json"))
    assert changed["read_receipts"] == 0
    ok(cli("doc", "get", document, "-o", "-", as_user=EXTERNAL))
    assert first_read_at(db, document) is not None  # the moment is kept
    assert all(texts == [] for texts in told(cli, "document").values())
    # Turned on again, a later download is not the first: nobody is told.
    ok(cli("studio", "edit", "Studio Rossi", "--read-receipts", "ON"))
    ok(cli("doc", "get", document, "-o", "-", as_user=EXTERNAL))
    assert all(texts == [] for texts in told(cli, "document").values())
    audit = db.execute(
        "SELECT details FROM audit_log WHERE object_type = 'studio' AND action = 'edit'"
    )
    assert sum('"read_receipts"' in r[0] for r in audit) == 2


def test_read_receipts_take_on_or_off(cli, store_path, people):
    before = store_digest(store_path, ignore=("audit_log",))  # a refusal is recorded
    line = assert_one_line_error(
        cli("studio", "edit", "Studio Rossi", "--read-receipts", "maybe"), 6
    )
    assert "--read-receipts" in line
    assert_one_line_error(
        cli("studio", "edit", "Studio Rossi", "--read-receipts", "off", as_user=OPERATOR), 8
    )
    assert store_digest(store_path, ignore=("audit_log",)) == before
