"""`sempi client export` and `sempi client erase`: personal data under the GDPR,
within the duty to keep accounting records."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, NOW, actor, cf_person, piva, store_digest
from tests.helpers import assert_one_line_error, ok

STAFF = "marco@sempi.test"
EXTERNAL, EXTERNAL_PASSWORD = "erika@bianchini.test", "erika-has-a-long-password"
STUDIO_ADMIN, STUDIO_ADMIN_PASSWORD = "sara@studiorossi.test", "sara-has-a-long-password"
OPERATOR, OPERATOR_PASSWORD = "olga@studiorossi.test", "olga-has-a-long-password"
CLIENT_EMAIL, CLIENT_PEC, NICKNAME = "info@bianchini.test", "bianchini@pec-mail.test", "Binky"
EXTERNAL_NAME, EXTERNAL_CF = "Erika Esterna", cf_person(4)
REASON = "request of the data subject, PEC of 3 November 2026"
PROFILE_KEYS = ("iva_periodicity", "sostituto_imposta", "forfettario", "taxpayer_kind")


def business_digest(path: Path) -> str:
    """Everything but the logs a refusal legitimately writes to (the audit log's
    'denied' and 'auth_failed' entries, the failure counter)."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT IN ('audit_log', 'auth_failures') ORDER BY name"
            )
        ]
        text = "\n".join(
            f"{t}:{row!r}" for t in tables for row in conn.execute(f"SELECT * FROM {t} ORDER BY 1")
        )
        return hashlib.sha256(text.encode()).hexdigest()
    finally:
        conn.close()


def actions_since(path: Path, last_id: int) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_log WHERE id > ? ORDER BY id", (last_id,)
            )
        ]
    finally:
        conn.close()


def last_audit_id(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def world(cli) -> dict:
    """A practice with its admin and an operator, a client with contacts, a
    responsible, SMART services, an external user, and a second client."""
    studio = json.loads(
        ok(
            cli("studio", "add", "--name", "Studio Rossi", "--partita-iva", piva(900), "--json")
        ).stdout
    )["id"]
    ok(cli("user", "add", "--email", STAFF, "--name", "Marco Verdi", "--role", "staff"))
    for email, name, role, password in (
        (STUDIO_ADMIN, "Sara Rossi", "studio-admin", STUDIO_ADMIN_PASSWORD),
        (OPERATOR, "Olga Operatrice", "studio-operator", OPERATOR_PASSWORD),
    ):
        ok(
            cli(
                "user", "add", "--email", email, "--name", name, "--role", role,
                "--studio", str(studio), "--password-stdin", input=password + "\n",
            )
        )  # fmt: skip
    client = json.loads(
        ok(
            cli(
                "client", "add", "--name", "Bianchini Srl", "--studio", str(studio),
                "--piva", piva(1), "--cf", piva(1), "--email", CLIENT_EMAIL, "--pec", CLIENT_PEC,
                "--nickname", NICKNAME, "-r", STAFF, "--smart", "fattura-smart,smart-hub",
                "-p", "iva_periodicity=mensile", "-p", "sostituto_imposta=yes", "--json",
            )
        ).stdout
    )  # fmt: skip
    cid = client["id"]
    external = json.loads(
        ok(
            cli(
                "user", "add", "--email", EXTERNAL, "--name", EXTERNAL_NAME, "--role", "external",
                "--client", str(cid), "--cf", EXTERNAL_CF, "--password-stdin", "--json",
                input=EXTERNAL_PASSWORD + "\n",
            )
        ).stdout
    )  # fmt: skip
    ok(cli("group", "add-member", str(cid), OPERATOR))
    other = json.loads(
        ok(
            cli("client", "add", "--name", "Altri Snc", "--studio", str(studio), "--piva", piva(2),
                "--email", "altri@altri.test", "--json")
        ).stdout
    )  # fmt: skip
    return {"studio": studio, "client": client, "external": external, "other": other}


def export(cli, client_id, output, *, as_user=ADMIN_EMAIL, password=ADMIN_PASSWORD):
    return cli(
        "client", "export", str(client_id), "--output", str(output), "--password-stdin",
        as_user=as_user, input=password + "\n",
    )  # fmt: skip


def erase(cli, client_id, *extra, as_user=ADMIN_EMAIL, password=ADMIN_PASSWORD):
    return cli(
        "client", "erase", str(client_id), *extra, "--password-stdin", "--json",
        as_user=as_user, input=password + "\n",
    )  # fmt: skip


# --- export ---------------------------------------------------------------------


def test_export_holds_everything_about_the_client(cli, world, tmp_path, store_path):
    cid = world["client"]["id"]
    out = tmp_path / "bianchini.json"
    ok(export(cli, cid, out))
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    data = json.loads(out.read_text(encoding="utf-8"))

    assert data["format"] == "sempi-client-export/1"
    assert data["exported_at"] == NOW.isoformat(timespec="seconds")
    client = data["client"]
    assert client == world["client"]  # the same record as `client show`
    assert (client["email"], client["pec"], client["nickname"]) == (
        CLIENT_EMAIL,
        CLIENT_PEC,
        NICKNAME,
    )
    assert client["smart_services"] == ["fattura-smart", "smart-hub"]
    assert client["iva_periodicity"] == "mensile" and client["sostituto_imposta"] is True
    assert data["practice"] == {"id": world["studio"], "name": "Studio Rossi"}
    assert data["responsible"]["email"] == STAFF
    members = data["work_group"]
    assert [m["user_id"] for m in members] == sorted(m["user_id"] for m in members)
    assert {(m["email"], m["role"]) for m in members} == {
        (STAFF, "staff"),
        (EXTERNAL, "external"),
        (OPERATOR, "studio-operator"),
    }
    assert set(members[0]) == {"user_id", "email", "full_name", "role", "added_at"}
    [external] = data["external_users"]
    assert external["email"] == EXTERNAL and external["codice_fiscale"] == EXTERNAL_CF
    assert external["full_name"] == EXTERNAL_NAME and external["disabled_at"] is None
    assert "password_hash" not in external and "otp_secret" not in json.dumps(data)

    activity = data["activity"]
    assert [a["id"] for a in activity] == sorted(a["id"] for a in activity)
    assert {(a["object_type"], a["object_id"]) for a in activity} <= {
        ("client", cid),
        ("work_group", cid),
    }
    actions = [a["action"] for a in activity]
    assert actions[0] == "add" and actions.count("add_member") == 3
    assert all(isinstance(a["details"], dict) for a in activity)
    assert "altri@altri.test" not in out.read_text()  # nothing of the other client


def test_export_holds_the_onboarding_record_and_the_documents_index(cli, world, tmp_path):
    added = json.loads(
        ok(
            cli("client-onboard", "add", "--name", "Onboarded Srl", "--studio",
                str(world["studio"]), "--piva", piva(3), "-m", "tasks", "-m", "documents",
                "--delegation", "cassetto_fiscale:AB12345:2027-12-31", "--no-deadlines",
                "--json")
        ).stdout
    )  # fmt: skip
    cid = str(added["client"]["id"])
    kept, gone = tmp_path / "bilancio.pdf", tmp_path / "vecchio.pdf"
    kept.write_bytes(b"bilancio 2025")
    gone.write_bytes(b"vecchio")
    ok(cli("doc", "add", str(kept), str(gone), "--client", cid, "--folder", "Contabilità"))
    [old] = [d for d in json.loads(ok(cli("doc", "list", "--client", cid, "--json")).stdout)
             if d["name"] == "vecchio.pdf"]  # fmt: skip
    ok(cli("doc", "remove", str(old["id"])))
    out = tmp_path / "onboarded.json"
    ok(export(cli, cid, out))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["modules"] == ["tasks", "documents"]
    assert data["delegations"] == [
        {"kind": "cassetto_fiscale", "reference": "AB12345", "valid_until": "2027-12-31"}
    ]
    assert "Contabilità" in {f["path"] for f in data["folders"]}
    documents = {d["name"]: d for d in data["documents"]}
    assert documents["bilancio.pdf"]["sha256"] == hashlib.sha256(b"bilancio 2025").hexdigest()
    assert documents["bilancio.pdf"]["folder"] == "Contabilità"
    assert documents["vecchio.pdf"]["removed_at"] is not None  # removed ones too
    plain = json.loads(ok(export(cli, world["client"]["id"], "-")).stdout)
    assert (plain["modules"], plain["delegations"], plain["documents"]) == (None, [], [])


def test_two_exports_are_identical_and_the_export_is_audited(cli, world, tmp_path):
    cid = world["client"]["id"]
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    ok(export(cli, cid, first))
    ok(export(cli, cid, second))
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().endswith(b"}\n")
    stdout = ok(export(cli, cid, "-")).stdout
    assert stdout.encode() == first.read_bytes()

    log = json.loads(
        ok(cli("audit", "list", "--object", "client", "--id", str(cid), "--json")).stdout
    )
    exports = [e for e in log if e["action"] == "export"]
    assert len(exports) == 3
    assert exports[0]["actor"] == ADMIN_EMAIL
    assert exports[0]["details"] == {
        "activity_entries": 4,
        "documents": 0,
        "external_users": 1,
        "format": "sempi-client-export/1",
        "work_group_members": 3,
    }  # counts only: never the data


def test_export_by_the_practice_admin(cli, world, tmp_path):
    out = tmp_path / "x.json"
    ok(
        export(
            cli, world["client"]["id"], out, as_user=STUDIO_ADMIN, password=STUDIO_ADMIN_PASSWORD
        )
    )
    assert json.loads(out.read_text())["client"]["id"] == world["client"]["id"]


def test_export_refuses_to_overwrite(cli, world, tmp_path, store_path):
    out = tmp_path / "taken.json"
    out.write_text("precious\n")
    before = store_digest(store_path)
    line = assert_one_line_error(export(cli, world["client"]["id"], out), 4)
    assert "already exists" in line
    assert out.read_text() == "precious\n"
    assert store_digest(store_path) == before


def test_export_into_a_missing_folder(cli, world, tmp_path, store_path):
    before = store_digest(store_path)
    line = assert_one_line_error(
        export(cli, world["client"]["id"], tmp_path / "nope" / "x.json"), 6
    )
    assert "--output" in line
    assert store_digest(store_path) == before


def test_export_of_an_unknown_client(cli, world, tmp_path, store_path):
    out = tmp_path / "x.json"
    before = store_digest(store_path)
    assert_one_line_error(export(cli, 404, out), 3, "client 404")
    assert not out.exists()
    assert store_digest(store_path) == before


def test_wrong_password_at_step_up_writes_nothing(cli, world, tmp_path, store_path):
    out = tmp_path / "x.json"
    before, last = business_digest(store_path), last_audit_id(store_path)
    assert_one_line_error(export(cli, world["client"]["id"], out, password="not-the-password"), 7)
    assert not out.exists()
    assert_one_line_error(
        erase(cli, world["client"]["id"], "--reason", REASON, "--yes", password="not-it-either"), 7
    )
    assert business_digest(store_path) == before
    assert set(actions_since(store_path, last)) == {"auth_failed"}  # only the failures


@pytest.mark.parametrize("who", ["operator", "other practice's admin", "staff responsible"])
def test_others_may_not_export_or_erase(cli, world, tmp_path, store_path, who):
    cid = world["client"]["id"]
    if who == "operator":
        user, password, code = OPERATOR, OPERATOR_PASSWORD, 8
    elif who == "staff responsible":
        ok(cli("user", "add", "--email", "s2@sempi.test", "--name", "S Two", "--role", "staff"))
        ok(cli("client", "edit", str(cid), "-r", "s2@sempi.test"))
        user, password, code = "s2@sempi.test", "irrelevant", 8
    else:
        other = json.loads(ok(cli("studio", "add", "--name", "Studio Neri", "--json")).stdout)
        user, password, code = "nero@neri.test", "nero-has-a-long-password", 3
        ok(
            cli(
                "user", "add", "--email", user, "--name", "Nero", "--role", "studio-admin",
                "--studio", str(other["id"]), "--password-stdin", input=password + "\n",
            )
        )  # fmt: skip
    out = tmp_path / "x.json"
    before, last = business_digest(store_path), last_audit_id(store_path)
    # The password is never asked for: the wrong one would say 7, not 8.
    assert_one_line_error(export(cli, cid, out, as_user=user, password="wrong"), code)
    assert_one_line_error(erase(cli, cid, "--reason", REASON, "--yes", as_user=user), code)
    assert not out.exists()
    assert business_digest(store_path) == before
    assert set(actions_since(store_path, last)) <= {"denied"}


def test_an_application_password_may_not_export_or_erase_service(
    db, clock, admin, world, store_path
):
    from sempi_cli.errors import PermissionDenied
    from sempi_cli.services.privacy.gdpr import PrivacyService

    cid = world["client"]["id"]
    asked = []

    def confirm():  # must never be called
        asked.append(1)
        raise AssertionError("the password was asked for")

    service = PrivacyService(db, clock, dataclasses.replace(admin, via="app_password"))
    before = store_digest(store_path)
    with pytest.raises(PermissionDenied, match="application password") as caught:
        service.export(cid, confirm)
    assert caught.value.exit_code == 8
    with pytest.raises(PermissionDenied, match="application password"):
        service.erase(cid, confirm, REASON)
    assert not asked
    assert store_digest(store_path) == before


def test_an_application_password_may_not_export_cli(cli, world, tmp_path, monkeypatch):
    secret = ok(
        cli("auth", "app-password", "add", "cron", "--password-stdin", input=ADMIN_PASSWORD + "\n")
    ).stdout.strip()
    monkeypatch.setenv("SEMPI_USER", ADMIN_EMAIL)
    monkeypatch.setenv("SEMPI_APP_PASSWORD", secret)
    out = tmp_path / "x.json"
    line = assert_one_line_error(export(cli, world["client"]["id"], out, as_user=None), 8)
    assert "application password" in line
    assert not out.exists()
    line = assert_one_line_error(
        erase(cli, world["client"]["id"], "--reason", REASON, "--yes", as_user=None), 8
    )
    assert "application password" in line


def test_permission_is_checked_before_the_password_is_asked(db, clock, world):
    from sempi_cli.errors import PermissionDenied
    from sempi_cli.services.privacy.gdpr import PrivacyService

    def confirm():
        raise AssertionError("the password was asked for")

    service = PrivacyService(db, clock, actor(db, OPERATOR))
    with pytest.raises(PermissionDenied):
        service.export(world["client"]["id"], confirm)
    with pytest.raises(PermissionDenied):
        service.erase(world["client"]["id"], confirm, REASON)


# --- erase ----------------------------------------------------------------------


def test_erase_removes_and_keeps_exactly_what_is_documented(cli, world, tmp_path, store_path):
    cid = world["client"]["id"]
    ok(cli("login", "--email", EXTERNAL, "--password-stdin", as_user=None, input=EXTERNAL_PASSWORD + "\n"))  # fmt: skip
    ok(cli("whoami", as_user=None))
    ok(cli("auth", "app-password", "add", "sync", "--password-stdin", as_user=EXTERNAL, input=EXTERNAL_PASSWORD + "\n"))  # fmt: skip
    before_file = tmp_path / "before.json"
    ok(export(cli, cid, before_file))
    before = json.loads(before_file.read_text())

    cli.clock.advance(timedelta(hours=1))
    result = json.loads(ok(erase(cli, cid, "--reason", f"  {REASON} ", "--yes")).stdout)
    assert result["erased"] == ["email", "pec", "nickname", "smart_services"]
    assert result["kept"] == ["ragione_sociale", "codice_fiscale", "partita_iva", "fiscal_profile"]
    assert result["reason"] == REASON
    assert "art. 2220 c.c." in result["legal_basis"] and "DPR 600/1973" in result["legal_basis"]
    assert result["external_users_erased"] == [world["external"]["id"]]
    assert result["removed_at"] == result["erased_at"] == (NOW + timedelta(hours=1)).isoformat()
    # The append-only log never held the personal values in the first place.
    assert result["log_entries_naming_erased_values"] == 0

    after_file = tmp_path / "after.json"
    ok(export(cli, cid, after_file))
    after = json.loads(after_file.read_text())
    old, new = before["client"], after["client"]
    changed = {k for k in old if old[k] != new[k]}
    assert changed == {"email", "pec", "nickname", "smart_services", "updated_at", "removed_at"}
    assert (new["email"], new["pec"], new["nickname"], new["smart_services"]) == (
        None,
        None,
        None,
        [],
    )
    for key in ("ragione_sociale", "codice_fiscale", "partita_iva", *PROFILE_KEYS):
        assert new[key] == old[key]
    assert after["responsible"] == before["responsible"]

    [external] = after["external_users"]
    assert external["email"] == f"erased-{external['id']}@invalid"
    assert external["full_name"] == "Erased user" and external["codice_fiscale"] is None
    assert external["disabled_at"] is not None
    assert EXTERNAL not in {m["email"] for m in after["work_group"]}
    assert {m["email"] for m in after["work_group"]} == {STAFF, OPERATOR}
    assert_one_line_error(cli("whoami", as_user=None), 7)  # the external's session has ended
    login = cli(
        "login", "--email", EXTERNAL, "--password-stdin", as_user=None,
        input=EXTERNAL_PASSWORD + "\n",
    )  # fmt: skip
    assert_one_line_error(login, 7)

    conn = sqlite3.connect(store_path)
    try:
        uid = world["external"]["id"]
        live = conn.execute(
            "SELECT (SELECT count(*) FROM sessions WHERE user_id = :u AND revoked_at IS NULL),"
            " (SELECT count(*) FROM app_passwords WHERE user_id = :u AND revoked_at IS NULL),"
            " (SELECT password_hash FROM users WHERE id = :u)",
            {"u": uid},
        ).fetchone()
    finally:
        conn.close()
    assert live == (0, 0, None)

    # The other client is untouched.
    other = json.loads(ok(cli("client", "show", str(world["other"]["id"]), "--json")).stdout)
    assert other == world["other"]


def test_erase_is_audited_with_the_reason_and_without_personal_data(cli, world, store_path):
    cid = world["client"]["id"]
    last = last_audit_id(store_path)
    ok(erase(cli, cid, "--reason", REASON, "--yes"))
    conn = sqlite3.connect(store_path)
    try:
        rows = conn.execute(
            "SELECT action, object_type, object_id, details FROM audit_log WHERE id > ? ORDER BY id",
            (last,),
        ).fetchall()
    finally:
        conn.close()
    by_action = {(a, t): (o, json.loads(d)) for a, t, o, d in rows}
    assert set(by_action) == {
        ("remove_member", "work_group"),
        ("erase", "user"),
        ("remove", "client"),
        ("erase", "client"),
    }
    object_id, details = by_action[("erase", "client")]
    assert object_id == cid
    assert details["reason"] == REASON
    assert details["legal_note"] == (
        "kept: ragione_sociale, codice_fiscale, partita_iva, fiscal profile"
        " \u2014 art. 2220 c.c., art. 22 DPR 600/1973"
    )
    assert details["erased"] == ["email", "pec", "nickname", "smart_services"]
    assert details["external_users"] == [world["external"]["id"]]
    text = json.dumps([r[3] for r in rows])
    for value in (CLIENT_EMAIL, CLIENT_PEC, NICKNAME, EXTERNAL, EXTERNAL_NAME, EXTERNAL_CF):
        assert value not in text


def _raw_store_bytes(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
    finally:
        conn.close()
    data = path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            data += extra.read_bytes()
    return data


def test_erased_values_are_gone_from_the_file(cli, world, store_path):
    """secure_delete=ON: the old values are overwritten on disk, not just unlinked."""
    erased = (CLIENT_EMAIL, CLIENT_PEC, EXTERNAL_NAME, EXTERNAL_CF)
    raw = _raw_store_bytes(store_path)
    assert all(v.encode() in raw for v in erased)  # the check can see them
    ok(erase(cli, world["client"]["id"], "--reason", REASON, "--yes"))
    raw = _raw_store_bytes(store_path)
    for value in erased:
        assert value.encode() not in raw, value
    assert b"Bianchini Srl" in raw and piva(1).encode() in raw  # kept for the books


def test_erase_reaches_the_mail_outbox(cli, world, store_path, db, clock):
    """Mail to the client and its people loses address, subject and body; unsent mail is cancelled."""
    from sempi_cli.services.mail.outbox import Outbox

    outbox = Outbox(db, clock, actor(db, ADMIN_EMAIL))
    context = {"full_name": EXTERNAL_NAME, "client": "Bianchini Srl"}
    queued = outbox.queue("consent", EXTERNAL, context)
    db.commit()
    ok(erase(cli, world["client"]["id"], "--reason", REASON, "--yes"))
    row = db.execute(
        "SELECT to_address, subject, body, status FROM mail_outbox WHERE id = ?", (queued,)
    ).fetchone()
    assert EXTERNAL not in row[0] and EXTERNAL_NAME not in row[2] and row[3] == "cancelled"
    assert EXTERNAL.encode() not in _raw_store_bytes(store_path)


def test_erasing_twice_is_refused(cli, world, store_path):
    cid = world["client"]["id"]
    ok(erase(cli, cid, "--reason", REASON, "--yes"))
    before = store_digest(store_path)
    line = assert_one_line_error(erase(cli, cid, "--reason", REASON, "--yes", password="unused"), 5)
    assert "already erased" in line
    assert store_digest(store_path) == before


def test_erase_of_a_removed_client_keeps_its_removal_date(cli, world):
    cid = world["client"]["id"]
    ok(cli("client", "remove", str(cid), "--yes"))
    removed_at = json.loads(ok(cli("client", "show", str(cid), "--json")).stdout)["removed_at"]
    result = json.loads(ok(erase(cli, cid, "--reason", REASON, "--yes")).stdout)
    assert result["removed_at"] == removed_at


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        ([], 2, "--reason"),
        (["--reason", "   "], 6, "--reason"),
        (["--reason", "x" * 501], 6, "--reason"),
        (["--reason", REASON], 2, "--yes"),  # no terminal to confirm on
    ],
)
def test_erase_bad_input_is_one_line_and_changes_nothing(cli, world, store_path, args, code, words):
    before = store_digest(store_path)
    line = assert_one_line_error(
        cli("client", "erase", str(world["client"]["id"]), *args, "--password-stdin",
            input=ADMIN_PASSWORD + "\n"),
        code,
    )  # fmt: skip
    assert words in line
    assert store_digest(store_path) == before


def test_erase_of_an_unknown_client(cli, world, store_path):
    before = store_digest(store_path)
    assert_one_line_error(erase(cli, 404, "--reason", REASON, "--yes"), 3, "client 404")
    assert store_digest(store_path) == before


def test_dry_run_shows_the_plan_and_changes_nothing(cli, world, store_path):
    cid = world["client"]["id"]
    before = store_digest(store_path)
    result = cli("client", "erase", str(cid), "--reason", REASON, "--dry-run", "--json")
    plan = json.loads(ok(result).stdout)
    assert plan["erase"] == ["email", "pec", "nickname", "smart_services"]
    assert plan["keep"] == ["ragione_sociale", "codice_fiscale", "partita_iva", "fiscal_profile"]
    assert plan["external_users"] == [world["external"]["id"]] and plan["remove"] is True
    assert store_digest(store_path) == before


def test_erase_by_the_practice_admin(cli, world):
    cid = world["client"]["id"]
    result = erase(
        cli, cid, "--reason", REASON, "--yes", as_user=STUDIO_ADMIN, password=STUDIO_ADMIN_PASSWORD
    )
    assert json.loads(ok(result).stdout)["client_id"] == cid
