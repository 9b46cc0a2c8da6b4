"""Reading a batch file of clients: CSV or JSON, streamed, one validated row at a time.

CSV: UTF-8 with or without a BOM, or Windows-1252 (``--encoding cp1252``, what
Excel writes on an Italian Windows; any ASCII-compatible codec Python knows is
accepted); ``;`` or ``,`` between cells, taken from
the header line (or an Excel ``sep=;`` first line) unless ``--delimiter`` is
given; CRLF or LF line ends; quoted cells may hold newlines. A row is named by
the physical line where its record starts, as an editor shows it. JSON: a list
of objects with the same keys, named by index (from 0, as ``jq '.[730]'``).

The file is read twice (checked, then written) and never held whole: memory
stays flat whatever its length. A JSON file is parsed whole (a list of objects
has no streaming parser in the standard library): it holds the same rows in a
few megabytes per ten thousand clients. Because it is read twice, FILE must be a
regular file (not a pipe); a spreadsheet (.xlsx, .ods) is recognised and refused
with the way out. The values of a row are parsed by services.onboarding_input.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import itertools
import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from sempi_cli.errors import InvalidData, NotFound, UsageProblem
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext
from sempi_cli.services.onboarding.input import COLUMNS, Row, parse_row

DELIMITERS = (";", ",")
# What an encoding must read as ASCII to be a CSV we can split: UTF-16/32, UTF-7 and
# EBCDIC code pages do not, and would turn the header into noise.
_ASCII = bytes(range(32, 127)) + b"\t\r\n"
_NAMES = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252"}  # as Excel's menus say them
_SPREADSHEET = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx/.ods (zip), old .xls (OLE)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def codec(encoding: str) -> str:
    """The Python codec for ``--encoding`` (any spelling Python knows: UTF-8, utf8,
    windows-1252, latin-1, ...); UTF-8 reads a BOM without keeping it. An encoding
    that does not read ASCII as ASCII cannot hold a CSV we can split: refused."""
    try:
        name = codecs.lookup(encoding).name
        readable = _ASCII.decode(name) == _ASCII.decode("ascii")
    except LookupError:
        raise UsageProblem(
            _("--encoding: {value} is not an encoding").format(value=repr(encoding)),
            _("use utf-8 (the default), cp1252 (Excel's plain CSV on Windows) or latin-1"),
        ) from None
    except (UnicodeError, TypeError):  # a bytes-to-bytes codec (base64, ...)
        readable = False
    if not readable:
        raise UsageProblem(
            _("--encoding: {value} does not read a CSV (not ASCII-compatible)").format(
                value=repr(encoding)
            ),
            _("save the file as CSV UTF-8 and leave out --encoding"),
        )
    return "utf-8-sig" if name == "utf-8" else name


def column_name(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().lower())


def unknown_column(name: str, where: str) -> InvalidData:
    close = difflib.get_close_matches(name, COLUMNS, n=1)
    if close:
        problem = _("unknown column {name} (did you mean {close}?)").format(
            name=repr(name), close=close[0]
        )
    else:
        problem = _("unknown column {name}").format(name=repr(name))
    return InvalidData(
        where,
        problem,
        _("the columns are: {columns} (see docs/onboarding.md)").format(columns=", ".join(COLUMNS)),
    )


class BatchFile:
    """A batch file on disk; ``rows()`` streams it from the start each time."""

    def __init__(self, path: str | Path, *, encoding: str = "utf-8", delimiter: str | None = None):
        self.path = Path(path)
        self.encoding = codec(encoding)
        if delimiter is not None and delimiter not in DELIMITERS:
            raise UsageProblem(
                _("--delimiter: {value} is not ';' or ','").format(value=repr(delimiter))
            )
        self.delimiter = delimiter
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise NotFound(_("{file}: no such file").format(file=self.path)) from None
        except OSError as exc:
            raise InvalidData(
                "FILE",
                _("cannot read {file}: {reason}").format(file=self.path, reason=exc.strerror),
            ) from None
        if stat.S_ISDIR(info.st_mode):
            raise InvalidData(
                "FILE", _("{file} is a folder, not a CSV or JSON file").format(file=self.path)
            )
        if not stat.S_ISREG(info.st_mode):  # a pipe cannot be read twice (checked, then written)
            raise InvalidData(
                "FILE",
                _("{file} is not a regular file").format(file=self.path),
                _("save the data to a file first"),
            )
        self.size = info.st_size
        self.stamp = (info.st_size, info.st_mtime_ns)
        self.is_json = self._sniff()
        self._binary: io.BufferedReader | None = None

    def _sniff(self) -> bool:
        """Whether the file is JSON; a spreadsheet or UTF-16 file is refused here, with
        the way out, rather than as a byte that is not UTF-8."""
        try:
            with self.path.open("rb") as fh:
                head = fh.read(64)
        except OSError as exc:
            raise InvalidData(
                "FILE",
                _("cannot read {file}: {reason}").format(file=self.path, reason=exc.strerror),
            ) from None
        if head.startswith(_SPREADSHEET):
            raise InvalidData(self.path.name, _("a spreadsheet file"), _("save it as CSV (UTF-8)"))
        if head.startswith(_UTF16_BOMS) and not self.encoding.startswith("utf-16"):
            raise InvalidData(self.path.name, _("a UTF-16 file"), _("save it as CSV (UTF-8)"))
        suffix = self.path.suffix.lower()
        if suffix in (".json", ".csv", ".txt"):
            return suffix == ".json"
        return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")

    def position(self) -> int:
        """Bytes read so far (for a progress bar)."""
        try:
            return self._binary.tell() if self._binary is not None else 0
        except (ValueError, OSError):
            return self.size

    def unchanged(self) -> bool:
        try:
            info = self.path.stat()
        except OSError:
            return False
        return (info.st_size, info.st_mtime_ns) == self.stamp

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
            text = io.TextIOWrapper(binary, encoding=self.encoding, newline="")
            first = text.readline()
            offset, delimiter = 0, self.delimiter
            hint = re.fullmatch(r"sep=(.)", first.strip(), re.IGNORECASE)
            if hint:  # Excel's "sep=;" line names the delimiter
                delimiter = delimiter or hint[1]
                first, offset = text.readline(), 1
            if not first.strip():
                raise InvalidData(self._line(1 + offset), _("no header row"))
            if delimiter is None:
                delimiter = ";" if first.count(";") > first.count(",") else ","
            if delimiter not in DELIMITERS:
                raise InvalidData(
                    self._line(1), _("{value} is not ';' or ','").format(value=repr(delimiter))
                )
            reader = csv.reader(itertools.chain([first], text), delimiter=delimiter, strict=True)
            header = self._header(self._record(reader, 0, offset), offset)
            ordinal, before = 0, reader.line_num
            while (cells := self._record(reader, before, offset)) is not None:
                line, before = before + 1 + offset, reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                yield self._csv_row(ordinal, line, header, cells)
                ordinal += 1
        if ordinal == 0:
            raise InvalidData(
                self.path.name, _("no rows"), _("the file has a header and nothing else")
            )

    def _record(self, reader, before: int, offset: int) -> list[str] | None:
        """The next record, None at the end; a broken one (an unclosed quote) names the
        line where it starts."""
        try:
            return next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            where = self._line(before + 1 + offset)
            hint = (
                _("a quote opened in a cell must close")
                if "end of data" in str(exc)
                else _('a quoted cell ends at its closing quote; a quote inside it is written ""')
            )
            raise InvalidData(where, _("not CSV: {reason}").format(reason=exc), hint) from None

    def _line(self, number: int) -> str:
        """How an error names a line of the file: ``clienti.csv line 3``."""
        return _("{file} line {line}").format(file=self.path.name, line=number)

    def _header(self, cells: list[str] | None, offset: int) -> list[str | None]:
        where = self._line(1 + offset)
        names: list[str | None] = []
        for cell in cells or []:
            name = column_name(cell)
            if not name:
                names.append(None)  # a trailing delimiter (Excel): a column with no name
                continue
            if name not in COLUMNS:
                raise unknown_column(cell.strip(), where)
            if name in names:
                raise InvalidData(where, _("the column {name} appears twice").format(name=name))
            names.append(name)
        _required_columns([n for n in names if n], where)
        return names

    def _csv_row(self, ordinal: int, line: int, header: list[str | None], cells: list[str]) -> Row:
        row = Row(ordinal, line=line)
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            row.problem = (
                "(row)",
                ngettext(
                    "{cells} cells, but the header has {n} column"
                    " (a cell holding the delimiter must be quoted)",
                    "{cells} cells, but the header has {n} columns"
                    " (a cell holding the delimiter must be quoted)",
                    len(header),
                ).format(cells=len(cells), n=len(header)),
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
                    _(
                        "a value ({value}) in a column with no name"
                        " (a cell holding the delimiter must be quoted)"
                    ).format(value=repr(text)),
                )
                return row
            values[name] = text
        return parse_row(row, values, given=True)

    # --- JSON ------------------------------------------------------------------------

    def _json_rows(self) -> Iterator[Row]:
        items = self._json_items()
        for index, item in enumerate(items):
            row = Row(index, index=index)
            if isinstance(item, dict):
                values = _json_values(row, item)
                yield row if row.problem else parse_row(row, values)
            else:
                row.problem = ("(row)", _("not an object"))
                yield row
            items[index] = None  # what is checked need not stay in memory

    def _json_items(self) -> list:
        with self.path.open("rb") as binary:
            self._binary = binary
            text = io.TextIOWrapper(binary, encoding=self.encoding)
            try:
                items = json.load(text, object_pairs_hook=_JsonObject.of)
            except json.JSONDecodeError as exc:
                raise InvalidData(
                    self.path.name,
                    _("not JSON: {reason} at line {line}, column {column}").format(
                        reason=exc.msg, line=exc.lineno, column=exc.colno
                    ),
                ) from None
            except RecursionError:
                raise InvalidData(self.path.name, _("not JSON: nested too deeply")) from None
            except ValueError:  # a number of thousands of digits
                raise InvalidData(self.path.name, _("not JSON: a number too long")) from None
        if not isinstance(items, list):
            raise InvalidData(self.path.name, _("a JSON batch is a list of objects ([{...}, ...])"))
        if not items:
            raise InvalidData(self.path.name, _("no rows"), _("the list is empty"))
        return items

    # --- an unreadable byte --------------------------------------------------------------

    def _encoding_error(self) -> InvalidData:
        """Name the line and byte that are not in the encoding, and the way out."""
        with self.path.open("rb") as fh:
            for number, raw in enumerate(fh, 1):
                try:
                    raw.decode(self.encoding)
                except UnicodeDecodeError as exc:
                    byte = raw[exc.start]
                    where = _("{file} line {line}, byte {byte}").format(
                        file=self.path.name, line=number, byte=exc.start + 1
                    )
                    break
            else:  # pragma: no cover - the decoder failed, so some line does
                where, byte = self.path.name, 0
        name = _NAMES.get(self.encoding, self.encoding)
        if self.encoding == "utf-8-sig":
            return InvalidData(
                where,
                _("{byte} is not UTF-8").format(byte=f"0x{byte:02X}"),
                _("the file may be Windows-1252, as Excel saves it: try --encoding cp1252"),
            )
        return InvalidData(
            where,
            _("{byte} is not {encoding}").format(byte=f"0x{byte:02X}", encoding=name),
            _("try --encoding utf-8 (the default)"),
        )


class _JsonObject(dict):
    """A JSON object that remembers a key given twice (json keeps the last silently)."""

    twice: str | None = None

    @classmethod
    def of(cls, pairs: list[tuple[str, object]]) -> dict:
        obj = cls(pairs)
        if len(obj) < len(pairs):
            seen: set[str] = set()
            for key, _value in pairs:
                if key in seen:
                    obj.twice = key
                    break
                seen.add(key)
        return obj


def _json_values(row: Row, item: dict) -> dict[str, object]:
    """An object's values by column; sets ``row.problem`` for a key that is not a column
    or two keys for one column ("partita_iva" and "Partita IVA"), as a CSV header."""
    values: dict[str, object] = {}
    twice = getattr(item, "twice", None)
    if twice is not None:
        row.problem = (twice, _("the column {name} appears twice").format(name=column_name(twice)))
        return values
    for key, value in item.items():
        name = column_name(str(key))
        if name not in COLUMNS:
            row.problem = (str(key), unknown_column(str(key), "").problem)
        elif name in values:
            row.problem = (str(key), _("the column {name} appears twice").format(name=name))
        else:
            values[name] = value
            continue
        break
    return values


def _required_columns(names: list[str], where: str) -> None:
    if "ragione_sociale" not in names:
        raise InvalidData(where, _("no ragione_sociale column"), _("see docs/onboarding.md"))
    if "codice_fiscale" not in names and "partita_iva" not in names:
        raise InvalidData(where, _("no codice_fiscale nor partita_iva column"))
