"""`sempi task` and `sempi checklist` in Italian (issue 17): what they say to a person
(summaries, plurals, errors, help, a reminder's notification) reads Italian with
SEMPI_LANG=it, while what scripts read (JSON, exit codes) does not change."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import ADMIN_EMAIL, actor
from tests.helpers import CREATOR, DOER, HELPER, WATCHER, add, in_both_languages, one

DEADLINE = "20/11/2026 18:00"  # the clock stands at 16/11/2026 10:30, Rome


def both(cli, monkeypatch: pytest.MonkeyPatch, *args: str, as_user: str = CREATOR):
    """The same command in Italian, then in English."""
    return in_both_languages(cli, monkeypatch, *args, as_user=as_user)


def test_adding_tasks_counts_them_in_italian(cli, people, italian) -> None:
    single = cli("task", "add", "Liquidazione IVA marzo", as_user=CREATOR)
    assert single.exit_code == 0, single.stderr
    assert single.stderr == "Aggiunto 1 incarico.\n"
    three = cli(
        "task", "add", "Bilancio", "-r", DOER, "-r", HELPER, "-r", WATCHER, as_user=CREATOR
    )  # fmt: skip
    assert three.exit_code == 0, three.stderr
    assert three.stderr == "Aggiunti 3 incarichi.\n"


def test_refusals_read_italian_with_the_same_exit_codes(cli, people, monkeypatch) -> None:
    task = one(cli, "Dichiarazione IVA", "-r", DOER)["id"]
    missing_it, missing_en = both(cli, monkeypatch, "task", "show", "999")
    assert missing_it.exit_code == missing_en.exit_code == 3
    assert missing_it.stderr == "Errore: l'incarico 999 non esiste o non è visibile per Lei.\n"
    reopen_it, reopen_en = both(cli, monkeypatch, "task", "reopen", str(task))
    assert reopen_it.exit_code == reopen_en.exit_code == 5
    assert reopen_it.stderr == (
        f"Errore: l'incarico {task} è da iniziare: non può essere riaperto."
        " Da «da iniziare» può: avviarlo, completarlo, rinviarlo.\n"
    )
    assert reopen_en.stderr == (
        f"Error: task {task} is pending: it cannot be reopened."
        " From pending you can: start, done, defer.\n"
    )
    bad_it, bad_en = both(cli, monkeypatch, "task", "remind", "add", str(task), "--before", "2x")
    assert bad_it.exit_code == bad_en.exit_code == 6
    assert bad_it.stderr == (
        "Errore: --before: impossibile leggere '2x' come anticipo sulla scadenza."
        " Usi 2d, 1w, 3h, 1d12h o 90m.\n"
    )


def test_open_items_refuse_completion_with_a_plural(cli, people, monkeypatch) -> None:
    task = one(cli, "Chiusura bilancio")["id"]
    for text in ("Fatture", "Banche", "Cespiti"):
        assert cli("checklist", "add", str(task), text, as_user=CREATOR).exit_code == 0
    monkeypatch.setenv("SEMPI_LANG", "it")
    refused = cli("task", "done", str(task), as_user=CREATOR)
    assert refused.exit_code == 5
    assert refused.stderr.startswith(
        f"Errore: l'incarico {task} ha 3 voci aperte nell'elenco di controllo: "
    )
    assert refused.stderr.endswith(f"Le spunti prima ('sempi checklist list {task}').\n")


def test_checklist_summaries_and_the_view_speak_italian(cli, people, italian) -> None:
    task = one(cli, "Raccolta documenti", "--description", "- Estratti conto\n- Fatture")["id"]
    added = cli("checklist", "from-description", str(task), "--json", as_user=CREATOR)
    assert added.stderr == "Aggiunte 2 voci.\n"
    ids = [str(row["id"]) for row in json.loads(added.stdout)]
    more = cli("checklist", "add", str(task), "Ricevute F24", "--json", as_user=CREATOR)
    ids.append(str(json.loads(more.stdout)["id"]))
    dry = cli("checklist", "check", *ids, "--dry-run", as_user=CREATOR)
    assert dry.exit_code == 0, dry.stderr
    assert dry.stderr == "Verrebbero spuntate 3 voci.\n"
    checked = cli("checklist", "check", ids[0], as_user=CREATOR)
    assert checked.stderr == "Spuntata 1 voce.\n"
    view = cli("checklist", "list", str(task), as_user=CREATOR).stdout
    assert view.startswith(f"Incarico {task}: Raccolta documenti\n")
    assert "(1 non mostrata)" in view
    empty = one(cli, "Nulla da spuntare")["id"]
    assert cli("checklist", "list", str(empty), as_user=CREATOR).stdout == (
        f"Incarico {empty}: Nulla da spuntare\n"
        f"Ancora nessun elenco di controllo: ne aggiunga uno con"
        f" 'sempi checklist add {empty} TEXT'.\n"
    )


def test_help_and_the_due_headings_read_italian(cli, people, italian) -> None:
    helped = cli("task", "add", "--help", as_user=CREATOR).stdout
    assert "Aggiunge un incarico; più --responsible creano un incarico per ogni" in helped
    assert "Esempio: sempi task add" in helped and "Chi lo svolge (e-mail o ID)" in helped
    assert "Add a task" not in helped
    one(cli, "Versamento F24", "-d", DEADLINE)
    due = cli("task", "due", as_user=CREATOR).stdout
    for heading in ("Scaduti (0)", "Oggi (0)", "Questa settimana (1)"):
        assert heading in due, due
    assert "In attesa della mia approvazione (0)" in due


def test_scripts_read_the_same_bytes_in_both_languages(cli, people, monkeypatch) -> None:
    task = one(cli, "Modello 770", "-d", DEADLINE, "--participant", HELPER)["id"]
    assert cli("checklist", "add", str(task), "Certificazioni", as_user=CREATOR).exit_code == 0
    for args in (
        ("task", "list", "--json"),
        ("task", "show", str(task), "--json"),
        ("task", "due", "--json"),
        ("task", "history", str(task), "--json"),
        ("checklist", "list", str(task), "--json"),
        ("task", "export"),
        ("task", "list", "--format", "csv"),
    ):
        italian, english = both(cli, monkeypatch, *args)
        assert italian.exit_code == english.exit_code == 0, (args, english.stderr)
        assert italian.stdout_bytes == english.stdout_bytes, args
    reopen_it, reopen_en = both(cli, monkeypatch, "task", "reopen", str(task), "--json")
    assert reopen_it.stdout_bytes == reopen_en.stdout_bytes == b""


def test_a_reminder_reaches_its_recipient_in_their_language(
    cli, db, clock, people, italian_firm
) -> None:
    """The administrator runs the job in English; DOER reads Italian (the firm's
    language) and HELPER chose English."""
    from sempi_cli.services.tasks.reminders import ReminderService

    task = one(cli, "Liquidazione IVA", "-r", DOER, "--participant", HELPER, "-d", DEADLINE)
    assert cli("user", "edit", HELPER, "--language", "en").exit_code == 0
    for person in (DOER, HELPER):
        added = cli(
            "task", "remind", "add", str(task["id"]), "--before", "3d", "--to", person,
            as_user=CREATOR,
        )  # fmt: skip
        assert added.exit_code == 0, added.stderr
    ReminderService(db, clock, actor(db, ADMIN_EMAIL)).run(clock.now() + timedelta(days=2))
    texts = dict(
        db.execute(
            "SELECT u.email, n.text FROM notifications n JOIN users u ON u.id = n.user_id"
            " WHERE n.kind = 'reminder'"
        ).fetchall()
    )
    assert texts[DOER] == (
        f"Promemoria: incarico {task['id']} 'Liquidazione IVA', con scadenza il 20/11/2026 18:00"
    )
    assert texts[HELPER] == (
        f"Reminder: task {task['id']} 'Liquidazione IVA' is due 20/11/2026 18:00"
    )


def test_recurring_run_and_reminder_summaries_count_in_italian(cli, people, italian) -> None:
    made = cli(
        "task", "template", "add", "lipe", "--title", "LIPE", "--client",
        str(people["client"]), as_user=CREATOR,
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert made.stderr == "Aggiunto il modello 'lipe'.\n"
    recurs = cli(
        "task", "recur", "set", "lipe", "--freq", "monthly", "--start", "2026-01-16",
        "--count", "3", as_user=CREATOR,
    )  # fmt: skip
    assert recurs.exit_code == 0, recurs.stderr
    assert recurs.stderr == (
        "Il modello 'lipe' ricorre: ogni mese il giorno 16, dal 16/01/2026, 3 volte.\n"
    )
    task = add(cli, "Bilancio", "-d", DEADLINE)[0]["id"]
    reminded = cli("task", "remind", "add", str(task), "--before", "1d", as_user=CREATOR)
    assert reminded.stderr.endswith("Aggiunto 1 promemoria.\n"), reminded.stderr
    run = cli("task", "recur", "run", "--dry-run", as_user=CREATOR)
    assert run.exit_code == 0, run.stderr
    assert run.stderr.endswith(
        "Verrebbero creati 3 incarichi fino al 16/11/2026 da 1 modello ricorrente;"
        " già creati in precedenza: 0.\n"
    ), run.stderr
