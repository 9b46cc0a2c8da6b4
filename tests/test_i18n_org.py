"""People, logging in, the firm's settings and the outbox in Italian (issue 17), and
each person's language: `user edit --language`, `init --language`, the firm's
default (`config set ui.language`), SEMPI_LANG above both. Scripts read the same
JSON in both languages."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sempi_cli.clock import FixedClock
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Cli, store_digest
from tests.helpers import assert_one_italian_error, assert_one_line_error, ok

LUCA, LUCA_PASSWORD = "luca@sempi.test", "luca-password-long"
MARA, MARA_PASSWORD = "mara@sempi.test", "mara-password-long"


def login(cli, email: str, password: str):
    return cli("login", "--email", email, "--password-stdin", as_user=None, input=password + "\n")


# --- each person's language -------------------------------------------------------------


@pytest.fixture
def live(store_path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Logged-in runs with no SEMPI_LANG anywhere: the language is the person's, else
    the firm's. The clock is today's: the choice reads the session with the real
    clock, as a command run by a person does."""
    monkeypatch.delenv("SEMPI_LANG")
    cli = Cli(store_path, FixedClock(datetime.now(UTC)))
    for email, name, password in ((LUCA, "Luca", LUCA_PASSWORD), (MARA, "Mara", MARA_PASSWORD)):
        ok(cli("user", "add", "--email", email, "--name", name, "--role", "staff",
               "--password-stdin", input=password + "\n"))  # fmt: skip
    return cli


def speaks(cli, email: str, password: str) -> str:
    """Which language ``email``'s next command speaks: an error's first word."""
    ok(login(cli, email, password))
    line = cli("user", "show", "nobody@sempi.test", as_user=None).stderr
    assert line.startswith(("Error: ", "Errore: ")), line
    return "en" if line.startswith("Error: ") else "it"


def test_each_person_reads_their_own_language(live: Cli, monkeypatch, italian_firm) -> None:
    assert speaks(live, LUCA, LUCA_PASSWORD) == "it"  # a new firm speaks Italian
    changed = ok(live("user", "edit", LUCA, "--language", "en", "--json", as_user=None))
    assert json.loads(changed.stdout)["language"] == "en"  # a person sets their own
    assert speaks(live, LUCA, LUCA_PASSWORD) == "en"
    assert speaks(live, MARA, MARA_PASSWORD) == "it"  # another keeps the firm's
    me = json.loads(ok(live("whoami", "--json", as_user=None)).stdout)
    assert me["email"] == MARA and me["language"] is None

    ok(live("config", "set", "ui.language", "en"))  # the firm's default changes
    assert speaks(live, MARA, MARA_PASSWORD) == "en"
    ok(live("user", "edit", MARA, "--language", "it", as_user=None))
    assert speaks(live, MARA, MARA_PASSWORD) == "it"
    ok(live("user", "edit", MARA, "--language", "", as_user=None))  # back to the firm's
    assert speaks(live, MARA, MARA_PASSWORD) == "en"

    monkeypatch.setenv("SEMPI_LANG", "it")  # SEMPI_LANG wins over both
    assert speaks(live, LUCA, LUCA_PASSWORD) == "it"
    assert speaks(live, MARA, MARA_PASSWORD) == "it"


def test_a_language_edit_is_audited_and_needs_no_admin(live: Cli, store_path) -> None:
    ok(login(live, LUCA, LUCA_PASSWORD))
    ok(live("user", "edit", LUCA, "--language", "EN", as_user=None))
    assert_one_line_error(live("user", "edit", MARA, "--language", "en", as_user=None), 8)
    import sqlite3

    with sqlite3.connect(store_path) as conn:
        [(detail,)] = conn.execute(
            "SELECT details FROM audit_log WHERE action = 'edit' AND object_type = 'user'"
        ).fetchall()
    assert json.loads(detail)["changes"] == {"language": {"old": None, "new": "en"}}


def test_a_bad_language_is_refused_and_nothing_written(cli, store_path) -> None:
    before = store_digest(store_path, ignore=("audit_log",))
    line = assert_one_line_error(cli("user", "edit", ADMIN_EMAIL, "--language", "de"), 6)
    assert (
        line
        == "Error: --language: 'de' is not one of it, en. Use it or en, or '' for the firm's language (config ui.language)."
    )
    assert store_digest(store_path, ignore=("audit_log",)) == before


def test_init_chooses_the_first_administrators_language(tmp_path, clock) -> None:
    path = tmp_path / "new" / "sempi.db"
    cli = Cli(path, clock)
    args = ("init", "--firm", "Studio", "--admin-email", "boss@firm.it", "--admin-name", "Boss")
    refused = cli(*args, "--language", "fr", "--password-stdin", as_user=None, input="x\n")
    assert_one_line_error(refused, 6, "--language")
    assert not path.exists()
    ok(cli(*args, "--language", "en", "--password-stdin", as_user=None,
           input="a-long-enough-password\n"))  # fmt: skip
    shown = json.loads(
        ok(cli("user", "show", "boss@firm.it", "--json", as_user="boss@firm.it")).stdout
    )
    assert shown["language"] == "en"


# --- Italian for people, the same JSON for scripts -------------------------------------------


def test_logging_in_and_out_in_italian(cli, italian) -> None:
    result = ok(login(cli, ADMIN_EMAIL, ADMIN_PASSWORD))
    assert result.stderr.strip() == (
        "Accesso eseguito come Anna Admin <admin@sempi.test> (amministratore della società)."
    )
    assert ok(cli("logout", as_user=None)).stderr.strip() == "Sessione chiusa."
    assert_one_italian_error(cli("whoami", as_user=None), 7, "accesso non eseguito")
    assert_one_italian_error(
        login(cli, ADMIN_EMAIL, "wrong-password-here"), 7, "accesso non riuscito"
    )


def test_errors_in_italian_with_their_exit_codes(cli, italian) -> None:
    line = assert_one_italian_error(cli("user", "show", "nobody@sempi.test"), 3)
    assert line == "Errore: utente 'nobody@sempi.test' non trovato."
    line = assert_one_italian_error(
        cli("user", "add", "--email", "x@sempi.test", "--name", "X", "--role", "studio-admin"), 6
    )
    assert (
        line == "Errore: --studio: il ruolo studio-admin appartiene a uno studio: indichi --studio."
    )
    short = cli("user", "add", "--email", "y@sempi.test", "--name", "Y", "--role", "staff",
                "--password-stdin", input="short\n")  # fmt: skip
    assert assert_one_italian_error(short, 6) == (
        "Errore: password: troppo corta (almeno 12 caratteri)."
    )
    assert_one_italian_error(cli("user", "disable", ADMIN_EMAIL), 5, "il proprio account")
    line = assert_one_italian_error(cli("config", "set", "smtp.port", "0"), 6)
    assert line == "Errore: value: '0' non è un numero intero da 1 a 65535."


def test_the_outbox_counts_in_italian(cli, italian) -> None:
    emails = [f"p{i}@sempi.test" for i in range(3)]
    for email in emails:
        ok(cli("user", "add", "--email", email, "--name", email[:2], "--role", "staff"))
    queued = ok(cli("mail", "invite", emails[0]))
    assert queued.stderr.strip() == (
        "Invito messo in coda come messaggio 1; lo invia 'sempi mail send'."
    )
    due = ok(cli("mail", "send", "--dry-run"))
    assert due.stderr.strip() == "1 messaggio da inviare; nulla è stato inviato (simulazione)."
    for email in emails[1:]:
        ok(cli("mail", "invite", email))
    due = ok(cli("mail", "send", "--dry-run"))
    assert due.stderr.strip() == "3 messaggi da inviare; nulla è stato inviato (simulazione)."
    again = ok(cli("mail", "invite", emails[0]))
    assert "ha già un invito valido; aggiunga --resend" in again.stderr
    line = assert_one_italian_error(cli("mail", "send"), 5)
    assert line.startswith("Errore: la posta non è configurata: smtp.host è vuoto. Lo imposti")


def test_settings_and_help_for_people_in_italian(cli, italian) -> None:
    table = ok(cli("config", "list")).stdout
    assert "la lingua di chi non ne ha scelta una (user edit --language): it o en" in table
    assert "ui.language" in table  # keys and values stay
    helped = ok(cli("user", "edit", "--help")).stdout
    assert "La lingua in cui sempi parla alla persona" in helped
    assert "--language" in helped
    assert "Crea un nuovo archivio" in ok(cli("init", "--help", as_user=None)).stdout


def test_scripts_read_the_same_json_in_both_languages(cli, monkeypatch) -> None:
    ok(cli("user", "add", "--email", "p@sempi.test", "--name", "P", "--role", "staff"))
    ok(cli("mail", "invite", "p@sempi.test"))
    for args in (
        ("config", "list", "--json"),
        ("config", "list", "--format", "csv"),
        ("user", "show", ADMIN_EMAIL, "--json"),
        ("user", "list", "--json"),
        ("studio", "list", "--json"),
        ("mail", "list", "--json"),
        ("mail", "send", "--dry-run", "--json"),
    ):
        outputs = {}
        for language in ("en", "it"):
            monkeypatch.setenv("SEMPI_LANG", language)
            outputs[language] = ok(cli(*args)).stdout
        assert outputs["en"] == outputs["it"], args
        if args[:2] == ("config", "list"):  # the meanings stay the code's words
            assert "the language of a person who has not chosen one" in outputs["en"]
