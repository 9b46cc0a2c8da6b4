"""Issue 16, the client's coupon flags: `client add`/`edit --conto-terzi yes|no` and
`--own-licence yes|no`, shown by `client show`, in the edit's audit diff, and the
onboarding batch's `conto_terzi` / `own_licence` columns, checked row by row."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import piva, store_digest
from tests.helpers import assert_one_line_error, data, ok, onboarding_practices

ROSSI = "Studio Rossi"


def flags(store_path, client_id: int) -> tuple[int, int]:
    conn = sqlite3.connect(store_path)
    try:
        return conn.execute(
            "SELECT conto_terzi, own_licence FROM clients WHERE id = ?", (client_id,)
        ).fetchone()
    finally:
        conn.close()


def add(cli, n: int, *extra: str):
    return cli(
        "--format", "json", "client", "add", "--name", f"Cliente {n} Srl", "--studio", ROSSI,
        "--piva", piva(n), *extra,
    )  # fmt: skip


@pytest.fixture
def practice(cli) -> None:
    ok(cli("studio", "add", "--name", ROSSI))


def test_a_new_client_is_neither_unless_told(cli, practice, store_path):
    client = data(add(cli, 1))
    assert (client["conto_terzi"], client["own_licence"]) == (False, False)
    assert flags(store_path, client["id"]) == (0, 0)


@pytest.mark.parametrize(
    ("option", "word", "expected"),
    [
        ("--conto-terzi", "yes", (1, 0)),
        ("--conto-terzi", "sì", (1, 0)),
        ("--own-licence", "SI", (0, 1)),
        ("--own-licence", "true", (0, 1)),
        ("--conto-terzi", "no", (0, 0)),
    ],
)
def test_add_with_each_flag(cli, practice, store_path, option, word, expected):
    client = data(add(cli, 1, option, word))
    assert flags(store_path, client["id"]) == expected
    assert (client["conto_terzi"], client["own_licence"]) == tuple(map(bool, expected))


def test_edit_sets_and_clears_each_flag_and_the_audit_keeps_old_and_new(cli, practice, store_path):
    client_id = data(add(cli, 1))["id"]
    shown = data(cli("--format", "json", "client", "edit", str(client_id), "--conto-terzi", "yes"))
    assert shown["conto_terzi"] is True and shown["own_licence"] is False
    ok(cli("client", "edit", str(client_id), "--own-licence", "yes", "--conto-terzi", "no"))
    assert flags(store_path, client_id) == (0, 1)
    shown = data(cli("--format", "json", "client", "show", str(client_id)))
    assert (shown["conto_terzi"], shown["own_licence"]) == (False, True)
    conn = sqlite3.connect(store_path)
    try:
        diffs = [
            json.loads(row[0])["changes"]
            for row in conn.execute(
                "SELECT details FROM audit_log WHERE action = 'edit' AND object_type = 'client'"
                " AND object_id = ? ORDER BY id",
                (client_id,),
            )
        ]
    finally:
        conn.close()
    assert diffs == [
        {"conto_terzi": {"old": 0, "new": 1}},
        {"conto_terzi": {"old": 1, "new": 0}, "own_licence": {"old": 0, "new": 1}},
    ]


def test_show_on_a_terminal_says_yes_or_no(cli, practice):
    client_id = data(add(cli, 1, "--conto-terzi", "yes"))["id"]
    lines = ok(cli("--format", "table", "client", "show", str(client_id))).stdout.splitlines()
    assert any(line.split() == ["conto_terzi", "yes"] for line in lines)
    assert any(line.split() == ["own_licence", "no"] for line in lines)


@pytest.mark.parametrize("option", ["--conto-terzi", "--own-licence"])
def test_a_bad_word_is_one_line_naming_the_option_and_writes_nothing(
    cli, practice, store_path, option
):
    client_id = data(add(cli, 1))["id"]
    before = store_digest(store_path)
    assert_one_line_error(add(cli, 2, option, "forse"), 6, option, "'forse' is not yes or no")
    assert_one_line_error(
        cli("client", "edit", str(client_id), option, "maybe"), 6, option, "not yes or no"
    )
    assert store_digest(store_path) == before


# --- the onboarding batch's columns ---------------------------------------------------


def batch(cli, path, *extra):
    return cli(
        "--format", "json", "client-onboard", "batch", str(path), "--studio", ROSSI, "--yes",
        "--no-deadlines", *extra,
    )  # fmt: skip


def test_a_batch_row_marks_the_client(cli, store_path, tmp_path):
    onboarding_practices(cli, second_staff=False)
    path = tmp_path / "clienti.csv"
    path.write_text(
        "ragione_sociale;partita_iva;conto_terzi;own_licence\r\n"
        f"Uno Srl;{piva(1)};yes;\r\n"
        f"Due Srl;{piva(2)};no;sì\r\n"
        f"Tre Srl;{piva(3)};;\r\n",
        encoding="utf-8",
    )
    report = data(batch(cli, path))
    ids = [r["client_id"] for r in report["results"]]
    assert [flags(store_path, i) for i in ids] == [(1, 0), (0, 1), (0, 0)]
    # the same file again changes nothing; a changed cell updates the client
    again = data(batch(cli, path))
    assert {r["action"] for r in again["results"]} == {"unchanged"}
    path.write_text(
        f"ragione_sociale;partita_iva;conto_terzi\r\nTre Srl;{piva(3)};1\r\n", encoding="utf-8"
    )
    report = data(batch(cli, path))
    assert report["results"][0]["action"] == "updated"
    assert "conto_terzi" in report["results"][0]["changes"]
    assert flags(store_path, ids[2]) == (1, 0)


def test_a_batch_json_takes_booleans(cli, store_path, tmp_path):
    onboarding_practices(cli, second_staff=False)
    path = tmp_path / "clienti.json"
    path.write_text(
        json.dumps(
            [
                {"ragione_sociale": "Uno Srl", "partita_iva": piva(1), "conto_terzi": True},
                {"ragione_sociale": "Due Srl", "partita_iva": piva(2), "own_licence": "no"},
            ]
        ),
        encoding="utf-8",
    )
    report = data(batch(cli, path))
    assert [flags(store_path, r["client_id"]) for r in report["results"]] == [(1, 0), (0, 0)]


def test_a_bad_cell_is_reported_on_its_row_naming_the_column(cli, store_path, tmp_path):
    onboarding_practices(cli, second_staff=False)
    path = tmp_path / "c.csv"
    path.write_text(
        "ragione_sociale;partita_iva;conto_terzi\r\n"
        f"Uno Srl;{piva(1)};yes\r\n"
        f"Due Srl;{piva(2)};forse\r\n",
        encoding="utf-8",
    )
    before = store_digest(store_path)
    result = batch(cli, path)
    assert result.exit_code == 6
    refused = [r for r in json.loads(result.stdout)["results"] if r["action"] == "refused"]
    assert [(r["line"], r["field"]) for r in refused] == [(3, "conto_terzi")]
    assert "'forse' is not yes or no" in refused[0]["problem"]
    assert store_digest(store_path) == before
