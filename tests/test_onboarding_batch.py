"""`sempi client-onboard batch`: a file of clients, checked whole, written all or
nothing (or --partial), idempotent; encodings, delimiters, line ends; bad input as a
new user makes it; who may run it.

Killed batches (SIGKILL, real processes) are in test_onboarding_processes.py.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADMIN_EMAIL, cf_person, piva, store_digest
from tests.helpers import OTHER_ADMIN, RESP, SADMIN, assert_one_line_error, ok, onboarding_practices
from tests.helpers import PRACTICE_OPERATOR as OPERATOR

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
HEADER = ["ragione_sociale", "kind", "codice_fiscale", "partita_iva", "responsible",
          "iva_periodicity", "sostituto_imposta", "delegations", "externals"]  # fmt: skip


@pytest.fixture
def practice(cli) -> None:
    """Studio Rossi (an administrator and an operator), Studio Verdi (its administrator),
    one firm staff member (RESP)."""
    onboarding_practices(cli, second_staff=False)


def client_row(n: int, **overrides: str) -> dict[str, str]:
    row = {
        "ragione_sociale": f"Cliente {n} Srl",
        "kind": "societa_capitali",
        "codice_fiscale": "",
        "partita_iva": piva(n),
        "responsible": RESP if n % 2 else "",
        "iva_periodicity": ("mensile", "trimestrale")[n % 2],
        "sostituto_imposta": "sì" if n % 3 == 0 else "no",
        "delegations": f"cassetto_fiscale:CF{n}:31/12/2027" if n % 2 else "",
        "externals": "",
    }
    row.update(overrides)
    return row


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    *,
    delimiter: str = ";",
    encoding: str = "utf-8",
    newline: str = "\r\n",
    header: list[str] | None = None,
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    columns = header or HEADER
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.fixture
def clients_csv(tmp_path) -> Path:
    rows = [client_row(n) for n in range(1, 6)]
    rows[0]["externals"] = "Laura Bianchi <laura@cliente1.it>"
    return write_csv(tmp_path / "clienti.csv", rows)


def batch(cli, file, *extra, as_user=ADMIN_EMAIL, studio="Studio Rossi"):
    args = ["client-onboard", "batch", str(file), *extra]
    if studio is not None:
        args += ["--studio", studio]
    return cli(*args, "--yes", as_user=as_user)


def batch_json(cli, file, *extra, **kwargs):
    result = batch(cli, file, *extra, "--json", **kwargs)
    return result, json.loads(result.stdout) if result.stdout.strip() else None


def query(store_path, sql, *params):
    conn = sqlite3.connect(store_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# --- what a batch writes ----------------------------------------------------------------


def test_a_batch_onboards_every_client_whole(cli, practice, clients_csv, store_path):
    result, report = batch_json(cli, clients_csv)
    ok(result)
    assert (report["created"], report["updated"], report["unchanged"], report["refused"]) == (
        5, 0, 0, 0,
    )  # fmt: skip
    assert [r["line"] for r in report["results"]] == [2, 3, 4, 5, 6]
    ids = [r["client_id"] for r in report["results"]]
    assert query(
        store_path, "SELECT id, ragione_sociale, partita_iva FROM clients ORDER BY id"
    ) == [(i, f"Cliente {n} Srl", piva(n)) for i, n in zip(ids, range(1, 6), strict=True)]
    # every client: its folders, modules, work group (practice users + responsible)
    per_client = query(
        store_path,
        "SELECT c.id, (SELECT count(*) FROM doc_folders f WHERE f.client_id = c.id),"
        " (SELECT count(*) FROM client_modules m WHERE m.client_id = c.id),"
        " (SELECT group_concat(u.email, ',') FROM work_group_members w JOIN users u"
        "  ON u.id = w.user_id WHERE w.client_id = c.id AND u.role <> 'external')"
        " FROM clients c ORDER BY c.id",
    )
    for n, (_, folders, modules, members) in zip(range(1, 6), per_client, strict=True):
        assert (folders, modules) == (7, 4)
        expected = {SADMIN, OPERATOR} | ({RESP} if n % 2 else set())
        assert set(members.split(",")) == expected
    assert query(store_path, "SELECT count(*) FROM client_delegations") == [(3,)]
    # the external user: created, in the group, invited once
    assert query(
        store_path, "SELECT email, client_id, password_hash FROM users WHERE role = 'external'"
    ) == [("laura@cliente1.it", ids[0], None)]
    assert query(store_path, "SELECT to_address FROM mail_outbox") == [("laura@cliente1.it",)]
    # the deadlines, one scheduler run over the batch's clients
    assert (
        report["deadlines"]["created"] == query(store_path, "SELECT count(*) FROM deadlines")[0][0]
    )
    assert query(store_path, "SELECT count(DISTINCT client_id) FROM deadlines") == [(5,)]
    assert query(store_path, "SELECT count(*), min(status) FROM scheduler_runs") == [(1, "ok")]
    assert query(store_path, "SELECT count(*) FROM audit_log WHERE action = 'onboard'") == [(5,)]


def test_the_summary_on_a_terminal_and_nothing_but_the_report_on_a_pipe(cli, practice, clients_csv):
    result = ok(batch(cli, clients_csv))
    assert result.stdout == ""  # nothing a person must read: no refused or updated row
    assert result.stderr.startswith("Onboarded 5 row(s): 5 created, 0 updated, 0 unchanged.")
    assert "\r" not in result.stderr  # no progress bar where stderr is not a terminal
    quiet = ok(batch(cli, clients_csv, "-q"))
    assert quiet.stdout == quiet.stderr == ""


def test_csv_and_jsonl_give_a_row_per_client_of_the_file(cli, practice, clients_csv):
    args = ("--no-deadlines", "--format")
    lines = list(csv.reader(io.StringIO(ok(batch(cli, clients_csv, *args, "csv")).stdout)))
    assert lines[0] == [
        "line", "index", "action", "client_id", "ragione_sociale", "partita_iva",
        "codice_fiscale", "field", "problem", "changes",
    ]  # fmt: skip
    assert [(line[0], line[2]) for line in lines[1:]] == [(str(n), "created") for n in range(2, 7)]
    again = ok(batch(cli, clients_csv, *args, "jsonl")).stdout.splitlines()
    assert [json.loads(line)["action"] for line in again] == ["unchanged"] * 5


def test_dry_run_leaves_the_store_byte_identical(cli, practice, clients_csv, store_path):
    before, raw = store_digest(store_path), store_path.read_bytes()
    result, report = batch_json(cli, clients_csv, "--dry-run")
    ok(result)
    assert store_digest(store_path) == before and store_path.read_bytes() == raw
    assert report["dry_run"] is True and report["created"] == 5
    assert all(r["client_id"] is None for r in report["results"])
    assert report["deadlines"]["created"] > 50 and report["deadlines"]["run_id"] is None
    assert "Would onboard 5 row(s)" in batch(cli, clients_csv, "--dry-run").stderr
    _, real = batch_json(cli, clients_csv)
    assert real["deadlines"]["created"] == report["deadlines"]["created"]


def test_the_same_file_twice_changes_nothing_the_second_time(
    cli, practice, clients_csv, store_path
):
    ok(batch(cli, clients_csv))
    before = store_digest(store_path)  # audit rows and scheduler runs included
    result, report = batch_json(cli, clients_csv)
    ok(result)
    assert store_digest(store_path) == before
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 5)
    assert report["deadlines"]["ran"] is False
    assert "Deadlines: all already there." in ok(batch(cli, clients_csv)).stderr


def test_a_batch_with_nothing_to_do_marks_a_killed_run_interrupted(
    cli, practice, clients_csv, store_path
):
    """A batch killed after its deadlines' last chunk, before the run's record: run
    again, it has nothing to write but marks that record, whose process is gone."""
    ok(batch(cli, clients_csv))
    dead = subprocess.Popen(["true"])
    dead.wait()
    with sqlite3.connect(store_path) as conn:
        conn.execute(
            "UPDATE scheduler_runs SET status = 'running', finished_at = NULL, pid = ?"
            " WHERE id = (SELECT max(id) FROM scheduler_runs)",
            (dead.pid,),
        )
    result, report = batch_json(cli, clients_csv)
    ok(result)
    assert report["deadlines"]["ran"] is False
    assert query(store_path, "SELECT status FROM scheduler_runs ORDER BY id DESC LIMIT 1") == [
        ("interrupted",)
    ]


def test_a_client_already_there_is_updated_where_the_file_differs(
    cli, practice, tmp_path, store_path
):
    rows = [client_row(n) for n in range(1, 4)]
    ok(batch(cli, write_csv(tmp_path / "a.csv", rows), "--no-deadlines"))
    rows[1].update(ragione_sociale="Cliente Due Srl", iva_periodicity="trimestrale",
                   delegations="inps:INPS-9:2028-01-31", responsible=RESP)  # fmt: skip
    rows[2]["sostituto_imposta"] = ""  # empty: not given, left as it is
    result, report = batch_json(cli, write_csv(tmp_path / "b.csv", rows), "--no-deadlines")
    ok(result)
    assert [r["action"] for r in report["results"]] == ["unchanged", "updated", "unchanged"]
    assert report["results"][1]["changes"] == [
        "ragione_sociale", "responsible", "iva_periodicity", "members", "delegations",
    ]  # fmt: skip
    client_id = report["results"][1]["client_id"]
    assert query(store_path, "SELECT ragione_sociale FROM clients WHERE id = ?", client_id) == [
        ("Cliente Due Srl",)
    ]
    # as `client edit` does: a change of VAT periodicity applies from the next 1 January
    assert query(
        store_path,
        "SELECT valid_from, iva_periodicity, sostituto_imposta FROM client_profiles"
        " WHERE client_id = ? ORDER BY valid_from",
        client_id,
    ) == [("0001-01-01", "mensile", 0), ("2027-01-01", "trimestrale", 0)]
    assert query(
        store_path, "SELECT kind FROM client_delegations WHERE client_id = ?", client_id
    ) == [("inps",)]
    # logged as `client edit` and `group add` log it, and the delegation as an onboarding
    audit = query(
        store_path,
        "SELECT action, object_type, details FROM audit_log WHERE object_id = ?"
        " AND object_type IN ('client', 'work_group') ORDER BY id",
        client_id,
    )[-4:]
    assert [(a, o) for a, o, _ in audit] == [
        ("edit", "client"), ("profile", "client"), ("add_member", "work_group"),
        ("onboard", "client"),
    ]  # fmt: skip
    edit, profile, member, onboard = (json.loads(d) for _, _, d in audit)
    assert set(edit["changes"]) == {"ragione_sociale", "responsible_id"}
    assert profile["changes"] == [
        {"from": "2027-01-01", "field": "iva_periodicity", "old": "mensile", "new": "trimestrale"}
    ]
    assert member == {
        "user_id": query(store_path, "SELECT id FROM users WHERE email = ?", RESP)[0][0]
    }
    assert onboard["delegations"] == ["inps"] and onboard["modules"] is None
    assert query(store_path, "SELECT count(*) FROM audit_log WHERE action LIKE 'onboard.%'") == [
        (0,)
    ]
    table = ok(batch(cli, write_csv(tmp_path / "c.csv", [client_row(1, ragione_sociale="Uno")])))
    assert "updated" in table.stdout and "ragione_sociale" in table.stdout


def test_a_client_added_before_onboarding_gets_folders_and_group(cli, practice, tmp_path):
    ok(cli("client", "add", "--name", "Cliente 1 Srl", "--studio", "Studio Rossi", "--piva",
           piva(1), "-r", RESP, "-p", "iva_periodicity=trimestrale"))  # fmt: skip
    rows = [client_row(1, practice_users="all")]
    header = [*HEADER, "practice_users"]
    result, report = batch_json(
        cli, write_csv(tmp_path / "a.csv", rows, header=header), "--no-deadlines"
    )
    ok(result)
    assert report["results"][0]["changes"] == ["members", "delegations", "folders"]
    _, report = batch_json(
        cli, write_csv(tmp_path / "a.csv", rows, header=header), "--no-deadlines"
    )
    assert report["unchanged"] == 1


# --- all or nothing, or --partial -------------------------------------------------------------


def test_one_bad_row_writes_nothing_and_exits_6(cli, practice, tmp_path, store_path):
    rows = [client_row(n) for n in range(1, 6)]
    rows[2]["partita_iva"] = "12345678901"
    before = store_digest(store_path)
    result = batch(cli, write_csv(tmp_path / "c.csv", rows))
    assert result.exit_code == 6
    assert store_digest(store_path) == before
    assert result.stdout == ""  # the report goes to stderr: it is what went wrong
    lines = result.stderr.strip().splitlines()
    assert "line 4" in lines[2] and "partita_iva" in lines[2] and "office code 890" in lines[2]
    assert lines[-2].startswith("Checked 5 row(s):") and "1 refused, 4 skipped" in lines[-2]
    assert lines[-1] == (
        "Error: c.csv: 1 of 5 row(s) refused (first: line 4, partita_iva: '12345678901' is not a"
        " valid partita IVA (office code 890: digits 8-10 are 001-100, 120, 121, 888 or 999));"
        " nothing was written. Fix them and run again, or add"
        " --partial to write the good rows."
    )
    result, report = batch_json(cli, tmp_path / "c.csv")
    assert result.exit_code == 6
    actions = [r["action"] for r in report["results"]]
    assert actions == ["skipped", "skipped", "refused", "skipped", "skipped"]
    assert (report["created"], report["refused"], report["skipped"]) == (0, 1, 4)
    assert store_digest(store_path) == before


def test_partial_writes_the_good_rows_and_exits_12(cli, practice, tmp_path, store_path):
    rows = [client_row(n) for n in range(1, 6)]
    rows[1]["responsible"] = "nobody@sempi.test"
    rows[3]["iva_periodicity"] = "annuale"
    file = write_csv(tmp_path / "c.csv", rows)
    before = store_digest(store_path)
    dry = batch(cli, file, "--partial", "--dry-run")
    assert dry.exit_code == 12 and store_digest(store_path) == before
    result, report = batch_json(cli, file, "--partial", "--no-deadlines")
    assert result.exit_code == 12
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: c.csv: 2 of 5 row(s) refused (first: line 3, responsible:")
    assert [(r["line"], r["action"], r["field"]) for r in report["results"]] == [
        (2, "created", None),
        (3, "refused", "responsible"),
        (4, "created", None),
        (5, "refused", "iva_periodicity"),
        (6, "created", None),
    ]
    assert query(store_path, "SELECT partita_iva FROM clients ORDER BY id") == [
        (piva(1),), (piva(3),), (piva(5),),
    ]  # fmt: skip
    rows[1]["responsible"], rows[3]["iva_periodicity"] = RESP, "mensile"
    result, report = batch_json(cli, write_csv(file, rows), "--no-deadlines")
    ok(result)  # the fixed file finishes the job
    assert (report["created"], report["unchanged"]) == (2, 3)


def test_report_file_names_every_row_and_never_starts_a_formula(
    cli, practice, tmp_path, store_path
):
    rows = [client_row(1, ragione_sociale='=HYPERLINK("http://x")'), client_row(2, kind="spa")]
    report_file = tmp_path / "esito.csv"
    report_file.write_text("old report\n")
    result = batch(cli, write_csv(tmp_path / "c.csv", rows), "--report", str(report_file))
    assert result.exit_code == 6
    # the summary and the error on stderr: the rows are in the file
    assert len(result.stderr.strip().splitlines()) == 2
    assert result.stdout == ""  # the refused rows are in the file, not on the screen
    assert "(every row in" in result.stderr
    assert oct(report_file.stat().st_mode & 0o777) == "0o600"
    lines = list(csv.reader(report_file.open(encoding="utf-8")))
    assert lines[0][:3] == ["line", "index", "action"]
    assert lines[1][:5] == ["2", "", "skipped", "", '\'=HYPERLINK("http://x")']
    assert lines[2][2] == "refused" and lines[2][7] == "kind"
    as_json = tmp_path / "esito.json"
    batch(cli, tmp_path / "c.csv", "--report", str(as_json))
    assert json.loads(as_json.read_text())[1]["field"] == "kind"


# --- duplicates inside one file --------------------------------------------------------------


def test_duplicates_inside_the_file_are_refused_each_naming_the_other(cli, practice, tmp_path):
    rows = [client_row(n) for n in range(1, 7)]
    rows[3]["partita_iva"] = piva(2)  # line 5 = line 3
    rows[4]["externals"] = "Anna <anna@x.it>"
    rows[5]["externals"] = "Anna Rossi <anna@x.it>"  # the same person for two clients
    result, report = batch_json(cli, write_csv(tmp_path / "c.csv", rows), "--partial")
    assert result.exit_code == 12
    refused = {r["line"]: (r["field"], r["problem"]) for r in report["results"] if r["problem"]}
    assert refused == {
        3: ("partita_iva", f"line 5 has the same partita IVA ({piva(2)})"),
        5: ("partita_iva", f"line 3 has the same partita IVA ({piva(2)})"),
        6: ("externals", "line 7 has the same external e-mail (anna@x.it)"),
        7: ("externals", "line 6 has the same external e-mail (anna@x.it)"),
    }


def test_two_rows_for_one_client_by_different_codes_are_refused(cli, practice, tmp_path):
    ok(cli("client", "add", "--name", "Alfa Srl", "--studio", "Studio Rossi", "--piva", piva(1),
           "--cf", piva(1)))  # fmt: skip
    rows = [client_row(1, codice_fiscale=""), client_row(7, partita_iva="", codice_fiscale=piva(1))]
    result, report = batch_json(cli, write_csv(tmp_path / "c.csv", rows))
    assert result.exit_code == 6
    assert [r["problem"] for r in report["results"]] == [
        "line 3 has the same client (1)",
        "line 2 has the same client (1)",
    ]


def test_identifiers_that_belong_to_two_clients_or_a_removed_one(cli, practice, tmp_path):
    for n in (1, 2):
        ok(cli("client", "add", "--name", f"C{n}", "--studio", "Studio Rossi", "--piva",
               piva(n), "--cf", cf_person(n)))  # fmt: skip
    ok(cli("client", "remove", "2", "--yes"))
    rows = [
        client_row(1, codice_fiscale=cf_person(2)),
        client_row(2, codice_fiscale=cf_person(2)),
    ]
    result, report = batch_json(cli, write_csv(tmp_path / "c.csv", rows), "--partial")
    problems = [r["problem"] for r in report["results"]]
    assert problems[0].startswith(f"{cf_person(2)} is client 2's codice fiscale, but")
    assert problems[1] == "client 2 of this practice has it and is removed"


# --- encodings, delimiters, line ends ---------------------------------------------------------


@pytest.mark.parametrize(
    ("delimiter", "encoding", "newline", "extra"),
    [
        (";", "utf-8", "\r\n", ()),
        (",", "utf-8", "\n", ()),
        (";", "utf-8-sig", "\r\n", ()),  # Excel's "CSV UTF-8" has a BOM
        (",", "utf-8-sig", "\n", ("--delimiter", ",")),
        (";", "cp1252", "\r\n", ("--encoding", "cp1252")),  # Excel's plain "CSV" on Windows
    ],
)
def test_encodings_delimiters_and_line_ends(
    cli, practice, tmp_path, store_path, delimiter, encoding, newline, extra
):
    rows = [client_row(1, ragione_sociale="Società Ferrè & C. Sas"), client_row(2)]
    file = write_csv(
        tmp_path / "c.csv", rows, delimiter=delimiter, encoding=encoding, newline=newline
    )
    ok(batch(cli, file, "--no-deadlines", *extra))
    assert query(store_path, "SELECT ragione_sociale FROM clients ORDER BY id") == [
        ("Società Ferrè & C. Sas",),
        ("Cliente 2 Srl",),
    ]


def test_excels_sep_line_and_a_trailing_delimiter(cli, practice, tmp_path, store_path):
    text = "sep=;\r\nragione_sociale;partita_iva;\r\nAlfa Srl;" + piva(1) + ";\r\n"
    (tmp_path / "c.csv").write_text(text, encoding="utf-8")
    ok(batch(cli, tmp_path / "c.csv", "--no-deadlines"))
    assert query(store_path, "SELECT ragione_sociale FROM clients") == [("Alfa Srl",)]


def test_a_row_with_more_cells_than_the_header(cli, practice, tmp_path):
    text = (
        "ragione_sociale;partita_iva\r\n"
        f"Alfa; Srl;{piva(1)}\r\n"  # the name's ';' not quoted
        f"Gamma Srl;{piva(3)}\r\n"
    )
    (tmp_path / "c.csv").write_text(text, encoding="utf-8")
    result, report = batch_json(cli, tmp_path / "c.csv", "--partial", "--no-deadlines")
    assert result.exit_code == 12
    assert [(r["line"], r["field"], r["problem"]) for r in report["results"]] == [
        (2, "(row)", "3 cells, but the header has 2 columns (a cell holding the delimiter"
         " must be quoted)"),
        (3, None, None),
    ]  # fmt: skip
    (tmp_path / "d.csv").write_text(
        f"ragione_sociale;partita_iva;\r\nBeta Srl;{piva(2)};note\r\n", encoding="utf-8"
    )
    result, report = batch_json(cli, tmp_path / "d.csv", "--no-deadlines")
    assert report["results"][0]["problem"].startswith("a value ('note') in a column with no name")


def test_quoted_newlines_and_crlf_keep_physical_line_numbers(cli, practice, tmp_path):
    rows = [
        client_row(1, externals="Anna Neri <anna@neri.it>\nBruno Neri <bruno@neri.it>"),
        client_row(2, ragione_sociale="Beta\r\nSrl"),  # a name typed on two lines
        client_row(3, partita_iva="00000000000"),
    ]
    file = write_csv(tmp_path / "c.csv", rows, newline="\r\n")
    result, report = batch_json(cli, file, "--partial", "--no-deadlines")
    assert result.exit_code == 12
    assert [(r["line"], r["action"]) for r in report["results"]] == [
        (2, "created"), (4, "created"), (6, "refused"),
    ]  # fmt: skip
    assert report["results"][1]["ragione_sociale"] == "Beta Srl"
    _, again = batch_json(cli, file, "--partial", "--no-deadlines")
    assert [r["action"] for r in again["results"]] == ["unchanged", "unchanged", "refused"]


def test_a_json_file_is_a_list_of_objects_named_by_index(cli, practice, tmp_path, store_path):
    items = [
        {"ragione_sociale": "Alfa Srl", "partita_iva": piva(1), "sostituto_imposta": True,
         "modules": ["tasks", "chat"], "externals": [{"name": "Anna", "email": "anna@alfa.it"}],
         "delegations": [{"kind": "inps", "reference": "X1", "valid_until": "2027-01-31"}]},
        {"ragione_sociale": "Beta Srl", "partita_iva": 1234567, "iva_periodicity": None},
        {"ragione_sociale": "Gamma Srl", "partita_iva": piva(3), "colour": "red"},
        ["not", "an", "object"],
    ]  # fmt: skip
    file = tmp_path / "clienti.json"
    file.write_text(json.dumps(items), encoding="utf-8")
    result, report = batch_json(cli, file, "--partial", "--no-deadlines")
    assert result.exit_code == 12
    assert [(r["index"], r["line"], r["action"], r["field"]) for r in report["results"]] == [
        (0, None, "created", None),
        (1, None, "refused", "partita_iva"),
        (2, None, "refused", "colour"),
        (3, None, "refused", "(row)"),
    ]
    assert "did you mean" not in report["results"][2]["problem"]
    assert query(store_path, "SELECT sostituto_imposta FROM client_profiles") == [(1,)]
    assert query(store_path, "SELECT module FROM client_modules ORDER BY 1") == [
        ("chat",),
        ("tasks",),
    ]
    assert "index 1" in result.stderr


def test_the_documented_examples_onboard_and_agree(cli, practice, store_path):
    """docs/examples: the CSV and the JSON describe the same clients, so the second
    changes nothing."""
    ok(cli("studio", "add", "--name", "Studio Rossi & Associati"))
    for email in ("giulia.ferri@sempi.demo", "marco.bellini@sempi.demo", "sara.colombo@sempi.demo"):
        ok(cli("user", "add", "--email", email, "--name", email.split("@")[0], "--role", "staff"))
    result, report = batch_json(cli, EXAMPLES / "clients.csv", studio="Studio Rossi & Associati")
    ok(result)
    assert report["created"] == 6 and report["deadlines"]["created"] > 100
    assert query(store_path, "SELECT count(*) FROM users WHERE role = 'external'") == [(3,)]
    before = store_digest(store_path)
    result, report = batch_json(cli, EXAMPLES / "clients.json", studio="Studio Rossi & Associati")
    ok(result)
    assert report["unchanged"] == 6
    assert store_digest(store_path) == before


# --- bad input, as a new user makes it ---------------------------------------------------------


def test_a_wrong_header_is_one_line_naming_the_column(cli, practice, tmp_path, store_path):
    before = store_digest(store_path)
    file = write_csv(tmp_path / "c.csv", [client_row(1)], header=["ragone_sociale", "partita_iva"])
    error = assert_one_line_error(batch(cli, file), 6)
    assert error.startswith(
        "Error: c.csv line 1: unknown column 'ragone_sociale' (did you mean ragione_sociale?)."
    )
    assert "The columns are: ragione_sociale, kind, codice_fiscale, partita_iva," in error
    file = write_csv(tmp_path / "c.csv", [client_row(1)], header=["nome", "partita_iva"])
    assert_one_line_error(batch(cli, file), 6, "unknown column 'nome'")
    file = write_csv(tmp_path / "c.csv", [client_row(1)], header=["partita_iva", "email"])
    assert_one_line_error(batch(cli, file), 6, "no ragione_sociale column")
    (tmp_path / "empty.csv").write_text("")
    assert_one_line_error(batch(cli, tmp_path / "empty.csv"), 6, "no header row")
    assert store_digest(store_path) == before


def test_a_bad_codice_fiscale_on_line_731(cli, practice, tmp_path, store_path):
    rows = [client_row(n) for n in range(1, 801)]
    rows[729]["codice_fiscale"] = "RSSMRA85T10F205X"  # header is line 1: row 730 is line 731
    rows[729]["kind"] = "persona_fisica"
    before = store_digest(store_path)
    result = batch(cli, write_csv(tmp_path / "clienti.csv", rows))
    assert result.exit_code == 6
    assert store_digest(store_path) == before
    report = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert len(report) == 1
    assert report[0].split()[:3] == ["line", "731", "refused"]
    assert "codice_fiscale" in report[0]
    assert "'RSSMRA85T10F205X' is not a valid codice fiscale" in report[0]


def test_an_unreadable_byte_names_its_line_and_the_way_out(cli, practice, tmp_path, store_path):
    rows = [client_row(n) for n in range(1, 4)]
    rows[1]["ragione_sociale"] = "Società Srl"
    file = write_csv(tmp_path / "c.csv", rows, encoding="cp1252")
    before = store_digest(store_path)
    error = assert_one_line_error(batch(cli, file), 6)
    assert error == (
        "Error: c.csv line 3, byte 7: 0xE0 is not UTF-8. The file may be Windows-1252, as Excel"
        " saves it: try --encoding cp1252."
    )
    (tmp_path / "d.csv").write_bytes("ragione_sociale;partita_iva\r\nX\x81;1\r\n".encode("latin-1"))
    error = assert_one_line_error(batch(cli, tmp_path / "d.csv", "--encoding", "cp1252"), 6)
    assert "0x81 is not Windows-1252" in error and "line 2" in error
    assert store_digest(store_path) == before


def test_a_missing_studio_or_file_and_bad_options(cli, practice, tmp_path, clients_csv, store_path):
    before = store_digest(store_path)
    assert_one_line_error(batch(cli, clients_csv, studio="Studio Neri"), 3, "Studio Neri")
    error = assert_one_line_error(batch(cli, tmp_path / "nessuno.csv"), 3)
    assert "nessuno.csv: no such file" in error
    assert_one_line_error(batch(cli, tmp_path), 6, "folder")
    assert_one_line_error(batch(cli, clients_csv, "--encoding", "klingon"), 2, "--encoding")
    assert_one_line_error(batch(cli, clients_csv, "--delimiter", "|"), 2, "--delimiter")
    assert_one_line_error(batch(cli, clients_csv, studio=None), 2, "--studio")
    (tmp_path / "bad.json").write_text('[{"ragione_sociale": "A"')
    assert_one_line_error(batch(cli, tmp_path / "bad.json"), 6, "not JSON")
    (tmp_path / "obj.json").write_text('{"ragione_sociale": "A"}')
    assert_one_line_error(batch(cli, tmp_path / "obj.json"), 6, "list of objects")
    assert store_digest(store_path) == before


def test_a_batch_asks_before_writing_unless_yes(cli, practice, clients_csv, store_path):
    before = store_digest(store_path)
    result = cli("client-onboard", "batch", str(clients_csv), "--studio", "Studio Rossi")
    assert_one_line_error(result, 2, "confirmation needed")
    assert store_digest(store_path) == before


# --- who may run a batch ---------------------------------------------------------------------


def test_the_practices_administrator_may_for_their_practice(cli, practice, clients_csv):
    result, report = batch_json(cli, clients_csv, "--no-deadlines", as_user=SADMIN)
    ok(result)
    assert report["created"] == 5


@pytest.mark.parametrize(("who", "code"), [(RESP, 8), (OPERATOR, 8), (OTHER_ADMIN, 3)])
def test_others_may_not(cli, practice, clients_csv, store_path, who, code):
    before = store_digest(store_path, ignore=("audit_log",))
    assert_one_line_error(batch(cli, clients_csv, as_user=who), code)
    assert store_digest(store_path, ignore=("audit_log",)) == before


# --- a file that is not what it should be: one line, nothing written ------------------------


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        (
            "q.csv",
            b'"ragione_sociale;partita_iva\nA;11111110018\n',
            "Error: q.csv line 1: not CSV: unexpected end of data. A quote opened in a cell"
            " must close.",
        ),
        (
            "deep.json",
            b"[" * 100_000 + b"]" * 100_000,
            "Error: deep.json: not JSON: nested too deeply.",
        ),
        ("long.json", b"[" + b"9" * 5000 + b"]", "Error: long.json: not JSON: a number too long."),
        (
            "header.csv",
            b"ragione_sociale;partita_iva\r\n\r\n",
            "Error: header.csv: no rows. The file has a header and nothing else.",
        ),
        ("empty.json", b"[]", "Error: empty.json: no rows. The list is empty."),
        (
            "clienti.csv",
            b"PK\x03\x04\x14\x00\x06\x00",
            "Error: clienti.csv: a spreadsheet file. Save it as CSV (UTF-8).",
        ),
        (
            "clienti.xlsx",
            b"PK\x03\x04\x14\x00\x06\x00",
            "Error: clienti.xlsx: a spreadsheet file. Save it as CSV (UTF-8).",
        ),
        (
            "unicode.csv",
            "ragione_sociale;partita_iva\r\n".encode("utf-16"),
            "Error: unicode.csv: a UTF-16 file. Save it as CSV (UTF-8).",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_one_line_exit_6(
    cli, practice, tmp_path, store_path, name, content, error
):
    (tmp_path / name).write_bytes(content)
    before = store_digest(store_path)
    assert assert_one_line_error(batch(cli, tmp_path / name), 6) == error
    assert store_digest(store_path) == before


def test_a_pipe_is_not_a_batch_file(cli, practice, tmp_path, store_path):
    import os

    fifo = tmp_path / "clienti.csv"
    os.mkfifo(fifo)
    before = store_digest(store_path)
    error = assert_one_line_error(batch(cli, fifo), 6)
    assert error == (f"Error: FILE: {fifo} is not a regular file. Save the data to a file first.")
    assert store_digest(store_path) == before


@pytest.mark.parametrize("encoding", ["UTF-8", "utf8", "utf-8-sig", "windows-1252", "latin-1",
                                      "iso8859-15", "CP1252"])  # fmt: skip
def test_any_ascii_compatible_encoding_by_any_name(cli, practice, tmp_path, store_path, encoding):
    rows = [client_row(1, ragione_sociale="Società Ferrè Sas")]
    codec = "utf-8" if "8" in encoding and "885" not in encoding else encoding
    file = write_csv(tmp_path / "c.csv", rows, encoding=codec)
    ok(batch(cli, file, "--no-deadlines", "--encoding", encoding))
    assert query(store_path, "SELECT ragione_sociale FROM clients") == [("Società Ferrè Sas",)]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (
            ("--encoding", "utf-16"),
            "--encoding: 'utf-16' does not read a CSV (not ASCII-compatible)",
        ),
        (("--encoding", "utf-32-le"), "not ASCII-compatible"),
        (("--encoding", "klingon"), "--encoding: 'klingon' is not an encoding"),
        (("--encoding", "base64"), "--encoding"),
        (("--delimiter", "\t"), "--delimiter"),
    ],
)
def test_a_bad_encoding_or_delimiter_is_a_usage_error(
    cli, practice, clients_csv, store_path, extra, words
):
    before = store_digest(store_path)
    assert_one_line_error(batch(cli, clients_csv, *extra), 2, words)
    assert store_digest(store_path) == before


# --- JSON values -------------------------------------------------------------------------------


def test_json_values_that_are_not_text_are_refused_naming_the_column(cli, practice, tmp_path):
    items = [
        {"ragione_sociale": ["Foo", "Bar"], "partita_iva": piva(1)},
        {"ragione_sociale": "Beta Srl", "partita_iva": piva(2), "nickname": {"a": 1}},
        {"ragione_sociale": "Gamma Srl", "partita_iva": 4829170150},
        {"ragione_sociale": "Delta Srl", "codice_fiscale": 97123450153},
        {"ragione_sociale": True, "partita_iva": piva(5)},
        {"ragione_sociale": "Zeta Srl", "partita_iva": piva(6), "modules": ["tasks", ["chat"]]},
        {"ragione_sociale": "Eta Srl", "partita_iva": piva(7), "sostituto_imposta": True,
         "modules": "tasks, chat", "responsible": 1},
    ]  # fmt: skip
    file = tmp_path / "c.json"
    file.write_text(json.dumps(items), encoding="utf-8")
    result, report = batch_json(cli, file, "--partial", "--no-deadlines")
    assert result.exit_code == 12
    assert [(r["field"], r["problem"]) for r in report["results"]] == [
        ("ragione_sociale", "a list is not a text value"),
        ("nickname", "an object is not a text value"),
        ("partita_iva", "4829170150 is a number, which loses leading zeros: write it in quotes"),
        ("codice_fiscale",
         "97123450153 is a number, which loses leading zeros: write it in quotes"),
        ("ragione_sociale", "true is not a text value"),
        ("modules", '["chat"] in the list is not a text value'),
        (None, None),
    ]  # fmt: skip


def test_json_keys_for_one_column_twice_are_refused_as_in_a_csv_header(cli, practice, tmp_path):
    first = {"ragione_sociale": "K Srl", "partita_iva": piva(1), "Partita IVA": piva(2)}
    # the very same key twice: json.loads would keep the last without a word
    second = (
        f'{{"ragione_sociale": "L Srl", "partita_iva": "{piva(3)}", "partita_iva": "{piva(4)}"}}'
    )
    text = f"[{json.dumps(first)}, {second}]"
    file = tmp_path / "c.json"
    file.write_text(text, encoding="utf-8")
    result, report = batch_json(cli, file, "--no-deadlines")
    assert result.exit_code == 6
    assert [(r["field"], r["problem"]) for r in report["results"]] == [
        ("Partita IVA", "the column partita_iva appears twice"),
        ("partita_iva", "the column partita_iva appears twice"),
    ]
    header = write_csv(tmp_path / "d.csv", [], header=["ragione_sociale", "partita_iva",
                                                        "Partita IVA"])  # fmt: skip
    assert_one_line_error(batch(cli, header), 6, "the column partita_iva appears twice")


# --- delegations in a cell ----------------------------------------------------------------------


def test_delegations_are_separated_by_a_bar_or_a_line_and_may_hold_commas(
    cli, practice, tmp_path, store_path
):
    rows = [
        client_row(1, delegations="inps:12,34;5:2027-01-01|cassetto_fiscale:A,B:31/12/2027"),
        client_row(2, delegations="inps:X-1:2027-01-01\ncamera_commercio:Y;2:2027-06-30"),
        # a file written when ';' separated them: still read, where a KIND: follows
        client_row(3, delegations="inps:Z-1:2027-01-01; cassetto_fiscale:B,2:2028-01-01"),
        client_row(4, delegations="inps:Z|2:2027-01-01"),
    ]
    result, report = batch_json(cli, write_csv(tmp_path / "c.csv", rows), "--partial",
                                "--no-deadlines")  # fmt: skip
    assert result.exit_code == 12
    assert [r["action"] for r in report["results"]] == ["created"] * 3 + ["refused"]
    assert report["results"][3]["problem"] == "'inps:Z' is not KIND:REFERENCE:VALID_UNTIL"
    assert query(
        store_path, "SELECT kind, reference, valid_until FROM client_delegations ORDER BY 2"
    ) == [
        ("inps", "12,34;5", "2027-01-01"),
        ("cassetto_fiscale", "A,B", "2027-12-31"),
        ("cassetto_fiscale", "B,2", "2028-01-01"),
        ("inps", "X-1", "2027-01-01"),
        ("camera_commercio", "Y;2", "2027-06-30"),
        ("inps", "Z-1", "2027-01-01"),
    ]


# --- control characters and lengths, as `client add` -------------------------------------------


def test_control_characters_and_overlong_text_are_refused_naming_line_and_column(
    cli, practice, tmp_path, store_path
):
    rows = [
        client_row(1, ragione_sociale="Alfa\x1b[31m Srl"),
        client_row(2, ragione_sociale="B" * 201),
        client_row(3, externals="Anna\x00 Neri <anna@neri.it>"),
        client_row(4, delegations="inps:X\x07:2027-01-01"),
        client_row(5, ragione_sociale="Epsilon\r\nSrl"),  # a line end is a space, as before
    ]
    header = [*HEADER, "nickname"]
    rows.append(client_row(6, nickname="N" * 65))
    file = write_csv(tmp_path / "c.csv", rows, header=header)
    before = store_digest(store_path)
    result, report = batch_json(cli, file, "--no-deadlines")
    assert result.exit_code == 6 and store_digest(store_path) == before
    assert [(r["line"], r["field"], r["problem"]) for r in report["results"]] == [
        (2, "ragione_sociale", "a control character (U+001B) is not allowed"),
        (3, "ragione_sociale", "longer than 200 characters (201)"),
        (4, "externals", "a control character (U+0000) is not allowed"),
        (5, "delegations", "a control character (U+0007) is not allowed"),
        (6, None, None),
        (8, "nickname", "longer than 64 characters (65)"),
    ]


# --- the summary, the tables, the --report file -------------------------------------------------


def test_when_every_row_is_refused_the_summary_says_none_was_written(
    cli, practice, tmp_path, store_path
):
    rows = [client_row(n, partita_iva="00000000001") for n in range(1, 4)]
    file = write_csv(tmp_path / "c.csv", rows)
    before = store_digest(store_path)
    result = batch(cli, file)
    assert result.exit_code == 6 and result.stdout == ""
    assert result.stderr.splitlines()[-2] == "Checked 3 row(s); none written: 3 refused."
    partial = batch(cli, file, "--partial")
    assert partial.exit_code == 12
    assert partial.stderr.splitlines()[-2] == "Checked 3 row(s); none written: 3 refused."
    assert partial.stderr.splitlines()[-1].endswith(
        "; no row was written. Fix them and run the same file again."
    )
    assert store_digest(store_path) == before


def test_partial_refused_rows_on_stderr_or_only_in_the_report(cli, practice, tmp_path):
    rows = [client_row(1), client_row(2, partita_iva="00000000001")]
    file = write_csv(tmp_path / "c.csv", rows)
    result = batch(cli, file, "--partial", "--no-deadlines")
    assert result.exit_code == 12
    assert result.stdout == ""  # nothing updated: no result table
    assert "line 3   refused" in result.stderr
    rows[0]["ragione_sociale"] = "Uno Srl"
    report_file = tmp_path / "esito.csv"
    result = batch(cli, write_csv(file, rows), "--partial", "--no-deadlines",
                   "--report", str(report_file))  # fmt: skip
    assert result.exit_code == 12
    assert "updated" in result.stdout and "refused" not in result.stdout  # the result
    assert "line 3   refused" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # the summary and the error
    assert [line[2] for line in csv.reader(report_file.open())][1:] == ["updated", "refused"]


@pytest.mark.parametrize(
    "where", ["missing/esito.csv", "folder", "clienti.csv/esito.csv", "e" * 300 + ".csv"]
)
def test_a_bad_report_path_is_found_before_anything_is_written(
    cli, practice, clients_csv, tmp_path, store_path, where
):
    (tmp_path / "folder").mkdir()
    before = store_digest(store_path)
    result = batch(cli, clients_csv, "--report", str(tmp_path / where))
    error = assert_one_line_error(result, 6)
    assert error.startswith("Error: --report: ")
    assert store_digest(store_path) == before
    assert not list(tmp_path.glob("**/.sempi-report-*"))


def test_a_failed_batch_leaves_no_temporary_report(cli, practice, tmp_path, store_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    assert_one_line_error(batch(cli, bad, "--report", str(tmp_path / "esito.csv")), 6)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["bad.json"]


# --- the store changes between the check and the write --------------------------------------------


def _between_passes(monkeypatch, store_path, *statements):
    """Run SQL from another connection when the batch asks for confirmation: after
    every row was checked, before the first write."""
    from sempi_cli.cli.client import onboard as client_onboard

    def confirm(ctx, question):
        conn = sqlite3.connect(store_path)
        with conn:
            for sql in statements:
                conn.execute(sql)
        conn.close()

    monkeypatch.setattr(client_onboard, "confirm", confirm)


def test_a_user_disabled_after_the_check_is_not_made_responsible_or_member(
    cli, practice, tmp_path, store_path, monkeypatch
):
    rows = [client_row(n, responsible="") for n in range(1, 4)]
    file = write_csv(tmp_path / "c.csv", rows)
    disable = "UPDATE users SET disabled_at = '2026-11-16T09:00:00+00:00' WHERE email = '{}'"
    _between_passes(monkeypatch, store_path, disable.format(OPERATOR))
    ok(batch(cli, file, "--no-deadlines"))
    members = query(store_path, "SELECT DISTINCT u.email FROM work_group_members w"
                    " JOIN users u ON u.id = w.user_id")  # fmt: skip
    assert members == [(SADMIN,)]  # not the operator disabled in between
    rows = [client_row(n) for n in range(4, 7)]  # the second names RESP
    _between_passes(monkeypatch, store_path, disable.format(RESP))
    result = batch(cli, write_csv(tmp_path / "d.csv", rows), "--no-deadlines")
    error = assert_one_line_error(result, 6)
    assert error == (
        f"Error: d.csv line 3, responsible: {RESP} is not an active firm user (firm-admin or"
        " staff). The store changed during the batch; nothing was written; fix it and run again."
    )
    assert query(store_path, "SELECT count(*) FROM clients") == [(3,)]


def test_a_row_gone_bad_after_chunks_were_written_is_partly_done(
    cli, practice, tmp_path, store_path, monkeypatch
):
    import functools

    from sempi_cli.services.onboarding import batch as onboarding_batch

    monkeypatch.setattr(
        onboarding_batch, "chunks", functools.partial(onboarding_batch.chunks, size=2)
    )
    rows = [client_row(n) for n in range(1, 6)]
    rows[2]["externals"] = "Anna Neri <anna@neri.it>"  # line 4, in the second chunk
    _between_passes(
        monkeypatch,
        store_path,
        "INSERT INTO users (email, full_name, role, created_at, updated_at)"
        " VALUES ('anna@neri.it', 'Anna', 'staff', '2026-01-01', '2026-01-01')",
    )
    result = batch(cli, write_csv(tmp_path / "c.csv", rows), "--no-deadlines")
    assert assert_one_line_error(result, 12) == (
        "Error: c.csv line 4, externals: a user with the e-mail anna@neri.it already exists;"
        " the store changed during the batch: 2 client(s) before this row were written, none"
        " from it on. Run the same batch again to finish."
    )
    assert query(store_path, "SELECT partita_iva FROM clients ORDER BY id") == [
        (piva(1),), (piva(2),),
    ]  # fmt: skip


# --- the audit log: the same history as one client at a time ------------------------------------


def test_a_batch_writes_the_audit_of_add_and_edit(cli, practice, tmp_path, store_path):
    ok(cli("client-onboard", "add", "--name", "Uno Srl", "--studio", "Studio Rossi", "--piva",
           piva(1), "-r", RESP, "--external", "Anna Uno <anna@uno.it>", "--delegation",
           "inps:X:2027-01-01", "--no-deadlines"))  # fmt: skip
    rows = [client_row(2, responsible=RESP, externals="Bea Due <bea@due.it>",
                       delegations="inps:X:2027-01-01")]  # fmt: skip
    ok(batch(cli, write_csv(tmp_path / "c.csv", rows), "--no-deadlines"))

    def history(client_id: int) -> list[tuple]:
        entries = query(
            store_path,
            "SELECT action, object_type, object_id, details FROM audit_log WHERE"
            " (object_type IN ('client', 'work_group') AND object_id = ?)"
            " OR json_extract(details, '$.client_id') = ? ORDER BY id",
            client_id,
            client_id,
        )
        return sorted(
            (action, kind, object_id is None, sorted(json.loads(details)))
            for action, kind, object_id, details in entries
        )

    one, two = history(1), history(2)
    assert one == two
    assert [e[0] for e in one] == [
        "add", "add", "add_default", "add_member", "add_member", "add_member", "add_member",
        "onboard", "queue",
    ]  # fmt: skip
    assert query(store_path, "SELECT count(*) FROM audit_log WHERE action = 'invite'") == [(2,)]


def test_a_stale_temporary_report_is_removed_by_the_next_batch(cli, practice, tmp_path):
    """One left by a batch killed while writing its report (an instant) goes the
    next time a batch reports into that folder; a fresh one (a batch writing now) stays."""
    import os
    import time

    folder = tmp_path / "reports"
    folder.mkdir()
    stale, fresh = folder / ".sempi-report-abc123", folder / ".sempi-report-def456"
    stale.write_text("old")
    fresh.write_text("now")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    rows = [client_row(1)]
    ok(batch(cli, write_csv(tmp_path / "c.csv", rows), "--report", str(folder / "esito.csv")))
    assert sorted(p.name for p in folder.iterdir()) == [".sempi-report-def456", "esito.csv"]


def test_a_full_disk_midway_says_how_many_clients_are_in(cli, practice, tmp_path, monkeypatch):
    """The first chunk is committed, the disk fills under the second: exit 12 with the
    count (the contract for partly done), not 10 without it; the same batch run again
    once there is room writes only what is missing."""
    from sempi_cli.services.onboarding import batch as batch_module

    rows = [client_row(n) for n in range(1, 7)]
    path = write_csv(tmp_path / "c.csv", rows)
    real_chunks = batch_module.chunks
    monkeypatch.setattr(batch_module, "chunks", lambda rows: real_chunks(rows, 2))
    real_write = batch_module._Writer.write
    calls = []

    def write(self, plans):
        calls.append(len(plans))
        if len(calls) == 2:
            raise sqlite3.OperationalError("database or disk is full")
        return real_write(self, plans)

    monkeypatch.setattr(batch_module._Writer, "write", write)
    line = assert_one_line_error(batch(cli, path), 12, "disk holding the store is full")
    assert "2 client(s) were written" in line
    monkeypatch.setattr(batch_module._Writer, "write", real_write)
    result, report = batch_json(cli, path)
    assert result.exit_code == 0, result.stderr
    assert (report["created"], report["unchanged"]) == (4, 2)


def test_a_report_replaces_a_report_never_a_pipe_or_a_link(cli, practice, tmp_path, store_path):
    import os

    rows = [client_row(1)]
    path = write_csv(tmp_path / "c.csv", rows)
    fifo, link = tmp_path / "pipe.csv", tmp_path / "link.csv"
    os.mkfifo(fifo)
    link.symlink_to(tmp_path / "elsewhere.csv")
    before = store_digest(store_path)
    for target in (fifo, link):
        assert_one_line_error(batch(cli, path, "--report", str(target)), 6, "--report")
    assert store_digest(store_path) == before
    assert os.path.islink(link) and not (tmp_path / "elsewhere.csv").exists()
