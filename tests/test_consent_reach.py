"""Issue 15, "Access, enforced": who may reach a client's SMART services, as a table
of cases run through `consent check`, `smart list` and `smart open`; reach() and
the set-based SQL of `smart list` agree on every person and client."""

from __future__ import annotations

import json

import pytest

from sempi_cli.services.consent import reach as reach_module
from sempi_cli.services.consent.answers import AnswerService
from tests.conftest import ADMIN_EMAIL, actor, store_digest
from tests.helpers import assert_one_line_error, data, ok

RESP = "resp@sempi.test"  # firm staff, Alfa's responsible (so in its work group)
OUTSIDE_STAFF = "outside@sempi.test"  # firm staff in no work group
SADMIN = "sadmin@rossi.test"
OPERATOR = "op@rossi.test"  # in Alfa's work group
LONE_OPERATOR = "lone@rossi.test"  # in no work group
VERDI_ADMIN = "sadmin@verdi.test"
EXT_ALFA = "ext@alfa.test"
TODAY = "2026-11-16"  # the fixed clock's day


@pytest.fixture
def firm(org) -> dict:
    org.staff(RESP, OUTSIDE_STAFF)
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=rossi)
    org.user(LONE_OPERATOR, "Luca Solo", "studio-operator", studio=rossi)
    org.user(VERDI_ADMIN, "Vera Verdi", "studio-admin", studio=verdi)
    alfa = org.client(
        "Alfa Srl", rossi, 1, responsible=RESP, smart_services=["fattura-smart", "smart-hub"]
    )
    org.group(alfa, OPERATOR)
    org.user(EXT_ALFA, "Esterno Alfa", "external", client=alfa)
    return {"alfa": alfa, "rossi": rossi, "verdi": verdi}


def set_option(db, studio: int, enabled: bool, operators: bool) -> None:
    db.execute(
        "INSERT INTO smart_options (studio_id, enabled, operators, changed_at)"
        " VALUES (?, ?, ?, '2026-11-01T00:00:00+00:00') ON CONFLICT (studio_id)"
        " DO UPDATE SET enabled = excluded.enabled, operators = excluded.operators",
        (studio, int(enabled), int(operators)),
    )


def give(db, clock, client: int, *words: str) -> None:
    """The client's own user answers, in order."""
    service = AnswerService(db, clock, actor(db, EXT_ALFA))
    for word in words:
        service.answer(client, word)


# (who, option: off | on | operators, consent answers in order, allowed, reason)
CASES = [
    (OPERATOR, "off", ("yes",), False, "option off"),
    (OPERATOR, "on", ("yes",), False, "not extended to operators"),
    (OPERATOR, "operators", (), False, "no consent"),
    (OPERATOR, "operators", ("no",), False, f"refused on {TODAY}"),
    (OPERATOR, "operators", ("yes", "no"), False, f"refused on {TODAY}"),  # revoked
    (OPERATOR, "operators", ("yes",), True, None),
    (OPERATOR, "operators", ("no", "yes"), True, None),  # a change of mind
    (LONE_OPERATOR, "operators", ("yes",), False, "not managed"),
    (LONE_OPERATOR, "off", ("yes",), False, "option off"),
    (SADMIN, "off", ("yes",), False, "option off"),
    (SADMIN, "on", ("yes",), True, None),  # no membership, no extension needed
    (SADMIN, "on", (), False, "no consent"),
    (SADMIN, "operators", ("yes", "no"), False, f"refused on {TODAY}"),
    (ADMIN_EMAIL, "on", ("yes",), True, None),  # the firm administrator: as the practice's
    (ADMIN_EMAIL, "off", ("yes",), False, "option off"),
    (RESP, "on", ("yes",), False, "not extended to operators"),  # firm staff: as operators
    (RESP, "operators", ("yes",), True, None),
    (OUTSIDE_STAFF, "operators", ("yes",), False, "not managed"),
    (VERDI_ADMIN, "operators", ("yes",), False, "another practice"),
    (EXT_ALFA, "operators", ("yes",), False, "external users reach their services directly"),
]
# Who does not see Alfa at all: `smart open` says not found, as for any client one may not see.
BLIND = {LONE_OPERATOR, OUTSIDE_STAFF, VERDI_ADMIN}


@pytest.mark.parametrize(("who", "option", "consent", "allowed", "reason"), CASES)
def test_the_access_rule(cli, db, clock, firm, who, option, consent, allowed, reason):
    set_option(db, firm["rossi"], option != "off", option == "operators")
    give(db, clock, firm["alfa"], *consent)
    alfa = str(firm["alfa"])

    check = cli("consent", "check", "--user", who, "--client", alfa, "--json")
    if allowed:
        assert (check.exit_code, check.stderr) == (0, "")
    else:
        assert_one_line_error(check, 11, f"{who} may not reach", f"client {alfa}: {reason}")
    answer = json.loads(check.stdout)
    assert (answer["allowed"], answer["reason"], answer["user"]) == (allowed, reason, who)

    listed = data(cli("smart", "list", "--json", as_user=who)) if who != EXT_ALFA else []
    assert [row["client_id"] for row in listed] == ([firm["alfa"]] if allowed else [])

    opened = cli("smart", "open", alfa, "fattura-smart", as_user=who)
    if allowed:
        assert ok(opened).stdout == "https://smart.example/fattura-smart?client=00000020016\n"
    elif who in BLIND:
        assert_one_line_error(opened, 3, f"client {alfa} not found")
    else:
        assert_one_line_error(opened, 8, f"SMART services of client {alfa}: {reason}")


def test_reach_and_the_listing_query_agree_on_everyone(db, clock, org, firm):
    """One rule written twice (one client; a set for `smart list`): for every person
    and client, in every state of the option, they give the same answer."""
    rossi = firm["rossi"]
    beta = org.client("Beta Srl", rossi, 2, smart_services=["smart-hub"])
    org.client("Senza Smart Srl", rossi, 3)  # no SMART service: never listed
    gamma = org.client("Gamma Srl", firm["verdi"], 4, smart_services=["fattura-smart"])
    org.group(beta, OPERATOR, OUTSIDE_STAFF)
    give(db, clock, firm["alfa"], "yes")
    org.user("ext@beta.test", "Esterno Beta", "external", client=beta)
    AnswerService(db, clock, actor(db, "ext@beta.test")).answer(beta, "yes")
    org.user("ext@gamma.test", "Esterno Gamma", "external", client=gamma)
    AnswerService(db, clock, actor(db, "ext@gamma.test")).answer(gamma, "yes")
    people = [r[0] for r in db.execute("SELECT email FROM users ORDER BY id")]
    clients = db.execute("SELECT * FROM clients ORDER BY id").fetchall()
    for state in ((False, False), (True, False), (True, True)):
        for studio in (rossi, firm["verdi"]):
            set_option(db, studio, *state)
        for email in people:
            person = actor(db, email)
            one_by_one = {c["id"] for c in clients if reach_module.reach(db, person, c)[0]}
            where, params = reach_module.reachable_sql(person)
            as_a_set = {
                r[0] for r in db.execute(f"SELECT c.id FROM clients c WHERE {where}", params)
            }
            assert as_a_set == one_by_one, (email, state)


def test_disabling_the_option_stops_access_at_the_next_command(cli, db, clock, firm):
    set_option(db, firm["rossi"], True, True)
    give(db, clock, firm["alfa"], "yes")
    ok(cli("smart", "open", str(firm["alfa"]), "smart-hub", as_user=OPERATOR))
    set_option(db, firm["rossi"], False, True)
    result = cli("smart", "open", str(firm["alfa"]), "smart-hub", as_user=OPERATOR)
    assert_one_line_error(result, 8, "option off")


def test_smart_open_prints_each_active_service_and_records_the_access(cli, db, clock, firm):
    set_option(db, firm["rossi"], True, False)
    give(db, clock, firm["alfa"], "yes")
    result = ok(cli("smart", "open", str(firm["alfa"]), as_user=SADMIN))
    assert result.stdout.splitlines() == [
        "https://smart.example/fattura-smart?client=00000020016",
        "https://smart.example/smart-hub?client=00000020016",
    ]
    logged = db.execute(
        "SELECT action, object_type, object_id, details FROM audit_log"
        " WHERE object_type = 'smart' ORDER BY id"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in logged] == [("open", "smart", firm["alfa"])]
    assert json.loads(logged[0][3])["services"] == ["fattura-smart", "smart-hub"]
    rows = data(cli("smart", "open", str(firm["alfa"]), "smart-hub", "--json", as_user=SADMIN))
    assert rows == [
        {
            "client_id": firm["alfa"],
            "service": "smart-hub",
            "url": "https://smart.example/smart-hub?client=00000020016",
        }
    ]


def test_smart_list_shows_the_services(cli, db, clock, firm):
    set_option(db, firm["rossi"], True, True)
    give(db, clock, firm["alfa"], "yes")
    assert data(cli("smart", "list", "--json", as_user=OPERATOR)) == [
        {
            "client_id": firm["alfa"],
            "client": "Alfa Srl",
            "services": ["fattura-smart", "smart-hub"],
        }
    ]
    table = ok(cli("smart", "list", as_user=OPERATOR)).stdout
    assert "fattura-smart, smart-hub" in table
    csv = ok(cli("smart", "list", "--format", "csv", as_user=OPERATOR)).stdout
    assert csv.splitlines()[0] == "client_id,client,services"


def test_smart_list_says_when_nothing_is_open(cli, firm):
    result = ok(cli("smart", "list", as_user=OPERATOR))
    assert (result.stdout, result.stderr.strip()) == (
        "",
        "No client's SMART services are open to you now.",
    )


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["fattura"], 6, "SERVICE: 'fattura' is not a SMART service"),
        (["corrispettivi-smart"], 3, "has no active corrispettivi-smart"),
    ],
)
def test_smart_open_of_a_service_that_is_not_there(cli, store_path, firm, args, code, fragment):
    before = store_digest(store_path)
    result = cli("smart", "open", str(firm["alfa"]), *args, as_user=SADMIN)
    assert_one_line_error(result, code, fragment)
    assert store_digest(store_path) == before


def test_consent_check_as_a_table_and_for_oneself(cli, db, clock, firm):
    set_option(db, firm["rossi"], True, True)
    result = cli("consent", "check", "--user", OPERATOR, "--client", str(firm["alfa"]))
    assert result.stdout == "no: no consent\n"
    assert_one_line_error(result, 11, "no consent")
    give(db, clock, firm["alfa"], "yes")
    mine = cli("consent", "check", "-u", OPERATOR, "-c", str(firm["alfa"]), as_user=OPERATOR)
    assert (mine.exit_code, mine.stdout) == (0, "yes\n")


def test_consent_check_about_someone_else_is_for_administrators(cli, firm):
    result = cli(
        "consent", "check", "--user", OPERATOR, "--client", str(firm["alfa"]), as_user=RESP
    )
    assert_one_line_error(result, 8, "only administrators")


def test_consent_check_of_a_disabled_user(cli, db, firm):
    db.execute("UPDATE users SET disabled_at = '2026-11-01T00:00:00+00:00' WHERE email = ?",
               (OPERATOR,))  # fmt: skip
    result = cli("consent", "check", "--user", OPERATOR, "--client", str(firm["alfa"]), "--json")
    assert_one_line_error(result, 11, "user disabled")
    assert json.loads(result.stdout)["reason"] == "user disabled"


def test_a_practice_administrator_checks_only_their_practice(cli, firm):
    result = cli(
        "consent", "check", "--user", OPERATOR, "--client", str(firm["alfa"]), as_user=VERDI_ADMIN
    )
    assert_one_line_error(result, 3, "not found")


def test_the_address_base_is_a_firm_setting(cli, db, clock, firm):
    set_option(db, firm["rossi"], True, False)
    give(db, clock, firm["alfa"], "yes")
    ok(cli("config", "set", "smart.base_url", "https://suite.studiorossi.example/smart/"))
    result = ok(cli("smart", "open", str(firm["alfa"]), "smart-hub", as_user=SADMIN))
    assert result.stdout == "https://suite.studiorossi.example/smart/smart-hub?client=00000020016\n"


@pytest.mark.parametrize("bad", ["http://smart.example", "smart.example", "https://x.example/?a=1"])
def test_the_address_base_must_be_an_https_address(cli, bad):
    assert_one_line_error(cli("config", "set", "smart.base_url", bad), 6, "not an https address")
