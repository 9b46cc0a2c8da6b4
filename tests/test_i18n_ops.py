"""The operations' commands in Italian (issue 17): `status`, `doctor`, `db`, `audit`,
the store's and the typed dates' errors, and the confirmation every command asks
(`[s/N]`, answered with s or sì). Scripts read the same JSON in both languages."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
import typer
from typer.testing import CliRunner

from sempi_cli.cli.common import confirm
from sempi_cli.cli.context import AppContext
from tests.helpers import assert_one_italian_error, assert_one_line_error, ok

STAFF = "marco@sempi.test"


def in_both(cli, monkeypatch, *args: str) -> tuple[str, str]:
    """The standard output of ``args`` in English, then in Italian."""
    english = ok(cli(*args)).stdout
    monkeypatch.setenv("SEMPI_LANG", "it")
    italian = ok(cli(*args)).stdout
    monkeypatch.setenv("SEMPI_LANG", "en")
    return english, italian


def test_scripts_read_the_same_json_in_both_languages(cli, monkeypatch, store_path):
    store_path.chmod(0o640)  # a warning whose detail is words: in JSON, English words
    for args in (
        ("doctor", "--json"),
        ("db", "check", "--json"),
        ("status", "--json"),
        ("audit", "list", "--json"),
    ):
        english, italian = in_both(cli, monkeypatch, *args)
        assert english == italian, args
        if args[0] == "doctor":
            assert '"check": "store_mode"' in english and "may use it" in english


def test_doctor_reports_in_italian(cli, italian, store_path):
    result = ok(cli("doctor"))
    screen = result.stdout
    assert "archivio" in screen and "permessi dell'archivio" in screen
    assert "attenzione" in screen and "aggiramento dei controlli" in screen
    assert "chi può scrivere il file dell'archivio aggira ogni controllo di sempi" in screen
    assert "modalità 0600" in screen and "mode 0600" not in screen
    assert "Tutti i controlli superati (3 avvertimenti)." in result.stderr
    # One warning: the singular.
    conn = sqlite3.connect(store_path)
    with conn:
        conn.execute("UPDATE users SET otp_enabled_at = '2026-11-16T09:00:00Z'")
    conn.close()
    ok(cli("config", "set", "auth.require_otp", "firm-admin"))
    assert "Tutti i controlli superati (1 avvertimento)." in ok(cli("doctor")).stderr
    # A failed check: the error names it as a person reads it, exit 10 as in English.
    store_path.parent.chmod(0o777)
    try:
        failed = cli("doctor")
    finally:
        store_path.parent.chmod(0o700)
    line = assert_one_italian_error(
        failed, 10, "1 controllo non superato: cartella dell'archivio", "Li corregga"
    )
    assert "check" not in line


def test_db_check_and_backup_in_italian(cli, italian, store_path):
    result = ok(cli("db", "check"))
    assert result.stderr == "L'archivio è integro.\n"
    assert_one_italian_error(
        cli("db", "backup", str(store_path)),
        4,
        f"Errore: {store_path} esiste già.",
        "Scelga un altro percorso; le copie di sicurezza non sovrascrivono mai.",
    )
    help_text = ok(cli("db", "backup", "--help")).stdout
    assert "Scrive una copia coerente dell'archivio in uso" in help_text
    assert "Esempio: sempi db backup /srv/backup/sempi-2026-11-22.db" in help_text


def test_a_date_nobody_can_read_is_said_in_italian(cli, italian, org):
    line = assert_one_italian_error(cli("audit", "list", "--since", "dopo"), 6)
    assert line == (
        "Errore: --since: impossibile leggere 'dopo' come data. Usi gg/mm/aaaa, AAAA-MM-GG,"
        " oggi, domani, +3d, fine mese o un giorno della settimana."
    )
    # The forms the hint names are accepted, Italian and ISO alike.
    for since in ("oggi", "01/11/2026", "2026-11-01", "fine mese", "lunedì", "+3d"):
        ok(cli("audit", "list", "--since", since))
    org.staff(STAFF)
    assert_one_italian_error(
        cli("audit", "list", as_user=STAFF),
        8,
        "Errore: solo un amministratore della società può leggere il registro delle attività.",
    )


def test_status_screen_in_italian(cli, italian, clock):
    task = ok(cli("task", "add", "Bilancio", "--time-tracking", "--json"), json=True)[0]["id"]
    screen = ok(cli("status")).stdout.splitlines()
    assert screen[0] == "Timer: non in corso."
    assert screen[1].startswith("Da leggere: ") and screen[1].endswith(" chat (0 messaggi).")
    for title in ("Scaduti (0)", "In scadenza questa settimana (0)", "Prossime scadenze (0)"):
        assert title in screen
    ok(cli("timer", "start", str(task)))
    clock.advance(timedelta(hours=1, minutes=5))
    screen = ok(cli("status")).stdout
    assert f"Timer: incarico {task} (Bilancio), 1 h 5 min dal 16/11/2026 10:30." in screen
    help_text = ok(cli("status", "--help")).stdout
    assert "Una riga per il prompt della shell" in help_text


# --- the confirmation ---------------------------------------------------------------


def _asking_app() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def remove(ctx: typer.Context) -> None:
        confirm(ctx, "Rimuovere 3 incarichi?")
        typer.echo("rimossi")

    return app


@pytest.mark.parametrize(
    ("answer", "done"),
    [("s\n", True), ("sì\n", True), ("si\n", True), ("y\n", True), ("n\n", False), ("\n", False)],
)
def test_confirm_in_italian_takes_s_and_si(monkeypatch, italian, answer, done):
    from sempi_cli import i18n

    i18n.use("it")
    monkeypatch.setattr(AppContext, "interactive", property(lambda self: True))
    result = CliRunner().invoke(_asking_app(), [], obj=AppContext(), input=answer)
    assert "Rimuovere 3 incarichi? [s/N]: " in result.output
    assert (result.exit_code, "rimossi" in result.output) == ((0, True) if done else (1, False))


def test_confirm_asks_again_after_an_answer_it_cannot_read(monkeypatch, italian):
    from sempi_cli import i18n

    i18n.use("it")
    monkeypatch.setattr(AppContext, "interactive", property(lambda self: True))
    result = CliRunner().invoke(_asking_app(), [], obj=AppContext(), input="forse\ns\n")
    assert result.exit_code == 0 and "rimossi" in result.output
    assert "Errore: risponda s (sì) o n (no)" in result.output
    assert result.output.count("[s/N]") == 2


def test_confirm_in_english_is_as_it_was(monkeypatch):
    monkeypatch.setattr(AppContext, "interactive", property(lambda self: True))
    result = CliRunner().invoke(_asking_app(), [], obj=AppContext(), input="y\n")
    assert result.exit_code == 0 and "[y/N]: " in result.output and "rimossi" in result.output


def test_no_terminal_no_yes_is_refused_in_italian(cli, italian):
    task = ok(cli("task", "add", "Prova", "--json"), json=True)[0]["id"]
    assert_one_italian_error(
        cli("task", "remove", str(task)),
        2,
        ": serve una conferma. Aggiunga --yes per confermare.",
    )
    ok(cli("task", "remove", str(task), "--yes"))


def test_the_english_refusal_is_unchanged(cli):
    task = ok(cli("task", "add", "Prova", "--json"), json=True)[0]["id"]
    assert_one_line_error(
        cli("task", "remove", str(task)), 2, ": confirmation needed. Add --yes to confirm."
    )


def test_every_audited_action_has_a_word_in_the_activity_log() -> None:
    """`sempi audit list` in Italian puts each action into words (output.VALUE_WORDS,
    "action"): every action a service records is listed there, found by reading the
    calls (Service.audit(ACTION, ...) and audit.record(db, at, actor, ACTION, ...))."""
    import ast
    from pathlib import Path

    from sempi_cli.output import VALUE_WORDS

    root = Path(__file__).resolve().parent.parent / "sempi_cli"
    actions = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            args = node.args
            if node.func.attr == "audit" and args and isinstance(args[0], ast.Constant):
                actions.add(args[0].value)
            owner = node.func.value
            if (
                node.func.attr == "record"
                and isinstance(owner, ast.Name)
                and owner.id == "audit"
                and len(args) >= 4
                and isinstance(args[3], ast.Constant)
            ):
                actions.add(args[3].value)
    assert len(actions) > 50  # the reading itself works
    assert sorted(actions - VALUE_WORDS["action"]) == []
