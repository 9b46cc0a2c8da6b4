"""What an onboarding says beyond the client record, validated without the store:
the modules, the delegations, the external users, the practice's users.

One parser per value, shared by `client-onboard add` (options) and the batch
file (cells or JSON values), so both accept the same words and refuse the same
mistakes with the same message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sempi_cli.errors import InvalidData
from sempi_cli.services import identifiers
from sempi_cli.services.client_input import ClientInput

MODULES = ("tasks", "documents", "chat", "smart")
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
    """Known module names, each once, in the canonical order."""
    chosen = set()
    for name in names:
        word = str(name).strip().lower()
        if not word:
            continue
        if word not in MODULES:
            raise InvalidData(field, f"{name!r} is not a module", "use " + ", ".join(MODULES))
        chosen.add(word)
    if not chosen:
        raise InvalidData(field, "give at least one module", "use " + ", ".join(MODULES))
    return tuple(m for m in MODULES if m in chosen)


def practice_users(value: str, *, field: str = "--practice-users") -> str:
    word = str(value).strip().lower()
    if word not in PRACTICE_USERS:
        raise InvalidData(field, f"{value!r} is not one of {', '.join(PRACTICE_USERS)}")
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
        raise InvalidData(field, f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise InvalidData(field, f"{text!r} is not a date of the calendar") from None


def delegation_parts(kind: str, reference: str, until: str, *, field: str) -> Delegation:
    word = str(kind).strip().lower().replace("-", "_")
    if word not in DELEGATION_KINDS:
        raise InvalidData(
            field,
            f"{kind!r} is not a kind of delegation",
            "use " + ", ".join(DELEGATION_KINDS),
        )
    ref = str(reference).strip()
    if not ref:
        raise InvalidData(field, f"the {word} delegation has no reference")
    if len(ref) > MAX_REFERENCE or "\n" in ref or "\r" in ref:
        raise InvalidData(
            field, f"the {word} reference is not one line of at most {MAX_REFERENCE} characters"
        )
    return Delegation(word, ref, valid_until(str(until), field=field))


def delegation(text: str, *, field: str = "--delegation") -> Delegation:
    """``KIND:REFERENCE:VALID_UNTIL``; the reference may itself hold colons."""
    kind, sep, rest = str(text).partition(":")
    reference, sep2, until = rest.rpartition(":")
    if not (sep and sep2):
        raise InvalidData(
            field,
            f"{text!r} is not KIND:REFERENCE:VALID_UNTIL",
            "e.g. cassetto_fiscale:AB12345:2027-12-31",
        )
    return delegation_parts(kind, reference, until, field=field)


def delegations(items: list[Delegation], *, field: str = "--delegation") -> list[Delegation]:
    """One per kind: the record keeps the current delegation of each kind."""
    seen: set[str] = set()
    for item in items:
        if item.kind in seen:
            raise InvalidData(field, f"the {item.kind} delegation is given twice")
        seen.add(item.kind)
    return sorted(items, key=lambda d: DELEGATION_KINDS.index(d.kind))


def external(text: str, *, field: str = "--external") -> External:
    """``Nome Cognome <email>``."""
    match = _EXTERNAL.match(str(text))
    if match is None:
        raise InvalidData(field, f"{text!r} is not 'Nome Cognome <email>'")
    return external_parts(match["name"], match["email"], field=field)


def external_parts(name: str, email: str, *, field: str) -> External:
    full_name = " ".join(str(name or "").split())
    address = identifiers.email(str(email), field=field)
    if not full_name:
        raise InvalidData(field, f"the person with the e-mail {address} has no name")
    return External(full_name, address)


def externals(items: list[External], *, field: str = "--external") -> list[External]:
    seen: set[str] = set()
    for item in items:
        if item.email in seen:
            raise InvalidData(field, f"{item.email} is given twice")
        seen.add(item.email)
    return items
