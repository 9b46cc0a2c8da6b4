"""The login session token on disk: owner-only, in an owner-only directory.

Whoever can read the file is logged in as its user, so, like ssh with a
private key, a session file or folder that others could read or change, or
that belongs to someone else, or a symbolic link in place of the file, is
refused rather than used: the token might have been copied or planted.

Under ``sudo -u <service account>`` (the shared-server deployment in
docs/security.md) every person runs sempi as the same account, so one file
per store would let the next person act as whoever logged in last. There
the file is kept per invoking user, named by the ``SUDO_UID`` that sudo
itself sets (the caller cannot choose it: sudo resets the environment).
"""

from __future__ import annotations

import errno
import os
import stat

from sempi_cli.errors import NotAuthenticated
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _

# Read by the fast path before pathlib is imported (paths.py says why): reading works
# on the file's name as a string; writing, rare, still builds Paths.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

PRIVATE_BITS = 0o077  # anything for group or others
# The token may have been copied: a new login alone leaves the old session alive.
FIX = N_(
    "remove the file and log in again, then end the old session with 'sempi auth sessions kill'"
)


def for_invoker(path: Path | str) -> Path | str:
    """The session file for the person behind this process (a name as it was given,
    string or Path).

    Run through sudo as another account (not root: root reads every file
    anyway, and is no service account), each invoking uid gets its own file.
    """
    invoker = os.environ.get("SUDO_UID", "")
    if invoker.isdigit() and int(invoker) != os.getuid() and os.geteuid() != 0:
        from pathlib import Path

        named = Path(path)
        mine = named.with_name(f"{named.stem}.sudo-{int(invoker)}{named.suffix}")
        return mine if isinstance(path, Path) else str(mine)
    return path


def write_token(path: Path, token: str) -> None:
    """Write atomically, mode 0600 in a 0700 folder whatever the umask.

    The token goes to a new temporary file (``O_EXCL|O_NOFOLLOW``) renamed
    over the target: a rename replaces a symbolic link planted at the target
    instead of writing through it. The folder is opened once and everything
    happens relative to that descriptor, so it cannot be swapped between the
    check and the write.
    """
    import secrets
    from pathlib import Path

    path = Path(for_invoker(path))
    _make_private_dirs(path.parent)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        info = os.fstat(dir_fd)
        if info.st_uid != os.geteuid():
            raise NotAuthenticated(_foreign(path.parent, info.st_uid, writing=True))
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.fchmod(dir_fd, 0o700)
        temp = f".{path.name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(
            temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd
        )
        try:
            try:
                os.fchmod(fd, 0o600)
                data = token.encode() + b"\n"
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            os.unlink(temp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_token(path: Path | str) -> str | None:
    """The token, or None if there is no session file; refused (exit 7) if unsafe."""
    path = os.fspath(for_invoker(path))
    # As pathlib's .parent and .name of a name in pathlib's form (paths.path_text).
    parent, name = os.path.dirname(path) or ".", os.path.basename(path)
    try:
        dir_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise NotAuthenticated(_unreadable(parent, exc)) from None
    try:
        _check_private(parent, os.fstat(dir_fd), "folder")
        try:
            # O_NONBLOCK: a FIFO planted here must not hang the command.
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise NotAuthenticated(
                    _("'{path}' is a symbolic link: the session is ignored").format(path=path),
                    _(FIX),
                ) from None
            raise NotAuthenticated(_unreadable(path, exc)) from None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotAuthenticated(
                _("'{path}' is not a regular file: the session is ignored").format(path=path),
                _(FIX),
            )
        _check_private(path, info, "file")
        text = fh.read(4096).decode("ascii", errors="replace").strip()
    return text or None


def remove(path: Path) -> None:
    from pathlib import Path

    Path(for_invoker(path)).unlink(missing_ok=True)


def _check_private(path: Path | str, info: os.stat_result, kind: str) -> None:
    """ssh's rule for private keys: ours, and nothing for group or others."""
    folder = kind == "folder"
    if info.st_uid != os.geteuid():
        hint = _("remove the folder and log in again") if folder else _(FIX)
        raise NotAuthenticated(_foreign(path, info.st_uid, writing=False), hint)
    mode = stat.S_IMODE(info.st_mode)
    if mode & PRIVATE_BITS:
        hint = (
            _(
                "run 'chmod 700 {path}', log in again, then end the old sessions with"
                " 'sempi auth sessions kill'"
            ).format(path=path)
            if folder
            else _(FIX)
        )
        raise NotAuthenticated(
            _("permissions {mode} for '{path}' are too open: the session is ignored").format(
                mode=f"{mode:04o}", path=path
            ),
            hint,
        )


def _foreign(path: Path | str, uid: int, *, writing: bool) -> str:
    """A session file or folder that is not ours: not saved (writing), or ignored."""
    if writing:
        text = _("'{path}' is owned by uid {uid}, not by you (uid {me}): the session is not saved")
    else:
        text = _("'{path}' is owned by uid {uid}, not by you (uid {me}): the session is ignored")
    return text.format(path=path, uid=uid, me=os.geteuid())


def _unreadable(path: Path | str, exc: OSError) -> str:
    return _("cannot read '{path}' ({reason}): the session is ignored").format(
        path=path, reason=exc.strerror
    )


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parent with mode 0700 (then exactly
    0700: ``mkdir`` applies the umask, which may be anything)."""
    missing = []
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        try:
            candidate.mkdir(mode=0o700)
        except FileExistsError:  # another process made it first
            continue
        os.chmod(candidate, 0o700)
