"""`sempi sign verify FILE` (services/signing/verify.py) and `sempi sign seal init`.

The requests are written here through the services that exist (render, the
certificate page, the seal, the evidence) and rows put straight into
sign_requests, so these tests stand on their own."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from sempi_cli.errors import InvalidData
from sempi_cli.services.signing import evidence
from sempi_cli.services.signing.certificate import certificate_page
from sempi_cli.services.signing.render import to_pdf
from sempi_cli.services.signing.seal import SealService, check_seal, seal
from sempi_cli.services.signing.verify import byte_range
from tests.conftest import ADMIN_EMAIL, NOW
from tests.helpers import assert_one_line_error, data, ok, task_people

EXT_ALFA, EXT_BETA = "ext@client.test", "ext@beta.test"
WHEN = NOW + timedelta(days=2)


def store_document(db: sqlite3.Connection, client: int, name: str, pdf: bytes) -> int:
    """A document of ``client`` holding ``pdf``, written as the request service will."""
    from sempi_cli.services.content import store_bytes

    sha = hashlib.sha256(pdf).hexdigest()
    folder = db.execute(
        "SELECT id FROM doc_folders WHERE client_id = ? ORDER BY id LIMIT 1", (client,)
    ).fetchone()
    if folder is None:
        folder_id = db.execute(
            "INSERT INTO doc_folders (client_id, name, name_key, created_at)"
            " VALUES (?, 'Firme', 'firme', ?) RETURNING id",
            (client, NOW.isoformat()),
        ).fetchone()[0]
    else:
        folder_id = folder[0]
    attachment = store_bytes(db, pdf, sha, NOW.isoformat())
    return int(
        db.execute(
            "INSERT INTO documents (client_id, folder_id, name, attachment_id, size, sha256,"
            " added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?) RETURNING id",
            (client, folder_id, name, attachment, len(pdf), sha, NOW.isoformat()),
        ).fetchone()[0]
    )


def make_request(db, clock, client: int, title: str, *, sealed: bool = True) -> dict:
    """A request of ``client`` rendered, stored, recorded and (``sealed``) completed:
    its document, its sealed file, their hashes, and its events."""
    text = f"# {title}\n\nIl cliente **accetta** l'incarico. Importo: 1.200 €."
    pdf = to_pdf(title, text, "markdown", footer=title, created_at=NOW)
    sha = hashlib.sha256(pdf).hexdigest()
    template = db.execute("SELECT id FROM sign_templates LIMIT 1").fetchone()
    if template is None:
        template = (
            db.execute(
                "INSERT INTO sign_templates (name, body, format, created_at, created_by)"
                " VALUES ('Incarico', ?, 'markdown', ?, 1) RETURNING id",
                (text, NOW.isoformat()),
            ).fetchone()[0],
        )
    document = store_document(db, client, f"{title}.pdf", pdf)
    request = db.execute(
        "INSERT INTO sign_requests (client_id, template_id, title, fields, document_id, sha256,"
        " created_at, created_by) VALUES (?, ?, ?, '{}', ?, ?, ?, 1) RETURNING id",
        (client, template[0], title, document, sha, NOW.isoformat()),
    ).fetchone()[0]
    evidence.record(db, clock, request, "created", user_id=1, channel="sempi", hash_after=sha)
    out = {"id": request, "document": pdf, "sha256": sha}
    if sealed:
        lines = [("Richiesta", str(request)), ("SHA-256 prima della firma", sha)]
        signed = certificate_page(pdf, lines, title=title)
        paths = SealService(db, clock, None).paths()
        final = seal(
            signed, paths.key, paths.certificate, reason="Sigillo", location="Milano", when=WHEN
        )
        final_sha = hashlib.sha256(final).hexdigest()
        sealed_doc = store_document(db, client, f"{title} - firmato.pdf", final)
        db.execute(
            "UPDATE sign_requests SET status = 'completed', sealed_document_id = ?,"
            " sealed_sha256 = ?, completed_at = ? WHERE id = ?",
            (sealed_doc, final_sha, WHEN.isoformat(), request),
        )
        evidence.record(
            db, clock, request, "completed", user_id=None, channel="system",
            hash_before=sha, hash_after=final_sha,
        )  # fmt: skip
        out.update(sealed=final, sealed_sha256=final_sha)
    return out


@pytest.fixture
def world(db, clock, org, tmp_path: Path) -> dict:
    """Alfa and Beta (task_people), each with an external user; the firm's seal; a
    sealed request of Alfa and one of Beta, and an unsealed one of Alfa."""
    people = task_people(org)
    org.user(EXT_BETA, "Esterno Beta", "external", client=people["other_client"])
    admin = org.admin
    paths = SealService(db, clock, admin).init(str(tmp_path / "sigillo"))
    alfa = make_request(db, clock, people["client"], "Lettera d'incarico Alfa")
    beta = make_request(db, clock, people["other_client"], "Lettera d'incarico Beta")
    draft = make_request(db, clock, people["client"], "Mandato Alfa", sealed=False)
    return {**people, "alfa": alfa, "beta": beta, "draft": draft, "certificate": paths.certificate}


def write(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def one_byte_changed(pdf: bytes) -> bytes:
    """A byte of the document's own text changed (inside the signed range)."""
    at = pdf.index(b"/Producer")  # the Info dictionary of the first revision
    changed = bytearray(pdf)
    changed[at + 3] ^= 0x01
    return bytes(changed)


# -- valid ---------------------------------------------------------------------------------


def test_the_sealed_file_is_valid(cli, world, tmp_path: Path) -> None:
    path = write(tmp_path, "firmato.pdf", world["alfa"]["sealed"])
    result = ok(cli("sign", "verify", path, as_user=EXT_ALFA))
    assert result.stdout.startswith("valid: ")
    assert f"request {world['alfa']['id']}" in result.stdout
    assert result.stdout.count("\n") == 1
    record = data(cli("--json", "sign", "verify", path))
    assert record["verdict"] == "valid"
    assert record["matched"] == "sealed"
    assert record["sha256"] == world["alfa"]["sealed_sha256"]
    assert record["seal"]["outcome"] == "intact"
    assert record["evidence"]["chain_ok"] is True


def test_the_document_as_sent_is_valid_and_says_so(cli, world, tmp_path: Path) -> None:
    for key in ("alfa", "draft"):
        path = write(tmp_path, f"{key}.pdf", world[key]["document"])
        record = data(cli("--json", "sign", "verify", path))
        assert (record["verdict"], record["matched"]) == ("valid", "document")
        assert record["request"] == world[key]["id"]
        assert record["seal"] is None


# -- altered -------------------------------------------------------------------------------


def test_one_byte_changed_is_altered_for_sempi_and_for_pyhanko(cli, world, tmp_path: Path) -> None:
    changed = one_byte_changed(world["alfa"]["sealed"])
    assert check_seal(changed, world["certificate"]).outcome == "altered"  # pyHanko's verdict
    path = write(tmp_path, "cambiato.pdf", changed)
    result = cli("sign", "verify", path)
    assert result.stdout.startswith("altered: ")
    assert_one_line_error(result, 11, "is altered", f"request {world['alfa']['id']}")
    record = json.loads(cli("--json", "sign", "verify", path).stdout)
    assert (record["verdict"], record["matched"]) == ("altered", "changed")
    assert record["seal"]["outcome"] == "altered"


def test_bytes_appended_are_altered_for_sempi_and_for_pyhanko(cli, world, tmp_path: Path) -> None:
    appended = world["alfa"]["sealed"] + b"\n% aggiunto dopo il sigillo\n"
    assert check_seal(appended, world["certificate"]).outcome == "appended"
    path = write(tmp_path, "aggiunto.pdf", appended)
    result = cli("sign", "verify", path)
    assert_one_line_error(result, 11, "bytes were added")
    record = json.loads(cli("--json", "sign", "verify", path).stdout)
    assert (record["verdict"], record["matched"]) == ("altered", "appended")


def test_a_tampered_record_of_events_makes_the_file_altered(
    cli, world, store_path: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, "firmato.pdf", world["alfa"]["sealed"])
    with sqlite3.connect(store_path) as raw:  # what someone with sqlite3 could do
        raw.execute("DROP TRIGGER sign_events_append_only_update")
        raw.execute("UPDATE sign_events SET channel = 'email' WHERE id = 1")
    result = cli("sign", "verify", path)
    assert_one_line_error(result, 11, "record of events")


def test_a_request_row_pointed_at_another_file_is_altered(
    cli, world, store_path: Path, tmp_path: Path
) -> None:
    """sign_requests is not chained: its hash must also be named by the evidence."""
    other = to_pdf("Falso", "Un altro testo", "text", footer="x", created_at=NOW)
    with sqlite3.connect(store_path) as raw:
        raw.execute(
            "UPDATE sign_requests SET sha256 = ? WHERE id = ?",
            (hashlib.sha256(other).hexdigest(), world["draft"]["id"]),
        )
    result = cli("sign", "verify", write(tmp_path, "falso.pdf", other))
    assert_one_line_error(result, 11, "does not name this file")


# -- unknown, refused ------------------------------------------------------------------------


def test_a_pdf_sempi_never_recorded_is_unknown(cli, world, tmp_path: Path) -> None:
    other = to_pdf("Altro", "Nessuna richiesta", "text", footer="x", created_at=NOW)
    path = write(tmp_path, "altro.pdf", other)
    result = cli("sign", "verify", path)
    assert result.stdout.startswith("unknown: ")
    assert_one_line_error(result, 3, "is unknown")
    record = json.loads(cli("--json", "sign", "verify", path).stdout)
    assert record["verdict"] == "unknown"
    assert record["request"] is None


@pytest.mark.parametrize("how", ["intact", "changed", "appended", "document"])
def test_another_clients_user_sees_unknown_whatever_the_file(
    cli, world, tmp_path: Path, how: str
) -> None:
    sealed = world["beta"]["sealed"]
    content = {
        "intact": sealed,
        "changed": one_byte_changed(sealed),
        "appended": sealed + b"\n%%EOF\n",
        "document": world["beta"]["document"],
    }[how]
    path = write(tmp_path, "beta.pdf", content)
    result = cli("--json", "sign", "verify", path, as_user=EXT_ALFA)
    assert result.exit_code == 3
    record = json.loads(result.stdout)
    assert record["verdict"] == "unknown"
    assert (record["request"], record["client_id"], record["title"]) == (None, None, None)
    assert "Beta" not in result.stdout + result.stderr
    assert cli("sign", "verify", path, as_user=EXT_BETA).exit_code in (0, 11)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"Lettera d'incarico, in testo\n", "not a PDF"),
        (b"", "empty"),
    ],
)
def test_a_file_that_is_not_a_pdf_is_one_clear_line(
    cli, world, tmp_path: Path, content: bytes, fragment: str
) -> None:
    result = cli("sign", "verify", write(tmp_path, "lettera.txt", content))
    assert_one_line_error(result, 6, fragment)
    assert result.stdout == ""


def test_a_missing_file_or_a_folder_is_one_clear_line(cli, world, tmp_path: Path) -> None:
    assert_one_line_error(cli("sign", "verify", str(tmp_path / "nessuno.pdf")), 6, "no file")
    assert_one_line_error(cli("sign", "verify", str(tmp_path)), 6)


def test_verify_asks_for_a_login(cli, world, tmp_path: Path) -> None:
    path = write(tmp_path, "firmato.pdf", world["alfa"]["sealed"])
    assert_one_line_error(cli("sign", "verify", path, as_user=None), 7)


def test_byte_range_is_read_from_the_raw_bytes(world) -> None:
    sealed = world["alfa"]["sealed"]
    start, gap, after, tail = byte_range(sealed)
    assert start == 0 and after + tail == len(sealed)
    assert sealed[gap : gap + 1] == b"<" and sealed[after - 1 : after] == b">"
    assert byte_range(world["alfa"]["document"]) is None
    assert byte_range(b"%PDF-1.7 /ByteRange [0 10 5 99999]") is None


# -- sign seal init ------------------------------------------------------------------------


def test_seal_init_makes_the_key_and_says_to_keep_it_safe(cli, db, tmp_path: Path) -> None:
    from sempi_cli.services import settings

    folder = tmp_path / "sigillo"
    result = ok(cli("sign", "seal", "init", str(folder)))
    key = folder / "sigillo-sempi.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert (folder / "sigillo-sempi.crt").is_file()
    assert str(key) in result.stdout and str(key) in result.stderr
    assert "never share" in result.stderr and "Back up" in result.stderr
    assert settings.get(db, "sign.seal_key") == str(key)


def test_seal_init_twice_is_a_conflict(cli, tmp_path: Path) -> None:
    ok(cli("sign", "seal", "init", str(tmp_path / "sigillo")))
    result = cli("sign", "seal", "init", str(tmp_path / "altro"))
    assert_one_line_error(result, 4, "already has a seal")
    assert not (tmp_path / "altro" / "sigillo-sempi.key").exists()


def test_seal_init_is_for_firm_administrators(cli, org, tmp_path: Path) -> None:
    org.staff("doer@sempi.test")
    result = cli("sign", "seal", "init", str(tmp_path / "sigillo"), as_user="doer@sempi.test")
    assert_one_line_error(result, 8)
    assert not (tmp_path / "sigillo").exists()
    assert ADMIN_EMAIL  # the firm administrator is the default user of `cli`


# -- the seal checked without pyHanko agrees with pyHanko ---------------------------------


def _signature_digit_changed(pdf: bytes) -> bytes:
    _start, gap, _after, _tail = byte_range(pdf)
    changed = bytearray(pdf)
    at = gap + 20  # a hex digit of the CMS signature itself
    changed[at] = ord("0") if changed[at] != ord("0") else ord("1")
    return bytes(changed)


def test_the_quick_seal_check_says_intact_only_where_pyhanko_does(world, tmp_path: Path) -> None:
    from sempi_cli.clock import FixedClock
    from sempi_cli.services.signing.seal import create_seal
    from sempi_cli.services.signing.verify import seal_holds

    sealed, cert = world["alfa"]["sealed"], world["certificate"]
    held = seal_holds(sealed, cert)
    assert held is not None and check_seal(sealed, cert).outcome == "intact"
    assert held["signed_at"] == check_seal(sealed, cert).signed_at.isoformat()
    assert held["signer"] == check_seal(sealed, cert).signer
    other = create_seal(str(tmp_path / "altro"), "Altra Srl", FixedClock(NOW))
    foreign = seal(
        certificate_page(world["draft"]["document"], [("x", "y")], title="x"),
        other.key, other.certificate, reason="r", location="l", when=WHEN,
    )  # fmt: skip
    for bad in (
        one_byte_changed(sealed),
        sealed + b"\n",
        _signature_digit_changed(sealed),
        foreign,
        world["alfa"]["document"],
    ):
        assert seal_holds(bad, cert) is None
        try:
            assert check_seal(bad, cert).outcome != "intact"
        except InvalidData:  # pyHanko cannot even read the signature: not intact either
            pass


def test_a_changed_signature_is_altered(cli, world, tmp_path: Path) -> None:
    path = write(tmp_path, "firma.pdf", _signature_digit_changed(world["alfa"]["sealed"]))
    result = cli("--json", "sign", "verify", path)
    assert result.exit_code == 11, result.stderr
    record = json.loads(result.stdout)
    assert (record["verdict"], record["matched"]) == ("altered", "changed")
    assert record["seal"]["outcome"] in ("altered", "damaged")


def test_a_file_sealed_before_a_new_seal_still_verifies(cli, db, clock, world, tmp_path) -> None:
    """The firm lost its seal's folder (a new server) and made a new seal: the
    certificates it sealed with are in the store, so its old files stay valid, and
    verifying needs no access to any seal folder."""
    import shutil

    shutil.rmtree(tmp_path / "sigillo")
    ok(cli("config", "set", "sign.seal_key", ""))
    ok(cli("sign", "seal", "init", str(tmp_path / "nuovo")))
    assert db.execute("SELECT count(*) FROM sign_seals").fetchone()[0] == 2
    record = data(
        cli("--json", "sign", "verify", write(tmp_path, "a.pdf", world["alfa"]["sealed"]))
    )
    assert (record["verdict"], record["seal"]["outcome"]) == ("valid", "intact")
    shutil.rmtree(tmp_path / "nuovo")  # no seal folder at all: verifying still works
    record = data(
        cli("--json", "sign", "verify", write(tmp_path, "b.pdf", world["beta"]["sealed"]))
    )
    assert record["verdict"] == "valid"


def test_a_seal_the_firm_never_recorded_is_not_its_seal(cli, db, clock, world, tmp_path) -> None:
    """A key pointed at by hand (config set sign.seal_key) is recorded when it first
    seals; a key that never sealed through sempi is foreign, whatever the file says."""
    from sempi_cli.clock import FixedClock
    from sempi_cli.services.signing.seal import create_seal

    other = create_seal(str(tmp_path / "altro"), "Altra Srl", FixedClock(NOW))
    draft = world["draft"]
    foreign = seal(
        certificate_page(draft["document"], [("x", "y")], title="x"),
        other.key, other.certificate, reason="r", location="l", when=WHEN,
    )  # fmt: skip
    db.execute(
        "UPDATE sign_requests SET status = 'completed', sealed_sha256 = ? WHERE id = ?",
        (hashlib.sha256(foreign).hexdigest(), draft["id"]),
    )
    evidence.record(db, clock, draft["id"], "completed", user_id=None, channel="system",
                    hash_before=draft["sha256"], hash_after=hashlib.sha256(foreign).hexdigest())  # fmt: skip
    db.commit()
    result = cli("--json", "sign", "verify", write(tmp_path, "c.pdf", foreign))
    assert result.exit_code == 11, result.stderr
    record = json.loads(result.stdout)
    assert record["seal"]["outcome"] == "foreign" and "not this firm's" in record["reason"]
