"""TOTP (RFC 6238) for two-step login, with replay protection.

A code is accepted for the current 30-second step or the one before, and
only if that step is later than the last step accepted for the user: a code
can never be used twice, not even by two processes at once (the caller checks
and records the step in one BEGIN IMMEDIATE transaction).
"""

from __future__ import annotations

import hmac
import re
import sqlite3
from datetime import datetime

STEP_SECONDS = 30
DIGITS = 6
_CODE = re.compile(r"^[0-9]{6}$")


def normalise_code(text: str) -> str | None:
    """The six digits of a typed code ('123 456' is fine), or None if it is not one."""
    code = re.sub(r"\s", "", text)  # pasted codes may carry non-breaking spaces
    return code if _CODE.match(code) else None


def new_secret() -> str:
    import pyotp

    return pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends


def code_at(secret: str, step: int, digits: int = DIGITS) -> str:
    """The code for a time step (also used to reproduce the RFC 6238 vectors)."""
    import pyotp

    return pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS).at(step * STEP_SECONDS)


def step_of(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def accepted_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The step ``code`` belongs to (now or one step back), if later than ``last_step``."""
    now = step_of(at)
    for step in (now, now - 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def use_code(db: sqlite3.Connection, user_id: int, code: str, at: datetime) -> int | None:
    """Accept ``code`` from the user's authenticator and record its step, so that no
    code of that step or an earlier one is ever accepted again (for a login, a
    step-up or a signature alike). Inside the caller's BEGIN IMMEDIATE transaction.
    The step, or None: wrong, too old, already used, or two-step login is off."""
    row = db.execute(
        "SELECT otp_secret, otp_last_step FROM users WHERE id = ?", (user_id,)
    ).fetchone()
    if row is None or row[0] is None:
        return None
    step = accepted_step(row[0], code, at, row[1])
    if step is not None:
        db.execute("UPDATE users SET otp_last_step = ? WHERE id = ?", (step, user_id))
    return step


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_text(uri: str) -> str:
    """The URI as a QR code drawn with block characters, for a terminal."""
    import io

    import qrcode

    qr = qrcode.QRCode(border=2)
    qr.add_data(uri)
    buffer = io.StringIO()
    qr.print_ascii(out=buffer, invert=True)
    return buffer.getvalue()
