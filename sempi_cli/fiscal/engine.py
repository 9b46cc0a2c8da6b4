"""A client's fiscal profile and a date range → its dated deadlines.

Each rule is expanded once per range (``Planner``), and the dates are shared by
every client the rule applies to; clients with the same profile share the whole
list. So a run over ten thousand clients computes a few hundred dates, not a
million.

A profile changes with time (a client turns to monthly VAT from 1 January):
``Planner.for_history`` takes each version with the day it is in force from,
and a period is owed when a version in force on one of its days owes it.

Pure: no I/O, nothing of ours imported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sempi_cli.fiscal.calendar import Shift, effective_due
from sempi_cli.fiscal.rules import RULES, Profile, Rule


@dataclass(frozen=True)
class Override:
    """A government extension of one period of one rule, perhaps only for some
    clients (those with any of the ``applies_to`` profile flags)."""

    due_date: date
    reason: str
    applies_to: tuple[str, ...] = ()

    def covers(self, profile: Profile) -> bool:
        return not self.applies_to or any(bool(profile.get(f)) for f in self.applies_to)


Overrides = Mapping[tuple[str, str], Override]  # (rule_id, period) -> override


@dataclass(frozen=True)
class Deadline:
    rule_id: str
    period: str
    nominal_date: date
    due_date: date
    shifts: tuple[Shift, ...]
    legal_basis: str
    tax_year: int  # the year the period concerns (the year before a form's year)
    period_name: str  # "2026-Q2"; a form's year with its tax year: "2026 (periodo d'imposta 2025)"
    concerns: tuple[date, date]  # the first and last day of what it is about (Rule.span)
    override_reason: str | None = None


def deadline_of(rule: Rule, year: int, index: int, override: Override | None = None) -> Deadline:
    """One period of one rule, dated: the nominal day, then the override if any,
    then the shift algorithm (an extension to a Sunday still moves by law)."""
    nominal = rule.due(year, index)
    start = override.due_date if override else nominal
    due, shifts = effective_due(start, august_rule=rule.august_rule)
    if override:
        shifts = (Shift(nominal, override.due_date, f"proroga: {override.reason}"), *shifts)
    return Deadline(
        rule.id,
        rule.period(year, index),
        nominal,
        due,
        shifts,
        rule.legal_basis,
        rule.tax_year(year),
        rule.period_name(year, index),
        rule.span(year, index),
        override.reason if override else None,
    )


class Planner:
    """The deadlines falling due in ``[start, end]`` (due dates, both ends
    included), for any number of profiles."""

    def __init__(self, start: date, end: date, overrides: Overrides | None = None) -> None:
        self.start, self.end = start, end
        self.overrides = dict(overrides or {})
        self._by_rule = {rule.id: self._expand(rule) for rule in RULES}
        self._by_profile: dict[tuple, list[Deadline]] = {}

    def _expand(self, rule: Rule) -> list[tuple[Deadline, Deadline | None, Override | None]]:
        """Per period: the plain deadline, and the overridden one when an override exists.
        Periods start two years back: a tax year's payments may fall due the year after."""
        rows = []
        for year in range(self.start.year - 2, self.end.year + 1):
            for _, index in rule.periods(year):
                override = self.overrides.get((rule.id, rule.period(year, index)))
                plain = deadline_of(rule, year, index)
                rows.append(
                    (
                        plain,
                        deadline_of(rule, year, index, override) if override else None,
                        override,
                    )
                )
        return rows

    def periods(self) -> set[str]:
        """Every period some rule has falling due in the range (whoever it applies to)."""
        return {
            (overridden or plain).period
            for rows in self._by_rule.values()
            for plain, overridden, _ in rows
            if self.start <= plain.due_date <= self.end
            or (overridden is not None and self.start <= overridden.due_date <= self.end)
        }

    def for_profile(self, profile: Profile) -> list[Deadline]:
        """The deadlines of a client with this profile, ordered by due date then rule."""
        key = tuple(sorted(profile.items()))
        cached = self._by_profile.get(key)
        if cached is None:
            cached = self._by_profile[key] = self._compute(profile)
        return cached

    def for_history(self, versions: Sequence[tuple[date, Profile]]) -> list[Deadline]:
        """The deadlines of a client whose profile changed: *versions* are (in force
        from, profile), oldest first, the first in force from the start whatever its
        day. A period is owed when a version in force on one of its days owes it: a
        switch to monthly VAT from 1 January owes the last quarter of the year before
        and the months from January, not the months before. Where two versions owe
        the same period, the later one's dates are kept."""
        if len(versions) == 1:
            return self.for_profile(versions[0][1])
        chosen: dict[tuple[str, str], Deadline] = {}
        for first, last, profile in _windows(versions):
            for deadline in self.for_profile(profile):
                begins, ends = deadline.concerns
                if begins <= last and first <= ends:
                    chosen[(deadline.rule_id, deadline.period)] = deadline
        return sorted(chosen.values(), key=lambda d: (d.due_date, d.rule_id, d.period))

    def _compute(self, profile: Profile) -> list[Deadline]:
        found = []
        for rule in RULES:
            if not rule.applies(profile):
                continue
            for plain, overridden, override in self._by_rule[rule.id]:
                # _expand dates an overridden deadline exactly when there is an override.
                chosen = (
                    overridden
                    if overridden is not None and override is not None and override.covers(profile)
                    else plain
                )
                if self.start <= chosen.due_date <= self.end:
                    found.append(chosen)
        found.sort(key=lambda d: (d.due_date, d.rule_id, d.period))
        return found


def _windows(versions: Sequence[tuple[date, Profile]]) -> Iterator[tuple[date, date, Profile]]:
    """Each version with the first and last day it is in force (the first from the start)."""
    for position, (_, profile) in enumerate(versions):
        first = versions[position][0] if position else date.min
        after = versions[position + 1][0] if position + 1 < len(versions) else None
        yield first, (after - timedelta(days=1) if after is not None else date.max), profile


def owing_profile(
    versions: Sequence[tuple[date, Profile]], rule: Rule, year: int, index: int
) -> Profile:
    """The profile a period of *rule* is judged by, as ``Planner.for_history`` does:
    the latest version in force during the period that owes it, else the latest
    version in force during the period."""
    begins, ends = rule.span(year, index)
    during = [p for first, last, p in _windows(versions) if begins <= last and first <= ends]
    owing = [p for p in during if rule.applies(p)]
    return (owing or during)[-1]


def deadlines(
    profile: Profile, start: date, end: date, overrides: Overrides | None = None
) -> list[Deadline]:
    """The deadlines of one profile falling due in ``[start, end]``."""
    return Planner(start, end, overrides).for_profile(profile)
