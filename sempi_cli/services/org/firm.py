"""Creating a store: the firm and its first administrator, once."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from sempi_cli.clock import Clock
from sempi_cli.errors import Conflict, InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.services import identifiers
from sempi_cli.services.base import Service
from sempi_cli.services.identity import accounts, passwords
from sempi_cli.services.org.users import person_language


def create_store(
    path: Path | str,
    clock: Clock,
    firm_name: str,
    admin_email: str,
    admin_name: str,
    password: str,
    *,
    language: str | None = None,
) -> tuple[sqlite3.Connection, dict]:
    """Open or create the store and initialise it; a store this call created is
    deleted again if anything fails, so a failed ``init`` leaves nothing behind.
    ``language``: the administrator's (it, en; None or '' for the firm's default)."""
    from sempi_cli.paths import is_address
    from sempi_cli.store import open_store

    new = False  # a PostgreSQL store: its schema stays, and a later init completes it
    if not is_address(path):
        path = Path(path)
        try:
            new = not path.exists()
        except OSError:  # a name too long for the file system: open_store says so below
            pass
    _validate(firm_name, admin_email, admin_name, password)
    person_language(language or "")
    conn = None
    try:
        conn = open_store(path, create=True)
        if new:
            os.chmod(path, 0o600)
        return conn, FirmService(conn, clock).initialise(
            firm_name, admin_email, admin_name, password, language=language
        )
    except BaseException:
        if conn is not None:
            conn.close()
        if new:
            for suffix in ("", "-wal", "-shm"):
                # not there, or never could be (a file where its folder should be)
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    Path(f"{path}{suffix}").unlink()
        raise


def _validate(
    firm_name: str, admin_email: str, admin_name: str, password: str
) -> tuple[str, str, str]:
    name = (firm_name or "").strip()
    if not name:
        raise InvalidData("--firm", _("the firm's name is empty"))
    # The name goes into every e-mail's sender and signature: one line, no control codes.
    from sempi_cli.services.text import no_control

    no_control(name, "--firm")
    email = identifiers.email(admin_email, field="--admin-email")
    full_name = (admin_name or "").strip()
    if not full_name:
        raise InvalidData("--admin-name", _("the administrator's name is empty"))
    passwords.check_strength(password)
    return name, email, full_name


class FirmService(Service):
    def initialise(
        self,
        firm_name: str,
        admin_email: str,
        admin_name: str,
        password: str,
        *,
        language: str | None = None,
    ) -> dict:
        """The firm row and a firm-admin user (``language``: theirs, None for the
        firm's default); refused if the store already has a firm."""
        name, email, full_name = _validate(firm_name, admin_email, admin_name, password)
        chosen = person_language(language or "")
        password_hash = passwords.hash_password(password)
        with self.transaction():
            if self.db.execute("SELECT 1 FROM firm").fetchone():
                raise Conflict(
                    _("this store already has a firm"), _("use 'sempi user add' for more users")
                )
            now = self.now()
            self.db.execute("INSERT INTO firm (id, name, created_at) VALUES (1, ?, ?)", (name, now))
            admin_id = accounts.create_user(
                self.db, email=email, full_name=full_name, role="firm-admin", at=now,
                password_hash=password_hash, language=chosen,
            )  # fmt: skip
            self.audit("init", "firm", 1, firm=name, admin=email)
        return {"firm": name, "admin_id": admin_id, "admin_email": email}

    def name(self) -> str | None:
        row = self.db.execute("SELECT name FROM firm").fetchone()
        return row[0] if row else None
