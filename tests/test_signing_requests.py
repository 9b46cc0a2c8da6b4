"""Requests sent for signature (services/signing/requests.py, `sempi sign request|show|
accept|decline|list|status`): a template filled for a client, rendered, filed in its
folder "Firme" and hashed; signed by each signer with a real one-time code (TOTP or
e-mailed); the last signature completes it with the certificate page and the firm's
seal; declined, expired; and never seen across the boundary."""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import timedelta

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.services.signing import evidence
from sempi_cli.services.signing.seal import SealService, check_seal
from sempi_cli.store import spool
from sempi_cli.store.sql import listed
from tests.conftest import ADMIN_EMAIL, actor, register_secret
from tests.helpers import assert_one_line_error, data, ok

STAFF = "s1@sempi.test"  # Alfa's responsible, two-step login on: signs with the app's code
MARIO = "mario.bianchi@alfa.test"  # Alfa's external user: e-mailed codes
BRUNO = "bruno.neri@beta.test"  # Beta's external user
TEMPLATE = (
    "# Lettera d'incarico\n\n"
    "Il cliente **{{client.ragione_sociale}}**, partita IVA {{client.partita_iva}},"
    " conferisce a {{studio.name}} l'incarico della tenuta della contabilità.\n\n"
    "Firmatari: {{signer.names}}. Data: {{today}}.\n"
)


@pytest.fixture
def office(org, db, clock, firm, tmp_path) -> dict:
    """Studio Rossi's clients Alfa and Beta (STAFF responsible of both), Mario (Alfa's
    external user), Bruno (Beta's), the template "Incarico", the firm's seal."""
    from sempi_cli.services.identity.two_step import TwoStepService
    from sempi_cli.services.signing.templates import SignTemplates

    rossi = org.practice("Studio Rossi")
    staff = org.user(STAFF, "Staff One")
    alfa = org.client("Alfa Srl", rossi, 1, responsible=STAFF)
    beta = org.client("Beta Srl", rossi, 2, responsible=STAFF)
    mario = org.user(MARIO, "Mario Bianchi", "external", client=alfa)
    bruno = org.user(BRUNO, "Bruno Neri", "external", client=beta)
    secret = register_secret(pyotp.random_base32(32), "a TOTP secret")
    for code in TwoStepService(db, clock, actor(db, STAFF)).confirm(
        secret, pyotp.TOTP(secret).at(clock.now())
    ):
        register_secret(code, "a recovery code")
    text = tmp_path / "incarico.md"
    text.write_text(TEMPLATE, encoding="utf-8")
    SignTemplates(db, clock, actor(db, STAFF)).add("Incarico", str(text))
    paths = SealService(db, clock, actor(db, ADMIN_EMAIL)).init(str(tmp_path / "sigillo"))
    return {
        "alfa": alfa, "beta": beta, "staff": staff["id"], "mario": mario["id"],
        "bruno": bruno["id"], "secret": secret, "seal": paths,
    }  # fmt: skip


def request(cli, office, *signers: str, due: str | None = None, as_user: str = STAFF):
    args = ["--format", "json", "sign", "request", "--client", str(office["alfa"]),
            "--template", "Incarico"]  # fmt: skip
    for signer in signers:
        args += ["--signer", signer]
    if due:
        args += ["--due", due]
    return cli(*args, as_user=as_user)


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def document_bytes(db, document_id: int) -> bytes:
    row = db.execute(
        "SELECT a.content FROM documents d JOIN attachments a ON a.id = d.attachment_id"
        " WHERE d.id = ?",
        (document_id,),
    ).fetchone()
    return bytes(row[0])


def totp_now(clock, office) -> str:
    clock.advance(timedelta(seconds=30))  # a step later than any used before
    return register_secret(pyotp.TOTP(office["secret"]).at(clock.now()), "a TOTP code")


def mailed_code(db, request_id: int, user_id: int) -> str:
    """The code waiting in the outbox spool for the signer's newest code e-mail (as
    tests/test_signing_codes.py reads it)."""
    [name] = db.execute(
        "SELECT m.secret_file FROM mail_outbox m JOIN sign_codes c"
        " ON m.dedupe_key = 'sign-code:' || c.id WHERE c.request_id = ? AND c.user_id = ?"
        " ORDER BY c.id DESC LIMIT 1",
        (request_id, user_id),
    ).fetchone()
    code = json.loads((spool.folder_of(db) / name).read_text())["code"]
    return register_secret(code, "an e-mailed signing code")


def accept(cli, request_id: int, code: str | None, as_user: str):
    args = ["--format", "json", "sign", "accept", str(request_id), "--declare", "--code-stdin"]
    return cli(*args, as_user=as_user, input=None if code is None else code + "\n")


def events(db, request_id: int) -> list[tuple]:
    return [(e["event"], e["user_id"], e["channel"]) for e in evidence.events(db, request_id)]


def counts(db) -> tuple:
    tables = ("sign_requests", "sign_signers", "sign_events", "documents", "mail_outbox",
              "notifications", "doc_folders")  # fmt: skip
    return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)


# --- sending ------------------------------------------------------------------------------


def test_a_request_is_rendered_filed_in_firme_and_hashed(cli, db, office):
    made = data(request(cli, office, MARIO, STAFF, due="2026-12-31"))
    assert made["status"] == "sent" and made["folder"] == "Firme"
    assert made["signers"] == [MARIO, STAFF]
    pdf = document_bytes(db, made["document_id"])
    assert hashlib.sha256(pdf).hexdigest() == made["sha256"]
    row = db.execute("SELECT * FROM sign_requests WHERE id = ?", (made["id"],)).fetchone()
    assert row["sha256"] == made["sha256"] and row["due_on"] == "2026-12-31"
    text = pdf_text(pdf)
    assert "Alfa Srl" in text and "Studio Rossi" in text and "Mario Bianchi e Staff One" in text
    assert f"Richiesta {made['id']}" in text and "Firma elettronica semplice" in text
    assert [(e[0], e[2]) for e in events(db, made["id"])] == [
        ("created", "sempi"),
        ("sent", "email"),
    ]
    mails = db.execute(
        f"SELECT kind, to_address, body FROM mail_outbox WHERE id IN ({listed(db, '?')})"
        " ORDER BY id",
        (json.dumps(made["mails"]),),
    ).fetchall()
    assert [(m["kind"], m["to_address"]) for m in mails] == [
        ("sign_request", MARIO), ("sign_request", STAFF),
    ]  # fmt: skip
    assert "firma elettronica semplice" in mails[0]["body"]
    assert f"sempi sign accept {made['id']}" in mails[0]["body"]
    notices = db.execute(
        "SELECT user_id FROM notifications WHERE kind = 'signature' ORDER BY user_id"
    ).fetchall()
    assert [n[0] for n in notices] == sorted([office["mario"], office["staff"]])


def test_a_dry_run_checks_everything_and_writes_nothing(cli, db, office):
    before = counts(db)
    shown = data(
        cli("--format", "json", "sign", "request", "--client", str(office["alfa"]),
            "--template", "Incarico", "--signer", MARIO, "--dry-run", as_user=STAFF)
    )  # fmt: skip
    assert shown["status"] == "sent"
    assert counts(db) == before


def test_a_signer_outside_the_client_is_refused_and_nothing_written(cli, db, office):
    before = counts(db)
    result = request(cli, office, MARIO, BRUNO, as_user=ADMIN_EMAIL)
    assert_one_line_error(result, 6, BRUNO, "another client")
    assert counts(db) == before


def test_an_external_user_cannot_send(cli, db, office):
    result = request(cli, office, MARIO, as_user=MARIO)
    assert_one_line_error(result, 8)


def test_without_a_seal_nothing_is_sent(cli, db, office):
    from sempi_cli.store import write_transaction

    with write_transaction(db):
        db.execute("DELETE FROM settings WHERE key = 'sign.seal_key'")
    before = counts(db)
    assert_one_line_error(request(cli, office, MARIO), 5, "seal")
    assert counts(db) == before


def test_like_copies_template_and_signers(cli, db, office):
    first = data(request(cli, office, MARIO))
    again = data(
        cli("--format", "json", "sign", "request", "--like", str(first["id"]),
            "--client", str(office["alfa"]), as_user=STAFF)
    )  # fmt: skip
    assert again["title"] == "Incarico" and again["signers"] == [MARIO]
    assert again["id"] == first["id"] + 1


def test_like_for_another_client_has_that_clients_people_sign(cli, db, office):
    """ "Use this template anyway": Beta's external user signs in place of Alfa's; the
    office's signer stays; the document is filled with Beta's data."""
    first = data(request(cli, office, MARIO, STAFF))
    other = data(
        cli("--format", "json", "sign", "request", "--like", str(first["id"]),
            "--client", str(office["beta"]), as_user=STAFF)
    )  # fmt: skip
    assert other["client"] == "Beta Srl" and other["signers"] == [BRUNO, STAFF]
    assert "Beta Srl" in pdf_text(document_bytes(db, other["document_id"]))


# --- the signer's side ------------------------------------------------------------------------


def test_show_gives_the_text_hash_and_meaning_and_records_viewed_once(cli, db, office, tmp_path):
    made = data(request(cli, office, MARIO))
    shown = data(cli("--format", "json", "sign", "show", str(made["id"]), as_user=MARIO))
    assert shown["sha256"] == made["sha256"]
    assert "Alfa Srl" in shown["text"] and "simple electronic signature" in shown["meaning"]
    out = tmp_path / "lettera.pdf"
    ok(cli("sign", "show", str(made["id"]), "--out", str(out), as_user=MARIO))
    assert hashlib.sha256(out.read_bytes()).hexdigest() == made["sha256"]
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert_one_line_error(
        cli("sign", "show", str(made["id"]), "--out", str(out), as_user=MARIO), 4, "exists"
    )
    viewed = [e for e in events(db, made["id"]) if e[0] == "viewed"]
    assert viewed == [("viewed", office["mario"], "sempi")]
    ok(cli("sign", "show", str(made["id"]), as_user=STAFF))  # the office reads: no event
    assert len([e for e in events(db, made["id"]) if e[0] == "viewed"]) == 1


def test_an_external_user_of_another_client_sees_nothing(cli, db, office):
    made = data(request(cli, office, MARIO))
    rid = str(made["id"])
    assert_one_line_error(cli("sign", "show", rid, as_user=BRUNO), 3, "not found")
    assert_one_line_error(cli("sign", "status", rid, as_user=BRUNO), 3, "not found")
    assert_one_line_error(accept(cli, made["id"], "123456", BRUNO), 3, "not found")
    assert data(cli("--format", "json", "sign", "list", as_user=BRUNO)) in (None, [])
    assert [r["id"] for r in data(cli("--format", "json", "sign", "list", as_user=MARIO))] == [
        made["id"]
    ]


def test_a_real_totp_code_signs_and_the_last_signature_seals(cli, db, clock, office):
    made = data(request(cli, office, STAFF))
    signed = data(accept(cli, made["id"], totp_now(clock, office), STAFF))
    assert signed["status"] == "completed" and signed["channel"] == "totp"
    row = db.execute("SELECT * FROM sign_requests WHERE id = ?", (made["id"],)).fetchone()
    assert row["status"] == "completed" and row["completed_at"] is not None
    sealed = document_bytes(db, row["sealed_document_id"])
    assert hashlib.sha256(sealed).hexdigest() == row["sealed_sha256"] == signed["sealed_sha256"]
    verdict = check_seal(sealed, office["seal"].certificate)
    assert verdict.outcome == "intact"
    text = pdf_text(sealed)
    assert "Staff One" in text and made["sha256"] in text and "Europe/Rome" in text
    folder = db.execute(
        "SELECT f.name FROM documents d JOIN doc_folders f ON f.id = d.folder_id WHERE d.id = ?",
        (row["sealed_document_id"],),
    ).fetchone()[0]
    assert folder == "Firme"
    completed = [e for e in evidence.events(db, made["id"]) if e["event"] == "completed"]
    assert completed[0]["hash_before"] == made["sha256"]
    assert completed[0]["hash_after"] == row["sealed_sha256"]
    accepted = [e for e in evidence.events(db, made["id"]) if e["event"] == "accepted"]
    assert accepted[0]["hash_before"] == made["sha256"] and accepted[0]["channel"] == "totp"


def test_an_emailed_code_signs_and_the_office_files_the_sealed_copy(cli, db, clock, office):
    """Sent by the firm administrator, signed by Mario: the sealed copy is filed in
    the sender's name, and the sender is told."""
    made = data(request(cli, office, MARIO, as_user=ADMIN_EMAIL))
    first = data(accept(cli, made["id"], None, MARIO))  # no live code: one is sent
    assert first["outcome"] is None and first["code_sent"]
    code = mailed_code(db, made["id"], office["mario"])
    signed = data(accept(cli, made["id"], code, MARIO))
    assert signed["channel"] == "email" and signed["status"] == "completed"
    admin = actor(db, ADMIN_EMAIL).id
    added_by = db.execute(
        "SELECT added_by FROM documents WHERE id = ?", (signed["sealed_document_id"],)
    ).fetchone()[0]
    assert added_by == admin
    told = db.execute(
        "SELECT text FROM notifications WHERE user_id = ? AND source LIKE 'sign-completed:%'",
        (admin,),
    ).fetchall()
    assert len(told) == 1 and str(signed["sealed_document_id"]) in told[0][0]
    assert_one_line_error(accept(cli, made["id"], code, MARIO), 5, "already signed")


def test_only_a_signer_signs(cli, db, clock, office):
    made = data(request(cli, office, MARIO, as_user=ADMIN_EMAIL))
    result = accept(cli, made["id"], totp_now(clock, office), STAFF)  # sees it, signs nothing
    assert_one_line_error(result, 3, "not found")
    ok(cli("sign", "status", str(made["id"]), as_user=STAFF))  # the office reads it


def test_a_due_date_in_the_past_is_refused(cli, db, office):
    before = counts(db)
    assert_one_line_error(request(cli, office, MARIO, due="2026-11-01"), 6, "--due")
    assert counts(db) == before


def test_two_signers_in_either_order_complete_and_seal(cli, db, clock, office):
    for first, second in ((MARIO, STAFF), (STAFF, MARIO)):
        made = data(request(cli, office, MARIO, STAFF))
        for who in (first, second):
            if who == STAFF:
                code = totp_now(clock, office)
            else:
                ok(accept(cli, made["id"], None, MARIO))
                code = mailed_code(db, made["id"], office["mario"])
            signed = data(accept(cli, made["id"], code, who))
            assert signed["status"] == ("completed" if who == second else "sent")
        status = data(cli("--format", "json", "sign", "status", str(made["id"]), as_user=STAFF))
        assert [s["outcome"] for s in status["signers"]] == ["accepted", "accepted"]
        sealed = document_bytes(db, status["sealed_document_id"])
        assert check_seal(sealed, office["seal"].certificate).intact
        text = pdf_text(sealed)
        assert "Mario Bianchi" in text and "Staff One" in text
        assert [e["event"] for e in status["events"]][-1] == "completed"


def test_a_wrong_code_is_exit_7_and_nothing_is_signed(cli, db, clock, office):
    made = data(request(cli, office, STAFF))
    right = totp_now(clock, office)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert_one_line_error(accept(cli, made["id"], wrong, STAFF), 7)
    outcome = db.execute(
        "SELECT outcome FROM sign_signers WHERE request_id = ?", (made["id"],)
    ).fetchone()[0]
    assert outcome is None
    assert "accepted" not in [e[0] for e in events(db, made["id"])]


def test_without_the_declaration_a_script_is_refused(cli, db, clock, office):
    made = data(request(cli, office, STAFF))
    result = cli("sign", "accept", str(made["id"]), "--code-stdin", as_user=STAFF,
                 input=totp_now(clock, office) + "\n")  # fmt: skip
    assert_one_line_error(result, 2, "--declare")


def test_decline_closes_the_request_and_tells_the_sender(cli, db, clock, office):
    made = data(request(cli, office, MARIO, STAFF))
    shown = data(
        cli("--format", "json", "sign", "decline", str(made["id"]), "--reason",
            "La data è sbagliata", as_user=MARIO)
    )  # fmt: skip
    assert shown["status"] == "declined"
    row = db.execute(
        "SELECT outcome, reason FROM sign_signers WHERE request_id = ? AND user_id = ?",
        (made["id"], office["mario"]),
    ).fetchone()
    assert tuple(row) == ("declined", "La data è sbagliata")
    assert events(db, made["id"])[-1] == ("declined", office["mario"], "sempi")
    told = db.execute(
        "SELECT text FROM notifications WHERE user_id = ? AND source LIKE 'sign-declined:%'",
        (office["staff"],),
    ).fetchone()
    assert told is not None and "La data è sbagliata" in told[0]
    assert_one_line_error(accept(cli, made["id"], totp_now(clock, office), STAFF), 5, "declined")


def test_past_its_due_date_a_request_expires_and_is_not_signed(cli, db, clock, office):
    made = data(request(cli, office, STAFF, due="2026-11-20"))
    clock.advance(timedelta(days=30))
    result = accept(cli, made["id"], totp_now(clock, office), STAFF)
    assert_one_line_error(result, 5, "expired")
    row = db.execute("SELECT status FROM sign_requests WHERE id = ?", (made["id"],)).fetchone()
    assert row[0] == "expired"
    assert events(db, made["id"])[-1] == ("expired", None, "system")
    assert_one_line_error(accept(cli, made["id"], totp_now(clock, office), STAFF), 5, "expired")
    assert [e[0] for e in events(db, made["id"])].count("expired") == 1


def test_list_filters_by_status(cli, db, office):
    data(request(cli, office, MARIO))
    rows = data(cli("--format", "json", "sign", "list", "--status", "sent", as_user=STAFF))
    assert [r["status"] for r in rows] == ["sent"]
    assert data(cli("--format", "json", "sign", "list", "--status", "completed",
                    as_user=STAFF)) in (None, [])  # fmt: skip
    assert_one_line_error(cli("sign", "list", "--status", "nope", as_user=STAFF), 6)


def test_list_filters_by_client(cli, db, office):
    alfa = data(request(cli, office, MARIO))
    beta = data(
        cli("--format", "json", "sign", "request", "--client", str(office["beta"]),
            "--template", "Incarico", "--signer", BRUNO, as_user=STAFF)
    )  # fmt: skip

    def listed(client: int, who: str = STAFF) -> list[int]:
        args = ("--format", "json", "sign", "list", "--client", str(client))
        return [r["id"] for r in data(cli(*args, as_user=who)) or []]

    assert listed(office["alfa"]) == [alfa["id"]]
    assert listed(office["beta"]) == [beta["id"]]
    assert listed(office["beta"], MARIO) == []  # another client's: never listed to Alfa's user


def test_the_evidence_chain_holds_after_a_whole_request(cli, db, clock, office):
    made = data(request(cli, office, STAFF))
    ok(accept(cli, made["id"], totp_now(clock, office), STAFF))
    assert evidence.verify(db)["ok"]


# --- who may send; the declaration asked on a terminal; the due date ------------------------


def test_only_the_office_people_who_see_the_client_send(cli, db, org, office):
    """The practice's operator in Alfa's work group sends; an operator or firm staff
    outside it do not see the client (exit 3, as for any client one does not see);
    nothing written."""
    rossi = db.execute("SELECT studio_id FROM clients WHERE id = ?", (office["alfa"],)).fetchone()
    org.user("op.in@rossi.test", "Operatore Dentro", "studio-operator", studio=rossi[0])
    org.user("op.out@rossi.test", "Operatore Fuori", "studio-operator", studio=rossi[0])
    org.group(office["alfa"], "op.in@rossi.test")
    made = data(request(cli, office, MARIO, "op.in@rossi.test", as_user="op.in@rossi.test"))
    assert made["signers"] == [MARIO, "op.in@rossi.test"]
    before = counts(db)
    result = request(cli, office, MARIO, as_user="op.out@rossi.test")
    assert_one_line_error(result, 3, "not found")
    org.user("s2@sempi.test", "Staff Two")
    result = request(cli, office, STAFF, as_user="s2@sempi.test")
    assert_one_line_error(result, 3, "not found")
    assert counts(db) == before


def test_a_user_of_another_practice_is_not_a_signer(cli, db, org, office):
    other = org.practice("Studio Verdi")
    org.user("op@verdi.test", "Operatore Verdi", "studio-operator", studio=other)
    before = counts(db)
    result = request(cli, office, "op@verdi.test", as_user=ADMIN_EMAIL)
    assert_one_line_error(result, 6, "op@verdi.test", "another practice")
    assert counts(db) == before


@pytest.fixture
def terminal(monkeypatch):
    """As on a terminal: the declaration and the code are asked (CliRunner's input
    answers the prompts)."""
    from sempi_cli.cli.context import AppContext

    monkeypatch.setattr(AppContext, "interactive", property(lambda self: True))


def test_on_a_terminal_the_declaration_then_the_code_are_asked(cli, db, clock, office, terminal):
    made = data(request(cli, office, STAFF))
    code = totp_now(clock, office)
    result = cli("sign", "accept", str(made["id"]), as_user=STAFF, input=f"sì\n{code}\n")
    ok(result)
    assert "firma elettronica semplice" in result.stderr or "simple electronic" in result.stderr
    assert code not in result.stdout + result.stderr
    status = db.execute("SELECT status FROM sign_requests WHERE id = ?", (made["id"],)).fetchone()
    assert status[0] == "completed"


def test_on_a_terminal_no_declaration_no_signature(cli, db, clock, office, terminal):
    made = data(request(cli, office, STAFF))
    result = cli("sign", "accept", str(made["id"]), as_user=STAFF, input="no\n")
    assert result.exit_code == 1
    assert "accepted" not in [e[0] for e in events(db, made["id"])]
    assert "code_verified" not in [e[0] for e in events(db, made["id"])]


@given(st.integers(min_value=-400, max_value=400))
def test_a_due_date_is_today_or_later(days):
    from datetime import UTC, date, datetime

    from sempi_cli.errors import InvalidData
    from sempi_cli.services.signing.requests import parse_due

    today = date(2026, 11, 16)
    now = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    day = today + timedelta(days=days)
    if days < 0:
        with pytest.raises(InvalidData):
            parse_due(day.isoformat(), now, today)
    else:
        assert parse_due(day.isoformat(), now, today) == day


def test_a_sender_who_can_no_longer_file_stops_the_last_signature_before_a_code(
    cli, db, clock, org, office
):
    """The sealed copy is filed in the sender's name: a sender since disabled means
    the request cannot be completed, said before any code is sent or spent."""
    from sempi_cli.services.org.users import UserService

    made = data(request(cli, office, MARIO))
    UserService(db, clock, actor(db, ADMIN_EMAIL)).set_disabled(STAFF, True)
    result = accept(cli, made["id"], None, MARIO)
    assert_one_line_error(result, 5, "cannot be completed")
    sent = db.execute(
        "SELECT count(*) FROM sign_codes WHERE request_id = ?", (made["id"],)
    ).fetchone()[0]
    assert sent == 0


def test_a_seal_key_set_by_hand_is_recorded_when_it_first_seals(cli, db, clock, office, tmp_path):
    """`config set sign.seal_key` to a key made elsewhere: its certificate joins the
    firm's seals at its first sealing, so `sign verify` trusts the files it sealed."""
    from sempi_cli.services.signing.seal import create_seal

    other = create_seal(str(tmp_path / "altra"), "Sempi Servizi Srl", clock)
    ok(cli("config", "set", "sign.seal_key", other.key))
    made = data(request(cli, office, STAFF))
    ok(accept(cli, made["id"], totp_now(clock, office), STAFF))
    assert db.execute("SELECT count(*) FROM sign_seals").fetchone()[0] == 2
    [detail] = [e["detail"] for e in evidence.events(db, made["id"]) if e["event"] == "completed"]
    seal_id = json.loads(detail)["seal"] if isinstance(detail, str) else detail["seal"]
    assert seal_id == 2
    row = db.execute("SELECT sealed_document_id FROM sign_requests").fetchone()
    path = tmp_path / "firmato.pdf"
    path.write_bytes(document_bytes(db, row[0]))
    assert data(cli("--json", "sign", "verify", str(path)))["verdict"] == "valid"
