"""Which language a command speaks (SEMPI_LANG, the person's, the firm's, the locale),
Click's own texts in it, and the Italian formats for people on a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli import i18n
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

SEMPI = str(Path(sys.executable).parent / "sempi")


def run(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SEMPI, *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(store_path: Path, sempi_home: Path, italian_firm: None) -> dict[str, str]:
    """A logged-in administrator's environment, no language chosen anywhere."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SEMPI_", "LC_", "LANG"))}
    env = {**base, "SEMPI_HOME": str(sempi_home), "SEMPI_DB": str(store_path), "LANG": "C.UTF-8"}
    login = run(env, "login", "-e", ADMIN_EMAIL, "--password-stdin", input=ADMIN_PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    return env


# --- the choice ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_new_firm_speaks_italian_and_sempi_lang_wins(env: dict[str, str]) -> None:
    assert run(env, "task", "--frob").stderr.startswith("Errore: Opzione inesistente: --frob.")
    assert run({**env, "SEMPI_LANG": "en"}, "task", "--frob").stderr.startswith(
        "Error: No such option: --frob."
    )
    helped = run(env, "task", "--help").stdout
    assert helped.startswith("Uso: sempi task") and "Opzioni:" in helped
    assert "Mostra questo messaggio ed esce." in helped


@pytest.mark.slow
def test_the_firm_default_then_the_persons_choice(env: dict[str, str], store_path: Path) -> None:
    changed = run(env, "config", "set", "ui.language", "en")
    assert changed.returncode == 0, changed.stderr
    assert run(env, "task", "--frob").stderr.startswith("Error: No such option")
    import sqlite3

    with sqlite3.connect(store_path) as conn:  # user edit --language is tested with users
        conn.execute("UPDATE users SET language = 'it' WHERE email = ?", (ADMIN_EMAIL,))
    assert run(env, "task", "--frob").stderr.startswith("Errore: ")
    assert run({**env, "SEMPI_LANG": "en"}, "task", "--frob").stderr.startswith("Error: ")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("locale", "expected"),
    [("it_IT.UTF-8", "Errore: "), ("en_GB.UTF-8", "Error: "), ("C", "Errore: ")],
)
def test_without_a_store_the_locale_chooses(tmp_path: Path, locale: str, expected: str) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SEMPI_", "LC_", "LANG"))}
    env = {**base, "SEMPI_HOME": str(tmp_path / "nothing"), "LC_ALL": locale}
    result = run(env, "task", "list")
    assert result.returncode == 10
    assert result.stderr.startswith(expected), result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("fastpath", ["1", "0"])
def test_a_bad_sempi_lang_is_one_line_naming_it(env: dict[str, str], fastpath: str) -> None:
    for args in (["status", "--short"], ["task", "list"], ["--help"]):
        result = run({**env, "SEMPI_LANG": "klingon", "SEMPI_FASTPATH": fastpath}, *args)
        assert result.returncode == 6
        assert result.stderr == "Error: SEMPI_LANG: 'klingon' is not one of it, en.\n"


@pytest.mark.slow
@pytest.mark.parametrize("fastpath", ["1", "0"])
def test_the_fast_path_speaks_the_same_language(env: dict[str, str], fastpath: str) -> None:
    env = {**env, "SEMPI_FASTPATH": fastpath}
    for language, prefix in (("it", "Errore: "), ("en", "Error: ")):
        result = run({**env, "SEMPI_LANG": language}, "timer", "pause")
        assert result.returncode == 5
        assert result.stderr.startswith(prefix), result.stderr


def test_json_is_the_same_in_both_languages(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = {}
    for language in ("it", "en"):
        monkeypatch.setenv("SEMPI_LANG", language)
        result = cli("config", "list", "--json")
        assert result.exit_code == 0, result.stderr
        outputs[language] = result.stdout
    assert outputs["it"] == outputs["en"]
    assert json.loads(outputs["it"])


def test_a_table_reads_italian_headers_and_yes_no(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMPI_LANG", "it")
    result = cli("user", "list")
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert "E-mail" in header and "email" not in header
    assert " sì" in result.stdout
    assert "amministratore della società" in result.stdout and "firm-admin" not in result.stdout


def test_status_words_are_italian_for_people_and_values_for_scripts() -> None:
    from sempi_cli.output import render

    rows = [
        {"id": 1, "status": "in_progress", "hours": 1234.5},
        {"id": 2, "status": "odd", "hours": 2.0},
    ]
    columns = ["id", "status", "hours"]
    with i18n.speaking("it"):
        table = render(rows, columns)
        assert "in corso" in table and "odd" in table and "1.234,5" in table
        assert "in_progress" in render(rows, columns, "json")
        assert "in_progress" in render(rows, columns, "csv")
    with i18n.speaking("en"):
        assert "in_progress" in render(rows, columns) and "1234.5" in render(rows, columns)
        assert "in corso" in render(rows, columns, "excel")  # an Italian Excel, whoever asks


# --- Click's own texts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["task", "--frob"], "Errore: Opzione inesistente: --frob. Veda 'sempi task --help'."),
        (
            ["task", "list", "--limit", "x"],
            "Errore: Valore non valido per '--limit' / '-n': 'x' non è un numero intero valido. Veda 'sempi task list --help'.",
        ),
        (["task", "show"], "Errore: Manca l'argomento 'task_id'. Veda 'sempi task show --help'."),
        (
            ["task", "list", "--limit"],
            "Errore: L'opzione '--limit' richiede un valore.",
        ),
        (["nothing-here"], "Errore: Comando inesistente: 'nothing-here'. Veda 'sempi --help'."),
        (
            ["scheduler", "overrides"],
            "Errore: Comando inesistente: 'overrides'. Forse intendeva 'override'?"
            " Veda 'sempi scheduler --help'.",
        ),
    ],
)
def test_click_errors_speak_italian(cli, monkeypatch, args: list[str], expected: str) -> None:
    monkeypatch.setenv("SEMPI_LANG", "it")
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr.strip() == expected


def test_every_click_error_shape_is_known() -> None:
    """The English of Click's errors this module matches: a typer upgrade that
    rewords one fails here, not silently in front of a person."""
    from sempi_cli.cli.click_texts import translated

    with i18n.speaking("it"):
        for english in (
            "No such option: --x",
            "No such option: --x (Possible options: --xa, --xb)",
            "Missing argument 'TASK'.",
            "Missing option '--kind'.",
            "Got unexpected extra argument(s) (a b)",
            "Option '--limit' requires an argument.",
            "Option '--x' does not take a value.",
            "Invalid value for '--n': 'x' is not a valid integer.",
            "Invalid value for '--n': 'x' is not a valid float range.",
            "Invalid value for '--kind': 'x' is not one of 'a', 'b'.",
            "Invalid value for '--n': 0 is not in the range x>=1.",
        ):
            assert translated(english) != english, english


# --- formats --------------------------------------------------------------------------


def test_a_day_is_named_as_people_write_it() -> None:
    with i18n.speaking("it"):
        assert i18n.day_named(date(2026, 3, 16)) == "lunedì 16 marzo 2026"
        assert i18n.day_named(date(2026, 12, 27)) == "domenica 27 dicembre 2026"
    with i18n.speaking("en"):
        assert i18n.day_named(date(2026, 3, 16)) == "Monday 16 March 2026"


def test_durations_and_numbers() -> None:
    assert i18n.duration(90 * 60) == "1 h 30 min"
    assert i18n.duration(45 * 60) == "45 min"
    assert i18n.duration(2 * 3600) == "2 h"
    with i18n.speaking("it"):
        assert i18n.number(1234.56) == "1.234,56"
        assert i18n.number(-0.5, 1) == "-0,5"
    with i18n.speaking("en"):
        assert i18n.number(1234.56) == "1,234.56"


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_an_italian_number_reads_back_as_itself(value) -> None:
    with i18n.speaking("it"):
        text = i18n.number(float(value))
    assert float(text.replace(".", "").replace(",", ".")) == pytest.approx(float(value))
    whole = text.lstrip("-").split(",")[0]
    assert all(len(group) == 3 for group in whole.split(".")[1:])


@given(st.integers(min_value=0, max_value=10**6))
def test_a_duration_adds_up_to_its_minutes(seconds: int) -> None:
    words = i18n.duration(seconds).split()
    minutes = sum(
        int(n) * (60 if unit == "h" else 1) for n, unit in zip(words[::2], words[1::2], strict=True)
    )
    assert minutes == round(seconds / 60)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("it", "it"),
        ("it_IT.UTF-8", "it"),
        ("en-GB", "en"),
        ("English", "en"),
        ("de_DE", None),
        ("", None),
    ],
)
def test_language_words(value: str, expected: str | None) -> None:
    assert i18n.language_word(value) == expected


def test_help_follows_the_language_of_each_run_in_one_process(cli, monkeypatch) -> None:
    """The command tree is built once per process (the tests' runs share it): each
    run's help is in that run's language, whatever ran before."""
    helps = {}
    for language in ("en", "it", "en", "it"):
        monkeypatch.setenv("SEMPI_LANG", language)
        cli("task", "list", "--limit", "1")  # built without help first
        helps.setdefault(language, set()).add(cli("task", "list", "--help").stdout)
    assert len(helps["en"]) == len(helps["it"]) == 1
    english, italian = helps["en"].pop(), helps["it"].pop()
    assert "List the tasks you may see" in english and "Show this message" in english
    assert "Elenca gli incarichi" in italian and "Mostra questo messaggio" in italian
