"""Issue 16, the nightly `coupon check`: the practice administrators are told of
licences expiring within 45 days and not renewed (day 45 in, day 46 out; a leap
year; 31 December vs 1 January), of the 30 June cut-off on 1 and 20 June (a
missed 1 June caught on 3 June, nothing after 30 June), and usage thresholds;
each notice once (a re-run is silent), nothing to do prints nothing; who may
run it. Dates come only from the clock.

Migrated clients are written here with SQL (``migrated``): `coupon migrate` is
another part of the issue, and test code may write the tables directly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sempi_cli.services.coupons.watch import CouponWatch, cutoff_mark
from tests.conftest import actor, piva
from tests.helpers import assert_one_line_error, ok

SADMIN, SADMIN2, OPERATOR = "sadmin@rossi.test", "sadmin2@rossi.test", "op@rossi.test"
VADMIN, STAFF, EXTERNAL = "vadmin@verdi.test", "staff@sempi.test", "ext@alfa.test"
FIRM_ADMIN = "admin@sempi.test"


def at(year: int, month: int, day: int, hour: int = 4) -> datetime:
    """An instant of that Rome day (04:00 UTC: 05:00 or 06:00 in Rome), as cron runs."""
    return datetime(year, month, day, hour, 15, tzinfo=UTC)


def package(db, studio: int, kind: str, until: str, count: int = 10) -> int:
    return db.execute(
        "INSERT INTO coupon_packages (studio_id, type, count, valid_until, added_at, added_by)"
        " VALUES (?, ?, ?, ?, '2026-01-05T09:00:00+00:00', 1) RETURNING id",
        (studio, kind, count, until),
    ).fetchone()[0]


def migrated(
    db,
    client_id: int,
    package_id: int | None,
    *,
    ends_on: str = "2026-12-31",
    created_at: str = "2026-01-10T09:00:00+00:00",
    unlinked: bool = False,
    own: bool = False,
) -> None:
    """The client as `coupon migrate` leaves it: conto terzi, linked, a term to ``ends_on``."""
    db.execute(
        "UPDATE clients SET conto_terzi = 1, own_licence = ? WHERE id = ?", (int(own), client_id)
    )
    db.execute(
        "INSERT INTO coupon_accounts (client_id, email, consultant_name, consultant_surname,"
        " consultant_cf, authorised_at, authorised_by, unlinked_at, unlinked_by)"
        " VALUES (?, 'c@example.test', 'Mario', 'Rossi', 'RSSMRA85T10A562S', ?, 1, ?, ?)",
        (client_id, created_at, created_at if unlinked else None, 1 if unlinked else None),
    )
    db.execute(
        "INSERT INTO coupon_licences (client_id, package_id, how, licence, starts_on, ends_on,"
        " created_at, created_by) VALUES (?, ?, ?, 'standard-readonly', ?, ?, ?, 1)",
        (
            client_id,
            package_id,
            "migration" if package_id else "purchased",
            created_at[:10],
            ends_on,
            created_at,
        ),
    )


@pytest.fixture
def firm(org, db) -> dict:
    """Studio Rossi (two administrators, an operator) with Alfa and Beta migrated until
    31/12/2026 and, not to be told of, an own-licence client, an unlinked one, one
    renewed for 2027, a removed one; Studio Verdi (VADMIN) with Epsilon."""
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    for email, role, studio in (
        (SADMIN, "studio-admin", rossi), (SADMIN2, "studio-admin", rossi),
        (OPERATOR, "studio-operator", rossi), (VADMIN, "studio-admin", verdi),
    ):  # fmt: skip
        org.user(email, None, role, studio=studio)
    org.user(STAFF)
    m = package(db, rossi, "migrazione", "2026-12-31")
    r = package(db, rossi, "rinnovo", "2027-12-31")
    ids = {}
    for n, name in enumerate(("alfa", "beta", "own", "unlinked", "renewed", "removed"), 1):
        ids[name] = org.client(f"{name.title()} Srl", rossi, n)
    org.user(EXTERNAL, "Ezio", "external", client=ids["alfa"])
    for name in ("alfa", "beta", "renewed", "removed"):
        migrated(db, ids[name], m)
    migrated(db, ids["own"], None, own=True)
    migrated(db, ids["unlinked"], m, unlinked=True)
    db.execute(
        "INSERT INTO coupon_licences (client_id, package_id, how, licence, starts_on, ends_on,"
        " created_at, created_by) VALUES (?, ?, 'renewal', 'standard-readonly', '2027-01-01',"
        " '2027-12-31', '2026-11-10T09:00:00+00:00', 1)",
        (ids["renewed"], r),
    )
    db.execute(
        "UPDATE clients SET removed_at = '2026-10-01T09:00:00+00:00' WHERE id = ?",
        (ids["removed"],),
    )
    ids["epsilon"] = org.client("Epsilon Srl", verdi, 9)
    migrated(db, ids["epsilon"], package(db, verdi, "migrazione", "2026-12-31"))
    return {"rossi": rossi, "verdi": verdi, "m": m, "r": r, **ids}


def run(db, clock, who: str = FIRM_ADMIN, studio: str | None = None) -> dict:
    return CouponWatch(db, clock, actor(db, who)).run(studio)


def notices(db, who: str | None = None, like: str = "coupon:%") -> list[tuple[str, str]]:
    sql = "SELECT n.source, n.text FROM notifications n JOIN users u ON u.id = n.user_id"
    sql += " WHERE n.kind = 'coupon' AND n.source LIKE ?"
    params: list = [like]
    if who is not None:
        sql += " AND u.email = ?"
        params.append(who)
    return [tuple(r) for r in db.execute(sql + " ORDER BY n.id", params)]


# --- licences expiring within 45 days --------------------------------------------


def test_day_46_is_quiet_day_45_tells_each_administrator_once(db, clock, firm):
    clock.set(at(2026, 11, 15))  # 31/12 is 46 days away
    assert run(db, clock)["expiring"] == 0
    assert notices(db) == []
    clock.set(at(2026, 11, 16))  # 45 days: told
    result = run(db, clock)
    assert (result["expiring"], result["expiring_notices"]) == (3, 3)  # Alfa, Beta; Epsilon
    for who in (SADMIN, SADMIN2):
        [(source, text)] = notices(db, who)
        assert source.startswith(f"coupon:expiring:{firm['rossi']}:2026-12-31:2026-11-16:")
        assert f"Alfa Srl ({firm['alfa']}), Beta Srl ({firm['beta']})" in text
        assert "2 coupon licence(s) expire on 31/12/2026 and are not renewed" in text
        for other in ("Own Srl", "Unlinked Srl", "Renewed Srl", "Removed Srl", "Epsilon"):
            assert other not in text
    [(_, verdi)] = notices(db, VADMIN)
    assert "Epsilon Srl" in verdi and "Alfa" not in verdi
    assert notices(db, OPERATOR) == []
    assert run(db, clock)["expiring"] == 0  # a re-run tells nobody again
    clock.set(at(2026, 12, 20))
    assert run(db, clock)["expiring"] == 0
    assert len(notices(db)) == 3


def test_the_day_is_romes(db, clock, firm):
    clock.set(datetime(2026, 11, 15, 22, 30, tzinfo=UTC))  # 23:30 on 15/11 in Rome
    assert run(db, clock)["expiring"] == 0
    clock.set(datetime(2026, 11, 15, 23, 30, tzinfo=UTC))  # 00:30 on 16/11 in Rome
    assert run(db, clock)["expiring"] == 3


def test_on_31_december_still_told_on_1_january_expired(db, clock, firm):
    clock.set(at(2026, 12, 31))
    assert run(db, clock)["expiring"] == 3  # first run of the season: told on the last day
    clock.set(at(2027, 1, 1))
    assert run(db, clock)["expiring"] == 0


def test_on_1_january_an_expired_licence_is_not_expiring(db, clock, firm):
    clock.set(at(2027, 1, 1))
    assert run(db, clock) == {
        "expiring": 0, "expiring_notices": 0, "cutoff": 0, "cutoff_notices": 0, "usage": 0,
    }  # fmt: skip
    assert notices(db) == []


def test_a_leap_year_counts_its_days(db, clock, org):
    rossi = org.practice("Studio Rossi")
    org.user(SADMIN, None, "studio-admin", studio=rossi)
    alfa = org.client("Alfa Srl", rossi, 1)
    migrated(
        db, alfa, package(db, rossi, "migrazione", "2028-12-31"), ends_on="2028-12-31",
        created_at="2028-02-29T10:00:00+00:00",
    )  # fmt: skip
    clock.set(at(2028, 11, 15))  # 46 days before 31/12/2028
    assert run(db, clock)["expiring"] == 0
    clock.set(at(2028, 11, 16))  # 45 days
    assert run(db, clock)["expiring"] == 1
    [(source, _)] = notices(db)
    assert ":2028-12-31:2028-11-16:" in source


def test_a_client_migrated_in_december_is_told_of_on_its_own(db, clock, firm, org):
    clock.set(at(2026, 11, 16))
    run(db, clock)
    gamma = org.client("Gamma Srl", firm["rossi"], 20)
    migrated(db, gamma, firm["m"], created_at="2026-12-02T10:00:00+00:00")
    clock.set(at(2026, 12, 3))
    assert run(db, clock)["expiring"] == 1
    latest = notices(db, SADMIN)[-1]
    assert "Gamma Srl" in latest[1] and "Alfa" not in latest[1]
    assert ":2026-12-31:2026-12-02:" in latest[0]
    assert run(db, clock)["expiring"] == 0


def test_a_client_renewed_before_the_window_is_not_told_of(db, clock, firm):
    db.execute(
        "INSERT INTO coupon_licences (client_id, package_id, how, licence, starts_on, ends_on,"
        " created_at, created_by) VALUES (?, ?, 'renewal', 'standard-readonly', '2027-01-01',"
        " '2027-12-31', '2026-11-16T08:00:00+00:00', 1)",
        (firm["beta"], firm["r"]),
    )
    clock.set(at(2026, 11, 16))
    run(db, clock, studio="Studio Rossi")
    [(_, text)] = notices(db, SADMIN)
    assert "Alfa Srl" in text and "Beta Srl" not in text


def test_a_disabled_administrator_is_not_told(db, clock, firm):
    db.execute(
        "UPDATE users SET disabled_at = '2026-11-01T00:00:00+00:00' WHERE email = ?", (SADMIN2,)
    )
    clock.set(at(2026, 11, 16))
    run(db, clock)
    assert notices(db, SADMIN2) == []
    assert len(notices(db, SADMIN)) == 1


def test_ten_thousand_licences_one_digest_naming_some(db, clock, org):
    rossi = org.practice("Studio Rossi")
    org.user(SADMIN, None, "studio-admin", studio=rossi)
    m = package(db, rossi, "migrazione", "2026-12-31", 10_000)
    first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM clients").fetchone()[0]
    ids = range(first, first + 10_000)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO clients (id, studio_id, ragione_sociale, taxpayer_kind, partita_iva,"
        " conto_terzi, created_at, updated_at) VALUES (?, ?, ?, 'societa_capitali', ?, 1,"
        " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
        [(i, rossi, f"Cliente {i}", piva(i)) for i in ids],
    )
    db.executemany(
        "INSERT INTO coupon_accounts (client_id, email, consultant_name, consultant_surname,"
        " consultant_cf, authorised_at, authorised_by) VALUES (?, 'x@example.test', 'M', 'R',"
        " 'RSSMRA85T10A562S', '2026-01-10T09:00:00+00:00', 1)",
        [(i,) for i in ids],
    )
    db.executemany(
        "INSERT INTO coupon_licences (client_id, package_id, how, licence, starts_on, ends_on,"
        " created_at, created_by) VALUES (?, ?, 'migration', 'standard-readonly', '2026-01-10',"
        " '2026-12-31', '2026-01-10T09:00:00+00:00', 1)",
        [(i, m) for i in ids],
    )
    db.execute("COMMIT")
    clock.set(at(2026, 11, 16))
    result = run(db, clock)
    assert (result["expiring"], result["expiring_notices"]) == (10_000, 1)
    [(_, text)] = notices(db)
    assert "10,000 coupon licence(s)" in text and "and 9,990 more" in text


# --- the 30 June cut-off -----------------------------------------------------------


@pytest.fixture
def packages_(db, firm) -> dict:
    """Besides the fixture's (migration until 31/12/2026, renewal until 31/12/2027): a
    flat-rate package until 31/12/2026 whose renewal for 2027 was cancelled."""
    stopped = package(db, firm["rossi"], "forfettario", "2026-12-31")
    db.execute(
        "INSERT INTO coupon_cancellations (package_id, renewal_year, pec_ref, sent_on,"
        " recorded_at, recorded_by) VALUES (?, 2027, 'PEC-1', '2026-05-10',"
        " '2026-05-10T09:00:00+00:00', 1)",
        (stopped,),
    )
    return {**firm, "stopped": stopped}


@pytest.mark.parametrize(
    ("day", "mark"),
    [((5, 31), None), ((6, 1), 1), ((6, 3), 1), ((6, 19), 1), ((6, 20), 20), ((6, 30), 20),
     ((7, 1), None), ((1, 1), None), ((12, 31), None)],
)  # fmt: skip
def test_the_june_marks(day, mark):
    from datetime import date

    assert cutoff_mark(date(2026, *day)) == mark


def test_the_cut_off_on_1_and_on_20_june_once_each(db, clock, packages_):
    firm = packages_
    told = []
    for day in (31,):
        clock.set(at(2026, 5, day))
        told.append(run(db, clock)["cutoff"])
    for day in (1, 1, 2, 19, 20, 20, 21, 30):
        clock.set(at(2026, 6, day))
        told.append(run(db, clock)["cutoff"])
    clock.set(at(2026, 7, 1))
    told.append(run(db, clock)["cutoff"])
    # 31/5: nothing; 1/6: the packages of Rossi (one) and Verdi (one); 20/6: again
    assert told == [0, 2, 0, 0, 0, 2, 0, 0, 0, 0]
    rossi = notices(db, SADMIN, "coupon:cutoff:%")
    assert [s for s, _ in rossi] == [
        f"coupon:cutoff:{firm['rossi']}:2026:1:{actor(db, SADMIN).id}",
        f"coupon:cutoff:{firm['rossi']}:2026:20:{actor(db, SADMIN).id}",
    ]
    text = rossi[0][1]
    assert "cancellations must be sent by PEC by 30/06/2026 (29 day(s) left)" in text
    assert f"package(s) {firm['m']} (migrazione, 10 coupon(s)) renew tacitly for 2027" in text
    assert f"{firm['stopped']} (" not in text  # cancelled for 2027: not listed
    assert f"{firm['r']} (" not in text  # valid through 2027: its cut-off is next year
    assert len(notices(db, SADMIN2, "coupon:cutoff:%")) == 2


def test_a_missed_1_june_is_caught_on_3_june(db, clock, packages_):
    clock.set(at(2026, 6, 3))
    assert run(db, clock)["cutoff"] == 2
    assert [s.split(":")[4] for s, _ in notices(db, SADMIN, "coupon:cutoff:%")] == ["1"]


def test_first_seen_past_both_marks_one_notice(db, clock, packages_):
    clock.set(at(2026, 6, 25))
    assert run(db, clock)["cutoff"] == 2
    clock.set(at(2026, 6, 26))
    assert run(db, clock)["cutoff"] == 0
    assert [s.split(":")[4] for s, _ in notices(db, SADMIN, "coupon:cutoff:%")] == ["20"]


def test_nothing_after_30_june(db, clock, packages_):
    clock.set(at(2026, 7, 1))
    assert run(db, clock)["cutoff"] == 0
    clock.set(datetime(2026, 6, 30, 21, 59, tzinfo=UTC))  # 23:59 on 30/6 in Rome
    assert run(db, clock)["cutoff"] == 2


def test_a_practice_whose_packages_are_all_cancelled_is_not_told(db, clock, org):
    rossi = org.practice("Studio Rossi")
    org.user(SADMIN, None, "studio-admin", studio=rossi)
    p = package(db, rossi, "migrazione", "2028-12-31")
    db.execute(
        "INSERT INTO coupon_cancellations (package_id, renewal_year, pec_ref, sent_on,"
        " recorded_at, recorded_by) VALUES (?, 2029, 'PEC-2', '2028-02-29',"
        " '2028-02-29T09:00:00+00:00', 1)",
        (p,),
    )
    clock.set(at(2028, 6, 1))
    assert run(db, clock)["cutoff"] == 0
    other = package(db, rossi, "rinnovo", "2028-12-31")
    assert run(db, clock)["cutoff"] == 1
    [(_, text)] = notices(db)
    assert f"package(s) {other} (rinnovo" in text and "30/06/2028 (29 day(s) left)" in text


# --- usage thresholds -------------------------------------------------------------


def test_usage_thresholds_are_told_through_the_check(db, clock, firm, org):
    db.execute("UPDATE clients SET responsible_id = (SELECT id FROM users WHERE email = ?)"
               " WHERE id = ?", (STAFF, firm["alfa"]))  # fmt: skip
    org.group(firm["alfa"], STAFF)
    db.execute("UPDATE coupon_accounts SET documents = 2400 WHERE client_id = ?", (firm["alfa"],))
    clock.set(at(2026, 10, 1))
    assert run(db, clock)["usage"] == 1
    assert len(notices(db, STAFF, "coupon:usage:%")) == 1
    assert run(db, clock)["usage"] == 0


# --- the command, and who may run it --------------------------------------------------


def test_nothing_due_prints_nothing_and_exits_0(cli, firm, clock):
    clock.set(at(2026, 10, 1))
    result = ok(cli("coupon", "check"))
    assert result.stdout == ""
    assert result.stderr == ""
    assert ok(cli("--format", "json", "coupon", "check")).stdout == ""


def test_the_command_prints_one_line_per_kind_and_a_rerun_nothing(cli, firm, clock):
    clock.set(at(2026, 11, 16))
    result = ok(cli("coupon", "check"))
    assert result.stdout.splitlines() == [
        "3 licence(s) expiring within 45 days: practice administrators told"
    ]
    assert ok(cli("coupon", "check")).stdout == ""
    clock.set(at(2026, 6, 1))
    assert ok(cli("coupon", "check")).stdout.splitlines() == [
        "2 package(s) renewing unless cancelled by 30 June: practice administrators told"
    ]


def test_quiet_prints_nothing_but_tells(cli, db, firm, clock):
    clock.set(at(2026, 11, 16))
    result = ok(cli("-q", "coupon", "check"))
    assert result.stdout == "" and result.stderr == ""
    assert len(notices(db)) == 3


def test_json_counts(cli, firm, clock):
    import json

    clock.set(at(2026, 11, 16))
    result = json.loads(ok(cli("--format", "json", "coupon", "check")).stdout)
    assert (result["expiring"], result["expiring_notices"], result["cutoff"]) == (3, 3, 0)


def test_who_may_run_it(cli, db, firm, clock):
    clock.set(at(2026, 11, 16))
    for who in (OPERATOR, STAFF, EXTERNAL):
        assert_one_line_error(cli("coupon", "check", as_user=who), 8)
    assert_one_line_error(
        cli("coupon", "check", "--studio", "Studio Verdi", as_user=SADMIN), 3, "not found"
    )
    assert notices(db) == []
    # a practice's administrator: their own practice only, with or without --studio
    assert ok(cli("coupon", "check", as_user=SADMIN)).stdout.startswith("2 licence(s)")
    assert notices(db, VADMIN) == []
    assert ok(cli("coupon", "check", "--studio", "Studio Rossi", as_user=SADMIN)).stdout == ""
    # the firm administrator (cron): every practice, or the one named
    assert ok(cli("coupon", "check", "--studio", "Studio Verdi")).stdout.startswith("1 licence(s)")
    assert ok(cli("coupon", "check")).stdout == ""
