"""Usage against the licence's limits (SPEC §7: 3,000 documents, 5,000 contacts).

The vendor's product counts a client's documents and contacts; sempi records the
figures (`coupon usage set`, or `coupon usage import` of the vendor's export) on
the client's account and tells the client's responsible when either reaches 80 %
and 100 % of its limit, once per threshold: ``documents_notified`` and
``contacts_notified`` hold the threshold last told. Usage that falls below a mark
(a new year at the vendor) lowers it, so a later rise is told again.

The import is all or nothing, like the onboarding batch: every row is checked
first and each bad one reported with its line, column and problem; one bad row
and nothing is written. The good file is one transaction, one ``executemany``.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sempi_cli.clock import Clock
from sempi_cli.errors import InvalidData, RuleViolation, UsageProblem
from sempi_cli.i18n import Text, number, speaking
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, audit
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.coupons import facts, rules
from sempi_cli.store.sql import listed

MAX_FIGURE = 10_000_000  # far above any limit, far below a typo of 10^12
THRESHOLDS = (80, 100)  # percent of a limit that is told to the responsible
WHAT = ("documents", "contacts")
IMPORT_COLUMNS = ("partita_iva", "client_id", "documents", "contacts")
PROBLEM_COLUMNS = ("line", "column", "value", "problem")
DELIMITERS = (";", ",")
MAX_IMPORT_BYTES = 64 * 1024 * 1024

_SET = (
    "UPDATE coupon_accounts SET documents = coalesce(?, documents),"
    " contacts = coalesce(?, contacts), usage_at = ? WHERE client_id = ?"
)


def figure(value: object, field: str) -> int:
    """A count of documents or contacts: a whole number from 0 to 10,000,000."""
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"\+?[0-9]+", text):
        raise InvalidData(
            field, _("{value} is not a whole number of 0 or more").format(value=repr(text))
        )
    count = int(text)
    if count > MAX_FIGURE:
        raise InvalidData(
            field,
            _("{value} is over {most}").format(value=number(count, 0), most=number(MAX_FIGURE, 0)),
        )
    return count


def reached(value: int, limit: int) -> int:
    """The threshold ``value`` has reached of ``limit``: 100, 80 or 0."""
    if value >= limit:
        return 100
    return 80 if value * 100 >= limit * 80 else 0


def _reached_sql(column: str, limit: int) -> str:
    """``reached`` in SQL (integers only: 79.9 % is not 80 %)."""
    return (
        f"CASE WHEN a.{column} >= {int(limit)} THEN 100"
        f" WHEN a.{column} * 100 >= {int(limit) * 80} THEN 80 ELSE 0 END"
    )


_CROSSED = f"""
SELECT * FROM (
  SELECT a.client_id, c.ragione_sociale, u.id AS recipient, a.documents, a.contacts,
    a.documents_notified, a.contacts_notified,
    {_reached_sql("documents", rules.LIMITS["documents"])} AS documents_reached,
    {_reached_sql("contacts", rules.LIMITS["contacts"])} AS contacts_reached
  FROM coupon_accounts a JOIN clients c ON c.id = a.client_id
  LEFT JOIN users u ON u.id = c.responsible_id AND u.disabled_at IS NULL
  WHERE a.unlinked_at IS NULL AND c.removed_at IS NULL {{only}}
) x WHERE x.documents_reached != x.documents_notified OR x.contacts_reached != x.contacts_notified
ORDER BY x.client_id
"""


class _Count:
    """A figure as a Text's value, written with the separators of the language the
    text is written in (``2,400``, ``2.400``)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __str__(self) -> str:
        return number(self.value, 0)


def notice_text(name: str, what: str, value: int, threshold: int) -> Text:
    """The responsible's notice, written in their language by the notification centre."""
    limit = rules.LIMITS[what]
    words = {
        "name": name,
        "threshold": threshold,
        "value": _Count(value),
        "limit": _Count(limit),
        "pct": value * 100 // limit,
    }
    if what == "documents" and threshold == 100:
        return Text(
            "{name}: documents at {threshold}% of the licence's limit ({value} of {limit},"
            " {pct}%); the limit is reached: think of a higher licence ('sempi coupon upgrade').",
            **words,
        )
    if what == "documents":
        return Text(
            "{name}: documents at {threshold}% of the licence's limit ({value} of {limit},"
            " {pct}%); think of a higher licence before it is reached.",
            **words,
        )
    if threshold == 100:
        return Text(
            "{name}: contacts at {threshold}% of the licence's limit ({value} of {limit},"
            " {pct}%); the limit is reached: think of a higher licence ('sempi coupon upgrade').",
            **words,
        )
    return Text(
        "{name}: contacts at {threshold}% of the licence's limit ({value} of {limit},"
        " {pct}%); think of a higher licence before it is reached.",
        **words,
    )


def _source_prefix(client_id: int, what: str, threshold: int) -> str:
    return f"coupon:usage:{client_id}:{what}:{threshold}"


def notify_thresholds(
    db: sqlite3.Connection, clock: Clock, actor: Actor, client_ids: Iterable[int] | None = None
) -> int:
    """Tell each linked account's responsible of a threshold (80 %, 100 %) of either
    limit newly reached, and move the marks to the threshold reached: once per
    threshold (0 → 100 in one jump is one notice, at 100 %); a fall lowers the mark
    so a later rise is told again. ``client_ids``: only these (None: all). The
    number of notices. Runs in the caller's transaction if there is one.

    A client without an active responsible who sees it is told nothing (the notice
    names it) and its mark stays, so a responsible named later, or back in sight, is
    told. Each notice's source numbers the times that threshold was told
    (``coupon:usage:CLIENT:WHAT:THRESHOLD:N``): the centre's
    UNIQUE source keeps a re-run from telling twice, and a new rise is a new N."""
    from sempi_cli.services.notify.centre import NotificationService
    from sempi_cli.store import write_transaction

    params: dict[str, object] = {}
    only = ""
    if client_ids is not None:
        only = f"AND a.client_id IN ({listed(db, ':ids')})"
        params["ids"] = json.dumps(list(client_ids))
    with write_transaction(db):
        rows = db.execute(_CROSSED.format(only=only), params).fetchall()
        if not rows:
            return 0
        inbox = NotificationService(db, clock, actor)
        notices = 0
        marks = []
        by_recipient: dict[int, list[int]] = {}
        for row in rows:
            if row["recipient"] is not None:
                by_recipient.setdefault(row["recipient"], []).append(row["client_id"])
        seen = {  # (responsible, client) pairs in sight: one query per responsible
            (user_id, client_id)
            for user_id, ids in by_recipient.items()
            for client_id in access.clients_seen_by(db, user_id, ids)
        }
        for row in rows:
            new = {}
            # A responsible who does not see the client is told nothing (as none).
            recipient = row["recipient"] if (row["recipient"], row["client_id"]) in seen else None
            for what in WHAT:
                now, told = row[f"{what}_reached"], row[f"{what}_notified"]
                if now > told and recipient is not None:
                    prefix = _source_prefix(row["client_id"], what, now)
                    told_before = db.execute(
                        "SELECT count(*) FROM notifications WHERE source > ? AND source < ?",
                        (prefix + ":", prefix + ";"),
                    ).fetchone()[0]
                    inbox.notify(
                        recipient,
                        "coupon",
                        notice_text(row["ragione_sociale"], what, row[what], now),
                        f"{prefix}:{told_before + 1}",
                    )
                    notices += 1
                new[what] = now if now < told or recipient is not None else told
            if (new["documents"], new["contacts"]) != (
                row["documents_notified"],
                row["contacts_notified"],
            ):
                marks.append((new["documents"], new["contacts"], row["client_id"]))
        db.executemany(
            "UPDATE coupon_accounts SET documents_notified = ?, contacts_notified = ?"
            " WHERE client_id = ?",
            marks,
        )
    return notices


def usage_record(row: sqlite3.Row | dict) -> dict:
    """A client's usage as numbers: each figure, its limit, its percent (whole, down)."""
    out: dict[str, object] = {}
    for what in WHAT:
        value, limit = row[what], rules.LIMITS[what]
        out[what] = value
        out[f"{what}_limit"] = limit
        out[f"{what}_pct"] = None if value is None else value * 100 // limit
    return out


def _require_account(row: sqlite3.Row) -> None:
    if not row["linked"]:
        raise RuleViolation(
            _("client {client} has no coupon account").format(client=row["id"]),
            _("usage is recorded for a client migrated with a coupon ('{command}')").format(
                command="sempi coupon migrate"
            ),
        )
    if row["unlinked_at"] is not None:
        raise RuleViolation(
            _("client {client}'s coupon account was unlinked").format(client=row["id"])
        )


@dataclass
class _Line:
    line: int
    client_id: int
    documents: int | None
    contacts: int | None


class CouponUsage(Service):
    """`coupon usage set` and `coupon usage import`."""

    def set(
        self, client_id: int, documents: int | None = None, contacts: int | None = None
    ) -> dict:
        """Record a client's figures (either or both) now; whoever sees the client and
        is not the client's own user. Tells the responsible of a threshold reached."""
        if documents is None and contacts is None:
            raise UsageProblem(_("give --documents or --contacts (or both)"))
        given = {
            what: figure(value, f"--{what}")
            for what, value in (("documents", documents), ("contacts", contacts))
            if value is not None
        }
        with self.transaction():  # the link is checked under the write lock that records
            row = facts.client_facts(self.db, self.actor, client_id)
            _require_account(row)
            now = self.now()
            self.db.execute(_SET, (given.get("documents"), given.get("contacts"), now, client_id))
            self.audit("usage", "coupon_account", client_id, **given)
            notified = notify_thresholds(self.db, self.clock, self.actor, [client_id])
            after = self.db.execute(
                "SELECT documents, contacts, usage_at FROM coupon_accounts WHERE client_id = ?",
                (client_id,),
            ).fetchone()
        return {
            "client_id": client_id,
            "name": row["ragione_sociale"],
            **usage_record(after),
            "usage_at": after["usage_at"],
            "notified": notified,
        }

    def import_file(self, path: str, studio: str | int | None = None) -> dict:
        """The vendor's export (CSV, a header row): every row checked first; with a bad
        row nothing is written and the report lists each problem (``problems``:
        line, column, value, problem); else one transaction. The clients are found
        among those the actor sees (of ``studio`` only, if given): any other is
        unknown, as one that does not exist."""
        from pathlib import Path

        from sempi_cli.services.user_files import read_user_file

        if self.actor.role == "external":
            from sempi_cli.errors import PermissionDenied

            raise PermissionDenied(_("a client's user may not record the practice's coupon usage"))
        studio_id = None
        if studio is not None:
            from sempi_cli.services.coupons.packages import studio_of

            studio_id = studio_of(self.db, self.actor, studio)
        name = Path(path).name
        raw = read_user_file(
            path,
            "FILE",
            limit=MAX_IMPORT_BYTES,
            too_big=lambda size: InvalidData(
                "FILE", _("{path} is over 64 MB, too large to read").format(path=path)
            ),
        )
        if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise InvalidData(name, _("a spreadsheet file"), _("save it as CSV (UTF-8)"))
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")  # Excel's plain CSV on Windows
        # Checked and written under one write lock: no account is unlinked in between.
        with self.transaction():
            lines, problems = _check(name, _records(name, text), self._known(studio_id))
            report = {
                "file": name,
                "rows": len(lines) + len({p["line"] for p in problems}),
                "updated": 0,
                "refused": len({p["line"] for p in problems}),
                "notified": 0,
                "problems": problems,
            }
            if problems:
                return report
            now = self.now()
            self.db.executemany(_SET, [(x.documents, x.contacts, now, x.client_id) for x in lines])
            audit.record_many(
                self.db,
                now,
                self.actor.id,
                (
                    (
                        "usage",
                        "coupon_account",
                        x.client_id,
                        {
                            k: v
                            for k, v in (("documents", x.documents), ("contacts", x.contacts))
                            if v is not None
                        }
                        | {"file": name},
                    )
                    for x in lines
                ),
            )
            report["notified"] = notify_thresholds(
                self.db, self.clock, self.actor, [x.client_id for x in lines]
            )
        report["updated"] = len(lines)
        return report

    def _known(self, studio_id: int | None) -> _Known:
        """The clients the actor sees, by id and by partita IVA, with their link."""
        where, params = access.visible_clients(self.actor, "c")
        if studio_id is not None:
            where += " AND c.studio_id = :studio"
            params["studio"] = studio_id
        cursor = self.db.cursor()
        cursor.row_factory = None
        cursor.execute(
            "SELECT c.id, c.partita_iva, a.client_id IS NOT NULL AND a.unlinked_at IS NULL,"
            " a.client_id IS NOT NULL"
            " FROM clients c LEFT JOIN coupon_accounts a ON a.client_id = c.id"
            f" WHERE {where}",
            params,
        )
        known = _Known({}, {})
        for client_id, piva, linked, had in cursor:
            known.by_id[client_id] = (linked, had)
            if piva:
                known.by_piva.setdefault(piva, []).append(client_id)
        return known


@dataclass
class _Known:
    by_id: dict[int, tuple[int, int]]  # id → (linked now, ever had an account)
    by_piva: dict[str, list[int]]


def _column(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().lower())


def _records(name: str, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: cell}) of each non-blank row; the header's problems are one
    line (exit 6). The delimiter is the header's (or an Excel ``sep=`` line's)."""
    stream = io.StringIO(text, newline="")
    first = stream.readline()
    offset, delimiter = 0, None
    hint = re.fullmatch(r"sep=(.)", first.strip(), re.IGNORECASE)
    if hint:
        delimiter = hint[1]
        first, offset = stream.readline(), 1
    where = _("{file} line {line}").format(file=name, line=1 + offset)
    if not first.strip():
        raise InvalidData(
            where,
            _("no header row"),
            _("the columns are: {columns}").format(columns=", ".join(IMPORT_COLUMNS)),
        )
    if delimiter is None:
        delimiter = ";" if first.count(";") > first.count(",") else ","
    if delimiter not in DELIMITERS:
        raise InvalidData(where, _("{value} is not ';' or ','").format(value=repr(delimiter)))
    reader = csv.reader(itertools.chain([first], stream), delimiter=delimiter, strict=True)
    try:
        header = [_column(c) for c in next(reader)]
    except csv.Error as exc:
        raise InvalidData(where, _("not CSV: {problem}").format(problem=exc)) from None
    for column in header:
        if column and column not in IMPORT_COLUMNS:
            raise InvalidData(
                where,
                _("unknown column {column}").format(column=repr(column)),
                _("the columns are: {columns}").format(columns=", ".join(IMPORT_COLUMNS)),
            )
        if column and header.count(column) > 1:
            raise InvalidData(where, _("the column {column} appears twice").format(column=column))
    if "partita_iva" not in header and "client_id" not in header:
        raise InvalidData(where, _("no partita_iva nor client_id column"))
    if "documents" not in header and "contacts" not in header:
        raise InvalidData(where, _("no documents nor contacts column"))
    before, rows = reader.line_num, 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InvalidData(
                _("{file} line {line}").format(file=name, line=before + 1 + offset),
                _("not CSV: {problem}").format(problem=exc),
            ) from None
        line, before = before + 1 + offset, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        rows += 1
        values = {h: c.strip() for h, c in zip(header, cells, strict=False) if h and c.strip()}
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            values["(row)"] = f"{len(cells)} cells, but the header has {len(header)} columns"
        yield line, values
    if rows == 0:
        raise InvalidData(name, _("no rows"), _("the file has a header and nothing else"))


def _check(
    name: str, records: Iterator[tuple[int, dict[str, str]]], known: _Known
) -> tuple[list[_Line], list[dict]]:
    """The good rows, and a problem (line, column, value, problem) for each bad one."""
    from sempi_cli.services import identifiers

    lines: list[_Line] = []
    problems: list[dict] = []
    seen: dict[int, int] = {}

    def refuse(line: int, column: str, value: str | None, problem: str) -> None:
        problems.append({"line": line, "column": column, "value": value, "problem": problem})

    for line, values in records:
        if "(row)" in values:
            refuse(
                line,
                "(row)",
                None,
                values["(row)"] + " (a cell holding the delimiter must be quoted)",
            )
            continue
        try:
            # The rows' problems are the report's values (JSON, CSV): in English.
            with speaking("en"):
                client_id = _client_of(values, known, identifiers)
                figures = {w: figure(values[w], w) if w in values else None for w in WHAT}
        except InvalidData as exc:
            column = exc.field
            refuse(line, column, values.get(column), exc.problem)
            continue
        if figures["documents"] is None and figures["contacts"] is None:
            refuse(line, "documents", None, "no documents nor contacts on this row")
            continue
        if client_id in seen:
            refuse(line, _id_column(values), values.get(_id_column(values)),
                   f"client {client_id} is already on line {seen[client_id]}")  # fmt: skip
            continue
        seen[client_id] = line
        lines.append(_Line(line, client_id, figures["documents"], figures["contacts"]))
    return lines, problems


def _id_column(values: dict[str, str]) -> str:
    return "client_id" if "client_id" in values else "partita_iva"


def _client_of(values: dict[str, str], known: _Known, identifiers) -> int:
    """The client a row names, among those the actor sees, with a linked account."""
    if "client_id" in values:
        text = values["client_id"]
        if not text.isdigit():
            raise InvalidData("client_id", _("{value} is not a client id").format(value=repr(text)))
        client_id = int(text)
        if client_id not in known.by_id:
            raise InvalidData("client_id", _("client {client} not found").format(client=client_id))
        if "partita_iva" in values:
            piva = _piva(values["partita_iva"], known, identifiers)
            if client_id not in known.by_piva.get(piva, []):
                raise InvalidData(
                    "partita_iva",
                    _("is not client {client}'s partita IVA").format(client=client_id),
                )
    elif "partita_iva" in values:
        piva = _piva(values["partita_iva"], known, identifiers)
        candidates = known.by_piva.get(piva, [])
        if not candidates:
            raise InvalidData("partita_iva", _("no client with this partita IVA"))
        if len(candidates) > 1:
            with_account = [c for c in candidates if known.by_id[c][0]]
            if len(with_account) != 1:
                raise InvalidData(
                    "partita_iva",
                    _(
                        "clients {clients} have this partita IVA (give client_id, or --studio)"
                    ).format(clients=", ".join(map(str, candidates))),
                )
            candidates = with_account
        client_id = candidates[0]
    else:
        raise InvalidData("partita_iva", _("no partita_iva nor client_id on this row"))
    linked, had = known.by_id[client_id]
    if not linked:
        column = _id_column(values)
        if had:
            problem = _("client {client}: its coupon account was unlinked")
        else:
            problem = _("client {client}: it has no coupon account")
        raise InvalidData(column, problem.format(client=client_id))
    return client_id


def _piva(text: str, known: _Known, identifiers) -> str:
    """The cell as a stored partita IVA: a known one as it is (stored values were
    validated), else validated for the right message."""
    compact = re.sub(r"[\s.\-]", "", text).upper().removeprefix("IT")
    if compact in known.by_piva:
        return compact
    return identifiers.partita_iva(text, field="partita_iva")
