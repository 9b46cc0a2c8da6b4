"""The store itself: what is in it, whether it is sound, and a safe copy of it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sempi_cli.errors import Conflict, InvalidData
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services.access import require_firm_admin
from sempi_cli.services.base import Service

COUNTED = ("studios", "clients", "users", "work_group_members", "sessions", "audit_log")


class MaintenanceService(Service):
    def info(self, path: Path) -> dict:
        require_firm_admin(self.actor, N_("read the store's details"))
        wal = Path(f"{path}-wal")
        page_size = self.db.execute("PRAGMA page_size").fetchone()[0]
        free = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        return {
            "path": str(path),
            "schema_version": self.db.execute("PRAGMA user_version").fetchone()[0],
            "size_bytes": path.stat().st_size,
            "wal_bytes": wal.stat().st_size if wal.exists() else 0,
            "free_bytes": page_size * free,
            "journal_mode": self.db.execute("PRAGMA journal_mode").fetchone()[0],
            **{
                f"{table}_count": self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in COUNTED
            },
        }

    def check(self) -> list[str]:
        """Problems found by SQLite's integrity and foreign-key checks; empty if sound."""
        require_firm_admin(self.actor, N_("check the store"))
        try:
            problems = [r[0] for r in self.db.execute("PRAGMA integrity_check") if r[0] != "ok"]
            problems += [
                _("foreign key: {table} row {row} refers to a missing {parent}").format(
                    table=r[0], row=r[1], parent=r[2]
                )
                for r in self.db.execute("PRAGMA foreign_key_check")
            ]
        except sqlite3.DatabaseError as exc:
            # Damage bad enough that SQLite cannot even walk the pages: that is the finding.
            return [_("the check could not finish: {error}").format(error=exc)]
        from sempi_cli.services.ops.boundary import crossings

        return problems + crossings(self.db)

    def backup(self, destination: Path) -> dict:
        """An online, consistent copy (SQLite's backup API), readable only by its owner."""
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
            target = sqlite3.connect(destination)
            try:
                self.db.backup(target)
            finally:
                target.close()
        except BaseException:
            destination.unlink(missing_ok=True)
            raise
        os.chmod(destination, 0o600)
        with self.transaction():
            self.audit("backup", "store", None, path=str(destination))
        return {"path": str(destination), "size_bytes": destination.stat().st_size}
