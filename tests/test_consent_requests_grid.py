"""The practice's option (`consent settings`) and the request grid (`consent list`):
statuses from the outbox and the answers, filters, paging, formats, who sees what,
bad input."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from tests.conftest import ADMIN_EMAIL, store_digest
from tests.helpers import assert_one_line_error, consent_answer, data, ok

SADMIN, OPERATOR, VADMIN = "sadmin@rossi.test", "op@rossi.test", "vadmin@verdi.test"
STAFF, EXT = "staff@sempi.test", "ext@c1.test"


@pytest.fixture
def firm(org) -> dict:
    """Studio Rossi (SADMIN, OPERATOR in client 1's group) with clients 1..6, each with
    a SMART service and an e-mail; client 1 nicknamed "uno"; Studio Verdi (VADMIN)."""
    rossi = org.practice("Studio Rossi")
    org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga", "studio-operator", studio=rossi)
    org.user(VADMIN, "Vera", "studio-admin", studio="Studio Verdi")
    org.staff(STAFF)
    ids = [
        org.client(
            f"Cliente {n} Srl",
            rossi,
            n,
            email=f"c{n}@clienti.test",
            smart_services=["fattura-smart"],
            **({"nickname": "uno"} if n == 1 else {}),
        )
        for n in range(1, 7)
    ]
    org.user(EXT, "Ezio", "external", client=ids[0])
    org.group(ids[0], OPERATOR)
    return {"rossi": rossi, "clients": ids}


def grid(cli, *args, as_user=SADMIN):
    return data(
        cli("consent", "list", "--studio", "Studio Rossi", *args, "--json", as_user=as_user)
    )


def set_mail(db, client_id, status):
    """What the delivery job would have done to the request's e-mail."""
    sent = "2026-11-16T10:00:00+00:00" if status == "sent" else None
    db.execute(
        "UPDATE mail_outbox SET status = ?, sent_at = ?, next_attempt_at = NULL"
        " WHERE id = (SELECT mail_id FROM consent_requests WHERE client_id = ?)",
        (status, sent, client_id),
    )
    db.commit()


@pytest.fixture
def states(cli, db, clock, firm) -> list[int]:
    """c1: requested, delivered, consented by its own user; c2: requested, failed;
    c3: requested (queued), refused on behalf by PEC; c4: requested a day later,
    pending; c5: never requested, pending; c6: never requested, answered yes."""
    c = firm["clients"]
    ok(cli("consent", "request", "--client", str(c[0]), "--client", str(c[1]),
           "--client", str(c[2]), "--yes", as_user=SADMIN))  # fmt: skip
    clock.advance(timedelta(days=1))
    ok(cli("consent", "request", "--client", str(c[3]), as_user=SADMIN))
    set_mail(db, c[0], "sent")
    set_mail(db, c[1], "failed")
    consent_answer(db, c[0], "yes", EXT, "2026-11-18T08:00:00+00:00")
    consent_answer(
        db, c[2], "no", SADMIN, "2026-11-20T08:00:00+00:00", on_behalf=True, channel="pec"
    )
    consent_answer(
        db, c[5], "yes", SADMIN, "2026-11-21T08:00:00+00:00", on_behalf=True, channel="paper"
    )
    return c


def test_the_grid_shows_each_clients_request_and_answer(cli, states):
    rows = grid(cli)
    assert [r["client_id"] for r in rows] == states
    by = {r["client_id"]: r for r in rows}
    first = by[states[0]]
    assert first["code"] == "uno" and first["name"] == "Cliente 1 Srl"
    assert first["smart_services"] == ["fattura-smart"]
    assert first["requested_at"] == "2026-11-16T09:30:00+00:00"
    assert [
        (by[c]["request_status"], by[c]["response"], by[c]["answered_by"], by[c]["answered_how"])
        for c in states
    ] == [
        ("delivered", "consented", EXT, "sempi"),
        ("failed", "pending", None, None),
        ("sent", "refused", SADMIN, "on behalf: pec"),
        ("sent", "pending", None, None),
        ("not_requested", "pending", None, None),
        ("not_requested", "consented", SADMIN, "on behalf: paper"),
    ]
    assert by[states[1]]["code"] != "uno"  # no nickname: its partita IVA
    assert by[states[2]]["answered_at"] == "2026-11-20T08:00:00+00:00"


def test_the_latest_answer_rules(cli, db, states):
    consent_answer(db, states[0], "no", EXT, "2026-11-25T08:00:00+00:00")
    row = grid(cli, "--client", str(states[0]))[0]
    assert (row["response"], row["answered_at"]) == ("refused", "2026-11-25T08:00:00+00:00")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--status", "not-requested"], [4, 5]),
        (["--status", "not requested"], [4, 5]),
        (["--status", "sent,failed"], [1, 2, 3]),
        (["--status", "delivered", "--status", "failed"], [0, 1]),
        (["--response", "pending"], [1, 3, 4]),
        (["--response", "consented"], [0, 5]),
        (["--response", "Refused"], [2]),
        (["--requested-from", "17/11/2026"], [3]),
        (["--requested-to", "16/11/2026"], [0, 1, 2]),
        (["--answered-from", "2026-11-19", "--answered-to", "2026-11-20"], [2]),
        (["--response", "consented", "--status", "not_requested"], [5]),
        (["--limit", "2"], [0, 1]),
        (["--limit", "2", "--offset", "2"], [2, 3]),
        (["--offset", "5"], [5]),
    ],
)
def test_filters_and_paging(cli, states, args, expected):
    assert [r["client_id"] for r in grid(cli, *args)] == [states[i] for i in expected]


def test_client_filter_and_csv(cli, states):
    result = ok(
        cli(
            "--format",
            "csv",
            "consent",
            "list",
            "--studio",
            "Studio Rossi",
            "--client",
            str(states[2]),
            as_user=SADMIN,
        )  # fmt: skip
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1
    assert rows[0]["response"] == "refused" and rows[0]["answered_how"] == "on behalf: pec"
    assert list(rows[0])[:3] == ["client_id", "code", "name"]


def test_the_table_has_one_row_per_client(cli, states):
    table = ok(cli("consent", "list", "--studio", "Studio Rossi", as_user=SADMIN)).stdout
    assert "not_requested" in table and "Cliente 6 Srl" in table


# --- who sees what -----------------------------------------------------------------


def test_an_operator_sees_only_the_clients_they_manage(cli, states):
    assert [r["client_id"] for r in grid(cli, as_user=OPERATOR)] == [states[0]]


def test_staff_in_no_work_group_see_an_empty_grid(cli, states):
    assert grid(cli, as_user=STAFF) == []


def test_a_firm_administrator_sees_every_client(cli, states):
    assert len(grid(cli, as_user=ADMIN_EMAIL)) == 6


def test_another_practices_administrator_does_not_find_the_practice(cli, states):
    result = cli("consent", "list", "--studio", "Studio Rossi", as_user=VADMIN)
    assert_one_line_error(result, 3, "practice 'Studio Rossi' not found")


def test_a_clients_user_may_not_read_the_grid(cli, states):
    result = cli("consent", "list", "--studio", "Studio Rossi", as_user=EXT)
    assert_one_line_error(result, 8)


# --- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--status", "lost"], 6, "--status: 'lost' is not a status"),
        (["--response", "maybe"], 6, "--response: 'maybe'"),
        (["--requested-from", "31/02/2026"], 6, "--requested-from"),
        (["--answered-to", "someday"], 6, "--answered-to"),
        (["--requested-from", "2026-11-20", "--requested-to", "2026-11-10"], 6, "--requested-to"),
        (["--limit", "0"], 6, "--limit"),
        (["--offset", "-1"], 6, "--offset"),
    ],
)
def test_bad_input_is_one_line(cli, states, args, code, fragment):
    result = cli("consent", "list", "--studio", "Studio Rossi", *args, as_user=SADMIN)
    assert_one_line_error(result, code, fragment)


def test_an_unknown_practice_is_not_found(cli, firm):
    assert_one_line_error(cli("consent", "list", "--studio", "Nessuno"), 3, "'Nessuno'")


# --- the practice's option ---------------------------------------------------------


def settings(cli, *args, as_user=SADMIN):
    return cli("consent", "settings", "--studio", "Studio Rossi", *args, "--json", as_user=as_user)


def test_the_option_is_off_until_the_administrator_turns_it_on(cli, db, firm):
    from sempi_cli.services.consent.options import option_of

    shown = data(settings(cli))
    assert (shown["enabled"], shown["operators"], shown["changed_at"]) == (False, False, None)
    assert option_of(db, firm["rossi"]) == {"enabled": False, "operators": False}
    changed = data(settings(cli, "--enable"))
    assert (changed["enabled"], changed["operators"], changed["changed_by"]) == (
        True,
        False,
        SADMIN,
    )
    both = data(settings(cli, "--operators", "yes"))
    assert (both["enabled"], both["operators"]) == (True, True)
    assert option_of(db, firm["rossi"]) == {"enabled": True, "operators": True}
    off = data(settings(cli, "--disable"))
    assert (off["enabled"], off["operators"]) == (False, True)
    assert option_of(db, firm["rossi"]) == {"enabled": False, "operators": True}
    assert db.execute("SELECT count(*) FROM smart_options").fetchone()[0] == 1
    audit = db.execute(
        "SELECT details FROM audit_log WHERE action = 'set_option' ORDER BY id"
    ).fetchall()
    assert len(audit) == 3 and '"enabled": {"new": false, "old": true}' in audit[2][0]


def test_a_firm_administrator_changes_any_practices_option(cli, firm):
    shown = data(settings(cli, "--enable", "--operators", "no", as_user=ADMIN_EMAIL))
    assert (shown["enabled"], shown["operators"]) == (True, False)


@pytest.mark.parametrize("who", [OPERATOR, STAFF])
def test_others_may_read_but_not_change_the_option(cli, store_path, firm, who):
    assert data(settings(cli, as_user=who))["enabled"] is False
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(settings(cli, "--enable", as_user=who), 8, "administrator")
    assert store_digest(store_path, ignore=("audit_log",)) == before


def test_other_practices_and_clients_users_get_nothing(cli, firm):
    assert_one_line_error(settings(cli, "--enable", as_user=VADMIN), 3, "not found")
    assert_one_line_error(settings(cli, as_user=EXT), 8)


def test_a_bad_operators_word_is_one_line_and_writes_nothing(cli, store_path, firm):
    before = store_digest(store_path)
    assert_one_line_error(settings(cli, "--enable", "--operators", "maybe"), 6, "--operators")
    assert store_digest(store_path) == before
