"""Issue 16, cancellation (disdetta) of a package's tacit renewal (`coupon cancel`):
sent by PEC by 30 June of the package's year it stops the next year's renewal;
sent on 1 July or later it is refused (the renewal goes ahead; the next useful
date), and --next-year records it for the year after; a future date, twice, an
empty reference: refused, nothing written; who may; `coupon list` shows it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.errors import RuleViolation
from sempi_cli.services.coupons import rules
from sempi_cli.services.coupons.cancellation import renewal_year
from tests.conftest import store_digest
from tests.helpers import assert_one_line_error, data, ok

SADMIN, OPERATOR, VADMIN = "sadmin@rossi.test", "op@rossi.test", "vadmin@verdi.test"
EXTERNAL = "ext@alfa.test"


@pytest.fixture
def firm(org, db, clock) -> dict:
    """Studio Rossi (SADMIN, OPERATOR, a client's external user) with a migration
    package valid until 31/12/2026; Studio Verdi (VADMIN) with one of its own. The
    clock on 10 July 2026."""
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=rossi)
    org.user(VADMIN, "Vera Verdi", "studio-admin", studio=verdi)
    alfa = org.client("Alfa Srl", rossi, 1)
    org.user(EXTERNAL, "Ezio", "external", client=alfa)
    clock.set(datetime(2026, 7, 10, 9, 0, tzinfo=UTC))
    return {
        "rossi": rossi,
        "verdi": verdi,
        "package": package(db, rossi, "2026-12-31"),
        "verdi_package": package(db, verdi, "2026-12-31"),
    }


def package(db, studio: int, until: str, kind: str = "migrazione") -> int:
    return db.execute(
        "INSERT INTO coupon_packages (studio_id, type, count, valid_until, added_at, added_by)"
        " VALUES (?, ?, 10, ?, '2026-01-05T09:00:00+00:00', 1) RETURNING id",
        (studio, kind, until),
    ).fetchone()[0]


def cancel(cli, package_id: int, sent_on: str, *extra: str, ref: str = "PEC-41", **kw):
    kw.setdefault("as_user", SADMIN)
    return cli(
        "--format", "json", "coupon", "cancel", "--studio", "Studio Rossi",
        "--package", str(package_id), "--pec-ref", ref, "--sent-on", sent_on, *extra, **kw,
    )  # fmt: skip


def cancellations(db) -> list[tuple]:
    return [
        tuple(r)
        for r in db.execute(
            "SELECT package_id, renewal_year, pec_ref, sent_on FROM coupon_cancellations ORDER BY id"
        )
    ]


def test_sent_on_30_june_stops_the_next_years_renewal(cli, db, firm):
    record = data(cancel(cli, firm["package"], "30/06/2026"))
    assert (record["renewal_year"], record["sent_on"], record["pec_ref"]) == (
        2027,
        "2026-06-30",
        "PEC-41",
    )
    assert cancellations(db) == [(firm["package"], 2027, "PEC-41", "2026-06-30")]
    listed = data(cli("--format", "json", "coupon", "list", "--studio", "Studio Rossi"))
    assert [p["cancelled"] for p in listed if p["id"] == firm["package"]] == ["2027"]
    audited = db.execute(
        "SELECT object_id, details FROM audit_log WHERE action = 'cancel'"
        " AND object_type = 'coupon_package'"
    ).fetchall()
    assert [a[0] for a in audited] == [firm["package"]]
    assert '"renewal_year": 2027' in audited[0][1]


def test_iso_dates_are_read_too(cli, db, firm):
    ok(cancel(cli, firm["package"], "2026-01-15"))
    assert cancellations(db)[0][1:] == (2027, "PEC-41", "2026-01-15")


def test_sent_on_1_july_is_refused_naming_the_next_useful_date(cli, db, firm, store_path):
    before = store_digest(store_path)
    assert_one_line_error(
        cancel(cli, firm["package"], "01/07/2026"),
        5,
        "sent on 01/07/2026, after 30 June 2026: the renewal for 2027 goes ahead;"
        " the next useful date is 30/06/2027 (add --next-year to stop the renewal for 2028)",
    )
    assert store_digest(store_path) == before


def test_next_year_records_it_for_the_year_after(cli, db, firm):
    record = data(cancel(cli, firm["package"], "01/07/2026", "--next-year"))
    assert record["renewal_year"] == 2028
    assert cancellations(db) == [(firm["package"], 2028, "PEC-41", "2026-07-01")]


def test_next_year_sent_after_the_following_30_june_is_refused_too(cli, db, firm, clock):
    clock.set(datetime(2027, 7, 2, 9, 0, tzinfo=UTC))
    assert_one_line_error(
        cancel(cli, firm["package"], "01/07/2027", "--next-year"),
        5,
        "after 30 June 2027: the renewal for 2028 goes ahead too",
    )
    assert cancellations(db) == []


def test_a_date_in_the_future_is_invalid(cli, firm, store_path):
    before = store_digest(store_path)
    assert_one_line_error(cancel(cli, firm["package"], "11/07/2026"), 6, "--sent-on", "future")
    assert_one_line_error(cancel(cli, firm["package"], "tomorrow"), 6, "--sent-on")
    assert store_digest(store_path) == before


def test_today_is_not_the_future(cli, db, firm, clock):
    clock.set(datetime(2026, 6, 30, 21, 30, tzinfo=UTC))  # 23:30 in Rome: still 30 June
    ok(cancel(cli, firm["package"], "today"))
    assert cancellations(db)[0][1] == 2027


def test_twice_for_the_same_package_and_year_is_a_conflict(cli, db, firm, store_path):
    ok(cancel(cli, firm["package"], "20/06/2026"))
    before = store_digest(store_path)
    assert_one_line_error(
        cancel(cli, firm["package"], "25/06/2026", ref="PEC-42"),
        4,
        f"package {firm['package']}'s renewal for 2027 was already cancelled (PEC-41,"
        " sent on 20/06/2026)",
    )
    assert store_digest(store_path) == before
    ok(cancel(cli, firm["package"], "02/07/2026", "--next-year"))  # 2028 is another year
    assert [c[1] for c in cancellations(db)] == [2027, 2028]


def test_leap_year_dates_parse(cli, db, org, clock):
    rossi = org.practice("Studio Rossi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    p = package(db, rossi, "2028-12-31")
    clock.set(datetime(2028, 3, 1, 9, 0, tzinfo=UTC))
    record = data(cancel(cli, p, "29/02/2028"))
    assert (record["sent_on"], record["renewal_year"]) == ("2028-02-29", 2029)
    assert_one_line_error(cancel(cli, p, "29/02/2027", ref="PEC-9"), 6, "--sent-on")


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("PEC\x1b[31m", "control character"),
        ("x" * 201, "longer"),
    ],
)
def test_the_pec_reference_is_one_line_and_not_empty(cli, firm, store_path, ref, fragment):
    before = store_digest(store_path)
    assert_one_line_error(
        cancel(cli, firm["package"], "20/06/2026", ref=ref), 6, "--pec-ref", fragment
    )
    assert store_digest(store_path) == before


def test_a_pec_reference_on_two_lines_becomes_one(cli, db, firm):
    ok(cancel(cli, firm["package"], "20/06/2026", ref="PEC\n 41"))
    assert cancellations(db)[0][2] == "PEC 41"


def test_who_may_cancel(cli, firm, store_path):
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(
        cancel(cli, firm["package"], "20/06/2026", as_user=OPERATOR), 8, "administrator"
    )
    assert_one_line_error(cancel(cli, firm["package"], "20/06/2026", as_user=EXTERNAL), 8)
    assert_one_line_error(cancel(cli, firm["package"], "20/06/2026", as_user=VADMIN), 3)
    other = cli(
        "coupon", "cancel", "--studio", "Studio Verdi", "--package", str(firm["package"]),
        "--pec-ref", "X", "--sent-on", "20/06/2026", as_user=VADMIN,
    )  # fmt: skip
    assert_one_line_error(other, 3, f"package {firm['package']} not found")
    assert_one_line_error(cancel(cli, 99999, "20/06/2026"), 3, "package 99999 not found")
    assert store_digest(store_path, ignore=("audit_log",)) == before
    ok(cancel(cli, firm["package"], "20/06/2026", as_user="admin@sempi.test"))


def test_a_renewal_package_valid_next_year_has_its_own_deadline(cli, db, firm):
    later = package(db, firm["rossi"], "2027-12-31", "rinnovo")
    record = data(cancel(cli, later, "01/07/2026"))  # before 30 June 2027: stops 2028
    assert record["renewal_year"] == 2028


@given(
    year=st.integers(2000, 2100),
    sent=st.dates(date(1999, 1, 1), date(2102, 12, 31)),
    next_year=st.booleans(),
)
def test_the_renewal_stopped_is_always_one_whose_30_june_was_not_past(year, sent, next_year):
    valid_until = f"{year}-12-31"
    try:
        stops = renewal_year(valid_until, sent, next_year)
    except RuleViolation:
        assert sent > rules.cancel_deadline(year + (1 if next_year else 0))
        return
    assert stops == year + (2 if next_year else 1)
    assert sent <= rules.cancel_deadline(stops - 1)
