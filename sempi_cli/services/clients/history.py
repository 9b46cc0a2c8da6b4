"""A client's fiscal profile through time: versions, each in force from a day.

A change of profile applies from a day (``--from``; by default the day the law
gives, ``profile.takes_effect``): a switch to monthly VAT recorded in December
applies from 1 January, so the scheduler owes the last quarter and not the
months before it (fiscal/engine.py, ``Planner.for_history``). Each version is
the whole profile; the first is in force from the start (``FROM_THE_START``),
whatever day the client came. A change from a day sets the field in every
version from that day on, so "monthly from January" stays true when another
field changes later; a version equal to the one before it is dropped.

clients/ owns ``client_profiles``: this module reads and writes it, inside the
caller's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.services.clients import profile
from sempi_cli.store.sql import in_marks

FROM_THE_START = "0001-01-01"
FIELDS = tuple(f.name for f in profile.PROFILE_FIELDS)
_COLUMNS = ("client_id", "valid_from", *FIELDS, "recorded_at", "recorded_by")
_INSERT = (
    f"INSERT INTO client_profiles ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)


def in_force_join(client: str = "c", alias: str = "p", day: str = ":today") -> str:
    """SQL joining each client (``client``) to its profile in force on ``day``."""
    return (
        f"JOIN client_profiles {alias} ON {alias}.client_id = {client}.id"
        f" AND {alias}.valid_from = (SELECT max(h.valid_from) FROM client_profiles h"
        f" WHERE h.client_id = {client}.id AND h.valid_from <= {day})"
    )


@dataclass(frozen=True)
class Version:
    valid_from: str  # YYYY-MM-DD, or FROM_THE_START
    profile: Mapping[str, str | bool]
    recorded_at: str | None = None  # None: not written yet
    recorded_by: int | None = None

    @property
    def day(self) -> date:
        return date.fromisoformat(self.valid_from)


def of_clients(db: sqlite3.Connection, client_ids: Sequence[int]) -> dict[int, list[Version]]:
    """Each client's versions, oldest first (a client never given one: the defaults)."""
    found: dict[int, list[Version]] = {}
    for start in range(0, len(client_ids), 500):
        chunk = client_ids[start : start + 500]
        for row in db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM client_profiles"
            f" WHERE client_id IN ({in_marks(chunk)}) ORDER BY client_id, valid_from",
            chunk,
        ):
            found.setdefault(row["client_id"], []).append(
                Version(
                    row["valid_from"], profile.from_row(row), row["recorded_at"], row["recorded_by"]
                )
            )
    for client_id in client_ids:
        found.setdefault(client_id, [Version(FROM_THE_START, profile.defaults())])
    return found


def of_client(db: sqlite3.Connection, client_id: int) -> list[Version]:
    return of_clients(db, [client_id])[client_id]


def in_force(versions: Sequence[Version], day: date) -> Version:
    """The version in force on *day* (the first one before every later version)."""
    chosen = versions[0]
    for version in versions[1:]:
        if version.day > day:
            break
        chosen = version
    return chosen


def changed(
    versions: Sequence[Version], values: Mapping[str, str | bool], day: date
) -> list[Version]:
    """The versions after setting *values* from *day* on: a version from *day* (a
    copy of the one in force then) and every later one take the values. Checked
    whole: each version must be consistent (a forfettario has no periodic VAT)."""
    key = day.isoformat() if day > date.fromisoformat(FROM_THE_START) else FROM_THE_START
    result = list(versions)
    if all(v.valid_from != key for v in result):
        base = in_force(result, day)
        result.append(Version(key, dict(base.profile)))
        result.sort(key=lambda v: v.valid_from)
    result = [
        v
        if v.valid_from < key or all(v.profile[k] == x for k, x in values.items())
        else Version(v.valid_from, {**v.profile, **values})
        for v in result
    ]
    kept = [result[0]]
    for version in result[1:]:
        if dict(version.profile) != dict(kept[-1].profile):
            kept.append(version)
    for version in kept:
        try:
            profile.check_consistency(dict(version.profile))
        except InvalidData as exc:
            if version.valid_from == FROM_THE_START:
                raise
            raise InvalidData(
                exc.field,
                _("{problem} (in the profile from {day})").format(
                    problem=exc.problem, day=_when(version.valid_from)
                ),
                exc.hint,
            ) from None
    return kept


def with_changes(
    versions: Sequence[Version],
    values: Mapping[str, str | bool],
    today: date,
    start: date | None = None,
) -> list[Version]:
    """*values* applied from *start*, or each from the day its field takes effect
    (``profile.takes_effect``: the next 1 January for the VAT regime)."""
    by_day: dict[date, dict[str, str | bool]] = {}
    for name, value in values.items():
        day = start if start is not None else profile.takes_effect(name, today)
        by_day.setdefault(day, {})[name] = value
    result = list(versions)
    for day in sorted(by_day):
        result = changed(result, by_day[day], day)
    return result


def differences(before: Sequence[Version], after: Sequence[Version]) -> list[dict]:
    """What changed, from which day: [{"from", "field", "old", "new"}], for the audit
    log and the person who asked."""
    found = []
    last: dict[str, tuple] = {}  # a field's (old, new) on the day before: told once
    for key in sorted({v.valid_from for v in (*before, *after)}):
        day = date.fromisoformat(key)
        old, new = in_force(before, day).profile, in_force(after, day).profile
        for name in FIELDS:
            pair = (old[name], new[name])
            if pair[0] != pair[1] and last.get(name) != pair:
                found.append({"from": key, "field": name, "old": pair[0], "new": pair[1]})
            last[name] = pair
    return found


def timeline(versions: Sequence[Version]) -> list[dict]:
    """The versions as people read them: from when, and what changed then."""
    rows = []
    for position, version in enumerate(versions):
        if position == 0:
            continue
        before = versions[position - 1].profile
        rows.append(
            {
                "from": version.valid_from,
                "changes": ", ".join(
                    f"{name}={_text(version.profile[name])}"
                    for name in FIELDS
                    if version.profile[name] != before[name]
                ),
            }
        )
    return rows


def _text(value: str | bool) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def write(
    db: sqlite3.Connection,
    client_id: int,
    versions: Sequence[Version],
    at: str,
    actor_id: int | None,
) -> None:
    """Store *versions* as the client's whole history (versions not written yet are
    recorded *at*, by *actor_id*); inside the caller's transaction."""
    db.execute("DELETE FROM client_profiles WHERE client_id = ?", (client_id,))
    insert_many(
        db,
        (
            (
                client_id,
                v
                if v.recorded_at is not None
                else replace(v, recorded_at=at, recorded_by=actor_id),
            )
            for v in versions
        ),
    )


def insert_many(db: sqlite3.Connection, rows: Iterable[tuple[int, Version]]) -> None:
    """Versions of clients that have none yet (a new client, a batch's new clients)."""
    db.executemany(
        _INSERT,
        (
            (
                client_id,
                v.valid_from,
                *(v.profile[name] for name in FIELDS),
                v.recorded_at,
                v.recorded_by,
            )
            for client_id, v in rows
        ),
    )


def first(values: Mapping[str, str | bool], at: str, actor_id: int | None) -> Version:
    """A new client's profile, in force from the start."""
    return Version(FROM_THE_START, dict(values), at, actor_id)


def change(
    db: sqlite3.Connection,
    client_id: int,
    values: Mapping[str, str | bool],
    *,
    today: date,
    start: date | None,
    at: str,
    actor_id: int | None,
) -> list[dict]:
    """Set *values* in a client's profile (``with_changes``) and store the result;
    returns what changed from which day (nothing written when nothing changed)."""
    before = of_client(db, client_id)
    after = with_changes(before, values, today, start)
    found = differences(before, after)
    if found:
        write(db, client_id, after, at, actor_id)
        db.execute("UPDATE clients SET updated_at = ? WHERE id = ?", (at, client_id))
    return found


def _when(iso: str) -> str:
    """A stored day or instant in a sentence: ISO in English, as it always showed,
    as Italians write it in Italian (16/11/2026 10:30, Rome time)."""
    from sempi_cli.i18n import current
    from sempi_cli.output import for_people

    return iso if current() == "en" else str(for_people(iso))
