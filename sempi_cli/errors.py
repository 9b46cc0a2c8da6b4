"""The SempiError hierarchy: each error carries the exit code scripts rely on.

The codes are a documented contract (docs/exit-codes.md); the one error
boundary in cli/app.py turns an error into ``Error: <message>`` on stderr.
"""

from __future__ import annotations


class SempiError(Exception):
    """Base class: a message for a person, an optional hint, an exit code."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        text = self.message.rstrip(".") + "."
        if self.hint:
            text += " " + self.hint[0].upper() + self.hint[1:].rstrip(".") + "."
        return text


class UsageProblem(SempiError):
    """A bad combination of options the parser could not catch."""

    exit_code = 2


class NotFound(SempiError):
    """The object does not exist, or the actor may not see it (never leak which)."""

    exit_code = 3


class Conflict(SempiError):
    """The object already exists (duplicate natural key)."""

    exit_code = 4


class RuleViolation(SempiError):
    """A business rule refuses the change (open checklist items, running timer, ...)."""

    exit_code = 5


class InvalidData(SempiError):
    """A value is malformed: a bad codice fiscale, a date nobody can read, a bad row."""

    exit_code = 6

    def __init__(self, field: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{field}: {problem}", hint)
        self.field = field
        self.problem = problem


class NotAuthenticated(SempiError):
    """No valid session or credentials; or authentication failed."""

    exit_code = 7


class PermissionDenied(SempiError):
    """The actor is known but may not do this."""

    exit_code = 8


class StoreBusy(SempiError):
    """Another process held the store's write lock past the busy timeout."""

    exit_code = 9


class StoreUnusable(SempiError):
    """Not a sempi store, a newer schema, or an integrity failure."""

    exit_code = 10


class CheckFailed(SempiError):
    """A monitoring check failed (e.g. no recent successful scheduler run)."""

    exit_code = 11


class PartlyDone(SempiError):
    """Part of the work is written and the rest was refused or left out: a batch with
    --partial (the good rows), a batch stopped midway, a doc import that left files out."""

    exit_code = 12


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "unexpected internal error",
    2: "usage error (bad option or argument)",
    3: "not found (or not visible to you)",
    4: "conflict: already exists, duplicate",
    5: "refused by a business rule",
    6: "invalid data (bad codice fiscale, bad date, bad row)",
    7: "not authenticated / authentication failed",
    8: "permission denied",
    9: "store busy past the timeout, or others changing the same data at the same time (retry later)",
    10: "store unusable (not a sempi store, newer schema, integrity failure)",
    11: "a check answered no (scheduler health: no recent successful run; consent check: no access; sign verify: altered)",
    12: "partly done: some was written, the rest refused or left out (batch --partial, doc import)",
    130: "interrupted (Ctrl-C)",
    141: "the reader of the output went away (a pipe closed early, e.g. `| head`): stopped quietly",
}
