"""Consent requests (issue 15, "Requests"): who sends, which clients are eligible,
what a request writes (the request, the e-mail to the address and the PEC, the
notification to the client's users), dry runs, all-or-nothing and --partial."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sempi_cli.store import write_transaction
from tests.conftest import store_digest
from tests.helpers import assert_one_line_error, consent_answer, data, ok

SADMIN, OPERATOR, VADMIN = "sadmin@rossi.test", "op@rossi.test", "vadmin@verdi.test"
EXT, EXT2 = "ext@alfa.test", "ext2@alfa.test"


@pytest.fixture
def firm(org) -> dict:
    """Studio Rossi (SADMIN, OPERATOR) with Alfa (two SMART services, e-mail and PEC,
    two external users), Beta (one service, e-mail only), Gamma (no SMART service),
    Delta (a service, no address); Studio Verdi (VADMIN) with Epsilon."""
    rossi = org.practice("Studio Rossi")
    verdi = org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga", "studio-operator", studio=rossi)
    org.user(VADMIN, "Vera", "studio-admin", studio=verdi)
    smart = ["fattura-smart", "smart-hub"]
    alfa = org.client(
        "Alfa Srl", rossi, 1, email="info@alfa.test", pec="alfa@pec.test", smart_services=smart
    )
    beta = org.client("Beta Srl", rossi, 2, email="info@beta.test", smart_services=["smart-hub"])
    gamma = org.client("Gamma Srl", rossi, 3, email="info@gamma.test")
    delta = org.client("Delta Srl", rossi, 4, smart_services=["smart-hub"])
    epsilon = org.client("Epsilon Srl", verdi, 5, email="e@eps.test", smart_services=smart)
    org.user(EXT, "Ezio", "external", client=alfa)
    org.user(EXT2, "Elena", "external", client=alfa)
    org.group(alfa, OPERATOR)
    return {
        "rossi": rossi,
        "verdi": verdi,
        "alfa": alfa,
        "beta": beta,
        "gamma": gamma,
        "delta": delta,
        "epsilon": epsilon,
    }


def request(cli, *args, as_user=SADMIN):
    return cli("consent", "request", *args, "--json", "--yes", as_user=as_user)


def count(db, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# --- eligibility -------------------------------------------------------------------------


def test_all_sends_to_every_eligible_client_and_counts_the_others(cli, db, firm):
    report = data(request(cli, "--studio", "Studio Rossi", "--all"))
    assert report == {
        "dry_run": False,
        "requested": 2,  # Alfa and Beta
        "mails": 3,  # Alfa's e-mail and PEC, Beta's e-mail
        "notified": 2,  # Alfa's two external users
        "not_eligible": {"no_smart_service": 1, "no_address": 1},
    }
    rows = db.execute("SELECT client_id, services FROM consent_requests ORDER BY id").fetchall()
    assert [(r[0], json.loads(r[1])) for r in rows] == [
        (firm["alfa"], ["fattura-smart", "smart-hub"]),
        (firm["beta"], ["smart-hub"]),
    ]
    # Studio Verdi's client was not asked.
    assert (
        db.execute(
            "SELECT count(*) FROM consent_requests WHERE client_id = ?", (firm["epsilon"],)
        ).fetchone()[0]
        == 0
    )


def test_a_client_without_smart_service_is_named_with_its_reason(cli, store_path, firm):
    before = store_digest(store_path, ignore=("audit_log",))
    result = request(cli, "--client", str(firm["alfa"]), "--client", str(firm["gamma"]))
    assert_one_line_error(
        result, 5, f"client {firm['gamma']} (Gamma Srl)", "no active SMART service"
    )
    assert store_digest(store_path, ignore=("audit_log",)) == before  # all or nothing


def test_partial_sends_to_the_eligible_and_names_the_others(cli, db, firm):
    result = cli(
        "consent", "request", "--client", str(firm["alfa"]), "--client", str(firm["delta"]),
        "--partial", "--json", "--yes", as_user=SADMIN,
    )  # fmt: skip
    assert result.exit_code == 12, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["client_id"], r["result"]) for r in rows] == [
        (firm["alfa"], "requested"),
        (firm["delta"], "not eligible"),
    ]
    assert "no e-mail or PEC" in rows[1]["reason"]
    assert count(db, "consent_requests") == 1


def test_partial_with_no_eligible_client_sends_nothing(cli, store_path, firm):
    before = store_digest(store_path, ignore=("audit_log",))
    result = request(cli, "--client", str(firm["gamma"]), "--partial")
    line = assert_one_line_error(result, 5, "no active SMART service", "Nothing was sent")
    assert "--partial" not in line
    assert store_digest(store_path, ignore=("audit_log",)) == before


def test_all_includes_clients_that_have_not_answered_once_the_interval_passed(cli, db, clock, firm):
    ok(request(cli, "--studio", "Studio Rossi", "--all"))
    consent_answer(db, firm["beta"], "no", EXT)  # Beta answered (refused); Alfa did not
    clock.advance(timedelta(days=10))
    again = data(request(cli, "--studio", "Studio Rossi", "--all"))
    assert again["requested"] == 0
    assert again["not_eligible"]["recently_asked"] == 1  # Alfa, asked 10 days ago
    assert again["not_eligible"]["answered"] == 1  # Beta
    clock.advance(timedelta(days=21))  # 31 days after the first request
    later = data(request(cli, "--studio", "Studio Rossi", "--all"))
    assert later["requested"] == 1
    last = db.execute("SELECT client_id FROM consent_requests ORDER BY id DESC").fetchone()
    assert last[0] == firm["alfa"]


def test_the_resend_interval_is_a_setting(cli, db, clock, firm):
    ok(request(cli, "--client", str(firm["beta"])))
    ok(cli("config", "set", "consent.resend_days", "5"))
    clock.advance(timedelta(days=4))
    result = request(cli, "--client", str(firm["beta"]))
    assert_one_line_error(result, 5, "less than 5 days ago", "consent.resend_days")
    clock.advance(timedelta(days=2))
    assert data(request(cli, "--client", str(firm["beta"])))[0]["result"] == "requested"
    assert count(db, "consent_requests") == 2


def test_a_client_that_answered_is_not_asked_again(cli, db, firm):
    consent_answer(db, firm["alfa"], "yes", EXT)
    result = request(cli, "--client", str(firm["alfa"]))
    assert_one_line_error(result, 5, "already answered (consented on 2026-11-16)")


def test_a_removed_client_is_not_eligible(cli, db, clock, firm, org):
    from sempi_cli.services.clients.clients import ClientService

    ClientService(db, clock, org.admin).set_removed(firm["beta"], True)
    assert_one_line_error(request(cli, "--client", str(firm["beta"])), 5, "removed")
    assert data(request(cli, "--studio", "Studio Rossi", "--all"))["requested"] == 1


# --- what a request writes -------------------------------------------------------------


def test_a_request_queues_the_mail_to_the_email_and_the_pec(cli, db, firm):
    rows = data(request(cli, "--client", str(firm["alfa"])))
    assert len(rows[0]["mail_ids"]) == 2
    mails = db.execute(
        "SELECT id, kind, to_address, subject, body, status, client_id, studio_id"
        " FROM mail_outbox ORDER BY id"
    ).fetchall()
    assert [m["to_address"] for m in mails] == ["info@alfa.test", "alfa@pec.test"]
    assert {m["kind"] for m in mails} == {"consent"}
    assert {m["status"] for m in mails} == {"queued"}
    assert {(m["client_id"], m["studio_id"]) for m in mails} == {(firm["alfa"], firm["rossi"])}
    body = mails[0]["body"]
    assert "Studio Rossi chiede il consenso di Alfa Srl" in body
    assert "fattura-smart, smart-hub" in body
    assert f"sempi consent answer {firm['alfa']} yes" in body
    assert "Sempi Servizi Srl" in body  # the firm's name
    request_row = db.execute("SELECT mail_id, requested_by FROM consent_requests").fetchone()
    assert request_row["mail_id"] == mails[0]["id"]  # the e-mail's message
    audit = db.execute(
        "SELECT action, object_type FROM audit_log WHERE action IN ('request', 'queue')"
    ).fetchall()
    assert sorted(tuple(a) for a in audit) == [
        ("queue", "mail"),
        ("queue", "mail"),
        ("request", "consent"),
    ]


def test_a_request_notifies_each_external_user_of_the_client(cli, db, firm):
    ok(request(cli, "--client", str(firm["alfa"])))
    notes = db.execute(
        "SELECT u.email, n.kind, n.text FROM notifications n JOIN users u ON u.id = n.user_id"
        " WHERE n.kind = 'consent' ORDER BY u.email"
    ).fetchall()
    assert [(n[0], n[1]) for n in notes] == [(EXT2, "consent"), (EXT, "consent")]
    assert f"sempi consent answer {firm['alfa']} yes" in notes[0][2]
    listed = data(cli("notify", "list", "--json", as_user=EXT))
    assert listed[0]["kind"] == "consent"


def test_dry_run_writes_nothing(cli, store_path, firm):
    before = store_digest(store_path)
    report = data(request(cli, "--studio", "Studio Rossi", "--all", "--dry-run"))
    assert report["dry_run"] is True and report["requested"] == 2 and report["mails"] == 3
    rows = data(request(cli, "--client", str(firm["beta"]), "--dry-run"))
    assert rows[0]["result"] == "would request"
    assert store_digest(store_path) == before


def test_all_asks_first_on_a_terminal_and_needs_yes_elsewhere(cli, store_path, firm, org):
    org.client("Zeta Srl", firm["rossi"], 9, email="z@zeta.test", smart_services=["smart-hub"])
    before = store_digest(store_path)
    result = cli("consent", "request", "--studio", "Studio Rossi", "--all", as_user=SADMIN)
    assert_one_line_error(result, 2, "confirmation needed", "--yes")
    assert store_digest(store_path) == before


# --- who may send ----------------------------------------------------------------------


def test_an_operator_may_not_send_requests(cli, store_path, firm):
    before = store_digest(store_path, ignore=("audit_log",))
    for args in (["--studio", "Studio Rossi", "--all"], ["--client", str(firm["alfa"])]):
        assert_one_line_error(request(cli, *args, as_user=OPERATOR), 8, "administrator")
    assert_one_line_error(request(cli, "--client", str(firm["alfa"]), as_user=EXT), 8)
    assert store_digest(store_path, ignore=("audit_log",)) == before


def test_another_practices_administrator_finds_neither_practice_nor_client(cli, firm):
    assert_one_line_error(
        request(cli, "--studio", "Studio Rossi", "--all", as_user=VADMIN), 3, "practice"
    )
    assert_one_line_error(
        request(cli, "--client", str(firm["alfa"]), as_user=VADMIN),
        3,
        f"client {firm['alfa']} not found",
    )


def test_a_firm_administrator_sends_for_any_practice(cli, db, firm):
    rows = data(request(cli, "--client", str(firm["epsilon"]), as_user="admin@sempi.test"))
    assert rows[0]["result"] == "requested"


def test_a_client_of_another_practice_with_studio_is_not_found(cli, store_path, firm):
    before = store_digest(store_path)
    result = request(
        cli,
        "--studio",
        "Studio Rossi",
        "--client",
        str(firm["epsilon"]),
        as_user="admin@sempi.test",
    )
    assert_one_line_error(result, 3, "not found in that practice")
    assert store_digest(store_path) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "--all"),
        (["--all"], "--studio"),
        (["--studio", "Studio Rossi", "--all", "--client", "1"], "not both"),
    ],
)
def test_bad_combinations_are_usage_errors(cli, firm, args, fragment):
    assert_one_line_error(request(cli, *args), 2, fragment)


def test_an_unknown_client_or_practice_is_not_found(cli, firm):
    assert_one_line_error(request(cli, "--client", "999"), 3, "client 999 not found")
    assert_one_line_error(request(cli, "--studio", "Nessuno", "--all"), 3, "'Nessuno'")


# --- the mail's bulk path ----------------------------------------------------------------


def test_queue_many_writes_what_queue_writes(db, clock, org, firm):
    from sempi_cli.clock import iso_utc
    from sempi_cli.services.mail.outbox import Outbox, queue_many

    context = {"full_name": "Alfa Srl", "client": "Alfa Srl", "client_id": firm["alfa"]}
    with write_transaction(db):
        one = Outbox(db, clock, org.admin).queue("consent", "one@alfa.test", context)
        ids = queue_many(
            db, iso_utc(clock.now()), org.admin.id, "consent",
            [("Two@Alfa.test", context, firm["alfa"], firm["rossi"])],
        )  # fmt: skip
    assert ids == [one + 1]
    cols = "kind, subject, body, status, next_attempt_at, client_id, studio_id, created_by"
    a, b = db.execute(f"SELECT {cols}, to_address FROM mail_outbox ORDER BY id").fetchall()
    assert tuple(a)[:-1] == tuple(b)[:-1]
    assert b["to_address"] == "two@alfa.test"
    with pytest.raises(ValueError, match="secret"):
        queue_many(db, "2026-11-16T09:30:00+00:00", None, "invitation", [])
    assert queue_many(db, "2026-11-16T09:30:00+00:00", None, "consent", []) == []


# --- the client's user sees the pending request at login and in status ---------------

EXT_PASSWORD = "ezio-password-for-tests"


def login(cli, db, email=EXT):
    from sempi_cli.services.identity.passwords import hash_password
    from tests.conftest import register_secret

    register_secret(EXT_PASSWORD, "an external user's test password")
    db.execute(
        "UPDATE users SET password_hash = ? WHERE email = ?", (hash_password(EXT_PASSWORD), email)
    )
    db.commit()
    return cli(
        "login", "--email", email, "--password-stdin", as_user=None, input=EXT_PASSWORD + "\n"
    )


def test_login_and_status_show_the_pending_request_until_it_is_answered(cli, db, clock, firm):
    quiet = ok(login(cli, db))
    assert "Consent" not in quiet.stderr  # nothing asked yet
    assert data(cli("status", "--json", as_user=EXT))["consent_request"] is None
    ok(request(cli, "--client", str(firm["alfa"])))
    lines = ok(login(cli, db)).stderr.strip().splitlines()
    assert lines[0].startswith("Logged in as Ezio")
    assert lines[1] == (
        "Consent: Studio Rossi asks for Alfa Srl's consent to work in its SMART services"
        f" (fattura-smart, smart-hub), asked on 2026-11-16: answer with"
        f" 'sempi consent answer {firm['alfa']} yes|no'."
    )
    overview = data(cli("status", "--json", as_user=EXT))
    assert overview["consent_request"]["client_id"] == firm["alfa"]
    assert (
        overview["consent_request"]["how_to_answer"]
        == f"sempi consent answer {firm['alfa']} yes|no"
    )
    screen = ok(cli("status", as_user=EXT)).stdout
    assert "Consent: Studio Rossi asks for Alfa Srl's consent" in screen
    clock.advance(timedelta(hours=1))
    consent_answer(db, firm["alfa"], "yes", EXT, at="2026-11-16T10:30:00+00:00")
    assert "Consent" not in ok(login(cli, db)).stderr
    assert data(cli("status", "--json", as_user=EXT))["consent_request"] is None


def test_staff_see_no_consent_line(cli, db, firm):
    ok(request(cli, "--client", str(firm["alfa"])))
    assert "consent_request" not in data(cli("status", "--json", as_user=SADMIN))
