"""Work changing hands: a client's new responsible takes over its fiscal deadlines
to come (not the started ones, not those reassigned by hand), and `task reassign`
moves a person's tasks to a colleague."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest

from tests.conftest import store_digest
from tests.helpers import assert_one_line_error, ok

ANNA, MARCO, LEA = "anna@sempi.test", "marco@sempi.test", "lea@sempi.test"
VERDI_OP = "op@verdi.test"


@pytest.fixture
def world(org, cli):
    org.staff(ANNA, MARCO, LEA)
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(VERDI_OP, role="studio-operator", studio=verdi)
    alfa = org.client(
        "Alfa Srl", rossi, 1, responsible=ANNA, fiscal_profile={"iva_periodicity": "mensile"}
    )
    ok(cli("scheduler", "run", "--from", "2026-11-01", "--to", "2027-03-31"))
    return {"alfa": alfa, "rossi": rossi}


def deadline_tasks(db, client):
    return {
        row["external_key"].split(":", 2)[2]: row
        for row in db.execute(
            "SELECT t.*, u.email AS resp FROM tasks t JOIN users u ON u.id = t.responsible_id"
            " WHERE t.client_id = ? AND t.external_key LIKE 'fiscal:%'",
            (client,),
        )
    }


def test_a_new_responsible_takes_over_the_deadlines_to_come(cli, db, world, clock):
    clock.advance(timedelta(days=3))  # 19/11/2026: the October VAT (due 16/11) is past
    before = deadline_tasks(db, world["alfa"])
    past = "IVA-M:2026-10"  # due 16/11/2026, before the test's today
    started, by_hand = "IVA-M:2026-12", "IVA-M:2027-01"
    assert before[past]["deadline"] < clock.now().astimezone(UTC).isoformat()
    ok(cli("task", "start", str(before[started]["id"]), as_user=ANNA))
    ok(cli("task", "edit", str(before[by_hand]["id"]), "--responsible", LEA))

    ok(cli("client", "edit", str(world["alfa"]), "--responsible", MARCO))

    after = deadline_tasks(db, world["alfa"])
    assert after[past]["resp"] == ANNA  # past: stays
    assert after[started]["resp"] == ANNA  # started: stays
    assert after[by_hand]["resp"] == LEA  # reassigned by hand: stays
    moved = {key for key, row in after.items() if row["resp"] == MARCO}
    assert moved and all(after[k]["status"] == "pending" for k in moved)
    assert {"IVA-M:2026-11", "IVA-M:2027-02"} <= moved
    history = json.loads(cli("task", "history", str(after["IVA-M:2027-02"]["id"]), "--json").stdout)
    assert any(h["action"] == "follow_client" for h in history)


def test_reassign_moves_a_persons_tasks_to_a_colleague(cli, db, world, store_path):
    own = json.loads(cli("task", "add", "Bilancio", "-r", ANNA, "--json").stdout)[0]["id"]
    done = json.loads(cli("task", "add", "Vecchio", "-r", ANNA, "--json").stdout)[0]["id"]
    ok(cli("task", "done", str(done), as_user=ANNA))
    held = {
        r["id"]
        for r in db.execute(
            "SELECT id FROM tasks WHERE responsible_id = (SELECT id FROM users WHERE email = ?)",
            (ANNA,),
        )
    }
    before = store_digest(store_path)
    preview = json.loads(
        cli(
            "task", "reassign", "--from", ANNA, "--to", MARCO, "--open", "--dry-run", "--json"
        ).stdout
    )
    assert store_digest(store_path) == before
    assert {r["id"] for r in preview} == held - {done}
    assert_one_line_error(
        cli("task", "reassign", "--from", ANNA, "--to", MARCO, "--open"), 2, "--yes"
    )
    moved = json.loads(
        cli("task", "reassign", "--from", ANNA, "--to", MARCO, "--open", "--yes", "--json").stdout
    )
    assert {r["id"] for r in moved} == held - {done}
    shown = json.loads(cli("task", "show", str(own), "--json").stdout)
    assert shown["responsible"] == MARCO
    assert json.loads(cli("task", "show", str(done), "--json").stdout)["responsible"] == ANNA


def test_reassign_refuses_what_it_must(cli, world, store_path):
    before = store_digest(store_path, ("audit_log",))  # a refusal is audited
    assert_one_line_error(cli("task", "reassign", "--from", ANNA, "--to", ANNA), 6, "--to")
    assert_one_line_error(
        cli("task", "reassign", "--from", "ghost@x.it", "--to", ANNA), 6, "--from"
    )
    assert_one_line_error(cli("task", "reassign", "--from", MARCO, "--to", ANNA), 3, "no task")
    # Alfa is Studio Rossi's: Studio Verdi's operator cannot take its deadlines.
    line = assert_one_line_error(
        cli("task", "reassign", "--from", ANNA, "--to", VERDI_OP, "--yes"), 6, "--to"
    )
    assert "another practice" in line
    assert_one_line_error(cli("task", "reassign", "--from", ANNA, "--to", MARCO, as_user=LEA), 8)
    assert store_digest(store_path, ("audit_log",)) == before
