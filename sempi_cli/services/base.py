"""What every service is built from: a connection, a clock and an actor."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sempi_cli.clock import iso_utc
from sempi_cli.errors import NotAuthenticated, PermissionDenied
from sempi_cli.i18n import gettext as _
from sempi_cli.store import write_transaction

# The fast path (cli/fastpath.py) builds services on this class before dataclasses
# (Actor's module) could be imported in time: the names are for the type checker.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from sempi_cli.clock import Clock
    from sempi_cli.services.access import Actor


class Service:
    # Services a user who must still enrol in two-step login may use.
    allows_unenrolled = False

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: Actor | None = None) -> None:
        self.db = db
        self.clock = clock
        self._actor = actor

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            raise NotAuthenticated(_("you are not logged in"), _("run 'sempi login'"))
        if self._actor.must_enrol and not self.allows_unenrolled:
            raise PermissionDenied(
                _("two-step login is required for your account"),
                _("turn it on with 'sempi auth otp enable'"),
            )
        return self._actor

    def now(self) -> str:
        """The current instant in storage form."""
        return iso_utc(self.clock.now())

    def transaction(
        self, scope: tuple[str, Iterable[int]] | None = None
    ) -> AbstractContextManager[sqlite3.Connection]:
        """The command's write transaction; a ``scope`` names the rows it changes
        (store/transaction.write_transaction: on PostgreSQL, others may write others)."""
        return write_transaction(self.db, scope)

    @contextmanager
    def rehearsal(
        self, dry_run: bool, scope: tuple[str, Iterable[int]] | None = None
    ) -> Iterator[None]:
        """One transaction; with ``dry_run`` everything it did is rolled back at the
        end, so a dry run runs the very same checks and reports the very same changes."""
        try:
            with self.transaction(scope):
                yield
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass

    def audit(
        self, action: str, object_type: str, object_id: int | None, **details: object
    ) -> None:
        """Record a change in the append-only log, inside the caller's transaction."""
        from sempi_cli.services import audit

        actor_id = self._actor.id if self._actor else None
        audit.record(self.db, self.now(), actor_id, action, object_type, object_id, details)


class _DryRun(Exception):
    """Raised at the end of a dry run to roll its transaction back."""


def changes(before: sqlite3.Row | dict, after: dict) -> dict[str, dict[str, object]]:
    """The fields that differ, as {field: {"old": ..., "new": ...}} for the audit log."""
    return {
        key: {"old": before[key], "new": value}
        for key, value in after.items()
        if before[key] != value
    }


# Personal data stays out of the append-only log (it could never be erased
# from there): the log says which field changed, not to what.
PERSONAL_FIELDS = frozenset({"email", "pec", "full_name", "codice_fiscale", "nickname"})


def redact_personal(diff: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    return {
        key: {"old": "(personal data)", "new": "(personal data)"}
        if key in PERSONAL_FIELDS
        else value
        for key, value in diff.items()
    }
