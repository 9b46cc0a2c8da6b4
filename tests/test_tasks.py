"""`sempi task`: creation, roles, transitions, approval, filters, history, access."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import ADMIN_EMAIL, store_digest
from tests.helpers import (
    CREATOR,
    DOER,
    EXTERNAL,
    HELPER,
    OPERATOR,
    OUTSIDER,
    WATCHER,
    add,
    assert_one_line_error,
    ok,
    one,
    status,
)


def test_add_sets_every_field(cli, people):
    task = one(
        cli,
        "Liquidazione IVA marzo",
        "-r",
        DOER,
        "--participant",
        HELPER,
        "--observer",
        WATCHER,
        "--high",
        "-d",
        "16/04/2026",
        "--planned",
        "1h30m",
        "-c",
        str(people["client"]),
        "--project",
        "IVA 2026",
        "-t",
        "iva",
        "-t",
        "F24",
        "--approval",
        "--fixed-deadline",
        "--description",
        "Controllare i crediti",
    )
    assert task["responsible"] == DOER and task["creator"] == CREATOR
    assert task["participants"] == [HELPER] and task["observers"] == [WATCHER]
    assert task["deadline"] == "2026-04-16T18:00+02:00"  # a date means the end of the office day
    assert task["planned_minutes"] == 90 and task["high_priority"] and task["approval_required"]
    assert task["responsible_sets_deadline"] is False
    assert (
        task["tags"] == ["f24", "iva"]
        and task["client"] == "Alfa Srl"
        and task["status"] == "pending"
    )
    assert task["kind"] == "extraordinary" and task["time_tracking"] is False


def test_ordinary_tasks_track_time_by_default(cli, people):
    assert one(cli, "LIPE Q1", "-r", DOER, "--kind", "ordinary")["time_tracking"] is True


def test_several_responsibles_make_one_task_each(cli, people):
    tasks = add(cli, "Richiesta estratti conto", "-r", DOER, "-r", HELPER, "-d", "+3d")
    assert [t["responsible"] for t in tasks] == [DOER, HELPER]
    assert len({t["id"] for t in tasks}) == 2 and tasks[0]["deadline"] == tasks[1]["deadline"]
    plain = cli("task", "add", "Verifica", "-r", DOER, "-r", HELPER, as_user=CREATOR)
    assert plain.stdout.split() == [
        str(tasks[1]["id"] + 1),
        str(tasks[1]["id"] + 2),
    ]  # all ids, one a line


def test_default_responsible_is_the_creator(cli, people):
    assert one(cli, "Promemoria")["responsible"] == CREATOR


BAD_ADD = [
    (["   "], 6, "--title"),
    (["Titolo", "-r", "ghost@sempi.test"], 6, "--responsible"),
    (["Titolo", "-r", EXTERNAL], 6, "external"),
    (["Titolo", "-d", "the day after"], 6, "--deadline"),
    (["Titolo", "-d", "31/02/2026"], 6, "--deadline"),
    (["Titolo", "--planned", "forever"], 6, "--planned"),
    # A client or parent the actor cannot see is "not found" (3), as for any unseen row.
    (["Titolo", "-c", "999"], 3, "client 999 not found"),
    (["Titolo", "--parent", "999"], 3, "task 999 not found"),
    (["Titolo", "--kind", "weird"], 6, "--kind"),
    (["Titolo", "-t", "two words"], 6, "--tag"),
]


@pytest.mark.parametrize(("args", "code", "names"), BAD_ADD)
def test_bad_add_changes_nothing(cli, people, store_path, args, code, names):
    before = store_digest(store_path)
    assert_one_line_error(cli("task", "add", *args, as_user=CREATOR), code, names)
    assert store_digest(store_path) == before


# --- transitions -----------------------------------------------------------------------

LEGAL = [
    ("pending", "start", "in_progress"),
    ("pending", "done", "completed"),
    ("pending", "defer", "deferred"),
    ("in_progress", "done", "completed"),
    ("in_progress", "defer", "deferred"),
    ("deferred", "start", "in_progress"),
    ("deferred", "reopen", "pending"),
    ("completed", "reopen", "pending"),
]
PATH_TO = {"pending": [], "in_progress": ["start"], "deferred": ["defer"], "completed": ["done"]}


@pytest.mark.parametrize(("source", "verb", "target"), LEGAL)
def test_legal_transitions(cli, people, source, verb, target):
    task_id = str(one(cli, "T", "-r", DOER)["id"])
    for step in PATH_TO[source]:
        assert cli("task", step, task_id, as_user=DOER).exit_code == 0
    result = cli("task", verb, task_id, "--json", as_user=DOER)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"id": int(task_id), "old_status": source, "status": target}
    ]
    history = json.loads(cli("task", "history", task_id, "--json", as_user=DOER).stdout)
    assert history[-1]["action"] in (verb, "reopen") or history[-2]["action"] == verb


ILLEGAL = [
    ("pending", "approve", "start, done, defer"),
    ("pending", "reopen", "start, done, defer"),
    ("in_progress", "start", "done, defer"),
    ("completed", "done", "reopen"),
    ("completed", "start", "reopen"),
    ("completed", "defer", "reopen"),
    ("deferred", "done", "start, reopen"),
]


@pytest.mark.parametrize(("source", "verb", "allowed"), ILLEGAL)
def test_illegal_transitions_say_what_is_allowed(cli, people, store_path, source, verb, allowed):
    task_id = str(one(cli, "T", "-r", DOER)["id"])
    for step in PATH_TO[source]:
        cli("task", step, task_id, as_user=DOER)
    before = store_digest(store_path)
    line = assert_one_line_error(cli("task", verb, task_id, as_user=CREATOR), 5)
    assert f"you can: {allowed}" in line
    assert store_digest(store_path) == before


def test_approval_flow(cli, people):
    task_id = str(one(cli, "Dichiarazione IVA", "-r", DOER, "--approval")["id"])
    cli("task", "start", task_id, as_user=DOER)
    assert cli("task", "done", task_id, as_user=DOER).exit_code == 0
    assert status(cli, task_id) == "awaiting_approval"
    # only the creator approves or returns
    assert_one_line_error(cli("task", "approve", task_id, as_user=DOER), 8, "only the creator")
    assert_one_line_error(cli("task", "approve", task_id, as_user=ADMIN_EMAIL), 8)
    no_reason = cli("task", "return", task_id, as_user=CREATOR)
    assert no_reason.exit_code == 2  # --reason is required
    assert_one_line_error(cli("task", "return", task_id, "--reason", "  ", as_user=CREATOR), 6)
    returned = cli("task", "return", task_id, "--reason", "Manca la ricevuta", as_user=CREATOR)
    assert returned.exit_code == 0 and status(cli, task_id) == "in_progress"
    shown = json.loads(cli("task", "show", task_id, "--json", as_user=CREATOR).stdout)
    assert shown["return_count"] == 1
    history = json.loads(cli("task", "history", task_id, "--json", as_user=CREATOR).stdout)
    assert {"action": "reason", "new": "Manca la ricevuta"}.items() <= history[-1].items()
    cli("task", "done", task_id, as_user=DOER)
    assert cli("task", "approve", task_id, as_user=CREATOR).exit_code == 0
    assert status(cli, task_id) == "completed"


def test_creator_who_is_responsible_completes_directly(cli, people):
    task_id = str(one(cli, "Da solo", "--approval")["id"])
    cli("task", "done", task_id, as_user=CREATOR)
    assert status(cli, task_id) == "completed"


def test_state_changes_are_all_or_nothing(cli, people, store_path):
    first = str(one(cli, "A", "-r", DOER)["id"])
    done = str(one(cli, "B", "-r", DOER)["id"])
    cli("task", "done", done, as_user=DOER)
    before = store_digest(store_path)
    assert_one_line_error(cli("task", "start", first, done, as_user=DOER), 5)
    assert store_digest(store_path) == before and status(cli, first) == "pending"


def test_three_or_more_ask_for_confirmation(cli, people, store_path):
    ids = [str(one(cli, f"T{n}", "-r", DOER)["id"]) for n in range(3)]
    before = store_digest(store_path)
    refused = cli("task", "start", *ids, as_user=DOER)
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    dry = cli("task", "start", *ids, "--dry-run", "--json", as_user=DOER)
    assert (
        dry.exit_code == 0 and [r["status"] for r in json.loads(dry.stdout)] == ["in_progress"] * 3
    )
    assert store_digest(store_path) == before
    assert cli("task", "start", *ids, "--yes", as_user=DOER).exit_code == 0
    assert {status(cli, i) for i in ids} == {"in_progress"}


# --- editing ------------------------------------------------------------------------------


def test_edit_records_old_and_new_in_history(cli, people):
    task_id = str(one(cli, "Bilancio", "-r", DOER, "-d", "2026-12-01")["id"])
    result = cli(
        "task",
        "edit",
        task_id,
        "--title",
        "Bilancio 2026",
        "--deadline",
        "2026-12-15 12:00",
        "--high",
        "-t",
        "bilancio",
        "--add-observer",
        WATCHER,
        "--json",
        as_user=DOER,
    )
    assert result.exit_code == 0, result.stderr
    history = json.loads(cli("task", "history", task_id, "--json", as_user=DOER).stdout)
    by_field = {h["field"]: h for h in history if h["field"]}
    assert by_field["title"]["old"] == "Bilancio" and by_field["title"]["new"] == "Bilancio 2026"
    assert by_field["deadline"]["new"] == "2026-12-15T11:00:00+00:00"
    assert by_field["tags"]["new"] == "bilancio" and all(h["actor"] == DOER for h in history[1:])
    assert json.loads(cli("task", "show", task_id, "--json", as_user=DOER).stdout)["observers"] == [
        WATCHER
    ]


def test_fixed_deadline_only_the_creator_moves_it(cli, people, store_path):
    task_id = str(one(cli, "F24", "-r", DOER, "-d", "+5d", "--fixed-deadline")["id"])
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(cli("task", "edit", task_id, "-d", "+9d", as_user=DOER), 8)
    assert store_digest(store_path, ignore=("audit_log",)) == before  # only the refusal is logged
    assert cli("task", "edit", task_id, "-d", "+9d", as_user=CREATOR).exit_code == 0
    assert cli("task", "edit", task_id, "--title", "F24 ritenute", as_user=DOER).exit_code == 0


def test_parents_and_cycles(cli, people, store_path):
    top = str(one(cli, "Chiusura annuale")["id"])
    mid = str(one(cli, "Inventario", "--parent", top)["id"])
    low = str(one(cli, "Conteggio magazzino", "--parent", mid)["id"])
    shown = json.loads(cli("task", "show", top, "--json", as_user=CREATOR).stdout)
    assert [s["id"] for s in shown["subtasks"]] == [int(mid)]
    before = store_digest(store_path)
    assert_one_line_error(cli("task", "edit", top, "--parent", low, as_user=CREATOR), 5, "cycle")
    assert_one_line_error(cli("task", "edit", top, "--parent", top, as_user=CREATOR), 5)
    assert store_digest(store_path) == before


def test_edit_needs_something_to_change(cli, people):
    task_id = str(one(cli, "X")["id"])
    assert_one_line_error(cli("task", "edit", task_id, as_user=CREATOR), 6)
    assert_one_line_error(cli("task", "edit", task_id, "--title", "", as_user=CREATOR), 6)


def test_remove_is_soft_and_confirmed(cli, people):
    task_id = str(one(cli, "Da togliere")["id"])
    assert cli("task", "remove", task_id, as_user=CREATOR).exit_code == 2  # no terminal, no --yes
    assert_one_line_error(
        cli("task", "remove", task_id, "--yes", as_user=DOER), 3
    )  # DOER cannot see it
    assert cli("task", "remove", task_id, "--yes", as_user=CREATOR).exit_code == 0
    assert_one_line_error(cli("task", "show", task_id, as_user=CREATOR), 3)


# --- roles and access ----------------------------------------------------------------------


@pytest.fixture
def shared_task(cli, people):
    return str(
        one(
            cli,
            "Condiviso",
            "-r",
            DOER,
            "--participant",
            HELPER,
            "--observer",
            WATCHER,
            "-c",
            str(people["client"]),
        )["id"]
    )


@pytest.mark.parametrize(
    ("who", "sees", "changes"),
    [
        (CREATOR, True, True),
        (DOER, True, True),
        (HELPER, True, False),
        (WATCHER, True, False),
        (OPERATOR, True, False),
        (EXTERNAL, True, False),
        (OUTSIDER, False, False),
        (ADMIN_EMAIL, True, True),
    ],
)
def test_who_sees_and_changes_a_task(cli, shared_task, who, sees, changes):
    show = cli("task", "show", shared_task, as_user=who)
    assert show.exit_code == (0 if sees else 3)
    listed = {t["id"] for t in json.loads(cli("task", "list", "--json", as_user=who).stdout)}
    assert (int(shared_task) in listed) == sees
    comment = cli("task", "comment", shared_task, "Visto", as_user=who)
    assert comment.exit_code == (0 if sees else 3)
    edit = cli("task", "edit", shared_task, "--title", f"by {who}", as_user=who)
    assert edit.exit_code == (0 if changes else (8 if sees else 3)), (who, edit.stderr)
    start = cli("task", "start", shared_task, as_user=who)
    assert start.exit_code in ((0, 5) if changes else ((8,) if sees else (3,))), (who, start.stderr)
    history = cli("task", "history", shared_task, as_user=who)
    assert history.exit_code == (0 if sees else 3)


def test_externals_see_only_their_clients_tasks(cli, people):
    one(cli, "Altro cliente", "-c", str(people["other_client"]))
    one(cli, "Senza cliente")
    one(cli, "Del cliente", "-c", str(people["client"]))
    titles = {
        t["title"] for t in json.loads(cli("task", "list", "--json", as_user=EXTERNAL).stdout)
    }
    assert titles == {"Del cliente"}
    assert_one_line_error(cli("task", "add", "Interno", as_user=EXTERNAL), 8)
    assert (
        cli(
            "task", "add", "Richiesta", "-c", str(people["client"]), "-r", CREATOR, as_user=EXTERNAL
        ).exit_code
        == 0
    )


def test_removing_a_member_takes_the_task_away(cli, shared_task):
    assert cli("task", "show", shared_task, as_user=HELPER).exit_code == 0
    cli("task", "edit", shared_task, "--remove-participant", HELPER, as_user=CREATOR)
    assert_one_line_error(cli("task", "show", shared_task, as_user=HELPER), 3)


# --- lists and filters ------------------------------------------------------------------------


@pytest.fixture
def board(cli, people, clock):
    """Tasks around 'now' (Monday 16 Nov 2026, 10:30 Rome)."""
    c = str(people["client"])
    ids = {
        "overdue": one(cli, "Scaduta", "-r", DOER, "-d", "2026-11-10", "-t", "iva")["id"],
        "today": one(cli, "Oggi", "-r", DOER, "-d", "today", "--high")["id"],
        "week": one(cli, "Settimana", "-r", DOER, "-d", "friday", "-c", c)["id"],
        "later": one(cli, "Dopo", "-r", HELPER, "-d", "+30d", "--kind", "ordinary", "-t", "iva")[
            "id"
        ],
        "mine_created": one(
            cli, "Per approvazione", "-r", DOER, "--approval", "--observer", WATCHER
        )["id"],
        "nodate": one(cli, "Senza data", "-r", HELPER, "--participant", DOER)["id"],
    }
    cli("task", "done", str(ids["mine_created"]), as_user=DOER)
    return ids


def titles(cli, *args, as_user=DOER):
    result = cli("task", "list", *args, "--json", as_user=as_user)
    assert result.exit_code == 0, result.stderr
    return [t["title"] for t in json.loads(result.stdout)]


def test_filters(cli, board, people):
    assert titles(cli, "--mine") == ["Scaduta", "Oggi", "Settimana", "Per approvazione"]
    assert titles(cli, "--mine", "--overdue") == ["Scaduta"]
    assert titles(cli, "--today") == ["Oggi"]
    assert titles(cli, "--mine", "--week") == ["Oggi", "Settimana"]
    assert titles(cli, "--high") == ["Oggi"]
    assert titles(cli, "--tag", "iva", as_user=CREATOR) == ["Scaduta", "Dopo"]
    assert titles(cli, "--kind", "ordinary", as_user=CREATOR) == ["Dopo"]
    assert titles(cli, "--client", str(people["client"])) == ["Settimana"]
    assert titles(cli, "--studio", "Studio Rossi", as_user=CREATOR) == ["Settimana"]
    assert titles(cli, "--participating") == ["Senza data"]
    assert titles(cli, "--observing", as_user=WATCHER) == ["Per approvazione"]
    assert titles(cli, "--created", "--awaiting-approval", as_user=CREATOR) == ["Per approvazione"]
    assert titles(cli, "--status", "awaiting_approval") == ["Per approvazione"]
    assert titles(cli, "--search", "approv") == ["Per approvazione"]
    assert titles(cli, "--due-before", "2026-11-16") == ["Scaduta"]
    assert titles(cli, "--due-by", "2026-11-16") == ["Scaduta", "Oggi"]
    assert titles(cli, "--mine", "--sort", "priority", "--limit", "1") == ["Oggi"]
    assert titles(cli, "--mine", "--sort", "title") == [
        "Oggi",
        "Per approvazione",
        "Scaduta",
        "Settimana",
    ]
    assert_one_line_error(cli("task", "list", "--status", "done", as_user=DOER), 6)
    assert_one_line_error(cli("task", "list", "--sort", "colour", as_user=DOER), 6)
    assert_one_line_error(cli("task", "list", "--due-by", "someday", as_user=DOER), 6)


def test_overdue_is_computed_from_the_clock(cli, board, clock):
    assert titles(cli, "--mine", "--overdue") == ["Scaduta"]
    clock.advance(timedelta(days=1))
    assert titles(cli, "--mine", "--overdue") == ["Scaduta", "Oggi"]


def test_due_view(cli, board):
    due = json.loads(cli("task", "due", "--json", as_user=DOER).stdout)
    assert [t["title"] for t in due["overdue"]] == ["Scaduta"]
    assert [t["title"] for t in due["today"]] == ["Oggi"]
    assert [t["title"] for t in due["this_week"]] == ["Settimana"]
    assert due["awaiting_my_approval"] == []
    mine = json.loads(cli("task", "due", "--json", as_user=CREATOR).stdout)
    assert [t["title"] for t in mine["awaiting_my_approval"]] == ["Per approvazione"]
    table = cli("task", "due", as_user=DOER).stdout
    assert "Overdue (1)" in table and "Scaduta" in table


def test_show_counts_comments(cli, shared_task):
    cli("task", "comment", shared_task, "Primo", as_user=WATCHER)
    cli("task", "comment", shared_task, "Secondo", as_user=HELPER)
    shown = json.loads(cli("task", "show", shared_task, "--json", as_user=DOER).stdout)
    assert shown["comments"] == 2
    comments = json.loads(cli("task", "comments", shared_task, "--json", as_user=DOER).stdout)
    assert [(c["author"], c["body"]) for c in comments] == [(WATCHER, "Primo"), (HELPER, "Secondo")]
    assert_one_line_error(cli("task", "comment", shared_task, "  ", as_user=DOER), 6)


def test_list_shows_open_tasks_unless_asked_for_all(cli, people):
    open_id = one(cli, "Aperto", "-r", DOER)["id"]
    done_id = one(cli, "Chiuso", "-r", DOER)["id"]
    cli("task", "done", str(done_id), as_user=DOER)
    assert titles(cli, "--mine") == ["Aperto"]
    assert set(titles(cli, "--mine", "--all")) == {"Aperto", "Chiuso"}
    assert titles(cli, "--mine", "--status", "completed") == ["Chiuso"]
    assert open_id != done_id


# --- control characters are refused where text comes in ----------------------------------

OSC52 = "\x1b]52;c;ZXZpbA==\x07"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["task", "add", f"F24 {OSC52}"], "--title"),
        (["task", "add", "F24", "--description", f"riga\n{OSC52}"], "--description"),
        (["task", "add", "F24", "--description", "sovrascritto\rvisibile"], "--description"),
        (["task", "template", "add", "tpl", "--title", f"F24{OSC52}"], "--title"),
    ],
)
def test_control_characters_are_refused_on_the_way_in(cli, store_path, args, field):
    before = store_digest(store_path)
    line = assert_one_line_error(cli(*args), 6, field, "control character")
    assert "\x1b" not in line
    assert store_digest(store_path) == before


def test_control_characters_are_refused_in_edits_comments_and_checklists(cli, store_path):
    task_id = str(ok(cli("task", "add", "F24", "--json"), json=True)[0]["id"])
    item = str(ok(cli("checklist", "add", task_id, "Controllo", "--json"), json=True)["id"])
    before = store_digest(store_path)
    for args, field in (
        (["task", "edit", task_id, "--title", f"x{OSC52}"], "--title"),
        (["task", "edit", task_id, "--description", f"x{OSC52}"], "--description"),
        (["task", "comment", task_id, f"ok {OSC52}"], "TEXT"),
        (["checklist", "add", task_id, f"Voce {OSC52}"], "TEXT"),
        (["checklist", "edit", item, "--text", f"Voce {OSC52}"], "--text"),
    ):
        assert_one_line_error(cli(*args), 6, field, "control character")
    assert store_digest(store_path) == before
    # Line breaks and tabs stay welcome in long text.
    ok(cli("task", "comment", task_id, "prima riga\n\tseconda riga"))
    ok(cli("task", "edit", task_id, "--description", "a\nb\tc"))


def test_a_client_you_cannot_see_is_not_found_whether_or_not_it_exists(cli, people):
    other = str(people["other_client"])  # Beta: OPERATOR is not in its work group
    hidden = assert_one_line_error(cli("task", "add", "X", "-c", other, as_user=OPERATOR), 3)
    missing = assert_one_line_error(cli("task", "add", "X", "-c", "9999", as_user=OPERATOR), 3)
    assert hidden.replace(other, "N") == missing.replace("9999", "N")


def test_a_subtask_belongs_to_its_parents_client(cli, people, store_path):
    alfa, beta = str(people["client"]), str(people["other_client"])
    top = str(one(cli, "Bilancio", "-c", alfa)["id"])
    sub = one(cli, "Inventario", "--parent", top)
    assert sub["client_id"] == people["client"]  # inherited
    before = store_digest(store_path)
    line = assert_one_line_error(
        cli("task", "add", "Y", "--parent", top, "-c", beta), 6, "--client"
    )
    assert "parent's client" in line
    assert store_digest(store_path) == before
    # The practice's operator in Alfa's group sees the subtask with its parent.
    seen = {t["id"] for t in add_list(cli, "--all", as_user=OPERATOR)}
    assert {int(top), sub["id"]} <= seen
    # A subtask cannot be moved to another client on its own...
    assert_one_line_error(cli("task", "edit", str(sub["id"]), "--client", beta), 6, "--client")
    # ...but follows its parent, at any depth.
    low = one(cli, "Conteggio", "--parent", str(sub["id"]))
    ok(cli("task", "edit", top, "--client", beta))
    for task_id in (sub["id"], low["id"]):
        shown = ok(cli("task", "show", str(task_id), "--json"), json=True)
        assert shown["client_id"] == people["other_client"]


def add_list(cli, *args, as_user=CREATOR):
    return ok(cli("task", "list", *args, "--json", as_user=as_user), json=True)


def test_a_supervisor_asks_what_a_colleague_has_due_in_a_range(cli, people, clock):
    """'What does DOER have due from 1 to 15 December', by creator, by project, by
    client and practice together: the filters a manager uses."""
    alfa = str(people["client"])
    due = {
        "prima": "01/12/2026 09:00",
        "metà": "15/12/2026 23:30",  # the whole last day counts
        "dopo": "16/12/2026 00:10",
        "prima ancora": "30/11/2026 23:59",
    }
    ids = {
        title: one(cli, title, "-r", DOER, "-d", when, "--project", "Chiusura 2026", "-c", alfa)[
            "id"
        ]
        for title, when in due.items()
    }
    other = one(cli, "Altro", "-r", HELPER, "-d", "05/12/2026")["id"]

    def listed(*args, as_user=CREATOR):
        return {
            t["id"] for t in ok(cli("task", "list", "--json", *args, as_user=as_user), json=True)
        }

    window = ("--due-from", "01/12/2026", "--due-to", "15/12/2026")
    assert listed("--responsible", DOER, *window) == {ids["prima"], ids["metà"]}
    assert listed(*window) == {ids["prima"], ids["metà"], other}
    assert listed("--creator", CREATOR, "--responsible", HELPER) == {other}
    assert listed("--project", "Chiusura 2026", "--due-from", "16/12/2026") == {ids["dopo"]}
    assert listed("--client", alfa, "--studio", "Studio Rossi", "--due-to", "30/11/2026") == {
        ids["prima ancora"]
    }
    assert_one_line_error(
        cli("task", "list", "--responsible", "ghost@sempi.test"), 6, "--responsible"
    )
    assert_one_line_error(
        cli("task", "list", "--due-from", "15/12/2026", "--due-to", "01/12/2026"), 6, "--due-to"
    )
    for option, day in (("--due-to", "31/12/9999"), ("--due-from", "01/01/0001")):
        # the calendar's edges: out of range (6), not an internal error (found by fuzzing)
        assert_one_line_error(cli("task", "list", option, day), 6, option, "out of range")


def test_times_read_as_typed_and_people_by_name(cli, people):
    """A deadline typed as 31/10/2027 12:00 is confirmed so, in Rome time, not as
    2027-10-31T11:00:00+00:00; history shows Rome times and e-mails, not user ids;
    JSON keeps ISO 8601 with its offset."""
    task = str(one(cli, "Bilancio", "-r", DOER)["id"])
    edited = ok(cli("task", "edit", task, "-d", "31/10/2027 12:00", "-r", HELPER))
    assert "31/10/2027 12:00" in edited.stdout and "2027-10-31T" not in edited.stdout
    table = ok(cli("task", "history", task)).stdout
    assert "31/10/2027 12:00" in table and "+00:00" not in table
    line = next(row for row in table.splitlines() if "responsible_id" in row)
    assert DOER in line and HELPER in line
    history = ok(cli("task", "history", task, "--json"), json=True)
    change = next(h for h in history if h["field"] == "deadline")
    assert change["new"] == "2027-10-31T11:00:00+00:00"
    shown = ok(cli("task", "show", task, "--json"), json=True)
    assert shown["deadline"] == "2027-10-31T12:00+01:00"


# --- a write that met another's (PostgreSQL's scoped writes, store/transaction.py) ------


def _crossing(monkeypatch, task_id: int, times: int) -> list[int]:
    """TaskFlow.change meets another writer ``times`` times (it has written something
    by then), then runs as it is; the attempts, counted."""
    from sempi_cli.services.tasks.flow import TaskFlow
    from sempi_cli.store.constants import WriteConflict

    real, attempts = TaskFlow.change, []

    def change(self, *args, **kwargs):
        attempts.append(1)
        if len(attempts) <= times:
            with self.transaction(scope=("task", [task_id])):
                self.db.execute("UPDATE tasks SET title = 'half done' WHERE id = ?", (task_id,))
                raise WriteConflict("database is locked (could not serialize access)")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(TaskFlow, "change", change)
    return attempts


def test_a_write_that_met_another_runs_again_whole_and_says_it_once(cli, people, monkeypatch):
    task = one(cli, "Bilancio 2026", "-r", DOER)
    attempts = _crossing(monkeypatch, task["id"], times=2)
    done = ok(cli("task", "done", str(task["id"]), as_user=DOER))
    assert len(attempts) == 3
    assert done.stdout.splitlines()[2:] == [f"{task['id']}     pending       completed"]
    assert done.stderr == ""  # the attempts that met another are not the user's business
    shown = json.loads(cli("task", "show", str(task["id"]), "--json").stdout)
    assert (shown["status"], shown["title"]) == ("completed", "Bilancio 2026")


def test_a_write_that_keeps_meeting_others_is_exit_9_and_leaves_nothing(
    cli, people, monkeypatch, store
):
    from sempi_cli.cli.app import COMMAND_ATTEMPTS

    task = one(cli, "Bilancio 2026", "-r", DOER)
    attempts = _crossing(monkeypatch, task["id"], times=99)
    refused = cli("task", "done", str(task["id"]), as_user=DOER)
    assert_one_line_error(refused, 9, "other users changed the same data at the same time")
    assert len(attempts) == COMMAND_ATTEMPTS
    shown = json.loads(cli("task", "show", str(task["id"]), "--json").stdout)
    assert (shown["status"], shown["title"]) == ("pending", "Bilancio 2026")


def test_a_bulk_transition_run_again_asks_its_question_once(cli, people, monkeypatch):
    """The write comes after the question: the attempt that runs again has its yes."""
    from sempi_cli.cli.context import AppContext
    from sempi_cli.services.tasks.tasks import CONFIRM_FROM

    monkeypatch.setattr(AppContext, "interactive", property(lambda self: not self.no_input))
    ids = [str(one(cli, f"Pratica {n}", "-r", DOER)["id"]) for n in range(CONFIRM_FROM)]
    attempts = _crossing(monkeypatch, int(ids[0]), times=1)
    done = ok(cli("task", "done", *ids, as_user=DOER, input="y\n"))
    assert len(attempts) == 2
    assert done.stderr.count(f"Done {CONFIRM_FROM} tasks?") == 1
    assert done.stdout.count("completed") == CONFIRM_FROM
