"""`sempi client-onboard add` and `show`: each step of one onboarding, the rollback of
all of them when any fails, the dry run, bad input, and who may onboard.

The batch is in test_onboarding_batch.py; real processes in test_onboarding_processes.py.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import ADMIN_EMAIL, cf_person, piva, store_digest
from tests.helpers import (
    OTHER_ADMIN,
    RESP,
    SADMIN,
    STAFF2,
    assert_one_line_error,
    ok,
    onboarding_practices,
)
from tests.helpers import PRACTICE_OPERATOR as OPERATOR

LAURA = "Laura Bianchi <Laura@Bianchi.IT>"


@pytest.fixture
def practice(cli) -> dict:
    """Studio Rossi (an administrator and an operator), Studio Verdi (its administrator),
    two firm staff members."""
    return onboarding_practices(cli)


def onboard(cli, *extra, name="Bianchi Srl", number=1, as_user=ADMIN_EMAIL):
    return cli(
        "client-onboard",
        "add",
        "--name",
        name,
        "--studio",
        "Studio Rossi",
        "--piva",
        piva(number),
        *extra,
        "--json",
        as_user=as_user,
    )


FULL = (
    "-r", RESP,
    "-p", "iva_periodicity=mensile",
    "-p", "has_employees=sì",
    "--external", LAURA,
    "--external", "Mario Bianchi <mario@bianchi.it>",
    "--delegation", "cassetto_fiscale:AB12345:2027-12-31",
    "--delegation", "inps:INPS/2026/77:30/06/2026",
)  # fmt: skip


def rows(store_path, sql, *params):
    conn = sqlite3.connect(store_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# --- each step ----------------------------------------------------------------------------


def test_one_onboarding_does_every_step(cli, practice, store_path):
    report = json.loads(ok(onboard(cli, *FULL)).stdout)
    client = report["client"]
    client_id = client["id"]
    assert report["dry_run"] is False
    # 1. the client record, validated and normalised as `client add` does
    assert (client["ragione_sociale"], client["partita_iva"]) == ("Bianchi Srl", piva(1))
    assert client["responsible"] == RESP and client["iva_periodicity"] == "mensile"
    assert client["has_employees"] is True
    # 2. its work group: the responsible, the practice's users, the external users
    members = {(m["email"], m["role"]) for m in report["members"]}
    assert members == {
        (RESP, "staff"),
        (SADMIN, "studio-admin"),
        (OPERATOR, "studio-operator"),
        ("laura@bianchi.it", "external"),
        ("mario@bianchi.it", "external"),
    }
    assert STAFF2 not in {m[0] for m in members}  # firm staff are not the practice's users
    externals = rows(
        store_path,
        "SELECT email, full_name, role, client_id, password_hash FROM users WHERE role = 'external'"
        " ORDER BY email",
    )
    assert externals == [
        ("laura@bianchi.it", "Laura Bianchi", "external", client_id, None),
        ("mario@bianchi.it", "Mario Bianchi", "external", client_id, None),
    ]
    # 3. its document folders: the firm's default tree
    assert report["folders"] == [
        "Anagrafica", "Contabilità", "IVA", "F24", "Dichiarazioni", "Dipendenti", "Corrispondenza",
    ]  # fmt: skip
    assert rows(store_path, "SELECT count(*) FROM doc_folders WHERE client_id = ?", client_id) == [
        (7,)
    ]
    # 4. the modules its people find (all by default)
    assert report["modules"] == ["tasks", "documents", "chat", "smart"]
    assert rows(
        store_path, "SELECT module FROM client_modules WHERE client_id = ? ORDER BY 1", client_id
    ) == [("chat",), ("documents",), ("smart",), ("tasks",)]
    # 5. the delegations, with their status today (the clock says 16 November 2026)
    assert report["delegations"] == [
        {"kind": "cassetto_fiscale", "reference": "AB12345", "valid_until": "2027-12-31",
         "status": "valid"},
        {"kind": "inps", "reference": "INPS/2026/77", "valid_until": "2026-06-30",
         "status": "expired"},
    ]  # fmt: skip
    assert rows(
        store_path,
        "SELECT kind, reference, valid_until, recorded_by FROM client_delegations ORDER BY kind",
    ) == [
        ("cassetto_fiscale", "AB12345", "2027-12-31", 1),
        ("inps", "INPS/2026/77", "2026-06-30", 1),
    ]
    # 6. one invitation e-mail queued per external user
    assert [i["email"] for i in report["invitations"]] == ["laura@bianchi.it", "mario@bianchi.it"]
    assert all(i["mail_id"] for i in report["invitations"])
    queued = rows(store_path, "SELECT to_address, kind FROM mail_outbox ORDER BY id")
    assert queued == [("laura@bianchi.it", "invitation"), ("mario@bianchi.it", "invitation")]
    assert rows(store_path, "SELECT count(*) FROM invitations") == [(2,)]
    # 7. its deadlines for the scheduler's horizon, as tasks of the responsible
    deadlines = report["deadlines"]
    assert (deadlines["from"], deadlines["to"]) == ("2026-11-16", "2027-11-15")
    held = rows(store_path, "SELECT count(*) FROM deadlines WHERE client_id = ?", client_id)
    assert held == [(deadlines["created"],)] and deadlines["created"] > 12
    assert rows(
        store_path,
        "SELECT DISTINCT t.responsible_id FROM deadlines d JOIN tasks t ON t.id = d.task_id",
    ) == [(client["responsible_id"],)]
    assert rows(store_path, "SELECT status FROM scheduler_runs") == [("ok",)]
    # and one audit entry says it was an onboarding
    audit = rows(
        store_path, "SELECT details FROM audit_log WHERE action = 'onboard' AND object_id = ?",
        client_id,
    )  # fmt: skip
    assert json.loads(audit[0][0])["externals"] == 2


def test_terminal_summary_and_show(cli, practice):
    result = ok(cli("client-onboard", "add", "--name", "Bianchi Srl", "--studio",
                    "Studio Rossi", "--piva", piva(1), *FULL))  # fmt: skip
    assert "Client 1 (Bianchi Srl) onboarded." in result.stderr
    lines = dict((line + " ").split(" ", 1) for line in result.stdout.splitlines())
    lines = {k: v.strip() for k, v in lines.items()}
    assert lines["members"].count("(external)") == 2
    assert lines["delegations"].startswith("cassetto_fiscale AB12345 until 2027-12-31 (valid)")
    assert "from 2026-11-16 to 2027-11-15" in lines["deadlines"]

    shown = json.loads(ok(cli("client-onboard", "show", "1", "--json")).stdout)
    assert shown["modules"] == ["tasks", "documents", "chat", "smart"]
    assert [d["status"] for d in shown["delegations"]] == ["valid", "expired"]
    assert shown["folders"] == 7 and len(shown["members"]) == 5
    # an external user sees their own client's record, not another's
    assert assert_one_line_error(cli("client-onboard", "show", "1", as_user=STAFF2), 3)


def test_practice_users_none_modules_and_no_deadlines(cli, practice, store_path):
    report = json.loads(
        ok(
            onboard(cli, "-r", RESP, "--practice-users", "none", "-m", "documents", "-m",
                    "tasks", "--no-deadlines")
        ).stdout
    )  # fmt: skip
    assert [m["email"] for m in report["members"]] == [RESP]
    assert report["modules"] == ["tasks", "documents"]
    assert report["deadlines"] is None and report["invitations"] == []
    assert rows(store_path, "SELECT count(*) FROM deadlines") == [(0,)]
    assert rows(store_path, "SELECT count(*) FROM scheduler_runs") == [(0,)]


def test_modules_and_delegations_are_written_as_in_a_batch_file(cli, practice, store_path):
    """`-m tasks,documents` as a batch cell says it; a reference may hold ',' and ';' as a
    batch cell's may (only '|' and line ends separate delegations there)."""
    report = json.loads(
        ok(
            onboard(cli, "-m", "tasks,documents", "-m", "chat", "--delegation",
                    "inps:12,34;5:2027-01-01", "--no-deadlines")
        ).stdout
    )  # fmt: skip
    assert report["modules"] == ["tasks", "documents", "chat"]
    assert rows(store_path, "SELECT kind, reference FROM client_delegations") == [
        ("inps", "12,34;5")
    ]


def test_without_a_responsible_the_deadlines_are_the_onboarders(cli, practice, store_path):
    report = json.loads(ok(onboard(cli)).stdout)
    assert report["deadlines"]["assigned_to_you"] is True
    assert rows(
        store_path,
        "SELECT DISTINCT t.responsible_id FROM deadlines d JOIN tasks t ON t.id = d.task_id",
    ) == [(1,)]


def test_a_persona_fisica_needs_a_persons_codice_fiscale(cli, practice):
    ok(cli("client-onboard", "add", "--name", "Mario Rossi", "--studio", "Studio Rossi",
           "--kind", "persona_fisica", "--cf", cf_person(3), "--no-deadlines"))  # fmt: skip
    error = assert_one_line_error(
        cli("client-onboard", "add", "--name", "Rossi Srl", "--studio", "Studio Rossi",
            "--kind", "persona_fisica", "--cf", piva(4)),
        6,
    )  # fmt: skip
    assert "--codice-fiscale" in error and "company code" in error


# --- the dry run ------------------------------------------------------------------------


def test_dry_run_reports_everything_and_leaves_the_store_byte_identical(cli, practice, store_path):
    before = store_digest(store_path)
    raw_before = store_path.read_bytes()
    report = json.loads(ok(onboard(cli, *FULL, "--dry-run")).stdout)
    assert store_digest(store_path) == before
    assert store_path.read_bytes() == raw_before  # the file itself (WAL mode: nothing checkpointed)
    assert report["dry_run"] is True
    assert report["client"]["id"] is None and report["client"]["ragione_sociale"] == "Bianchi Srl"
    assert len(report["members"]) == 5 and len(report["folders"]) == 7
    assert report["modules"] == ["tasks", "documents", "chat", "smart"]
    assert [d["kind"] for d in report["delegations"]] == ["cassetto_fiscale", "inps"]
    assert [(i["email"], i["mail_id"]) for i in report["invitations"]] == [
        ("laura@bianchi.it", None),
        ("mario@bianchi.it", None),
    ]
    assert report["deadlines"]["created"] > 12 and report["deadlines"]["run_id"] is None
    # the same onboarding for real does what the dry run said
    real = json.loads(ok(onboard(cli, *FULL)).stdout)
    assert real["deadlines"]["created"] == report["deadlines"]["created"]
    assert [m["email"] for m in real["members"]] == [m["email"] for m in report["members"]]


# --- one failing step undoes them all -------------------------------------------------------


def _fail_after(monkeypatch, target, name):
    """Make ``target.name`` do its work and then fail, as a step that breaks halfway."""
    from sempi_cli.errors import RuleViolation

    original = getattr(target, name)

    def failing(*args, **kwargs):
        original(*args, **kwargs)
        raise RuleViolation(f"injected failure in {name}")

    monkeypatch.setattr(target, name, failing)


def _steps():
    from sempi_cli.services import audit
    from sempi_cli.services.clients.clients import ClientService
    from sempi_cli.services.documents.folders import FolderService
    from sempi_cli.services.onboarding import onboard as onboarding
    from sempi_cli.services.org.groups import GroupService
    from sempi_cli.services.org.invitations import Invitations
    from sempi_cli.services.org.users import UserService
    from sempi_cli.services.scheduler.runner import SchedulerService

    return {
        "client": (ClientService, "add"),
        "work group": (GroupService, "add_member"),
        "external users": (UserService, "add"),
        "folders": (FolderService, "create_default_tree"),
        "modules": (onboarding, "set_modules"),
        "delegations": (onboarding, "upsert_delegations"),
        "invitations": (Invitations, "invite"),
        "deadlines": (SchedulerService, "run"),
        "audit": (audit, "record"),
    }


@pytest.mark.parametrize(
    "step",
    ["client", "work group", "external users", "folders", "modules", "delegations",
     "invitations", "deadlines", "audit"],
)  # fmt: skip
def test_a_failing_step_leaves_nothing_written(cli, practice, store_path, monkeypatch, step):
    before = store_digest(store_path)
    target, name = _steps()[step]
    _fail_after(monkeypatch, target, name)
    error = assert_one_line_error(onboard(cli, *FULL), 5)
    assert "injected failure" in error
    assert store_digest(store_path) == before


def test_an_unexpected_crash_in_a_step_leaves_nothing_written(
    cli, practice, store_path, monkeypatch
):
    from sempi_cli.services.documents.folders import FolderService

    before = store_digest(store_path)
    monkeypatch.setattr(FolderService, "create_default_tree", lambda self, client_id: 1 / 0)
    error = assert_one_line_error(onboard(cli, *FULL), 1)
    assert "internal error" in error
    assert store_digest(store_path) == before


# --- bad input: one line, the documented code, nothing written ------------------------------


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("--delegation", "cassetto_fiscale:AB1"), 6, "KIND:REFERENCE:VALID_UNTIL"),
        (("--delegation", "pin:AB1:2027-01-01"), 6, "not a kind of delegation"),
        (("--delegation", "inps:AB1:31/02/2027"), 6, "not a date of the calendar"),
        (("--delegation", "inps::2027-01-01"), 6, "has no reference"),
        (("--delegation", "inps:A:2027-01-01", "--delegation", "inps:B:2028-01-01"), 6, "twice"),
        (("--external", "laura@bianchi.it"), 6, "Nome Cognome <email>"),
        (("--external", "Laura <not-an-address>"), 6, "not a valid e-mail"),
        (("--external", LAURA, "--external", "L. B. <laura@bianchi.it>"), 6, "given twice"),
        (("--external", f"Admin <{ADMIN_EMAIL}>"), 4, "already exists"),
        (("--module", "payroll"), 6, "not a module"),
        (("--module", "tasks,payroll"), 6, "'payroll' is not a module"),
        (("--delegation", "inps:A|B:2027-01-01"), 6, "the inps reference has a '|'"),
        (
            ("--delegation", "inps:A:2027-01-01,cassetto_fiscale:B:2028-01-01"),
            6,
            "holds another delegation. Give each one apart",
        ),
        (("--delegation", "inps:A\x1b[2J:2027-01-01"), 6, "control character (U+001B)"),
        (("--external", "Anna\x1b[31m <anna@x.it>"), 6, "control character (U+001B)"),
        (("--name", "B" * 201), 6, "--name: longer than 200 characters"),
        (("--practice-users", "some"), 6, "--practice-users"),
        (("-p", "forfettario=sì", "-p", "iva_periodicity=mensile"), 6, "forfettario"),
        (("-r", "nobody@sempi.test"), 3, "nobody@sempi.test"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(cli, practice, store_path, args, code, words):
    before = store_digest(store_path)
    error = assert_one_line_error(onboard(cli, *args), code)
    assert words in error
    assert store_digest(store_path) == before


def test_a_client_already_there_is_a_conflict(cli, practice, store_path):
    ok(onboard(cli, "--no-deadlines"))
    before = store_digest(store_path)
    error = assert_one_line_error(onboard(cli, "--name", "Altro nome"), 4)
    assert "already has the partita IVA" in error
    assert store_digest(store_path) == before


def test_missing_studio_and_identifiers(cli, practice, store_path):
    before = store_digest(store_path)
    error = assert_one_line_error(
        cli("client-onboard", "add", "--name", "X Srl", "--studio", "Studio Neri", "--piva",
            piva(9)),
        3,
    )  # fmt: skip
    assert "Studio Neri" in error
    error = assert_one_line_error(
        cli("client-onboard", "add", "--name", "X Srl", "--piva", piva(9)), 6
    )
    # the firm administrator has no practice of their own
    assert error == "Error: --studio: missing. Give the client's practice (id or name)."
    error = assert_one_line_error(
        cli("client-onboard", "add", "--name", "X Srl", "--studio", "Studio Rossi"), 6
    )
    assert "codice fiscale or a partita IVA" in error
    assert store_digest(store_path) == before


# --- who may onboard ------------------------------------------------------------------------


def test_the_practices_administrator_onboards_for_their_practice(cli, practice, store_path):
    report = json.loads(
        ok(
            cli("client-onboard", "add", "--name", "Verdi Srl", "--piva", piva(5), "--json",
                "--external", LAURA, as_user=SADMIN)
        ).stdout
    )  # fmt: skip
    assert report["client"]["studio"] == "Studio Rossi"  # theirs, without --studio
    assert report["invitations"][0]["mail_id"]


@pytest.mark.parametrize(
    ("who", "code"),
    [(RESP, 8), (OPERATOR, 8), (OTHER_ADMIN, 3)],
)
def test_others_may_not_onboard(cli, practice, store_path, who, code):
    """Firm staff and operators are refused (8); another practice's administrator does
    not see Studio Rossi at all, so for them it does not exist (3, no leak)."""
    before = store_digest(store_path, ignore=("audit_log",))
    error = assert_one_line_error(onboard(cli, as_user=who), code)
    if code == 8:
        assert "firm administrator or the practice's administrator" in error
    assert store_digest(store_path, ignore=("audit_log",)) == before
