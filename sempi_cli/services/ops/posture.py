"""The deployment's security posture, as `sempi doctor` reports it.

sempi's checks live in the program, and the program works on a plain file:
how that file, its folder and the session folder are owned and protected
decides whether the checks mean anything. Each check is one row
``{check, status, detail}`` with status ``ok``, ``warn`` or ``fail``; a
``fail`` is something to fix now, a ``warn`` something to know.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sempi_cli.i18n import N_, ngettext
from sempi_cli.i18n import gettext as _
from sempi_cli.paths import store_shown
from sempi_cli.services import settings
from sempi_cli.services.access import require_firm_admin
from sempi_cli.services.base import Service
from sempi_cli.store import health, spool
from sempi_cli.store.transaction import engine

OK, WARN, FAIL = "ok", "warn", "fail"
BYPASS = N_(
    "anyone who can write the store file bypasses every check in sempi:"
    " keep it owned by a service account (docs/security.md)"
)


def _row(check: str, status: str, detail: str) -> dict[str, str]:
    return {"check": check, "status": status, "detail": detail}


def _account(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"  # a number: the same in every language


def _group(gid: int) -> str:
    import grp

    try:
        return _("group {group}").format(group=grp.getgrgid(gid).gr_name)
    except KeyError:
        return _("group {group}").format(group=gid)


def file_mode(check: str, path: Path) -> dict[str, str]:
    """A store file: nothing for others (sempi refuses it), group access a warning."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return _row(
            check, OK, _("{path}: absent (no connection holds the store open)").format(path=path)
        )
    mode = f"{stat.S_IMODE(info.st_mode):04o}"
    bits = stat.S_IMODE(info.st_mode)
    if bits & 0o006:
        return _row(
            check,
            FAIL,
            _(
                "{path}: mode {mode}, every user of this machine may use it: chmod 600 {path}"
            ).format(path=path, mode=mode),
        )
    if bits & 0o070:
        return _row(
            check,
            WARN,
            _(
                "{path}: mode {mode}, {group} may use it;"
                " right only if that group is the service's own"
            ).format(path=path, mode=mode, group=_group(info.st_gid)),
        )
    if bits & 0o001:
        return _row(
            check,
            WARN,
            _("{path}: mode {mode}, an odd mode for data: chmod 600 {path}").format(
                path=path, mode=mode
            ),
        )
    return _row(check, OK, _("{path}: mode {mode}").format(path=path, mode=mode))


def directory_mode(check: str, path: Path, *, missing: str) -> dict[str, str]:
    """A folder: writable by others is a failure (they could swap the file).
    ``missing`` (marked with N_) says what an absent folder means."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return _row(check, OK, f"{path}: {_(missing)}")
    bits = stat.S_IMODE(info.st_mode)
    mode = f"{bits:04o}"
    if bits & 0o022:
        return _row(
            check,
            FAIL,
            _(
                "{path}: mode {mode}, others may create, rename or delete files in it:"
                " chmod 700 {path}"
            ).format(path=path, mode=mode),
        )
    if bits & 0o055:
        return _row(
            check,
            WARN,
            _(
                "{path}: mode {mode}, others may list it or reach its files: chmod 700 {path}"
            ).format(path=path, mode=mode),
        )
    return _row(check, OK, _("{path}: mode {mode}").format(path=path, mode=mode))


def path_folders(store: Path) -> dict[str, str]:
    """The folders above the store's own: one that others may write (and that has no
    sticky bit, as /tmp has) lets them rename the store's folder and put another there."""
    open_to_others = []
    for folder in store.resolve().parent.parents:
        try:
            info = folder.stat()
        except OSError:
            continue
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o022 and not mode & stat.S_ISVTX:
            open_to_others.append(
                _("{folder} (mode {mode})").format(folder=folder, mode=f"{mode:04o}")
            )
    if open_to_others:
        return _row(
            "store_path",
            FAIL,
            _(
                "others may write a folder on the way to the store: {folders};"
                " chmod go-w on each, or move the store"
            ).format(folders=", ".join(open_to_others)),
        )
    return _row("store_path", OK, _("no folder on the way to the store is writable by others"))


def session_directory(path: Path) -> dict[str, str]:
    """Sessions are refused from a folder that is not the user's own and 0700."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return _row(
            "session_directory",
            OK,
            _("{path}: absent (nobody logged in here yet)").format(path=path),
        )
    bits = stat.S_IMODE(info.st_mode)
    mode = f"{bits:04o}"
    if info.st_uid != os.geteuid():
        return _row(
            "session_directory",
            FAIL,
            _(
                "{path}: owned by {owner}, not by the account running sempi;"
                " sessions in it are refused"
            ).format(path=path, owner=_account(info.st_uid)),
        )
    if bits & 0o077:
        return _row(
            "session_directory",
            FAIL,
            _("{path}: mode {mode}, sessions in it are refused: chmod 700 {path}").format(
                path=path, mode=mode
            ),
        )
    return _row("session_directory", OK, _("{path}: mode {mode}").format(path=path, mode=mode))


def outbox_spool(folder: Path | None) -> dict[str, str]:
    """Activation codes waiting to be mailed live in the spool beside the store
    (store/spool.py), not in it: a 0700 folder of 0600 files, the account's own."""
    command = "sempi mail invite USER --resend"
    if folder is None:
        return _row("outbox_spool", OK, _("a store in memory: no spool"))
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return _row(
            "outbox_spool",
            OK,
            _("{folder}: absent (no activation code waiting)").format(folder=folder),
        )
    if not stat.S_ISDIR(info.st_mode):
        return _row(
            "outbox_spool",
            FAIL,
            _(
                "{folder}: not a folder; remove it, then send those invitations again ('{command}')"
            ).format(folder=folder, command=command),
        )
    if info.st_uid != os.geteuid():
        return _row(
            "outbox_spool",
            FAIL,
            _(
                "{folder}: owned by {owner}, not by the account running sempi;"
                " its codes are not sent"
            ).format(folder=folder, owner=_account(info.st_uid)),
        )
    bits = stat.S_IMODE(info.st_mode)
    mode = f"{bits:04o}"
    if bits & 0o077:
        return _row(
            "outbox_spool",
            FAIL,
            _(
                "{folder}: mode {mode}, others may reach the activation codes in it:"
                " chmod 700 {folder}, then send those invitations again ('{command}')"
            ).format(folder=folder, mode=mode, command=command),
        )
    try:
        files = sorted(folder.iterdir())
    except FileNotFoundError:  # its last message went meanwhile
        files = []
    open_ = [p.name for p in files if not _private_file(p)]
    if open_:
        return _row(
            "outbox_spool",
            FAIL,
            ngettext(
                "{folder}: {n} file(s) open to others, not ours or not regular"
                " ({names}); their codes are not sent: remove them, then send those"
                " invitations again ('{command}')",
                "{folder}: {n} file(s) open to others, not ours or not regular"
                " ({names}); their codes are not sent: remove them, then send those"
                " invitations again ('{command}')",
                len(open_),
            ).format(folder=folder, n=len(open_), names=", ".join(open_[:3]), command=command),
        )
    return _row(
        "outbox_spool",
        OK,
        ngettext(
            "{folder}: mode {mode}, {n} file(s), all private",
            "{folder}: mode {mode}, {n} file(s), all private",
            len(files),
        ).format(folder=folder, mode=mode, n=len(files)),
    )


def _private_file(path: Path) -> bool:
    try:
        info = path.lstat()
    except FileNotFoundError:  # sent meanwhile
        return True
    return (
        stat.S_ISREG(info.st_mode)
        and not stat.S_IMODE(info.st_mode) & 0o077
        and info.st_uid == os.geteuid()
    )


def deployment(path: Path) -> dict[str, str]:
    """Who owns the store against who runs sempi: a personal store, or a service account."""
    owner = path.stat().st_uid
    me = os.geteuid()
    invoker = os.environ.get("SUDO_UID", "")
    if owner == me and invoker.isdigit() and int(invoker) != me:
        return _row(
            "deployment",
            OK,
            _(
                "service account: the store belongs to {owner}, which sempi runs as"
                " through sudo for {invoker}"
            ).format(owner=_account(owner), invoker=_account(int(invoker))),
        )
    if owner == me:
        return _row(
            "deployment",
            OK,
            _(
                "personal: the store belongs to {owner}, the account running sempi;"
                " for several people on one server, use a service account (docs/security.md)"
            ).format(owner=_account(owner)),
        )
    return _row(
        "deployment",
        WARN,
        _(
            "the store belongs to {owner} but sempi runs as {me}, who can"
            " open it directly (group permission or root): the service account does not keep"
            " this account out"
        ).format(owner=_account(owner), me=_account(me)),
    )


class PostureService(Service):
    def report(
        self, store_path: Path | str, session_dir: Path, replica: str | None = None
    ) -> list[dict[str, str]]:
        """Every check, in a fixed order; the bypass warning always last. ``replica``:
        SEMPI_DB_READ's address, if any (PostgreSQL)."""
        require_firm_admin(self.actor, N_("check the deployment"))
        rows = [
            *(
                self._server(store_path, replica)
                if engine(self.db) == "postgresql"
                else self._file(Path(store_path))
            ),
            session_directory(Path(session_dir)),
            outbox_spool(spool.folder_of(self.db)),
            self._require_otp(),
            self._admins_without_otp(),
            self._journal_mode(),
            self._quick_check(),
            self._boundary(),
            self._hooks(),
            _row("bypass", WARN, _(BYPASS)),
        ]
        return rows

    def _file(self, store_path: Path) -> list[dict[str, str]]:
        """SQLite: the file, its -wal and -shm, and every folder on the way."""
        owner = store_path.stat().st_uid
        return [
            _row(
                "store",
                OK,
                _("{path}, owned by {owner}").format(path=store_path, owner=_account(owner)),
            ),
            file_mode("store_mode", store_path),
            file_mode("wal_mode", Path(f"{store_path}-wal")),
            file_mode("shm_mode", Path(f"{store_path}-shm")),
            directory_mode("store_directory", store_path.parent, missing=N_("absent")),
            path_folders(store_path),
            deployment(store_path),
        ]

    def _server(self, address: Path | str, replica: str | None) -> list[dict[str, str]]:
        """PostgreSQL: the connection's encryption, the application's role, the
        server's version, the read replica (docs/deployment.md)."""
        check, usable, detail = health.replica_posture(replica, str(address))
        return [
            _row("store", OK, store_shown(address)),
            *(
                _row(check, OK if passed else FAIL, detail)
                for check, passed, detail in health.server_posture(self.db)
            ),
            _row(check, OK if usable else WARN, detail),
        ]

    def _require_otp(self) -> dict[str, str]:
        rule = settings.get(self.db, "auth.require_otp")
        if rule == "all" or "firm-admin" in rule.split(","):
            return _row("require_otp", OK, f"auth.require_otp = {rule}")
        return _row(
            "require_otp",
            WARN,
            _(
                "auth.require_otp = {rule}: firm administrators may log in with a password alone;"
                " sempi config set auth.require_otp all"
            ).format(rule=rule),
        )

    def _admins_without_otp(self) -> dict[str, str]:
        emails = [
            row[0]
            for row in self.db.execute(
                "SELECT email FROM users WHERE role = 'firm-admin' AND disabled_at IS NULL"
                " AND otp_enabled_at IS NULL ORDER BY email"
            )
        ]
        if not emails:
            return _row("admins_without_otp", OK, _("every firm administrator uses two-step login"))
        return _row(
            "admins_without_otp",
            WARN,
            ngettext(
                "{n} firm administrator(s) without two-step login: {emails}"
                " (sempi auth otp enable)",
                "{n} firm administrator(s) without two-step login: {emails}"
                " (sempi auth otp enable)",
                len(emails),
            ).format(n=len(emails), emails=", ".join(emails)),
        )

    def _journal_mode(self) -> dict[str, str]:
        mode = health.journal_mode(self.db)
        if mode == "wal":
            return _row("journal_mode", OK, "wal")
        return _row(
            "journal_mode",
            FAIL,
            _("{mode}: sempi needs wal (concurrent readers)").format(mode=mode),
        )

    def _boundary(self) -> dict[str, str]:
        from sempi_cli.services.ops.boundary import crossings

        found = crossings(self.db, limit=4)
        if not found:
            return _row("practice_boundary", OK, _("no role on a client's work crosses practices"))
        shown = "; ".join(found[:3]) + (_("; and more") if len(found) > 3 else "")
        return _row(
            "practice_boundary",
            FAIL,
            _("{roles}: remove those roles (sempi db check lists them all)").format(roles=shown),
        )

    def _hooks(self) -> dict[str, str]:
        """The hooks' folder and each hook: the service account's, written by no one
        else (else sempi refuses to run them), named by a phase and an event kind."""
        from sempi_cli.services.automation import hooks

        where = hooks.folder(self.db)
        refused, misnamed = hooks.problems(where)
        if refused:
            shown = "; ".join(refused[:3])
            if len(refused) > 3:
                shown += _(" (and {n} more)").format(n=len(refused) - 3)
            return _row("hooks", FAIL, shown)
        if misnamed:
            return _row(
                "hooks",
                WARN,
                _(
                    "{files}: not a hook's name (before- or after- and an event kind, sempi"
                    " events kinds): never run"
                ).format(files=", ".join(misnamed)),
            )
        count = sum(hooks.kind_of(name) is not None for name in hooks.names(where))
        if not count:
            return _row("hooks", OK, _("{path}: no hooks").format(path=where))
        return _row(
            "hooks",
            OK,
            ngettext("{path}: {n} hook", "{path}: {n} hooks", count).format(path=where, n=count),
        )

    def _quick_check(self) -> dict[str, str]:
        if engine(self.db) == "postgresql":  # the server checks each page as it reads it
            checksums = self.db.execute("SHOW data_checksums").fetchone()[0]
            return _row(
                "integrity", OK if checksums == "on" else WARN, f"data_checksums = {checksums}"
            )
        problems = health.damage(self.db, quick=True)
        if not problems:
            return _row("integrity", OK, "PRAGMA quick_check: ok")
        shown = "; ".join(problems[:3])
        if len(problems) > 3:
            shown += _(" (and {n} more)").format(n=len(problems) - 3)
        return _row(
            "integrity",
            FAIL,
            _(
                "PRAGMA quick_check: {problems}: run 'sempi db check', restore the latest backup"
            ).format(problems=shown),
        )
