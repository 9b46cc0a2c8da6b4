"""The state one command runs with: where the store is, the clock, the output
choices, and who the actor is. Built by the root callback; tests pass their own."""

from __future__ import annotations

import os
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sempi_cli.clock import Clock, SystemClock
from sempi_cli.i18n import gettext as _

if TYPE_CHECKING:
    from contextvars import Token

    from sempi_cli.services.access import Actor

S = TypeVar("S")


@dataclass
class AppContext:
    db_path: Path | str | None = None  # --db: a file, or a postgresql:// address
    clock: Clock = field(default_factory=SystemClock)
    fmt: str = "table"
    quiet: bool = False
    yes: bool = False
    no_input: bool = False
    debug: bool = False
    # --no-hooks: the command runs without the before-hooks (firm administrators;
    # checked and audited once the actor is known).
    no_hooks: bool = False
    command: str = ""  # the command's plain words, for the audit of --no-hooks
    # In-process callers (tests, the demo builder) may name the actor directly.
    # The command line never can: there the actor comes from a session or the
    # environment's application password.
    actor_email: str | None = None
    _conn: sqlite3.Connection | None = None
    _reader: sqlite3.Connection | None = None  # SEMPI_DB_READ's replica, once opened
    _actor: Actor | None = None
    _hooks_skipped: Token[bool] | None = None

    @property
    def store_path(self) -> Path | str:
        """The store's file, or its PostgreSQL database's address."""
        from sempi_cli.paths import store_path

        return store_path(self.db_path)

    def connection(self, *, create: bool = False) -> sqlite3.Connection:
        if self._conn is None:
            from sempi_cli.store import open_store

            self._conn = open_store(self.store_path, create=create)
        return self._conn

    def close(self) -> None:
        if self._hooks_skipped is not None:
            from sempi_cli.services.automation.hooks import stop_skipping

            stop_skipping(self._hooks_skipped)
            self._hooks_skipped = None
        for conn in (self._conn, self._reader):
            if conn is not None:
                conn.close()
        self._conn = self._reader = None

    def actor(self, *, touch: bool = True) -> Actor:
        """Who runs this command: an in-process override, the environment's app
        password, or the login session for this store (kept alive unless ``touch``
        is False: `status --short`, which a prompt runs, is not activity)."""
        if self._actor is None:
            self._actor = self._authenticate(touch)
            if self.no_hooks:
                from sempi_cli.services.automation.hooks import skip_before_hooks

                self._hooks_skipped = skip_before_hooks(
                    self.connection(), self.clock, self._actor, self.command
                )
        return self._actor

    def _authenticate(self, touch: bool) -> Actor:
        from sempi_cli.errors import NotAuthenticated
        from sempi_cli.services.identity.accounts import actor_from_row
        from sempi_cli.services.identity.sessions import not_logged_in

        self.connection()  # the store first: "no store" comes before "not logged in"
        if self.actor_email is not None:
            from sempi_cli.services.identity.accounts import active_user

            row = active_user(self.connection(), self.actor_email)
            return actor_from_row(row, self.connection(), via="internal")
        user, app_password = os.environ.get("SEMPI_USER"), os.environ.get("SEMPI_APP_PASSWORD")
        if app_password:
            from sempi_cli.services.identity.auth import AuthService

            if not user:
                raise NotAuthenticated(_("SEMPI_APP_PASSWORD is set but SEMPI_USER is not"))
            return AuthService(self.connection(), self.clock).actor_for_app_password(
                user, app_password
            )
        from sempi_cli import sessionfile
        from sempi_cli.paths import session_file

        token = sessionfile.read_token(session_file(self.store_path))
        if token is None:
            raise not_logged_in()
        from sempi_cli.services.identity.accounts import session_actor

        return session_actor(self.connection(), token, self.clock.now(), touch=touch)

    def service(
        self,
        cls: type[S],
        *,
        anonymous: bool = False,
        long_job: bool = False,
        read_only: bool = False,
    ) -> S:
        """A service on this store, as this command's actor (or nobody). A long job
        (batch, scheduler run, doc import, mail send) waits for other writers up to
        the firm's ``store.job_wait_seconds``, saying so on stderr. A command that
        only reads, and writes nothing after, asks ``read_only``: it reads the
        replica SEMPI_DB_READ names, if any (the actor is still found on the store:
        a session's use is a write)."""
        actor = None if anonymous else self.actor()
        if long_job:
            self._be_patient()
        conn = self.reader() if read_only else self.connection()
        return cls(conn, self.clock, actor)  # type: ignore[call-arg]

    def reader(self) -> sqlite3.Connection:
        """The replica SEMPI_DB_READ names, for reads no write follows; the store
        itself when none is named or it cannot be used now (store/connection.py)."""
        address = os.environ.get("SEMPI_DB_READ")
        if not address:
            return self.connection()
        if self._reader is None:
            from sempi_cli.store.connection import open_replica

            self._reader = open_replica(address, self.store_path)
        return self._reader or self.connection()

    def _be_patient(self) -> None:
        from sempi_cli.services import settings
        from sempi_cli.store.transaction import be_patient

        conn = self.connection()
        seconds = int(settings.get(conn, "store.job_wait_seconds"))

        def notice() -> None:
            if not self.quiet:
                print(
                    _("Waiting for another sempi to finish writing (up to {seconds} s)...").format(
                        seconds=seconds
                    ),
                    file=sys.stderr,
                    flush=True,
                )

        be_patient(conn, seconds, notice)

    @property
    def interactive(self) -> bool:
        return not self.no_input and sys.stdin.isatty()
