"""Issue 15, "Answers": `consent answer` (the client's own user; staff on behalf with
evidence), changes of mind, `consent history --as-of`, the notices a refusal or a
revocation sends, `consent verify` against a file edited with sqlite3, and bad
input that writes nothing."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from tests.conftest import ADMIN_EMAIL, store_digest
from tests.helpers import assert_one_line_error, data, ok

RESP = "resp@sempi.test"  # firm staff, Alfa's responsible
OUTSIDE_STAFF = "outside@sempi.test"  # firm staff in no work group
SADMIN = "sadmin@rossi.test"  # Studio Rossi's administrator
OPERATOR = "op@rossi.test"  # Studio Rossi's operator, in Alfa's work group
LONE_OPERATOR = "lone@rossi.test"  # Studio Rossi's operator in no work group
VERDI_ADMIN = "sadmin@verdi.test"
EXT_ALFA, EXT_BETA = "ext@alfa.test", "ext@beta.test"


@pytest.fixture
def firm(org) -> dict:
    org.staff(RESP, OUTSIDE_STAFF)
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=rossi)
    org.user(LONE_OPERATOR, "Luca Solo", "studio-operator", studio=rossi)
    org.user(VERDI_ADMIN, "Vera Verdi", "studio-admin", studio=verdi)
    alfa = org.client("Alfa Srl", rossi, 1, responsible=RESP, smart_services=["fattura-smart"])
    beta = org.client("Beta Srl", rossi, 2, smart_services=["smart-hub"])
    gamma = org.client("Gamma Srl", verdi, 3, smart_services=["fattura-smart"])
    org.group(alfa, OPERATOR)
    org.user(EXT_ALFA, "Esterno Alfa", "external", client=alfa)
    org.user(EXT_BETA, "Esterno Beta", "external", client=beta)
    return {"alfa": alfa, "beta": beta, "gamma": gamma, "rossi": rossi, "verdi": verdi}


def answers(db, client: int) -> list[tuple]:
    return [
        tuple(r)
        for r in db.execute(
            "SELECT answer, channel, on_behalf, answered_by, evidence_document_id"
            " FROM consent_answers WHERE client_id = ? ORDER BY id",
            (client,),
        )
    ]


def user_id(db, email: str) -> int:
    return db.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0]


# --- the client's own answer ---------------------------------------------------------------


@pytest.mark.parametrize("word", ["yes", "YES", "sì", "Si", "SÌ"])
def test_the_clients_own_user_answers_yes_in_the_words_people_type(cli, db, firm, word):
    record = data(cli("consent", "answer", str(firm["alfa"]), word, "--json", as_user=EXT_ALFA))
    assert (record["answer"], record["channel"], record["on_behalf"]) == ("yes", "sempi", False)
    assert (record["state"], record["previous"]) == ("consented", "pending")
    assert record["answered_by"] == EXT_ALFA
    assert answers(db, firm["alfa"]) == [("yes", "sempi", 0, user_id(db, EXT_ALFA), None)]


def test_an_answer_keeps_its_comment_and_says_the_state_on_stderr(cli, db, firm):
    result = ok(
        cli("consent", "answer", str(firm["alfa"]), "no", "--comment", "Non ora", as_user=EXT_ALFA)
    )
    assert f"Client {firm['alfa']}: refused (was pending)." in result.stderr
    row = db.execute("SELECT comment FROM consent_answers").fetchone()
    assert row[0] == "Non ora"


def test_an_external_user_of_another_client_finds_no_such_client(cli, store_path, firm):
    before = store_digest(store_path)
    result = cli("consent", "answer", str(firm["alfa"]), "yes", as_user=EXT_BETA)
    assert_one_line_error(result, 3, f"client {firm['alfa']} not found")
    assert store_digest(store_path) == before


def test_staff_do_not_answer_for_the_client_without_on_behalf(cli, store_path, firm):
    before = store_digest(store_path, ignore=("audit_log",))  # a refusal is logged
    result = cli("consent", "answer", str(firm["alfa"]), "yes", as_user=SADMIN)
    assert_one_line_error(result, 8, "only the client's own users answer", "--on-behalf")
    assert store_digest(store_path, ignore=("audit_log",)) == before


def test_an_external_user_does_not_record_on_behalf(cli, tmp_path, firm):
    proof = tmp_path / "p.txt"
    proof.write_text("x")
    result = cli(
        "consent", "answer", str(firm["alfa"]), "yes", "--on-behalf", "--channel", "paper",
        "--evidence", str(proof), as_user=EXT_ALFA,
    )  # fmt: skip
    assert_one_line_error(result, 8, "not on its behalf")


# --- on behalf, with evidence --------------------------------------------------------------


def on_behalf(cli, client, answer, channel, evidence, as_user=SADMIN, *more):
    return cli(
        "consent", "answer", str(client), answer, "--on-behalf", "--channel", channel,
        "--evidence", str(evidence), *more, "--json", as_user=as_user,
    )  # fmt: skip


def test_on_behalf_with_a_file_stores_it_in_the_folder_consensi(cli, db, tmp_path, firm):
    scan = tmp_path / "consenso-firmato.pdf"
    scan.write_bytes(b"%PDF-1.4 consenso")
    record = data(on_behalf(cli, firm["alfa"], "yes", "paper", scan))
    assert (record["channel"], record["on_behalf"], record["answered_by"]) == (
        "paper", True, SADMIN
    )  # fmt: skip
    docs = data(cli("doc", "list", "--client", str(firm["alfa"]), "--folder", "Consensi", "--json"))
    assert [(d["id"], d["name"]) for d in docs] == [
        (record["evidence_document_id"], "consenso-firmato.pdf")
    ]
    history = data(cli("consent", "history", str(firm["alfa"]), "--json", as_user=OPERATOR))
    assert history["answers"][0]["evidence_document_id"] == record["evidence_document_id"]
    assert history["answers"][0]["answered_by"] == SADMIN


def test_on_behalf_with_an_existing_document_of_the_client(cli, db, tmp_path, firm):
    pec = tmp_path / "pec.eml"
    pec.write_text("Subject: consenso\n\nSi acconsente.")
    ok(cli("doc", "folder", "add", "Corrispondenza", "--client", str(firm["alfa"])))
    added = data(
        cli("doc", "add", str(pec), "--client", str(firm["alfa"]), "--folder", "Corrispondenza",
            "--json")
    )  # fmt: skip
    doc = added[0]["id"]
    record = data(on_behalf(cli, firm["alfa"], "sì", "pec", doc, OPERATOR))
    assert (record["answer"], record["evidence_document_id"], record["channel"]) == (
        "yes", doc, "pec"
    )  # fmt: skip


@pytest.mark.parametrize("who", [ADMIN_EMAIL, RESP, SADMIN, OPERATOR])
def test_who_may_record_on_behalf(cli, tmp_path, firm, who):
    """Firm administrators, firm staff of the work group (the responsible is in it),
    the practice's administrator, and its operators who manage the client."""
    proof = tmp_path / "telefonata.txt"
    proof.write_text("Il cliente ha detto di sì al telefono.")
    ok(on_behalf(cli, firm["alfa"], "yes", "phone", proof, who))


@pytest.mark.parametrize("who", [OUTSIDE_STAFF, LONE_OPERATOR, VERDI_ADMIN])
def test_who_does_not_manage_the_client_does_not_find_it(cli, store_path, tmp_path, firm, who):
    proof = tmp_path / "telefonata.txt"
    proof.write_text("x")
    before = store_digest(store_path)
    result = on_behalf(cli, firm["alfa"], "yes", "phone", proof, who)
    assert_one_line_error(result, 3, "not found")
    assert store_digest(store_path) == before


# --- changes of mind and the history ---------------------------------------------------------


def test_changes_of_mind_are_all_kept_and_the_latest_rules(cli, clock, tmp_path, firm):
    alfa = str(firm["alfa"])
    ok(cli("consent", "answer", alfa, "yes", as_user=EXT_ALFA))  # 16/11 09:30 UTC
    clock.advance(timedelta(days=10))
    letter = tmp_path / "revoca.pdf"
    letter.write_bytes(b"revoca")
    ok(on_behalf(cli, firm["alfa"], "no", "paper", letter))  # 26/11
    clock.advance(timedelta(days=10))
    ok(cli("consent", "answer", alfa, "si", "--comment", "ci ho ripensato", as_user=EXT_ALFA))

    now = data(cli("consent", "history", alfa, "--json"))
    assert [a["answer"] for a in now["answers"]] == ["yes", "no", "yes"]
    assert [a["on_behalf"] for a in now["answers"]] == [False, True, False]
    assert now["state"] == "consented"
    assert now["answers"][2]["comment"] == "ci ho ripensato"

    then = data(cli("consent", "history", alfa, "--as-of", "30/11/2026", "--json"))
    assert ([a["answer"] for a in then["answers"]], then["state"]) == (["yes", "no"], "refused")
    assert then["since"].startswith("2026-11-26")
    first_day = data(cli("consent", "history", alfa, "--as-of", "16/11/2026", "--json"))
    assert first_day["state"] == "consented"  # a date means its end
    before = data(cli("consent", "history", alfa, "--as-of", "15/11/2026", "--json"))
    assert (before["state"], before["answers"]) == ("pending", [])


def test_history_as_a_table_ends_with_the_state(cli, firm):
    ok(cli("consent", "answer", str(firm["alfa"]), "no", as_user=EXT_ALFA))
    result = ok(cli("consent", "history", str(firm["alfa"])))
    assert result.stdout.strip().splitlines()[-1].startswith("State at 16/11/2026 10:30: refused")
    assert EXT_ALFA in result.stdout


def test_history_of_a_client_one_may_not_see_is_not_found(cli, firm):
    assert_one_line_error(
        cli("consent", "history", str(firm["gamma"]), as_user=SADMIN), 3, "not found"
    )


# --- the notices -------------------------------------------------------------------------


def consent_notices(db) -> list[tuple[str, str]]:
    return [
        tuple(r)
        for r in db.execute(
            "SELECT u.email, n.text FROM notifications n JOIN users u ON u.id = n.user_id"
            " WHERE n.kind = 'consent' ORDER BY n.id"
        )
    ]


def test_a_refusal_notifies_the_responsible_and_the_practice_administrator(cli, db, firm):
    ok(cli("consent", "answer", str(firm["alfa"]), "yes", as_user=EXT_ALFA))
    assert consent_notices(db) == []  # a yes tells nobody
    ok(cli("consent", "answer", str(firm["alfa"]), "no", as_user=EXT_ALFA))
    notices = consent_notices(db)
    assert sorted(email for email, _ in notices) == [RESP, SADMIN]
    assert all("Alfa Srl" in text and "revoked its consent" in text for _, text in notices)


def test_a_first_refusal_on_behalf_says_who_recorded_it(cli, db, tmp_path, firm):
    letter = tmp_path / "no.pdf"
    letter.write_bytes(b"no")
    ok(on_behalf(cli, firm["beta"], "no", "pec", letter, ADMIN_EMAIL))
    notices = consent_notices(db)
    assert [email for email, _ in notices] == [SADMIN]  # Beta has no responsible
    assert "refused consent" in notices[0][1] and "pec" in notices[0][1]


# --- bad input: one line, the documented code, nothing written -------------------------------


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["ALFA", "forse"], 6, "ANSWER: 'forse' is not an answer"),
        (["ALFA", "yes", "--on-behalf", "--channel", "paper", "--evidence", "/nope/x.pdf"],
         6, "--evidence: '/nope/x.pdf' is neither a document id nor a file"),
        (["ALFA", "yes", "--on-behalf", "--channel", "paper", "--evidence", "/"],
         6, "--evidence: '/' is neither a document id nor a file"),
        (["ALFA", "yes", "--on-behalf", "--channel", "paper", "--evidence", "a\x00b"],
         6, "--evidence"),
        (["ALFA", "yes", "--on-behalf", "--channel", "paper", "--evidence", "999"],
         6, "--evidence: client 1 has no document 999"),
        (["ALFA", "yes", "--on-behalf", "--channel", "fax", "--evidence", "999"],
         6, "--channel: 'fax' is not a channel"),
        (["ALFA", "yes", "--on-behalf", "--channel", "paper"], 6, "--evidence"),
        (["GAMMA", "yes", "--on-behalf", "--channel", "paper", "--evidence", "1"], 3, "not found"),
        (["ALFA", "yes", "--channel", "paper"], 2, "--on-behalf"),
        (["ALFA", "yes", "--comment", "a\x1b[31m"], 6, "--comment"),
    ],
)  # fmt: skip
def test_bad_input_writes_nothing(cli, store_path, firm, args, code, fragment):
    args = [str(firm["alfa"]) if a == "ALFA" else str(firm["gamma"]) if a == "GAMMA" else a
            for a in args]  # fmt: skip
    who = EXT_ALFA if "--on-behalf" not in args else SADMIN
    before = store_digest(store_path)
    result = cli("consent", "answer", *args, as_user=who)
    assert_one_line_error(result, code, fragment)
    assert store_digest(store_path) == before


def test_an_unreadable_as_of_is_one_line_naming_it(cli, firm):
    result = cli("consent", "history", str(firm["alfa"]), "--as-of", "the day after")
    assert_one_line_error(result, 6, "--as-of")


# --- verify ------------------------------------------------------------------------------


def test_verify_says_the_chain_holds(cli, firm):
    for word in ("yes", "no", "yes"):
        ok(cli("consent", "answer", str(firm["alfa"]), word, as_user=EXT_ALFA))
    result = ok(cli("consent", "verify"))
    assert result.stdout.strip() == "The consent record holds: 3 answer(s), chain intact."
    assert data(cli("consent", "verify", "--json")) == {
        "table": "consent_answers", "rows": 3, "ok": True
    }  # fmt: skip


def test_verify_is_for_firm_administrators(cli, firm):
    assert_one_line_error(cli("consent", "verify", as_user=SADMIN), 8, "firm administrator")


@pytest.mark.parametrize("how", ["change", "remove"])
def test_a_file_edited_with_sqlite3_is_found(cli, store_path, firm, how):
    for word in ("yes", "no", "yes"):
        ok(cli("consent", "answer", str(firm["alfa"]), word, as_user=EXT_ALFA))
    conn = sqlite3.connect(store_path)  # someone with the file and the sqlite3 shell
    with conn:
        conn.execute("DROP TRIGGER consent_answers_append_only_update")
        conn.execute("DROP TRIGGER consent_answers_append_only_delete")
        ids = [r[0] for r in conn.execute("SELECT id FROM consent_answers ORDER BY id")]
        if how == "change":
            conn.execute("UPDATE consent_answers SET answer = 'yes' WHERE id = ?", (ids[1],))
        else:
            conn.execute("DELETE FROM consent_answers WHERE id = ?", (ids[1],))
    conn.close()
    bad = ids[1] if how == "change" else ids[2]
    result = cli("consent", "verify")
    assert_one_line_error(result, 10, f"the consent record is broken at answer {bad}")


def test_the_same_evidence_file_again_is_the_same_document(cli, tmp_path, firm):
    scan = tmp_path / "consenso.pdf"
    scan.write_bytes(b"firmato")
    first = data(on_behalf(cli, firm["alfa"], "yes", "paper", scan))
    second = data(on_behalf(cli, firm["alfa"], "yes", "paper", scan))
    assert first["evidence_document_id"] == second["evidence_document_id"]
    assert second["id"] > first["id"]


def test_another_file_of_the_same_name_is_a_conflict_that_says_what_to_do(
    cli, store_path, tmp_path, firm
):
    scan = tmp_path / "consenso.pdf"
    scan.write_bytes(b"primo")
    ok(on_behalf(cli, firm["alfa"], "yes", "paper", scan))
    scan.write_bytes(b"secondo, diverso")
    before = store_digest(store_path)
    result = on_behalf(cli, firm["alfa"], "no", "paper", scan)
    assert_one_line_error(
        result, 4, "already has a document named 'consenso.pdf'", "Rename the file"
    )
    assert store_digest(store_path) == before


def test_a_document_of_another_client_is_no_evidence(cli, store_path, tmp_path, firm):
    note = tmp_path / "nota.txt"
    note.write_text("Beta")
    beta_doc = data(on_behalf(cli, firm["beta"], "yes", "paper", note))["evidence_document_id"]
    before = store_digest(store_path)
    result = on_behalf(cli, firm["alfa"], "yes", "paper", beta_doc)
    assert_one_line_error(result, 6, f"client {firm['alfa']} has no document {beta_doc}")
    assert store_digest(store_path) == before


def test_who_records_a_refusal_is_not_told_of_it(cli, db, tmp_path, firm):
    letter = tmp_path / "no.pdf"
    letter.write_bytes(b"no")
    ok(on_behalf(cli, firm["alfa"], "no", "paper", letter, SADMIN))
    assert [email for email, _ in consent_notices(db)] == [RESP]


def test_the_client_reads_its_history_without_the_names_of_people_it_may_not_see(
    cli, tmp_path, firm
):
    letter = tmp_path / "si.pdf"
    letter.write_bytes(b"si")
    ok(on_behalf(cli, firm["beta"], "yes", "paper", letter, ADMIN_EMAIL))
    table = ok(cli("consent", "history", str(firm["beta"]), as_user=EXT_BETA)).stdout
    assert "(firm)" in table and ADMIN_EMAIL not in table
    rows = data(cli("consent", "history", str(firm["beta"]), "--json", as_user=EXT_BETA))
    assert rows["answers"][0]["answered_by"] is None
