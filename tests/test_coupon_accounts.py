"""Issue 16, the operations on a migrated client: `coupon nickname`, `unlink`,
`upgrade` (a coupon or bought: then own licence), `open` (the address from the firm
setting coupons.product_url, audited), `first-access` (once), `export` (JSON, CSV
with the onboarding export's formula guard, --out as every export writes a file).
Who may: whoever sees the client reads and labels; unlink and upgrade are the
practice's administrator's or a firm administrator's; a client's own user sees no
coupon at all (exit 8), another practice's administrator no client (exit 3)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import UTC, datetime

import pytest

from sempi_cli.services.coupons.accounts import EXPORT_COLUMNS
from sempi_cli.services.coupons.migrate import CouponMigration
from tests.conftest import actor, cf_person, store_digest
from tests.helpers import assert_one_line_error, data, ok

SADMIN, OPERATOR, VADMIN = "sadmin@rossi.test", "op@rossi.test", "vadmin@verdi.test"
STAFF, EXTERNAL, FIRM_ADMIN = "staff@sempi.test", "ext@alfa.test", "admin@sempi.test"
E = "conti@alfa-cloud.test"
CF = cf_person(1)


@pytest.fixture
def firm(org, db, clock) -> dict:
    """Studio Rossi with 10 migrazione coupons to 31/12/2026; Alfa migrated (its work
    group: the operator), Beta a conto terzi client never migrated; Alfa's external user."""
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=rossi)
    org.user(VADMIN, "Vera Verdi", "studio-admin", studio=verdi)
    org.staff(STAFF)
    package = add_package(db, rossi, "migrazione", 10, "2026-12-31")
    alfa, beta = org.client("Alfa Srl", rossi, 1), org.client("Beta Srl", rossi, 2)
    db.execute("UPDATE clients SET conto_terzi = 1")
    org.group(alfa, OPERATOR)
    org.user(EXTERNAL, "Esterno Alfa", "external", client=alfa)
    CouponMigration(db, clock, actor(db, SADMIN)).migrate(
        [alfa], consultant_name="Mario", consultant_surname="Rossi", consultant_cf=CF, email=E
    )
    return {"rossi": rossi, "verdi": verdi, "alfa": alfa, "beta": beta, "package": package}


def add_package(db, studio: int, kind: str, count: int, until: str) -> int:
    return db.execute(
        "INSERT INTO coupon_packages (studio_id, type, count, valid_until, added_at, added_by)"
        " VALUES (?, ?, ?, ?, '2026-11-01T09:00:00+00:00', 1) RETURNING id",
        (studio, kind, count, until),
    ).fetchone()[0]


def coupon(cli, *args: str, as_user: str = SADMIN):
    return cli("--format", "json", "coupon", *args, as_user=as_user)


def terms(db, client_id: int) -> list[tuple]:
    return [
        tuple(row)
        for row in db.execute(
            "SELECT how, licence, starts_on, ends_on, package_id FROM coupon_licences"
            " WHERE client_id = ? ORDER BY id",
            (client_id,),
        )
    ]


def audited(db, action: str, client_id: int) -> list[dict]:
    return [
        json.loads(row[0])
        for row in db.execute(
            "SELECT details FROM audit_log WHERE action = ? AND object_type = 'coupon_account'"
            " AND object_id = ? ORDER BY id",
            (action, client_id),
        )
    ]


def migrate(cli, client_id: int, as_user: str = SADMIN):
    return cli(
        "coupon", "migrate", str(client_id), "--email", E, "--consultant-name", "Mario",
        "--consultant-surname", "Rossi", "--consultant-cf", CF, as_user=as_user,
    )  # fmt: skip


# --- nickname -------------------------------------------------------------------------------


def test_a_nickname_is_set_shown_and_cleared_by_whoever_sees_the_client(cli, db, firm):
    alfa = firm["alfa"]
    shown = data(coupon(cli, "nickname", str(alfa), "  Bar   Centrale ", as_user=OPERATOR))
    assert (shown["nickname"], shown["state"]) == ("Bar Centrale", "active")
    assert db.execute("SELECT nickname FROM coupon_accounts").fetchone()[0] == "Bar Centrale"
    assert data(coupon(cli, "nickname", str(alfa), ""))["nickname"] is None
    assert db.execute("SELECT nickname FROM coupon_accounts").fetchone()[0] is None
    # The log says it changed, never to what (personal data stays out of it).
    assert audited(db, "nickname", alfa) == [{"cleared": False}, {"cleared": True}]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("x" * 65, "longer than 64"), ("Bar\x1b[31m", "control character")],
)
def test_a_bad_nickname_is_one_line_and_writes_nothing(cli, firm, store_path, name, fragment):
    before = store_digest(store_path)
    assert_one_line_error(coupon(cli, "nickname", str(firm["alfa"]), name), 6, "NAME", fragment)
    assert store_digest(store_path) == before


def test_a_nickname_of_64_characters_is_kept(cli, firm):
    assert data(coupon(cli, "nickname", str(firm["alfa"]), "x" * 64))["nickname"] == "x" * 64


def test_a_client_never_migrated_has_no_account_to_nickname(cli, firm, store_path):
    before = store_digest(store_path)
    assert_one_line_error(
        coupon(cli, "nickname", str(firm["beta"]), "Beta"),
        5,
        f"client {firm['beta']}",
        "no coupon account",
    )
    assert store_digest(store_path) == before


# --- unlink ---------------------------------------------------------------------------------


def test_unlink_ends_the_link_keeps_the_coupon_spent_and_the_term(cli, db, clock, firm):
    alfa = firm["alfa"]
    shown = data(coupon(cli, "unlink", str(alfa)))
    assert (shown["state"], shown["unlinked_at"]) == ("unlinked", "2026-11-16T09:30:00+00:00")
    assert (
        db.execute("SELECT unlinked_by FROM coupon_accounts").fetchone()[0] == actor(db, SADMIN).id
    )
    assert terms(db, alfa) == [
        ("migration", "standard-readonly", "2026-11-16", "2026-12-31", firm["package"])
    ]
    listed = data(coupon(cli, "list", "--studio", "Studio Rossi"))
    assert (listed[0]["used"], listed[0]["left"]) == (1, 9)  # the coupon is not returned
    assert audited(db, "unlink", alfa) == [{"ends_on": "2026-12-31"}]
    assert_one_line_error(
        coupon(cli, "unlink", str(alfa)), 5, "not linked", "unlinked on 16/11/2026"
    )


def test_unlink_is_refused_for_a_client_never_linked(cli, firm, store_path):
    before = store_digest(store_path)
    assert_one_line_error(
        coupon(cli, "unlink", str(firm["beta"])),
        5,
        f"client {firm['beta']} (Beta Srl) is not linked",
    )
    assert store_digest(store_path) == before


def test_only_the_practices_administrator_or_a_firm_administrator_unlinks(cli, firm, store_path):
    alfa = str(firm["alfa"])
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(coupon(cli, "unlink", alfa, as_user=OPERATOR), 8, "administrator")
    assert_one_line_error(coupon(cli, "unlink", alfa, as_user=EXTERNAL), 8)
    assert_one_line_error(
        coupon(cli, "unlink", alfa, as_user=VADMIN), 3, f"client {alfa} not found"
    )
    assert store_digest(store_path, ignore=("audit_log",)) == before
    ok(coupon(cli, "unlink", alfa, as_user=FIRM_ADMIN))


# --- upgrade --------------------------------------------------------------------------------


def test_upgrade_with_a_coupon_draws_one_and_writes_a_complete_term(cli, db, firm):
    alfa = firm["alfa"]
    upgrade_package = add_package(db, firm["rossi"], "rinnovabile", 1, "2026-12-31")
    shown = data(coupon(cli, "upgrade", str(alfa), "--coupon", "rinnovabile"))
    assert (shown["licence"], shown["how"], shown["package_id"]) == (
        "complete",
        "upgrade",
        upgrade_package,
    )
    assert terms(db, alfa)[-1] == (
        "upgrade",
        "complete",
        "2026-11-16",
        "2026-12-31",
        upgrade_package,
    )
    assert db.execute("SELECT own_licence FROM clients WHERE id = ?", (alfa,)).fetchone()[0] == 0
    assert audited(db, "upgrade", alfa)[0]["how"] == "upgrade"
    assert_one_line_error(
        coupon(cli, "upgrade", str(alfa), "--coupon", "rinnovabile"), 5, "already on the complete"
    )


def test_upgrade_with_a_coupon_refused_when_none_is_left(cli, db, firm, store_path):
    before = store_digest(store_path)
    assert_one_line_error(
        coupon(cli, "upgrade", str(firm["alfa"]), "--coupon", "forfettario"),
        5,
        "no coupon left: 1 needed, 0 forfettario",
    )
    assert store_digest(store_path) == before


def test_an_upgrade_coupon_must_cover_the_current_term(cli, db, clock, firm):
    """A term to 31/12/2027 is not upgraded by a coupon that ends a year before it."""
    alfa = firm["alfa"]
    db.execute("UPDATE coupon_licences SET ends_on = '2027-12-31' WHERE client_id = ?", (alfa,))
    add_package(db, firm["rossi"], "rinnovabile", 1, "2026-12-31")
    assert_one_line_error(
        coupon(cli, "upgrade", str(alfa), "--coupon", "rinnovabile"),
        5,
        "no coupon left",
        "valid through 31/12/2027",
    )
    later = add_package(db, firm["rossi"], "rinnovabile", 1, "2027-12-31")
    assert data(coupon(cli, "upgrade", str(alfa), "--coupon", "rinnovabile"))["package_id"] == later
    assert data(coupon(cli, "export", str(alfa)))["licence"] == "complete"


def test_upgrade_purchased_writes_a_term_to_31_december_and_makes_it_own_licence(
    cli, db, clock, firm, store_path
):
    alfa = firm["alfa"]
    shown = data(coupon(cli, "upgrade", str(alfa), "--purchased"))
    assert (shown["state"], shown["how"], shown["package_id"]) == ("own_licence", "purchased", None)
    assert terms(db, alfa)[-1] == ("purchased", "complete", "2026-11-16", "2026-12-31", None)
    assert db.execute("SELECT own_licence FROM clients WHERE id = ?", (alfa,)).fetchone()[0] == 1
    # An own-licence client is never migrated with a coupon again, even unlinked.
    ok(coupon(cli, "unlink", str(alfa)))
    before = store_digest(store_path)
    assert_one_line_error(
        migrate(cli, alfa), 5, f"client {alfa} (Alfa Srl): it bought its own licence"
    )
    assert store_digest(store_path) == before


def test_an_upgrade_on_31_december_ends_that_day_and_on_1_january_the_licence_is_gone(
    cli, db, clock, firm, store_path
):
    alfa = firm["alfa"]
    clock.set(datetime(2026, 12, 31, 22, 59, tzinfo=UTC))  # 23:59 in Rome
    ok(coupon(cli, "upgrade", str(alfa), "--purchased"))
    assert terms(db, alfa)[-1][2:4] == ("2026-12-31", "2026-12-31")
    beta = firm["beta"]
    clock.set(datetime(2026, 11, 16, 9, 30, tzinfo=UTC))
    ok(migrate(cli, beta))
    clock.set(datetime(2026, 12, 31, 23, 0, tzinfo=UTC))  # 00:00 on 1 January in Rome
    before = store_digest(store_path)
    assert_one_line_error(
        coupon(cli, "upgrade", str(beta), "--purchased"), 5, "not active", "expired on 2026-12-31"
    )
    assert store_digest(store_path) == before


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        ((), 2, "--coupon TYPE or --purchased"),
        (("--coupon", "migrazione", "--purchased"), 2, "--coupon TYPE or --purchased"),
        (("--coupon", "gratis"), 6, "--coupon"),
    ],
)
def test_upgrade_needs_exactly_one_way(cli, firm, store_path, args, code, fragment):
    before = store_digest(store_path)
    assert_one_line_error(coupon(cli, "upgrade", str(firm["alfa"]), *args), code, fragment)
    assert store_digest(store_path) == before


def test_upgrade_is_refused_for_a_licence_not_active(cli, db, firm, store_path):
    beta = firm["beta"]
    before = store_digest(store_path)
    assert_one_line_error(
        coupon(cli, "upgrade", str(beta), "--purchased"),
        5,
        f"client {beta} (Beta Srl)",
        "not active",
    )
    ok(coupon(cli, "unlink", str(firm["alfa"])))
    assert_one_line_error(coupon(cli, "upgrade", str(firm["alfa"]), "--purchased"), 5, "not active")
    assert db.execute("SELECT count(*) FROM coupon_licences").fetchone()[0] == 1
    assert store_digest(store_path) != before  # only the unlink


def test_only_the_practices_administrator_or_a_firm_administrator_upgrades(cli, firm, store_path):
    alfa = str(firm["alfa"])
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(coupon(cli, "upgrade", alfa, "--purchased", as_user=OPERATOR), 8)
    assert_one_line_error(coupon(cli, "upgrade", alfa, "--purchased", as_user=EXTERNAL), 8)
    assert_one_line_error(coupon(cli, "upgrade", alfa, "--purchased", as_user=VADMIN), 3)
    assert store_digest(store_path, ignore=("audit_log",)) == before
    ok(coupon(cli, "upgrade", alfa, "--purchased", as_user=FIRM_ADMIN))


# --- open -----------------------------------------------------------------------------------


def test_open_prints_the_address_from_the_setting_and_records_the_access(cli, db, firm):
    alfa = str(firm["alfa"])
    result = cli("coupon", "open", alfa, as_user=OPERATOR)
    assert (
        ok(result).stdout.strip() == "https://cloud.example/accesso?utente=conti%40alfa-cloud.test"
    )
    ok(cli("config", "set", "coupons.product_url", "https://fatture.vendor.example/app/"))
    opened = data(coupon(cli, "open", alfa))
    assert opened == {
        "client_id": firm["alfa"],
        "name": "Alfa Srl",
        "email": E,
        "url": "https://fatture.vendor.example/app/accesso?utente=conti%40alfa-cloud.test",
    }
    rows = db.execute(
        "SELECT actor_id FROM audit_log WHERE action = 'open' AND object_type = 'coupon_account'"
        " AND object_id = ? ORDER BY id",
        (firm["alfa"],),
    ).fetchall()
    assert [r[0] for r in rows] == [actor(db, OPERATOR).id, actor(db, SADMIN).id]


def test_the_product_address_is_an_https_address(cli, store_path):
    before = store_digest(store_path)
    assert_one_line_error(
        cli("config", "set", "coupons.product_url", "http://cloud.example"), 6, "https"
    )
    assert store_digest(store_path) == before


def test_open_is_refused_for_a_client_not_linked_and_for_those_who_do_not_see_it(
    cli, db, firm, store_path
):
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(coupon(cli, "open", str(firm["beta"])), 5, "not linked")
    assert_one_line_error(coupon(cli, "open", str(firm["alfa"]), as_user=EXTERNAL), 8)
    assert_one_line_error(coupon(cli, "open", str(firm["alfa"]), as_user=VADMIN), 3, "not found")
    assert_one_line_error(coupon(cli, "open", str(firm["alfa"]), as_user=STAFF), 3, "not found")
    assert store_digest(store_path, ignore=("audit_log",)) == before
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'open'").fetchone()[0] == 0


# --- first access ---------------------------------------------------------------------------


def test_the_first_access_is_recorded_once(cli, db, clock, firm, store_path):
    alfa = str(firm["alfa"])
    assert data(coupon(cli, "export", alfa))["account"]["password_change_pending"] is True
    clock.set(datetime(2026, 11, 20, 22, 30, tzinfo=UTC))  # 23:30 in Rome, 20 November
    shown = data(coupon(cli, "first-access", alfa, as_user=OPERATOR))
    assert shown["first_access_at"] == "2026-11-20T22:30:00+00:00"
    assert data(coupon(cli, "export", alfa))["account"]["password_change_pending"] is False
    clock.set(datetime(2026, 11, 21, 8, 0, tzinfo=UTC))
    before = store_digest(store_path)
    assert_one_line_error(coupon(cli, "first-access", alfa), 5, "already recorded on 20/11/2026")
    assert store_digest(store_path) == before
    assert_one_line_error(coupon(cli, "first-access", str(firm["beta"])), 5, "not linked")


# --- export ---------------------------------------------------------------------------------


def test_export_json_holds_the_record_the_history_the_actions_and_the_usage(cli, db, firm):
    alfa = firm["alfa"]
    ok(coupon(cli, "nickname", str(alfa), "Bar Centrale"))
    ok(coupon(cli, "open", str(alfa)))
    upgrade_package = add_package(db, firm["rossi"], "rinnovabile", 1, "2026-12-31")
    ok(coupon(cli, "upgrade", str(alfa), "--coupon", "rinnovabile"))
    db.execute("UPDATE coupon_accounts SET documents = 2400, contacts = 5000")
    record = data(coupon(cli, "export", str(alfa), as_user=OPERATOR))
    assert record["client"]["id"] == alfa and record["client"]["name"] == "Alfa Srl"
    assert record["account"]["email"] == E and record["account"]["nickname"] == "Bar Centrale"
    assert record["consultant"] == {
        "name": "Mario",
        "surname": "Rossi",
        "codice_fiscale": CF,
        "authorised_at": "2026-11-16T09:30:00+00:00",
        "authorised_by": SADMIN,
    }
    assert (record["state"], record["licence"], record["ends_on"]) == (
        "active",
        "complete",
        "2026-12-31",
    )
    assert [
        (t["how"], t["licence"], t["package_id"], t["package_type"]) for t in record["terms"]
    ] == [
        ("migration", "standard-readonly", firm["package"], "migrazione"),
        ("upgrade", "complete", upgrade_package, "rinnovabile"),
    ]
    assert [a["action"] for a in record["actions"]] == ["migrate", "nickname", "open", "upgrade"]
    assert record["actions"][0]["actor"] == SADMIN
    assert record["usage"] == [
        {"measure": "documents", "used": 2400, "limit": 3000, "percent": 80.0},
        {"measure": "contacts", "used": 5000, "limit": 5000, "percent": 100.0},
    ]
    assert "password" not in json.dumps(record).replace("password_change_pending", "")


def test_export_csv_is_one_row_per_term_with_the_formula_guard(cli, db, firm):
    alfa = firm["alfa"]
    ok(coupon(cli, "nickname", str(alfa), '=HYPERLINK("http://x.test","clic")'))
    ok(coupon(cli, "upgrade", str(alfa), "--purchased"))
    result = cli("coupon", "export", str(alfa), "--format", "csv", as_user=SADMIN)
    rows = list(csv.DictReader(io.StringIO(ok(result).stdout)))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert [(r["how"], r["licence"], r["package_id"]) for r in rows] == [
        ("migration", "standard-readonly", str(firm["package"])),
        ("purchased", "complete", ""),
    ]
    assert all(r["client"] == "Alfa Srl" and r["account_email"] == E for r in rows)
    assert rows[0]["nickname"] == '\'=HYPERLINK("http://x.test","clic")'
    assert (rows[0]["documents_limit"], rows[0]["contacts_limit"]) == ("3000", "5000")
    # The global --format csv gives the same bytes.
    assert (
        cli("--format", "csv", "coupon", "export", str(alfa), as_user=SADMIN).stdout
        == result.stdout
    )


def test_export_of_a_client_never_migrated_is_an_empty_record(cli, firm):
    record = data(coupon(cli, "export", str(firm["beta"])))
    assert (record["account"], record["consultant"], record["terms"]) == (None, None, [])
    assert record["state"] == "migratable"


def test_export_out_writes_a_private_file_and_never_overwrites(cli, firm, tmp_path):
    target = tmp_path / "alfa.json"
    result = cli("coupon", "export", str(firm["alfa"]), "--out", str(target), as_user=SADMIN)
    assert ok(result).stdout == ""
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert json.loads(target.read_text())["client"]["id"] == firm["alfa"]
    written = target.read_bytes()
    assert_one_line_error(
        cli("coupon", "export", str(firm["alfa"]), "--out", str(target), as_user=SADMIN),
        4,
        "already exists",
    )
    assert target.read_bytes() == written
    sheet = tmp_path / "alfa.csv"
    ok(
        cli(
            "coupon",
            "export",
            str(firm["alfa"]),
            "--format",
            "csv",
            "-o",
            str(sheet),
            as_user=SADMIN,
        )
    )
    assert sheet.read_text().startswith("client_id,client,")
    assert_one_line_error(
        cli("coupon", "export", str(firm["alfa"]), "--out", str(tmp_path / "no" / "x.json")),
        6,
        "does not exist",
    )


def test_export_refuses_a_format_it_does_not_write(cli, firm):
    assert_one_line_error(
        cli("coupon", "export", str(firm["alfa"]), "--format", "xml", as_user=SADMIN), 2, "--format"
    )


@pytest.mark.parametrize("command", ["export", "open", "first-access", "nickname"])
def test_a_clients_own_user_sees_no_coupon_and_another_practice_no_client(cli, firm, command):
    extra = ("Nome",) if command == "nickname" else ()
    alfa = str(firm["alfa"])
    assert_one_line_error(coupon(cli, command, alfa, *extra, as_user=EXTERNAL), 8)
    assert_one_line_error(
        coupon(cli, command, alfa, *extra, as_user=VADMIN), 3, f"client {alfa} not found"
    )
    assert_one_line_error(coupon(cli, command, "999", *extra), 3, "client 999 not found")
