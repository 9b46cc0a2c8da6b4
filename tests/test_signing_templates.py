"""Signature templates: `sempi sign template add/list/show/remove`, and who may."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sempi_cli.errors import PermissionDenied, RuleViolation
from sempi_cli.services.signing.templates import SignTemplates
from tests.conftest import ADMIN_EMAIL, actor
from tests.helpers import (
    CREATOR,
    EXTERNAL,
    OPERATOR,
    assert_one_italian_error,
    assert_one_line_error,
    data,
    foreign_keys_off,
    ok,
)

LETTER = """# Lettera d'incarico

Spett.le **{{client.ragione_sociale}}** (C.F. {{ client.codice_fiscale }}),
Roma, {{today}}. Firmano: {{signer.names}}.
"""


@pytest.fixture
def letter(tmp_path: Path) -> str:
    path = tmp_path / "incarico.md"
    path.write_text(LETTER, encoding="utf-8")
    return str(path)


def _count(store_path: Path) -> int:
    with sqlite3.connect(store_path) as conn:
        return conn.execute("SELECT count(*) FROM sign_templates").fetchone()[0]


def test_add_list_show_remove(cli, letter, store_path):
    added = data(cli("--json", "sign", "template", "add", "Lettera d'incarico", letter))
    assert added["name"] == "Lettera d'incarico" and added["format"] == "markdown"
    assert added["placeholders"] == [
        "client.ragione_sociale", "client.codice_fiscale", "today", "signer.names"
    ]  # fmt: skip
    assert added["created_by"] == ADMIN_EMAIL and added["requests"] == 0

    listed = data(cli("--json", "sign", "template", "list"))
    assert [t["name"] for t in listed] == ["Lettera d'incarico"]

    shown = data(cli("--json", "sign", "template", "show", "lettera D'INCARICO"))
    assert shown["text"] == LETTER.strip()
    assert shown["placeholders"][0] == {
        "placeholder": "client.ragione_sociale",
        "meaning": "the client's name (ragione sociale)",
    }
    assert data(cli("--json", "sign", "template", "show", str(added["id"])))["id"] == added["id"]

    table = ok(cli("sign", "template", "show", "Lettera d'incarico"))
    assert "client.codice_fiscale" in table.stdout and "# Lettera d'incarico" in table.stdout

    removed = ok(cli("--yes", "sign", "template", "remove", "Lettera d'incarico"))
    assert "Removed signature template" in removed.stderr
    assert _count(store_path) == 0
    assert_one_line_error(cli("sign", "template", "show", "Lettera d'incarico"), 3, "not found")


def test_the_add_and_remove_are_audited(cli, letter, store_path):
    template_id = data(cli("--json", "sign", "template", "add", "Mandato", letter))["id"]
    ok(cli("--yes", "sign", "template", "remove", "Mandato"))
    with sqlite3.connect(store_path) as conn:
        actions = conn.execute(
            "SELECT action FROM audit_log WHERE object_type = 'sign_template' AND object_id = ?"
            " ORDER BY id",
            (template_id,),
        ).fetchall()
    assert [a[0] for a in actions] == ["add", "remove"]


def test_an_unknown_placeholder_is_refused_naming_it(cli, tmp_path, store_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("Gentile {{client.ragione_sociale}}, {{clinet.pec}} e {{ iban }}.\n")
    result = cli("sign", "template", "add", "Mandato", str(bad))
    assert_one_line_error(result, 6, "FILE", "{{clinet.pec}}", "{{iban}}")
    assert _count(store_path) == 0


def test_an_unclosed_placeholder_is_refused(cli, tmp_path, store_path):
    bad = tmp_path / "bad.md"
    bad.write_text("Gentile {{client.ragione_sociale\n")
    assert_one_line_error(cli("sign", "template", "add", "M", str(bad)), 6, "line 1")
    assert _count(store_path) == 0


def test_a_duplicate_name_is_a_conflict(cli, letter, store_path):
    ok(cli("sign", "template", "add", "Mandato", letter))
    assert_one_line_error(cli("sign", "template", "add", "MANDATO", letter), 4, "'MANDATO'")
    assert _count(store_path) == 1


@pytest.mark.parametrize(
    ("name", "suffix", "content", "fragment"),
    [
        ("Privacy", ".pdf", "testo", "neither Markdown nor plain text"),
        ("Privacy", ".docx", "testo", "neither Markdown nor plain text"),
        ("Privacy", ".md", "  \n\n", "empty"),
        ("x" * 65, ".md", "testo", "1 to 64 characters"),
        ("", ".md", "testo", "1 to 64 characters"),
        ("12", ".md", "testo", "not a template name"),
        ("due\nrighe", ".md", "testo", "one line"),
        ("Privacy", ".md", "testo \x1b[31m rosso", "control character"),
    ],
)
def test_bad_input_is_refused_nothing_written(
    cli, tmp_path, store_path, name, suffix, content, fragment
):
    path = tmp_path / ("template" + suffix)
    path.write_text(content)
    assert_one_line_error(cli("sign", "template", "add", name, str(path)), 6, fragment)
    assert _count(store_path) == 0


def test_a_missing_or_non_utf8_file(cli, tmp_path, store_path):
    assert_one_line_error(
        cli("sign", "template", "add", "M", str(tmp_path / "no.md")), 6, "no file"
    )
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("società".encode("latin-1"))
    assert_one_line_error(cli("sign", "template", "add", "M", str(latin1)), 6, "not UTF-8")
    assert _count(store_path) == 0


def test_a_plain_text_template_with_a_bom(cli, tmp_path):
    path = tmp_path / "privacy.TXT"
    path.write_bytes("\ufeffInformativa per {{client.ragione_sociale}}\r\n".encode())
    added = data(cli("--json", "sign", "template", "add", "Privacy", str(path)))
    assert added["format"] == "text"
    shown = data(cli("--json", "sign", "template", "show", "Privacy"))
    assert shown["text"] == "Informativa per {{client.ragione_sociale}}"


def test_remove_asks_and_offers_a_dry_run(cli, letter, store_path):
    ok(cli("sign", "template", "add", "Mandato", letter))
    assert_one_line_error(cli("sign", "template", "remove", "Mandato"), 2, "--yes")
    dry = ok(cli("sign", "template", "remove", "Mandato", "--dry-run"))
    assert "Would remove" in dry.stderr
    assert _count(store_path) == 1


def test_a_template_a_request_used_is_not_removed(cli, letter, store_path, org):
    from tests.helpers import task_people

    people = task_people(org)
    template_id = data(cli("--json", "sign", "template", "add", "Mandato", letter))["id"]
    with sqlite3.connect(store_path) as conn:  # a request, as the requests' service makes one
        conn.execute("PRAGMA foreign_keys = OFF")  # no document needed to test the rule
        conn.execute(
            "INSERT INTO sign_requests (client_id, template_id, title, fields, document_id, sha256,"
            " created_at, created_by) VALUES (?, ?, 'Mandato', '{}', 999, ?, '2026-11-16', 1)",
            (people["client"], template_id, "0" * 64),
        )
    result = cli("--yes", "sign", "template", "remove", "Mandato")
    assert_one_line_error(result, 5, "used by 1 signature request")
    assert _count(store_path) == 1
    assert data(cli("--json", "sign", "template", "list"))[0]["requests"] == 1


def test_who_may(cli, letter, org, db, clock):
    from tests.helpers import task_people

    task_people(org)
    # Staff add; the practices' users read; externals do neither.
    ok(cli("sign", "template", "add", "Mandato", letter, as_user=CREATOR))
    assert_one_line_error(
        cli("sign", "template", "add", "Altro", letter, as_user=OPERATOR), 8, "staff"
    )
    assert [t["name"] for t in data(cli("--json", "sign", "template", "list", as_user=OPERATOR))]
    assert_one_line_error(cli("sign", "template", "list", as_user=EXTERNAL), 8)
    assert_one_line_error(cli("sign", "template", "show", "Mandato", as_user=EXTERNAL), 8)
    assert_one_line_error(
        cli("--yes", "sign", "template", "remove", "Mandato", as_user=OPERATOR), 8
    )
    # Another staff member may not remove it; its creator and a firm administrator may.
    org.staff("other@sempi.test")
    service = SignTemplates(db, clock, actor(db, "other@sempi.test"))
    with pytest.raises(PermissionDenied, match="creator"):
        service.remove("Mandato")
    ok(cli("--yes", "sign", "template", "remove", "Mandato", as_user=CREATOR))


def test_the_list_table_and_italian(cli, letter, monkeypatch):
    ok(cli("sign", "template", "add", "Mandato", letter))
    table = ok(cli("sign", "template", "list")).stdout
    assert "Mandato" in table and "client.ragione_sociale, client.codice_fiscale" in table
    monkeypatch.setenv("SEMPI_LANG", "it")
    italian = cli("sign", "template", "show", "Mandato")
    assert "Segnaposto" in ok(italian).stdout
    assert "la ragione sociale del cliente" in italian.stdout
    refused = cli("sign", "template", "add", "Mandato", letter)
    assert_one_italian_error(refused, 4, "esiste già un modello di firma chiamato 'Mandato'")


def test_the_service_refuses_before_writing(db, clock, admin, letter):
    service = SignTemplates(db, clock, admin)
    service.add("Mandato", letter)
    foreign_keys_off(db)  # no document needed to test the rule
    db.execute(
        "INSERT INTO sign_requests (client_id, template_id, title, fields, document_id, sha256,"
        " created_at, created_by) VALUES (1, 1, 't', '{}', 1, ?, 'x', 1)",
        ("0" * 64,),
    )
    with pytest.raises(RuleViolation):
        service.remove("Mandato")
    assert json.loads(json.dumps(service.list()))[0]["requests"] == 1


def test_a_folder_or_a_file_over_a_megabyte_is_refused(cli, tmp_path, store_path):
    folder = tmp_path / "lettere.md"
    folder.mkdir()
    assert_one_line_error(cli("sign", "template", "add", "M", str(folder)), 6, "FILE")
    big = tmp_path / "big.md"
    big.write_text("a" * (1024 * 1024 + 1))
    assert_one_line_error(cli("sign", "template", "add", "M", str(big)), 6, "over 1 MB")
    assert _count(store_path) == 0
