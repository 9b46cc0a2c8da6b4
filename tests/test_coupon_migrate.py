"""Issue 16, `coupon migrate`: one migrazione coupon of the client's practice per
client, all clients or none. Each migrated client gets its account (the e-mail,
the consultant's authorisation), a Standard read-only term to 31 December of the
coupon's year and the credentials e-mail (no password in it); refusals name each
client with its reason and write nothing; --dry-run leaves the store byte-identical;
bad input is one line (exit 6); who may: the practice's administrator or a firm
administrator, the client's own user never."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.services.coupons import rules
from sempi_cli.services.coupons.migrate import CouponMigration, refusal
from tests.conftest import actor, cf_person, store_digest
from tests.helpers import assert_one_line_error, data, ok

SADMIN, OPERATOR, VADMIN = "sadmin@rossi.test", "op@rossi.test", "vadmin@verdi.test"
EXTERNAL, FIRM_ADMIN = "ext@alfa.test", "admin@sempi.test"
E = "conti@alfa-cloud.test"
CONSULTANT = ("--consultant-name", "Mario", "--consultant-surname", "Rossi")
CF = cf_person(1)


@pytest.fixture
def firm(org) -> dict:
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=rossi)
    org.user(VADMIN, "Vera Verdi", "studio-admin", studio=verdi)
    return {"rossi": rossi, "verdi": verdi, "n": 0, "org": org}


def package(db, studio: int, count: int, until: str = "2026-12-31", kind="migrazione") -> int:
    """A coupon package, as `coupon add` records one (its own tests are elsewhere)."""
    return db.execute(
        "INSERT INTO coupon_packages (studio_id, type, count, valid_until, added_at, added_by)"
        " VALUES (?, ?, ?, ?, '2026-11-01T09:00:00+00:00', 1) RETURNING id",
        (studio, kind, count, until),
    ).fetchone()[0]


def client(firm, name: str, studio: str = "rossi", *, conto_terzi: bool = True, **kw) -> int:
    """A client served conto terzi (the flag written as `client edit --conto-terzi yes` would)."""
    firm["n"] += 1
    client_id = firm["org"].client(name, firm[studio], firm["n"], **kw)
    firm["org"].db.execute(
        "UPDATE clients SET conto_terzi = ? WHERE id = ?", (int(conto_terzi), client_id)
    )
    return client_id


def migrate(cli, *args: str, cf: str = CF, as_user: str = SADMIN):
    return cli(
        "--format",
        "json",
        "coupon",
        "migrate",
        *args,
        *CONSULTANT,
        "--consultant-cf",
        cf,
        as_user=as_user,
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


def count(db, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def omocodia(cf: str) -> str:
    """``cf`` with its last digits replaced by the omocodia letters, check fixed."""
    from stdnum.it import codicefiscale

    letters = dict(zip("0123456789", "LMNPQRSTUV", strict=True))
    body = list(cf[:15])
    for position in (14, 13, 12):  # the birthplace's digits, from the right
        body[position] = letters[body[position]]
    body_text = "".join(body)
    return body_text + codicefiscale.calc_check_digit(body_text)


# --- migrating ----------------------------------------------------------------------


def test_each_client_gets_its_account_its_term_the_mail_and_an_audit_line(cli, db, firm):
    p = package(db, firm["rossi"], 5)
    alfa = client(firm, "Alfa Srl")
    beta = client(firm, "Beta Srl", email="amministrazione@beta.test")
    result = migrate(cli, str(alfa), str(beta), "--email", E)
    rows = data(result)
    assert [
        (r["client_id"], r["name"], r["email"], r["ends_on"], r["package_id"]) for r in rows
    ] == [
        (alfa, "Alfa Srl", E, "2026-12-31", p),
        (beta, "Beta Srl", E, "2026-12-31", p),
    ]
    assert result.stderr.strip() == "2 client(s) migrated; 3 coupon(s) left."
    for client_id in (alfa, beta):
        assert terms(db, client_id) == [
            ("migration", rules.COUPON_LICENCE, "2026-11-16", "2026-12-31", p)
        ]
        account = db.execute(
            "SELECT * FROM coupon_accounts WHERE client_id = ?", (client_id,)
        ).fetchone()
        assert (account["email"], account["consultant_name"], account["consultant_surname"]) == (
            E,
            "Mario",
            "Rossi",
        )
        assert account["consultant_cf"] == CF
        assert account["authorised_at"] == "2026-11-16T09:30:00+00:00"
        assert account["authorised_by"] == actor(db, SADMIN).id
        # The password must be chosen at the first access: not recorded yet.
        assert account["first_access_at"] is None and account["unlinked_at"] is None
    audited = db.execute(
        "SELECT object_id, details FROM audit_log WHERE action = 'migrate'"
        " AND object_type = 'coupon_account' ORDER BY object_id"
    ).fetchall()
    assert [a["object_id"] for a in audited] == [alfa, beta]
    assert all(
        E not in a["details"] and CF not in a["details"] for a in audited
    )  # no personal data


def test_the_credentials_mail_goes_to_the_accounts_e_mail_and_carries_no_password(cli, db, firm):
    package(db, firm["rossi"], 5)
    alfa = client(firm, "Alfa Srl")
    ok(migrate(cli, str(alfa), "--email", E))
    [mail] = db.execute("SELECT * FROM mail_outbox WHERE kind = 'credentials'").fetchall()
    assert (mail["to_address"], mail["client_id"], mail["studio_id"]) == (E, alfa, firm["rossi"])
    body = mail["body"]
    assert body.startswith("Gentile Alfa Srl,")
    assert "Studio Rossi ha attivato per Alfa Srl una licenza Standard in sola lettura" in body
    assert "fino al 31/12/2026" in body
    assert f"Nome utente: {E}" in body
    assert (
        "Indirizzo di accesso: https://cloud.example/accesso?utente=conti%40alfa-cloud.test" in body
    )
    assert "Al primo accesso dovrà scegliere la sua password" in body
    # No password of any kind: no "Password:" line, no secret the mail would hand out.
    assert "password:" not in body.lower()
    assert body.rstrip().endswith("Cordiali saluti,\nSempi Servizi Srl")


def test_without_email_each_client_gets_its_own_and_one_without_is_refused(
    cli, db, firm, store_path
):
    package(db, firm["rossi"], 5)
    alfa = client(firm, "Alfa Srl", email="Fatture@Alfa.test")
    beta = client(firm, "Beta Srl")
    before = store_digest(store_path)
    assert_one_line_error(
        migrate(cli, str(alfa), str(beta)), 5, f"client {beta} (Beta Srl): no e-mail: give --email"
    )
    assert store_digest(store_path) == before
    rows = data(migrate(cli, str(alfa)))
    assert rows[0]["email"] == "fatture@alfa.test"
    assert db.execute("SELECT to_address FROM mail_outbox").fetchone()[0] == "fatture@alfa.test"


def test_the_term_ends_31_december_of_the_coupons_year(cli, db, firm):
    p = package(db, firm["rossi"], 1, "2027-12-31")
    alfa = client(firm, "Alfa Srl")
    ok(migrate(cli, str(alfa), "--email", E))
    assert terms(db, alfa) == [("migration", "standard-readonly", "2026-11-16", "2027-12-31", p)]


def test_the_soonest_package_to_expire_serves_first(cli, db, firm):
    later = package(db, firm["rossi"], 1, "2027-12-31")
    sooner = package(db, firm["rossi"], 1, "2026-12-31")
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl")
    rows = data(migrate(cli, str(alfa), str(beta), "--email", E))
    assert [(r["package_id"], r["ends_on"]) for r in rows] == [
        (sooner, "2026-12-31"),
        (later, "2027-12-31"),
    ]


def test_on_31_december_in_rome_the_years_coupon_still_serves_on_1_january_it_does_not(
    cli, db, clock, firm, store_path
):
    package(db, firm["rossi"], 2, "2026-12-31")
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl")
    clock.set(datetime(2026, 12, 31, 22, 30, tzinfo=UTC))  # 23:30 in Rome: still 31 December
    assert data(migrate(cli, str(alfa), "--email", E))[0]["ends_on"] == "2026-12-31"
    assert terms(db, alfa)[0][2:4] == ("2026-12-31", "2026-12-31")
    clock.set(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))  # 00:30 on 1 January in Rome
    before = store_digest(store_path)
    assert_one_line_error(
        migrate(cli, str(beta), "--email", E), 5, "no coupon left", "valid through 01/01/2027"
    )
    assert store_digest(store_path) == before


def test_a_client_given_twice_counts_once(cli, db, firm):
    package(db, firm["rossi"], 1)
    alfa = client(firm, "Alfa Srl")
    rows = data(migrate(cli, str(alfa), str(alfa), "--email", E))
    assert [r["client_id"] for r in rows] == [alfa]
    assert len(terms(db, alfa)) == 1 and count(db, "mail_outbox") == 1


# --- refusals -----------------------------------------------------------------------


@pytest.fixture
def kinds(db, firm) -> dict:
    """One client of each kind that may not be migrated, and one that may."""
    package(db, firm["rossi"], 20)
    ids = {
        name: client(firm, f"{name.title()} Srl")
        for name in ("good", "own", "active", "not_ct", "removed", "no_piva")
    }
    db.execute("UPDATE clients SET own_licence = 1 WHERE id = ?", (ids["own"],))
    db.execute("UPDATE clients SET conto_terzi = 0 WHERE id = ?", (ids["not_ct"],))
    db.execute(
        "UPDATE clients SET removed_at = '2026-11-01T09:00:00+00:00' WHERE id = ?",
        (ids["removed"],),
    )
    db.execute(
        "UPDATE clients SET partita_iva = NULL, codice_fiscale = ? WHERE id = ?",
        (cf_person(7), ids["no_piva"]),
    )
    CouponMigration(db, FixedAt("2026-03-02T08:00:00+00:00"), actor(db, SADMIN)).migrate(
        [ids["active"]],
        consultant_name="Mario",
        consultant_surname="Rossi",
        consultant_cf=CF,
        email=E,
    )
    return ids


class FixedAt:
    """A clock at one instant (the earlier migration of the ``active`` client)."""

    def __init__(self, at: str) -> None:
        self.at = datetime.fromisoformat(at)

    def now(self) -> datetime:
        return self.at


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("own", "it bought its own licence"),
        (
            "active",
            "already activated with a coupon on 02/03/2026: renew it with 'sempi coupon renew'",
        ),
        ("not_ct", "it is not served conto terzi"),
        ("removed", "the client was removed"),
        ("no_piva", "it has no partita IVA"),
    ],
)
def test_each_refusal_names_the_client_and_its_reason_and_writes_nothing(
    cli, kinds, store_path, kind, reason
):
    before = store_digest(store_path)
    line = assert_one_line_error(
        migrate(cli, str(kinds["good"]), str(kinds[kind]), "--email", E),
        5,
        f"client {kinds[kind]} ({kind.title()} Srl): {reason}",
        "Nothing was migrated",
    )
    assert f"client {kinds['good']} " not in line  # the good one is not named
    assert store_digest(store_path) == before


def test_every_refused_client_is_named_at_once(cli, kinds, store_path):
    before = store_digest(store_path)
    refused = ("own", "active", "not_ct", "removed", "no_piva")
    line = assert_one_line_error(
        migrate(cli, str(kinds["good"]), *(str(kinds[k]) for k in refused), "--email", E), 5
    )
    for kind in refused:
        assert f"client {kinds[kind]} ({kind.title()} Srl)" in line
    assert store_digest(store_path) == before


def test_many_refused_clients_are_all_named_the_first_ones_with_their_reason(db, clock, firm):
    package(db, firm["rossi"], 50)
    ids = [client(firm, f"Cliente {i} Srl", conto_terzi=False) for i in range(25)]
    with pytest.raises(Exception, match="not migrated") as refused:
        CouponMigration(db, clock, actor(db, SADMIN)).migrate(
            ids, consultant_name="Mario", consultant_surname="Rossi", consultant_cf=CF, email=E
        )
    message = str(refused.value)
    assert message.count("it is not served conto terzi") == 20
    assert f"and 5 more: clients {', '.join(str(i) for i in ids[20:])}" in message


def test_more_clients_than_coupons_left_is_refused_and_writes_nothing(cli, db, firm, store_path):
    package(db, firm["rossi"], 2)
    package(db, firm["rossi"], 5, kind="rinnovo")  # not a migration coupon
    package(db, firm["rossi"], 5, until="2025-12-31")  # expired
    package(db, firm["verdi"], 5)  # another practice's
    ids = [str(client(firm, f"Cliente {i} Srl")) for i in range(3)]
    before = store_digest(store_path)
    assert_one_line_error(
        migrate(cli, *ids, "--email", E),
        5,
        "Studio Rossi: no coupon left: 3 needed, 2 migrazione coupon(s) valid through 16/11/2026",
    )
    assert store_digest(store_path) == before
    assert len(data(migrate(cli, *ids[:2], "--email", E))) == 2
    assert_one_line_error(migrate(cli, ids[2], "--email", E), 5, "no coupon left: 1 needed, 0")


def test_coupons_already_used_are_not_counted_again(cli, db, firm):
    package(db, firm["rossi"], 1)
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl")
    ok(migrate(cli, str(alfa), "--email", E))
    assert_one_line_error(migrate(cli, str(beta), "--email", E), 5, "no coupon left")


def test_clients_of_two_practices_each_draw_from_their_own_practice(cli, db, firm, store_path):
    rossi_p, verdi_p = package(db, firm["rossi"], 1), package(db, firm["verdi"], 1)
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl", "verdi")
    gamma = client(firm, "Gamma Srl", "verdi")
    before = store_digest(store_path)
    assert_one_line_error(
        migrate(cli, str(alfa), str(beta), str(gamma), "--email", E, as_user=FIRM_ADMIN),
        5,
        "Studio Verdi: no coupon left: 2 needed, 1",
    )
    assert store_digest(store_path) == before
    result = migrate(cli, str(alfa), str(beta), "--email", E, as_user=FIRM_ADMIN)
    assert [(r["client_id"], r["package_id"]) for r in data(result)] == [
        (alfa, rossi_p),
        (beta, verdi_p),
    ]
    assert result.stderr.strip() == "2 client(s) migrated; 0 coupon(s) left."
    # A practice's administrator may not spend another practice's coupons.
    assert_one_line_error(migrate(cli, str(alfa), str(gamma), "--email", E), 3, "not found")


# --- --dry-run -------------------------------------------------------------------------


def test_a_dry_run_reports_the_same_and_leaves_the_store_byte_identical(cli, db, firm, store_path):
    package(db, firm["rossi"], 3)
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl")
    before = store_digest(store_path)
    rehearsed = migrate(cli, str(alfa), str(beta), "--email", E, "--dry-run")
    assert store_digest(store_path) == before
    assert rehearsed.stderr.strip() == "2 client(s) would be migrated; 1 coupon(s) would be left."
    done = migrate(cli, str(alfa), str(beta), "--email", E)
    assert data(rehearsed) == data(done)
    assert store_digest(store_path) != before


def test_a_dry_run_refuses_as_the_real_run_does(cli, db, firm, store_path):
    package(db, firm["rossi"], 1)
    alfa, beta = client(firm, "Alfa Srl"), client(firm, "Beta Srl")
    before = store_digest(store_path)
    assert_one_line_error(
        migrate(cli, str(alfa), str(beta), "--email", E, "--dry-run"), 5, "no coupon left"
    )
    assert store_digest(store_path) == before


def test_the_service_dry_run_reports_the_ids_it_would_have_written(db, clock, firm):
    package(db, firm["rossi"], 3)
    alfa = client(firm, "Alfa Srl")
    service = CouponMigration(db, clock, actor(db, SADMIN))
    kwargs = dict(consultant_name="Mario", consultant_surname="Rossi", consultant_cf=CF, email=E)
    rehearsed = service.migrate([alfa], dry_run=True, **kwargs)
    assert rehearsed["dry_run"] is True and count(db, "coupon_licences") == 0
    done = service.migrate([alfa], **kwargs)
    assert done["dry_run"] is False
    assert rehearsed["migrated"] == done["migrated"]
    assert (
        (rehearsed["mails"], rehearsed["coupons_left"])
        == (1, 2)
        == (done["mails"], done["coupons_left"])
    )


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "cf", "field"),
    [
        ((), CF[:15] + ("A" if CF[15] != "A" else "B"), "--consultant-cf"),  # check character
        ((), "RSSMRA85T10A562", "--consultant-cf"),  # 15 characters
        ((), "12345678903", "--consultant-cf"),  # a company's code, not a person's
        (("--email", "mario@@alfa"), CF, "--email"),
        (("--email", "nessuno"), CF, "--email"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(cli, db, firm, store_path, args, cf, field):
    package(db, firm["rossi"], 5)
    alfa = client(firm, "Alfa Srl", email="alfa@example.test")
    before = store_digest(store_path)
    assert_one_line_error(migrate(cli, str(alfa), *args, cf=cf), 6, field)
    assert store_digest(store_path) == before


@pytest.mark.parametrize(
    ("name", "surname", "field"),
    [
        ("", "Rossi", "--consultant-name"),
        ("   ", "Rossi", "--consultant-name"),
        ("Mario", "Ros\x1bsi", "--consultant-surname"),
        ("M" * 101, "Rossi", "--consultant-name"),
    ],
)
def test_the_consultants_name_is_one_line_and_not_empty(
    cli, db, firm, store_path, name, surname, field
):
    package(db, firm["rossi"], 5)
    alfa = client(firm, "Alfa Srl")
    before = store_digest(store_path)
    result = cli(
        "coupon", "migrate", str(alfa), "--email", E, "--consultant-name", name,
        "--consultant-surname", surname, "--consultant-cf", CF, as_user=SADMIN,
    )  # fmt: skip
    assert_one_line_error(result, 6, field)
    assert store_digest(store_path) == before


def test_a_valid_omocodia_codice_fiscale_is_accepted_and_stored_normalised(cli, db, firm):
    package(db, firm["rossi"], 5)
    alfa = client(firm, "Alfa Srl")
    code = omocodia(CF)
    assert code != CF and not code[12:15].isdigit()
    ok(migrate(cli, str(alfa), "--email", E, cf=code.lower()[:8] + " " + code.lower()[8:]))
    stored = db.execute("SELECT consultant_cf FROM coupon_accounts").fetchone()[0]
    assert stored == code


def test_an_omocodia_code_with_a_wrong_check_character_is_refused(cli, db, firm, store_path):
    package(db, firm["rossi"], 5)
    alfa = client(firm, "Alfa Srl")
    code = omocodia(CF)
    wrong = code[:15] + ("Z" if code[15] != "Z" else "Y")
    before = store_digest(store_path)
    assert_one_line_error(
        migrate(cli, str(alfa), "--email", E, cf=wrong), 6, "--consultant-cf", "check character"
    )
    assert store_digest(store_path) == before


def test_an_unknown_client_is_not_found_and_nothing_is_written(cli, db, firm, store_path):
    package(db, firm["rossi"], 5)
    alfa = client(firm, "Alfa Srl")
    before = store_digest(store_path)
    assert_one_line_error(migrate(cli, str(alfa), "999", "--email", E), 3, "client 999 not found")
    assert store_digest(store_path) == before


# --- who may ---------------------------------------------------------------------------


def test_who_may_migrate(cli, db, firm, store_path):
    package(db, firm["rossi"], 5)
    alfa = client(firm, "Alfa Srl")
    firm["org"].user(EXTERNAL, "Esterno Alfa", "external", client=alfa)
    firm["org"].group(alfa, OPERATOR)
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(migrate(cli, str(alfa), "--email", E, as_user=EXTERNAL), 8)
    assert_one_line_error(
        migrate(cli, str(alfa), "--email", E, as_user=OPERATOR), 8, "administrator"
    )
    assert_one_line_error(
        migrate(cli, str(alfa), "--email", E, as_user=VADMIN), 3, f"client {alfa} not found"
    )
    assert store_digest(store_path, ignore=("audit_log",)) == before
    ok(migrate(cli, str(alfa), "--email", E, as_user=FIRM_ADMIN))


# --- an unlinked client, migrated anew ------------------------------------------------------


def test_an_unlinked_client_is_migrated_anew_and_its_account_replaced(cli, db, clock, firm):
    first = package(db, firm["rossi"], 1)
    alfa = client(firm, "Alfa Srl")
    ok(migrate(cli, str(alfa), "--email", E))
    ok(cli("coupon", "nickname", str(alfa), "Bar Alfa", as_user=SADMIN))
    ok(cli("coupon", "first-access", str(alfa), as_user=SADMIN))
    db.execute(
        "UPDATE coupon_accounts SET documents = 2900, contacts = 4100, usage_at = ?,"
        " documents_notified = 80, contacts_notified = 80",
        ("2026-11-16T09:30:00+00:00",),
    )
    ok(cli("coupon", "unlink", str(alfa), as_user=SADMIN))
    assert_one_line_error(
        migrate(cli, str(alfa), "--email", "nuovo@alfa.test"), 5, "no coupon left"
    )
    second = package(db, firm["rossi"], 1, "2027-12-31")
    clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    new_cf = cf_person(3)
    rows = data(migrate(cli, str(alfa), "--email", "nuovo@alfa.test", cf=new_cf))
    assert (rows[0]["email"], rows[0]["package_id"]) == ("nuovo@alfa.test", second)
    account = dict(
        db.execute("SELECT * FROM coupon_accounts WHERE client_id = ?", (alfa,)).fetchone()
    )
    assert account == {
        "client_id": alfa,
        "email": "nuovo@alfa.test",
        "nickname": "Bar Alfa",  # the practice's label stays
        "consultant_name": "Mario",
        "consultant_surname": "Rossi",
        "consultant_cf": new_cf,
        "authorised_at": "2026-11-20T09:00:00+00:00",
        "authorised_by": actor(db, SADMIN).id,
        "unlinked_at": None,
        "unlinked_by": None,
        "first_access_at": None,
        "documents": 0,
        "contacts": 0,
        "usage_at": None,
        "documents_notified": 0,
        "contacts_notified": 0,
    }
    assert [t[4] for t in terms(db, alfa)] == [first, second]  # the first coupon is not returned
    assert count(db, "coupon_accounts") == 1


# --- speed: one query for all the clients, bulk writes ----------------------------------------


def _reads(db, clock, firm, n: int) -> int:
    """The statements a migration of ``n`` clients runs, but the rows of its bulk
    INSERTs (the trace sees each row of an executemany)."""
    package(db, firm["rossi"], n)
    ids = [client(firm, f"Lotto{n} {i} Srl") for i in range(n)]
    seen: list[str] = []
    db.set_trace_callback(seen.append)
    try:
        CouponMigration(db, clock, actor(db, SADMIN)).migrate(
            ids, consultant_name="Mario", consultant_surname="Rossi", consultant_cf=CF, email=E
        )
    finally:
        db.set_trace_callback(None)
    return sum(1 for sql in seen if not sql.lstrip().upper().startswith("INSERT"))


def test_the_reads_do_not_grow_with_the_number_of_clients(db, clock, firm):
    assert _reads(db, clock, firm, 3) == _reads(db, clock, firm, 40)


# --- the rule, as a property ----------------------------------------------------------------


@given(
    own=st.booleans(),
    linked=st.booleans(),
    unlinked=st.booleans(),
    conto_terzi=st.booleans(),
    removed=st.booleans(),
    piva=st.booleans(),
    own_email=st.booleans(),
    given_email=st.booleans(),
)
def test_a_client_may_be_migrated_exactly_when_its_state_says_so_and_it_has_an_address(
    own, linked, unlinked, conto_terzi, removed, piva, own_email, given_email
):
    row = {
        "own_licence": int(own),
        "linked": int(linked),
        "unlinked_at": "2026-10-01T09:00:00+00:00" if linked and unlinked else None,
        "authorised_at": "2026-01-10T09:00:00+00:00" if linked else None,
        "ends_on": "2026-12-31" if linked else None,
        "conto_terzi": int(conto_terzi),
        "removed_at": "2026-11-01T09:00:00+00:00" if removed else None,
        "partita_iva": "01234567890" if piva else None,
        "client_email": "a@b.test" if own_email else None,
    }
    state, _ = rules.state(row, "2026-11-16")
    may = state in ("migratable", "unlinked") and (own_email or given_email)
    why = refusal(row, E if given_email else None)  # type: ignore[arg-type]
    assert (why is None) == may
    if own:
        assert why == "it bought its own licence"


def test_the_report_is_json_with_the_documented_columns(cli, db, firm):
    package(db, firm["rossi"], 1)
    alfa = client(firm, "Alfa Srl")
    rows = json.loads(ok(migrate(cli, str(alfa), "--email", E)).stdout)
    assert list(rows[0]) == ["client_id", "name", "email", "ends_on", "package_id"]
    table = cli("coupon", "list", "--studio", "Studio Rossi", as_user=SADMIN)
    assert ok(table).stdout  # the packages list still reads the used coupon
