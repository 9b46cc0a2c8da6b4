"""A rule's conditions, `--if FIELD=VALUE`: FIELD is a dotted path into the event's
contract (docs/events.md: ``client_id``, ``actor.email``, ``object.id``,
``data.status``, ``changes.status.new``), VALUE the text the field's JSON value
must read as. Plain equality only, so an accountant reads a rule as it is written:

- a string compares as it is (case and spaces count): ``data.title=Invio F24``;
- a number, true/false and null as JSON writes them: ``client_id=12``,
  ``data.high_priority=true``, ``changes.responsible_id.old=null``;
- a list holds when one of its elements does (``data.modules=fatture``);
- a field the event does not have, or an object, never holds.

Several conditions must all hold. The first part of FIELD must be a key of the
contract (checked when the rule is added: a typo is refused then, not silently
never matched); what lies below it depends on the kind and is not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.services.event_log import CONTRACT_KEYS
from sempi_cli.services.text import no_control

FIELD = "--if"
VALUE_LIMIT = 500  # characters of a VALUE
_PART = re.compile(r"[A-Za-z0-9_]+\Z")
_MAX_PARTS = 8


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    value: str

    @property
    def field(self) -> str:
        return ".".join(self.path)

    def __str__(self) -> str:
        return f"{self.field}={self.value}"

    def holds(self, event: Mapping[str, object]) -> bool:
        return self.value in _texts(event, self.path)


def _texts(event: Mapping[str, object], path: tuple[str, ...]) -> tuple[str | None, ...]:
    """What the field at ``path`` reads as: its text, a list's elements' texts, or
    nothing when the event has no such field."""
    found: Any = event
    try:
        for part in path:
            found = found[part]  # only a mapping takes a text key (a list or str: TypeError)
    except (KeyError, TypeError):
        return ()
    if isinstance(found, list):
        return tuple(_as_text(item) for item in found)
    return (_as_text(found),)


_WORDS = {True: "true", False: "false", None: "null"}


def _as_text(value: object) -> str | None:
    """A JSON scalar as `--if` compares it (as JSON writes it); None for an object
    (never equal). Every event of a kind a rule watches passes here: the common
    types take no call to json."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return _WORDS[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    return None


def parse(text: str) -> Condition:
    """One `--if FIELD=VALUE`, or InvalidData naming --if and what is wrong."""
    field, equals, value = text.partition("=")
    field = field.strip()
    if not equals:
        raise InvalidData(
            FIELD,
            _("{value} is not FIELD=VALUE").format(value=_shown(text)),
            _("for example: --if data.status=completed"),
        )
    if not field:
        raise InvalidData(FIELD, _("{value} names no field").format(value=_shown(text)))
    parts = field.split(".")
    if len(parts) > _MAX_PARTS or not all(_PART.match(p) for p in parts):
        raise InvalidData(
            FIELD,
            _("{field} is not a field of an event").format(field=_shown(field)),
            _("a field is words joined by dots: data.status, changes.status.new"),
        )
    if parts[0] not in CONTRACT_KEYS:
        raise InvalidData(
            FIELD,
            _("{field} is not a field of an event").format(field=_shown(field)),
            _("a field starts with one of: {keys} (docs/events.md)").format(
                keys=", ".join(CONTRACT_KEYS)
            ),
        )
    no_control(value, FIELD)
    if len(value) > VALUE_LIMIT:
        raise InvalidData(
            FIELD,
            _("the value of {field} is longer than {limit} characters").format(
                field=field, limit=VALUE_LIMIT
            ),
        )
    return Condition(tuple(parts), value)


def _shown(text: str) -> str:
    """What the person typed, quoted on one line (a control character escaped)."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    return repr(shown)


def parse_all(texts: Iterable[str]) -> list[Condition]:
    return [parse(text) for text in texts]


def holds(conditions: Sequence[Condition], event: Mapping[str, object]) -> bool:
    return all(c.holds(event) for c in conditions)


T = TypeVar("T")


class Matcher(Generic[T]):
    """Which of a kind's rules hold for an event, in the rules' order. Each rule is
    filed under its first condition (field, then value): an event costs a read of
    each distinct first field and a lookup, not a test of every rule (a scheduler
    run sends a hundred thousand events past the office's rules); only the rules
    found have their other conditions tested."""

    def __init__(self, rules: Iterable[tuple[T, Sequence[Condition]]]) -> None:
        self._always: list[tuple[int, T, Sequence[Condition]]] = []
        self._by_first: dict[tuple[str, ...], dict[str, list[tuple[int, T, Sequence[Condition]]]]]
        self._by_first = {}
        for position, (rule, when) in enumerate(rules):
            if not when:
                self._always.append((position, rule, ()))
                continue
            first, rest = when[0], when[1:]
            by_value = self._by_first.setdefault(first.path, {})
            by_value.setdefault(first.value, []).append((position, rule, rest))

    def matching(self, event: Mapping[str, object]) -> list[T]:
        found = list(self._always)
        for path, by_value in self._by_first.items():
            for text in _texts(event, path):
                if text in by_value:
                    found.extend(by_value[text])
        if not found:
            return []
        # A list's elements may find a rule twice; the order is the rules' own.
        unique = {position: (rule, rest) for position, rule, rest in found}
        return [rule for _, (rule, rest) in sorted(unique.items()) if holds(rest, event)]


def dump(conditions: Sequence[Condition]) -> str:
    """As the store keeps them: a JSON list of [field, value]."""
    return json.dumps([[c.field, c.value] for c in conditions], ensure_ascii=False)


def load(stored: str) -> list[Condition]:
    return [Condition(tuple(field.split(".")), value) for field, value in json.loads(stored)]
