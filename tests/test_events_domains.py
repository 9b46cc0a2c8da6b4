"""Issue 19, the events of the domains other than tasks: clients taken on and
changed, documents added, chat mentions, consent, coupons, signatures. Each is
written in the transaction of its change (a refused command leaves none), with
its object, client, actor, changes and data; a batch writes one per client; the
nightly coupon check tells of a licence once; `sempi events list` shows a
client's events to those who see the client only; and no event keeps a value an
erasure removes."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pyotp
import pytest

from sempi_cli.services import event_log
from sempi_cli.services.event_log import KINDS
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, actor, cf_person, piva, register_secret
from tests.helpers import assert_one_line_error, data, ok

RESP, HELPER, OTHER = "resp@sempi.test", "helper@sempi.test", "other@sempi.test"  # firm staff
SADMIN = "sadmin@rossi.test"  # Studio Rossi's administrator
EXT_ALFA, EXT_BETA = "ext@alfa.test", "ext@beta.test"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "events.schema.json"


def events(db, kind: str | None = None) -> list[dict]:
    """The events written, oldest first, as stored (changes and data parsed); each
    one checked against the schema-1 contract."""
    sql = "SELECT * FROM events" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
    rows = db.execute(sql, (kind,) if kind else ()).fetchall()
    schema = json.loads(SCHEMA_FILE.read_text())
    for row in rows:
        jsonschema.validate(event_log.contract(row, None), schema)
    return [
        {**dict(r), "changes": json.loads(r["changes"]), "data": json.loads(r["data"])}
        for r in rows
    ]


def uid(db, email: str) -> int:
    return db.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0]


def last_id(db) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]


def check(event: dict, kind: str, object_id: int, client_id: int | None, actor_id: int) -> None:
    assert event["kind"] == kind
    assert event["object_type"] == KINDS[kind].object_type
    assert (event["object_id"], event["client_id"], event["actor_id"]) == (
        object_id,
        client_id,
        actor_id,
    )
    assert event["origin_id"] is None and event["depth"] == 0


@pytest.fixture
def office(org) -> dict:
    """Studio Rossi (SADMIN) with Alfa (RESP responsible, HELPER in its work group,
    EXT_ALFA its external user, SMART services, an e-mail) and Beta (EXT_BETA); OTHER
    is staff of neither."""
    rossi = org.practice("Studio Rossi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.staff(RESP, HELPER, OTHER)
    alfa = org.client(
        "Alfa Srl", rossi, 1, responsible=RESP, email="info@alfa.test",
        smart_services=["fattura-smart"],
    )  # fmt: skip
    beta = org.client("Beta Srl", rossi, 2, email="info@beta.test", smart_services=["smart-hub"])
    org.user(EXT_ALFA, "Ezio Alfa", "external", client=alfa)
    org.user(EXT_BETA, "Elsa Beta", "external", client=beta)
    org.group(alfa, HELPER)
    return {"rossi": rossi, "alfa": alfa, "beta": beta}


# --- clients ------------------------------------------------------------------------


def test_client_add_writes_client_onboarded_with_every_module(cli, db, office):
    made = data(
        cli("client", "add", "--name", "Gamma Srl", "--studio", "Studio Rossi", "--piva",
            piva(3), "--responsible", RESP, "--email", "info@gamma.test", "--json")
    )  # fmt: skip
    [event] = events(db, "client.onboarded")[-1:]
    check(event, "client.onboarded", made["id"], made["id"], uid(db, ADMIN_EMAIL))
    assert event["changes"] == {}
    assert event["data"] == {
        "ragione_sociale": "Gamma Srl",
        "studio_id": office["rossi"],
        "responsible_id": uid(db, RESP),
        "modules": ["tasks", "documents", "chat", "smart"],
    }
    assert "info@gamma.test" not in json.dumps(event)


def test_client_onboard_writes_one_event_with_its_modules_and_a_dry_run_none(cli, db, office):
    args = ["client-onboard", "add", "--name", "Delta Srl", "--studio", "Studio Rossi",
            "--piva", piva(4), "-m", "tasks,documents", "--json"]  # fmt: skip
    before = last_id(db)
    ok(cli(*args, "--dry-run"))
    assert last_id(db) == before
    made = data(cli(*args, as_user=SADMIN))
    client_id = made["client"]["id"]
    [event] = events(db, "client.onboarded")[-1:]
    # One client event; its deadlines' and their tasks' events are the scheduler's.
    assert [e["kind"] for e in events(db) if e["id"] > before and "client" in e["kind"]] == [
        "client.onboarded"
    ]
    check(event, "client.onboarded", client_id, client_id, uid(db, SADMIN))
    assert event["data"] == {
        "ragione_sociale": "Delta Srl",
        "studio_id": office["rossi"],
        "responsible_id": None,
        "modules": ["tasks", "documents"],
    }


def test_a_refused_onboarding_leaves_no_event(cli, db, office):
    before = last_id(db)
    assert_one_line_error(
        cli("client-onboard", "add", "--name", "X Srl", "--studio", "Studio Rossi",
            "--piva", "12345678901"),
        6, "--partita-iva",
    )  # fmt: skip
    assert_one_line_error(  # the same partita IVA as Alfa
        cli("client", "add", "--name", "X Srl", "--studio", "Studio Rossi", "--piva", piva(1)), 4
    )
    assert last_id(db) == before


def batch_file(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["ragione_sociale;partita_iva;iva_periodicity"]
    lines += [";".join(row) for row in rows]
    path = tmp_path / f"clienti{len(list(tmp_path.glob('clienti*')))}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def batch(cli, path: Path, *extra: str):
    return cli("client-onboard", "batch", str(path), "--studio", "Studio Rossi", "--yes",
               "--no-deadlines", "--json", *extra)  # fmt: skip


def test_a_batch_of_n_clients_writes_n_client_onboarded_in_one_run(cli, db, office, tmp_path):
    rows = [(f"Cliente {n} Srl", piva(10 + n), "trimestrale") for n in range(7)]
    before = last_id(db)
    ok(batch(cli, batch_file(tmp_path, rows), "--dry-run"))
    assert last_id(db) == before
    report = data(batch(cli, batch_file(tmp_path, rows)))
    written = [e for e in events(db) if e["id"] > before]
    assert [e["kind"] for e in written] == ["client.onboarded"] * 7
    by_client = {r["client_id"]: r for r in report["results"]}
    assert {e["object_id"] for e in written} == set(by_client)
    for event in written:
        check(event, "client.onboarded", event["object_id"], event["object_id"], 1)
        assert event["data"] == {
            "ragione_sociale": by_client[event["object_id"]]["ragione_sociale"],
            "studio_id": office["rossi"],
            "responsible_id": None,
            "modules": ["tasks", "documents", "chat", "smart"],
        }
    # The same file again changes nothing, and says nothing.
    again = last_id(db)
    ok(batch(cli, batch_file(tmp_path, rows)))
    assert last_id(db) == again
    # A row that differs is a client.updated, as `client edit` writes it.
    rows[2] = ("Cliente Due Srl", rows[2][1], "mensile")
    ok(batch(cli, batch_file(tmp_path, rows)))
    [updated] = [e for e in events(db) if e["id"] > again]
    client_id = report["results"][2]["client_id"]
    check(updated, "client.updated", client_id, client_id, 1)
    assert updated["changes"] == {
        "ragione_sociale": {"old": "Cliente 2 Srl", "new": "Cliente Due Srl"},
        "iva_periodicity": {"old": "trimestrale", "new": "mensile", "from": "2027-01-01"},
    }
    assert updated["data"] == {"ragione_sociale": "Cliente Due Srl"}


def test_a_refused_batch_writes_no_event(cli, db, office, tmp_path):
    rows = [("Uno Srl", piva(21), "mensile"), ("Due Srl", "12345678901", "mensile")]
    before = last_id(db)
    assert batch(cli, batch_file(tmp_path, rows)).exit_code == 6
    assert last_id(db) == before


def test_client_edit_writes_the_diff_with_personal_values_redacted(cli, db, office):
    alfa = office["alfa"]
    before = last_id(db)
    ok(
        cli("client", "edit", str(alfa), "--name", "Alfa Nuova Srl", "--email",
            "nuovo@alfa.test", "--nickname", "Alfetta", "--profile", "has_employees=yes",
            "--json", as_user=RESP)
    )  # fmt: skip
    [event] = [e for e in events(db) if e["id"] > before]
    check(event, "client.updated", alfa, alfa, uid(db, RESP))
    personal = {"old": "(personal data)", "new": "(personal data)"}
    assert event["changes"] == {
        "ragione_sociale": {"old": "Alfa Srl", "new": "Alfa Nuova Srl"},
        "email": personal,
        "nickname": personal,
        "has_employees": {"old": False, "new": True, "from": "2026-11-16"},
    }
    assert event["data"] == {"ragione_sociale": "Alfa Nuova Srl"}
    text = json.dumps(event)
    assert "nuovo@alfa.test" not in text and "info@alfa.test" not in text
    assert "Alfetta" not in text


def test_a_profile_change_alone_is_a_client_updated(cli, db, office):
    before = last_id(db)
    ok(cli("client", "edit", str(office["beta"]), "-p", "iva_periodicity=mensile", "--from",
           "2026-12-01"))  # fmt: skip
    [event] = [e for e in events(db) if e["id"] > before]
    assert event["changes"] == {
        "iva_periodicity": {"old": "none", "new": "mensile", "from": "2026-12-01"}
    }


def test_a_refused_or_empty_edit_leaves_no_event(cli, db, office):
    alfa = str(office["alfa"])
    before = last_id(db)
    assert_one_line_error(cli("client", "edit", alfa, "--email", "not-an-address"), 6, "--email")
    assert_one_line_error(
        cli("client", "edit", alfa, "-p", "forfettario=yes", "-p", "iva_periodicity=mensile"), 6
    )
    ok(cli("client", "edit", alfa, "--name", "Alfa Srl"))  # the same name: nothing changed
    assert last_id(db) == before


# --- documents ----------------------------------------------------------------------


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_doc_add_writes_document_added_and_a_replacement_names_the_old(cli, db, office, tmp_path):
    alfa = str(office["alfa"])
    ok(cli("doc", "folder", "add", "--client", alfa, "IVA/2025", "--parents"))
    first = write(tmp_path / "a" / "registro.pdf", "registro")
    before = last_id(db)
    [doc] = data(cli("doc", "add", first, "--client", alfa, "--folder", "iva/2025", "--json",
                     as_user=RESP))  # fmt: skip
    [event] = [e for e in events(db) if e["id"] > before]
    check(event, "document.added", doc["id"], office["alfa"], uid(db, RESP))
    assert event["data"] == {
        "name": "registro.pdf",
        "folder": "IVA/2025",
        "size": 8,
        "sha256": hashlib.sha256(b"registro").hexdigest(),
        "replaces": None,
    }
    # The same content again: unchanged, no event; a refused add (no --replace): none.
    mark = last_id(db)
    ok(cli("doc", "add", first, "--client", alfa, "--folder", "IVA/2025", "--replace"))
    second = write(tmp_path / "b" / "registro.pdf", "registro v2")
    assert_one_line_error(cli("doc", "add", second, "--client", alfa, "--folder", "IVA/2025"), 4)
    assert last_id(db) == mark
    [new] = data(cli("doc", "add", second, "--client", alfa, "--folder", "IVA/2025",
                     "--replace", "--json"))  # fmt: skip
    [replaced] = [e for e in events(db) if e["id"] > mark]
    assert replaced["object_id"] == new["id"] and replaced["data"]["replaces"] == doc["id"]


def test_the_backlog_import_writes_one_event_per_document(cli, db, office, tmp_path):
    alfa = str(office["alfa"])
    ok(cli("doc", "folder", "add", "--client", alfa, "IVA"))
    tree = tmp_path / "archivio"
    write(tree / "IVA" / "a.pdf", "a")
    write(tree / "IVA" / "Q1" / "b.pdf", "bb")
    write(tree / "IVA" / "c.pdf", "a")  # a duplicate of a.pdf: still a document
    before = last_id(db)
    ok(cli("doc", "import", str(tree), "--client", alfa, as_user=RESP))
    written = [e for e in events(db) if e["id"] > before]
    docs = {
        r["id"]: r
        for r in db.execute("SELECT * FROM documents WHERE client_id = ?", (office["alfa"],))
    }
    assert sorted(e["object_id"] for e in written) == sorted(docs)
    for event in written:
        doc = docs[event["object_id"]]
        check(event, "document.added", doc["id"], office["alfa"], uid(db, RESP))
        assert (event["data"]["name"], event["data"]["size"], event["data"]["sha256"]) == (
            doc["name"],
            doc["size"],
            doc["sha256"],
        )
    assert {e["data"]["folder"] for e in written} == {"IVA", "IVA/Q1"}
    # A re-run skips every file: no event.
    mark = last_id(db)
    ok(cli("doc", "import", str(tree), "--client", alfa, as_user=RESP))
    assert last_id(db) == mark


# --- chat ---------------------------------------------------------------------------


def chat_of(db, client_id: int) -> int:
    return db.execute("SELECT id FROM chats WHERE client_id = ?", (client_id,)).fetchone()[0]


def test_a_message_naming_people_writes_one_chat_mentioned(cli, db, office):
    alfa = chat_of(db, office["alfa"])
    before = last_id(db)
    sent = data(
        cli("chat", "send", str(alfa), f"@ezio.alfa e @{HELPER}: pronto l'F24?", "--json",
            as_user=RESP)
    )  # fmt: skip
    [event] = [e for e in events(db) if e["id"] > before]
    check(event, "chat.mentioned", alfa, office["alfa"], uid(db, RESP))
    assert event["data"] == {
        "message_id": sent["id"],
        "mentioned": sorted([uid(db, EXT_ALFA), uid(db, HELPER)]),
        "author_id": uid(db, RESP),
    }
    assert "F24" not in json.dumps(event)  # no text: an erasure removes it from the chat
    # No mention, a mention of oneself only, a refused mention: no event.
    mark = last_id(db)
    ok(cli("chat", "send", str(alfa), "nessuno", as_user=RESP))
    ok(cli("chat", "send", str(alfa), f"promemoria @{RESP}", as_user=RESP))
    assert_one_line_error(cli("chat", "send", str(alfa), "@elsa.beta ciao", as_user=RESP), 6)
    assert last_id(db) == mark


def test_a_mention_in_the_general_chat_has_no_client(cli, db, office):
    before = last_id(db)
    ok(cli("chat", "send", "1", f"@{RESP} riunione alle 10"))
    [event] = [e for e in events(db) if e["id"] > before]
    check(event, "chat.mentioned", 1, None, uid(db, ADMIN_EMAIL))
    assert event["data"]["mentioned"] == [uid(db, RESP)]


def test_an_edit_writes_an_event_for_the_newly_named_only(cli, db, office):
    alfa = str(chat_of(db, office["alfa"]))
    sent = data(cli("chat", "send", alfa, "@ezio.alfa guarda", "--json", as_user=RESP))
    mark = last_id(db)
    ok(cli("chat", "edit", str(sent["id"]), "@ezio.alfa guarda bene", as_user=RESP))
    assert last_id(db) == mark
    ok(cli("chat", "edit", str(sent["id"]), f"@ezio.alfa e @{HELPER} guardate",
           as_user=RESP))  # fmt: skip
    [event] = [e for e in events(db) if e["id"] > mark]
    assert event["data"]["message_id"] == sent["id"]
    assert event["data"]["mentioned"] == [uid(db, HELPER)]


# --- consent ------------------------------------------------------------------------


def test_consent_requested_and_answered(cli, db, office):
    before = last_id(db)
    ok(cli("consent", "request", "--studio", "Studio Rossi", "--all", "--yes", as_user=SADMIN))
    requested = [e for e in events(db) if e["id"] > before]
    assert [e["kind"] for e in requested] == ["consent.requested"] * 2
    by_client = {e["object_id"]: e for e in requested}
    rows = {
        r["client_id"]: r["id"] for r in db.execute("SELECT id, client_id FROM consent_requests")
    }
    check(by_client[office["alfa"]], "consent.requested", office["alfa"], office["alfa"],
          uid(db, SADMIN))  # fmt: skip
    assert by_client[office["alfa"]]["data"] == {
        "request_id": rows[office["alfa"]],
        "services": ["fattura-smart"],
    }
    assert by_client[office["beta"]]["data"]["services"] == ["smart-hub"]
    mark = last_id(db)
    assert_one_line_error(  # Beta's user does not answer for Alfa; bad words are refused
        cli("consent", "answer", str(office["alfa"]), "yes", as_user=EXT_BETA), 3
    )
    assert_one_line_error(cli("consent", "answer", str(office["alfa"]), "forse",
                              as_user=EXT_ALFA), 6)  # fmt: skip
    assert last_id(db) == mark
    answer = data(cli("consent", "answer", str(office["alfa"]), "no", "--comment",
                      "Non ora, Ezio", "--json", as_user=EXT_ALFA))  # fmt: skip
    [event] = [e for e in events(db) if e["id"] > mark]
    check(event, "consent.answered", office["alfa"], office["alfa"], uid(db, EXT_ALFA))
    assert event["changes"] == {"state": {"old": "pending", "new": "refused"}}
    assert event["data"] == {
        "request_id": rows[office["alfa"]], "answer_id": answer["id"],
        "services": ["fattura-smart"], "response": "no", "channel": "sempi",
        "on_behalf": False,
    }  # fmt: skip
    assert "Ezio" not in json.dumps(event)  # the comment stays out


# --- coupons ------------------------------------------------------------------------


def coupon_package(db, studio: int, count: int = 10) -> int:
    return db.execute(
        "INSERT INTO coupon_packages (studio_id, type, count, valid_until, added_at, added_by)"
        " VALUES (?, 'migrazione', ?, '2026-12-31', '2026-11-01T09:00:00+00:00', 1) RETURNING id",
        (studio, count),
    ).fetchone()[0]


def migrate(cli, *clients: int):
    return cli("--format", "json", "coupon", "migrate", *map(str, clients),
               "--consultant-name", "Mario", "--consultant-surname", "Rossi",
               "--consultant-cf", cf_person(1), as_user=SADMIN)  # fmt: skip


def test_coupon_migrated_for_each_client_and_none_when_refused(cli, db, office):
    package_id = coupon_package(db, office["rossi"])
    db.execute("UPDATE clients SET conto_terzi = 1 WHERE id = ?", (office["alfa"],))
    before = last_id(db)
    assert_one_line_error(migrate(cli, office["alfa"], office["beta"]), 5, "Beta")
    assert last_id(db) == before
    db.execute("UPDATE clients SET conto_terzi = 1 WHERE id = ?", (office["beta"],))
    report = data(migrate(cli, office["alfa"], office["beta"]))
    written = [e for e in events(db) if e["id"] > before]
    assert [e["object_id"] for e in written] == [office["alfa"], office["beta"]]
    licences = dict(db.execute("SELECT client_id, id FROM coupon_licences").fetchall())
    for event, m in zip(written, report, strict=True):
        check(event, "coupon.migrated", m["client_id"], m["client_id"], uid(db, SADMIN))
        assert event["data"] == {
            "licence_id": licences[m["client_id"]], "package_id": package_id,
            "ends_on": "2026-12-31", "replaced": False,
        }  # fmt: skip
        assert "info@" not in json.dumps(event)  # the account's e-mail stays out


def test_the_coupon_check_tells_of_a_licence_once(cli, db, clock, office):
    coupon_package(db, office["rossi"])
    db.execute("UPDATE clients SET conto_terzi = 1 WHERE id IN (?, ?)",
               (office["alfa"], office["beta"]))  # fmt: skip
    ok(migrate(cli, office["alfa"]))
    before = last_id(db)
    ok(cli("coupon", "check"))
    [event] = [e for e in events(db) if e["id"] > before]
    licence = db.execute(
        "SELECT id FROM coupon_licences WHERE client_id = ?", (office["alfa"],)
    ).fetchone()[0]
    check(event, "coupon.expiring", office["alfa"], office["alfa"], uid(db, ADMIN_EMAIL))
    assert event["data"] == {
        "licence_id": licence, "ends_on": "2026-12-31", "day": "2026-11-16",
        "studio_id": office["rossi"],
    }  # fmt: skip
    mark = last_id(db)
    ok(cli("coupon", "check"))  # a re-run: nothing new
    clock.advance(timedelta(days=1))
    ok(cli("coupon", "check"))  # the next night: the same term, told of already
    assert last_id(db) == mark
    ok(migrate(cli, office["beta"]))  # migrated since: its own event, once
    mark = last_id(db)
    ok(cli("coupon", "check"))
    ok(cli("coupon", "check"))
    assert [e["object_id"] for e in events(db) if e["id"] > mark] == [office["beta"]]


# --- signing ------------------------------------------------------------------------

TEMPLATE = "# Incarico\n\nIl cliente **{{client.ragione_sociale}}** conferisce l'incarico.\n"


@pytest.fixture
def signing(db, clock, office, tmp_path) -> str:
    """The template "Incarico", the firm's seal, RESP signing with the app's codes: the
    TOTP secret."""
    from sempi_cli.services.identity.two_step import TwoStepService
    from sempi_cli.services.signing.seal import SealService
    from sempi_cli.services.signing.templates import SignTemplates

    secret = register_secret(pyotp.random_base32(32), "a TOTP secret")
    for code in TwoStepService(db, clock, actor(db, RESP)).confirm(
        secret, pyotp.TOTP(secret).at(clock.now())
    ):
        register_secret(code, "a recovery code")
    text = tmp_path / "incarico.md"
    text.write_text(TEMPLATE, encoding="utf-8")
    SignTemplates(db, clock, actor(db, RESP)).add("Incarico", str(text))
    SealService(db, clock, actor(db, ADMIN_EMAIL)).init(str(tmp_path / "sigillo"))
    return secret


def sign_request(cli, office, *signers: str) -> dict:
    args = ["--format", "json", "sign", "request", "--client", str(office["alfa"]),
            "--template", "Incarico"]  # fmt: skip
    for signer in signers:
        args += ["--signer", signer]
    return data(cli(*args, as_user=RESP))


def test_sign_completed_names_the_sealed_copy(cli, db, clock, office, signing):
    made = sign_request(cli, office, RESP)
    clock.advance(timedelta(seconds=30))
    code = register_secret(pyotp.TOTP(signing).at(clock.now()), "a TOTP code")
    before = last_id(db)
    done = data(cli("--format", "json", "sign", "accept", str(made["id"]), "--declare",
                    "--code-stdin", as_user=RESP, input=code + "\n"))  # fmt: skip
    written = [e for e in events(db) if e["id"] > before]
    # The sealed copy is filed (document.added), then the request is complete.
    assert [e["kind"] for e in written] == ["document.added", "sign.completed"]
    event = written[-1]
    check(event, "sign.completed", made["id"], office["alfa"], uid(db, RESP))
    assert event["changes"] == {"status": {"old": "sent", "new": "completed"}}
    assert event["data"] == {
        "title": made["title"], "document_id": made["document_id"],
        "sealed_document_id": done["sealed_document_id"],
        "sealed_sha256": done["sealed_sha256"],
    }  # fmt: skip


def test_sign_declined_with_its_reason_and_none_when_refused(cli, db, office, signing):
    made = sign_request(cli, office, EXT_ALFA, RESP)
    before = last_id(db)
    decline = ["--format", "json", "sign", "decline", str(made["id"]), "--reason"]
    assert_one_line_error(cli(*decline, "   ", as_user=EXT_ALFA), 6, "--reason")
    assert_one_line_error(cli(*decline, "no", as_user=EXT_BETA), 3)
    assert last_id(db) == before
    ok(cli(*decline, "La data è sbagliata", as_user=EXT_ALFA))
    [event] = [e for e in events(db) if e["id"] > before]
    check(event, "sign.declined", made["id"], office["alfa"], uid(db, EXT_ALFA))
    assert event["changes"] == {"status": {"old": "sent", "new": "declined"}}
    assert event["data"] == {
        "title": made["title"], "document_id": made["document_id"],
        "reason": "La data è sbagliata", "signer_id": uid(db, EXT_ALFA),
    }  # fmt: skip


# --- who reads them; what an erasure leaves -----------------------------------------


def listed(cli, who: str, *args: str) -> list[dict]:
    return data(cli("events", "list", *args, "--json", as_user=who))


def test_events_list_shows_a_clients_events_to_who_sees_the_client(cli, db, office, tmp_path):
    alfa = office["alfa"]
    ok(cli("client", "edit", str(alfa), "--name", "Alfa Due Srl", as_user=RESP))
    ok(cli("doc", "folder", "add", "--client", str(alfa), "IVA"))
    ok(cli("doc", "add", write(tmp_path / "f.pdf", "f"), "--client", str(alfa), "--folder", "IVA"))
    kinds = {"client.onboarded", "client.updated", "document.added"}
    for who in (ADMIN_EMAIL, RESP, SADMIN, EXT_ALFA):
        seen = [e for e in listed(cli, who, "--client", str(alfa)) if e["client_id"] == alfa]
        assert {e["kind"] for e in seen} >= kinds, who
        assert all(e["schema"] == 1 for e in seen)
    for who in (EXT_BETA, OTHER):
        assert not [e for e in listed(cli, who) if e["client_id"] == alfa], who
    assert_one_line_error(cli("events", "list", "--client", str(alfa), as_user=EXT_BETA), 3)
    # Beta's user sees Beta's onboarding; Alfa's chat mentions only to Alfa's chat readers.
    assert [e["object"]["id"] for e in listed(cli, EXT_BETA, "--kind", "client.onboarded")] == [
        office["beta"]
    ]
    ok(cli("chat", "send", str(chat_of(db, alfa)), "@ezio.alfa ciao", as_user=RESP))
    assert listed(cli, EXT_ALFA, "--kind", "chat.mentioned")
    assert not listed(cli, EXT_BETA, "--kind", "chat.mentioned")
    assert not listed(cli, OTHER, "--kind", "chat.mentioned")
    schema = json.loads(SCHEMA_FILE.read_text())
    for event in listed(cli, ADMIN_EMAIL):
        jsonschema.validate(event, schema)


def test_an_erasure_leaves_no_erased_value_in_the_events(cli, db, office):
    alfa = str(office["alfa"])
    ok(cli("client", "edit", alfa, "--email", "nuovo@alfa.test", "--pec", "alfa@pec.test",
           "--nickname", "Alfetta"))  # fmt: skip
    ok(cli("consent", "request", "--client", alfa, "--yes", as_user=SADMIN))
    ok(cli("chat", "send", str(chat_of(db, office["alfa"])), "@ezio.alfa il mio CF è segreto",
           as_user=EXT_ALFA))  # fmt: skip
    ok(cli("consent", "answer", alfa, "yes", "--comment", "firmato Ezio Alfa", as_user=EXT_ALFA))
    ok(cli("client", "erase", alfa, "--reason", "richiesta dell'interessato", "--yes",
           "--password-stdin", input=ADMIN_PASSWORD + "\n"))  # fmt: skip
    stored = json.dumps([[e["changes"], e["data"]] for e in events(db)], ensure_ascii=False)
    for value in ("info@alfa.test", "nuovo@alfa.test", "alfa@pec.test", "Alfetta", EXT_ALFA,
                  "Ezio", "segreto"):  # fmt: skip
        assert value not in stored, value
    assert {e["kind"] for e in events(db) if e["client_id"] == office["alfa"]} >= {
        "client.onboarded", "client.updated", "consent.requested", "consent.answered",
    }  # fmt: skip
