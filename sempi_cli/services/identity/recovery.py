"""Recovery codes: ten single-use codes that stand in for a lost authenticator.

Each code has 50 random bits; only a salted SHA-256 of it is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3

COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def _normalise(code: str) -> str:
    return code.replace("-", "").replace(" ", "").strip().lower()


def _hash(user_id: int, code: str) -> str:
    return hashlib.sha256(f"sempi-recovery:{user_id}:{_normalise(code)}".encode()).hexdigest()


def replace_codes(db: sqlite3.Connection, user_id: int, at: str) -> list[str]:
    """Invalidate the old codes and store ten new ones; returns them (shown once)."""
    db.execute(
        "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND used_at IS NULL", (at, user_id)
    )
    codes = []
    for _ in range(COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.execute(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)",
            (user_id, _hash(user_id, raw), at),
        )
    return codes


def consume(db: sqlite3.Connection, user_id: int, typed: str, at: str) -> bool:
    """Use up a code if it is valid and unused (inside the caller's transaction)."""
    if len(_normalise(typed)) != 10:
        return False
    return (
        db.execute(
            "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
            (at, user_id, _hash(user_id, typed)),
        ).rowcount
        == 1
    )


def remaining(db: sqlite3.Connection, user_id: int) -> int:
    return db.execute(
        "SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", (user_id,)
    ).fetchone()[0]


def discard(db: sqlite3.Connection, user_id: int, at: str) -> None:
    db.execute(
        "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND used_at IS NULL", (at, user_id)
    )
