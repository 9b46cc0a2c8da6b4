"""Issue 16, usage against the limits: `coupon usage set` (who, bad input, a client
without an account), `coupon usage import` (the vendor's CSV, checked row by row, all
or nothing), and the thresholds told to the responsible: 80 % and 100 % of either
limit, once per threshold; a fall lowers the mark so a later rise is told again."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.errors import InvalidData
from sempi_cli.services.coupons import usage as usage_service
from sempi_cli.services.coupons.usage import CouponUsage, notify_thresholds
from sempi_cli.store import write_transaction
from tests.conftest import ADMIN_EMAIL, actor, piva, store_digest
from tests.helpers import assert_one_line_error, coupon_link, data, ok

SADMIN = "sadmin@rossi.test"
OPERATOR = "op@rossi.test"
RESP = "resp@sempi.test"
VERDI_ADMIN = "sadmin@verdi.test"
EXTERNAL = "ext@cliente.test"


def link(db, client_id: int, **kwargs) -> None:
    coupon_link(db, client_id, at="2026-01-10T09:00:00+00:00", **kwargs)


@pytest.fixture
def firm(org, db) -> dict:
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=rossi)
    org.user(VERDI_ADMIN, "Vera Verdi", "studio-admin", studio=verdi)
    org.user(RESP, "Rita Resp", "staff")
    alfa = org.client("Alfa Srl", rossi, 1, responsible=RESP, conto_terzi=True)
    beta = org.client("Beta Srl", rossi, 2, responsible=RESP, conto_terzi=True)
    gamma = org.client("Gamma Srl", rossi, 3, responsible=RESP, conto_terzi=True)  # no account
    verde = org.client("Verde Srl", verdi, 4, responsible=RESP, conto_terzi=True)
    org.user(EXTERNAL, "Esterno", "external", client=alfa)
    for client in (alfa, beta, verde):
        link(db, client)
    return {"alfa": alfa, "beta": beta, "gamma": gamma, "verde": verde, "rossi": rossi}


def account(store_path, client_id: int) -> dict:
    conn = sqlite3.connect(store_path)
    conn.row_factory = sqlite3.Row
    try:
        return dict(
            conn.execute(
                "SELECT * FROM coupon_accounts WHERE client_id = ?", (client_id,)
            ).fetchone()
        )
    finally:
        conn.close()


def notices(db) -> list[tuple[str, str]]:
    """(recipient e-mail, text) of the coupon notifications, in order."""
    return [
        (r[0], r[1])
        for r in db.execute(
            "SELECT u.email, n.text FROM notifications n JOIN users u ON u.id = n.user_id"
            " WHERE n.kind = 'coupon' ORDER BY n.id"
        )
    ]


def usage_set(cli, client_id: int, *extra: str, as_user: str = SADMIN):
    return cli(
        "--format", "json", "coupon", "usage", "set", str(client_id), *extra, as_user=as_user
    )


# --- usage set ------------------------------------------------------------------------


def test_set_records_both_figures_and_when(cli, firm, store_path, clock):
    record = data(usage_set(cli, firm["alfa"], "--documents", "1200", "--contacts", "40"))
    assert record["documents"] == 1200 and record["documents_limit"] == 3000
    assert record["documents_pct"] == 40
    assert (record["contacts"], record["contacts_limit"], record["contacts_pct"]) == (40, 5000, 0)
    stored = account(store_path, firm["alfa"])
    assert (stored["documents"], stored["contacts"]) == (1200, 40)
    assert stored["usage_at"] == "2026-11-16T09:30:00+00:00"


def test_set_one_figure_keeps_the_other(cli, firm, store_path):
    ok(usage_set(cli, firm["alfa"], "--documents", "10", "--contacts", "20"))
    ok(usage_set(cli, firm["alfa"], "--contacts", "25"))
    stored = account(store_path, firm["alfa"])
    assert (stored["documents"], stored["contacts"]) == (10, 25)


def test_set_is_audited(cli, firm, db):
    ok(usage_set(cli, firm["alfa"], "--documents", "7"))
    row = db.execute(
        "SELECT details FROM audit_log WHERE action = 'usage' AND object_type = 'coupon_account'"
        " AND object_id = ?",
        (firm["alfa"],),
    ).fetchone()
    assert json.loads(row[0]) == {"documents": 7}


def test_set_with_neither_figure_is_a_usage_error(cli, firm, store_path):
    before = store_digest(store_path)
    result = usage_set(cli, firm["alfa"])
    assert_one_line_error(result, 2, "--documents", "--contacts")
    assert store_digest(store_path) == before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--documents", "-1"), "--documents"),
        (("--contacts", "1000000000000"), "--contacts"),
        (("--documents", "10000001"), "--documents"),
    ],
)
def test_set_refuses_a_negative_or_huge_figure(cli, firm, store_path, args, field):
    before = store_digest(store_path)
    assert_one_line_error(usage_set(cli, firm["alfa"], *args), 6, field)
    assert store_digest(store_path) == before


def test_the_bounds_are_accepted(cli, firm, store_path):
    ok(usage_set(cli, firm["alfa"], "--documents", "0", "--contacts", "10000000"))
    assert account(store_path, firm["alfa"])["contacts"] == 10_000_000


def test_a_client_without_an_account_is_a_rule_violation(cli, firm, store_path, db):
    before = store_digest(store_path)
    assert_one_line_error(usage_set(cli, firm["gamma"], "--documents", "5"), 5, "no coupon account")
    link(db, firm["gamma"], unlinked=True)
    before = store_digest(store_path)
    assert_one_line_error(usage_set(cli, firm["gamma"], "--documents", "5"), 5, "unlinked")
    assert store_digest(store_path) == before


def test_who_may_record_usage(cli, firm, store_path):
    ok(usage_set(cli, firm["alfa"], "--documents", "1"))  # the practice's administrator
    ok(usage_set(cli, firm["alfa"], "--documents", "2", as_user=ADMIN_EMAIL))
    ok(usage_set(cli, firm["alfa"], "--documents", "3", as_user=RESP))  # in its work group
    before = store_digest(store_path, ignore=("audit_log",))  # a refusal is logged
    # an operator not in the client's work group does not see it
    assert_one_line_error(
        usage_set(cli, firm["alfa"], "--documents", "4", as_user=OPERATOR), 3, "not found"
    )
    assert_one_line_error(
        usage_set(cli, firm["alfa"], "--documents", "4", as_user=VERDI_ADMIN), 3, "not found"
    )
    assert_one_line_error(
        usage_set(cli, firm["alfa"], "--documents", "4", as_user=EXTERNAL), 8, "client's user"
    )
    assert store_digest(store_path, ignore=("audit_log",)) == before


# --- thresholds -----------------------------------------------------------------------


def _set(db, clock, firm, client: str = "alfa", **figures: int) -> dict:
    result = CouponUsage(db, clock, actor(db, SADMIN)).set(firm[client], **figures)
    clock.advance(timedelta(minutes=1))
    return result


def test_79_percent_is_no_notice_and_80_is_one(db, clock, firm):
    assert _set(db, clock, firm, documents=2399)["notified"] == 0  # 79.97 %
    assert notices(db) == []
    assert _set(db, clock, firm, documents=2400)["notified"] == 1
    assert notices(db) == [
        (
            RESP,
            "Alfa Srl: documents at 80% of the licence's limit (2,400 of 3,000, 80%);"
            " think of a higher licence before it is reached.",
        )
    ]
    assert _set(db, clock, firm, documents=2500)["notified"] == 0  # still 80 %: told once


def test_a_rerun_tells_nothing_again(db, clock, firm):
    _set(db, clock, firm, documents=2400)
    admin = actor(db, ADMIN_EMAIL)
    assert notify_thresholds(db, clock, admin) == 0
    assert notify_thresholds(db, clock, admin, [firm["alfa"]]) == 0
    assert len(notices(db)) == 1


def test_100_percent_is_one_more_notice(db, clock, firm):
    _set(db, clock, firm, documents=2400)
    assert _set(db, clock, firm, documents=3000)["notified"] == 1
    texts = [t for _, t in notices(db)]
    assert len(texts) == 2
    assert texts[1].startswith(
        "Alfa Srl: documents at 100% of the licence's limit (3,000 of 3,000, 100%)"
    )
    assert _set(db, clock, firm, documents=3500)["notified"] == 0


def test_a_jump_from_0_to_100_is_one_notice_saying_100(db, clock, firm):
    assert _set(db, clock, firm, documents=3001)["notified"] == 1
    [(_, text)] = notices(db)
    assert "at 100%" in text and "80%" not in text
    assert account_marks(db, firm["alfa"]) == (100, 0)


def account_marks(db, client_id: int) -> tuple[int, int]:
    return tuple(
        db.execute(
            "SELECT documents_notified, contacts_notified FROM coupon_accounts WHERE client_id = ?",
            (client_id,),
        ).fetchone()
    )


def test_a_fall_then_a_rise_tells_again(db, clock, firm):
    _set(db, clock, firm, documents=3000)
    assert account_marks(db, firm["alfa"]) == (100, 0)
    _set(db, clock, firm, documents=2500)  # a fall below 100: the mark is lowered, no notice
    assert account_marks(db, firm["alfa"]) == (80, 0)
    assert len(notices(db)) == 1
    _set(db, clock, firm, documents=10)  # a new year at the vendor
    assert account_marks(db, firm["alfa"]) == (0, 0)
    assert _set(db, clock, firm, documents=2450)["notified"] == 1
    assert _set(db, clock, firm, documents=3000)["notified"] == 1
    texts = [t for _, t in notices(db)]
    assert [("at 100%" in t, "at 80%" in t) for t in texts] == [
        (True, False),
        (False, True),
        (True, False),
    ]


def test_the_same_rise_at_the_same_second_is_still_told(db, clock, firm):
    """The notice's source counts the times told, not the clock: a fall and a rise in
    one second (a script) still tell."""
    service = CouponUsage(db, clock, actor(db, SADMIN))
    service.set(firm["alfa"], documents=2400)
    service.set(firm["alfa"], documents=0)
    assert service.set(firm["alfa"], documents=2400)["notified"] == 1
    assert len(notices(db)) == 2


def test_documents_and_contacts_each_have_their_thresholds(db, clock, firm):
    assert _set(db, clock, firm, contacts=3999)["notified"] == 0  # 79.98 % of 5,000
    assert _set(db, clock, firm, contacts=4000, documents=2400)["notified"] == 2
    assert account_marks(db, firm["alfa"]) == (80, 80)
    assert _set(db, clock, firm, contacts=5000)["notified"] == 1
    texts = [t for _, t in notices(db)]
    assert any("contacts at 80%" in t and "(4,000 of 5,000, 80%)" in t for t in texts)
    assert texts[-1].startswith("Alfa Srl: contacts at 100%")


def test_the_nightly_call_covers_every_linked_account_and_only_those(db, clock, firm, store_path):
    # figures recorded by another path (the vendor's figures already there): marks at 0
    db.execute("UPDATE coupon_accounts SET documents = 2900 WHERE client_id = ?", (firm["alfa"],))
    db.execute("UPDATE coupon_accounts SET contacts = 5000 WHERE client_id = ?", (firm["verde"],))
    admin = actor(db, ADMIN_EMAIL)
    assert notify_thresholds(db, clock, admin, [firm["beta"]]) == 0  # only these
    assert notify_thresholds(db, clock, admin) == 2
    assert notify_thresholds(db, clock, admin) == 0


def test_an_unlinked_account_or_no_responsible_is_not_told(db, clock, firm, org):
    db.execute(
        "UPDATE coupon_accounts SET documents = 3000, unlinked_at = '2026-11-01T00:00:00+00:00'"
        " WHERE client_id = ?",
        (firm["beta"],),
    )
    db.execute("UPDATE clients SET responsible_id = NULL WHERE id = ?", (firm["alfa"],))
    db.execute("UPDATE coupon_accounts SET documents = 3000 WHERE client_id = ?", (firm["alfa"],))
    admin = actor(db, ADMIN_EMAIL)
    assert notify_thresholds(db, clock, admin) == 0
    assert account_marks(db, firm["alfa"]) == (0, 0)  # kept: a responsible named later is told
    db.execute(
        "UPDATE clients SET responsible_id = (SELECT id FROM users WHERE email = ?) WHERE id = ?",
        (RESP, firm["alfa"]),
    )
    assert notify_thresholds(db, clock, admin) == 1


def test_reached_agrees_with_the_sql(db, clock, firm):
    """The Python rule and the query's CASE agree around every edge."""
    for value in (0, 2399, 2400, 2401, 2999, 3000, 3001, 10_000_000):
        db.execute(
            "UPDATE coupon_accounts SET documents = ?, documents_notified = 0 WHERE client_id = ?",
            (value, firm["alfa"]),
        )
        notify_thresholds(db, clock, actor(db, ADMIN_EMAIL), [firm["alfa"]])
        assert account_marks(db, firm["alfa"])[0] == usage_service.reached(value, 3000)


# --- usage import ---------------------------------------------------------------------


def write(tmp_path, text: str, name: str = "utilizzo.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def usage_import(cli, path, *extra: str, as_user: str = SADMIN, fmt: str = "json"):
    return cli("--format", fmt, "coupon", "usage", "import", str(path), *extra, as_user=as_user)


def test_a_good_file_records_every_row_and_tells_the_thresholds(
    cli, firm, store_path, tmp_path, db
):
    path = write(
        tmp_path,
        f"partita_iva,documents,contacts\r\n{piva(1)},2400,100\r\nIT{piva(2)},15,\r\n",
    )
    report = data(usage_import(cli, path))
    assert (report["rows"], report["updated"], report["refused"], report["notified"]) == (
        2, 2, 0, 1,
    )  # fmt: skip
    assert report["problems"] == []
    alfa, beta = account(store_path, firm["alfa"]), account(store_path, firm["beta"])
    assert (alfa["documents"], alfa["contacts"], alfa["documents_notified"]) == (2400, 100, 80)
    assert (beta["documents"], beta["contacts"]) == (15, 0)  # an empty cell: not given
    assert alfa["usage_at"] == beta["usage_at"] == "2026-11-16T09:30:00+00:00"
    assert len(notices(db)) == 1
    audited = db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'usage' AND object_type = 'coupon_account'"
    ).fetchone()[0]
    assert audited == 2


def test_a_semicolon_file_by_client_id_with_a_bom_and_an_excel_sep_line(
    cli, firm, store_path, tmp_path
):
    path = tmp_path / "export.csv"
    path.write_bytes(
        (
            "sep=;\r\nClient ID;Documents;Contacts\r\n"
            f"{firm['alfa']};12;34\r\n\r\n{firm['beta']};;7\r\n"
        ).encode("utf-8-sig")
    )
    result = usage_import(cli, path, fmt="table")
    ok(result)
    assert "Recorded the usage of 2 client(s)" in result.stderr
    assert account(store_path, firm["alfa"])["contacts"] == 34
    assert account(store_path, firm["beta"])["contacts"] == 7


def test_one_bad_row_among_good_ones_is_reported_and_nothing_is_written(
    cli, firm, store_path, tmp_path
):
    path = write(
        tmp_path,
        "partita_iva;documents;contacts\n"
        f"{piva(1)};10;20\n"
        f"{piva(2)};molti;20\n"
        f"{piva(1)};11;\n"
        f"{piva(3)};1;1\n",
    )
    before = store_digest(store_path)
    result = usage_import(cli, path, fmt="table")
    assert result.exit_code == 6
    stderr = result.stderr.splitlines()
    assert stderr[-1].startswith(
        "Error: utilizzo.csv: 3 of 4 row(s) refused (first: line 3, documents: 'molti' is not a"
        " whole number"
    )
    assert "nothing was written" in stderr[-1]
    table = "\n".join(stderr[:-1])
    assert "molti" in table and "already on line 2" in table and "no coupon account" in table
    assert store_digest(store_path) == before
    # JSON: the whole report, each problem with its line, column and value
    report = json.loads(usage_import(cli, path).stdout)
    assert [(p["line"], p["column"], p["value"]) for p in report["problems"]] == [
        (3, "documents", "molti"),
        (4, "partita_iva", piva(1)),
        (5, "partita_iva", piva(3)),
    ]
    assert report["updated"] == 0
    assert store_digest(store_path) == before


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        (f"{piva(9)};1;1", "partita_iva", "no client with this partita IVA"),
        ("12345678901;1;1", "partita_iva", "not a valid partita IVA"),
        (f"{piva(1)};-3;1", "documents", "not a whole number"),
        (f"{piva(1)};1;10000001", "contacts", "over 10,000,000"),
        (f"{piva(1)};;", "documents", "no documents nor contacts"),
        (f"{piva(1)};1;1;9", "(row)", "4 cells, but the header has 3 columns"),
    ],
)
def test_each_bad_row_names_its_column_and_problem(
    cli, firm, store_path, tmp_path, row, column, fragment
):
    path = write(tmp_path, f"partita_iva;documents;contacts\n{piva(2)};5;5\n{row}\n")
    before = store_digest(store_path)
    result = usage_import(cli, path)
    assert result.exit_code == 6
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["line"], problem["column"]) == (3, column)
    assert fragment in problem["problem"]
    assert store_digest(store_path) == before


def test_a_client_of_another_practice_is_unknown_not_leaked(cli, firm, store_path, tmp_path):
    by_piva = write(tmp_path, f"partita_iva;documents\n{piva(4)};5\n", "a.csv")
    by_id = write(tmp_path, f"client_id;documents\n{firm['verde']};5\n", "b.csv")
    before = store_digest(store_path)
    [problem] = json.loads(usage_import(cli, by_piva).stdout)["problems"]
    assert problem["problem"] == "no client with this partita IVA"
    [problem] = json.loads(usage_import(cli, by_id).stdout)["problems"]
    assert problem["problem"] == f"client {firm['verde']} not found"
    assert store_digest(store_path) == before
    # the firm administrator sees it; --studio narrows the search to one practice
    ok(usage_import(cli, by_piva, as_user=ADMIN_EMAIL))
    result = usage_import(cli, by_piva, "--studio", "Studio Rossi", as_user=ADMIN_EMAIL)
    assert result.exit_code == 6


def test_the_file_itself_wrong_is_one_line(cli, firm, store_path, tmp_path):
    before = store_digest(store_path)
    cases = [
        ("partita_iva;documenti\n1;2\n", "unknown column 'documenti'"),
        ("documents;contacts\n1;2\n", "no partita_iva nor client_id column"),
        ("partita_iva\n" + piva(1) + "\n", "no documents nor contacts column"),
        ("partita_iva;documents\n", "no rows"),
        ("", "no header row"),
        ('partita_iva;documents\n"' + piva(1) + ";1\n", "not CSV"),
    ]
    for text, fragment in cases:
        result = usage_import(cli, write(tmp_path, text))
        assert_one_line_error(result, 6, fragment)
    assert_one_line_error(usage_import(cli, tmp_path / "none.csv"), 6, "no file")
    assert_one_line_error(usage_import(cli, tmp_path), 6, "FILE")
    assert store_digest(store_path) == before


def test_a_clients_user_may_not_import(cli, firm, tmp_path):
    path = write(tmp_path, f"partita_iva;documents\n{piva(1)};5\n")
    assert_one_line_error(usage_import(cli, path, as_user=EXTERNAL), 8, "client's user")


def test_ten_thousand_rows_check_and_write_in_one_go(db, clock, org, tmp_path):
    """Correctness at scale (the speed is bench/coupons.py's): 10,000 rows, one
    transaction, every account updated."""
    from sempi_cli.services.clients import bulk, profile

    studio = org.practice("Studio Grande")
    now = "2026-11-16T09:30:00+00:00"
    admin = actor(db, ADMIN_EMAIL)
    rows = []
    first = bulk.next_client_id(db)
    for i in range(10_000):
        rows.append(
            {
                "id": first + i, "studio_id": studio, "ragione_sociale": f"Cliente {i}",
                "taxpayer_kind": "societa_capitali", "codice_fiscale": None,
                "partita_iva": piva(100 + i), "email": None, "pec": None, "nickname": None,
                "responsible_id": None, "smart_services": "[]", "conto_terzi": 1,
                "created_at": now, "updated_at": now,
                **profile.defaults(),
            }
        )  # fmt: skip
    with write_transaction(db):
        bulk.insert_many(db, rows, clock, admin)
        db.executemany(
            "INSERT INTO coupon_accounts (client_id, email, consultant_name, consultant_surname,"
            " consultant_cf, authorised_at, authorised_by) VALUES (?, 'x@y.test', 'M', 'R',"
            " 'RSSMRA85T10A562S', ?, ?)",
            [(r["id"], now, admin.id) for r in rows],
        )
    lines = ["partita_iva;documents;contacts"] + [
        f"{r['partita_iva']};{i % 3001};{i % 5001}" for i, r in enumerate(rows)
    ]
    path = write(tmp_path, "\n".join(lines) + "\n")
    report = CouponUsage(db, clock, admin).import_file(str(path))
    assert (report["updated"], report["refused"]) == (10_000, 0)
    total = db.execute(
        "SELECT sum(documents), sum(contacts) FROM coupon_accounts WHERE client_id >= ?", (first,)
    ).fetchone()
    assert tuple(total) == (
        sum(i % 3001 for i in range(10_000)),
        sum(i % 5001 for i in range(10_000)),
    )


def test_a_partita_iva_in_two_practices_is_resolved_by_the_account_or_studio(
    cli, firm, org, db, store_path, tmp_path
):
    """A firm administrator sees every practice: the same partita IVA may be a client
    of two. The one with a coupon account is meant; two with accounts are ambiguous
    (the row says so), and --studio settles it."""
    verdi = db.execute("SELECT id FROM studios WHERE name = 'Studio Verdi'").fetchone()[0]
    twin = org.client("Alfa Verdi Srl", verdi, 1, conto_terzi=True)
    path = write(tmp_path, f"partita_iva;documents\n{piva(1)};5\n")
    ok(usage_import(cli, path, as_user=ADMIN_EMAIL))
    assert account(store_path, firm["alfa"])["documents"] == 5
    link(db, twin)
    before = store_digest(store_path)
    [problem] = json.loads(usage_import(cli, path, as_user=ADMIN_EMAIL).stdout)["problems"]
    assert problem["problem"] == (
        f"clients {firm['alfa']}, {twin} have this partita IVA (give client_id, or --studio)"
    )
    assert store_digest(store_path) == before
    ok(usage_import(cli, path, "--studio", "Studio Verdi", as_user=ADMIN_EMAIL))
    assert account(store_path, twin)["documents"] == 5


@given(st.integers(min_value=0, max_value=usage_service.MAX_FIGURE), st.sampled_from([3000, 5000]))
def test_the_threshold_reached_is_the_whole_percent_shown(value, limit):
    """What the grid shows (the whole percent, rounded down) and what is told agree:
    79.99 % is not 80 %."""
    pct = value * 100 // limit
    assert usage_service.reached(value, limit) == (100 if pct >= 100 else 80 if pct >= 80 else 0)


@given(st.text(max_size=12))
def test_a_figure_is_digits_or_one_line_error(text):
    try:
        number = usage_service.figure(text, "--documents")
    except InvalidData as exc:
        assert exc.field == "--documents"
    else:
        assert 0 <= number <= usage_service.MAX_FIGURE
        digits = text.strip().removeprefix("+")
        assert digits and set(digits) <= set("0123456789")
