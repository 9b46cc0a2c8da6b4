"""The store itself: what is in it, whether it is sound, and a safe copy of it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sempi_cli.errors import Conflict, InvalidData
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.paths import is_address, store_shown
from sempi_cli.services.access import require_firm_admin
from sempi_cli.services.base import Service
from sempi_cli.store import health
from sempi_cli.store.transaction import engine

COUNTED = ("studios", "clients", "users", "work_group_members", "sessions", "audit_log")


class MaintenanceService(Service):
    def info(self, path: Path | str) -> dict:
        require_firm_admin(self.actor, N_("read the store's details"))
        return {
            **health.describe(self.db, path),
            **{
                f"{table}_count": self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in COUNTED
            },
        }

    def check(self) -> list[str]:
        """Problems found by the engine's own checks (SQLite: integrity and foreign
        keys) and by the practices' boundary; empty if sound."""
        require_firm_admin(self.actor, N_("check the store"))
        try:
            problems = health.damage(self.db)
        except sqlite3.DatabaseError as exc:
            # Damage bad enough that SQLite cannot even walk the pages: that is the finding.
            return [_("the check could not finish: {error}").format(error=exc)]
        from sempi_cli.services.ops.boundary import crossings

        return problems + crossings(self.db)

    def backup(self, destination: Path) -> dict:
        """An online, consistent copy (SQLite's backup API; PostgreSQL's pg_dump),
        readable only by its owner."""
        require_firm_admin(self.actor, N_("back up the store"))
        destination = Path(destination)
        try:
            fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise Conflict(
                _("{path} already exists").format(path=destination),
                _("choose another path; backups never overwrite"),
            ) from None
        except (FileNotFoundError, NotADirectoryError):
            raise InvalidData(
                "PATH", _("the folder {folder} does not exist").format(folder=destination.parent)
            ) from None
        except OSError as exc:  # a name too long, a read-only file system, no permission
            raise InvalidData(
                "PATH",
                _("cannot create {path}: {reason}").format(path=destination, reason=exc.strerror),
            ) from None
        os.close(fd)
        try:
            health.backup(self.db, destination)
        except BaseException:
            destination.unlink(missing_ok=True)
            raise
        os.chmod(destination, 0o600)
        with self.transaction():
            self.audit("backup", "store", None, path=str(destination))
        return {"path": str(destination), "size_bytes": destination.stat().st_size}

    def migrate_to(
        self, source: Path | str, address: str, progress: Callable[[str, int], None] | None = None
    ) -> list[dict]:
        """Copy this store into the empty PostgreSQL database at ``address``
        (store/copy.py: resumable, verified table by table); this store is left as
        it was, but for the audit entry saying where it went."""
        require_firm_admin(self.actor, N_("copy the store"))
        if not is_address(address):
            raise InvalidData("ADDRESS", _("not a postgresql:// address"))
        if engine(self.db) != "sqlite":
            raise InvalidData("--db", _("the store to copy is not an SQLite file"))
        from sempi_cli.store import open_store
        from sempi_cli.store.copy import copy_store

        target = open_store(address, create=True)
        try:
            copied = copy_store(self.db, store_shown(source), target, progress)
        finally:
            target.close()
        with self.transaction():
            self.audit("migrate_to", "store", None, to=store_shown(address))
        return [{"table": c.table, "rows": c.rows, "sha256": c.sha256} for c in copied]
