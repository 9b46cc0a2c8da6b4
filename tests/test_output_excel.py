"""Issue 17, CSV for Excel in Italy: `--format excel` (or `--excel`) writes what an
Italian Excel opens with a double click (';', UTF-8 with BOM, 1234,5, dd/mm/yyyy,
Rome time, sì/no, Italian headers, the formula guard kept); `--format csv` and JSON
stay byte for byte what scripts read today."""

from __future__ import annotations

import ast
import csv
import importlib
import io
import pkgutil
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sempi_cli
from sempi_cli.headers_it import HEADERS, italian_header
from sempi_cli.output import render, render_record
from tests.helpers import ok

SADMIN = "sadmin@rossi.test"
BOM = b"\xef\xbb\xbf"


def parse(text: str) -> list[list[str]]:
    """The excel output read back as Excel would: BOM stripped, ';' between cells."""
    raw = text.encode("utf-8")
    assert raw.startswith(BOM)
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";")
    return list(reader)


def excel(rows: list[dict], columns: list[str]) -> list[list[str]]:
    return parse(render(rows, columns, "excel"))


# --- the file's shape ----------------------------------------------------------------


def test_separator_bom_once_and_crlf_line_ends():
    text = render(
        [{"id": 1, "name": "Alfa; Beta"}, {"id": 2, "name": "Gamma"}], ["id", "name"], "excel"
    )
    assert text.startswith("\ufeff") and text.count("\ufeff") == 1
    assert text == '\ufeffID;Nome\r\n1;"Alfa; Beta"\r\n2;Gamma'
    assert "\n" not in text.replace("\r\n", "")
    assert excel([{"id": 1, "name": "Alfa; Beta"}], ["id", "name"]) == [
        ["ID", "Nome"],
        ["1", "Alfa; Beta"],
    ]


def test_an_empty_list_is_the_header_alone():
    assert (
        render([], ["client_id", "valid_until"], "excel") == "\ufeffCodice cliente;Valido fino al"
    )


def test_a_record_is_one_header_row_and_one_data_row():
    text = render_record({"client_id": 7, "valid_until": "2026-12-31", "used": 2.5}, "excel")
    assert parse(text) == [
        ["Codice cliente", "Valido fino al", "Usati"],
        ["7", "31/12/2026", "2,5"],
    ]


# --- the values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (1234.5, "1234,5"),  # a decimal comma, never a thousands separator
        (1234567, "1234567"),  # integers unchanged
        (0.1, "0,1"),
        (-3, "-3"),  # a negative number stays a number, not a guarded formula
        (-3.5, "-3,5"),
        (1e-7, "0,0000001"),  # never an exponent: Excel would read text
        (2.5e16, "25000000000000000"),
        (True, "sì"),
        (False, "no"),
        (None, ""),
        ("2026-12-31", "31/12/2026"),
        ("2024-02-29", "29/02/2024"),
        ("2026-01-15T10:00:00Z", "15/01/2026 11:00"),  # winter: Rome is UTC+1
        ("2026-07-01T10:00:00Z", "01/07/2026 12:00"),  # summer: UTC+2
        ("2026-12-31T23:30:00Z", "01/01/2027 00:30"),  # a new year in Rome first
        (["a", "b", 1.5, "2026-06-30"], "a, b, 1,5, 30/06/2026"),  # lists as the table joins them
        ("1234.5", "1234.5"),  # text that looks like a number is data, left as it is
    ],
)
def test_values_as_an_italian_excel_reads_them(value, cell):
    assert excel([{"x": value}], ["x"])[1] == [cell]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+39 06 1234567", "'+39 06 1234567"),
        ("-x", "'-x"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("-3", "'-3"),  # text (a script's string) is guarded; numbers are not
        ("Rossi = Verdi", "Rossi = Verdi"),
    ],
)
def test_the_formula_guard_is_kept(text, cell):
    assert excel([{"x": text}], ["x"])[1] == [cell]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("00488410010", '="00488410010"'),  # a partita IVA: Excel would drop the zeros
        ("01234", '="01234"'),
        ("1234567890123456", '="1234567890123456"'),  # past Excel's 15 digits
        ("12345678901", "12345678901"),  # a plain number Excel reads whole
        ("0", "0"),
        ("RSSMRA85T10A562S", "RSSMRA85T10A562S"),
        ("0=1", "0=1"),
    ],
)
def test_digits_excel_would_lose_stay_text(text, cell):
    assert excel([{"partita_iva": text}], ["partita_iva"])[1] == [cell]


def test_a_control_character_is_made_inert():
    row = excel([{"title": "a\x1b]52;c;ZXZpbA==\x07b", "note": "two\nlines"}], ["title", "note"])[1]
    assert row == ["a\\x1b]52;c;ZXZpbA==\\x07b", "two\nlines"]
    assert "\x1b" not in render([{"t": "\x1b[2J\x9b"}], ["t"], "excel")


# --- the headers ---------------------------------------------------------------------------


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Tuple | ast.List):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return []


def _column_lists() -> list[tuple[str, tuple[str, ...]]]:
    """Every list of columns the product renders, with where it is: the module-level
    *COLUMNS/*_FIELDS tuples, and the literal lists given to emit_rows, render or a
    local `columns` variable."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for module in pkgutil.walk_packages(sempi_cli.__path__, "sempi_cli."):
        if module.name.endswith("__main__"):
            continue
        for name, value in vars(importlib.import_module(module.name)).items():
            if (
                (name.endswith(("COLUMNS", "_FIELDS")) or name in ("KEYS", "CHANGED"))
                and isinstance(value, tuple | list)
                and value
                and all(isinstance(v, str) for v in value)
            ):
                found.append((f"{module.name}.{name}", tuple(value)))
    root = Path(sempi_cli.__file__).parent
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("emit_rows", "render"):
                    found.extend((where, tuple(s)) for a in node.args if (s := _strings(a)))
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and "column" in t.id.lower() for t in node.targets
            ):
                if strings := _strings(node.value):
                    found.append((where, tuple(strings)))
    return found


def test_every_column_the_product_renders_has_an_italian_header():
    lists = _column_lists()
    assert len(lists) > 50  # the collection itself works
    missing = sorted({c for _, columns in lists for c in columns if c not in HEADERS})
    assert not missing, f"add an Italian header to sempi_cli/headers_it.py for {missing}"


def lists_with_known_headers():
    return [(w, c) for w, c in _column_lists() if all(x in HEADERS for x in c)]


def test_within_one_list_no_two_columns_share_a_header():
    clashes = [
        (where, columns)
        for where, columns in lists_with_known_headers()
        if len({italian_header(c) for c in columns}) != len(set(columns))
    ]
    assert not clashes


def test_headers_are_italian_words_of_the_practice():
    assert italian_header("client") == "Cliente"
    assert italian_header("ragione_sociale") == "Ragione sociale"
    assert italian_header("codice_fiscale") == "Codice fiscale"
    assert italian_header("partita_iva") == "Partita IVA"
    assert italian_header("deadline") == "Scadenza"
    assert italian_header("responsible") == "Responsabile"
    assert italian_header("task") == "Incarico"
    assert italian_header("studio") == "Studio"
    assert italian_header("valid_until") == "Valido fino al"
    assert (italian_header("used"), italian_header("left")) == ("Usati", "Rimasti")
    assert italian_header("status") == "Stato"
    for header in HEADERS.values():
        assert header and header == header.strip() and header[0].isupper(), header
        assert not header.startswith(("=", "+", "-", "@"))


def test_an_unknown_key_falls_back_to_its_identifier():
    assert italian_header("a_key_built_on_the_fly") == "a_key_built_on_the_fly"
    assert excel([{"a_key_built_on_the_fly": 1}], ["a_key_built_on_the_fly"])[0] == [
        "a_key_built_on_the_fly"
    ]


# --- csv and JSON unchanged -------------------------------------------------------------------

SAMPLE = [
    {
        "id": 1,
        "client": "Alfa S.r.l.",
        "amount": 1234.5,
        "active": True,
        "valid_until": "2026-12-31",
        "at": "2026-07-01T10:00:00Z",
        "tags": ["a", "b"],
        "note": "=SUM(A1)",
        "none": None,
        "neg": -3,
    }
]
COLS = list(SAMPLE[0])


def test_csv_and_json_stay_byte_identical():
    """What scripts read before `excel` existed, byte for byte."""
    assert render(SAMPLE, COLS, "csv") == (
        "id,client,amount,active,valid_until,at,tags,note,none,neg\r\n"
        '1,Alfa S.r.l.,1234.5,yes,2026-12-31,2026-07-01T10:00:00Z,"a, b",\'=SUM(A1),,-3'
    )
    assert render(SAMPLE, COLS, "jsonl") == (
        '{"id": 1, "client": "Alfa S.r.l.", "amount": 1234.5, "active": true,'
        ' "valid_until": "2026-12-31", "at": "2026-07-01T10:00:00Z", "tags": ["a", "b"],'
        ' "note": "=SUM(A1)", "none": null, "neg": -3}'
    )
    assert render_record(SAMPLE[0], "csv") == render(SAMPLE, COLS, "csv")
    assert render(SAMPLE, COLS, "json").startswith(
        '[\n  {\n    "id": 1,\n    "client": "Alfa S.r.l.",'
    )


# --- end to end --------------------------------------------------------------------------------


@pytest.fixture
def packages(org, cli):
    rossi = org.practice("Studio Rossi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    ok(
        cli(
            "--format", "json", "coupon", "add", "--studio", "Studio Rossi", "--type",
            "migrazione", "--count", "50", "--valid-until", "31/12/2026", "--reference",
            "=HYPERLINK(\"x\")", as_user=SADMIN,
        )
    )  # fmt: skip


def test_coupon_list_opens_in_excel(cli, packages):
    result = ok(
        cli("--format", "excel", "coupon", "list", "--studio", "Studio Rossi", as_user=SADMIN)
    )
    raw = result.stdout_bytes
    assert raw.startswith(BOM) and raw.count(BOM) == 1
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == [
        "ID", "Tipo", "Valido fino al", "Quantità", "Usati", "Rimasti", "Riferimento", "Annullati",
    ]  # fmt: skip
    assert rows[1][1:] == ["migrazione", "31/12/2026", "50", "0", "50", '\'=HYPERLINK("x")', ""]


def test_excel_is_the_shorthand_wherever_it_stands(cli, packages):
    long = ok(
        cli("--format", "excel", "coupon", "list", "--studio", "Studio Rossi", as_user=SADMIN)
    )
    short = ok(cli("coupon", "list", "--studio", "Studio Rossi", "--excel", as_user=SADMIN))
    assert short.stdout_bytes == long.stdout_bytes
    first = ok(cli("--excel", "coupon", "list", "--studio", "Studio Rossi", as_user=SADMIN))
    assert first.stdout_bytes == long.stdout_bytes


def test_csv_on_the_command_line_is_unchanged(cli, packages):
    result = ok(
        cli("--format", "csv", "coupon", "list", "--studio", "Studio Rossi", as_user=SADMIN)
    )
    assert result.stdout_bytes == (
        b"id,type,valid_until,count,used,left,reference,cancelled\r\n"
        b'1,migrazione,2026-12-31,50,0,50,"\'=HYPERLINK(""x"")",\n'
    )
    assert BOM not in result.stdout_bytes


def test_json_and_excel_together_are_refused(cli, packages):
    result = cli("--json", "--excel", "coupon", "list", "--studio", "Studio Rossi", as_user=SADMIN)
    assert result.exit_code == 2
    assert "--excel" in result.stderr


def test_an_unknown_format_names_excel_among_the_choices(cli, packages):
    result = cli("--format", "xls", "coupon", "list", "--studio", "Studio Rossi", as_user=SADMIN)
    assert result.exit_code == 2
    assert "excel" in result.stderr


def test_a_record_a_command_prints_is_one_excel_row(cli, packages):
    result = cli(
        "--excel", "coupon", "add", "--studio", "Studio Rossi", "--type", "rinnovo",
        "--count", "5", "--valid-until", "31/12/2027", as_user=SADMIN,
    )  # fmt: skip
    rows = read_excel(ok(result).stdout_bytes)
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert (record["Tipo"], record["Quantità"], record["Valido fino al"]) == (
        "rinnovo",
        "5",
        "31/12/2027",
    )


def test_the_format_name_is_case_insensitive(cli, packages):
    upper = cli("--format", "EXCEL", "coupon", "list", "--studio", "Studio Rossi", as_user=SADMIN)
    assert ok(upper).stdout_bytes.startswith(BOM + b"ID;Tipo;")


def test_chat_follow_refuses_excel_as_it_refuses_csv(cli):
    result = cli("--excel", "chat", "follow", "--all")
    assert result.exit_code == 2
    assert "--format excel" in result.stderr and "jsonl" in result.stderr


def test_the_fast_path_reads_excel_as_the_full_cli_does():
    from sempi_cli.cli import fastpath

    line = fastpath.parse(["status", "--short", "--excel"])
    assert line is not None and line.fmt == "excel"
    assert fastpath.parse(["--json", "--excel", "status", "--short"]) is None


def read_excel(raw: bytes) -> list[list[str]]:
    assert raw.startswith(BOM) and raw.count(BOM) == 1
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_the_holidays_of_a_year_in_excel(cli):
    rows = read_excel(ok(cli("scheduler", "holidays", "2026", "--excel")).stdout_bytes)
    assert rows[0] == ["Data", "Giorno della settimana", "Nome"]
    assert rows[1][0] == "01/01/2026"
    assert ["25/12/2026"] == [r[0] for r in rows if r[0].startswith("25/12")]


def test_coupon_export_writes_an_excel_file(cli, org, db, clock, tmp_path):
    from sempi_cli.services.coupons.migrate import CouponMigration
    from tests.conftest import actor, cf_person

    rossi = org.practice("Studio Rossi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    db.execute(
        "INSERT INTO coupon_packages (studio_id, type, count, valid_until, added_at, added_by)"
        " VALUES (?, 'migrazione', 10, '2026-12-31', '2026-11-01T09:00:00+00:00', 1)",
        (rossi,),
    )
    alfa = org.client("Alfa Srl", rossi, 1)
    db.execute("UPDATE clients SET conto_terzi = 1")
    CouponMigration(db, clock, actor(db, SADMIN)).migrate(
        [alfa],
        consultant_name="Mario",
        consultant_surname="Rossi",
        consultant_cf=cf_person(1),
        email="conti@alfa.test",
    )
    target = tmp_path / "alfa-licenza.csv"
    ok(cli("--excel", "coupon", "export", str(alfa), "--out", str(target), as_user=SADMIN))
    rows = read_excel(target.read_bytes())
    header = dict(zip(rows[0], rows[1], strict=True))
    assert header["Codice cliente"] == str(alfa)
    assert header["Cliente"] == "Alfa Srl"
    assert header["Limite documenti"] == "3000"
    assert header["Partita IVA"] == '="00000020016"'  # its leading zeros kept
    assert header["Autorizzato il"] == "16/11/2026 10:30"
    assert (header["Inizia il"], header["Termina il"]) == ("16/11/2026", "31/12/2026")
    assert header["Percentuale documenti"] == "0,0"
    # csv keeps the identifiers
    text = ok(cli("--format", "csv", "coupon", "export", str(alfa), as_user=SADMIN)).stdout
    assert text.startswith("client_id,client,")


def test_the_onboarding_report_file_follows_excel(cli, tmp_path):
    from tests.conftest import piva
    from tests.helpers import onboarding_practices

    onboarding_practices(cli, second_staff=False)
    source = tmp_path / "clienti.csv"
    source.write_text(
        "ragione_sociale;kind;partita_iva;iva_periodicity\r\n"
        f"=Cliente Uno Srl;societa_capitali;{piva(1)};mensile\r\n"
        f"Cliente Due Srl;societa_capitali;{piva(2)};trimestrale\r\n",
        encoding="utf-8",
    )
    report = tmp_path / "esito.csv"
    result = cli(
        "client-onboard", "batch", str(source), "--studio", "Studio Rossi", "--yes",
        "--report", str(report), "--excel",
    )  # fmt: skip
    assert result.exit_code in (0, 6), result.stderr
    rows = read_excel(report.read_bytes())
    assert rows[0][:3] == ["Riga", "Indice", "Azione"]
    assert rows[1][0] == "2"
    assert any(cell.startswith("'=Cliente Uno") for row in rows for cell in row)


# --- property: what goes in comes back -------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"))
_cell = st.one_of(
    _text,
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.booleans(),
    st.none(),
)


def expected(value: object) -> str:
    """The documented transformations, nothing else."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "sì" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        from decimal import Decimal

        text = repr(value)
        return (format(Decimal(text), "f") if "e" in text else text).replace(".", ",")
    from sempi_cli.output import FORMULA_STARTS, for_people

    text = str(for_people(value))
    if re.fullmatch(r"0[0-9]+|[0-9]{16,}", text):
        return f'="{text}"'
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@given(st.lists(_cell, min_size=1, max_size=6))
def test_any_row_renders_and_parses_back(cells):
    columns = [f"c{i}" for i in range(len(cells))]
    rows = excel([dict(zip(columns, cells, strict=True))], columns)
    assert rows == [columns, [expected(v) for v in cells]]
    for value, cell in zip(cells, rows[1], strict=True):
        if type(value) is float:  # Excel reads the number back: a comma for the point
            assert float(cell.replace(",", ".")) == value
