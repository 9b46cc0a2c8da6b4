"""`sempi doc`: folder trees, documents, access through the work group, the
backlog import (mapping, dedup, resume, unreadable files, dry run)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3

import pytest

from tests.conftest import ADMIN_EMAIL, actor, piva, store_digest
from tests.helpers import (
    CREATOR,
    DOER,
    EXTERNAL,
    OPERATOR,
    OUTSIDER,
    assert_one_line_error,
    data,
    ok,
    one,
)

OTHER_OPERATOR, OTHER_EXTERNAL = "op@bianchi.test", "ext@beta.test"
DEFAULT = [
    "Anagrafica",
    "Contabilità",
    "IVA",
    "F24",
    "Dichiarazioni",
    "Dipendenti",
    "Corrispondenza",
]
AUDITED = ("audit_log",)  # a refusal is recorded: the only change a refused command makes


def count(db: sqlite3.Connection, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def alfa(db, clock, org, people) -> str:
    """Alfa with the default tree; outsiders: an operator of another practice (in a work
    group there) and an external user of Beta."""
    from sempi_cli.services.documents.folders import FolderService

    bianchi = org.practice("Studio Bianchi")
    org.user(OTHER_OPERATOR, "Operatore Bianchi", "studio-operator", studio=bianchi)
    gamma = org.client("Gamma Srl", bianchi, 3)
    org.group(gamma, OTHER_OPERATOR)
    org.user(OTHER_EXTERNAL, "Esterno Beta", "external", client=people["other_client"])
    FolderService(db, clock, org.admin).create_default_tree(people["client"])
    return str(people["client"])


def write(path, content: bytes | str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def folders(cli, client: str, as_user: str = CREATOR) -> dict[str, dict]:
    rows = data(cli("doc", "folder", "list", "--client", client, "--json", as_user=as_user))
    return {row["path"]: row for row in rows}


def docs(cli, client: str, *args: str, as_user: str = CREATOR) -> list[dict]:
    return data(cli("doc", "list", "--client", client, "--json", *args, as_user=as_user))


# --- folders -----------------------------------------------------------------------------


def test_the_default_tree_is_made_once_and_completed_later(db, clock, alfa, cli):
    from sempi_cli.services.documents.folders import FolderService, default_paths

    assert default_paths(db) == DEFAULT
    assert list(folders(cli, alfa)) == DEFAULT  # in the setting's order
    service = FolderService(db, clock, actor(db, CREATOR))
    again = service.create_default_tree(int(alfa))
    assert [f["path"] for f in again] == DEFAULT and not any(f["created"] for f in again)
    ok(
        cli(
            "config",
            "set",
            "documents.default_folders",
            "iva / Liquidazioni, Nuova",
            as_user=ADMIN_EMAIL,
        )
    )
    assert default_paths(db) == ["iva/Liquidazioni", "Nuova"]
    made = service.create_default_tree(int(alfa))
    assert [(f["path"], f["created"]) for f in made] == [
        ("IVA", False), ("IVA/Liquidazioni", True), ("Nuova", True)
    ]  # fmt: skip


def test_the_default_tree_joins_the_callers_transaction(db, clock, people):
    from sempi_cli.errors import NotFound, PermissionDenied
    from sempi_cli.services.documents.folders import FolderService

    service = FolderService(db, clock, actor(db, ADMIN_EMAIL))
    with pytest.raises(ZeroDivisionError), service.transaction():
        assert len(service.create_default_tree(people["client"])) == 7
        1 / 0  # noqa: B018 - the caller fails after the tree was made
    assert count(db, "doc_folders") == 0
    with pytest.raises(NotFound):
        FolderService(db, clock, actor(db, OUTSIDER)).create_default_tree(people["client"])
    with pytest.raises(PermissionDenied):
        FolderService(db, clock, actor(db, EXTERNAL)).create_default_tree(people["client"])
    assert count(db, "doc_folders") == 0


def test_the_bulk_default_trees_equal_one_at_a_time(db, clock, people, cli):
    from sempi_cli.services.documents.folders import FolderService, create_default_trees
    from sempi_cli.store import write_transaction

    ok(
        cli(
            "config",
            "set",
            "documents.default_folders",
            "IVA/Liquidazioni, F24, Iva/Registri",
            as_user=ADMIN_EMAIL,
        )
    )
    with write_transaction(db):
        assert create_default_trees(db, [people["other_client"]], "2026-11-16T09:30:00+00:00") == 4
    made = FolderService(db, clock, actor(db, ADMIN_EMAIL)).create_default_tree(people["client"])
    assert [f["path"] for f in made] == ["IVA", "IVA/Liquidazioni", "F24", "IVA/Registri"]
    bulk = folders(cli, str(people["other_client"]), as_user=ADMIN_EMAIL)
    single = folders(cli, str(people["client"]), as_user=ADMIN_EMAIL)
    assert list(bulk) == list(single) == ["IVA", "IVA/Liquidazioni", "IVA/Registri", "F24"]


def test_folder_commands(cli, alfa, store_path):
    added = data(cli("doc", "folder", "add", "--client", alfa, "iva/Liquidazioni", "--json"))
    assert (added["path"], added["created"]) == ("IVA/Liquidazioni", 1)
    before = store_digest(store_path)
    bad = [
        (["add", "--client", alfa, "IVA/2024/Q1"], 3, "no folder 'IVA/2024'"),
        (["add", "--client", alfa, "contabilità"], 4, "already has"),
        (["add", "--client", alfa, "CONTABILITÀ"], 4, "already has"),
        (["add", "--client", alfa, "a\\b"], 6, "PATH"),
        (["add", "--client", alfa, "IVA/.."], 6, "PATH"),
        (["add", "--client", alfa, "x" * 65], 6, "longer than 64"),
        (["add", "--client", "999999", "Nuova"], 3, "client 999999 not found"),
        (["rename", "--client", alfa, "Nessuna", "Altra"], 3, "has no folder 'Nessuna'"),
        (["rename", "--client", alfa, "IVA", "f24"], 4, "'F24' is already there"),
        (["rename", "--client", alfa, "IVA", "a/b"], 6, "NEW_NAME"),
        (["remove", "--client", alfa, "IVA"], 5, "not empty (1 sub-folder(s), 0 document(s))"),
        (["remove", "--client", alfa, "IVA", "--recursive"], 2, "confirmation needed"),
        (["remove", "--client", alfa, "Nessuna"], 3, "has no folder"),
    ]
    for args, code, text in bad:
        assert text in assert_one_line_error(cli("doc", "folder", *args), code), args
    assert store_digest(store_path) == before
    tree = ok(cli("doc", "folder", "list", "--client", alfa)).stdout.splitlines()
    ids = folders(cli, alfa)
    width = max(len(str(f["id"])) for f in ids.values())
    assert tree[2] == f"{ids['IVA']['id']:>{width}}  IVA"
    assert tree[3] == f"{ids['IVA/Liquidazioni']['id']:>{width}}    Liquidazioni"
    ok(cli("doc", "folder", "add", "--client", alfa, "IVA/2024/Q1", "--parents"))
    renamed = data(
        cli("doc", "folder", "rename", "--client", alfa, "iva/2024", "Anno 2024", "--json")
    )
    assert (renamed["path"], renamed["old_path"]) == ("IVA/Anno 2024", "IVA/2024")
    by_id = data(
        cli(
            "doc",
            "folder",
            "rename",
            "--client",
            alfa,
            str(ids["F24"]["id"]),
            "Deleghe F24",
            "--json",
        )
    )
    assert by_id["path"] == "Deleghe F24"  # a folder by id
    assert "IVA/Anno 2024/Q1" in folders(cli, alfa)
    ok(cli("doc", "folder", "remove", "--client", alfa, "IVA/Anno 2024/Q1"))  # empty
    dry = data(cli("doc", "folder", "remove", "--client", alfa, "IVA", "-r", "--dry-run", "--json"))
    assert (dry["folders"], dry["documents"]) == (3, 0) and "IVA/Anno 2024" in folders(cli, alfa)
    ok(cli("doc", "folder", "remove", "--client", alfa, "IVA", "-r", "--yes"))
    assert not any(path.startswith("IVA") for path in folders(cli, alfa))


def test_removing_a_folder_keeps_its_documents_as_removed(cli, alfa, tmp_path, db):
    ok(cli("doc", "folder", "add", "--client", alfa, "IVA/2025/Q1", "--parents"))
    top = write(tmp_path / "a" / "registro.pdf", "registro")
    deep = write(tmp_path / "b" / "q1.pdf", "q1")
    ok(cli("doc", "add", top, "--client", alfa, "--folder", "IVA"))
    ok(cli("doc", "add", deep, "--client", alfa, "--folder", "iva/2025/q1"))
    assert [d["name"] for d in docs(cli, alfa, "--folder", "IVA")] == ["registro.pdf"]
    assert [d["folder"] for d in docs(cli, alfa, "--folder", "IVA", "-r")] == ["IVA", "IVA/2025/Q1"]
    counted = {p: f["documents"] for p, f in folders(cli, alfa).items() if p.startswith("IVA")}
    assert counted == {"IVA": 1, "IVA/2025": 0, "IVA/2025/Q1": 1}
    assert_one_line_error(
        cli("doc", "folder", "remove", "--client", alfa, "IVA/2025/Q1"), 5, "1 document(s)"
    )
    gone = data(cli("doc", "folder", "remove", "--client", alfa, "iva", "-r", "--yes", "--json"))
    assert (gone["folders"], gone["documents"]) == (3, 2)
    removed = docs(cli, alfa, "--removed")
    assert [(d["folder"], d["folder_id"], bool(d["removed_at"])) for d in removed] == [
        ("IVA", None, True), ("IVA/2025/Q1", None, True)
    ]  # fmt: skip
    assert count(db, "attachments") == 2  # contents are kept
    ok(cli("doc", "folder", "add", "--client", alfa, "IVA"))  # the name is free again
    assert docs(cli, alfa, "--folder", "IVA") == []


# --- documents ---------------------------------------------------------------------------


def test_add_list_show_get_move_remove(cli, alfa, tmp_path, db, monkeypatch):
    visura = write(tmp_path / "in" / "visura camerale.pdf", os.urandom(70_000))
    statuto = write(tmp_path / "in" / "statuto.pdf", b"statuto")
    added = data(
        cli("doc", "add", visura, statuto, "--client", alfa, "--folder", "anagrafica", "--json")
    )
    assert [(d["name"], d["folder"], d["action"]) for d in added] == [
        ("visura camerale.pdf", "Anagrafica", "added"), ("statuto.pdf", "Anagrafica", "added")
    ]  # fmt: skip
    visura_id, statuto_id = (d["id"] for d in added)
    listed = docs(cli, alfa)
    assert [(d["folder"], d["name"], d["size"]) for d in listed] == [
        ("Anagrafica", "statuto.pdf", 7), ("Anagrafica", "visura camerale.pdf", 70_000)
    ]  # fmt: skip
    shown = data(cli("doc", "show", str(visura_id), "--json"))
    assert shown["sha256"] == hashlib.sha256(open(visura, "rb").read()).hexdigest()
    assert shown["added_by"] == ADMIN_EMAIL
    monkeypatch.chdir(tmp_path)
    ok(cli("doc", "get", str(visura_id)))  # by default: its own name, here
    back = tmp_path / "visura camerale.pdf"
    assert back.read_bytes() == open(visura, "rb").read() and back.stat().st_mode & 0o777 == 0o600
    assert_one_line_error(cli("doc", "get", str(visura_id)), 4, "already exists")
    assert ok(cli("doc", "get", str(statuto_id), "-o", "-")).stdout_bytes == b"statuto"
    ok(cli("doc", "move", str(statuto_id), "--folder", "Corrispondenza"))
    assert docs(cli, alfa, "--folder", "corrispondenza")[0]["name"] == "statuto.pdf"
    removed = data(cli("doc", "remove", str(statuto_id), "--json"))
    assert removed["removed_at"] and removed["folder"] == "Corrispondenza"
    assert [d["id"] for d in docs(cli, alfa)] == [visura_id]
    assert [d["id"] for d in docs(cli, alfa, "--removed")] == [visura_id, statuto_id]
    assert_one_line_error(cli("doc", "get", str(statuto_id), "-o", "-"), 5, "was removed")
    assert_one_line_error(cli("doc", "remove", str(statuto_id)), 5, "was removed")
    # the same name may be used again once the old one is removed
    ok(cli("doc", "add", statuto, "--client", alfa, "--folder", "Corrispondenza"))
    assert count(db, "attachments") == 2 and count(db, "documents") == 3


def test_bad_input_changes_nothing(cli, alfa, tmp_path, store_path):
    good = write(tmp_path / "fattura.pdf", "fattura")
    other = write(tmp_path / "sub" / "fattura.pdf", "altra")
    ok(cli("doc", "add", good, "--client", alfa, "--folder", "IVA"))
    before = store_digest(store_path)
    cases = [
        ([str(tmp_path / "manca.pdf")], ["--folder", "IVA"], 6, "no file"),
        (
            [good, str(tmp_path / "manca.pdf")],
            ["--folder", "F24"],
            6,
            "manca.pdf",
        ),  # all or nothing
        ([str(tmp_path / "sub")], ["--folder", "IVA"], 6, "is a folder"),
        ([good], ["--folder", "Nessuna"], 3, "has no folder 'Nessuna'"),
        ([good], ["--folder", "IVA/Nessuna"], 3, "has no folder"),
        ([good], ["--folder", "IVA"], 4, "already has a document named 'fattura.pdf'"),
        ([good, other], ["--folder", "F24"], 6, "the same name"),
    ]
    for files, options, code, text in cases:
        result = cli("doc", "add", *files, "--client", alfa, *options)
        assert text in assert_one_line_error(result, code), (files, options)
    assert_one_line_error(
        cli("doc", "add", good, "--client", "999", "--folder", "IVA"), 3, "not found"
    )
    for args in (
        ["show", "999"],
        ["get", "999", "-o", "-"],
        ["move", "999", "--folder", "IVA"],
        ["remove", "999"],
    ):
        assert_one_line_error(cli("doc", *args), 3, "document 999 not found")
    assert_one_line_error(cli("doc", "list", "--client", alfa, "--folder", "Nessuna"), 3)
    assert_one_line_error(cli("doc", "list", "--client", "999"), 3)
    assert_one_line_error(cli("doc", "folder", "list", "--client", "999"), 3)
    document = str(docs(cli, alfa)[0]["id"])
    assert_one_line_error(cli("doc", "move", document, "--folder", "Nessuna"), 3, "no folder")
    assert_one_line_error(cli("doc", "get", document, "-o", good), 4, "already exists")
    missing_dir = str(tmp_path / "manca" / "x.pdf")
    assert_one_line_error(cli("doc", "get", document, "-o", missing_dir), 6, "does not exist")
    assert_one_line_error(cli("doc", "add", "--client", alfa, "--folder", "IVA"), 2)  # no FILES
    assert store_digest(store_path) == before


def test_replace_keeps_the_old_one_as_removed(cli, alfa, tmp_path, db):
    path = tmp_path / "bilancio.pdf"
    first = data(
        cli("doc", "add", write(path, "v1"), "--client", alfa, "--folder", "IVA", "--json")
    )
    same = data(
        cli("doc", "add", str(path), "--client", alfa, "--folder", "IVA", "--replace", "--json")
    )
    assert same[0]["action"] == "unchanged" and same[0]["id"] == first[0]["id"]
    new = data(
        cli(
            "doc",
            "add",
            write(path, "v2"),
            "--client",
            alfa,
            "--folder",
            "IVA",
            "--replace",
            "--json",
        )
    )
    assert new[0]["action"] == "replaced"
    assert [d["id"] for d in docs(cli, alfa)] == [new[0]["id"]]
    old = data(cli("doc", "show", str(first[0]["id"]), "--json"))
    assert old["removed_at"] is not None
    taken = write(tmp_path / "x" / "bilancio.pdf", "altro")
    ok(cli("doc", "add", taken, "--client", alfa, "--folder", "F24"))
    moved = docs(cli, alfa, "--folder", "F24")[0]["id"]
    assert_one_line_error(
        cli("doc", "move", str(moved), "--folder", "IVA"), 4, "already has a document"
    )


def test_size_limit(cli, alfa, tmp_path, store_path):
    ok(cli("config", "set", "documents.max_file_mb", "1", as_user=ADMIN_EMAIL))
    big = write(tmp_path / "scansione.pdf", b"x" * (1024 * 1024 + 1))
    small = write(tmp_path / "ok.pdf", b"x" * (1024 * 1024))
    before = store_digest(store_path)
    error = assert_one_line_error(
        cli("doc", "add", small, big, "--client", alfa, "--folder", "IVA"), 5
    )
    assert (
        "scansione.pdf is 1.0 MB, over the limit of 1 MB" in error
        and "documents.max_file_mb" in error
    )
    assert store_digest(store_path) == before
    ok(cli("doc", "add", small, "--client", alfa, "--folder", "IVA"))


def test_one_blob_for_a_document_and_a_checklist_file(cli, alfa, tmp_path, db):
    payload = os.urandom(5000)
    source = write(tmp_path / "ricevuta.pdf", payload)
    task = str(one(cli, "Liquidazione IVA", "-r", DOER)["id"])
    item = ok(cli("checklist", "add", task, "Ricevuta", as_user=CREATOR)).stdout.strip()
    ok(cli("checklist", "file", "add", item, source, as_user=CREATOR))
    ok(cli("doc", "add", source, "--client", alfa, "--folder", "F24"))
    ok(cli("doc", "add", source, "--client", alfa, "--folder", "IVA"))
    assert count(db, "attachments") == 1
    ok(cli("checklist", "file", "remove", item, "ricevuta.pdf", as_user=CREATOR))  # the link goes
    assert count(db, "attachments") == 1  # ... the documents keep the content
    ok(cli("checklist", "remove", item, "--yes", as_user=CREATOR))
    document = docs(cli, alfa)[0]["id"]
    assert ok(cli("doc", "get", str(document), "-o", "-")).stdout_bytes == payload


# --- who sees what -----------------------------------------------------------------------


def test_visibility_of_every_read_path(cli, alfa, tmp_path, store_path):
    secret = b"contenuto riservato di Alfa"
    doc = data(
        cli(
            "doc",
            "add",
            write(tmp_path / "cu.pdf", secret),
            "--client",
            alfa,
            "--folder",
            "IVA",
            "--json",
        )
    )
    doc_id = str(doc[0]["id"])
    reads = [
        ["doc", "folder", "list", "--client", alfa],
        ["doc", "list", "--client", alfa],
        ["doc", "list", "--client", alfa, "--folder", "IVA"],
        ["doc", "show", doc_id],
        ["doc", "get", doc_id, "-o", "-"],
        ["doc", "get", doc_id, "-o", str(tmp_path / "leak.pdf")],
    ]
    before = store_digest(store_path, ignore=AUDITED)
    for outsider in (OUTSIDER, OTHER_OPERATOR, OTHER_EXTERNAL):
        for args in reads:
            result = cli(*args, as_user=outsider)
            assert "not found" in assert_one_line_error(result, 3), (outsider, args)
            assert secret not in result.stdout_bytes
        writes = [
            ["doc", "add", str(tmp_path / "cu.pdf"), "--client", alfa, "--folder", "F24"],
            ["doc", "move", doc_id, "--folder", "F24"],
            ["doc", "remove", doc_id],
            ["doc", "folder", "add", "--client", alfa, "Nuova"],
            ["doc", "import", str(tmp_path), "--client", alfa],
        ]
        for args in writes:
            assert_one_line_error(cli(*args, as_user=outsider), 3)
    assert not (tmp_path / "leak.pdf").exists()
    assert store_digest(store_path, ignore=AUDITED) == before
    # (The external user's first download writes its read receipt: tests/test_notify_events.py.)
    for insider in (CREATOR, OPERATOR, EXTERNAL, ADMIN_EMAIL):
        assert ok(cli("doc", "get", doc_id, "-o", "-", as_user=insider)).stdout_bytes == secret
        assert [d["name"] for d in docs(cli, alfa, as_user=insider)] == ["cu.pdf"]


def test_who_may_change_documents(cli, alfa, tmp_path, store_path):
    mine = write(tmp_path / "dal cliente.pdf", "caricato dal cliente")
    added = data(
        cli(
            "doc",
            "add",
            mine,
            "--client",
            alfa,
            "--folder",
            "Corrispondenza",
            "--json",
            as_user=EXTERNAL,
        )
    )
    assert added[0]["added_by"] == EXTERNAL  # an external user adds to their own client
    doc_id = str(added[0]["id"])
    before = store_digest(store_path, ignore=AUDITED)
    for args in (
        ["doc", "move", doc_id, "--folder", "IVA"],
        ["doc", "remove", doc_id],
        ["doc", "folder", "add", "--client", alfa, "Nuova"],
        ["doc", "folder", "rename", "--client", alfa, "IVA", "Iva"],
        ["doc", "folder", "remove", "--client", alfa, "F24"],
        ["doc", "import", str(tmp_path), "--client", alfa],
    ):
        assert_one_line_error(cli(*args, as_user=EXTERNAL), 8)
    assert store_digest(store_path, ignore=AUDITED) == before
    ok(cli("doc", "move", doc_id, "--folder", "IVA", as_user=OPERATOR))  # a work group member
    ok(cli("doc", "remove", doc_id, as_user=CREATOR))  # the responsible


# --- import ------------------------------------------------------------------------------


def run_import(cli, tree, client: str, *args: str, code: int = 0, as_user: str = CREATOR) -> dict:
    result = cli("doc", "import", str(tree), "--client", client, "--json", *args, as_user=as_user)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


COUNTS = (
    "files_seen",
    "imported",
    "duplicates",
    "skipped",
    "conflicts",
    "refused",
    "unreadable",
    "ignored",
)


def counts(summary: dict) -> dict:
    found = {k: summary[k] for k in COUNTS if summary[k]}
    assert summary["files_seen"] == sum(summary[k] for k in COUNTS[1:])  # each file counted once
    return found


@pytest.fixture
def backlog(tmp_path):
    root = tmp_path / "archivio"
    write(root / "iva" / "2023" / "liquidazione-q1.pdf", "q1")
    write(root / "iva" / "2023" / "liquidazione-q2.pdf", "q2")
    write(root / "IVA" / "registro.pdf", "registro")  # a second spelling of the same folder
    write(root / "Contabilita" / "bilancio.pdf", "bilancio")  # no accent: still Contabilità
    write(root / "Contabilita" / "copia bilancio.pdf", "bilancio")  # same content
    write(root / "Contabilita" / ".DS_Store", "junk")
    write(root / "Varie" / "nota.txt", "nota")  # no such folder
    write(root / "leggimi.txt", "leggimi")  # not in a folder
    return root


def test_import_maps_directories_to_folders_by_name(cli, alfa, backlog, db):
    result = cli("doc", "import", str(backlog), "--client", alfa, "--json", as_user=CREATOR)
    assert result.stderr == ""  # no terminal: no progress bar, only the summary
    summary = json.loads(ok(result).stdout)
    assert counts(summary) == {"files_seen": 6, "imported": 4, "duplicates": 1, "ignored": 1}
    assert summary["unmapped"] == ["Varie/", "leggimi.txt"] and summary["folders_created"] == 1
    assert summary["bytes_read"] == 2 + 2 + 8 + 8 + 8 and summary["bytes_stored"] == 2 + 2 + 8 + 8
    assert sorted((d["folder"], d["name"]) for d in docs(cli, alfa)) == [
        ("Contabilità", "bilancio.pdf"), ("Contabilità", "copia bilancio.pdf"),
        ("IVA", "registro.pdf"), ("IVA/2023", "liquidazione-q1.pdf"),
        ("IVA/2023", "liquidazione-q2.pdf"),
    ]  # fmt: skip
    assert count(db, "attachments") == 4
    again = run_import(cli, backlog, alfa)  # a re-run: everything is already in
    assert counts(again) == {"files_seen": 6, "skipped": 5, "ignored": 1}
    assert again["folders_created"] == 0 and again["bytes_stored"] == 0
    table = ok(cli("doc", "import", str(backlog), "--client", alfa)).stdout
    assert "skipped " in table and "Varie/, leggimi.txt" in table


def test_import_with_a_mapping_file(cli, alfa, backlog, tmp_path, store_path):
    mapping = tmp_path / "mappa.csv"
    mapping.write_text(
        "source;folder\nVarie;Corrispondenza\n.;Anagrafica\niva/2023;F24\n", encoding="utf-8"
    )
    summary = run_import(cli, backlog, alfa, "--mapping", str(mapping))
    assert summary["unmapped"] == [] and summary["folders_created"] == 0
    placed = {d["name"]: d["folder"] for d in docs(cli, alfa)}
    assert placed["nota.txt"] == "Corrispondenza" and placed["leggimi.txt"] == "Anagrafica"
    assert placed["liquidazione-q1.pdf"] == "F24" and placed["registro.pdf"] == "IVA"
    before = store_digest(store_path)
    for text, error in (
        ("Varie;Nessuna\n", "line 1: client"),
        ("source,folder\nVarie,IVA\nvarie,F24\n", "line 3: 'varie' is mapped twice"),
        ("Varie\n", "line 1: expected two columns"),
        ("../fuori;IVA\n", "leaves the tree"),
        ("Varie;" + "x" * 200_000 + "\n", "line 1: not CSV"),  # was an internal csv.Error
    ):
        mapping.write_text(text, encoding="utf-8")
        assert_one_line_error(
            cli("doc", "import", str(backlog), "--client", alfa, "-m", str(mapping)), 6, error
        )
    missing = cli("doc", "import", str(backlog), "--client", alfa, "-m", str(tmp_path / "none.csv"))
    assert_one_line_error(missing, 6, "no file")
    assert store_digest(store_path) == before


def test_import_refuses_a_tree_where_nothing_maps(cli, alfa, tmp_path, store_path):
    write(tmp_path / "scatola" / "a" / "x.pdf", "x")
    write(tmp_path / "scatola" / "b" / "y.pdf", "y")
    before = store_digest(store_path)
    error = assert_one_line_error(
        cli("doc", "import", str(tmp_path / "scatola"), "--client", alfa), 6
    )
    assert "nothing in" in error and "a/, b/" in error and "--mapping" in error
    assert_one_line_error(
        cli("doc", "import", str(tmp_path / "none"), "--client", alfa), 6, "does not exist"
    )
    file = write(tmp_path / "file.pdf", "x")
    assert_one_line_error(cli("doc", "import", file, "--client", alfa), 6, "is not a folder")
    assert store_digest(store_path) == before


def test_import_dedups_against_everything_stored(cli, alfa, backlog, tmp_path, db):
    ok(cli("doc", "add", write(tmp_path / "q1.pdf", "q1"), "--client", alfa, "--folder", "F24"))
    write(backlog / "F24" / "copia-q1.pdf", "q1")
    write(backlog / "F24" / "q1.pdf", "diverso")  # the name is taken by other content
    summary = run_import(cli, backlog, alfa, code=12)
    assert counts(summary) == {
        "files_seen": 8, "imported": 3, "duplicates": 3, "conflicts": 1, "ignored": 1
    }  # fmt: skip
    assert [p["path"] for p in summary["problems"] if p["kind"] == "conflict"] == ["F24/q1.pdf"]
    assert count(db, "attachments") == 4  # q1, q2, registro, bilancio: each once


def test_import_resumes_after_an_interruption(cli, alfa, backlog, db, clock, monkeypatch):
    from sempi_cli.services import content as files
    from sempi_cli.services.documents import backlog as doc_import
    from sempi_cli.services.documents.backlog import DocImport

    real, calls = files.read_content, []

    def failing(path, limit, **options):
        calls.append(path)
        if len(calls) == 4:
            raise RuntimeError("killed")
        return real(path, limit, **options)

    monkeypatch.setattr(doc_import, "BATCH_FILES", 2)
    monkeypatch.setattr(doc_import, "read_content", failing)
    with pytest.raises(RuntimeError):
        DocImport(db, clock, actor(db, CREATOR)).run(str(backlog), int(alfa))
    assert count(db, "documents") == 2  # the first batch stays, the second is rolled back
    monkeypatch.setattr(doc_import, "read_content", real)
    summary = run_import(cli, backlog, alfa)
    assert counts(summary) == {"files_seen": 6, "skipped": 2, "imported": 3, "ignored": 1}
    assert len(docs(cli, alfa)) == 5


def test_an_import_stops_when_its_client_is_removed_midway(
    cli, alfa, backlog, db, clock, monkeypatch
):
    from sempi_cli.errors import RuleViolation
    from sempi_cli.services.documents import backlog as doc_import
    from sempi_cli.services.documents.backlog import DocImport

    real = doc_import._Run._batch

    def removing_after_the_first_batch(run, files, position, outcomes):
        done = real(run, files, position, outcomes)
        if position == 0:  # between the two transactions, as another user would
            ok(cli("client", "remove", alfa, "--yes"))
        return done

    monkeypatch.setattr(doc_import, "BATCH_FILES", 2)
    monkeypatch.setattr(doc_import._Run, "_batch", removing_after_the_first_batch)
    with pytest.raises(RuleViolation, match="removed"):
        DocImport(db, clock, actor(db, CREATOR)).run(str(backlog), int(alfa))
    assert count(db, "documents") == 2  # the first batch only


def test_import_reports_unreadable_and_too_big_files_and_goes_on(cli, alfa, backlog, monkeypatch):
    from sempi_cli.services.documents import backlog as doc_import

    ok(cli("config", "set", "documents.max_file_mb", "1", as_user=ADMIN_EMAIL))
    write(backlog / "F24" / "enorme.pdf", b"x" * (1024 * 1024 + 1))
    os.symlink(backlog / "manca.pdf", backlog / "F24" / "collegamento.pdf")  # a link to nothing
    vanishing = write(backlog / "F24" / "sparisce.pdf", "presto")
    real = doc_import.read_content

    def vanish_first(path, limit, **options):
        if path == vanishing and os.path.exists(path):
            os.unlink(path)  # gone between the walk and the read
        return real(path, limit, **options)

    monkeypatch.setattr(doc_import, "read_content", vanish_first)
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        os.chmod(write(backlog / "F24" / "chiuso.pdf", "chiuso"), 0)
    result = cli("doc", "import", str(backlog), "--client", alfa, "--json")
    summary = json.loads(result.stdout)
    assert result.exit_code == 12 and result.stderr.startswith("Error: ")
    unreadable = 3 if os.geteuid() != 0 else 2
    assert "1 refused" in result.stderr and f"{unreadable} unreadable" in result.stderr
    assert counts(summary)["imported"] == 4 and summary["refused"] == 1
    problems = {p["path"]: p["problem"] for p in summary["problems"]}
    assert "over the limit of 1 MB" in problems["F24/enorme.pdf"]
    assert "link to nothing" in problems["F24/collegamento.pdf"]
    assert "no such file" in problems["F24/sparisce.pdf"]


def test_import_dry_run_changes_nothing_and_says_the_same(cli, alfa, backlog, store_path):
    ok(
        cli(
            "doc",
            "add",
            write(backlog.parent / "r.pdf", "registro"),
            "--client",
            alfa,
            "--folder",
            "F24",
        )
    )
    before = store_digest(store_path)
    dry = run_import(cli, backlog, alfa, "--dry-run")
    assert store_digest(store_path) == before
    real = run_import(cli, backlog, alfa)
    assert {k: v for k, v in dry.items() if k != "dry_run"} == {
        k: v for k, v in real.items() if k != "dry_run"
    }
    assert dry["folders_created"] == 1 and dry["duplicates"] == 2


def test_large_files_stream_in_and_out(cli, alfa, tmp_path, db, monkeypatch):
    from sempi_cli.services import content as files

    monkeypatch.setattr(files, "WHOLE_READ", 4096)  # "large" from 4 KB up
    monkeypatch.setattr(files, "CHUNK", 1000)
    payload = os.urandom(50_000)
    write(tmp_path / "tree" / "IVA" / "grande.pdf", payload)
    write(tmp_path / "tree" / "IVA" / "copia grande.pdf", payload)
    summary = run_import(cli, tmp_path / "tree", alfa)
    assert (summary["imported"], summary["duplicates"]) == (1, 1) and count(db, "attachments") == 1
    for document in docs(cli, alfa):
        assert ok(cli("doc", "get", str(document["id"]), "-o", "-")).stdout_bytes == payload


def test_a_file_that_grew_since_its_size_was_read_is_hashed_whole(tmp_path, monkeypatch):
    from sempi_cli.services import content as files

    path = write(tmp_path / "cresce.pdf", b"x" * 100)
    real = os.fstat

    def stale(fd):  # the size from before the last append
        info = real(fd)
        return os.stat_result((*info[:6], 60, *info[7:]))

    monkeypatch.setattr(files.os, "fstat", stale)
    content = files.read_content(path, 1000)
    assert (content.size, content.data) == (100, None)  # hashed only, streamed in later
    assert content.sha256 == hashlib.sha256(b"x" * 100).hexdigest()
    with pytest.raises(files.FileProblem, match="over the limit"):
        files.read_content(path, 80)


def test_short_reads_still_read_the_whole_file(tmp_path, monkeypatch):
    from sempi_cli.services import content as files

    path = write(tmp_path / "rete.pdf", b"0123456789abcdef")
    real = os.read
    monkeypatch.setattr(files.os, "read", lambda fd, n: real(fd, min(n, 4)))  # a slow mount
    content = files.read_content(path, 1000)
    assert content.data == b"0123456789abcdef"
    assert content.sha256 == hashlib.sha256(b"0123456789abcdef").hexdigest()


def test_read_ahead_keeps_order_and_its_memory_bound(tmp_path, monkeypatch):
    from sempi_cli.services.content import FileProblem
    from sempi_cli.services.documents import backlog as doc_import
    from sempi_cli.services.documents.backlog import ReadAhead
    from sempi_cli.services.documents.walk import Planned

    monkeypatch.setattr(doc_import, "READ_AHEAD_BYTES", 100)
    sizes = [30, 30, 30, 30, 250, 30, 30, 30]  # one alone over the whole budget
    files = [
        Planned(write(tmp_path / f"f{n}.pdf", b"x" * size), f"f{n}.pdf", ("IVA",), f"f{n}", size)
        for n, size in enumerate(sizes)
    ]
    os.unlink(files[2].path)
    reader = ReadAhead(files, 1000)
    seen = []
    with reader as outcomes:
        for outcome in outcomes:
            assert reader.ahead_bytes <= 100 or reader.queued == 5  # the big one, alone
            seen.append(outcome.reason if isinstance(outcome, FileProblem) else outcome.size)
    assert seen == [30, 30, "no such file (or a link to nothing)", 30, 250, 30, 30, 30]


def test_a_file_that_changes_while_streamed_in_leaves_nothing(
    db, clock, alfa, tmp_path, monkeypatch
):
    from sempi_cli.services import content as files
    from sempi_cli.store import write_transaction

    monkeypatch.setattr(files, "WHOLE_READ", 10)
    path = write(tmp_path / "mobile.pdf", b"a" * 100)
    content = files.read_content(path, 1000)
    write(tmp_path / "mobile.pdf", b"b" * 100)  # changed after it was hashed
    store = files.ContentStore(db, "2026-01-01T00:00:00+00:00")
    with pytest.raises(files.FileProblem, match="changed"), write_transaction(db):
        store.store(content)
    assert count(db, "attachments") == 0


# --- review fixes: links, rights, per-client counts, names, provenance, ids ---------------


def attachments_holding(db: sqlite3.Connection, content: bytes) -> int:
    digest = hashlib.sha256(content).hexdigest()
    return db.execute("SELECT count(*) FROM attachments WHERE sha256 = ?", (digest,)).fetchone()[0]


def test_import_follows_no_link_to_a_file(cli, alfa, tmp_path, db):
    secret = write(tmp_path / "altrove" / "environ", b"SEMPI_APP_PASSWORD=segreto")
    root = tmp_path / "archivio"
    write(root / "IVA" / "vero.pdf", "vero")
    os.symlink(secret, root / "IVA" / "environ.pdf")  # a link to a file anywhere
    os.symlink(tmp_path / "altrove", root / "IVA" / "altrove")  # a link to a folder
    summary = run_import(cli, root, alfa, code=12)
    assert counts(summary) == {"files_seen": 2, "imported": 1, "refused": 1}
    problems = {p["path"]: (p["kind"], p["problem"]) for p in summary["problems"]}
    assert problems["IVA/environ.pdf"] == (
        "refused", "a link: not followed (it could point outside the tree)"
    )  # fmt: skip
    assert problems["IVA/altrove/"][0] == "ignored"
    assert [d["name"] for d in docs(cli, alfa)] == ["vero.pdf"]
    assert attachments_holding(db, b"SEMPI_APP_PASSWORD=segreto") == 0
    # doc add of a path the user names keeps following it
    added = data(cli("doc", "add", str(root / "IVA" / "environ.pdf"), "--client", alfa,
                     "--folder", "F24", "--json"))  # fmt: skip
    assert added[0]["size"] == len(b"SEMPI_APP_PASSWORD=segreto")


def test_a_link_put_in_place_of_a_file_after_the_walk_is_not_read(
    cli, alfa, tmp_path, db, monkeypatch
):
    from sempi_cli.services import content as files
    from sempi_cli.services.documents import backlog as doc_import

    secret = write(tmp_path / "altrove" / "passwd", b"root:x:0:0")
    root = tmp_path / "archivio"
    swapped = write(root / "IVA" / "scambiato.pdf", "innocuo")
    real = doc_import.read_content

    def swap_first(path, limit, **options):
        if path == swapped and not os.path.islink(path):
            os.unlink(path)
            os.symlink(secret, path)  # between the walk and the read
        return real(path, limit, **options)

    monkeypatch.setattr(doc_import, "read_content", swap_first)
    summary = run_import(cli, root, alfa, code=12)
    assert summary["problems"] == [
        {"path": "IVA/scambiato.pdf", "kind": "unreadable", "problem": "a link: not followed"}
    ]
    assert attachments_holding(db, b"root:x:0:0") == 0
    with pytest.raises(files.FileProblem, match="a link: not followed"):
        files.read_content(swapped, 1000, follow_links=False)
    assert files.read_content(swapped, 1000).data == b"root:x:0:0"  # doc add follows


def test_replacing_takes_the_right_to_remove(cli, alfa, tmp_path, store_path):
    firm = write(tmp_path / "firm" / "bilancio.pdf", "bilancio vero")
    kept = data(cli("doc", "add", firm, "--client", alfa, "--folder", "IVA", "--json"))[0]
    forged = write(tmp_path / "ext" / "bilancio.pdf", "bilancio falso")
    before = store_digest(store_path, ignore=AUDITED)
    replace = ["doc", "add", forged, "--client", alfa, "--folder", "IVA", "--replace"]
    assert_one_line_error(cli(*replace, as_user=EXTERNAL), 8, "may not replace document")
    assert store_digest(store_path, ignore=AUDITED) == before
    assert [d["id"] for d in docs(cli, alfa)] == [kept["id"]]
    same = data(cli("doc", "add", firm, "--client", alfa, "--folder", "IVA", "--replace",
                    "--json", as_user=EXTERNAL))  # fmt: skip
    assert same[0]["action"] == "unchanged"  # nothing removed: allowed
    assert data(cli(*replace, "--json", as_user=OPERATOR))[0]["action"] == "replaced"


def test_import_counts_say_nothing_of_other_clients_files(cli, alfa, people, tmp_path, db):
    beta = str(people["other_client"])
    ok(cli("doc", "folder", "add", "--client", beta, "IVA", as_user=ADMIN_EMAIL))
    held = b"contratto riservato di Beta"
    ok(cli("doc", "add", write(tmp_path / "beta.pdf", held), "--client", beta, "--folder", "IVA",
           as_user=ADMIN_EMAIL))  # fmt: skip
    root = tmp_path / "archivio"
    write(root / "IVA" / "contratto.pdf", held)
    write(root / "IVA" / "copia contratto.pdf", held)  # an earlier file of the run has it
    write(root / "F24" / "f24.pdf", "f24")
    dry = run_import(cli, root, alfa, "--dry-run")
    real = run_import(cli, root, alfa)
    for summary in (dry, real):
        assert counts(summary) == {"files_seen": 3, "imported": 2, "duplicates": 1}
        assert summary["bytes_stored"] == len(held) + 3
    assert attachments_holding(db, held) == 1  # one blob for both clients
    again = write(tmp_path / "alfa" / "ancora.pdf", held)
    ok(cli("doc", "add", again, "--client", alfa, "--folder", "F24"))
    write(root / "F24" / "di nuovo.pdf", held)
    assert counts(run_import(cli, root, alfa)) == {"files_seen": 4, "skipped": 3, "duplicates": 1}


def test_a_directory_name_that_is_not_utf8_is_refused_and_counted(cli, alfa, tmp_path, db):
    root = tmp_path / "archivio"
    write(root / "IVA" / "ok.pdf", "ok")
    latin1 = os.path.join(os.fsencode(root), b"IVA", b"caff\xe8")  # from an old Samba share
    os.makedirs(latin1)
    with open(os.path.join(latin1, b"fattura.pdf"), "wb") as fh:
        fh.write(b"fattura")
    for args in (["--dry-run"], [], []):  # the same answer, every time
        summary = run_import(cli, root, alfa, *args, code=12)
        assert summary["refused"] == 1 and summary["files_seen"] == 2
        [problem] = summary["problems"]
        assert problem["path"] == "IVA/caff?/" and "not valid UTF-8" in problem["problem"]
    assert count(db, "doc_folders") == len(DEFAULT)
    from sempi_cli.errors import InvalidData
    from sempi_cli.services.documents.folders import clean_folder_name

    with pytest.raises(InvalidData, match="PATH: .* is not valid UTF-8"):
        clean_folder_name(os.fsdecode(b"caff\xe8"))


def test_files_under_a_skipped_directory_are_counted(cli, alfa, tmp_path, monkeypatch):
    from sempi_cli.services.documents import backlog as doc_import

    root = tmp_path / "archivio"
    write(root / "IVA" / "ok.pdf", "ok")
    write(root / "IVA" / "chiuso" / "a.pdf", "a")
    write(root / "IVA" / ("x" * 70) / "b.pdf", "b")  # too long for a folder name
    write(root / "IVA" / "Q1\x1b[31m" / "c.pdf", "c")  # a control character
    closed, real = str(root / "IVA" / "chiuso"), os.scandir

    def scandir(path="."):
        if os.fspath(path) == closed:  # root reads a mode-000 directory anyway
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(doc_import.os, "scandir", scandir)
    result = cli("doc", "import", str(root), "--client", alfa, "--json", as_user=CREATOR)
    summary = json.loads(result.stdout)
    assert result.exit_code == 12 and "2 refused, 1 unreadable" in result.stderr
    assert counts(summary) == {"files_seen": 4, "imported": 1, "refused": 2, "unreadable": 1}
    kinds = {p["path"]: p["kind"] for p in summary["problems"]}
    assert kinds == {
        "IVA/chiuso/": "unreadable", f"IVA/{'x' * 70}/": "refused", "IVA/Q1\\x1b[31m/": "refused"
    }  # fmt: skip
    assert "\x1b" not in result.stdout + result.stderr


def test_a_sibling_of_a_mapped_directory_is_listed_as_unmapped(cli, alfa, tmp_path):
    root = tmp_path / "archivio"
    write(root / "2023" / "iva" / "a.pdf", "a")
    write(root / "2023" / "paghe" / "b.pdf", "b")
    mapping = tmp_path / "mappa.csv"
    mapping.write_text("2023/iva;IVA\n", encoding="utf-8")
    summary = run_import(cli, root, alfa, "--mapping", str(mapping))
    assert counts(summary) == {"files_seen": 1, "imported": 1}
    assert summary["unmapped"] == ["2023/paghe/"]


def test_a_rerun_brings_back_nothing_removed_or_moved(cli, alfa, backlog, tmp_path):
    run_import(cli, backlog, alfa)
    placed = {(d["folder"], d["name"]): d["id"] for d in docs(cli, alfa)}
    removed, moved = placed[("IVA", "registro.pdf")], placed[("Contabilità", "bilancio.pdf")]
    ok(cli("doc", "remove", str(removed)))
    ok(cli("doc", "move", str(moved), "--folder", "F24"))
    for args in (["--dry-run"], []):
        assert counts(run_import(cli, backlog, alfa, *args)) == {
            "files_seen": 6, "skipped": 5, "ignored": 1
        }  # fmt: skip
    now = sorted((d["folder"], d["name"]) for d in docs(cli, alfa))
    assert ("IVA", "registro.pdf") not in now and ("Contabilità", "bilancio.pdf") not in now
    assert ("F24", "bilancio.pdf") in now and len(now) == 4
    assert data(cli("doc", "show", str(removed), "--json"))["source"] == "IVA/registro.pdf"
    assert "Contabilita/bilancio.pdf" in ok(cli("doc", "show", str(moved))).stdout
    added = data(cli("doc", "add", write(tmp_path / "a.pdf", "a"), "--client", alfa,
                     "--folder", "F24", "--json"))[0]  # fmt: skip
    assert data(cli("doc", "show", str(added["id"]), "--json"))["source"] is None
    assert "source" not in ok(cli("doc", "show", str(added["id"]))).stdout


def test_a_removed_folders_id_is_never_given_again(cli, alfa, people, db):
    from sempi_cli.services.documents.folders import create_default_trees
    from sempi_cli.store import write_transaction

    gone = data(cli("doc", "folder", "add", "--client", alfa, "Temporanea", "--json"))["id"]
    ok(cli("doc", "folder", "remove", "--client", alfa, "Temporanea"))
    beta = str(people["other_client"])
    new = data(cli("doc", "folder", "add", "--client", beta, "IVA", "--json", as_user=ADMIN_EMAIL))
    assert new["id"] > gone
    ok(cli("doc", "folder", "remove", "--client", beta, "IVA", as_user=ADMIN_EMAIL))
    with write_transaction(db):
        create_default_trees(db, [people["other_client"]], "2026-11-16T09:30:00+00:00")
    assert min(f["id"] for f in folders(cli, beta, as_user=ADMIN_EMAIL).values()) > new["id"]


def test_m010_migrates_folders_and_documents_and_keeps_ids_unique(tmp_path, clock, monkeypatch):
    from sempi_cli.services.documents.folders import FolderService
    from sempi_cli.services.org.firm import create_store
    from sempi_cli.services.org.studios import StudioService
    from sempi_cli.store import migrations, open_store
    from tests.conftest import ADMIN_PASSWORD, Cli

    path = tmp_path / "m009" / "sempi.db"
    with monkeypatch.context() as before_m010:  # a store as the code before m010 made it
        before_m010.setattr(migrations, "STEPS", migrations.STEPS[:9])
        before_m010.setattr(migrations, "LATEST", 9)
        conn, _ = create_store(path, clock, "Studio", ADMIN_EMAIL, "Anna", ADMIN_PASSWORD)
        admin = actor(conn, ADMIN_EMAIL)
        studio = StudioService(conn, clock, admin).add("Studio Rossi")["id"]
        # The client as that schema holds it (today's ClientService writes m015's table).
        conn.execute(
            "INSERT INTO clients (studio_id, ragione_sociale, taxpayer_kind, partita_iva,"
            " created_at, updated_at) VALUES (?, 'Alfa', 'societa_capitali', ?, ?, ?)",
            (studio, piva(1), "2026-01-01", "2026-01-01"),
        )
        client = {"id": conn.execute("SELECT max(id) FROM clients").fetchone()[0]}
        folders_ = FolderService(conn, clock, admin)
        kept = folders_.add(client["id"], "IVA/2023", parents=True)["id"]
        gone = folders_.add(client["id"], "Temporanea")["id"]
        folders_.remove(client["id"], "Temporanea")  # the largest id, in the audit log only
        digest = hashlib.sha256(b"q1").hexdigest()
        conn.execute("INSERT INTO attachments (sha256, size, content, created_at)"
                     " VALUES (?, 2, x'7131', '2026-01-01')", (digest,))  # fmt: skip
        conn.execute(
            "INSERT INTO documents (client_id, folder_id, name, attachment_id, size, sha256,"
            " added_by, added_at) VALUES (?, ?, 'q1.pdf', 1, 2, ?, ?, '2026-01-01')",
            (client["id"], kept, digest, admin.id),
        )
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 9
        conn.close()
    conn = open_store(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST
    assert [tuple(r) for r in conn.execute("PRAGMA integrity_check")] == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    schema = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'doc_folders'").fetchone()[0]
    assert "AUTOINCREMENT" in schema
    names = {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'doc_folders'")
    }
    assert names == {
        "doc_folders", "doc_folders_sibling_name", "doc_folders_parent",
        "doc_folders_parent_same_client_insert", "doc_folders_parent_same_client_update",
    }  # fmt: skip
    row = conn.execute("SELECT folder_id, source FROM documents").fetchone()
    assert tuple(row) == (kept, None)
    conn.close()
    cli = Cli(path, clock)
    ok(cli("db", "check"))
    assert (
        data(cli("doc", "list", "--client", str(client["id"]), "--json"))[0]["folder"] == "IVA/2023"
    )
    assert (
        data(cli("doc", "folder", "add", "--client", str(client["id"]), "Nuova", "--json"))["id"]
        > gone
    )


def test_names_with_control_characters_are_refused(cli, alfa, tmp_path):
    evil = write(tmp_path / "in" / "fattura\x1b[2J.pdf", "fattura")
    error = assert_one_line_error(cli("doc", "add", evil, "--client", alfa, "--folder", "IVA"), 6)
    assert error.startswith("Error: FILES: ") and "control characters" in error
    assert "\x1b" not in error
    write(tmp_path / "archivio" / "IVA" / "fattura\x9b2J.pdf", "c1")  # a C1 control too
    write(tmp_path / "archivio" / "IVA" / "buona.pdf", "buona")
    result = cli("doc", "import", str(tmp_path / "archivio"), "--client", alfa, as_user=CREATOR)
    assert result.exit_code == 12 and "1 refused" in result.stderr
    assert "IVA/fattura\\x9b2J.pdf" in result.stdout and "\x9b" not in result.stdout
    assert_one_line_error(
        cli("doc", "folder", "add", "--client", alfa, "Bozze\x9b"), 6, "control characters"
    )


def test_who_added_a_document_shows_only_to_who_may_see_that_user(cli, alfa, tmp_path):
    added = data(cli("doc", "add", write(tmp_path / "visura.pdf", "visura"), "--client", alfa,
                     "--folder", "Anagrafica", "--json", as_user=ADMIN_EMAIL))[0]  # fmt: skip
    assert_one_line_error(cli("user", "show", ADMIN_EMAIL, as_user=EXTERNAL), 3)  # hidden from them
    assert docs(cli, alfa, as_user=EXTERNAL)[0]["added_by"] is None
    doc_id = str(added["id"])
    assert data(cli("doc", "show", doc_id, "--json", as_user=EXTERNAL))["added_by"] is None
    for args in (["doc", "list", "--client", alfa], ["doc", "show", doc_id]):
        out = ok(cli(*args, as_user=EXTERNAL)).stdout
        assert "(firm)" in out and ADMIN_EMAIL not in out
    assert docs(cli, alfa, as_user=CREATOR)[0]["added_by"] == ADMIN_EMAIL


def test_list_and_show_give_the_same_record(db, clock, cli, alfa, tmp_path):
    from sempi_cli.services.documents import documents
    from sempi_cli.services.documents.documents import DocumentService

    ok(cli("doc", "add", write(tmp_path / "a.pdf", "a"), "--client", alfa, "--folder", "IVA"))
    service = DocumentService(db, clock, actor(db, CREATOR))
    [listed] = service.list(int(alfa))
    assert listed == service.show(listed["id"])
    assert not hasattr(documents, "LIST_COLUMNS")


def test_a_full_disk_is_one_line_and_keeps_nothing(cli, alfa, tmp_path, store_path, monkeypatch):
    """SQLite's "database or disk is full" under `doc add` said "cannot rollback - no
    transaction is active"; now one line (exit 10) saying the disk is full, and the
    store as it was. A store capped at its current size stands in for a full disk."""
    import sempi_cli.store as store

    real_open = store.open_store

    def capped(path, **kw):
        conn = real_open(path, **kw)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(store, "open_store", capped)
    big = tmp_path / "bilancio.pdf"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    before = store_digest(store_path)
    line = assert_one_line_error(
        cli("doc", "add", str(big), "--client", alfa, "--folder", "IVA"),
        10,
        "disk holding the store is full",
    )
    assert "rollback" not in line
    assert store_digest(store_path) == before
