"""`sempi client`, `sempi client-onboard` and `sempi doc` in Italian (issue 17): what
they say to a person (confirmations, summaries, plurals, errors, help, a batch's
per-row problems, a read receipt's notification) reads Italian with SEMPI_LANG=it,
while what scripts read (JSON, exit codes) does not change."""

from __future__ import annotations

import json

import pytest

from tests.conftest import piva
from tests.helpers import (
    CREATOR,
    EXTERNAL,
    OPERATOR,
    RESP,
    data,
    in_both_languages,
    ok,
    onboarding_practices,
)


def both(cli, monkeypatch: pytest.MonkeyPatch, *args: str, as_user: str | None = None):
    """The same command in Italian, then in English."""
    return in_both_languages(cli, monkeypatch, *args, **({"as_user": as_user} if as_user else {}))


def add_client(cli, name: str, number: int, *extra: str) -> int:
    added = cli(
        "client", "add", "--name", name, "--studio", "Studio Rossi", "--piva", piva(number),
        *extra, "--json",
    )  # fmt: skip
    return data(added)["id"]


@pytest.fixture
def rossi(cli) -> None:
    """Studio Rossi and Studio Verdi, their administrators and operator, staff RESP."""
    onboarding_practices(cli, second_staff=False)


def test_client_commands_confirm_and_refuse_in_italian(cli, rossi, monkeypatch) -> None:
    client = add_client(cli, "Bianchi Srl", 1, "-r", RESP)
    monkeypatch.setenv("SEMPI_LANG", "it")
    staff = cli("client", "remove", str(client), "--yes", as_user=RESP)
    assert staff.exit_code == 8
    assert staff.stderr == (
        "Errore: solo un amministratore della società o il titolare dello studio può rimuovere"
        f" il cliente {client}.\n"
    )
    asked = cli("client", "remove", str(client))  # no terminal, no --yes
    assert asked.exit_code == 2
    assert asked.stderr.startswith(f"Errore: Rimuovere il cliente {client} (Bianchi Srl)")
    removed = cli("client", "remove", str(client), "--yes")
    assert removed.exit_code == 0, removed.stderr
    assert removed.stderr == f"Cliente {client} rimosso.\n"
    again_it, again_en = both(cli, monkeypatch, "client", "remove", str(client), "--yes")
    assert again_it.exit_code == again_en.exit_code == 5
    assert again_it.stderr == f"Errore: il cliente {client} è già rimosso.\n"
    assert again_en.stderr == f"Error: client {client} is already removed.\n"
    twin_it, twin_en = both(
        cli, monkeypatch, "client", "add", "--name", "Gemello Srl", "--studio", "Studio Rossi",
        "--piva", piva(1),
    )  # fmt: skip
    assert twin_it.exit_code == twin_en.exit_code == 4
    assert twin_it.stderr == (
        f"Errore: il cliente {client} di questo studio (rimosso: 'sempi client restore' lo"
        f" ripristina) ha già la partita IVA {piva(1)}.\n"
    )
    bad_it, bad_en = both(cli, monkeypatch, "client", "list", "--iva", "annuale")
    assert bad_it.exit_code == bad_en.exit_code == 6
    assert bad_it.stderr == (
        "Errore: --iva: 'annuale' non è uno tra mensile, trimestrale, trimestrale_speciale, none.\n"
    )


def test_help_and_the_profile_fields_read_italian(cli, rossi, italian) -> None:
    group = ok(cli("client", "--help")).stdout
    assert "Gestisce i clienti: dati anagrafici, profilo fiscale, responsabile." in group
    add = ok(cli("client", "add", "--help")).stdout
    assert "Aggiunge un cliente a uno studio, con il suo gruppo di lavoro" in add
    assert "Esempio: sempi client add --name" in add
    onboard = ok(cli("client-onboard", "batch", "--help")).stdout
    assert "Prende in carico i clienti di un file CSV o JSON" in onboard
    fields = ok(cli("client", "fields")).stdout
    assert "INTRASTAT cessioni di beni" in fields and "sostituto d'imposta" in fields


def test_documents_count_in_italian(cli, people, tmp_path, italian) -> None:
    client = str(people["client"])
    ok(cli("doc", "folder", "add", "--client", client, "Anagrafica", as_user=CREATOR))
    files = []
    for name in ("visura.pdf", "statuto.pdf", "atto.pdf", "bilancio.pdf"):
        path = tmp_path / name
        path.write_bytes(name.encode())
        files.append(str(path))
    one = cli("doc", "add", files[0], "--client", client, "--folder", "Anagrafica", as_user=CREATOR)
    assert one.exit_code == 0, one.stderr
    assert one.stderr == "Archiviato 1 documento.\n"
    three = cli("doc", "add", *files[1:], "--client", client, "-f", "Anagrafica", as_user=CREATOR)
    assert three.exit_code == 0, three.stderr
    assert three.stderr == "Archiviati 3 documenti.\n"
    tree = ok(cli("doc", "folder", "list", "--client", client, as_user=CREATOR)).stdout
    assert "Anagrafica  (4 documenti)" in tree
    kept = cli("doc", "folder", "remove", "--client", client, "Anagrafica", as_user=CREATOR)
    assert kept.exit_code == 5
    assert kept.stderr == (
        "Errore: la cartella 'Anagrafica' non è vuota (0 sottocartelle, 4 documenti)."
        " Aggiunga --recursive per rimuoverla con tutto il suo contenuto.\n"
    )
    gone = cli(
        "doc", "folder", "remove", "--client", client, "Anagrafica", "-r", "--yes", as_user=CREATOR
    )  # fmt: skip
    assert gone.exit_code == 0, gone.stderr
    assert gone.stderr.endswith("Rimossi: 1 cartella e 4 documenti.\n")


def test_a_batch_reports_its_rows_in_italian(cli, rossi, tmp_path, italian, monkeypatch) -> None:
    good = tmp_path / "clienti.csv"
    rows = [f"Cliente {n} Srl;{piva(n)};{RESP if n == 1 else ''}" for n in (1, 2, 3)]
    good.write_text("ragione_sociale;partita_iva;responsible\n" + "\n".join(rows) + "\n")
    batch = ("client-onboard", "batch", str(good), "--studio", "Studio Rossi", "--no-deadlines")
    asked = cli(*batch)  # three new clients: a person confirms first
    assert asked.exit_code == 2
    assert asked.stderr == (
        "Errore: Prendere in carico 3 nuovi clienti e aggiornarne 0 nello studio Studio Rossi:"
        " serve una conferma. Aggiunga --yes per confermare.\n"
    )
    written = cli(*batch, "--yes")
    assert written.exit_code == 0, written.stderr
    assert written.stderr.splitlines()[-1] == (
        "Presa in carico di 3 righe: 3 nuove, 0 aggiornate, 0 invariate."
    )
    bad = tmp_path / "c.csv"  # two rows for one client: both refused
    bad.write_text(f"ragione_sociale;partita_iva\nUno Srl;{piva(4)}\nDue Srl;{piva(4)}\n")
    refused = cli("client-onboard", "batch", str(bad), "--studio", "Studio Rossi", "--json")
    assert refused.exit_code == 6
    assert refused.stderr.splitlines() == [
        "Controllate 2 righe; nessuna scritta: 2 rifiutate.",
        f"Errore: c.csv: righe rifiutate: 2 su 2 (la prima: riga 2, partita_iva: line 3 has"
        f" the same partita IVA ({piva(4)})); nulla è stato scritto. Le corregga e riprovi,"
        " oppure aggiunga --partial per scrivere le righe valide.",
    ]
    report = json.loads(refused.stdout)  # the keys and values scripts read stay
    assert [r["action"] for r in report["results"]] == ["refused", "refused"]
    # a report for scripts is the same in every language, its problems too
    monkeypatch.setenv("SEMPI_LANG", "en")
    english = cli("client-onboard", "batch", str(bad), "--studio", "Studio Rossi", "--json")
    assert refused.stdout == english.stdout
    monkeypatch.setenv("SEMPI_LANG", "it")
    table = cli("client-onboard", "batch", str(bad), "--studio", "Studio Rossi")
    assert f"riga 2: stessa partita IVA ({piva(4)})" in table.stderr  # for the person
    one = tmp_path / "uno.csv"
    one.write_text(f"ragione_sociale;partita_iva\nCinque Srl;{piva(5)}\n")
    dry = cli("client-onboard", "batch", str(one), "--studio", "Studio Rossi", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stderr.splitlines()[-1].startswith(
        "Simulazione su 1 riga: 1 nuova, 0 aggiornate, 0 invariate. Scadenze dal 16/11/2026"
    )


def test_a_read_receipt_reaches_its_recipient_in_their_language(
    cli, db, clock, org, people, tmp_path, italian_firm
) -> None:
    """OPERATOR reads the firm's language (Italian); CREATOR chose English."""
    from sempi_cli.services.documents.folders import FolderService

    client = str(people["client"])
    FolderService(db, clock, org.admin).create_default_tree(people["client"])
    ok(cli("user", "edit", CREATOR, "--language", "en"))
    added = {}
    for person, name in ((OPERATOR, "visura.pdf"), (CREATOR, "statuto.pdf")):
        path = tmp_path / name
        path.write_bytes(b"%PDF " + name.encode())
        document = data(
            cli("doc", "add", str(path), "--client", client, "-f", "IVA", "--json", as_user=person)
        )[0]["id"]
        added[person] = document
        ok(cli("doc", "get", str(document), "-o", "-", as_user=EXTERNAL))
    texts = dict(
        db.execute(
            "SELECT u.email, n.text FROM notifications n JOIN users u ON u.id = n.user_id"
            " WHERE n.kind = 'document'"
        ).fetchall()
    )
    assert texts[OPERATOR] == (
        f"Esterno (Alfa Srl) ha scaricato per la prima volta il documento {added[OPERATOR]}"
        " (visura.pdf)."
    )
    assert texts[CREATOR] == (
        f"Esterno (Alfa Srl) downloaded document {added[CREATOR]} (statuto.pdf) for the first time."
    )


def test_scripts_read_the_same_bytes_in_both_languages(cli, rossi, tmp_path, monkeypatch) -> None:
    client = add_client(cli, "Bianchi Srl", 1, "-p", "iva_periodicity=mensile", "-r", RESP)
    onboarded = cli(
        "client-onboard", "add", "--name", "Verdi Srl", "--studio", "Studio Rossi",
        "--piva", piva(2), "--delegation", "cassetto_fiscale:AB12345:2027-12-31",
        "--no-deadlines", "--dry-run", "--json",
    )  # fmt: skip
    ok(onboarded)
    path = tmp_path / "visura.pdf"
    path.write_bytes(b"%PDF")
    ok(cli("doc", "folder", "add", "--client", str(client), "Anagrafica"))
    ok(cli("doc", "add", str(path), "--client", str(client), "-f", "Anagrafica"))
    for args in (
        ("client", "show", str(client), "--json"),
        ("client", "list", "--json"),
        ("client", "list", "--format", "csv"),
        ("client", "fields", "--json"),
        ("client-onboard", "show", str(client), "--json"),
        ("doc", "list", "--client", str(client), "--json"),
        ("doc", "folder", "list", "--client", str(client), "--json"),
    ):
        italian, english = both(cli, monkeypatch, *args)
        assert italian.exit_code == english.exit_code == 0, (args, english.stderr)
        assert italian.stdout_bytes == english.stdout_bytes, args
    # Excel is the Italian office's format whatever the language: the same Italian bytes.
    italian, english = both(cli, monkeypatch, "client", "fields", "--format", "excel")
    assert italian.stdout_bytes == english.stdout_bytes
    assert "INTRASTAT cessioni di beni" in english.stdout
    dry = [
        "client-onboard", "add", "--name", "Neri Srl", "--studio", "Studio Rossi",
        "--piva", piva(3), "--no-deadlines", "--dry-run", "--json",
    ]  # fmt: skip
    italian, english = both(cli, monkeypatch, *dry)
    assert italian.stdout_bytes == english.stdout_bytes
    assert (
        italian.stderr == "Simulazione: Neri Srl verrebbe preso in carico; nulla è stato scritto.\n"
    )
