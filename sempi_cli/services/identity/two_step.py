"""Enrolling in, leaving and resetting two-step login; regenerating recovery codes."""

from __future__ import annotations

from sempi_cli.errors import InvalidData, NotAuthenticated, PermissionDenied, RuleViolation
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services.base import Service
from sempi_cli.services.identity import recovery, totp
from sempi_cli.services.identity.auth import Confirm, require_reauthentication, revoke_credentials


class TwoStepService(Service):
    allows_unenrolled = True  # enrolling is exactly what such a user must do

    def _own_row(self):
        return self.db.execute("SELECT * FROM users WHERE id = ?", (self.actor.id,)).fetchone()

    def status(self) -> dict:
        row = self._own_row()
        return {
            "user": self.actor.email,
            "two_step": row["otp_enabled_at"] is not None,
            "enabled_at": row["otp_enabled_at"],
            "recovery_codes_left": recovery.remaining(self.db, self.actor.id),
        }

    def begin(self, issuer: str | None) -> dict:
        """A new secret and its otpauth:// URI, not stored until a code confirms it.
        ``issuer`` is what the authenticator app shows: the firm's name, else "sempi"."""
        if self.actor.via == "app_password":
            raise PermissionDenied(_("an application password cannot change two-step login"))
        if self._own_row()["otp_enabled_at"] is not None:
            raise RuleViolation(
                _("two-step login is already on"),
                _("turn it off first with 'sempi auth otp disable'"),
            )
        secret = totp.new_secret()
        uri = totp.provisioning_uri(secret, self.actor.email, issuer or "sempi")
        return {"secret": secret, "uri": uri}

    def confirm(self, secret: str, typed_code: str) -> list[str]:
        """Turn two-step login on once the user's app shows a valid code; returns
        the ten recovery codes (shown once)."""
        from sempi_cli.services.identity.auth import AuthService

        code = totp.normalise_code(typed_code)
        if code is None:
            raise InvalidData("code", _("a code is six digits"))
        step = totp.accepted_step(secret, code, self.clock.now(), None)
        if step is None:
            AuthService(self.db, self.clock, self.actor).record_failure(self.actor.id, "code")
            raise NotAuthenticated(
                _("the code does not match: check the clock of your phone and try again")
            )
        with self.transaction():
            if self._own_row()["otp_enabled_at"] is not None:
                raise RuleViolation(_("two-step login is already on"))
            self.db.execute(
                "UPDATE users SET otp_secret = ?, otp_enabled_at = ?, otp_last_step = ? WHERE id = ?",
                (secret, self.now(), step, self.actor.id),
            )
            codes = recovery.replace_codes(self.db, self.actor.id, self.now())
            self.audit("otp_enabled", "user", self.actor.id)
        return codes

    def disable(self, confirm: Confirm | None) -> dict:
        """Turn your own two-step login off (password and code asked again)."""
        require_reauthentication(
            self.actor, confirm, self.clock.now(), N_("turn off two-step login")
        )
        return self._clear(self.actor.id, "otp_disabled")

    def reset(self, user_ref: str, confirm: Confirm | None) -> dict:
        """A firm administrator resets someone's two-step login (a lost phone)."""
        from sempi_cli.services.identity.accounts import find_user

        if not self.actor.is_firm_admin:
            raise PermissionDenied(
                _("only a firm administrator may reset another user's two-step login")
            )
        require_reauthentication(self.actor, confirm, self.clock.now(), N_("reset two-step login"))
        return self._clear(find_user(self.db, self.actor, user_ref)["id"], "otp_reset")

    def _clear(self, user_id: int, action: str) -> dict:
        with self.transaction():
            now = self.now()
            self.db.execute(
                "UPDATE users SET otp_secret = NULL, otp_enabled_at = NULL, otp_last_step = NULL WHERE id = ?",
                (user_id,),
            )
            recovery.discard(self.db, user_id, now)
            revoked = revoke_credentials(self.db, user_id, now)
            self.audit(action, "user", user_id, **revoked)
        return revoked

    def regenerate_recovery(self, confirm: Confirm | None) -> list[str]:
        require_reauthentication(
            self.actor, confirm, self.clock.now(), N_("regenerate recovery codes")
        )
        if self._own_row()["otp_enabled_at"] is None:
            raise RuleViolation(_("two-step login is off: there are no recovery codes"))
        with self.transaction():
            codes = recovery.replace_codes(self.db, self.actor.id, self.now())
            self.audit("recovery_regenerated", "user", self.actor.id)
        return codes
