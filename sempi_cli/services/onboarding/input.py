"""What an onboarding says beyond the client record, validated without the store:
the modules, the delegations, the external users, the practice's users; and a
batch file's row as a whole (``parse_row``), from CSV cells or JSON values.

One parser per value, shared by `client-onboard add` (options) and the batch
file, so both accept the same words and refuse the same mistakes with the same
message. Reading the file itself (encodings, CSV, JSON) is services.onboarding_file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.services import identifiers
from sempi_cli.services.clients import input as client_input
from sempi_cli.services.clients import profile
from sempi_cli.services.clients.input import MODULES, ClientInput
from sempi_cli.services.text import no_control

DELEGATION_KINDS = (
    "cassetto_fiscale",
    "fatture_corrispettivi",
    "intermediario_entratel",
    "inps",
    "camera_commercio",
)
PRACTICE_USERS = ("all", "none")
MAX_REFERENCE = 64

_EXTERNAL = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<\s*(?P<email>[^<>\s]+)\s*>\s*$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_IT_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_LIST = re.compile(r"[,;]")  # modules: "-m tasks,documents" as a batch cell says it
_KIND = "(?:" + "|".join(k.replace("_", "[_-]") for k in DELEGATION_KINDS) + r")\s*:"
# Two delegations run together ("inps:A:2027-01-01;cassetto_fiscale:B:2028-01-01") would
# otherwise read as one whose reference holds the other: refuse, and say how to list them.
_JOINED = re.compile(r"[;,]\s*" + _KIND, re.IGNORECASE)
LIST_SEPARATOR = "|"  # between delegations in one batch cell (or one per line)


@dataclass(frozen=True)
class Delegation:
    """A delegation for a public channel: its kind, its reference (the protocol or
    delegation number, never a credential) and the last day it is valid."""

    kind: str
    reference: str
    valid_until: str  # ISO date

    def status(self, today: date) -> str:
        return "valid" if self.valid_until >= today.isoformat() else "expired"


@dataclass(frozen=True)
class External:
    """A person of the client's who gets an account (role external) and an invitation."""

    full_name: str
    email: str

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"


@dataclass
class OnboardRequest:
    """Everything one onboarding does; ``None`` modules means every module."""

    client: ClientInput
    practice_users: str = "all"
    externals: list[External] = field(default_factory=list)
    modules: tuple[str, ...] | None = None
    delegations: list[Delegation] = field(default_factory=list)
    deadlines: bool = True


def modules(names: list[str], *, field: str = "--module") -> tuple[str, ...]:
    """Known module names, each once, in the canonical order; an item may list several,
    separated by ``,`` or ``;``."""
    chosen = set()
    for item in names:
        for name in _LIST.split(str(item)):
            word = name.strip().lower()
            if not word:
                continue
            if word not in MODULES:
                raise InvalidData(
                    field,
                    _("{value} is not a module").format(value=repr(name.strip())),
                    _("use {choices}").format(choices=", ".join(MODULES)),
                )
            chosen.add(word)
    if not chosen:
        raise InvalidData(
            field,
            _("give at least one module"),
            _("use {choices}").format(choices=", ".join(MODULES)),
        )
    return tuple(m for m in MODULES if m in chosen)


def practice_users(value: str, *, field: str = "--practice-users") -> str:
    word = str(value).strip().lower()
    if word not in PRACTICE_USERS:
        raise InvalidData(
            field,
            _("{value} is not one of {choices}").format(
                value=repr(value), choices=", ".join(PRACTICE_USERS)
            ),
        )
    return word


def valid_until(text: str, *, field: str) -> str:
    """A calendar date as YYYY-MM-DD or DD/MM/YYYY (no relative words: a batch file
    read on another day must mean the same date)."""
    text = text.strip()
    if match := _ISO_DATE.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _IT_DATE.match(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise InvalidData(
            field,
            _("{value} is not a date (YYYY-MM-DD or DD/MM/YYYY)").format(value=repr(text)),
        )
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise InvalidData(
            field, _("{value} is not a date of the calendar").format(value=repr(text))
        ) from None


def delegation_parts(kind: str, reference: str, until: str, *, field: str) -> Delegation:
    word = str(kind).strip().lower().replace("-", "_")
    if word not in DELEGATION_KINDS:
        raise InvalidData(
            field,
            _("{value} is not a kind of delegation").format(value=repr(kind)),
            _("use {choices}").format(choices=", ".join(DELEGATION_KINDS)),
        )
    ref = str(reference).strip()
    if not ref:
        raise InvalidData(field, _("the {kind} delegation has no reference").format(kind=word))
    if len(ref) > MAX_REFERENCE or "\n" in ref or "\r" in ref:
        raise InvalidData(
            field,
            _("the {kind} reference is not one line of at most {n} characters").format(
                kind=word, n=MAX_REFERENCE
            ),
        )
    if LIST_SEPARATOR in ref:
        raise InvalidData(
            field,
            _("the {kind} reference has a '{separator}'").format(
                kind=word, separator=LIST_SEPARATOR
            ),
        )
    if _JOINED.search(ref):
        raise InvalidData(
            field,
            _("{value} holds another delegation").format(value=repr(ref)),
            _(
                "give each one apart (--delegation again; in a batch cell separated by"
                " '{separator}' or one per line)"
            ).format(separator=LIST_SEPARATOR),
        )
    no_control(ref, field)
    return Delegation(word, ref, valid_until(str(until), field=field))


def delegation(text: str, *, field: str = "--delegation") -> Delegation:
    """``KIND:REFERENCE:VALID_UNTIL``; the reference may itself hold colons."""
    kind, sep, rest = str(text).partition(":")
    reference, sep2, until = rest.rpartition(":")
    if not (sep and sep2):
        raise InvalidData(
            field,
            _("{value} is not KIND:REFERENCE:VALID_UNTIL").format(value=repr(text)),
            _("e.g. cassetto_fiscale:AB12345:2027-12-31"),
        )
    return delegation_parts(kind, reference, until, field=field)


def delegations(items: list[Delegation], *, field: str = "--delegation") -> list[Delegation]:
    """One per kind: the record keeps the current delegation of each kind."""
    seen: set[str] = set()
    for item in items:
        if item.kind in seen:
            raise InvalidData(
                field, _("the {kind} delegation is given twice").format(kind=item.kind)
            )
        seen.add(item.kind)
    return sorted(items, key=lambda d: DELEGATION_KINDS.index(d.kind))


def external(text: str, *, field: str = "--external") -> External:
    """``Nome Cognome <email>``."""
    match = _EXTERNAL.match(str(text))
    if match is None:
        raise InvalidData(
            field, _("{value} is not 'Nome Cognome <email>'").format(value=repr(text))
        )
    return external_parts(match["name"], match["email"], field=field)


def external_parts(name: str, email: str, *, field: str) -> External:
    full_name = " ".join(str(name or "").split())
    no_control(full_name, field)
    address = identifiers.email(str(email), field=field)
    if not full_name:
        raise InvalidData(
            field, _("the person with the e-mail {email} has no name").format(email=address)
        )
    return External(full_name, address)


def externals(items: list[External], *, field: str = "--external") -> list[External]:
    seen: set[str] = set()
    for item in items:
        if item.email in seen:
            raise InvalidData(field, _("{email} is given twice").format(email=item.email))
        seen.add(item.email)
    return items


# --- a batch row: the file's cells (or a JSON object's values) ----------------------

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
    "conto_terzi",
    "own_licence",
)
FLAG_COLUMNS = frozenset(client_input.FLAG_COLUMNS)  # yes/no cells, or JSON true/false
ONBOARDING_COLUMNS = ("practice_users", "externals", "modules", "delegations")
PROFILE_COLUMNS = tuple(f.name for f in profile.PROFILE_FIELDS)
_PROFILE = frozenset(PROFILE_COLUMNS)
COLUMNS = CLIENT_COLUMNS + ONBOARDING_COLUMNS + PROFILE_COLUMNS
LIST_COLUMNS = frozenset(("smart_services", "externals", "modules", "delegations"))
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
    "--nickname": "nickname",
}
_SPLIT_LIST = re.compile(r"[;,\n\r]+")  # modules, smart services
_SPLIT_PEOPLE = re.compile(r"[;\n\r]+")  # a name may hold a comma ("Rossi, Mario")
# A delegation's reference may hold ',' and ';' (as `add --delegation` accepts it): '|'
# and line ends separate delegations in a cell, and ';' or ',' only where the next
# delegation's KIND: follows (files written before '|' was the separator).
_SPLIT_DELEGATIONS = re.compile(r"[|\n\r]+|[;,]\s*(?=" + _KIND + ")", re.IGNORECASE)


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
    responsible: str | None = None
    practice_users: str | None = None
    externals: list[External] = field(default_factory=list)
    modules: tuple[str, ...] | None = None
    delegations: list[Delegation] = field(default_factory=list)
    problem: tuple[str, str] | None = None

    @property
    def where(self) -> str:
        return where(self.line, self.index)


def where(line: int | None, index: int | None) -> str:
    """How a report names a row: its line (CSV) or its index (JSON)."""
    if line is not None:
        return _("line {line}").format(line=line)
    return _("index {index}").format(index=index)


def result_where(result: dict) -> str:
    return where(result["line"], result["index"])


def field_of(exc: InvalidData) -> str:
    """The column a validation error is about."""
    name = exc.field
    if name.startswith("--profile "):
        return name.removeprefix("--profile ")
    return _OPTION_TO_COLUMN.get(name, name)


def _given(value: object) -> object | None:
    """A cell or JSON value as given; empty means "not given" (a batch never
    clears a field). Text is stripped; other JSON values stay as they are."""
    if value is None or not isinstance(value, str):
        return value
    return value.strip() or None


def _json_type(name: str, value: object) -> None:
    """What JSON may give for a column: text (or a number) for a text column, true/false
    for a yes/no field, lists for the list columns. An identifier written as a number
    has lost its leading zeros already: refused, not guessed."""
    if isinstance(value, dict | list):
        if isinstance(value, list) and name in LIST_COLUMNS:
            return
        if isinstance(value, list):
            raise InvalidData(name, _("a list is not a text value"))
        raise InvalidData(name, _("an object is not a text value"))
    if isinstance(value, bool):
        if name not in _PROFILE and name not in FLAG_COLUMNS:
            raise InvalidData(
                name, _("{value} is not a text value").format(value=json.dumps(value))
            )
    elif isinstance(value, int | float) and name in ("codice_fiscale", "partita_iva"):
        raise InvalidData(
            name,
            _("{value} is a number, which loses leading zeros: write it in quotes").format(
                value=value
            ),
        )


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _items(
    value: object, split: re.Pattern[str], column: str, *, objects: bool = False
) -> list[object] | None:
    """A list column's items: a cell split on ``split``, or a JSON list whose items are
    text (or objects, where ``objects``)."""
    if value is None:
        return None
    if not isinstance(value, list):
        return [p for p in split.split(str(value)) if p.strip()] or None
    items = [v for v in value if _given(v) is not None]
    for item in items:
        if isinstance(item, list | bool) or (isinstance(item, dict) and not objects):
            raise InvalidData(
                column,
                _("{value} in the list is not a text value").format(value=json.dumps(item)[:40]),
            )
    return items or None


def _flag(values: dict[str, object], column: str) -> bool | None:
    value = values.get(column)
    return None if value is None else profile.yes_no(value, column)


def _person(value: object) -> External:
    if isinstance(value, dict):
        name = value.get("full_name", value.get("name"))
        return external_parts(str(name or ""), str(value.get("email") or ""), field="externals")
    return external(str(value), field="externals")


def _delegation(value: object) -> Delegation:
    if isinstance(value, dict):
        return delegation_parts(
            str(value.get("kind") or ""),
            str(value.get("reference") or ""),
            str(value.get("valid_until") or ""),
            field="delegations",
        )
    return delegation(str(value), field="delegations")


def parse_row(row: Row, values: dict[str, object], *, given: bool = False) -> Row:
    """The row's values as store columns and onboarding choices, or its first problem.
    ``given``: the values are CSV cells, already stripped, empty ones left out."""
    try:
        if not given:
            for name, value in values.items():
                _json_type(name, value)
            values = {k: g for k, v in values.items() if (g := _given(v)) is not None}
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
        raise InvalidData("ragione_sociale", _("missing"))
    kind = get("kind")
    smart = _items(values.get("smart_services"), _SPLIT_LIST, "smart_services")
    data = ClientInput(
        ragione_sociale=name,
        kind=kind.lower() if kind else None,
        codice_fiscale=get("codice_fiscale"),
        partita_iva=get("partita_iva"),
        email=get("email"),
        pec=get("pec"),
        nickname=get("nickname"),
        smart_services=[str(s) for s in smart] if smart else None,
        conto_terzi=_flag(values, "conto_terzi"),
        own_licence=_flag(values, "own_licence"),
        fiscal_profile={k: v for k, v in values.items() if k in _PROFILE},
    )
    person = (data.kind or client_input.DEFAULT_KIND) == "persona_fisica"
    row.client = client_input.columns(data, person=person)
    client_input.require_identifier(row.client, "codice_fiscale")
    row.responsible = get("responsible")
    which = get("practice_users")
    row.practice_users = None if which is None else practice_users(which, field="practice_users")
    people = _items(values.get("externals"), _SPLIT_PEOPLE, "externals", objects=True)
    row.externals = externals([_person(p) for p in people or []], field="externals")
    names = _items(values.get("modules"), _SPLIT_LIST, "modules")
    row.modules = None if names is None else modules(list(map(str, names)), field="modules")
    given = _items(values.get("delegations"), _SPLIT_DELEGATIONS, "delegations", objects=True)
    row.delegations = delegations([_delegation(d) for d in given or []], field="delegations")
