"""Reading a batch file of clients: CSV or JSON, streamed, one validated row at a time.

CSV: UTF-8 with or without a BOM, or Windows-1252 (``--encoding cp1252``, what
Excel writes on an Italian Windows); ``;`` or ``,`` between cells, taken from
the header line (or an Excel ``sep=;`` first line) unless ``--delimiter`` is
given; CRLF or LF line ends; quoted cells may hold newlines. A row is named by
the physical line where its record starts, as an editor shows it. JSON: a list
of objects with the same keys, named by index (from 0, as ``jq '.[730]'``).

The file is read twice (checked, then written) and never held whole: memory
stays flat whatever its length. A JSON file is parsed whole (a list of objects
has no streaming parser in the standard library): it holds the same rows in a
few megabytes per ten thousand clients.
"""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sempi_cli.errors import InvalidData, NotFound
from sempi_cli.services import client_input, onboarding_input, profile
from sempi_cli.services.client_input import ClientInput
from sempi_cli.services.onboarding_input import Delegation, External

CLIENT_COLUMNS = (
    "ragione_sociale",
    "kind",
    "codice_fiscale",
    "partita_iva",
    "email",
    "pec",
    "nickname",
    "responsible",
    "smart_services",
)
ONBOARDING_COLUMNS = ("practice_users", "externals", "modules", "delegations")
PROFILE_COLUMNS = tuple(f.name for f in profile.PROFILE_FIELDS)
_PROFILE = frozenset(PROFILE_COLUMNS)
COLUMNS = CLIENT_COLUMNS + ONBOARDING_COLUMNS + PROFILE_COLUMNS
ENCODINGS = {"utf-8": "utf-8-sig", "cp1252": "cp1252"}  # utf-8-sig: a BOM is read, not kept
DELIMITERS = (";", ",")

# ClientInput's checks name the command's options; a batch report names columns.
_OPTION_TO_COLUMN = {
    "--name": "ragione_sociale",
    "--kind": "kind",
    "--codice-fiscale": "codice_fiscale",
    "--partita-iva": "partita_iva",
    "--email": "email",
    "--pec": "pec",
    "--smart": "smart_services",
    "--responsible": "responsible",
}
_SPLIT_LIST = re.compile(r"[;,\n\r]+")  # modules, smart services, delegations
_SPLIT_PEOPLE = re.compile(r"[;\n\r]+")  # a name may hold a comma ("Rossi, Mario")


@dataclass
class Row:
    """One client of the file, checked as far as the file alone allows.

    ``problem`` is (column, what is wrong) for a row that cannot be read; the
    store-side checks (practice, responsible, duplicates) come later."""

    ordinal: int  # 0-based among the file's rows (blank lines skipped)
    line: int | None = None
    index: int | None = None
    name: str | None = None  # the ragione sociale as written, for the report
    client: dict[str, object] = field(default_factory=dict)  # store columns given
    kind_given: bool = False
    responsible: str | None = None
    practice_users: str | None = None
    externals: list[External] = field(default_factory=list)
    modules: tuple[str, ...] | None = None
    delegations: list[Delegation] = field(default_factory=list)
    problem: tuple[str, str] | None = None

    @property
    def where(self) -> str:
        return f"line {self.line}" if self.line is not None else f"index {self.index}"


def column_name(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().lower())


def field_of(exc: InvalidData) -> str:
    """The column a validation error is about."""
    name = exc.field
    if name.startswith("--profile "):
        return name.removeprefix("--profile ")
    return _OPTION_TO_COLUMN.get(name, name)


def unknown_column(name: str, where: str) -> InvalidData:
    close = difflib.get_close_matches(name, COLUMNS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return InvalidData(
        where,
        f"unknown column {name!r}{hint}",
        "the columns are: " + ", ".join(COLUMNS) + " (see docs/onboarding.md)",
    )


class BatchFile:
    """A batch file on disk; ``rows()`` streams it from the start each time."""

    def __init__(self, path: str | Path, *, encoding: str = "utf-8", delimiter: str | None = None):
        self.path = Path(path)
        if encoding not in ENCODINGS:
            raise InvalidData("--encoding", f"{encoding!r} is not one of {', '.join(ENCODINGS)}")
        if delimiter is not None and delimiter not in DELIMITERS:
            raise InvalidData("--delimiter", f"{delimiter!r} is not ';' or ','")
        self.encoding = encoding
        self.delimiter = delimiter
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise NotFound(f"{self.path}: no such file") from None
        except OSError as exc:
            raise InvalidData("FILE", f"cannot read {self.path}: {exc.strerror}") from None
        if self.path.is_dir():
            raise InvalidData("FILE", f"{self.path} is a folder, not a CSV or JSON file")
        self.size = stat.st_size
        self.stamp = (stat.st_size, stat.st_mtime_ns)
        self.is_json = self._looks_like_json()
        self._binary: io.BufferedReader | None = None

    def _looks_like_json(self) -> bool:
        if self.path.suffix.lower() == ".json":
            return True
        if self.path.suffix.lower() in (".csv", ".txt"):
            return False
        with self.path.open("rb") as fh:
            head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
        return head.startswith(b"[")

    def position(self) -> int:
        """Bytes read so far (for a progress bar)."""
        try:
            return self._binary.tell() if self._binary is not None else 0
        except (ValueError, OSError):
            return self.size

    def unchanged(self) -> bool:
        try:
            stat = self.path.stat()
        except OSError:
            return False
        return (stat.st_size, stat.st_mtime_ns) == self.stamp

    def rows(self) -> Iterator[Row]:
        try:
            yield from self._json_rows() if self.is_json else self._csv_rows()
        except UnicodeDecodeError:
            raise self._encoding_error() from None
        finally:
            self._binary = None

    # --- CSV -------------------------------------------------------------------------

    def _csv_rows(self) -> Iterator[Row]:
        with self.path.open("rb") as binary:
            self._binary = binary
            text = io.TextIOWrapper(binary, encoding=ENCODINGS[self.encoding], newline="")
            first = text.readline()
            offset, delimiter = 0, self.delimiter
            hint = re.fullmatch(r"sep=(.)", first.strip(), re.IGNORECASE)
            if hint:  # Excel's "sep=;" line names the delimiter
                delimiter = delimiter or hint[1]
                first, offset = text.readline(), 1
            if not first.strip():
                raise InvalidData(f"{self.path.name} line {1 + offset}", "no header row")
            if delimiter is None:
                delimiter = ";" if first.count(";") > first.count(",") else ","
            if delimiter not in DELIMITERS:
                raise InvalidData(f"{self.path.name} line 1", f"{delimiter!r} is not ';' or ','")
            reader = csv.reader(itertools.chain([first], text), delimiter=delimiter, strict=True)
            header = self._header(next(reader), offset)
            ordinal, before = 0, reader.line_num
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise InvalidData(
                        f"{self.path.name} line {before + 1 + offset}", f"not CSV: {exc}"
                    ) from None
                line, before = before + 1 + offset, reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                yield self._csv_row(ordinal, line, header, cells)
                ordinal += 1

    def _header(self, cells: list[str], offset: int) -> list[str | None]:
        where = f"{self.path.name} line {1 + offset}"
        names: list[str | None] = []
        for cell in cells:
            name = column_name(cell)
            if not name:
                names.append(None)  # a trailing delimiter (Excel): a column with no name
                continue
            if name not in COLUMNS:
                raise unknown_column(cell.strip(), where)
            if name in names:
                raise InvalidData(where, f"the column {name} appears twice")
            names.append(name)
        _required_columns([n for n in names if n], where)
        return names

    def _csv_row(self, ordinal: int, line: int, header: list[str | None], cells: list[str]) -> Row:
        row = Row(ordinal, line=line)
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            row.problem = (
                "(row)",
                f"{len(cells)} cells, but the header has {len(header)} columns"
                " (a cell holding the delimiter must be quoted)",
            )
            return row
        values: dict[str, object] = {}
        for name, cell in zip(header, cells, strict=False):
            text = cell.strip()
            if not text:
                continue  # empty: not given
            if name is None:
                row.problem = (
                    "(row)",
                    f"a value ({text!r}) in a column with no name"
                    " (a cell holding the delimiter must be quoted)",
                )
                return row
            values[name] = text
        return parse_row(row, values, given=True)

    # --- JSON ------------------------------------------------------------------------

    def _json_rows(self) -> Iterator[Row]:
        with self.path.open("rb") as binary:
            self._binary = binary
            text = io.TextIOWrapper(binary, encoding=ENCODINGS[self.encoding])
            try:
                items = json.load(text)
            except json.JSONDecodeError as exc:
                raise InvalidData(
                    self.path.name, f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
                ) from None
        if not isinstance(items, list):
            raise InvalidData(self.path.name, "a JSON batch is a list of objects ([{...}, ...])")
        for index, item in enumerate(items):
            row = Row(index, index=index)
            if not isinstance(item, dict):
                row.problem = ("(row)", "not an object")
                yield row
                continue
            values: dict[str, object] = {}
            for key, value in item.items():
                name = column_name(str(key))
                if name not in COLUMNS:
                    row.problem = (str(key), unknown_column(str(key), "").problem)
                    break
                values[name] = value
            yield row if row.problem else parse_row(row, values)
            items[index] = None  # what is checked need not stay in memory

    # --- an unreadable byte --------------------------------------------------------------

    def _encoding_error(self) -> InvalidData:
        """Name the line and byte that are not in the encoding, and the way out."""
        codec = ENCODINGS[self.encoding]
        with self.path.open("rb") as fh:
            for number, raw in enumerate(fh, 1):
                try:
                    raw.decode(codec)
                except UnicodeDecodeError as exc:
                    byte = raw[exc.start]
                    where = f"{self.path.name} line {number}, byte {exc.start + 1}"
                    break
            else:  # pragma: no cover - the decoder failed, so some line does
                where, byte = self.path.name, 0
        if self.encoding == "utf-8":
            return InvalidData(
                where,
                f"0x{byte:02X} is not UTF-8",
                "the file may be Windows-1252, as Excel saves it: try --encoding cp1252",
            )
        return InvalidData(
            where, f"0x{byte:02X} is not Windows-1252", "try --encoding utf-8 (the default)"
        )


def _required_columns(names: list[str], where: str) -> None:
    if "ragione_sociale" not in names:
        raise InvalidData(where, "no ragione_sociale column", "see docs/onboarding.md")
    if "codice_fiscale" not in names and "partita_iva" not in names:
        raise InvalidData(where, "no codice_fiscale nor partita_iva column")


# --- one row's values -------------------------------------------------------------------


def _given(value: object) -> object | None:
    """A cell or JSON value as given; empty means "not given" (a batch never
    clears a field). Text is stripped, numbers become text, booleans, lists and
    objects stay."""
    if value is None or isinstance(value, bool | list | dict):
        return value
    text = str(value).strip()
    return text or None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _items(value: object, split: re.Pattern[str]) -> list[object] | None:
    if value is None:
        return None
    if isinstance(value, list):
        items = [v for v in value if _given(v) is not None]
    else:
        items = [p for p in split.split(str(value)) if p.strip()]
    return items or None


def _person(value: object) -> External:
    if isinstance(value, dict):
        name = value.get("full_name", value.get("name"))
        return onboarding_input.external_parts(
            str(name or ""), str(value.get("email") or ""), field="externals"
        )
    return onboarding_input.external(str(value), field="externals")


def _delegation(value: object) -> Delegation:
    if isinstance(value, dict):
        return onboarding_input.delegation_parts(
            str(value.get("kind") or ""),
            str(value.get("reference") or ""),
            str(value.get("valid_until") or ""),
            field="delegations",
        )
    return onboarding_input.delegation(str(value), field="delegations")


def parse_row(row: Row, values: dict[str, object], *, given: bool = False) -> Row:
    """The row's values as store columns and onboarding choices, or its first problem.
    ``given``: the values are already stripped and empty ones left out (CSV)."""
    if not given:
        values = {k: g for k, v in values.items() if (g := _given(v)) is not None}
    try:
        _parse(row, values)
    except InvalidData as exc:
        row.problem = (field_of(exc), exc.problem)
    return row


def _parse(row: Row, values: dict[str, object]) -> None:
    def get(name: str) -> str | None:
        return _text(values.get(name))

    name = get("ragione_sociale")
    row.name = " ".join(name.split()) if name else None
    if name is None:
        raise InvalidData("ragione_sociale", "missing")
    kind = get("kind")
    smart = _items(values.get("smart_services"), _SPLIT_LIST)
    data = ClientInput(
        ragione_sociale=name,
        kind=kind.lower() if kind else None,
        codice_fiscale=get("codice_fiscale"),
        partita_iva=get("partita_iva"),
        email=get("email"),
        pec=get("pec"),
        nickname=get("nickname"),
        smart_services=[str(s) for s in smart] if smart else None,
        fiscal_profile={k: v for k, v in values.items() if k in _PROFILE},
    )
    person = (data.kind or "societa_capitali") == "persona_fisica"
    row.client = client_input.columns(data, person=person)
    if row.client.get("codice_fiscale") is None and row.client.get("partita_iva") is None:
        raise InvalidData("codice_fiscale", "a client needs a codice fiscale or a partita IVA")
    row.kind_given = kind is not None
    row.responsible = get("responsible")
    which = get("practice_users")
    row.practice_users = (
        None if which is None else onboarding_input.practice_users(which, field="practice_users")
    )
    people = _items(values.get("externals"), _SPLIT_PEOPLE)
    row.externals = onboarding_input.externals(
        [_person(p) for p in people or []], field="externals"
    )
    modules = _items(values.get("modules"), _SPLIT_LIST)
    row.modules = (
        None
        if modules is None
        else onboarding_input.modules([str(m) for m in modules], field="modules")
    )
    delegations = _items(values.get("delegations"), _SPLIT_LIST)
    row.delegations = onboarding_input.delegations(
        [_delegation(d) for d in delegations or []], field="delegations"
    )
