"""The firm's automation rules (`sempi automation add|list|show|enable|disable|remove|
test`, services/automation/): each built-in action on a real event, the conditions,
bad input refused at add, the dry run, loop protection, a failing action that keeps
the person's change, and who may manage rules."""

# ruff: noqa: F811 (office, imported from test_signing_requests, is a fixture)
from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.errors import InvalidData
from sempi_cli.services import event_log
from sempi_cli.services.automation import conditions
from tests.conftest import ADMIN_EMAIL
from tests.helpers import assert_one_line_error, data, ok
from tests.test_signing_requests import BRUNO, MARIO, STAFF, office  # noqa: F401 (a fixture)

OTHER = "s2@sempi.test"  # firm staff, not on Alfa's tasks


@pytest.fixture
def shop(org, office) -> dict:
    """The signing tests' office, plus OTHER (staff) and Alfa's e-mail address."""
    other = org.user(OTHER, "Staff Two")
    org.db.execute("UPDATE clients SET email = 'amministrazione@alfa.test' WHERE id = ?",
                   (office["alfa"],))  # fmt: skip
    org.db.commit()
    return {**office, "other": other["id"]}


def add(cli, *args: str, as_user: str = ADMIN_EMAIL):
    return cli("--format", "json", "automation", "add", *args, as_user=as_user)


def new_task(cli, shop, title: str = "Invio F24", client: str = "alfa") -> int:
    made = data(cli("--format", "json", "task", "add", title, "--client", str(shop[client]),
                    as_user=STAFF))  # fmt: skip
    return (made[0] if isinstance(made, list) else made)["id"]


def complete(cli, task_id: int) -> None:
    ok(cli("task", "done", str(task_id), as_user=STAFF))


def last_event(db, kind: str) -> dict:
    row = db.execute(
        "SELECT e.*, u.email FROM events e LEFT JOIN users u ON u.id = e.actor_id"
        " WHERE kind = ? ORDER BY id DESC LIMIT 1",
        (kind,),
    ).fetchone()
    return event_log.contract(row, row["email"])


def count(db, table: str, where: str = "TRUE", *args) -> int:
    return db.execute(f"SELECT count(*) FROM {table} WHERE {where}", args).fetchone()[0]


def inbox(db, user_id: int) -> list[str]:
    return [r[0] for r in db.execute("SELECT text FROM notifications WHERE user_id = ?"
                                     " AND source LIKE 'automation:%' ORDER BY id", (user_id,))]  # fmt: skip


# --- the actions, each on a real event ---------------------------------------------------


def test_notify_tells_the_people_of_a_role_who_may_see_the_task(cli, db, shop):
    rule = data(add(cli, "F24 fatto", "--on", "task.completed", "--if", "data.title=Invio F24",
                    "--do", "notify", "--to", "role:staff", "--to", "role:external",
                    "--message", "F24 inviato"))  # fmt: skip
    assert rule["params"] == {"to": ["role:staff", "role:external"], "message": "F24 inviato"}
    other_title = new_task(cli, shop, "Bilancio")
    complete(cli, other_title)
    assert count(db, "notifications", "source LIKE 'automation:%'") == 0  # --if does not hold
    task = new_task(cli, shop)
    complete(cli, task)
    told = inbox(db, shop["staff"])
    assert len(told) == 1 and "F24 inviato" in told[0] and "task.completed" in told[0]
    assert inbox(db, shop["bruno"]) == []  # Beta's external user may not see Alfa's task
    assert inbox(db, shop["other"]) == []  # nor staff who are not on it
    kind = db.execute("SELECT kind, task_id FROM notifications WHERE source LIKE 'automation:%'"
                      " AND user_id = ?", (shop["staff"],)).fetchone()  # fmt: skip
    assert tuple(kind) == ("task", task)


def test_mail_queues_the_template_to_the_client(cli, db, shop):
    ok(add(cli, "Consenso", "--on", "task.completed", "--do", "mail",
           "--mail-template", "consent", "--to", "client"))  # fmt: skip
    complete(cli, new_task(cli, shop))
    row = db.execute("SELECT kind, to_address, client_id, body FROM mail_outbox"
                     " WHERE kind = 'consent'").fetchone()  # fmt: skip
    assert row["to_address"] == "amministrazione@alfa.test"
    assert row["client_id"] == shop["alfa"] and "Alfa Srl" in row["body"]


def test_the_f24_sent_tells_the_client_in_the_rules_own_words(cli, db, shop):
    """The issue's first example: when an F24 task is completed, tell the client."""
    ok(add(cli, "F24 al cliente", "--on", "task.completed", "--if", "data.title=Invio F24",
           "--do", "mail", "--mail-template", "notice", "--to", "client",
           "--message", "Abbiamo inviato il suo F24: trova la quietanza nei documenti."))  # fmt: skip
    complete(cli, new_task(cli, shop))
    row = db.execute("SELECT to_address, subject, body FROM mail_outbox"
                     " WHERE kind = 'notice'").fetchone()  # fmt: skip
    assert row["to_address"] == "amministrazione@alfa.test"
    assert row["subject"].startswith("Invio F24")
    assert "Abbiamo inviato il suo F24" in row["body"] and "Alfa Srl" in row["body"]


def test_the_notice_needs_the_rules_words(cli, db, shop):
    refused = add(cli, "Muto", "--on", "task.completed", "--do", "mail",
                  "--mail-template", "notice", "--to", "client")  # fmt: skip
    assert_one_line_error(refused, 6, "--message")
    assert count(db, "automation_rules") == 0


def test_mail_to_the_responsible_of_the_task(cli, db, shop):
    ok(add(cli, "Credenziali", "--on", "task.completed", "--do", "mail",
           "--mail-template", "credentials", "--to", "responsible"))  # fmt: skip
    complete(cli, new_task(cli, shop))
    assert [r[0] for r in db.execute("SELECT to_address FROM mail_outbox")] == [STAFF]


def test_task_from_a_template_for_the_events_client_carries_its_origin(cli, db, shop):
    ok(cli("task", "template", "add", "archiviazione", "--title", "Archiviare la ricevuta F24"))
    ok(add(cli, "Archivia", "--on", "task.completed", "--do", "task",
           "--task-template", "archiviazione"))  # fmt: skip
    complete(cli, new_task(cli, shop))
    made = db.execute("SELECT * FROM tasks WHERE title = 'Archiviare la ricevuta F24'").fetchall()
    assert len(made) == 1 and made[0]["client_id"] == shop["alfa"]
    created = last_event(db, "task.created")
    completed = last_event(db, "task.completed")
    assert created["object"]["id"] == made[0]["id"]
    assert created["origin"] == {"event": completed["id"], "depth": 1}
    assert created["actor"]["email"] == ADMIN_EMAIL  # the rule's creator


def test_set_responsible_on_a_new_task_of_a_client(cli, db, shop):
    ok(add(cli, "A Staff Two", "--on", "task.created", "--if", f"client_id={shop['beta']}",
           "--do", "set-responsible", "--to", OTHER))  # fmt: skip
    alfa_task, beta_task = new_task(cli, shop), new_task(cli, shop, client="beta")
    responsible = dict(db.execute("SELECT id, responsible_id FROM tasks"))
    assert responsible[alfa_task] == shop["staff"] and responsible[beta_task] == shop["other"]
    updated = last_event(db, "task.updated")
    assert updated["changes"]["responsible_id"] == {"old": shop["staff"], "new": shop["other"]}


def test_sign_sends_the_template_to_the_clients_external_users(cli, db, shop):
    ok(add(cli, "Incarico firmato", "--on", "task.completed", "--do", "sign",
           "--sign-template", "Incarico"))  # fmt: skip
    complete(cli, new_task(cli, shop))
    request = db.execute("SELECT * FROM sign_requests").fetchone()
    assert request["client_id"] == shop["alfa"]
    signers = [r[0] for r in db.execute("SELECT user_id FROM sign_signers")]
    assert signers == [shop["mario"]]


def test_checklist_copies_a_task_templates_list_onto_the_task(cli, db, shop):
    model = new_task(cli, shop, "Modello")
    ok(cli("checklist", "add-list", str(model), "Documenti", as_user=STAFF))
    ok(cli("checklist", "add", str(model), "Fatture di acquisto", "--list", "Documenti",
           as_user=STAFF))  # fmt: skip
    ok(cli("checklist", "add-list", str(model), "Altro", as_user=STAFF))
    ok(cli("task", "template", "add", "dichiarazione", "--from-task", str(model), as_user=STAFF))
    ok(add(cli, "Documenti IVA", "--on", "task.created", "--if", "data.title=Dichiarazione IVA",
           "--do", "checklist", "--task-template", "dichiarazione", "--checklist", "documenti"))  # fmt: skip
    task = new_task(cli, shop, "Dichiarazione IVA")
    lists = [r[0] for r in db.execute("SELECT name FROM checklists WHERE task_id = ?", (task,))]
    assert lists == ["Documenti"]
    items = db.execute("SELECT ci.text FROM checklist_items ci JOIN checklists c"
                       " ON c.id = ci.checklist_id WHERE c.task_id = ?", (task,)).fetchall()  # fmt: skip
    assert [i[0] for i in items] == ["Fatture di acquisto"]


# --- conditions ----------------------------------------------------------------------------


EVENT = {
    "schema": 1, "id": 9, "kind": "task.completed", "client_id": 12, "origin": None,
    "actor": {"id": 3, "email": "giulia@sempi.test"}, "object": {"type": "task", "id": 42},
    "changes": {"status": {"old": "in_progress", "new": "completed"}},
    "data": {"title": "Invio F24", "high_priority": True, "modules": ["fatture", "f24"],
             "deadline": None},
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("client_id=12", True),
        ("client_id=13", False),
        ("actor.email=giulia@sempi.test", True),
        ("object.id=42", True),
        ("changes.status.new=completed", True),
        ("data.title=Invio F24", True),
        ("data.title=invio f24", False),  # case counts
        ("data.high_priority=true", True),
        ("data.deadline=null", True),
        ("data.modules=f24", True),  # a list: one element
        ("data.missing=x", False),
        ("changes.status=completed", False),  # an object never equals text
        ("origin=null", True),
    ],
)
def test_a_condition_compares_the_fields_json_value_as_text(text, holds):
    assert conditions.parse(text).holds(EVENT) is holds


CONDITION_TEXTS = [
    "client_id=12", "client_id=13", "object.id=42", "data.modules=f24", "data.modules=fatture",
    "data.title=Invio F24", "data.missing=x", "changes.status=completed", "origin=null",
]  # fmt: skip


@given(st.lists(st.lists(st.sampled_from(CONDITION_TEXTS), max_size=3), max_size=12))
def test_the_matcher_finds_the_rules_testing_each_would_in_their_order(rules):
    """conditions.Matcher files rules by their first condition; what it finds must be
    what testing every rule in turn finds (a list field finds a rule once)."""
    parsed = [(n, [conditions.parse(text) for text in texts]) for n, texts in enumerate(rules)]
    expected = [n for n, when in parsed if conditions.holds(when, EVENT)]
    assert conditions.Matcher(parsed).matching(EVENT) == expected


@given(st.text(max_size=60))
def test_any_condition_text_parses_or_is_refused_in_one_line(text):
    try:
        parsed = conditions.parse(text)
    except InvalidData as exc:
        assert exc.field == "--if" and "\n" not in str(exc)
        return
    assert parsed.path[0] in event_log.CONTRACT_KEYS
    assert conditions.load(conditions.dump([parsed])) == [parsed]  # kept as it was typed


@given(st.sampled_from(event_log.CONTRACT_KEYS), st.text(max_size=40))
def test_a_field_of_the_contract_with_any_value_parses_unless_it_has_control_characters(key, value):
    try:
        parsed = conditions.parse(f"{key}={value}")
    except InvalidData as exc:
        assert any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value), exc
        return
    assert parsed.value == value


# --- bad input at add: one line, the exit code, nothing written ----------------------------


@pytest.mark.parametrize(
    ("args", "code", "fragments"),
    [
        (["--on", "task.finished", "--do", "notify", "--to", STAFF], 6, ["--on", "task.finished"]),
        (
            ["--on", "task.completed", "--if", "status=completed", "--do", "notify", "--to", STAFF],
            6,
            ["--if", "status"],
        ),  # fmt: skip
        (
            ["--on", "task.completed", "--if", "data.title", "--do", "notify", "--to", STAFF],
            6,
            ["--if", "FIELD=VALUE"],
        ),  # fmt: skip
        (
            ["--on", "task.completed", "--do", "task", "--task-template", "nessuno"],
            6,
            ["--task-template", "nessuno"],
        ),  # fmt: skip
        (
            [
                "--on",
                "task.completed",
                "--do",
                "mail",
                "--mail-template",
                "saluti",
                "--to",
                "client",
            ],
            6,
            ["--mail-template", "saluti"],
        ),  # fmt: skip
        (
            [
                "--on",
                "task.completed",
                "--do",
                "mail",
                "--mail-template",
                "invitation",
                "--to",
                "client",
            ],
            6,
            ["--mail-template", "invitation"],
        ),  # fmt: skip
        (
            ["--on", "task.completed", "--do", "sign", "--sign-template", "Nessuno"],
            6,
            ["--sign-template", "Nessuno"],
        ),  # fmt: skip
        (
            ["--on", "task.completed", "--do", "notify", "--to", "nobody@sempi.test"],
            6,
            ["--to", "nobody@sempi.test"],
        ),  # fmt: skip
        (["--on", "task.completed", "--do", "notify", "--to", "role:boss"], 6, ["--to", "boss"]),
        (["--on", "task.completed", "--do", "notify"], 6, ["--to"]),
        (
            ["--on", "task.completed", "--do", "notify", "--to", STAFF, "--sign-template", "X"],
            6,
            ["--sign-template", "notify"],
        ),  # fmt: skip
        (["--on", "task.completed", "--do", "dance"], 6, ["--do", "dance"]),
        (
            ["--on", "client.updated", "--do", "set-responsible", "--to", STAFF],
            6,
            ["--do", "client.updated"],
        ),  # fmt: skip
        (["--on", "task.completed", "--do", "set-responsible", "--to", MARIO], 6, ["--to"]),
        (
            ["--on", "task.completed", "--do", "checklist", "--task-template", "nessuno"],
            6,
            ["--task-template"],
        ),  # fmt: skip
    ],
)
def test_bad_input_is_refused_in_one_line_and_nothing_is_written(cli, db, shop, args, code,
                                                                   fragments):  # fmt: skip
    audit_before = count(db, "audit_log")
    assert_one_line_error(add(cli, "regola", *args), code, *fragments)
    assert count(db, "automation_rules") == 0
    assert count(db, "audit_log") == audit_before


def test_a_name_is_taken_once_whatever_its_case(cli, db, shop):
    ok(add(cli, "F24", "--on", "task.completed", "--do", "notify", "--to", STAFF))
    assert_one_line_error(add(cli, "f24", "--on", "task.created", "--do", "notify",
                              "--to", STAFF), 4, "f24")  # fmt: skip
    assert count(db, "automation_rules") == 1


# --- list, show, enable, disable, remove -------------------------------------------------------


def test_a_disabled_rule_does_nothing_until_enabled_again(cli, db, shop):
    ok(add(cli, "Avvisa", "--on", "task.completed", "--do", "notify", "--to", STAFF))
    disabled = data(cli("--format", "json", "automation", "disable", "avvisa"))
    assert disabled["enabled"] is False
    complete(cli, new_task(cli, shop))
    assert inbox(db, shop["staff"]) == []
    ok(cli("automation", "enable", "Avvisa"))
    complete(cli, new_task(cli, shop))
    assert len(inbox(db, shop["staff"])) == 1
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE object_type ="
                                        " 'automation_rule' ORDER BY id")]  # fmt: skip
    assert actions[:3] == ["add", "disable", "enable"]


def test_list_show_and_remove(cli, db, shop):
    ok(add(cli, "Avvisa", "--on", "task.completed", "--if", "data.title=Invio F24",
           "--do", "notify", "--to", STAFF))  # fmt: skip
    listed = data(cli("--format", "json", "automation", "list"))
    assert [(r["name"], r["on"], r["if"], r["do"]) for r in listed] == [
        ("Avvisa", "task.completed", ["data.title=Invio F24"], "notify")
    ]
    shown = data(cli("--format", "json", "automation", "show", "AVVISA"))
    assert shown["params"] == {"to": [STAFF]} and shown["created_by"] == ADMIN_EMAIL
    table = ok(cli("automation", "show", "Avvisa")).stdout
    assert "data.title=Invio F24" in table and f"--to {STAFF}" in table
    assert_one_line_error(cli("automation", "remove", "Avvisa"), 2, "--yes")
    ok(cli("--yes", "automation", "remove", "Avvisa"))
    assert count(db, "automation_rules") == 0
    assert count(db, "audit_log", "action = 'remove' AND object_type = 'automation_rule'") == 1
    assert_one_line_error(cli("automation", "show", "Avvisa"), 3, "Avvisa")


def test_only_firm_administrators_manage_rules(cli, db, shop):
    ok(add(cli, "Avvisa", "--on", "task.completed", "--do", "notify", "--to", STAFF))
    for args in (["list"], ["show", "Avvisa"], ["disable", "Avvisa"], ["--yes", "remove"],
                 ["test", "Avvisa", "--event", "1"]):  # fmt: skip
        assert_one_line_error(cli("automation", *args, as_user=STAFF), 8 if args[0] != "--yes"
                              else 2)  # fmt: skip
    assert_one_line_error(add(cli, "Mia", "--on", "task.completed", "--do", "notify",
                              "--to", STAFF, as_user=STAFF), 8, "firm administrators")  # fmt: skip
    assert count(db, "automation_rules") == 1


# --- test --event: a dry run ---------------------------------------------------------------


def test_a_dry_run_says_what_the_action_would_do_and_keeps_nothing(cli, db, shop):
    ok(cli("task", "template", "add", "archiviazione", "--title", "Archiviare la ricevuta F24"))
    complete(cli, new_task(cli, shop))
    event = last_event(db, "task.completed")
    ok(add(cli, "Archivia", "--on", "task.completed", "--if", "data.title=Invio F24",
           "--do", "task", "--task-template", "archiviazione"))  # fmt: skip
    tasks, events = count(db, "tasks"), count(db, "events")
    result = data(cli("--format", "json", "automation", "test", "Archivia", "--event",
                      str(event["id"])))  # fmt: skip
    assert result["would_run"] is True
    assert result["conditions"] == [{"if": "data.title=Invio F24", "holds": True}]
    assert len(result["outcome"]["tasks"]) == 1
    assert (count(db, "tasks"), count(db, "events")) == (tasks, events)  # nothing kept
    created = last_event(db, "task.created")
    missed = data(cli("--format", "json", "automation", "test", "Archivia", "--event",
                      str(created["id"])))  # fmt: skip
    assert missed["kind_matches"] is False and missed["would_run"] is False
    shown = ok(cli("automation", "test", "Archivia", "--event", str(event["id"])))
    assert "nothing was kept" in shown.stderr


def test_a_dry_run_reports_an_action_that_would_fail(cli, db, shop):
    ok(add(cli, "Firma", "--on", "task.completed", "--do", "sign", "--sign-template", "Incarico"))
    complete(cli, new_task(cli, shop, client="beta"))
    db.execute("UPDATE users SET disabled_at = '2026-01-01T00:00:00Z' WHERE id = ?",
               (shop["bruno"],))  # fmt: skip
    db.commit()
    event = last_event(db, "task.completed")
    result = data(cli("--format", "json", "automation", "test", "Firma", "--event",
                      str(event["id"])))  # fmt: skip
    assert "no active external user" in result["outcome"]["error"]


# --- loops, failures, cost -------------------------------------------------------------------


def test_two_rules_that_set_each_other_off_stop_at_the_maximum_depth(cli, db, shop, caplog):
    ok(cli("task", "template", "add", "uno", "--title", "Uno"))
    ok(cli("task", "template", "add", "due", "--title", "Due"))
    ok(add(cli, "Uno fa Due", "--on", "task.created", "--if", "data.title=Uno",
           "--do", "task", "--task-template", "due"))  # fmt: skip
    ok(add(cli, "Due fa Uno", "--on", "task.created", "--if", "data.title=Due",
           "--do", "task", "--task-template", "uno"))  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="sempi_cli.automation"):
        made = cli("--format", "json", "task", "add", "Uno", "--client", str(shop["alfa"]),
                   as_user=STAFF)  # fmt: skip
    ok(made)
    assert made.stderr == ""  # the stop is logged, not printed on the person's terminal
    depths = [r[0] for r in db.execute("SELECT depth FROM events WHERE kind = 'task.created'"
                                       " ORDER BY id")]  # fmt: skip
    assert depths == list(range(event_log.MAX_DEPTH + 1))
    assert count(db, "tasks") == event_log.MAX_DEPTH + 1
    stopped = db.execute("SELECT * FROM audit_log WHERE action = 'automation_stopped'").fetchall()
    assert len(stopped) == 1
    assert json.loads(stopped[0]["details"])["depth"] == event_log.MAX_DEPTH
    assert any(r.levelno == logging.ERROR and "automation stopped" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_a_failing_action_keeps_the_persons_change_and_tells_the_rules_creator(cli, db, shop):
    ok(add(cli, "Firma", "--on", "task.completed", "--do", "sign", "--sign-template", "Incarico"))
    ok(add(cli, "Avvisa", "--on", "task.completed", "--do", "notify", "--to", STAFF))
    db.execute("UPDATE users SET disabled_at = '2026-01-01T00:00:00Z' WHERE id = ?",
               (shop["mario"],))  # fmt: skip
    db.commit()
    task = new_task(cli, shop)
    complete(cli, task)
    assert db.execute("SELECT status FROM tasks WHERE id = ?", (task,)).fetchone()[0] == "completed"
    assert count(db, "sign_requests") == 0
    assert len(inbox(db, shop["staff"])) == 1  # the next rule still ran
    failed = db.execute("SELECT * FROM audit_log WHERE action = 'automation_failed'").fetchone()
    assert "no active external user" in json.loads(failed["details"])["error"]
    admin_id = db.execute("SELECT id FROM users WHERE email = ?", (ADMIN_EMAIL,)).fetchone()[0]
    told = [r[0] for r in db.execute("SELECT text FROM notifications WHERE user_id = ?"
                                     " AND source LIKE 'automation-failed:%'", (admin_id,))]  # fmt: skip
    assert len(told) == 1 and "Firma" in told[0] and "no active external user" in told[0]


def test_a_rule_whose_creator_is_no_longer_an_administrator_does_not_act(cli, db, org, shop):
    org.user("capo@sempi.test", "Capo", "firm-admin")
    ok(add(cli, "Avvisa", "--on", "task.completed", "--do", "notify", "--to", STAFF,
           as_user="capo@sempi.test"))  # fmt: skip
    db.execute("UPDATE users SET role = 'staff' WHERE email = 'capo@sempi.test'")
    db.commit()
    complete(cli, new_task(cli, shop))
    assert inbox(db, shop["staff"]) == []
    assert count(db, "audit_log", "action = 'automation_failed'") == 1


def test_with_no_rule_for_its_kind_an_event_costs_one_query(db, shop, clock):
    """What every write asks (reactor.prepare) with no hook and no rule for the kind:
    the hooks' folder (one setting) and the kind's rules (one query), then nothing."""
    from sempi_cli.services.automation import reactor

    statements: list[str] = []
    db.set_trace_callback(statements.append)
    assert reactor.prepare(db, str(EVENT["kind"])) is None
    db.set_trace_callback(None)
    assert [s for s in statements if "automation_rules" in s] == statements[1:]
    assert len(statements) == 2 and "settings" in statements[0]


def test_set_responsible_on_a_deadlines_event_changes_the_deadlines_task(cli, db, shop, clock):
    from sempi_cli.store import write_transaction
    from tests.conftest import actor

    ok(add(cli, "Scadenze a Staff Two", "--on", "deadline.created", "--do", "set-responsible",
           "--to", OTHER))  # fmt: skip
    task = new_task(cli, shop, "F24 16/12/2026")
    with write_transaction(db):
        deadline = db.execute(
            "INSERT INTO deadlines (client_id, rule_id, period, nominal_date, due_date, task_id,"
            " created_at, updated_at) VALUES (?, 'F24', '2026-11', '2026-12-16', '2026-12-16', ?,"
            " 'now', 'now') RETURNING id",
            (shop["alfa"], task),
        ).fetchone()[0]
        event_log.record(db, clock, actor(db, ADMIN_EMAIL), "deadline.created", deadline,
                         shop["alfa"], data={"task_id": task})  # fmt: skip
    responsible = db.execute("SELECT responsible_id FROM tasks WHERE id = ?", (task,)).fetchone()
    assert responsible[0] == shop["other"]


def test_a_refused_consent_opens_a_task_as_the_guide_says(cli, db, shop):
    """docs/automation-rules.md, example 3, with the real commands."""
    db.execute("UPDATE clients SET smart_services = '[\"fattura-smart\"]' WHERE id = ?",
               (shop["alfa"],))  # fmt: skip
    db.commit()
    ok(cli("task", "template", "add", "consenso-negato", "--title",
           "Chiamare il cliente: consenso SMART negato"))  # fmt: skip
    ok(add(cli, "Consenso negato", "--on", "consent.answered", "--if", "data.response=no",
           "--do", "task", "--task-template", "consenso-negato"))  # fmt: skip
    ok(cli("consent", "answer", str(shop["alfa"]), "yes", as_user=MARIO))
    assert count(db, "tasks") == 0
    ok(cli("consent", "answer", str(shop["alfa"]), "no", as_user=MARIO))
    made = db.execute("SELECT client_id, title FROM tasks").fetchall()
    assert [tuple(t) for t in made] == [
        (shop["alfa"], "Chiamare il cliente: consenso SMART negato")
    ]


def test_a_new_client_signs_the_engagement_letter_as_the_guide_says(cli, db, shop):
    """docs/automation-rules.md, example 2, with the real commands."""
    from tests.conftest import piva

    ok(add(cli, "Lettera d'incarico", "--on", "client.onboarded", "--do", "sign",
           "--sign-template", "Incarico"))  # fmt: skip
    ok(cli("client-onboard", "add", "--name", "Gamma Costruzioni Srl", "--studio", "Studio Rossi",
           "--piva", piva(7), "-r", STAFF, "--external", "Laura Gialli <laura@gamma.test>"))  # fmt: skip
    client = db.execute("SELECT id FROM clients WHERE ragione_sociale = 'Gamma Costruzioni Srl'"
                        ).fetchone()[0]  # fmt: skip
    request = db.execute("SELECT id, client_id FROM sign_requests").fetchone()
    assert request["client_id"] == client
    signer = db.execute("SELECT u.email FROM sign_signers s JOIN users u ON u.id = s.user_id"
                        " WHERE s.request_id = ?", (request["id"],)).fetchone()  # fmt: skip
    assert signer[0] == "laura@gamma.test"


@given(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False))
def test_a_scalar_compares_as_json_writes_it(value):
    """conditions._as_text, made quick for the common types, still says what json does."""
    from sempi_cli.services.automation.conditions import _as_text

    assert _as_text(value) == json.dumps(value)
