"""`sempi scheduler` and `sempi timer` in Italian (issue 17): what they say to a person
(the run's summary, the scadenzario's count, explain and the calendar, refusals, help,
the timer's messages, a forgotten timer's notification) reads Italian with
SEMPI_LANG=it, while what scripts read (JSON, exit codes) does not change."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests import test_scheduler_views, test_timers
from tests.conftest import ADMIN_EMAIL
from tests.helpers import DOER, HELPER, in_both_languages, ok
from tests.test_scheduler_views import STAFF_IN, task_of

world = test_scheduler_views.world  # the scheduler's clients, run from May to September 2025
tasks = test_timers.tasks  # tasks tracking time: DOER responsible, HELPER a participant


def both(cli, monkeypatch: pytest.MonkeyPatch, *args: str, as_user: str = ADMIN_EMAIL):
    """The same command in Italian, then in English."""
    return in_both_languages(cli, monkeypatch, *args, as_user=as_user)


# --- the scheduler ------------------------------------------------------------------------


def test_the_run_and_the_scadenzario_count_in_italian(cli, world, monkeypatch) -> None:
    monkeypatch.setenv("SEMPI_LANG", "it")
    alfa = str(world["alfa"])
    one = ok(cli("scheduler", "run", "--dry-run", "--client", alfa, "--to", "2025-09-30"))
    assert one.stdout.startswith(
        "Simulazione (nulla è stato scritto), scadenze dal 10/06/2025 al 30/09/2025, 1 cliente:"
        " create 0, aggiornate 0, annullate 0, invariate "
    )
    three = ok(cli("scheduler", "run", "--dry-run", "--to", "2025-09-30"))
    assert ", 3 clienti: create 0," in three.stdout.splitlines()[0]
    lipe = ok(cli("scheduler", "list", "--client", alfa, "--rule", "LIPE", "--period", "2025-Q1"))
    assert lipe.stderr == "1 scadenza, di cui scadute: 1.\n"
    assert "scaduta" in lipe.stdout  # the status column, in words
    alfa_all = ok(cli("scheduler", "list", "--client", alfa))
    n = len(json.loads(ok(cli("scheduler", "list", "--client", alfa, "--json")).stdout))
    assert n > 1 and alfa_all.stderr.startswith(f"{n} scadenze, di cui scadute: ")


def test_explain_is_a_report_in_italian(cli, world, db, monkeypatch) -> None:
    monkeypatch.setenv("SEMPI_LANG", "it")
    task = task_of(db, world["alfa"], "LIPE", "2025-Q1")
    out = ok(cli("scheduler", "explain", str(world["alfa"]), "LIPE", "2025-Q1")).stdout
    lines = out.splitlines()
    assert lines[0] == f"LIPE 2025-Q1 per Alfa Srl (cliente {world['alfa']})"
    assert "Profilo:               iva_periodicity=trimestrale, forfettario=no" in lines
    assert "Data nominale:         sabato 31 maggio 2025" in lines
    assert "Spostata:              31/05/2025 -> 01/06/2025: sabato" in lines
    assert "Proroga:               nessuna" in lines
    assert f"Incarico:              {task} (da iniziare, responsabile {STAFF_IN}): scaduta" in lines
    for english in ("Rule:", "Moved:", "Due date:", "Legal basis:", "responsible", "none"):
        assert english not in out
    # a deadline not generated yet: the note is a sentence for people too
    future = ok(cli("scheduler", "explain", str(world["alfa"]), "IVA-T", "2026-Q2")).stdout
    assert (
        "Nota:                  non ancora generata: 'sempi scheduler run' la trasforma" in future
    )
    assert "Incarico:              nessuno per ora" in future


def test_the_calendar_legend_and_lines_are_italian(cli, world, monkeypatch) -> None:
    monkeypatch.setenv("SEMPI_LANG", "it")
    out = ok(cli("scheduler", "calendar", "--month", "2025-06", "--client", str(world["alfa"])))
    text = out.stdout
    assert "sett. settimana ISO (ISO 8601: da lunedì; la settimana 1 contiene il 4 gennaio)" in text
    assert "[n] scadenze di quel giorno   * festività nazionale" in text
    assert ", scaduta" in text and "incarico " in text and "task " not in text
    assert "  lunedì 2 giugno 2025: Festa della Repubblica" in text
    assert "\nmartedì 3 giugno 2025 (" in text  # LIPE and BOLLO, moved from 31 May
    empty = ok(cli("scheduler", "calendar", "--month", "2025-12", "--client", "999"))
    assert "Nessuna scadenza nel mese di dicembre 2025." in empty.stdout


def test_scheduler_refusals_read_italian_with_the_same_exit_codes(
    cli, clock, world, monkeypatch
) -> None:
    alfa = str(world["alfa"])
    period_it, period_en = both(cli, monkeypatch, "scheduler", "explain", alfa, "LIPE", "2025")
    assert period_it.exit_code == period_en.exit_code == 6
    assert period_it.stderr == (
        "Errore: PERIOD: '2025' non è un periodo di LIPE: indichi un trimestre come 2026-Q2.\n"
    )
    assert period_en.stderr == (
        "Error: PERIOD: '2025' is not a period of LIPE: give a quarter such as 2026-Q2.\n"
    )
    rule_it, rule_en = both(cli, monkeypatch, "scheduler", "list", "--rule", "NOPE")
    assert rule_it.exit_code == rule_en.exit_code == 6
    assert rule_it.stderr.startswith("Errore: --rule: nessuna regola 'NOPE'; le regole sono ")
    assert rule_it.stderr.endswith(". Veda 'sempi scheduler rules'.\n")
    clock.advance(timedelta(hours=2))
    health_it, health_en = both(cli, monkeypatch, "scheduler", "health", "--max-age", "1h")
    assert health_it.exit_code == health_en.exit_code == 11
    assert health_it.stderr.startswith(
        "Errore: l'ultima esecuzione riuscita dello scadenzario (n. 1) è terminata "
    )


def test_scheduler_help_is_italian(cli, monkeypatch) -> None:
    monkeypatch.setenv("SEMPI_LANG", "it")
    out = ok(cli("scheduler", "explain", "--help", as_user=None)).stdout
    assert "Spiega perché un cliente ha una scadenza e perché cade in quel giorno." in out
    assert "Esempio: sempi scheduler explain 12 LIPE 2025-Q1" in out
    run = ok(cli("scheduler", "run", "--help", as_user=None)).stdout
    assert "Prima data di scadenza da generare (predefinito: oggi)." in run


def test_scheduler_json_is_the_same_in_both_languages(cli, world, monkeypatch) -> None:
    alfa = str(world["alfa"])
    for args in (
        ("scheduler", "explain", alfa, "LIPE", "2025-Q1", "--json"),
        ("scheduler", "explain", alfa, "IVA-T", "2026-Q2", "--json"),  # with a note
        ("scheduler", "list", "--json"),
        ("scheduler", "calendar", "--month", "2025-06", "--json"),
        ("scheduler", "run", "--dry-run", "--to", "2025-09-30", "--json"),
        ("scheduler", "rules", "--json"),
    ):
        italian, english = both(cli, monkeypatch, *args)
        assert italian.exit_code == english.exit_code == 0, italian.stderr
        assert italian.stdout == english.stdout, args
    monkeypatch.setenv("SEMPI_LANG", "it")
    explained = ok(cli("scheduler", "explain", alfa, "IVA-T", "2026-Q2", "--json")).stdout
    assert json.loads(explained)["notes"] == [
        "not generated yet: 'sempi scheduler run' makes it a task"
    ]


# --- the timer ----------------------------------------------------------------------------


def test_timer_messages_are_italian_with_durations_as_people_write_them(
    cli, clock, tasks, monkeypatch
) -> None:
    monkeypatch.setenv("SEMPI_LANG", "it")
    a, b = str(tasks["a"]), str(tasks["b"])
    assert ok(cli("timer", "status", as_user=DOER)).stderr == "Nessun timer in corso.\n"
    added = ok(cli("timer", "add", a, "--duration", "1h30m", "-m", "Telefonata", as_user=DOER))
    assert added.stderr.endswith(f"all'incarico {a}.\n")
    assert "(1 h 30 min)" in added.stderr and added.stderr.startswith("Aggiunta la registrazione ")
    one = ok(cli("timer", "report", as_user=DOER))
    assert one.stderr == "1 gruppo, tempo impiegato: 1 h 30 min.\n"
    earlier = ("--to", "16/11/2026 08:00")  # before the first entry
    ok(cli("timer", "add", b, "--duration", "45m", *earlier, "-m", "Bilancio", as_user=DOER))
    two = ok(cli("timer", "report", as_user=DOER))
    assert two.stderr == "2 gruppi, tempo impiegato: 2 h 15 min.\n"
    off = cli("timer", "start", str(tasks["off"]), as_user=DOER)
    assert off.exit_code == 5
    assert off.stderr == (
        f"Errore: la rilevazione dei tempi è disattivata per l'incarico {tasks['off']}."
        f" La attivi con 'sempi task edit {tasks['off']} --time-tracking'.\n"
    )
    help_text = ok(cli("timer", "add", "--help", as_user=None)).stdout
    assert "Aggiunge tempo lavorato senza il timer" in help_text


def test_timer_refusals_keep_their_exit_codes_and_english(cli, tasks, monkeypatch) -> None:
    italian, english = both(cli, monkeypatch, "timer", "pause", as_user=DOER)
    assert italian.exit_code == english.exit_code == 5
    assert italian.stderr == ("Errore: nessun suo timer è in corso. Veda 'sempi timer status'.\n")
    assert english.stderr == "Error: no timer of yours is running. See 'sempi timer status'.\n"


def test_a_forgotten_timer_is_told_in_its_owners_language(cli, clock, tasks, db, monkeypatch):
    """The notification is written for its recipient: DOER reads Italian, HELPER
    English, whoever runs the check; the check's JSON stays English."""
    db.execute("UPDATE users SET language = 'it' WHERE email = ?", (DOER,))
    db.execute("UPDATE users SET language = 'en' WHERE email = ?", (HELPER,))
    db.commit()
    ok(cli("timer", "start", str(tasks["a"]), as_user=DOER))
    ok(cli("timer", "start", str(tasks["b"]), as_user=HELPER))
    clock.advance(timedelta(hours=10))
    monkeypatch.setenv("SEMPI_LANG", "it")
    status = ok(cli("timer", "status", as_user=DOER))
    assert status.stderr == (
        "Attenzione: il timer è in corso da più di 10 h: lo metta in pausa o corregga la"
        " registrazione.\n"
    )
    assert status.stdout.startswith(f"Incarico {tasks['a']} (Liquidazione IVA): 10 h dal ")
    monkeypatch.setenv("SEMPI_LANG", "en")
    found = json.loads(ok(cli("timer", "check", "--json")).stdout)
    assert [f["why"] for f in found] == ["running for more than 10 h"] * 2
    monkeypatch.setenv("SEMPI_LANG", "it")

    def told(email: str) -> str:
        rows = ok(cli("notify", "list", "--kind", "timer", "--json", as_user=email)).stdout
        return json.loads(rows)[0]["text"]

    assert told(DOER) == (
        f"Il suo timer sull'incarico {tasks['a']} (Liquidazione IVA) è in corso da più di 10 h:"
        f" lo metta in pausa o corregga la registrazione con 'sempi timer edit {found[0]['id']}'."
    )
    assert told(HELPER) == (
        f"Your timer on task {tasks['b']} (Bilancio) is running for more than 10 h: pause it,"
        f" or fix the entry with 'sempi timer edit {found[1]['id']}'."
    )
    quiet = ok(cli("timer", "check"))
    assert quiet.stderr.endswith("2 timer dimenticati, avvisi inviati ora: 0.\n")
    assert "in corso da più di 10 h" in quiet.stdout  # the reason, in words


def test_timer_json_is_the_same_in_both_languages(cli, clock, tasks, monkeypatch) -> None:
    ok(cli("timer", "start", str(tasks["a"]), as_user=DOER))
    clock.advance(timedelta(hours=11))
    for args in (("timer", "status", "--json"), ("timer", "log", "--json")):
        italian, english = both(cli, monkeypatch, *args, as_user=DOER)
        assert italian.stdout == english.stdout, args
    italian, english = both(cli, monkeypatch, "timer", "report", "--by", "client", "--json")
    assert italian.stdout == english.stdout
