"""Issue 16, the coupon grid: `coupon clients --studio S` lists every conto terzi client
of the practice (and any client with a coupon account), with its licence's state in
words, licence type, the account's nickname and e-mail, the term's last day and the
usage; filters by state and expiry, paging, CSV/JSON with the numbers, bars on a
terminal, and who sees what."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.services.coupons import rules
from sempi_cli.services.coupons.grid import COLUMNS, CouponGrid, GridQuery
from tests.conftest import ADMIN_EMAIL, actor, cf_person, piva
from tests.helpers import assert_one_line_error, coupon_link, data, ok

SADMIN = "sadmin@rossi.test"
OPERATOR = "op@rossi.test"
RESP = "resp@sempi.test"
VERDI_ADMIN = "sadmin@verdi.test"
EXTERNAL = "ext@cliente.test"
ROSSI = "Studio Rossi"


def link(db, client_id: int, **kwargs) -> None:
    coupon_link(db, client_id, at="2025-01-10T09:00:00+00:00", **kwargs)


@pytest.fixture
def firm(org, db) -> dict:
    """Studio Rossi's clients in every state; one of Studio Verdi; RESP, a staff member,
    in the work groups of Alfa and Beta only."""
    rossi, verdi = org.practice(ROSSI), org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=rossi)
    org.user(VERDI_ADMIN, "Vera Verdi", "studio-admin", studio=verdi)
    org.user(RESP, "Rita Resp", "staff")
    ids = {
        "migratable": org.client("Migrabile Srl", rossi, 1, conto_terzi=True),
        "active": org.client("Alfa Srl", rossi, 2, conto_terzi=True, responsible=RESP),
        "expired": org.client("Beta Srl", rossi, 3, conto_terzi=True, responsible=RESP),
        "unlinked": org.client("Sciolta Srl", rossi, 4, conto_terzi=True),
        "own_licence": org.client("Propria Srl", rossi, 5, conto_terzi=True, own_licence=True),
        "removed": org.client("Rimossa Srl", rossi, 6, conto_terzi=True),
        "no_piva": org.client("Senza Piva", rossi, 7, conto_terzi=True),
        "not_conto_terzi": org.client("Normale Srl", rossi, 8),
        "was_conto_terzi": org.client("Ex Srl", rossi, 9),
        "verde": org.client("Verde Srl", verdi, 10, conto_terzi=True),
    }
    db.execute("UPDATE clients SET removed_at = '2026-10-01T08:00:00+00:00' WHERE id = ?",
               (ids["removed"],))  # fmt: skip
    db.execute(
        "UPDATE clients SET partita_iva = NULL, codice_fiscale = ? WHERE id = ?",
        (cf_person(7), ids["no_piva"]),
    )
    link(db, ids["active"], nickname="alfa-cloud", documents=2160, contacts=5600)
    link(db, ids["expired"], ends_on="2025-12-31", licence="complete")
    link(db, ids["unlinked"], unlinked=True)
    link(db, ids["was_conto_terzi"], ends_on="2027-12-31")  # an account: listed anyway
    org.user(EXTERNAL, "Esterno", "external", client=ids["active"])
    return ids


def grid(cli, *extra: str, as_user: str = SADMIN, fmt: str = "json"):
    return cli("--format", fmt, "coupon", "clients", "--studio", ROSSI, *extra, as_user=as_user)


def by_id(rows: list[dict]) -> dict[int, dict]:
    return {r["client_id"]: r for r in rows}


def test_every_state_appears_with_its_words(cli, firm):
    rows = by_id(data(grid(cli)))
    expected = {
        "migratable": ("migratable", "migratable"),
        "active": ("active", "active until 2026-12-31"),
        "expired": ("expired", "expired on 2025-12-31"),
        "unlinked": ("unlinked", "unlinked"),
        "own_licence": ("own_licence", "own licence"),
        "removed": ("not_eligible", "not eligible: the client was removed"),
        "no_piva": (
            "not_eligible",
            "not eligible: it has no partita IVA (the invoicing product needs one)",
        ),
        "was_conto_terzi": ("active", "active until 2027-12-31"),
    }
    assert {firm[k]: v for k, v in expected.items()} == {
        i: (r["state"], r["state_text"]) for i, r in rows.items()
    }
    assert firm["not_conto_terzi"] not in rows and firm["verde"] not in rows
    assert list(rows) == sorted(rows)  # by client id


def test_the_row_carries_licence_account_and_usage(cli, firm):
    rows = by_id(data(grid(cli)))
    active = rows[firm["active"]]
    assert active["code"] == piva(2) and active["name"] == "Alfa Srl"
    assert (active["licence"], active["nickname"], active["ends_on"]) == (
        "standard-readonly", "alfa-cloud", "2026-12-31",
    )  # fmt: skip
    assert active["account_email"] == f"conto{firm['active']}@cliente.test"
    assert (active["documents"], active["documents_limit"], active["documents_pct"]) == (
        2160, 3000, 72,
    )  # fmt: skip
    assert (active["contacts"], active["contacts_limit"], active["contacts_pct"]) == (
        5600, 5000, 112,
    )  # fmt: skip
    assert rows[firm["expired"]]["licence"] == "complete"
    migratable = rows[firm["migratable"]]
    assert migratable["licence"] == "none" and migratable["account_email"] is None
    assert migratable["documents"] is None and migratable["documents_pct"] is None
    assert rows[firm["no_piva"]]["code"] == cf_person(7)


def test_a_nickname_is_the_code(cli, firm, db):
    db.execute("UPDATE clients SET nickname = 'ALFA' WHERE id = ?", (firm["active"],))
    assert by_id(data(grid(cli)))[firm["active"]]["code"] == "ALFA"


def test_the_states_follow_the_clock_31_december_then_1_january(db, clock, firm):
    service = CouponGrid(db, clock, actor(db, SADMIN))
    clock.set(datetime(2026, 12, 31, 22, 59, tzinfo=UTC))  # 23:59 in Rome
    assert by_id(service.list(ROSSI))[firm["active"]]["state"] == "active"
    clock.set(datetime(2026, 12, 31, 23, 0, tzinfo=UTC))  # midnight in Rome: 1 January
    row = by_id(service.list(ROSSI))[firm["active"]]
    assert (row["state"], row["state_text"]) == ("expired", "expired on 2026-12-31")


@pytest.mark.parametrize(
    ("states", "keys"),
    [
        (["active"], ["active", "was_conto_terzi"]),
        (["own licence", "Not-Eligible"], ["own_licence", "removed", "no_piva"]),
        (["migratable,unlinked"], ["migratable", "unlinked"]),
        (["expired"], ["expired"]),
    ],
)
def test_filter_by_state(db, clock, firm, states, keys):
    rows = CouponGrid(db, clock, actor(db, SADMIN)).list(ROSSI, GridQuery(states=states))
    assert sorted(r["client_id"] for r in rows) == sorted(firm[k] for k in keys)


def test_filter_by_state_on_the_command_line(cli, firm):
    rows = data(grid(cli, "--state", "unlinked", "--state", "expired"))
    assert sorted(r["client_id"] for r in rows) == sorted([firm["unlinked"], firm["expired"]])


def test_expiring_before_is_active_licences_ending_before_that_day(cli, firm):
    rows = data(grid(cli, "--expiring-before", "01/01/2027"))
    assert [r["client_id"] for r in rows] == [firm["active"]]
    assert data(grid(cli, "--expiring-before", "31/12/2026")) == []  # before, not on
    rows = data(grid(cli, "--expiring-before", "2028-01-01"))
    assert [r["client_id"] for r in rows] == [firm["active"], firm["was_conto_terzi"]]


def test_paging_applies_after_the_filters(cli, firm):
    every = [r["client_id"] for r in data(grid(cli))]
    assert len(every) == 8
    assert [r["client_id"] for r in data(grid(cli, "--limit", "3"))] == every[:3]
    page = data(grid(cli, "--limit", "3", "--offset", "6"))
    assert [r["client_id"] for r in page] == every[6:]
    eligible = [r["client_id"] for r in data(grid(cli, "--state", "not_eligible"))]
    paged = data(grid(cli, "--state", "not_eligible", "--limit", "1", "--offset", "1"))
    assert [r["client_id"] for r in paged] == eligible[1:2]


def test_csv_and_json_carry_the_numbers(cli, firm):
    rows = data(grid(cli))
    assert list(rows[0]) == list(COLUMNS)
    text = ok(grid(cli, fmt="csv")).stdout
    table = list(csv.DictReader(io.StringIO(text)))
    assert list(table[0]) == list(COLUMNS)
    active = next(r for r in table if r["client_id"] == str(firm["active"]))
    assert (active["documents"], active["documents_limit"], active["documents_pct"]) == (
        "2160", "3000", "72",
    )  # fmt: skip
    assert (active["contacts_pct"], active["ends_on"]) == ("112", "2026-12-31")


def test_a_terminal_shows_bars_and_words(cli, firm):
    text = ok(grid(cli, fmt="table")).stdout
    line = next(line for line in text.splitlines() if "Alfa Srl" in line)
    assert "███████░░░ 72%" in line  # 72 %: seven cells of ten
    assert "██████████ 112%" in line  # over the limit: full
    assert "active until 31/12/2026" in line and "31/12/2026" in line
    header = text.splitlines()[0].split()
    assert header == [
        "client_id", "code", "name", "state", "licence", "nickname", "account_email",
        "ends_on", "documents", "contacts",
    ]  # fmt: skip
    migratable = next(line for line in text.splitlines() if "Migrabile Srl" in line)
    assert "█" not in migratable and "░" not in migratable


def test_bars_at_the_edges():
    from sempi_cli.cli.coupon.grid import bar

    assert bar(0) == "░░░░░░░░░░ 0%"
    assert bar(79) == "███████░░░ 79%"
    assert bar(80) == "████████░░ 80%"
    assert bar(100) == "██████████ 100%"
    assert bar(250) == "██████████ 250%"
    assert bar(None) == ""


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--state", "attivo"), "--state"),
        (("--expiring-before", "prima o poi"), "--expiring-before"),
        (("--limit", "0"), "--limit"),
        (("--offset", "-1"), "--offset"),
    ],
)
def test_bad_input_is_one_line(cli, firm, args, field):
    assert_one_line_error(grid(cli, *args), 6, field)


def test_who_sees_what(cli, firm, org):
    assert len(data(grid(cli, as_user=ADMIN_EMAIL))) == 8  # a firm administrator: all
    # a staff member: the work groups they are in (Alfa and Beta, whose responsible they are)
    assert sorted(r["client_id"] for r in data(grid(cli, as_user=RESP))) == sorted(
        [firm["active"], firm["expired"]]
    )
    assert data(grid(cli, as_user=OPERATOR)) == []  # in no work group yet
    org.group(firm["migratable"], OPERATOR)
    assert [r["client_id"] for r in data(grid(cli, as_user=OPERATOR))] == [firm["migratable"]]
    assert_one_line_error(grid(cli, as_user=EXTERNAL), 8, "client's user")
    assert_one_line_error(grid(cli, as_user=VERDI_ADMIN), 3, "not found")


def test_the_state_words_are_the_rule_of_every_coupon_command(db, clock, firm):
    """The grid's state is rules.state of the facts every coupon command reads."""
    from sempi_cli.services.coupons import facts

    admin = actor(db, ADMIN_EMAIL)
    today = "2026-11-16"
    for row in CouponGrid(db, clock, admin).list(ROSSI):
        one = facts.client_facts(db, admin, row["client_id"])
        assert (row["state"], row["state_text"]) == rules.state(one, today)


@given(st.integers(min_value=0, max_value=400_000))
def test_a_bar_is_always_ten_cells_and_full_from_100(pct):
    from sempi_cli.cli.coupon.grid import bar

    cells, _, shown = bar(pct).partition(" ")
    assert len(cells) == 10 and set(cells) <= {"█", "░"}
    assert shown == f"{pct}%"
    assert cells.count("█") == min(10, pct // 10)
