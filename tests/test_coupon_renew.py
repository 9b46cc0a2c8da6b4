"""Issue 16, tacit renewal (`coupon renew`): each client chosen gets a term for the
year from a renewal coupon of that year, else a renewable, else a flat-rate one;
the refusals with their reasons (all or nothing); --all-active (active and just
lapsed, never own-licence nor unlinked, cancelled ones skipped); coupons are not
nominal (a client not renewed leaves its coupon to another); dry runs; the
31 December / 1 January edges.

Migrated clients are written here with SQL (``migrated``): `coupon migrate` is
another part of the issue, and test code may write the tables directly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sempi_cli.services.coupons import facts, rules
from sempi_cli.services.coupons.renewal import CouponRenewal, refusal
from tests.conftest import actor, piva, store_digest
from tests.helpers import assert_one_line_error, data, ok

SADMIN, OPERATOR, VADMIN = "sadmin@rossi.test", "op@rossi.test", "vadmin@verdi.test"
FIRM_ADMIN = "admin@sempi.test"


@pytest.fixture
def firm(org) -> dict:
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=rossi)
    org.user(VADMIN, "Vera Verdi", "studio-admin", studio=verdi)
    return {"rossi": rossi, "verdi": verdi, "n": 0, "org": org}


def package(db, studio: int, kind: str, count: int, until: str) -> int:
    """A coupon package, as `coupon add` records one."""
    return db.execute(
        "INSERT INTO coupon_packages (studio_id, type, count, valid_until, added_at, added_by)"
        " VALUES (?, ?, ?, ?, '2026-11-01T09:00:00+00:00', 1) RETURNING id",
        (studio, kind, count, until),
    ).fetchone()[0]


def client(firm, name: str, studio: str = "rossi") -> int:
    firm["n"] += 1
    return firm["org"].client(name, firm[studio], firm["n"])


def migrated(
    db,
    client_id: int,
    package_id: int | None,
    *,
    ends_on: str = "2026-12-31",
    licence: str = "standard-readonly",
    unlinked: bool = False,
    own: bool = False,
) -> None:
    """The client as `coupon migrate` leaves it: conto terzi, linked to its account, a
    term drawn from ``package_id`` until ``ends_on``."""
    db.execute(
        "UPDATE clients SET conto_terzi = 1, own_licence = ? WHERE id = ?", (int(own), client_id)
    )
    db.execute(
        "INSERT INTO coupon_accounts (client_id, email, consultant_name, consultant_surname,"
        " consultant_cf, authorised_at, authorised_by, unlinked_at, unlinked_by)"
        " VALUES (?, ?, 'Mario', 'Rossi', 'RSSMRA85T10A562S', '2026-01-10T09:00:00+00:00', 1, ?, ?)",
        (
            client_id,
            f"c{client_id}@example.test",
            "2026-10-01T09:00:00+00:00" if unlinked else None,
            1 if unlinked else None,
        ),
    )
    db.execute(
        "INSERT INTO coupon_licences (client_id, package_id, how, licence, starts_on, ends_on,"
        " created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, '2026-01-10T09:00:00+00:00', 1)",
        (
            client_id,
            package_id,
            "migration" if package_id else "purchased",
            licence,
            f"{ends_on[:4]}-01-10",
            ends_on,
        ),
    )


def terms(db, client_id: int) -> list[tuple]:
    return [
        tuple(row)
        for row in db.execute(
            "SELECT how, licence, starts_on, ends_on, package_id FROM coupon_licences"
            " WHERE client_id = ? ORDER BY id",
            (client_id,),
        )
    ]


def renew(cli, *args: str, as_user: str = SADMIN):
    return cli(
        "--format", "json", "coupon", "renew", "--studio", "Studio Rossi", *args, as_user=as_user
    )


def service(db, clock, who: str = SADMIN) -> CouponRenewal:
    return CouponRenewal(db, clock, actor(db, who))


# --- renewing ---------------------------------------------------------------------


def test_a_chosen_client_gets_the_year_with_the_licence_of_its_latest_term(cli, db, firm):
    m = package(db, firm["rossi"], "migrazione", 10, "2026-12-31")
    r = package(db, firm["rossi"], "rinnovo", 5, "2027-12-31")
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl")
    migrated(db, alfa, m)
    migrated(db, beta, m, licence="complete")  # upgraded: the renewal keeps the licence
    rows = data(renew(cli, "--year", "2027", "--client", str(alfa), "--client", str(beta)))
    assert [(r_["client_id"], r_["result"], r_["package_id"], r_["ends_on"]) for r_ in rows] == [
        (alfa, "renewed", r, "2027-12-31"),
        (beta, "renewed", r, "2027-12-31"),
    ]
    assert terms(db, alfa)[-1] == ("renewal", "standard-readonly", "2027-01-01", "2027-12-31", r)
    assert terms(db, beta)[-1] == ("renewal", "complete", "2027-01-01", "2027-12-31", r)
    listed = {
        p["id"]: p
        for p in data(cli("--format", "json", "coupon", "list", "--studio", "Studio Rossi"))
    }
    assert (listed[r]["used"], listed[r]["left"]) == (2, 3)
    audited = db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'renew' AND object_type = 'coupon_licence'"
    ).fetchone()[0]
    assert audited == 2


def test_renewal_coupons_first_then_renewable_then_flat_rate(db, clock, firm):
    m = package(db, firm["rossi"], "migrazione", 10, "2026-12-31")
    flat = package(db, firm["rossi"], "forfettario", 1, "2027-12-31")
    renewable = package(db, firm["rossi"], "rinnovabile", 1, "2027-12-31")
    renewal = package(db, firm["rossi"], "rinnovo", 1, "2027-12-31")
    ids = [client(firm, f"Cliente {i} Srl") for i in range(4)]
    for client_id in ids:
        migrated(db, client_id, m)
    report = service(db, clock).renew("Studio Rossi", 2027, client_ids=ids[:3])
    assert [r["package_id"] for r in report["clients"]] == [renewal, renewable, flat]
    with pytest.raises(Exception, match=r"no coupon left: 1 needed, 0"):
        service(db, clock).renew("Studio Rossi", 2027, client_ids=ids[3:])


def test_a_renewal_coupon_of_the_wrong_year_is_not_used(cli, db, firm, store_path):
    m = package(db, firm["rossi"], "migrazione", 10, "2026-12-31")
    package(db, firm["rossi"], "rinnovo", 5, "2026-12-31")  # last year's renewal coupons
    renewable = package(db, firm["rossi"], "rinnovabile", 1, "2027-12-31")
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl")
    migrated(db, alfa, m)
    migrated(db, beta, m)
    before = store_digest(store_path)
    assert_one_line_error(
        renew(cli, "--year", "2027", "--client", str(alfa), "--client", str(beta)),
        5,
        "no coupon left: 2 needed, 1",
    )
    assert store_digest(store_path) == before
    rows = data(renew(cli, "--year", "2027", "--client", str(alfa)))
    assert rows[0]["package_id"] == renewable


def test_the_same_client_twice_is_renewed_once(db, clock, firm):
    m = package(db, firm["rossi"], "migrazione", 1, "2026-12-31")
    package(db, firm["rossi"], "rinnovo", 5, "2027-12-31")
    alfa = client(firm, "Alfa Srl")
    migrated(db, alfa, m)
    report = service(db, clock).renew("Studio Rossi", 2027, client_ids=[alfa, alfa])
    assert report["renewed"] == 1
    assert len(terms(db, alfa)) == 2


# --- refusals ---------------------------------------------------------------------


@pytest.fixture
def kinds(db, firm) -> dict:
    """One client of each kind that may not be renewed for 2027, and one that may."""
    m = package(db, firm["rossi"], "migrazione", 20, "2026-12-31")
    package(db, firm["rossi"], "rinnovo", 20, "2027-12-31")
    ids = {
        name: client(firm, f"{name.title()} Srl")
        for name in ("good", "own", "never", "unlinked", "renewed", "cancelled", "removed")
    }
    migrated(db, ids["good"], m)
    migrated(db, ids["own"], None, own=True)
    db.execute("UPDATE clients SET conto_terzi = 1 WHERE id = ?", (ids["never"],))
    migrated(db, ids["unlinked"], m, unlinked=True)
    migrated(db, ids["renewed"], m)
    migrated(db, ids["removed"], m)
    db.execute(
        "UPDATE clients SET removed_at = '2026-11-01T09:00:00+00:00' WHERE id = ?",
        (ids["removed"],),
    )
    r26 = package(db, firm["rossi"], "rinnovo", 1, "2027-12-31")
    db.execute(
        "INSERT INTO coupon_licences (client_id, package_id, how, licence, starts_on, ends_on,"
        " created_at, created_by) VALUES (?, ?, 'renewal', 'standard-readonly', '2027-01-01',"
        " '2027-12-31', '2026-11-15T09:00:00+00:00', 1)",
        (ids["renewed"], r26),
    )
    stopped = package(db, firm["rossi"], "migrazione", 1, "2026-12-31")
    migrated(db, ids["cancelled"], stopped)
    db.execute(
        "INSERT INTO coupon_cancellations (package_id, renewal_year, pec_ref, sent_on,"
        " recorded_at, recorded_by) VALUES (?, 2027, 'PEC-77', '2026-06-20',"
        " '2026-06-20T09:00:00+00:00', 1)",
        (stopped,),
    )
    return {**ids, "stopped": stopped}


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("own", "it bought its own licence"),
        ("never", "it was never migrated"),
        ("unlinked", "it was unlinked on 01/10/2026"),
        ("renewed", "already renewed for 2027: its licence runs until 31/12/2027"),
        ("cancelled", "was cancelled for 2027 (PEC-77)"),
        ("removed", "the client was removed"),
    ],
)
def test_each_refusal_names_the_client_and_its_reason_and_writes_nothing(
    cli, kinds, store_path, kind, reason
):
    before = store_digest(store_path)
    line = assert_one_line_error(
        renew(cli, "--year", "2027", "--client", str(kinds["good"]), "--client", str(kinds[kind])),
        5,
        f"client {kinds[kind]} (",
        reason,
        "Nothing was renewed",
    )
    assert f"client {kinds['good']} " not in line  # the good one is not named
    assert store_digest(store_path) == before


def test_the_cancelled_package_is_named(cli, kinds):
    line = assert_one_line_error(
        renew(cli, "--year", "2027", "--client", str(kinds["cancelled"])), 5
    )
    assert f"its package {kinds['stopped']} was cancelled for 2027 (PEC-77)" in line


def test_every_client_refused_is_named_in_the_one_line(cli, kinds):
    names = ("own", "never", "unlinked", "renewed", "cancelled", "removed")
    args = [a for name in names for a in ("--client", str(kinds[name]))]
    line = assert_one_line_error(renew(cli, "--year", "2027", *args), 5)
    for name in names:
        assert f"client {kinds[name]} ({name.title()} Srl)" in line


def test_partial_renews_the_others_and_ends_with_exit_12(cli, db, kinds):
    result = renew(
        cli, "--year", "2027", "--client", str(kinds["good"]), "--client", str(kinds["own"]),
        "--partial",
    )  # fmt: skip
    assert result.exit_code == 12, result.stderr
    import json

    rows = {r["client_id"]: r for r in json.loads(result.stdout)}
    assert rows[kinds["good"]]["result"] == "renewed"
    assert rows[kinds["own"]]["result"] == "refused"
    assert "own licence" in rows[kinds["own"]]["reason"]
    assert terms(db, kinds["own"])[-1][0] == "purchased"


def test_not_enough_coupons_refuses_all(cli, db, firm, store_path):
    m = package(db, firm["rossi"], "migrazione", 5, "2026-12-31")
    package(db, firm["rossi"], "rinnovo", 1, "2027-12-31")
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl")
    migrated(db, alfa, m)
    migrated(db, beta, m)
    before = store_digest(store_path)
    assert_one_line_error(
        renew(cli, "--year", "2027", "--all-active"), 5, "no coupon left: 2 needed, 1"
    )
    assert store_digest(store_path) == before


def test_who_may_renew(cli, db, firm):
    m = package(db, firm["rossi"], "migrazione", 5, "2026-12-31")
    package(db, firm["rossi"], "rinnovo", 5, "2027-12-31")
    alfa = client(firm, "Alfa Srl")
    epsilon = client(firm, "Epsilon Srl", "verdi")
    migrated(db, alfa, m)
    args = ("--year", "2027", "--client", str(alfa))
    assert_one_line_error(renew(cli, *args, as_user=OPERATOR), 8, "administrator")
    assert_one_line_error(renew(cli, *args, as_user=VADMIN), 3, "not found")
    assert_one_line_error(
        renew(cli, "--year", "2027", "--client", str(epsilon), as_user=SADMIN),
        3,
        f"client {epsilon} not found",
    )
    assert_one_line_error(
        renew(cli, "--year", "2027", "--client", str(epsilon), as_user=FIRM_ADMIN),
        3,
        "not found in that practice",
    )
    assert_one_line_error(renew(cli, "--year", "2027", "--client", "99999"), 3, "not found")
    ok(renew(cli, *args, as_user=FIRM_ADMIN))


@pytest.mark.parametrize("year", ["2025", "2028", "0", "-1"])
def test_the_year_is_this_one_or_the_next(cli, firm, year):
    assert_one_line_error(renew(cli, "--year", year, "--all-active"), 6, "--year")


def test_all_active_or_clients_not_both_nor_neither(cli, firm):
    assert_one_line_error(renew(cli, "--year", "2027"), 2)
    assert_one_line_error(renew(cli, "--year", "2027", "--all-active", "--client", "1"), 2)


# --- --all-active, coupons that are not nominal ------------------------------------


def test_all_active_takes_active_clients_and_skips_the_cancelled(cli, db, kinds, firm):
    m = package(db, firm["rossi"], "migrazione", 5, "2025-12-31")
    lapsed_long_ago = client(firm, "Vecchio Srl")
    migrated(db, lapsed_long_ago, m, ends_on="2025-12-31")
    other = client(firm, "Epsilon Srl", "verdi")
    migrated(db, other, package(db, firm["verdi"], "migrazione", 1, "2026-12-31"))
    rows = data(renew(cli, "--year", "2027", "--all-active"))
    assert {r["client_id"]: r["result"] for r in rows} == {
        kinds["good"]: "renewed",
        kinds["cancelled"]: "skipped",
    }
    skipped = next(r for r in rows if r["result"] == "skipped")
    assert skipped["reason"] == f"its package {kinds['stopped']} was cancelled for 2027 (PEC-77)"


def test_all_active_takes_a_just_lapsed_licence_in_january(cli, db, firm, clock):
    m = package(db, firm["rossi"], "migrazione", 5, "2026-12-31")
    package(db, firm["rossi"], "rinnovo", 5, "2027-12-31")
    alfa, old = client(firm, "Alfa Srl"), client(firm, "Vecchio Srl")
    migrated(db, alfa, m)
    migrated(db, old, m, ends_on="2025-12-31")
    clock.set(datetime(2027, 1, 5, 9, 0, tzinfo=UTC))
    rows = data(renew(cli, "--year", "2027", "--all-active"))
    assert [(r["client_id"], r["result"]) for r in rows] == [(alfa, "renewed")]


def test_a_client_that_changed_accountant_leaves_its_coupon_to_the_others(cli, db, firm):
    """10 renewal coupons, 11 clients: the one unlinked (it changed accountant) is not
    renewed, the other 10 are, and a client migrated anew takes a migration coupon."""
    m = package(db, firm["rossi"], "migrazione", 12, "2026-12-31")
    r = package(db, firm["rossi"], "rinnovo", 10, "2027-12-31")
    ids = [client(firm, f"Cliente {i:02d} Srl") for i in range(11)]
    for client_id in ids:
        migrated(db, client_id, m, unlinked=client_id == ids[4])
    rows = data(renew(cli, "--year", "2027", "--all-active"))
    assert sorted(row["client_id"] for row in rows) == sorted(set(ids) - {ids[4]})
    assert {row["package_id"] for row in rows} == {r}
    from sempi_cli.services.coupons.packages import coupons_left

    assert coupons_left(db, firm["rossi"], rules.RENEWAL_TYPES, "2027-12-31") == []
    assert coupons_left(db, firm["rossi"], ("migrazione",), "2026-12-31") == [(m, 1)]


def test_the_coupon_left_by_a_client_not_renewed_serves_another(db, clock, firm):
    """Two renewal coupons, three clients: Alfa changed accountant and is not renewed;
    its coupon renews Gamma, named in a later command."""
    m = package(db, firm["rossi"], "migrazione", 3, "2026-12-31")
    package(db, firm["rossi"], "rinnovo", 2, "2027-12-31")
    alfa, beta, gamma = (client(firm, f"{n} Srl") for n in ("Alfa", "Beta", "Gamma"))
    for client_id in (alfa, beta, gamma):
        migrated(db, client_id, m)
    service(db, clock).renew("Studio Rossi", 2027, client_ids=[beta])
    report = service(db, clock).renew("Studio Rossi", 2027, client_ids=[gamma])
    assert report["renewed"] == 1
    clock.set(datetime(2027, 1, 1, 9, 0, tzinfo=UTC))
    today = "2027-01-01"
    admin = actor(db, SADMIN)
    assert rules.state(facts.client_facts(db, admin, alfa), today)[0] == "expired"
    assert rules.state(facts.client_facts(db, admin, gamma), today)[0] == "active"


# --- dry run, dates ----------------------------------------------------------------


def test_dry_run_reports_the_same_and_leaves_the_store_byte_identical(cli, db, firm, store_path):
    m = package(db, firm["rossi"], "migrazione", 5, "2026-12-31")
    r = package(db, firm["rossi"], "rinnovo", 5, "2027-12-31")
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl")
    migrated(db, alfa, m)
    migrated(db, beta, m)
    before = store_digest(store_path)
    result = renew(cli, "--year", "2027", "--all-active", "--dry-run")
    rows = data(result)
    assert [(row["client_id"], row["result"], row["package_id"]) for row in rows] == [
        (alfa, "would renew", r),
        (beta, "would renew", r),
    ]
    assert "Would renew 2 client(s) for 2027" in result.stderr
    assert store_digest(store_path) == before
    refused = renew(cli, "--year", "2028", "--client", str(alfa), "--dry-run")
    assert_one_line_error(refused, 6, "--year")
    assert store_digest(store_path) == before


def test_31_december_active_1_january_expired_and_renewed_on_5_january(cli, db, firm, clock):
    m = package(db, firm["rossi"], "migrazione", 5, "2026-12-31")
    package(db, firm["rossi"], "rinnovo", 5, "2027-12-31")
    alfa = client(firm, "Alfa Srl")
    migrated(db, alfa, m)
    admin = actor(db, SADMIN)

    def state_on(day: str) -> str:
        return rules.state(facts.client_facts(db, admin, alfa), day)[0]

    clock.set(datetime(2026, 12, 31, 22, 30, tzinfo=UTC))  # 23:30 in Rome, still 31/12
    assert state_on("2026-12-31") == "active"
    clock.set(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))  # 00:30 on 1/1 in Rome
    assert state_on("2027-01-01") == "expired"
    # 2028 is Rome's next year already: the year is accepted (there are no coupons for it)
    assert_one_line_error(renew(cli, "--year", "2028", "--client", str(alfa)), 5, "no coupon")
    clock.set(datetime(2027, 1, 5, 9, 0, tzinfo=UTC))
    assert_one_line_error(renew(cli, "--year", "2026", "--client", str(alfa)), 6, "--year")
    rows = data(renew(cli, "--year", "2027", "--client", str(alfa)))
    assert rows[0]["ends_on"] == "2027-12-31"
    assert state_on("2027-01-05") == "active"
    assert terms(db, alfa)[-1][2:4] == ("2027-01-01", "2027-12-31")


def test_the_table_and_the_summary(cli, db, firm):
    m = package(db, firm["rossi"], "migrazione", 5, "2026-12-31")
    package(db, firm["rossi"], "rinnovo", 5, "2027-12-31")
    alfa = client(firm, "Alfa Srl")
    migrated(db, alfa, m)
    result = ok(
        cli("coupon", "renew", "--studio", "Studio Rossi", "--year", "2027", "--all-active",
            as_user=SADMIN)
    )  # fmt: skip
    assert "Alfa Srl" in result.stdout and "renewed" in result.stdout
    assert "Renewed 1 client(s) for 2027; 0 skipped, 0 refused." in result.stderr


def test_refusal_codes_of_a_row():
    row = {
        "removed_at": None, "own_licence": 0, "linked": 1, "unlinked_at": None,
        "ends_on": "2026-12-31", "cancelled_package": None, "cancelled_ref": None,
    }  # fmt: skip
    assert refusal(row, 2027) is None  # type: ignore[arg-type]
    assert refusal({**row, "ends_on": "2027-12-31"}, 2027)[0] == "renewed"  # type: ignore[arg-type,index]
    assert refusal({**row, "ends_on": "2027-12-31"}, 2028) is None  # type: ignore[arg-type]


def test_ten_thousand_clients_in_one_command(db, clock, firm):
    """--all-active over 10,000 clients: one term each, one audit line each (the speed
    is bench/coupons.py's to measure)."""
    m = package(db, firm["rossi"], "migrazione", 10_000, "2026-12-31")
    package(db, firm["rossi"], "rinnovo", 10_000, "2027-12-31")
    first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM clients").fetchone()[0]
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO clients (id, studio_id, ragione_sociale, taxpayer_kind, created_at, updated_at,"
        " conto_terzi, partita_iva) VALUES (?, ?, ?, 'societa_capitali', '2026-01-01T00:00:00+00:00',"
        " '2026-01-01T00:00:00+00:00', 1, ?)",
        [(first + i, firm["rossi"], f"Cliente {i}", piva(i)) for i in range(10_000)],
    )
    db.executemany(
        "INSERT INTO coupon_accounts (client_id, email, consultant_name, consultant_surname,"
        " consultant_cf, authorised_at, authorised_by) VALUES (?, 'x@example.test', 'M', 'R',"
        " 'RSSMRA85T10A562S', '2026-01-10T09:00:00+00:00', 1)",
        [(first + i,) for i in range(10_000)],
    )
    db.executemany(
        "INSERT INTO coupon_licences (client_id, package_id, how, licence, starts_on, ends_on,"
        " created_at, created_by) VALUES (?, ?, 'migration', 'standard-readonly', '2026-01-10',"
        " '2026-12-31', '2026-01-10T09:00:00+00:00', 1)",
        [(first + i, m) for i in range(10_000)],
    )
    db.execute("COMMIT")
    report = service(db, clock).renew("Studio Rossi", 2027, everyone=True)
    assert report["renewed"] == 10_000
    assert (
        db.execute("SELECT count(*) FROM audit_log WHERE action = 'renew'").fetchone()[0] == 10_000
    )


def test_next_years_renewal_coupon_is_not_spent_on_this_years_term(db, clock, firm):
    """Renewal coupons received in November for next year wait for next year: a
    renewal for this year takes a renewable coupon instead, and none is left after."""
    m = package(db, firm["rossi"], "migrazione", 10, "2025-12-31")
    next_year = package(db, firm["rossi"], "rinnovo", 5, "2027-12-31")
    renewable = package(db, firm["rossi"], "rinnovabile", 1, "2027-12-31")
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl")
    migrated(db, alfa, m, ends_on="2025-12-31")
    migrated(db, beta, m, ends_on="2025-12-31")
    report = service(db, clock).renew("Studio Rossi", 2026, client_ids=[alfa])
    assert [r["package_id"] for r in report["clients"]] == [renewable]
    with pytest.raises(Exception, match=r"no coupon left: 1 needed, 0"):
        service(db, clock).renew("Studio Rossi", 2026, client_ids=[beta])
    assert (
        service(db, clock).renew("Studio Rossi", 2027, client_ids=[alfa])["clients"][0][
            "package_id"
        ]
        == next_year
    )
