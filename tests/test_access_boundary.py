"""The boundary between practices, as a table of cases: every path that grants a
role on a client's work × every kind of grantee × same or other practice.

A practice user only ever reaches the clients of their own practice; an external
user only their own client; firm users reach every client (access.outside_reason).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import store_digest
from tests.helpers import ADMIN_EMAIL, assert_one_line_error, ok

STAFF = "staff@firm.test"
ROSSI_ADMIN = "titolare@rossi.test"
ROSSI_OP = "operatore@rossi.test"
VERDI_ADMIN = "titolare@verdi.test"
VERDI_OP = "operatore@verdi.test"
ALFA_EXT = "mario@alfa.test"  # external user of Alfa (Studio Rossi)
GAMMA_EXT = "luca@gamma.test"  # external user of Gamma (Studio Verdi)


@pytest.fixture
def world(org) -> dict[str, int]:
    org.staff(STAFF)
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(ROSSI_ADMIN, role="studio-admin", studio=rossi)
    org.user(ROSSI_OP, role="studio-operator", studio=rossi)
    org.user(VERDI_ADMIN, role="studio-admin", studio=verdi)
    org.user(VERDI_OP, role="studio-operator", studio=verdi)
    alfa = org.client("Alfa Srl", rossi, 1, responsible=STAFF)
    gamma = org.client("Gamma Srl", verdi, 2, responsible=STAFF)
    org.user(ALFA_EXT, role="external", client=alfa)
    org.user(GAMMA_EXT, role="external", client=gamma)
    org.group(alfa, ROSSI_OP)  # STAFF (responsible) and ALFA_EXT are in it already
    return {"alfa": alfa, "gamma": gamma}


# Who may be given a role on Alfa's work (a client of Studio Rossi).
GRANTEES = {
    STAFF: True,
    ROSSI_ADMIN: True,
    ROSSI_OP: True,
    ALFA_EXT: True,
    VERDI_ADMIN: False,
    VERDI_OP: False,
    GAMMA_EXT: False,
}


def _task(cli, client: int) -> int:
    return ok(cli("task", "add", "F24 marzo", "-c", str(client), "--json"), json=True)[0]["id"]


def _item(cli, task_id: int) -> int:
    return ok(cli("checklist", "add", str(task_id), "Controllo", "--json"), json=True)["id"]


# path -> a function (cli, world, grantee) giving the CLI arguments that grant the role
PATHS = {
    "task add --participant": lambda cli, w, who: [
        "task", "add", "Nuovo", "-c", str(w["alfa"]), "--participant", who,
    ],
    "task add --observer": lambda cli, w, who: [
        "task", "add", "Nuovo", "-c", str(w["alfa"]), "--observer", who,
    ],
    "task edit --add-participant": lambda cli, w, who: [
        "task", "edit", str(_task(cli, w["alfa"])), "--add-participant", who,
    ],
    "task edit --add-observer": lambda cli, w, who: [
        "task", "edit", str(_task(cli, w["alfa"])), "--add-observer", who,
    ],
    "checklist member": lambda cli, w, who: [
        "checklist", "member", "add", str(_item(cli, _task(cli, w["alfa"]))), who,
    ],
    "group add": lambda cli, w, who: ["group", "add-member", str(w["alfa"]), who],
    "template --participant": lambda cli, w, who: [
        "task", "template", "add", "tpl", "--title", "F24", "--client", str(w["alfa"]),
        "--participant", who,
    ],
}  # fmt: skip


@pytest.mark.parametrize("grantee", list(GRANTEES))
@pytest.mark.parametrize("path", list(PATHS))
def test_who_may_be_given_a_role_on_a_clients_work(cli, world, store_path, path, grantee):
    args = PATHS[path](cli, world, grantee)
    before = store_digest(store_path)
    result = cli(*args)
    if path == "group add" and grantee in (ALFA_EXT, ROSSI_OP, STAFF):
        assert result.exit_code == 4  # already in Alfa's group: allowed, nothing new
    elif GRANTEES[grantee]:
        assert result.exit_code == 0, (path, grantee, result.stderr)
    else:
        line = assert_one_line_error(result, 6, grantee)
        assert "another practice" in line or "another client" in line
        assert store_digest(store_path) == before


@pytest.mark.parametrize("grantee", [VERDI_ADMIN, VERDI_OP])
def test_a_responsible_across_practices_is_refused(cli, world, grantee):
    result = cli("task", "add", "X", "-c", str(world["alfa"]), "--responsible", grantee)
    assert_one_line_error(result, 6, "--responsible", "another practice")


def test_moving_a_task_to_another_practices_client_keeps_its_people_in_reach(cli, world):
    """Its participants came with the old client; the new one must be within their reach."""
    task_id = _task(cli, world["alfa"])
    ok(cli("task", "edit", str(task_id), "--add-participant", ROSSI_OP))
    result = cli("task", "edit", str(task_id), "--client", str(world["gamma"]))
    assert_one_line_error(result, 6, "--client", ROSSI_OP, "another practice")
    # Item members count too.
    other = _task(cli, world["alfa"])
    ok(cli("checklist", "member", "add", str(_item(cli, other)), ALFA_EXT))
    assert_one_line_error(cli("task", "edit", str(other), "--client", str(world["gamma"])), 6)


def test_an_external_user_is_never_given_work_of_no_client(cli, world):
    result = cli("task", "add", "Interno", "--participant", ALFA_EXT)
    assert_one_line_error(result, 6, "--participant", "external user")


def test_a_role_granted_behind_the_tools_back_shows_nothing(cli, world, db):
    """Rows made before the rule (or written to the file directly) give nothing across
    the boundary: show is 'not found', the list leaves the task out, and doctor and
    db check report them without deleting them."""
    task_id = _task(cli, world["alfa"])
    ok(cli("task", "comment", str(task_id), "Riservato"))
    item = _item(cli, task_id)
    verdi_op = db.execute("SELECT id FROM users WHERE email = ?", (VERDI_OP,)).fetchone()[0]
    gamma_ext = db.execute("SELECT id FROM users WHERE email = ?", (GAMMA_EXT,)).fetchone()[0]
    db.execute(
        "INSERT INTO task_members (task_id, user_id, role) VALUES (?, ?, 'participant')",
        (task_id, verdi_op),
    )
    db.execute(
        "INSERT INTO checklist_item_members (item_id, user_id, role) VALUES (?, ?, 'observer')",
        (item, gamma_ext),
    )
    for who in (VERDI_OP, GAMMA_EXT):
        for args in (
            ("task", "show", str(task_id)),
            ("task", "comments", str(task_id)),
            ("task", "history", str(task_id)),
            ("checklist", "list", str(task_id)),
            ("checklist", "show", str(item)),
        ):
            assert_one_line_error(cli(*args, as_user=who), 3)
        listed = ok(cli("task", "list", "--all", "--json", as_user=who), json=True)
        assert task_id not in [t["id"] for t in listed]
    doctor = {r["check"]: r for r in json.loads(cli("doctor", "--json").stdout)}
    assert doctor["practice_boundary"]["status"] == "fail"
    assert VERDI_OP in doctor["practice_boundary"]["detail"]
    check = cli("db", "check", "--json")
    assert check.exit_code == 10
    problems = json.dumps(json.loads(check.stdout))
    assert VERDI_OP in problems and GAMMA_EXT in problems
    assert (
        db.execute("SELECT count(*) FROM task_members WHERE user_id = ?", (verdi_op,)).fetchone()[0]
        == 1
    )


def test_the_firm_administrator_still_sees_everything(cli, world):
    task_id = _task(cli, world["gamma"])
    assert (
        ok(cli("task", "show", str(task_id), "--json", as_user=ADMIN_EMAIL), json=True)["id"]
        == task_id
    )
