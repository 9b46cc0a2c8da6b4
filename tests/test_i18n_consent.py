"""`sempi consent`, `sempi smart` and `sempi coupon` in Italian (issue 17): what they
say to a person (answers, reasons, summaries with their plurals, errors, help, the
coupon states, a refusal's notification) reads Italian with SEMPI_LANG=it, while
what scripts read (JSON, exit codes) does not change."""

from __future__ import annotations

import pytest

from tests.conftest import cf_person
from tests.helpers import in_both_languages

SADMIN, OPERATOR, RESP = "sadmin@rossi.test", "op@rossi.test", "resp@sempi.test"
EXT_ALFA, EXT_BETA = "ext@alfa.test", "ext@beta.test"
CONSULTANT = ("--consultant-name", "Mario", "--consultant-surname", "Rossi")


@pytest.fixture
def firm(org) -> dict:
    """Studio Rossi (SADMIN; OPERATOR in Alfa's work group) with five clients served
    conto terzi, each with an e-mail and a SMART service; Alfa's responsible RESP."""
    org.staff(RESP)
    rossi = org.practice("Studio Rossi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=rossi)
    names = ("Alfa Srl", "Beta Srl", "Gamma Srl", "Delta Srl", "Epsilon Srl")
    clients = [
        org.client(
            name,
            rossi,
            n,
            email=f"info{n}@clienti.test",
            smart_services=["fattura-smart"],
            **({"responsible": RESP} if n == 1 else {}),
        )  # fmt: skip
        for n, name in enumerate(names, start=1)
    ]
    org.db.execute("UPDATE clients SET conto_terzi = 1")
    org.group(clients[0], OPERATOR)
    org.user(EXT_ALFA, "Esterno Alfa", "external", client=clients[0])
    org.user(EXT_BETA, "Esterno Beta", "external", client=clients[1])
    return {"rossi": rossi, "clients": clients}


def both(cli, monkeypatch: pytest.MonkeyPatch, *args: str, as_user: str = SADMIN):
    """The same command in Italian, then in English."""
    return in_both_languages(cli, monkeypatch, *args, as_user=as_user)


def package(db, studio: int, count: int) -> None:
    db.execute(
        "INSERT INTO coupon_packages (studio_id, type, count, valid_until, added_at, added_by)"
        " VALUES (?, 'migrazione', ?, '2026-12-31', '2026-11-01T09:00:00+00:00', 1)",
        (studio, count),
    )


def test_an_answer_and_the_history_read_italian(cli, firm, monkeypatch) -> None:
    alfa = str(firm["clients"][0])
    monkeypatch.setenv("SEMPI_LANG", "it")
    said = cli("consent", "answer", alfa, "no", as_user=EXT_ALFA)
    assert said.exit_code == 0, said.stderr
    assert said.stderr == f"Cliente {alfa}: rifiutato (prima: in attesa).\n"
    again = cli("consent", "answer", alfa, "sì", as_user=EXT_ALFA)
    assert again.stderr == f"Cliente {alfa}: acconsentito (prima: rifiutato).\n"
    history = cli("consent", "history", alfa, as_user=SADMIN).stdout
    assert (
        history.splitlines()[-1] == "Stato al 16/11/2026 10:30: acconsentito dal 16/11/2026 10:30."
    )
    bad_it, bad_en = both(cli, monkeypatch, "consent", "answer", alfa, "forse", as_user=EXT_ALFA)
    assert bad_it.exit_code == bad_en.exit_code == 6
    assert bad_it.stderr == (
        "Errore: ANSWER: 'forse' non è una risposta. Risponda yes (o sì) oppure no.\n"
    )
    assert bad_en.stderr == "Error: ANSWER: 'forse' is not an answer. Answer yes (or sì) or no.\n"


def test_consent_check_says_why_not_in_italian_with_the_same_exit_code(
    cli, firm, monkeypatch
) -> None:
    alfa = str(firm["clients"][0])
    args = ("consent", "check", "--user", OPERATOR, "--client", alfa)
    table_it, table_en = both(cli, monkeypatch, *args)
    assert table_it.exit_code == table_en.exit_code == 11
    assert table_it.stdout == "no: opzione disattivata\n"
    assert table_en.stdout == "no: option off\n"
    assert table_it.stderr == (
        f"Errore: {OPERATOR} non può accedere ai servizi SMART del cliente {alfa}:"
        " opzione disattivata.\n"
    )
    json_it, json_en = both(cli, monkeypatch, *args, "--json")
    assert json_it.exit_code == json_en.exit_code == 11
    assert json_it.stdout_bytes == json_en.stdout_bytes
    assert '"reason": "option off"' in json_it.stdout
    # A refusal names its day as people write it in Italian; JSON keeps the stored words.
    assert cli("consent", "answer", alfa, "no", as_user=EXT_ALFA).exit_code == 0
    assert cli("consent", "settings", "-s", "Studio Rossi", "--enable", "--operators", "yes",
               as_user=SADMIN).exit_code == 0  # fmt: skip
    refused_it, refused_en = both(cli, monkeypatch, *args)
    assert refused_it.stdout == "no: rifiutato il 16/11/2026\n"
    assert refused_en.stdout == "no: refused on 2026-11-16\n"


def test_consent_requests_count_in_italian(cli, firm, monkeypatch) -> None:
    alfa, *others = (str(c) for c in firm["clients"])
    monkeypatch.setenv("SEMPI_LANG", "it")
    one = cli("consent", "request", "--client", alfa, as_user=SADMIN)
    assert one.exit_code == 0, one.stderr
    assert one.stderr == (
        "Inviata 1 richiesta di consenso: 1 e-mail in coda, 1 utente del cliente avvisato;"
        " 0 clienti non idonei.\n"
    )
    unconfirmed = cli("consent", "request", "--client", others[0], "-c", others[1],
                      "-c", others[2], as_user=SADMIN)  # fmt: skip
    assert unconfirmed.exit_code == 2
    assert "Inviare 3 richieste di consenso" in unconfirmed.stderr
    three = cli("consent", "request", "--client", others[0], "-c", others[1], "-c", others[2],
                as_user=SADMIN, yes=True)  # fmt: skip
    assert three.exit_code == 0, three.stderr
    assert three.stderr.splitlines()[-1] == (
        "Inviate 3 richieste di consenso: 3 e-mail in coda, 1 utente del cliente avvisato;"
        " 0 clienti non idonei."
    )
    refused = cli("consent", "request", "--client", alfa, as_user=SADMIN)
    assert refused.exit_code == 5
    assert refused.stderr.startswith("Errore: non idonei alla richiesta di consenso: ")
    assert "la richiesta è del 16/11/2026, meno di 30 giorni fa (consent.resend_days)" in (
        refused.stderr
    )
    assert refused.stderr.endswith(
        " Non è stato inviato nulla; con --partial si invia ai clienti idonei.\n"
    )


def test_help_reads_italian(cli, firm, monkeypatch) -> None:
    monkeypatch.setenv("SEMPI_LANG", "it")
    helped = cli("consent", "check", "--help", as_user=SADMIN).stdout
    assert "Dice se una persona può accedere ora ai servizi SMART di un cliente" in helped
    assert "Esempio: sempi consent check --user op@studiorossi.it --client 12" in helped
    assert "La persona: e-mail o ID." in helped
    coupon = cli("coupon", "migrate", "--help", as_user=SADMIN).stdout
    assert "Migra i clienti con un coupon ciascuno" in coupon
    assert "Migrate clients" not in coupon


def test_coupons_migrate_and_list_in_italian(cli, db, firm, monkeypatch) -> None:
    package(db, firm["rossi"], 10)
    alfa, beta, gamma, delta, _epsilon = (str(c) for c in firm["clients"])
    monkeypatch.setenv("SEMPI_LANG", "it")
    args = (*CONSULTANT, "--consultant-cf", cf_person(1))
    one = cli("coupon", "migrate", alfa, *args, as_user=SADMIN)
    assert one.exit_code == 0, one.stderr
    assert one.stderr == "1 cliente migrato; coupon rimasti: 9.\n"
    dry = cli("coupon", "migrate", beta, gamma, delta, *args, "--dry-run", as_user=SADMIN)
    assert dry.stderr == "Simulazione: 3 clienti verrebbero migrati; coupon che resterebbero: 6.\n"
    again = cli("coupon", "migrate", alfa, *args, as_user=SADMIN)
    assert again.exit_code == 5
    assert again.stderr.startswith("Errore: non migrati: ")
    assert "già attivato con un coupon il 16/11/2026: lo rinnovi con 'sempi coupon renew'" in (
        again.stderr
    )
    assert again.stderr.endswith(" Nessun cliente è stato migrato; nessun coupon è stato usato.\n")
    grid = cli("coupon", "clients", "--studio", "Studio Rossi", as_user=SADMIN).stdout
    assert "attivo fino al 31/12/2026" in grid and "migrabile" in grid
    assert "active until" not in grid
    bad = cli("coupon", "add", "-s", "Studio Rossi", "--type", "migrazione", "--count", "5",
              "--valid-until", "30/12/2026", as_user=SADMIN)  # fmt: skip
    assert bad.exit_code == 6
    assert bad.stderr == (
        "Errore: --valid-until: il 30/12/2026 non è il 31 dicembre."
        " I coupon valgono fino al 31/12.\n"
    )


def test_scripts_read_the_same_bytes_in_both_languages(cli, db, firm, monkeypatch) -> None:
    package(db, firm["rossi"], 10)
    alfa = str(firm["clients"][0])
    monkeypatch.setenv("SEMPI_LANG", "en")
    assert cli("consent", "answer", alfa, "no", as_user=EXT_ALFA).exit_code == 0
    migrated = cli("coupon", "migrate", alfa, *CONSULTANT, "--consultant-cf", cf_person(1),
                   as_user=SADMIN)  # fmt: skip
    assert migrated.exit_code == 0, migrated.stderr
    for args in (
        ("consent", "history", alfa, "--json"),
        ("consent", "list", "--studio", "Studio Rossi", "--json"),
        ("consent", "list", "--studio", "Studio Rossi", "--format", "csv"),
        ("consent", "settings", "--studio", "Studio Rossi", "--json"),
        ("consent", "request", "--client", alfa, "--client", str(firm["clients"][1]),
         "--partial", "--dry-run", "--json"),
        ("smart", "list", "--json"),
        ("coupon", "clients", "--studio", "Studio Rossi", "--json"),
        ("coupon", "clients", "--studio", "Studio Rossi", "--format", "csv"),
        ("coupon", "list", "--studio", "Studio Rossi", "--json"),
        ("coupon", "export", alfa, "--json"),
    ):  # fmt: skip
        italian, english = both(cli, monkeypatch, *args)
        assert italian.exit_code == english.exit_code == 0, (args, english.stderr)
        assert italian.stdout_bytes == english.stdout_bytes, args


def test_a_refusal_reaches_each_recipient_in_their_language(cli, db, firm) -> None:
    """The client's user refuses in English; the practice's administrator chose Italian
    and the client's responsible English."""
    alfa = firm["clients"][0]
    assert cli("user", "edit", SADMIN, "--language", "it").exit_code == 0
    assert cli("user", "edit", RESP, "--language", "en").exit_code == 0
    assert cli("consent", "answer", str(alfa), "no", as_user=EXT_ALFA).exit_code == 0
    texts = dict(
        db.execute(
            "SELECT u.email, n.text FROM notifications n JOIN users u ON u.id = n.user_id"
            " WHERE n.kind = 'consent'"
        ).fetchall()
    )
    assert texts[SADMIN] == f"Alfa Srl (cliente {alfa}) ha negato il consenso ai servizi SMART."
    assert texts[RESP] == f"Alfa Srl (client {alfa}) refused consent to SMART services."
