"""`sempi task template` and `sempi task recur`: templates, rules, and cron-safe runs."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, json_at_once, piva, store_digest
from tests.helpers import SEMPI, assert_one_line_error, data, ok

STAFF = "marco@sempi.test"
OTHER_STAFF = "lea@sempi.test"
OPERATOR = "olga@rossi.test"
OPERATOR_PASSWORD = "operator-password-for-tests"


@pytest.fixture
def world(cli):
    studio = data(
        cli("studio", "add", "--name", "Studio Rossi", "--partita-iva", piva(900), "--json")
    )
    ok(cli("user", "add", "--email", STAFF, "--name", "Marco Verdi", "--role", "staff"))
    ok(cli("user", "add", "--email", OTHER_STAFF, "--name", "Lea Neri", "--role", "staff"))
    client = data(
        cli(
            "client", "add", "--name", "Bianchi Srl", "--studio", str(studio["id"]),
            "--piva", piva(1), "-r", STAFF, "--json",
        )
    )  # fmt: skip
    return {"studio": studio["id"], "client": client["id"]}


@pytest.fixture
def operator(cli, world) -> str:
    """A practice operator in the client's work group: sees its tasks, not templates."""
    ok(
        cli(
            "user", "add", "--email", OPERATOR, "--name", "Olga Operatrice",
            "--role", "studio-operator", "--studio", str(world["studio"]),
            "--password-stdin", input=OPERATOR_PASSWORD + "\n",
        )
    )  # fmt: skip
    ok(cli("group", "add-member", str(world["client"]), OPERATOR))
    return OPERATOR


def add_lipe(cli, world, *extra):
    return data(
        cli(
            "task", "template", "add", "lipe-mensile", "--title", "Liquidazione IVA mensile",
            "-r", STAFF, "-c", str(world["client"]), "--kind", "ordinary", "--tag", "iva",
            "--participant", OTHER_STAFF, "--planned", "1h30m", "--approval", *extra, "--json",
        )
    )  # fmt: skip


def instances(cli, as_user=ADMIN_EMAIL):
    rows = data(cli("task", "list", "--json", as_user=as_user))
    return [t for t in rows if t["title"].startswith("Liquidazione IVA")]


# --- templates ---------------------------------------------------------------------------


def test_template_crud(cli, world):
    template = add_lipe(cli, world, "--deadline-days", "2", "--deadline-time", "12:00")
    assert template["name"] == "lipe-mensile"
    assert template["responsible"] == STAFF and template["creator"] == ADMIN_EMAIL
    assert template["client_id"] == world["client"] and template["client"] == "Bianchi Srl"
    assert template["participants"] == [OTHER_STAFF] and template["tags"] == ["iva"]
    assert template["planned_minutes"] == 90 and template["approval_required"] is True
    assert template["time_tracking"] is True  # ordinary work tracks time by default
    assert (template["deadline_days"], template["deadline_time"]) == (2, "12:00")
    assert template["rule"] is None and template["next_occurrences"] == []

    listed = data(cli("task", "template", "list", "--json"))
    assert [t["name"] for t in listed] == ["lipe-mensile"]
    table = ok(cli("task", "template", "list")).stdout
    assert "lipe-mensile" in table and "Liquidazione IVA mensile" in table

    edited = data(
        cli(
            "task", "template", "edit", "lipe-mensile", "--title", "LIPE mensile",
            "--untag", "iva", "--tag", "lipe", "--remove-participant", OTHER_STAFF,
            "--add-observer", OTHER_STAFF, "--no-approval", "--json",
        )
    )  # fmt: skip
    assert set(edited["changes"]) == {
        "title",
        "tags",
        "participants",
        "observers",
        "approval_required",
    }
    shown = data(cli("task", "template", "show", "lipe-mensile", "--json"))
    assert shown["title"] == "LIPE mensile" and shown["tags"] == ["lipe"]
    assert shown["participants"] == [] and shown["observers"] == [OTHER_STAFF]
    assert shown["approval_required"] is False

    renamed = data(cli("task", "template", "edit", "lipe-mensile", "--name", "LIPE-M", "--json"))
    assert renamed["name"] == "lipe-m"  # names are lower case
    assert_one_line_error(cli("task", "template", "show", "lipe-mensile"), 3)

    assert (
        data(cli("task", "template", "remove", "lipe-m", "--dry-run", "--json"))["name"] == "lipe-m"
    )
    ok(cli("task", "template", "show", "lipe-m"))
    ok(cli("task", "template", "remove", "lipe-m", "--yes"))
    assert_one_line_error(cli("task", "template", "show", "lipe-m"), 3)
    assert data(cli("task", "template", "list", "--json")) == []
    # The name stays taken by the removed template.
    line = assert_one_line_error(cli("task", "template", "add", "lipe-m", "--title", "Again"), 4)
    assert "removed template" in line


def test_template_from_a_task(cli, world):
    task = data(
        cli(
            "task", "add", "Liquidazione IVA marzo", "-r", STAFF, "-c", str(world["client"]),
            "-d", "16/04/2026 17:30", "--tag", "iva", "--observer", OTHER_STAFF, "--high", "--json",
        )
    )[0]  # fmt: skip
    template = data(
        cli("task", "template", "add", "lipe", "--from-task", str(task["id"]), "--json")
    )
    assert template["title"] == "Liquidazione IVA marzo"
    assert template["responsible"] == STAFF and template["client_id"] == world["client"]
    assert template["observers"] == [OTHER_STAFF] and template["tags"] == ["iva"]
    assert template["high_priority"] is True
    assert template["deadline_time"] == "17:30"  # the task's own time of day (Rome)
    line = assert_one_line_error(
        cli("task", "template", "add", "x", "--from-task", str(task["id"]), "--title", "T"), 2
    )
    assert "--from-task" in line


def test_template_add_needs_a_title(cli, world, store_path):
    before = store_digest(store_path)
    assert_one_line_error(cli("task", "template", "add", "nameless"), 2, "--title")
    assert store_digest(store_path) == before


@pytest.mark.parametrize(
    ("args", "code", "word"),
    [
        (["add", "12345", "--title", "T"], 6, "NAME"),
        (["add", "two words", "--title", "T"], 6, "NAME"),
        (["add", "x", "--title", "   "], 6, "--title"),
        (["add", "x", "--title", "T", "--deadline-time", "25:00"], 6, "--deadline-time"),
        (["add", "x", "--title", "T", "--deadline-days", "-1"], 6, "--deadline-days"),
        (["add", "x", "--title", "T", "--kind", "weird"], 6, "--kind"),
        (["add", "x", "--title", "T", "-r", "nobody@sempi.test"], 6, "--responsible"),
        (["add", "x", "--title", "T", "--client", "999"], 3, "client 999 not found"),
        (["add", "x", "--title", "T", "--planned", "soon"], 6, "--planned"),
        (["add", "x", "--from-task", "999"], 3, "task 999"),
        (["add", "lipe-mensile", "--title", "T"], 4, "lipe-mensile"),
        (["show", "nothing"], 3, "nothing"),
        (["edit", "lipe-mensile"], 6, "nothing to change"),
        (["edit", "lipe-mensile", "--deadline-time", "7pm"], 6, "--deadline-time"),
        (["remove", "nothing", "--yes"], 3, "nothing"),
    ],
)
def test_bad_template_input_changes_nothing(cli, world, store_path, args, code, word):
    add_lipe(cli, world)
    before = store_digest(store_path)
    assert_one_line_error(cli("task", "template", *args), code, word)
    assert store_digest(store_path) == before


# --- recurrence ---------------------------------------------------------------------------


def test_recur_set_run_twice_no_duplicates(cli, world):
    add_lipe(cli, world)
    template = data(
        cli(
            "task", "recur", "set", "lipe-mensile", "--freq", "monthly", "--start", "2026-01-16",
            "--shift", "next-working-day", "--json",
        )
    )  # fmt: skip
    assert template["recur_freq"] == "monthly" and template["recur_shift"] == "next-working-day"
    assert template["rule"].startswith("monthly on day 16")
    assert template["next_occurrences"][0] == {"occurrence": "2026-11-16", "date": "2026-11-16"}

    listed = data(cli("task", "recur", "list", "--json"))
    assert [(r["name"], r["last_occurrence"]) for r in listed] == [("lipe-mensile", None)]

    dry = cli("task", "recur", "run", "--dry-run", "--json")
    assert data(dry)["created"] == 11 and "Would make 11" in dry.stderr
    assert instances(cli) == []

    first = cli("task", "recur", "run", "--json")  # the clock says 16 Nov 2026
    assert data(first) == {
        "until": "2026-11-16",
        "templates": 1,
        "created": 11,
        "existing": 0,
        "skipped": [],
    }
    assert "Made 11 task(s)" in first.stderr
    second = data(cli("task", "recur", "run", "--json"))
    assert (second["created"], second["existing"]) == (0, 11)
    made = instances(cli)
    assert len(made) == 11
    deadlines = sorted(t["deadline"] for t in made)
    # 16 May 2026 is a Saturday: that instance is due on Monday 18 May.
    assert "2026-05-18T18:00+02:00" in deadlines
    assert all(t["responsible"] == STAFF for t in made)

    task = data(cli("task", "show", str(made[0]["id"]), "--json"))
    assert task["creator"] == ADMIN_EMAIL and task["participants"] == [OTHER_STAFF]
    assert task["tags"] == ["iva"] and task["approval_required"] is True
    history = data(cli("task", "history", str(made[0]["id"]), "--json"))
    assert [h["action"] for h in history][:2] == ["create", "recur"]

    later = data(cli("task", "recur", "run", "--until", "2027-01-31", "--json"))
    assert (later["created"], later["existing"]) == (2, 11)
    listed = data(cli("task", "recur", "list", "--json"))
    assert listed[0]["last_occurrence"] == "2027-01-16"

    # A removed instance is not made again; a stopped template makes nothing.
    ok(cli("task", "remove", str(made[0]["id"]), "--yes"))
    again = data(cli("task", "recur", "run", "--until", "2027-01-31", "--json"))
    assert again["created"] == 0
    stopped = data(cli("task", "recur", "stop", "lipe-mensile", "--json"))
    assert stopped["recur_freq"] is None and stopped["instances"] == 13
    assert data(cli("task", "recur", "run", "--json"))["templates"] == 0


def test_recur_set_on_a_task_makes_a_template(cli, world):
    task = data(cli("task", "add", "Inventario", "-r", STAFF, "--tag", "magazzino", "--json"))[0]
    template = data(
        cli(
            "task", "recur", "set", str(task["id"]), "--freq", "yearly", "--start", "2026-12-31",
            "--count", "3", "--json",
        )
    )  # fmt: skip
    assert template["name"] == f"task-{task['id']}"
    assert template["title"] == "Inventario" and template["tags"] == ["magazzino"]
    assert template["recur_count"] == 3
    # Setting it again changes the same template's rule.
    again = data(
        cli(
            "task",
            "recur",
            "set",
            str(task["id"]),
            "--freq",
            "monthly_last",
            "--start",
            "2026-11-01",
            "--json",
        )
    )
    assert again["id"] == template["id"] and again["recur_freq"] == "monthly_last"
    assert again["recur_count"] is None
    counts = data(cli("task", "recur", "run", "--until", "2026-12-31", "--json"))
    assert counts["created"] == 2  # 30 Nov and 31 Dec
    # the original task stays a one-off
    assert data(cli("task", "show", str(task["id"]), "--json"))["title"] == "Inventario"


@pytest.mark.parametrize(
    ("args", "code", "word"),
    [
        (["set", "lipe-mensile", "--freq", "fortnightly", "--start", "2026-01-16"], 6, "--freq"),
        (["set", "lipe-mensile", "--freq", "monthly", "--start", "31/02/2026"], 6, "--start"),
        (["set", "lipe-mensile", "--freq", "monthly", "--start", "2026-01-16", "--interval", "0"], 6, "--interval"),
        (["set", "lipe-mensile", "--freq", "monthly", "--start", "2026-01-16", "--count", "0"], 6, "--count"),
        (["set", "lipe-mensile", "--freq", "monthly", "--start", "2026-01-16", "--until", "2025-12-31"], 6, "--until"),
        (["set", "lipe-mensile", "--freq", "monthly", "--start", "2026-01-16", "--until", "2026-12-31", "--count", "3"], 6, "--count"),
        (["set", "lipe-mensile", "--freq", "monthly", "--start", "2026-01-16", "--shift", "previous"], 6, "--shift"),
        (["set", "lipe-mensile", "--freq", "monthly"], 2, "--start"),
        (["set", "lipe-mensile", "--freq", "monthly", "--start", "2026-01-16", "--interval", "two"], 2, "--interval"),
        (["set", "nothing", "--freq", "monthly", "--start", "2026-01-16"], 3, "nothing"),
        (["set", "999", "--freq", "monthly", "--start", "2026-01-16"], 3, "task 999"),
        (["stop", "nothing"], 3, "nothing"),
        (["run", "--until", "2028-01-01"], 6, "--until"),
        (["run", "--until", "someday"], 6, "--until"),
    ],
)  # fmt: skip
def test_bad_recurrence_input_changes_nothing(cli, world, store_path, args, code, word):
    add_lipe(cli, world)
    before = store_digest(store_path)
    assert_one_line_error(cli("task", "recur", *args), code, word)
    assert store_digest(store_path) == before


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["template", "list"],
        ["template", "add", "mine", "--title", "T"],
        ["template", "show", "lipe-mensile"],
        ["recur", "set", "lipe-mensile", "--freq", "daily", "--start", "2026-01-01"],
        ["recur", "list"],
        ["recur", "run"],
    ],
)
def test_a_practice_operator_may_not_use_templates(cli, world, operator, store_path, args):
    add_lipe(cli, world)
    before = store_digest(store_path)
    line = assert_one_line_error(cli("task", *args, as_user=operator), 8)
    assert "firm users" in line
    # the refusal is audited; nothing else changed
    assert store_digest(store_path) != before
    rows = data(cli("audit", "list", "--json"))
    assert rows[0]["action"] == "denied"


def test_staff_see_their_clients_templates_and_change_their_own(cli, world):
    add_lipe(cli, world)  # by the admin, responsible STAFF, client in STAFF's group
    ok(cli("task", "template", "add", "interno", "--title", "Riunione", "--json"))
    assert {t["name"] for t in data(cli("task", "template", "list", "--json", as_user=STAFF))} == {
        "lipe-mensile",
        "interno",
    }
    # OTHER_STAFF is not in the client's work group: that template does not exist for them.
    assert [
        t["name"] for t in data(cli("task", "template", "list", "--json", as_user=OTHER_STAFF))
    ] == ["interno"]
    assert_one_line_error(cli("task", "template", "show", "lipe-mensile", as_user=OTHER_STAFF), 3)
    # The responsible may change it; another staff member may not; only the creator removes it.
    ok(cli("task", "template", "edit", "lipe-mensile", "--deadline-days", "1", as_user=STAFF))
    line = assert_one_line_error(
        cli("task", "template", "edit", "interno", "--title", "X", as_user=STAFF), 8
    )
    assert "creator or the responsible" in line
    assert_one_line_error(
        cli("task", "template", "remove", "lipe-mensile", "--yes", as_user=STAFF), 8
    )


def test_a_run_skips_a_template_whose_responsible_is_disabled(cli, world):
    add_lipe(cli, world)
    ok(cli("task", "recur", "set", "lipe-mensile", "--freq", "monthly", "--start", "2026-10-16"))
    ok(cli("user", "disable", STAFF, "--yes"))
    counts = cli("task", "recur", "run", "--json")
    assert data(counts)["skipped"] == ["lipe-mensile"] and data(counts)["created"] == 0
    assert "responsible disabled" in counts.stderr
    ok(cli("task", "template", "edit", "lipe-mensile", "-r", OTHER_STAFF))
    assert data(cli("task", "recur", "run", "--json"))["created"] == 2


# --- real processes: cron re-runs and two runs at once ---------------------------------------


def sempi(env, *args, input=None):
    return subprocess.run(
        [SEMPI, *args], env=env, input=input, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_concurrent_runs_in_real_processes_make_each_occurrence_once(cli, world, store_path):
    add_lipe(cli, world)
    ok(cli("task", "recur", "set", "lipe-mensile", "--freq", "daily", "--start", "2026-01-01"))
    ok(cli("task", "template", "add", "weekly", "--title", "Liquidazione IVA sett.", "-r", STAFF))
    ok(cli("task", "recur", "set", "weekly", "--freq", "weekly", "--start", "2026-01-05"))
    env = {**os.environ, "SEMPI_DB": str(store_path)}
    login = sempi(env, "login", "-e", ADMIN_EMAIL, "--password-stdin", input=ADMIN_PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    until = "2026-03-31"  # 90 days and 13 Mondays: in the past, whatever today is
    counts = json_at_once([SEMPI, "task", "recur", "run", "--until", until, "--json"], env, 2)
    assert sorted(c["created"] for c in counts) == [0, 103]  # one run made all, the other none
    assert all(c["created"] + c["existing"] == 103 for c in counts)
    # A cron re-run: nothing new.
    again = sempi(env, "task", "recur", "run", "--until", until, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["created"] == 0
    rows = [
        tuple(r)
        for r in __import__("sqlite3")
        .connect(store_path)
        .execute("SELECT template_id, occurrence FROM tasks WHERE template_id IS NOT NULL")
    ]
    assert len(rows) == len(set(rows)) == 103
    assert sempi(env, "db", "check").returncode == 0


# --- one task from a template, now ---------------------------------------------------------


def test_a_one_off_task_from_a_template(cli, world, clock, store_path):
    """`task add --template NAME`: the template's content, people, tags and checklist,
    due its days from today at its time; a title, responsible, deadline or client
    given here replace the template's; the rest is refused rather than ignored."""
    add_lipe(cli, world, "--deadline-days", "2", "--deadline-time", "12:00")
    task_id = data(cli("task", "add", "--template", "lipe-mensile", "--json"))[0]["id"]
    task = data(cli("task", "show", str(task_id), "--json"))
    assert task["title"] == "Liquidazione IVA mensile"
    assert task["responsible"] == STAFF and task["participants"] == [OTHER_STAFF]
    assert task["client_id"] == world["client"] and task["kind"] == "ordinary"
    assert task["tags"] == ["iva"] and task["approval_required"] is True
    due = clock.now().date().toordinal() + 2
    assert task["deadline"].startswith(__import__("datetime").date.fromordinal(due).isoformat())
    assert task["deadline"][11:16] == "12:00"
    history = data(cli("task", "history", str(task_id), "--json"))
    assert any(h["action"] == "from_template" and h["new"] == "lipe-mensile" for h in history)

    again = data(
        cli(
            "task", "add", "LIPE dicembre", "--template", "lipe-mensile",
            "-r", OTHER_STAFF, "-d", "16/02/2027", "--json",
        )
    )[0]  # fmt: skip
    assert again["title"] == "LIPE dicembre" and again["responsible"] == OTHER_STAFF
    assert again["deadline"].startswith("2027-02-16")

    before = store_digest(store_path)
    assert_one_line_error(
        cli("task", "add", "--template", "lipe-mensile", "--tag", "x"), 2, "--tag", "template"
    )
    assert_one_line_error(cli("task", "add", "--template", "nessuno"), 3, "template")
    assert_one_line_error(cli("task", "add"), 2, "TITLE")
    assert store_digest(store_path) == before


def test_a_one_off_task_copies_the_templates_checklists(cli, world):
    task = data(cli("task", "add", "Modello", "-c", str(world["client"]), "--json"))[0]["id"]
    ok(cli("checklist", "add", str(task), "Firma"))
    ok(cli("checklist", "add", str(task), "Invio"))
    ok(cli("task", "template", "add", "modello", "--from-task", str(task)))
    made = data(cli("task", "add", "--template", "modello", "--json"))[0]["id"]
    items = data(cli("checklist", "list", str(made), "--json"))
    texts = json.dumps(items)
    assert "Firma" in texts and "Invio" in texts
