"""Password hashing with argon2id; the cost of a failure equals that of a success."""

from __future__ import annotations

from functools import lru_cache

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 hashes any length; this only bounds the work an input can cause


@lru_cache(maxsize=1)
def _hasher():
    from argon2 import PasswordHasher

    # argon2id with RFC 9106's low-memory profile (t=3, m=64 MiB, p=4): above
    # OWASP's minimum (m=19 MiB, t=2, p=1).
    return PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)


def check_strength(password: str, *, field: str = "password") -> None:
    """NIST SP 800-63B: a minimum length, no composition rules, no known-common
    passwords; the whole password counts (argon2 does not truncate)."""
    if len(password) < MIN_LENGTH:
        raise InvalidData(
            field,
            ngettext(
                "too short (at least {n} character)", "too short (at least {n} characters)",
                MIN_LENGTH,
            ).format(n=MIN_LENGTH),
        )  # fmt: skip
    if len(password) > MAX_LENGTH:
        raise InvalidData(
            field,
            ngettext(
                "too long (at most {n} character)", "too long (at most {n} characters)",
                MAX_LENGTH,
            ).format(n=MAX_LENGTH),
        )  # fmt: skip
    if password.strip().lower() in _common_passwords():
        raise InvalidData(
            field, _("too common: it is on the list of passwords attackers try first")
        )


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from importlib.resources import files

    text = files("sempi_cli.services.identity").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(password_hash)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; with no hash, burn the same time and say no."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    try:
        if password_hash is None:
            hasher.verify(DUMMY_HASH, password)
            return False
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash of a random secret nobody knows, made with the current parameters:
# checking against it costs what a real check costs, so an unknown user takes
# no less time than a wrong password. A test keeps its parameters current.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$JtkzzcewT8Oacn4b7e3XiQ$WSmwMbODO/oIKgBJ4IXno+o3sQDdjypXz5dziF2hq/Q"
