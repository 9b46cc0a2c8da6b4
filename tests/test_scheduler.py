"""`sempi scheduler run`: deadlines as tasks keyed (client, rule, period); what a
changed profile, an override or a setting does to them; what is never touched;
the run's record and health; who may run it; bad input changes nothing.

Real processes (cron, two runs at once, SIGKILL) are in test_scheduler_processes.py.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import pytest

from tests.conftest import ADMIN_EMAIL, actor, scheduler_rows, store_digest
from tests.helpers import assert_one_line_error, ok

RESP, OTHER, OPERATOR, SADMIN = (
    "resp@sempi.test",
    "other@sempi.test",
    "operator@studio.test",
    "sadmin@studio.test",
)
YEAR = ("--from", "2027-01-01", "--to", "2027-12-31")


@pytest.fixture
def clients(org):
    """Alfa: monthly VAT payer with employees (responsible RESP). Beta: quarterly,
    ISA subject. Gamma: forfettario in another practice, no responsible."""
    rossi = org.practice("Studio Rossi")
    verdi = org.practice("Studio Verdi")
    org.user(RESP, "Resp")
    org.user(OTHER, "Other")
    org.user(SADMIN, "Sadmin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Operator", "studio-operator", studio=rossi)
    alfa = org.client(
        "Alfa Srl",
        rossi,
        1,
        responsible=RESP,
        fiscal_profile={"iva_periodicity": "mensile", "has_employees": True},
    )
    beta = org.client(
        "Beta Snc",
        rossi,
        2,
        responsible=RESP,
        fiscal_profile={"iva_periodicity": "trimestrale", "isa_subject": True},
    )
    gamma = org.client(
        "Gamma di Neri",
        verdi,
        3,
        fiscal_profile={"forfettario": True, "has_foreign_purchases": True},
    )
    return {"alfa": alfa, "beta": beta, "gamma": gamma, "rossi": rossi, "verdi": verdi}


def run(cli, *args, as_user=ADMIN_EMAIL):
    return json.loads(ok(cli("scheduler", "run", *args, "--json", as_user=as_user)).stdout)


def deadline(db, client, rule, period):
    return db.execute(
        "SELECT d.*, t.status, t.deadline, t.removed_at, t.responsible_id, t.title, t.kind,"
        " t.responsible_sets_deadline, t.external_key FROM deadlines d JOIN tasks t ON t.id = d.task_id"
        " WHERE d.client_id = ? AND d.rule_id = ? AND d.period = ?",
        (client, rule, period),
    ).fetchone()


def rules_of(db, client):
    return {
        r[0]
        for r in db.execute("SELECT DISTINCT rule_id FROM deadlines WHERE client_id = ?", (client,))
    }


def user_id(db, email):
    return db.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0]


# --- what a run makes ------------------------------------------------------------------


def test_a_run_makes_each_clients_deadlines_as_ordinary_tasks(cli, db, clients):
    report = run(cli, *YEAR)
    assert report["clients"] == 3 and report["created"] > 0 and report["updated"] == 0
    assert rules_of(db, clients["alfa"]) >= {
        "IVA-M",
        "LIPE",
        "INPS-DIP",
        "INAIL",
        "CU",
        "770",
        "REDDITI",
    }
    assert "IVA-T" not in rules_of(db, clients["alfa"])
    assert {"IVA-T", "IVA-T4", "LIPE"} <= rules_of(db, clients["beta"])
    # a forfettario: no periodic VAT, but foreign purchases and income taxes
    assert rules_of(db, clients["gamma"]) == {"AF-TD17-19", "ACC-1", "ACC-2", "REDDITI"}

    row = deadline(db, clients["alfa"], "IVA-M", "2027-07")
    assert (row["nominal_date"], row["due_date"]) == ("2027-08-16", "2027-08-20")
    assert [s["reason"] for s in json.loads(row["shifts"])][-1].startswith("proroga di Ferragosto")
    # the due date at 18:00 Rome (summer time: 16:00 UTC); the responsible may not move it
    assert row["deadline"] == "2027-08-20T16:00:00+00:00"
    assert row["kind"] == "ordinary" and row["status"] == "pending" and row["state"] == "active"
    assert row["responsible_id"] == user_id(db, RESP) and row["responsible_sets_deadline"] == 0
    assert row["title"] == "Liquidazione e versamento IVA mensile 2027-07"
    assert row["external_key"] == f"fiscal:{clients['alfa']}:IVA-M:2027-07"
    # every deadline in the range and only those
    dues = [r[0] for r in db.execute("SELECT due_date FROM deadlines")]
    assert min(dues) >= "2027-01-01" and max(dues) <= "2027-12-31"
    assert report["created"] == len(dues)


def test_each_task_gets_the_rules_checklist_and_a_reminder_at_its_lead_time(cli, db, clients):
    from sempi_cli.fiscal.rules import RULES_BY_ID

    run(cli, *YEAR)
    row = deadline(db, clients["beta"], "LIPE", "2027-Q1")
    items = [
        r[0]
        for r in db.execute(
            "SELECT ci.text FROM checklist_items ci JOIN checklists cl ON cl.id = ci.checklist_id"
            " WHERE cl.task_id = ? ORDER BY ci.position",
            (row["task_id"],),
        )
    ]
    assert items == list(RULES_BY_ID["LIPE"].checklist)
    reminder = db.execute(
        "SELECT recipient_id, before_minutes FROM reminders WHERE task_id = ?", (row["task_id"],)
    ).fetchone()
    assert tuple(reminder) == (user_id(db, RESP), RULES_BY_ID["LIPE"].lead_days * 1440)
    history = db.execute(
        "SELECT action, new FROM task_history WHERE task_id = ?", (row["task_id"],)
    ).fetchall()
    assert [tuple(h) for h in history] == [("create", row["title"])]


def test_a_deadline_task_cannot_be_completed_with_its_checklist_open(cli, db, clients):
    run(cli, *YEAR)
    task = deadline(db, clients["beta"], "LIPE", "2027-Q1")["task_id"]
    assert_one_line_error(cli("task", "done", str(task), as_user=RESP), 5)


def test_the_firms_template_for_a_rule_replaces_the_default_checklist(cli, db, clients):
    ok(cli("task", "add", "Modello LIPE", "--responsible", RESP))
    task = db.execute("SELECT max(id) FROM tasks").fetchone()[0]
    ok(cli("checklist", "add-list", str(task), "Controlli"))
    ok(cli("checklist", "add", str(task), "Quadro VP", "--list", "Controlli"))
    ok(cli("checklist", "add", str(task), "Invio", "--list", "Controlli"))
    ok(cli("task", "template", "add", "lipe-studio", "--from-task", str(task)))
    ok(cli("scheduler", "template", "LIPE", "lipe-studio"))
    run(cli, *YEAR)
    lipe = deadline(db, clients["beta"], "LIPE", "2027-Q2")["task_id"]
    lists = db.execute(
        "SELECT cl.name, ci.text FROM checklists cl JOIN checklist_items ci ON ci.checklist_id = cl.id"
        " WHERE cl.task_id = ? ORDER BY ci.position",
        (lipe,),
    ).fetchall()
    assert [tuple(r) for r in lists] == [("Controlli", "Quadro VP"), ("Controlli", "Invio")]
    other = deadline(db, clients["beta"], "IVA-T", "2027-Q1")["task_id"]
    assert (
        db.execute("SELECT name FROM checklists WHERE task_id = ?", (other,)).fetchone()[0]
        == "Adempimento"
    )
    ok(cli("scheduler", "template", "LIPE", "--clear"))
    assert json.loads(ok(cli("scheduler", "template", "--json")).stdout) == []


def test_a_client_without_responsible_gets_the_runner_and_a_warning(cli, db, clients):
    result = ok(cli("scheduler", "run", *YEAR, "--client", str(clients["gamma"])))
    assert "have no responsible" in result.stderr and str(clients["gamma"]) in result.stderr
    row = deadline(db, clients["gamma"], "REDDITI", "2027")  # Redditi 2027, due 2 Nov 2027
    assert row["responsible_id"] == user_id(db, ADMIN_EMAIL)


def test_summary_on_a_terminal_and_nothing_with_quiet(cli, clients):
    result = ok(cli("scheduler", "run", *YEAR))
    assert "created" in result.stdout and "unchanged 0" in result.stdout
    quiet = ok(cli("scheduler", "run", *YEAR, "-q"))
    assert quiet.stdout == "" and quiet.stderr == ""


# --- idempotence and dry run -----------------------------------------------------------------


def test_running_twice_changes_nothing_the_second_time(cli, store_path, clients):
    first = run(cli, *YEAR)
    rows = scheduler_rows(store_path)
    second = run(cli, *YEAR)
    assert second["created"] == second["updated"] == second["cancelled"] == 0
    assert second["unchanged"] == first["created"]
    assert scheduler_rows(store_path) == rows


def test_a_dry_run_reports_the_same_and_leaves_the_store_byte_identical(cli, store_path, clients):
    before = store_digest(store_path)
    dry = run(cli, *YEAR, "--dry-run")
    assert store_digest(store_path) == before
    assert dry["dry_run"] and dry["run_id"] is None
    real = run(cli, *YEAR)
    assert {k: dry[k] for k in ("created", "updated", "cancelled", "unchanged")} == {
        k: real[k] for k in ("created", "updated", "cancelled", "unchanged")
    }


def test_two_ranges_equal_one_run_over_both(cli, clock, tmp_path, store_path, clients):
    from tests.conftest import Cli

    fresh = tmp_path / "fresh.db"
    with sqlite3.connect(store_path) as source, sqlite3.connect(fresh) as copy:
        source.backup(copy)
    fresh.chmod(0o600)
    run(cli, "--from", "2027-01-01", "--to", "2027-06-30")
    run(cli, "--from", "2027-04-01", "--to", "2027-12-31")
    run(Cli(fresh, clock), *YEAR)
    assert scheduler_rows(store_path) == scheduler_rows(fresh)


# --- a changed profile, an override, a setting ---------------------------------------------------


def test_a_changed_profile_adds_updates_and_cancels_future_unstarted_deadlines(cli, db, clients):
    run(cli)  # default range: today (16 Nov 2026) and the next 12 months
    alfa = clients["alfa"]
    started = deadline(db, alfa, "IVA-M", "2027-01")["task_id"]
    ok(cli("task", "start", str(started), as_user=RESP))
    # a correction since the client's first day ('start'): every period is quarterly
    ok(
        cli(
            "client",
            "edit",
            str(alfa),
            "--profile",
            "iva_periodicity=trimestrale",
            "--from",
            "start",
        )
    )
    report = run(cli)
    assert report["created"] == 4  # IVA-T4 2026-Q4, IVA-T 2027-Q1..Q3
    cancelled = {c["period"] for c in report["changes"] if c["action"] == "cancelled"}
    # IVA-M 2026-10 (due today) .. 2027-09 (due 18 Oct 2027), except the started one
    assert cancelled == {"2026-10", "2026-11", "2026-12"} | {f"2027-{m:02d}" for m in range(2, 10)}
    kept = [c for c in report["changes"] if c["action"] == "kept"]
    assert [(c["rule_id"], c["period"]) for c in kept] == [("IVA-M", "2027-01")]
    gone = deadline(db, alfa, "IVA-M", "2027-03")
    assert gone["state"] == "cancelled" and gone["removed_at"] is not None  # set aside, not deleted
    assert deadline(db, alfa, "IVA-M", "2027-01")["state"] == "active"  # started: never touched
    history = db.execute(
        "SELECT action FROM task_history WHERE task_id = ? ORDER BY id", (gone["task_id"],)
    ).fetchall()
    assert [h[0] for h in history] == ["create", "cancel"]
    # the cancelled task is out of everyone's lists
    listed = json.loads(ok(cli("task", "list", "--all", "--json", as_user=RESP)).stdout)
    assert gone["task_id"] not in {t["id"] for t in listed}

    ok(cli("client", "edit", str(alfa), "--profile", "iva_periodicity=mensile", "--from", "start"))
    back = run(cli)
    restored = {(c["rule_id"], c["period"]) for c in back["changes"] if c["action"] == "restored"}
    assert ("IVA-M", "2027-03") in restored
    assert deadline(db, alfa, "IVA-M", "2027-03")["removed_at"] is None
    assert deadline(db, alfa, "IVA-M", "2027-03")["state"] == "active"


def test_completed_and_past_deadlines_are_never_touched(cli, db, clock, clients):
    run(cli)
    beta = clients["beta"]
    task = deadline(db, beta, "IVA-T4", "2026-Q4")["task_id"]
    db.execute(
        "UPDATE checklist_items SET done_at = '2026-11-16T10:00:00+00:00', done_by = 1"
        " WHERE checklist_id IN (SELECT id FROM checklists WHERE task_id = ?)",
        (task,),
    )
    db.commit()
    ok(cli("task", "done", str(task), as_user=RESP))
    ok(cli("client", "edit", str(beta), "--profile", "iva_periodicity=none"))
    report = run(cli)
    assert deadline(db, beta, "IVA-T4", "2026-Q4")["status"] == "completed"
    assert deadline(db, beta, "IVA-T4", "2026-Q4")["state"] == "active"
    assert report["cancelled"] > 0
    # a year later, last year's deadlines are in the past: a run leaves them be
    clock.advance(timedelta(days=400))
    ok(cli("client", "edit", str(beta), "--profile", "iva_periodicity=trimestrale"))
    later = run(cli)
    assert later["changes"] == [] and later["created"] > 0
    assert deadline(db, beta, "IVA-T", "2027-Q1")["state"] == "cancelled"  # past: left as it was


def test_a_checked_item_counts_as_started(cli, db, clients):
    run(cli)
    alfa = clients["alfa"]
    task = deadline(db, alfa, "IVA-M", "2027-02")["task_id"]
    item = db.execute(
        "SELECT ci.id FROM checklist_items ci JOIN checklists cl ON cl.id = ci.checklist_id WHERE cl.task_id = ?",
        (task,),
    ).fetchone()[0]
    ok(cli("checklist", "check", str(item), as_user=RESP))
    ok(cli("client", "edit", str(alfa), "--profile", "iva_periodicity=trimestrale"))
    run(cli)
    assert deadline(db, alfa, "IVA-M", "2027-02")["state"] == "active"
    assert deadline(db, alfa, "IVA-M", "2027-03")["state"] == "cancelled"


def test_an_override_moves_pending_deadlines_only_for_the_clients_it_covers(cli, db, clients):
    run(cli, *YEAR)
    ok(
        cli(
            "scheduler", "override", "add", "ACC-1", "2027", "2027-07-21",
            "--reason", "DL 84/2027 art. 13", "--applies-to", "isa_subject",
        )
    )  # fmt: skip
    report = run(cli, *YEAR)
    moved = {(c["client_id"], c["rule_id"]) for c in report["changes"] if c["action"] == "updated"}
    assert moved == {(clients["beta"], "ACC-1")}
    beta = deadline(db, clients["beta"], "ACC-1", "2027")
    assert (beta["nominal_date"], beta["due_date"]) == ("2027-06-30", "2027-07-21")
    assert beta["override_reason"] == "DL 84/2027 art. 13"
    assert json.loads(beta["shifts"])[0]["reason"] == "proroga: DL 84/2027 art. 13"
    assert beta["deadline"] == "2027-07-21T16:00:00+00:00"
    assert deadline(db, clients["alfa"], "ACC-1", "2027")["due_date"] == "2027-06-30"
    edits = db.execute(
        "SELECT field, old, new FROM task_history WHERE task_id = ? AND action = 'edit'",
        (beta["task_id"],),
    ).fetchall()
    assert [tuple(e) for e in edits] == [
        ("deadline", "2027-06-30T16:00:00+00:00", "2027-07-21T16:00:00+00:00")
    ]
    # an extension to a Sunday still moves to Monday; removing it puts the date back
    ok(
        cli(
            "scheduler",
            "override",
            "add",
            "ACC-1",
            "2027",
            "2027-07-25",
            "--reason",
            "x",
            "--replace",
        )
    )
    run(cli, *YEAR)
    assert deadline(db, clients["alfa"], "ACC-1", "2027")["due_date"] == "2027-07-26"
    ok(cli("scheduler", "override", "remove", "ACC-1", "2027"))
    run(cli, *YEAR)
    assert deadline(db, clients["alfa"], "ACC-1", "2027")["due_date"] == "2027-06-30"
    assert json.loads(ok(cli("scheduler", "override", "list", "--json")).stdout) == []


def test_a_new_deadline_time_moves_the_tasks_deadline(cli, db, clients):
    first = run(cli, *YEAR)
    ok(cli("config", "set", "scheduler.deadline_time", "12:30"))
    report = run(cli, *YEAR)
    assert report["updated"] == first["created"] and report["unchanged"] == 0
    assert (
        deadline(db, clients["alfa"], "IVA-M", "2027-07")["deadline"] == "2027-08-20T10:30:00+00:00"
    )


# --- the record of runs, health ----------------------------------------------------------------


def test_runs_are_recorded_and_a_dead_run_is_marked_interrupted(cli, db, clients):
    db.execute(
        "INSERT INTO scheduler_runs (started_at, host, pid, range_from, range_to)"
        " VALUES ('2026-11-15T02:00:00+00:00', ?, 2147483646, '2026-11-15', '2027-11-14')",
        (__import__("socket").gethostname(),),
    )
    db.commit()
    report = run(cli, *YEAR)
    runs = json.loads(ok(cli("scheduler", "runs", "--json")).stdout)
    assert runs[0]["id"] == report["run_id"] and runs[0]["status"] == "ok"
    assert runs[0]["created"] == report["created"] and runs[0]["finished_at"]
    assert runs[1]["status"] == "interrupted"
    audit = db.execute("SELECT count(*) FROM audit_log WHERE action = 'scheduler.run'").fetchone()[
        0
    ]
    assert audit == 1


def test_health_fails_with_exit_11_when_the_last_good_run_is_too_old(cli, clock, clients):
    assert_one_line_error(cli("scheduler", "health"), 11)
    run(cli, *YEAR)
    ok(cli("scheduler", "health", "--max-age", "26h"))
    clock.advance(timedelta(hours=27))
    line = assert_one_line_error(cli("scheduler", "health", "--max-age", "26h"), 11)
    assert "27.0 hours ago" in line
    ok(cli("scheduler", "health", "--max-age", "2d"))
    assert_one_line_error(cli("scheduler", "health", "--max-age", "soon"), 6)


def test_a_failed_run_is_recorded_as_failed_with_what_it_committed(cli, db, clients, monkeypatch):
    from sempi_cli.services.scheduler import runner as scheduler
    from sempi_cli.services.scheduler import writer as scheduler_writer

    monkeypatch.setattr(scheduler, "CHUNK", 1)  # one client per transaction
    apply = scheduler_writer.ChunkWriter.apply

    def third_fails(self, chunk):
        if chunk[0]["id"] == clients["gamma"]:
            raise sqlite3.OperationalError("disk I/O error")
        return apply(self, chunk)

    monkeypatch.setattr(scheduler_writer.ChunkWriter, "apply", third_fails)
    assert cli("scheduler", "run", *YEAR).exit_code != 0
    run_row = db.execute("SELECT * FROM scheduler_runs ORDER BY id DESC").fetchone()
    assert (run_row["status"], run_row["error"], run_row["clients"]) == (
        "failed",
        "disk I/O error",
        2,
    )
    written = db.execute("SELECT count(*) FROM deadlines").fetchone()[0]
    assert run_row["created"] == written > 0
    assert rules_of(db, clients["gamma"]) == set()


# --- who may run it ----------------------------------------------------------------------------


def test_only_administrators_run_the_scheduler(cli, db, clients, store_path):
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(cli("scheduler", "run", *YEAR, as_user=RESP), 8)
    assert_one_line_error(cli("scheduler", "run", *YEAR, as_user=OPERATOR), 8)
    assert_one_line_error(
        cli("scheduler", "run", *YEAR, "--studio", str(clients["verdi"]), as_user=SADMIN), 3
    )
    assert_one_line_error(
        cli("scheduler", "run", *YEAR, "--client", str(clients["gamma"]), as_user=SADMIN), 3
    )
    assert store_digest(store_path, ignore=("audit_log",)) == before
    mine = run(cli, *YEAR, as_user=SADMIN)
    assert mine["clients"] == 2  # their practice's clients only
    assert rules_of(db, clients["gamma"]) == set()


def test_runs_and_health_are_not_for_external_users(cli, db, clients, clock):
    from sempi_cli.services.org.users import UserService

    UserService(db, clock, actor(db, ADMIN_EMAIL)).add(
        "ext@cliente.test", "Ext", "external", client=clients["alfa"]
    )
    assert_one_line_error(cli("scheduler", "runs", as_user="ext@cliente.test"), 8)
    assert_one_line_error(cli("scheduler", "health", as_user="ext@cliente.test"), 8)
    assert_one_line_error(cli("scheduler", "override", "list", as_user="ext@cliente.test"), 8)


# --- bad input: one line, the documented code, nothing written ----------------------------------


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (("run", "--horizon", "37m"), 6, "--horizon"),
        (("run", "--horizon", "4y"), 6, "--horizon"),
        (("run", "--horizon", "forever"), 6, "--horizon"),
        (("run", "--from", "2027-01-01", "--to", "2030-02-01"), 6, "--to"),
        (("run", "--from", "2027-01-01", "--to", "2026-12-31"), 6, "--to"),
        (("run", "--from", "31/02/2027"), 6, "--from"),
        (("run", "--from", "1999-12-01"), 6, "--from"),
        (("run", "--from", "2100-06-01"), 6, "--horizon"),
        (("run", "--from", "9999-12-01"), 6, "--horizon"),  # no year 10000 (was exit 1)
        (("run", "--to", "2027-12-31", "--horizon", "12m"), 2, "--horizon"),
        (("run", "--client", "999"), 3, "client 999"),
        (("run", "--studio", "Nessuno"), 3, "Nessuno"),
        (("override", "add", "IVA-X", "2027", "2027-07-21", "--reason", "x"), 6, "RULE"),
        (("override", "add", "ACC-1", "2027-Q5", "2027-07-21", "--reason", "x"), 6, "PERIOD"),
        (("override", "add", "IVA-M", "2027-13", "2027-07-21", "--reason", "x"), 6, "PERIOD"),
        (("override", "add", "IVA-T", "2027-Q4", "2028-07-21", "--reason", "x"), 6, "PERIOD"),
        (("override", "add", "ACC-1", "2027", "2027-06-01", "--reason", "x"), 6, "DATE"),
        (("override", "add", "ACC-1", "2027", "2027-07-21", "--reason", " "), 6, "--reason"),
        (
            (
                "override",
                "add",
                "ACC-1",
                "2027",
                "2027-07-21",
                "--reason",
                "x",
                "--applies-to",
                "iva_periodicity",
            ),
            6,
            "--applies-to",
        ),
        (("override", "remove", "ACC-1", "2027"), 3, "no override"),
        (("template", "LIPE", "Nessun modello"), 3, "Nessun modello"),
        (("template", "NOPE", "x"), 6, "RULE"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(cli, store_path, clients, args, code, field):
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(cli("scheduler", *args), code, field)
    assert store_digest(store_path, ignore=("audit_log",)) == before


def test_an_override_that_exists_needs_replace(cli, clients):
    ok(cli("scheduler", "override", "add", "ACC-1", "2027", "2027-07-21", "--reason", "x"))
    assert_one_line_error(
        cli("scheduler", "override", "add", "ACC-1", "2027", "2027-07-22", "--reason", "y"), 4
    )


def test_a_self_contradicting_profile_is_refused_before_the_scheduler_sees_it(
    cli, store_path, clients
):
    before = store_digest(store_path, ignore=("audit_log",))
    result = assert_one_line_error(
        cli("client", "edit", str(clients["alfa"]), "--profile", "forfettario=yes"), 6
    )
    assert "forfettario" in result
    assert store_digest(store_path, ignore=("audit_log",)) == before


def test_only_firm_administrators_change_overrides_and_templates(cli, store_path, clients):
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(
        cli(
            "scheduler",
            "override",
            "add",
            "ACC-1",
            "2027",
            "2027-07-21",
            "--reason",
            "x",
            as_user=SADMIN,
        ),
        8,
    )
    assert_one_line_error(cli("scheduler", "template", "LIPE", "--clear", as_user=RESP), 8)
    assert store_digest(store_path, ignore=("audit_log",)) == before


@pytest.mark.parametrize(
    ("text", "end"),
    [("12m", "2027-11-15"), ("12 mesi", "2027-11-15"), ("2y", "2028-11-15"), ("3 anni", "2029-11-15"),
     ("90d", "2027-02-13"), ("90 giorni", "2027-02-13"), ("1 month", "2026-12-15")],
)  # fmt: skip
def test_horizons_in_words(text, end):
    from sempi_cli.services.scheduler.runner import horizon_end

    assert horizon_end(date(2026, 11, 16), text).isoformat() == end


def test_the_range_defaults_to_today_and_twelve_months(cli, clients):
    report = run(cli)
    assert (report["from"], report["to"]) == ("2026-11-16", "2027-11-15")
    assert date.fromisoformat(report["to"]) - date.fromisoformat(report["from"]) == timedelta(
        days=364
    )


def test_deadline_tasks_track_time_and_name_their_client_in_the_explain_line(cli, db, clients):
    """Ordinary tasks have time tracking on (docs/tasks.md), fiscal ones too; and the
    description's explain command is one to copy, with the client's id."""
    run(cli, *YEAR)
    row = deadline(db, clients["alfa"], "IVA-M", "2027-07")
    task = db.execute(
        "SELECT time_tracking, description FROM tasks WHERE id = ?", (row["task_id"],)
    ).fetchone()
    assert task["time_tracking"] == 1
    assert task["description"].endswith(f"sempi scheduler explain {clients['alfa']} IVA-M 2027-07")
    assert "CLIENT" not in task["description"]
    ok(cli("timer", "start", str(row["task_id"]), as_user=RESP))


def test_m013_mends_fiscal_tasks_made_before_the_fix(cli, db, clients, store_path):
    """Tasks written with the literal CLIENT and time tracking off are mended when the
    store is opened by a sempi that has m013."""
    from sempi_cli.store import open_store

    run(cli, *YEAR)
    row = deadline(db, clients["alfa"], "IVA-M", "2027-07")
    db.execute(
        "UPDATE tasks SET time_tracking = 0, description = replace(description,"
        " 'explain ' || client_id || ' ', 'explain CLIENT ') WHERE external_key LIKE 'fiscal:%'"
    )
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm013_fiscal_tasks'")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    db.execute(f"PRAGMA user_version = {version - 1}")
    assert (
        "explain CLIENT IVA-M"
        in db.execute("SELECT description FROM tasks WHERE id = ?", (row["task_id"],)).fetchone()[0]
    )
    open_store(store_path).close()
    task = db.execute(
        "SELECT description, time_tracking FROM tasks WHERE id = ?", (row["task_id"],)
    ).fetchone()
    assert task["time_tracking"] == 1
    assert task["description"].endswith(f"explain {clients['alfa']} IVA-M 2027-07")
