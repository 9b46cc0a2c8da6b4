"""A task template's signing rule (`task template edit --sign-on-status S
--sign-template T`, services/signing/on_status.py): a task of the template that
reaches S sends T for signature to its client's external users; when it cannot,
the task still moves and its responsible is told why."""

# ruff: noqa: F811 (office, imported from test_signing_requests, is a fixture)
from __future__ import annotations

import json

import pytest

from tests.conftest import actor
from tests.helpers import assert_one_line_error, data, ok
from tests.test_signing_requests import MARIO, STAFF, office  # noqa: F401 (a fixture)


@pytest.fixture
def template(cli, office):
    ok(cli("task", "template", "add", "incarico", "--title", "Lettera d'incarico",
           "--client", str(office["alfa"]), as_user=STAFF))  # fmt: skip
    return "incarico"


def rule(cli, *args: str):
    return cli("--format", "json", "task", "template", "edit", "incarico", *args, as_user=STAFF)


def one_off(cli, office, client: str | None = None) -> int:
    args = ["--format", "json", "task", "add", "--template", "incarico"]
    if client:
        args += ["--client", client]
    made = data(cli(*args, as_user=STAFF))
    return (made[0] if isinstance(made, list) else made)["id"]


def test_completing_the_task_sends_the_document_to_the_clients_external_user(
    cli,
    db,
    office,
    template,
):
    changed = data(rule(cli, "--sign-on-status", "completed", "--sign-template", "Incarico"))
    assert changed["changes"]["sign_on_status"] == {
        "old": None, "new": {"status": "completed", "template": "Incarico"}
    }  # fmt: skip
    shown = data(cli("--format", "json", "task", "template", "show", "incarico", as_user=STAFF))
    assert shown["sign_on_status"] == {"status": "completed", "template": "Incarico"}
    task = one_off(cli, office)
    ok(cli("task", "start", str(task), as_user=STAFF))
    assert db.execute("SELECT count(*) FROM sign_requests").fetchone()[0] == 0  # not yet
    done = data(cli("--format", "json", "task", "done", str(task), as_user=STAFF))
    request_id = (done[0] if isinstance(done, list) else done)["sign_request"]
    row = db.execute("SELECT * FROM sign_requests WHERE id = ?", (request_id,)).fetchone()
    assert row["client_id"] == office["alfa"] and row["created_by"] == office["staff"]
    signers = db.execute(
        "SELECT user_id FROM sign_signers WHERE request_id = ?", (request_id,)
    ).fetchall()
    assert [s[0] for s in signers] == [office["mario"]]
    listed = data(cli("--format", "json", "sign", "list", as_user=MARIO))
    assert [r["id"] for r in listed] == [request_id]


def test_a_status_the_rule_does_not_name_sends_nothing(cli, db, office, template):
    ok(rule(cli, "--sign-on-status", "in-progress", "--sign-template", "Incarico"))
    task = one_off(cli, office)
    ok(cli("task", "done", str(task), as_user=STAFF))
    assert db.execute("SELECT count(*) FROM sign_requests").fetchone()[0] == 0


def test_a_client_without_external_users_tells_the_responsible_and_the_task_moves(
    cli,
    db,
    office,
    template,
):
    ok(rule(cli, "--sign-on-status", "completed", "--sign-template", "Incarico"))
    db.execute("UPDATE users SET disabled_at = '2026-01-01T00:00:00Z' WHERE id = ?",
               (office["mario"],))  # fmt: skip
    db.commit()
    task = one_off(cli, office)
    done = data(cli("--format", "json", "task", "done", str(task), as_user=STAFF))
    result = done[0] if isinstance(done, list) else done
    assert result["status"] == "completed"
    assert "no active external user" in result["sign_problem"]
    assert db.execute("SELECT count(*) FROM sign_requests").fetchone()[0] == 0
    notices = db.execute(
        "SELECT text FROM notifications WHERE user_id = ? AND kind = 'signature'",
        (office["staff"],),
    ).fetchall()
    assert len(notices) == 1 and "was not sent" in notices[0][0]


def test_the_rule_is_cleared_and_its_sign_template_then_removable(cli, db, office, template):
    ok(rule(cli, "--sign-on-status", "completed", "--sign-template", "Incarico"))
    refused = cli("sign", "template", "remove", "Incarico", "--yes", as_user=STAFF)
    assert "incarico" in assert_one_line_error(refused, 5, "task template")
    cleared = data(rule(cli, "--sign-on-status", ""))
    assert cleared["changes"]["sign_on_status"]["new"] is None
    assert db.execute("SELECT count(*) FROM sign_on_status").fetchone()[0] == 0
    ok(cli("sign", "template", "remove", "Incarico", "--yes", as_user=STAFF))


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--sign-on-status", "finished", "--sign-template", "Incarico"], "--sign-on-status"),
        (["--sign-on-status", "completed"], "--sign-template"),
        (["--sign-template", "Incarico"], "--sign-on-status"),
        (["--sign-on-status", "", "--sign-template", "Incarico"], "--sign-template"),
    ],
)
def test_bad_rules_are_refused_naming_the_option(cli, db, office, template, args, field):
    before = db.execute("SELECT updated_at FROM task_templates").fetchone()[0]
    assert_one_line_error(rule(cli, *args), 6, field)
    assert db.execute("SELECT count(*) FROM sign_on_status").fetchone()[0] == 0
    assert db.execute("SELECT updated_at FROM task_templates").fetchone()[0] == before


def test_an_unknown_sign_template_is_not_found(cli, db, office, template):
    assert_one_line_error(
        rule(cli, "--sign-on-status", "completed", "--sign-template", "Nessuno"), 3, "Nessuno"
    )
    assert db.execute("SELECT count(*) FROM sign_on_status").fetchone()[0] == 0


def test_a_dry_run_of_the_task_change_sends_nothing(cli, db, office, template):
    ok(rule(cli, "--sign-on-status", "completed", "--sign-template", "Incarico"))
    task = one_off(cli, office)
    files = db.execute("SELECT count(*) FROM documents").fetchone()[0]
    done = data(cli("--format", "json", "task", "done", str(task), "--dry-run", as_user=STAFF))
    assert (done[0] if isinstance(done, list) else done)["sign_request"]
    assert db.execute("SELECT count(*) FROM sign_requests").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == files
    assert db.execute("SELECT status FROM tasks WHERE id = ?", (task,)).fetchone()[0] != (
        "completed"
    )


def test_the_rule_is_in_the_templates_audit_entry(cli, db, clock, office, template):
    from sempi_cli.services.templates.templates import TemplateService

    ok(rule(cli, "--sign-on-status", "completed", "--sign-template", "Incarico"))
    details = db.execute(
        "SELECT details FROM audit_log WHERE object_type = 'task_template' AND action = 'edit'"
    ).fetchone()[0]
    assert json.loads(details)["changes"]["sign_on_status"]["new"]["template"] == "Incarico"
    shown = TemplateService(db, clock, actor(db, STAFF)).show("incarico")
    assert shown["sign_on_status"]["status"] == "completed"


def test_a_recurring_instance_follows_its_templates_rule(cli, db, office, template):
    ok(rule(cli, "--sign-on-status", "completed", "--sign-template", "Incarico"))
    ok(cli("task", "recur", "set", "incarico", "--freq", "yearly", "--start", "2026-11-16",
           as_user=STAFF))  # fmt: skip
    ok(cli("task", "recur", "run", as_user=STAFF))
    [task] = db.execute("SELECT id FROM tasks WHERE template_id IS NOT NULL").fetchall()
    done = data(cli("--format", "json", "task", "done", str(task[0]), as_user=STAFF))
    assert (done[0] if isinstance(done, list) else done)["sign_request"] == 1
