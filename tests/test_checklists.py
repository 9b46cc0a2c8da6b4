"""`sempi checklist`: lists, nested items, moves, group actions, access through
items, the completion rule, attachments, templates."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import ADMIN_EMAIL, actor, store_digest
from tests.helpers import (
    CREATOR,
    DOER,
    HELPER,
    OUTSIDER,
    WATCHER,
    assert_one_line_error,
    data,
    ok,
    one,
    status,
)


def item(cli, task_id, text, *args, as_user=CREATOR) -> int:
    return int(ok(cli("checklist", "add", str(task_id), text, *args, as_user=as_user)).stdout)


def view(cli, task_id, *args, as_user=CREATOR) -> dict:
    return data(cli("checklist", "list", str(task_id), "--json", *args, as_user=as_user))


def items(cli, task_id, *args, as_user=CREATOR) -> list[dict]:
    return [
        i
        for c in view(cli, task_id, "--all", *args, as_user=as_user)["checklists"]
        for i in c["items"]
    ]


@pytest.fixture
def task(cli, people) -> str:
    return str(one(cli, "Liquidazione IVA marzo", "-r", DOER)["id"])


def test_lists_are_named_renamed_and_removed(cli, task, store_path):
    ok(cli("checklist", "add-list", task, "Documenti"))
    ok(cli("checklist", "add-list", task, "Controlli"))
    before = store_digest(store_path)
    assert_one_line_error(cli("checklist", "add-list", task, "documenti"), 4, "already has")
    assert_one_line_error(cli("checklist", "add", task, "Fatture"), 6, "several checklists")
    assert store_digest(store_path) == before
    fatture = item(cli, task, "Fatture", "--list", "Documenti")
    item(cli, task, "Estratti", "--under", str(fatture))
    ok(cli("checklist", "rename-list", task, "Documenti", "Documenti ricevuti"))
    assert [c["name"] for c in view(cli, task)["checklists"]] == ["Documenti ricevuti", "Controlli"]
    assert_one_line_error(
        cli("checklist", "remove-list", task, "Controlli"), 2
    )  # no terminal, no --yes
    removed = data(cli("checklist", "remove-list", task, "Documenti ricevuti", "--yes", "--json"))
    assert removed["items"] == 2
    assert [c["name"] for c in view(cli, task)["checklists"]] == ["Controlli"]
    actions = [h["action"] for h in data(cli("task", "history", task, "--json"))]
    for action in ("add_checklist", "add_item", "rename_checklist", "remove_checklist"):
        assert action in actions


def test_first_item_makes_a_default_list(cli, task):
    item(cli, task, "Raccogliere fatture")
    assert [c["name"] for c in view(cli, task)["checklists"]] == ["Checklist"]


def test_sixty_levels_deep(cli, task, db, clock):
    from sempi_cli.services.checklists.items import ChecklistItems

    service = ChecklistItems(db, clock, actor(db, CREATOR))
    chain = [service.add(int(task), "livello 0")["id"]]
    for level in range(1, 60):
        chain.append(service.add(int(task), f"livello {level}", under=chain[-1])["id"])
    shown = view(cli, task)["checklists"][0]
    assert [i["depth"] for i in shown["items"]] == list(range(60))
    assert [i["parent_id"] for i in shown["items"]] == [None, *chain[:-1]]
    assert (shown["items"][0]["done_count"], shown["items"][0]["total_count"]) == (0, 59)
    table = ok(cli("checklist", "list", task)).stdout.splitlines()
    assert table[-1] == " " * 120 + f"[ ] {chain[-1]}  livello 59"
    # checking the top checks every level; opening the deepest re-opens every level above
    assert len(data(cli("checklist", "check", str(chain[0]), "--json"))) == 60
    assert view(cli, task)["checklists"][0] | {"items": []} == {
        "id": shown["id"], "name": "Checklist", "done": 60, "total": 60, "hidden": 60, "items": []
    }  # fmt: skip
    assert len(data(cli("checklist", "uncheck", str(chain[-1]), "--json"))) == 60
    assert ok(cli("checklist", "move", str(chain[30]), "--top")).exit_code == 0
    tree = items(cli, task)
    assert sum(i["depth"] == 0 for i in tree) == 2 and max(i["depth"] for i in tree) == 29


@pytest.fixture
def tree(cli, task) -> dict[str, int]:
    """Documenti: a (a1, a2 (a21)), b, c; Controlli: x."""
    ok(cli("checklist", "add-list", task, "Documenti"))
    ok(cli("checklist", "add-list", task, "Controlli"))
    ids = {"a": item(cli, task, "A", "-l", "Documenti")}
    ids["a1"] = item(cli, task, "A1", "--under", str(ids["a"]))
    ids["a2"] = item(cli, task, "A2", "--under", str(ids["a"]))
    ids["a21"] = item(cli, task, "A21", "--under", str(ids["a2"]))
    ids["b"] = item(cli, task, "B", "-l", "Documenti")
    ids["c"] = item(cli, task, "C", "-l", "Documenti")
    ids["x"] = item(cli, task, "X", "-l", "Controlli")
    return ids


def shape(cli, task) -> list[tuple[str, str, int]]:
    return [
        (c["name"], i["text"], i["depth"])
        for c in view(cli, task, "--all")["checklists"]
        for i in c["items"]
    ]


def test_moves(cli, task, tree, store_path):
    move = lambda *args: ok(cli("checklist", "move", *map(str, args)))  # noqa: E731
    move(tree["c"], "--position", 1)
    move(tree["a1"], "--after", tree["a2"])
    move(tree["b"], "--under", tree["a21"])
    assert shape(cli, task) == [
        ("Documenti", "C", 0), ("Documenti", "A", 0), ("Documenti", "A2", 1),
        ("Documenti", "A21", 2), ("Documenti", "B", 3), ("Documenti", "A1", 1),
        ("Controlli", "X", 0),
    ]  # fmt: skip
    move(tree["a2"], "--list", "Controlli")  # with its sub-items
    move(tree["x"], "--before", tree["a2"])
    assert shape(cli, task) == [
        ("Documenti", "C", 0), ("Documenti", "A", 0), ("Documenti", "A1", 1),
        ("Controlli", "X", 0), ("Controlli", "A2", 0), ("Controlli", "A21", 1),
        ("Controlli", "B", 2),
    ]  # fmt: skip
    shown = data(cli("checklist", "show", str(tree["b"]), "--json"))
    assert shown["checklist"] == "Controlli"
    before = store_digest(store_path)
    for target in (tree["a2"], tree["b"]):  # itself, its own sub-item
        error = assert_one_line_error(
            cli("checklist", "move", str(tree["a2"]), "--under", str(target)), 5
        )
        assert "inside its own sub-items" in error
    assert_one_line_error(cli("checklist", "move", str(tree["a"]), "--under", "999999"), 6)
    assert_one_line_error(cli("checklist", "move", str(tree["a"])), 6)
    assert store_digest(store_path) == before
    assert "move_item" in [h["action"] for h in data(cli("task", "history", task, "--json"))]


def test_moving_an_open_item_under_a_done_one_reopens_it(cli, task, tree):
    ok(cli("checklist", "check", str(tree["a"])))
    ok(cli("checklist", "move", str(tree["c"]), "--under", str(tree["a2"])))
    done = {i["text"]: i["done"] for i in items(cli, task)}
    assert done["A"] is False and done["A2"] is False and done["A1"] is True


def test_group_actions_are_all_or_nothing(cli, task, tree, store_path):
    ids = [str(tree[k]) for k in ("a1", "b", "c")]
    before = store_digest(store_path)
    assert_one_line_error(cli("checklist", "check", *ids), 2, "confirmation needed")
    assert_one_line_error(cli("checklist", "check", *ids, "999999", "--yes"), 3)
    assert_one_line_error(cli("checklist", "important", *ids, "999999", "--yes"), 3)
    assert_one_line_error(cli("checklist", "remove", *ids, "999999", "--yes"), 3)
    assert_one_line_error(
        cli("checklist", "move", *ids, str(tree["a"]), "--under", str(tree["a21"]), "--yes"), 5
    )
    dry = ok(cli("checklist", "check", *ids, "--dry-run", "--json"))
    assert [r["id"] for r in json.loads(dry.stdout)] == [int(i) for i in ids]
    assert "Would check 3" in dry.stderr
    assert store_digest(store_path) == before
    ok(cli("checklist", "check", *ids, "--yes"))
    ok(cli("checklist", "important", *ids, "--yes"))
    shown = {i["id"]: i for i in items(cli, task)}
    assert all(shown[int(i)]["done"] and shown[int(i)]["important"] for i in ids)
    ok(cli("checklist", "uncheck", ids[0]))
    assert not {i["id"]: i for i in items(cli, task)}[int(ids[0])]["done"]
    removed = data(cli("checklist", "remove", str(tree["a"]), str(tree["a2"]), "--yes", "--json"))
    assert removed == [{"id": tree["a"], "text": "A", "sub_items": 3}]  # a2 went with a
    assert {i["text"] for i in items(cli, task)} == {"B", "C", "X"}


def test_hiding_completed_and_mine(cli, task, tree):
    ok(cli("checklist", "check", str(tree["a1"]), str(tree["b"])))
    shown = view(cli, task, "-l", "Documenti")["checklists"][0]
    assert [i["text"] for i in shown["items"]] == ["A", "A2", "A21", "C"]
    assert (shown["done"], shown["total"], shown["hidden"]) == (2, 6, 2)
    assert [i["text"] for i in view(cli, task, "--all", "-l", "Documenti")["checklists"][0]["items"]] == [
        "A", "A1", "A2", "A21", "B", "C"
    ]  # fmt: skip
    a = next(i for i in shown["items"] if i["text"] == "A")
    assert (a["done_count"], a["total_count"]) == (1, 3)
    ok(cli("checklist", "member", "add", str(tree["a2"]), HELPER))
    mine = view(cli, task, "--mine", "--all", as_user=HELPER)["checklists"]
    assert [i["text"] for i in mine[0]["items"]] == ["A", "A2", "A21"] and mine[1]["items"] == []
    table = ok(cli("checklist", "list", task)).stdout
    assert "Documenti  2/6  (2 not shown)" in table
    assert f"    [ ] {tree['a2']}  A2  (0/1; {HELPER})" in table


def test_access_comes_and_goes_with_items(cli, task, tree, store_path):
    audited = ("audit_log",)
    assert_one_line_error(cli("task", "show", task, as_user=OUTSIDER), 3)
    assert_one_line_error(cli("checklist", "list", task, as_user=OUTSIDER), 3)
    before = store_digest(store_path, ignore=audited)
    assert_one_line_error(
        cli("checklist", "check", str(tree["a1"]), as_user=OUTSIDER), 3, "not found"
    )
    assert store_digest(store_path, ignore=audited) == before
    ok(cli("checklist", "member", "add", str(tree["a2"]), OUTSIDER))
    ok(cli("checklist", "member", "add", str(tree["b"]), WATCHER, "--observer"))
    assert ok(cli("task", "show", task, as_user=OUTSIDER))
    assert int(task) in {t["id"] for t in data(cli("task", "list", "--json", as_user=OUTSIDER))}
    assert len(items(cli, task, as_user=OUTSIDER)) == 7  # the whole task, every list
    ok(cli("checklist", "check", str(tree["a21"]), as_user=OUTSIDER))  # under their item
    before = store_digest(store_path, ignore=audited)
    for who, target in ((OUTSIDER, "b"), (WATCHER, "b")):
        assert_one_line_error(cli("checklist", "check", str(tree[target]), as_user=who), 8)
    assert_one_line_error(
        cli("checklist", "add", task, "Nuovo", "-l", "Documenti", as_user=OUTSIDER), 8
    )
    assert_one_line_error(
        cli("checklist", "edit", str(tree["a2"]), "--text", "x", as_user=OUTSIDER), 8
    )
    assert store_digest(store_path, ignore=audited) == before
    ok(cli("checklist", "member", "remove", str(tree["a2"]), OUTSIDER))
    assert_one_line_error(cli("task", "show", task, as_user=OUTSIDER), 3)
    assert_one_line_error(cli("checklist", "check", str(tree["a2"]), as_user=OUTSIDER), 3)
    assert int(task) not in {t["id"] for t in data(cli("task", "list", "--json", as_user=OUTSIDER))}
    ok(cli("checklist", "check", str(tree["x"]), as_user=DOER))  # the responsible


def test_a_task_with_open_items_is_not_completed(cli, people, store_path):
    task = str(one(cli, "Bilancio", "-r", DOER)["id"])
    ids = [item(cli, task, f"Voce {n}") for n in range(7)]
    before = store_digest(store_path)
    error = assert_one_line_error(cli("task", "done", task, as_user=DOER), 5)
    assert f"task {task} has 7 open checklist items: {ids[0]} Voce 0, {ids[1]} Voce 1" in error
    assert f"{ids[4]} Voce 4; and 2 more" in error and str(ids[5]) + " " not in error
    assert store_digest(store_path) == before and status(cli, task) == "pending"
    ok(cli("checklist", "check", *map(str, ids[:6]), "--yes"))
    error = assert_one_line_error(cli("task", "done", task, as_user=DOER), 5)
    assert f"has 1 open checklist item: {ids[6]} Voce 6." in error
    ok(cli("checklist", "check", str(ids[6])))
    ok(cli("task", "done", task, as_user=DOER))
    assert status(cli, task) == "completed"


def test_approval_also_waits_for_the_checklist(cli, people, store_path):
    task = str(one(cli, "Dichiarazione", "-r", DOER, "--approval")["id"])
    first = item(cli, task, "Firma")
    assert_one_line_error(cli("task", "done", task, as_user=DOER), 5)  # not even sent for approval
    ok(cli("checklist", "check", str(first), as_user=DOER))
    ok(cli("task", "done", task, as_user=DOER))
    assert status(cli, task) == "awaiting_approval"
    item(cli, task, "Ricevuta")  # added while it waits
    before = store_digest(store_path)
    assert_one_line_error(cli("task", "approve", task, as_user=CREATOR), 5, "1 open checklist item")
    assert store_digest(store_path) == before and status(cli, task) == "awaiting_approval"


def test_attachments_round_trip(cli, task, tree, tmp_path, store_path, db):
    payload = bytes(range(256)) * 1024 + os.urandom(4096)
    source = tmp_path / "ricevuta F24.pdf"
    source.write_bytes(payload)
    added = data(cli("checklist", "file", "add", str(tree["a1"]), str(source), "--json"))
    assert added["size"] == len(payload)
    ok(cli("checklist", "file", "add", str(tree["b"]), str(source), "--name", "copia.pdf"))
    assert db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 1  # stored once
    assert_one_line_error(cli("checklist", "file", "add", str(tree["a1"]), str(source)), 4)
    ok(cli("checklist", "check", str(tree["a1"])))
    out = tmp_path / "back.pdf"
    ok(cli("checklist", "file", "get", str(tree["a1"]), "ricevuta F24.pdf", "-o", str(out)))
    assert out.read_bytes() == payload and (out.stat().st_mode & 0o777) == 0o600
    assert_one_line_error(
        cli("checklist", "file", "get", str(tree["a1"]), "ricevuta F24.pdf", "-o", str(out)), 4
    )
    shown = data(cli("checklist", "show", str(tree["a1"]), "--json"))
    assert [f["name"] for f in shown["files"]] == ["ricevuta F24.pdf"] and shown["done"]
    ok(cli("checklist", "file", "remove", str(tree["b"]), "copia.pdf"))
    assert db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 1  # a1 still uses it
    ok(cli("checklist", "remove", str(tree["a"]), "--yes"))
    assert db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 0


def test_a_file_over_the_limit_is_refused(cli, task, tree, tmp_path, store_path):
    ok(cli("config", "set", "checklist.max_attachment_mb", "1", as_user=ADMIN_EMAIL))
    big = tmp_path / "scansione.pdf"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    before = store_digest(store_path)
    error = assert_one_line_error(cli("checklist", "file", "add", str(tree["a"]), str(big)), 5)
    assert "scansione.pdf is 1.0 MB, over the limit of 1 MB" in error
    assert_one_line_error(
        cli("checklist", "file", "add", str(tree["a"]), str(tmp_path / "none")), 6
    )
    assert_one_line_error(cli("checklist", "file", "get", str(tree["a"]), "none.pdf"), 3)
    assert store_digest(store_path) == before


def test_items_from_the_description(cli, people):
    description = (
        "Da fare per la chiusura:\n"
        "- Raccogliere fatture\n"
        "  - di acquisto\n"
        "  - di vendita\n"
        "1. Riconciliare la banca\n"
        "2) [ ] Inviare F24\n"
    )
    task = str(one(cli, "Chiusura", "--description", description)["id"])
    made = data(cli("checklist", "from-description", task, "--json"))
    assert [m["text"] for m in made] == [
        "Raccogliere fatture", "di acquisto", "di vendita", "Riconciliare la banca", "Inviare F24"
    ]  # fmt: skip
    assert [i["depth"] for i in items(cli, task)] == [0, 1, 1, 0, 0]
    assert data(cli("checklist", "from-description", task, "--json")) == []  # nothing new
    empty = str(one(cli, "Vuoto")["id"])
    assert_one_line_error(cli("checklist", "from-description", empty), 6, "description")


def test_templates_carry_checklists(cli, task, tree):
    ok(cli("checklist", "check", str(tree["a"])))
    ok(cli("checklist", "important", str(tree["b"])))
    ok(cli("task", "template", "add", "chiusura", "--from-task", task, as_user=CREATOR))
    template = data(cli("task", "template", "show", "chiusura", "--json", as_user=CREATOR))
    assert template["checklists"] == [
        {"name": "Documenti", "items": 6},
        {"name": "Controlli", "items": 1},
    ]
    ok(
        cli(
            "task",
            "recur",
            "set",
            "chiusura",
            "--freq",
            "daily",
            "--start",
            "today",
            as_user=CREATOR,
        )
    )
    ok(cli("task", "recur", "run", as_user=CREATOR))
    instance = max(t["id"] for t in data(cli("task", "list", "--json", as_user=CREATOR)))
    assert instance != int(task)
    assert shape(cli, str(instance)) == shape(cli, task)
    copied = items(cli, str(instance))
    assert not any(i["done"] for i in copied)  # a fresh copy: everything open
    assert [i["important"] for i in copied] == [i["important"] for i in items(cli, task)]


def test_edit_show_and_history(cli, task, tree):
    ok(cli("checklist", "edit", str(tree["a"]), "--text", "  Archivio   documenti "))
    shown = data(cli("checklist", "show", str(tree["a"]), "--json"))
    assert shown["text"] == "Archivio documenti" and shown["sub_items"] == 3
    assert_one_line_error(cli("checklist", "edit", str(tree["a"]), "--text", " "), 6)
    history = data(cli("task", "history", task, "--json"))
    edit = next(h for h in history if h["action"] == "edit_item")
    assert (edit["old"], edit["new"]) == ("A", "Archivio documenti")


def test_a_completed_task_gains_no_open_item(cli, store_path):
    """After `task done`, adding an item or unchecking one would leave a completed
    task with open items: refused (5) with the way out, nothing written."""
    task = str(ok(cli("task", "add", "F24", "--json"), json=True)[0]["id"])
    item = str(ok(cli("checklist", "add", task, "Ricevuta", "--json"), json=True)["id"])
    ok(cli("checklist", "check", item))
    ok(cli("task", "done", task))
    before = store_digest(store_path)
    for args in (["checklist", "add", task, "Altro"], ["checklist", "uncheck", item]):
        assert_one_line_error(cli(*args), 5, "completed", f"sempi task reopen {task}")
    assert store_digest(store_path) == before
    ok(cli("task", "reopen", task))
    ok(cli("checklist", "uncheck", item))
    ok(cli("checklist", "add", task, "Altro"))
