"""`sempi client` and `sempi studio`: the records, their validation, and bad input."""

from __future__ import annotations

import json

import pytest

from tests.conftest import cf_person, piva, store_digest
from tests.helpers import assert_one_line_error


@pytest.fixture
def studio(cli) -> int:
    result = cli("studio", "add", "--name", "Studio Rossi", "--partita-iva", piva(900), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["id"]


@pytest.fixture
def staff(cli) -> str:
    result = cli(
        "user", "add", "--email", "marco@sempi.test", "--name", "Marco Verdi", "--role", "staff"
    )
    assert result.exit_code == 0, result.stderr
    return "marco@sempi.test"


def add_client(cli, studio, *extra, name="Bianchi Srl", number=1):
    result = cli(
        "client",
        "add",
        "--name",
        name,
        "--studio",
        str(studio),
        "--piva",
        piva(number),
        *extra,
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_add_normalises_and_shows_everything(cli, studio, staff):
    raw = "IT " + piva(1)[:5] + " " + piva(1)[5:]
    result = cli(
        "client",
        "add",
        "--name",
        "  Bianchi   Srl ",
        "--studio",
        "Studio Rossi",
        "--piva",
        raw,
        "--cf",
        piva(1),
        "--email",
        "Info@Bianchi.IT",
        "--pec",
        "bianchi@PEC.it",
        "-r",
        staff,
        "--smart",
        "smart-hub,fattura-smart",
        "-p",
        "iva_periodicity=mensile",
        "-p",
        "sostituto_imposta=sì",
        "--nickname",
        "Bianchi",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    client = json.loads(result.stdout)
    assert client["ragione_sociale"] == "Bianchi Srl"
    assert client["partita_iva"] == piva(1)
    assert client["email"] == "info@bianchi.it" and client["pec"] == "bianchi@pec.it"
    assert client["responsible"] == staff
    assert client["smart_services"] == ["fattura-smart", "smart-hub"]
    assert client["iva_periodicity"] == "mensile" and client["sostituto_imposta"] is True
    assert client["forfettario"] is False
    shown = json.loads(cli("client", "show", str(client["id"]), "--json").stdout)
    assert shown == client
    group = json.loads(cli("group", "show", str(client["id"]), "--json").stdout)
    assert [m["email"] for m in group["members"]] == [staff]


def test_person_with_personal_codice_fiscale(cli, studio):
    result = cli(
        "client",
        "add",
        "--name",
        "Mario Bianchi",
        "--studio",
        str(studio),
        "--kind",
        "persona_fisica",
        "--cf",
        cf_person(3).lower(),
        "-p",
        "forfettario=yes",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["codice_fiscale"] == cf_person(3)


BAD_INPUTS = [
    (["--cf", "RSSMRA85T10A562X"], 6, "--codice-fiscale"),
    (["--cf", "RSSMRA85"], 6, "--codice-fiscale"),
    (["--piva", "01234567890"], 6, "--partita-iva"),
    (["--piva", "ABC"], 6, "--partita-iva"),
    (["--email", "not-an-email"], 6, "--email"),
    (["--pec", "bianchi@pec"], 6, "--pec"),
    (["--kind", "persona_fisica", "--cf", "00000010017"], 6, "--codice-fiscale"),
    (["--kind", "spa"], 6, "--kind"),
    (["--smart", "fattura-dumb"], 6, "--smart"),
    (["-p", "iva_periodicity=monthly"], 6, "iva_periodicity"),
    (["-p", "colour=blue"], 6, "--profile"),
    (["-p", "forfettario"], 6, "--profile"),
    (["-p", "forfettario=yes", "-p", "iva_periodicity=mensile"], 6, "forfettario"),
    (["-r", "nobody@sempi.test"], 3, "nobody@sempi.test"),
    (["--studio", "Studio Inesistente"], 3, "Studio Inesistente"),
    (["--name", "B" * 201], 6, "--name: longer than 200 characters (201)"),
    (["--nickname", "N" * 65], 6, "--nickname: longer than 64 characters (65)"),
    (["--name", "Verdi\x1b[31m Srl"], 6, "--name: a control character (U+001B) is not allowed"),
    (["--nickname", "V\x00"], 6, "--nickname: contains a NUL character"),  # refused in argv
]


@pytest.mark.parametrize(("extra", "code", "names"), BAD_INPUTS)
def test_bad_input_is_one_line_and_changes_nothing(cli, studio, store_path, extra, code, names):
    base = ["client", "add", "--name", "Verdi Srl", "--studio", str(studio)]
    if not any(a in ("--cf", "--piva") for a in extra):
        base += ["--piva", piva(7)]
    before = store_digest(store_path)
    line = assert_one_line_error(cli(*base, *extra), code)
    assert names in line
    assert store_digest(store_path) == before


def test_names_at_the_limit_and_on_two_lines(cli, studio):
    record = add_client(cli, studio, "--nickname", " N" * 32, name="Verdi\n " + "B" * 194)
    assert record["ragione_sociale"] == "Verdi " + "B" * 194  # 200 characters
    assert record["nickname"] == " ".join("N" * 32)
    assert_one_line_error(cli("client", "edit", str(record["id"]), "--name", "C" * 201), 6)


def test_client_needs_an_identifier(cli, studio):
    line = assert_one_line_error(
        cli("client", "add", "--name", "Anonima Srl", "--studio", str(studio)), 6
    )
    assert "codice fiscale or a partita IVA" in line


def test_duplicate_in_the_same_practice_is_a_conflict(cli, studio, store_path):
    add_client(cli, studio)
    before = store_digest(store_path)
    line = assert_one_line_error(
        cli("client", "add", "--name", "Altro", "--studio", str(studio), "--piva", piva(1)), 4
    )
    assert "partita IVA" in line
    assert store_digest(store_path) == before


def test_same_client_in_another_practice_is_allowed(cli, studio):
    other = json.loads(cli("studio", "add", "--name", "Studio Esposito", "--json").stdout)["id"]
    add_client(cli, studio)
    add_client(cli, other)


def test_unknown_client_id_is_not_found(cli):
    assert_one_line_error(cli("client", "show", "404"), 3, "client 404")
    assert_one_line_error(cli("client", "edit", "404", "--name", "X"), 3, "client 404")


def test_edit_records_old_and_new_values(cli, studio):
    client = add_client(cli, studio)
    result = cli(
        "client",
        "edit",
        str(client["id"]),
        "-p",
        "iva_periodicity=trimestrale",
        "--pec",
        "b@pec.it",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    edited = json.loads(result.stdout)
    assert edited["pec"] == "b@pec.it"
    # VAT periodicity changes from the next 1 January: today's profile is as it was
    assert edited["iva_periodicity"] == "none"
    assert edited["profile_changes"] == [
        {"from": "2027-01-01", "changes": "iva_periodicity=trimestrale"}
    ]
    log = json.loads(
        cli("audit", "list", "--object", "client", "--id", str(client["id"]), "--json").stdout
    )
    assert [e["action"] for e in log[:2]] == ["profile", "edit"]
    assert log[0]["details"]["changes"] == [
        {"from": "2027-01-01", "field": "iva_periodicity", "old": "none", "new": "trimestrale"}
    ]
    assert list(log[1]["details"]["changes"]) == ["pec"]  # its values redacted


def test_edit_refuses_a_contradictory_profile(cli, studio, store_path):
    client = add_client(cli, studio, "-p", "iva_periodicity=mensile")
    before = store_digest(store_path)
    assert_one_line_error(cli("client", "edit", str(client["id"]), "-p", "forfettario=yes"), 6)
    assert store_digest(store_path) == before


def test_edit_to_persona_fisica_needs_a_personal_code(cli, studio):
    client = add_client(cli, studio, "--cf", piva(1))
    line = assert_one_line_error(
        cli("client", "edit", str(client["id"]), "--kind", "persona_fisica"), 6
    )
    assert "person" in line


def test_clearing_both_identifiers_is_refused(cli, studio):
    client = add_client(cli, studio)
    assert_one_line_error(cli("client", "edit", str(client["id"]), "--piva", ""), 6)


def test_list_filters(cli, studio, staff):
    add_client(cli, studio, "-p", "iva_periodicity=mensile", "-r", staff, name="Alfa Srl", number=1)
    add_client(cli, studio, "-p", "iva_periodicity=trimestrale", name="Beta Snc", number=2)
    other = json.loads(cli("studio", "add", "--name", "Studio Esposito", "--json").stdout)["id"]
    add_client(cli, other, "--nickname", "gammina", name="Gamma Sas", number=3)

    def names(*args):
        result = cli("client", "list", *args, "--json")
        assert result.exit_code == 0, result.stderr
        return [r["ragione_sociale"] for r in json.loads(result.stdout)]

    assert names() == ["Alfa Srl", "Beta Snc", "Gamma Sas"]
    assert names("--studio", "Studio Esposito") == ["Gamma Sas"]
    assert names("--responsible", staff) == ["Alfa Srl"]
    assert names("--iva", "trimestrale") == ["Beta Snc"]
    assert names("--search", "gammin") == ["Gamma Sas"]
    assert names("--search", piva(2)[:8]) == ["Beta Snc"]
    assert names("--limit", "2") == ["Alfa Srl", "Beta Snc"]
    assert_one_line_error(cli("client", "list", "--iva", "monthly"), 6)


def test_table_output_for_people(cli, studio):
    add_client(cli, studio)
    result = cli("client", "list")
    assert "ragione_sociale" in result.stdout and "Bianchi Srl" in result.stdout


def test_remove_confirms_then_hides_and_restore_brings_back(cli, studio):
    client = add_client(cli, studio)
    cid = str(client["id"])
    refused = cli("client", "remove", cid)  # no terminal, no --yes
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert cli("client", "remove", cid, "--yes").exit_code == 0
    assert json.loads(cli("client", "list", "--json").stdout) == []
    assert len(json.loads(cli("client", "list", "--removed", "--json").stdout)) == 1
    dup = assert_one_line_error(
        cli("client", "add", "--name", "Again", "--studio", str(studio), "--piva", piva(1)), 4
    )
    assert "restore" in dup
    assert cli("client", "restore", cid).exit_code == 0
    assert len(json.loads(cli("client", "list", "--json").stdout)) == 1


def test_fields_lists_the_profile_vocabulary(cli):
    rows = json.loads(cli("client", "fields", "--json").stdout)
    by_name = {r["field"]: r for r in rows}
    assert "mensile" in by_name["iva_periodicity"]["values"]
    assert by_name["sostituto_imposta"]["values"] == "yes, no"


def test_studio_edit_and_duplicates(cli, studio):
    assert_one_line_error(cli("studio", "add", "--name", "studio rossi"), 4)
    result = cli("studio", "edit", str(studio), "--pec", "rossi@pec.it", "--json")
    assert json.loads(result.stdout)["pec"] == "rossi@pec.it"
    assert_one_line_error(cli("studio", "edit", str(studio), "--partita-iva", "123"), 6)
    shown = json.loads(cli("studio", "show", "Studio Rossi", "--json").stdout)
    assert shown["id"] == studio and shown["clients"] == 0


def test_service_checks_profiles_from_any_caller(db, clock, admin):
    """A batch file or script passes a dict, not CLI text: same checks, same errors."""
    from sempi_cli.errors import InvalidData
    from sempi_cli.services.clients.clients import ClientService
    from sempi_cli.services.clients.input import ClientInput
    from sempi_cli.services.org.studios import StudioService

    studio = StudioService(db, clock, admin).add("Studio Dict")["id"]
    clients = ClientService(db, clock, admin)
    for bad in (
        {"bogus": True},
        {"sostituto_imposta": "maybe"},
        {"iva_periodicity": "monthly"},
        {"forfettario": "yes", "iva_periodicity": "mensile"},
    ):
        with pytest.raises(InvalidData):
            clients.add(
                ClientInput("Dict Srl", studio=studio, partita_iva=piva(5), fiscal_profile=bad)
            )
    created = clients.add(
        ClientInput(
            "Dict Srl",
            studio=studio,
            partita_iva=piva(5),
            fiscal_profile={"sostituto_imposta": "no"},
        )
    )
    assert created["sostituto_imposta"] is False


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Laura\x1b]0;pwned\x07 Bianchi", "a control character (U+001B)"),
        ("L" * 121, "longer than 120 characters"),
        ("   ", "the user's name is empty"),
    ],
)
def test_a_users_name_is_one_clean_line(cli, store_path, name, problem):
    before = store_digest(store_path)
    line = assert_one_line_error(
        cli("user", "add", "--email", "laura@sempi.test", "--name", name, "--role", "staff"), 6
    )
    assert "--name" in line and problem in line
    assert store_digest(store_path) == before
    ok = cli("user", "add", "--email", "laura@sempi.test", "--name", "Laura\n Bianchi",
             "--role", "staff", "--json")  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["full_name"] == "Laura Bianchi"
    line = assert_one_line_error(cli("user", "edit", "laura@sempi.test", "--name", "X\x00"), 6)
    assert "--name" in line
