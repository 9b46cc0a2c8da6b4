"""People: the firm's staff, the practices' users and the clients' external users."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sempi_cli.errors import Conflict, InvalidData, PermissionDenied, RuleViolation
from sempi_cli.i18n import LANGUAGES, N_, pgettext
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, identifiers
from sempi_cli.services.access import FIRM_ROLES, ROLES, STUDIO_ROLES
from sempi_cli.services.base import Service, changes, redact_personal
from sempi_cli.services.identity import accounts, passwords
from sempi_cli.services.identity.accounts import find_user
from sempi_cli.services.identity.auth import Confirm, require_reauthentication, revoke_credentials

COLUMNS = ("id", "email", "full_name", "role", "studio", "client", "active")
MAX_FULL_NAME = 120


class UserService(Service):
    def _check_role_placement(
        self, role: str, studio_id: int | None, client_id: int | None
    ) -> None:
        if role not in ROLES:
            raise _not_a_role(role)
        if role in STUDIO_ROLES and studio_id is None:
            raise InvalidData(
                "--studio", _("a {role} belongs to a practice: give --studio").format(role=role)
            )
        if role == "external" and client_id is None:
            raise InvalidData(
                "--client", _("an external user belongs to exactly one client: give --client")
            )
        if role in FIRM_ROLES and (studio_id or client_id):
            raise InvalidData(
                "--role",
                _("a {role} belongs to the firm, not to a practice or client").format(role=role),
            )
        if role in STUDIO_ROLES and client_id:
            raise InvalidData(
                "--client", _("a {role} belongs to a practice, not to a client").format(role=role)
            )

    def may_create(self, role: str, studio_id: int | None, client: sqlite3.Row | None) -> None:
        actor = self.actor
        if actor.is_firm_admin:
            return
        if actor.role == "studio-admin" and role in (*STUDIO_ROLES, "external"):
            owner = client["studio_id"] if client is not None else studio_id
            if owner == actor.studio_id:
                return
        if actor.role == "staff" and role == "external" and client is not None:
            if access.can_manage_client(actor, client):
                return
        raise PermissionDenied(_("you may not add a user with the role {role}").format(role=role))

    def add(
        self,
        email: str,
        full_name: str,
        role: str,
        *,
        studio: str | int | None = None,
        client: int | None = None,
        codice_fiscale: str | None = None,
        password: str | None = None,
    ) -> dict:
        """A new user; an external user joins their client's work group."""
        from sempi_cli.services.org.studios import find_studio_id

        address = identifiers.email(email, field="--email")
        name = _full_name(full_name)
        cf = (
            identifiers.codice_fiscale(codice_fiscale, person=True, field="--codice-fiscale")
            if codice_fiscale
            else None
        )
        studio_id = find_studio_id(self.db, self.actor, studio) if studio is not None else None
        client_row = access.client_row(self.db, self.actor, client) if client is not None else None
        self._check_role_placement(role, studio_id, client)
        self.may_create(role, studio_id, client_row)
        password_hash = None
        if password is not None:
            passwords.check_strength(password)
            password_hash = passwords.hash_password(password)
        with self.transaction():
            existing = self.db.execute(
                "SELECT id FROM users WHERE email = ?", (address,)
            ).fetchone()
            if existing:
                raise Conflict(
                    _("a user with the e-mail {email} already exists").format(email=address)
                )
            now = self.now()
            user_id = accounts.create_user(
                self.db, email=address, full_name=name, role=role, at=now, studio_id=studio_id,
                client_id=client, codice_fiscale=cf, password_hash=password_hash,
            )  # fmt: skip
            self.audit(
                "add",
                "user",
                user_id,
                role=role,
                studio_id=studio_id,
                client_id=client,
            )
            if role == "external":
                from sempi_cli.services.org.groups import GroupService

                assert client is not None  # _check_role_placement: an external user has a client
                GroupService(self.db, self.clock, self.actor).add_member(
                    client, user_id, check_access=False
                )
        return self.show(user_id)

    def list(
        self,
        *,
        role: str | None = None,
        studio: str | int | None = None,
        client: int | None = None,
        search: str | None = None,
        include_disabled: bool = False,
    ) -> list[dict]:
        from sempi_cli.services.org.studios import find_studio_id

        where, params = access.visible_users(self.actor)
        clauses = [where]
        if role:
            if role not in ROLES:
                raise _not_a_role(role)
            clauses.append("u.role = :role")
            params["role"] = role
        if studio is not None:
            params["studio"] = find_studio_id(self.db, self.actor, studio)
            clauses.append("u.studio_id = :studio")
        if client is not None:
            clauses.append("u.client_id = :client")
            params["client"] = client
        if search:
            clauses.append("(u.email LIKE :q OR u.full_name LIKE :q)")
            params["q"] = f"%{search.strip()}%"
        if not include_disabled:
            clauses.append("u.disabled_at IS NULL")
        return [
            _public(r)
            for r in self.db.execute(
                _SELECT + " WHERE " + " AND ".join(clauses) + " ORDER BY u.full_name, u.id", params
            )
        ]

    def show(self, ref: str | int) -> dict:
        row = find_user(self.db, self.actor, ref)
        detail = _public(self.db.execute(_SELECT + " WHERE u.id = ?", (row["id"],)).fetchone())
        detail["codice_fiscale"] = row["codice_fiscale"]
        detail["created_at"] = row["created_at"]
        detail["disabled_at"] = row["disabled_at"]
        # None: the firm's default (config ui.language); a store before m019 has no column
        detail["language"] = row["language"] if "language" in row.keys() else None
        detail["work_groups"] = [
            r[0]
            for r in self.db.execute(
                "SELECT client_id FROM work_group_members WHERE user_id = ? ORDER BY client_id",
                (row["id"],),
            )
        ]
        return detail

    def _may_change(self, target: sqlite3.Row) -> None:
        actor = self.actor
        if actor.is_firm_admin or actor.id == target["id"]:
            return
        if actor.role == "studio-admin" and target["studio_id"] == actor.studio_id:
            return
        if actor.role == "studio-admin" and target["client_id"] is not None:
            owner = self.db.execute(
                "SELECT studio_id FROM clients WHERE id = ?", (target["client_id"],)
            ).fetchone()
            if owner and owner[0] == actor.studio_id:
                return
        raise PermissionDenied(_("you may not change this user"))

    def edit(
        self,
        ref: str | int,
        *,
        full_name: str | None = None,
        email: str | None = None,
        role: str | None = None,
        codice_fiscale: str | None = None,
        language: str | None = None,
        confirm: Confirm | None = None,
    ) -> dict:
        """Change a user's details; a role change needs the administrator's password again.
        ``language`` it or en ('' for the firm's default, config ui.language): anyone
        may choose their own, as any other detail of theirs."""
        target = find_user(self.db, self.actor, ref)
        self._may_change(target)
        fields: dict[str, object] = {}
        if language is not None:
            fields["language"] = person_language(language)
        if full_name is not None:
            fields["full_name"] = _full_name(full_name)
        if email is not None:
            fields["email"] = identifiers.email(email, field="--email")
        if codice_fiscale is not None:
            fields["codice_fiscale"] = (
                identifiers.codice_fiscale(codice_fiscale, person=True, field="--codice-fiscale")
                if codice_fiscale.strip()
                else None
            )
        if role is not None and role != target["role"]:
            if not self.actor.is_firm_admin:
                raise PermissionDenied(_("only a firm administrator may change roles"))
            require_reauthentication(self.actor, confirm, self.clock.now(), N_("change a role"))
            self._check_role_placement(role, target["studio_id"], target["client_id"])
            fields["role"] = role
        with self.transaction():
            diff = changes(target, fields)
            if "email" in diff:
                clash = self.db.execute(
                    "SELECT id FROM users WHERE email = ? AND id <> ?",
                    (fields["email"], target["id"]),
                ).fetchone()
                if clash:
                    raise Conflict(
                        _("a user with the e-mail {email} already exists").format(
                            email=fields["email"]
                        )
                    )
            if diff:
                accounts.update_fields(self.db, target["id"], fields, self.now())
                self.audit("edit", "user", target["id"], changes=redact_personal(diff))
        return self.show(target["id"])

    def set_disabled(self, ref: str | int, disabled: bool) -> dict:
        """Disable (ending every session) or enable a user. Nobody disables themselves."""
        target = find_user(self.db, self.actor, ref)
        if target["id"] == self.actor.id:
            raise RuleViolation(_("you cannot disable yourself"))
        self._may_change(target)
        with self.transaction():
            now = self.now()
            if disabled and target["disabled_at"] is None:
                accounts.set_disabled(self.db, target["id"], True, now)
                revoked = revoke_credentials(self.db, target["id"], now)
                self.audit("disable", "user", target["id"], **revoked)
            elif not disabled and target["disabled_at"] is not None:
                accounts.set_disabled(self.db, target["id"], False, now)
                self.audit("enable", "user", target["id"])
        return self.show(target["id"])

    def set_password(
        self, ref: str | int, new_password: Callable[[], str], confirm: Confirm | None
    ) -> None:
        """Your own password, or another's as their administrator, after confirming
        your own password (and code) again; ``new_password`` is asked only then.
        Every session and application password of that user ends."""
        target = find_user(self.db, self.actor, ref)
        self._may_change(target)
        require_reauthentication(self.actor, confirm, self.clock.now(), N_("change a password"))
        password = new_password()
        passwords.check_strength(password, field="new password")
        password_hash = passwords.hash_password(password)
        with self.transaction():
            now = self.now()
            accounts.set_password_hash(self.db, target["id"], password_hash, now)
            revoked = revoke_credentials(self.db, target["id"], now)
            self.audit("password", "user", target["id"], **revoked)


_SELECT = (
    "SELECT u.id, u.email, u.full_name, u.role, u.studio_id, s.name AS studio, u.client_id,"
    " c.ragione_sociale AS client, u.disabled_at IS NULL AS active FROM users u"
    " LEFT JOIN studios s ON s.id = u.studio_id LEFT JOIN clients c ON c.id = u.client_id"
)


def _public(row: sqlite3.Row) -> dict:
    item = dict(row)
    item["active"] = bool(item["active"])
    return item


def _full_name(text: str | None) -> str:
    """A person's name, as tables, mail headers and terminals show it: one line, no
    control character (an escape sequence would reach whoever lists users)."""
    from sempi_cli.services.text import one_line

    name = one_line(text or "", "--name", MAX_FULL_NAME)
    if not name:
        raise InvalidData("--name", _("the user's name is empty"))
    return name


def _not_a_role(role: str) -> InvalidData:
    return InvalidData(
        "--role",
        _("{value} is not a role").format(value=repr(role)),
        _("use one of: {choices}").format(choices=", ".join(ROLES)),
    )


def person_language(value: str) -> str | None:
    """A person's language as stored: it or en, None ('') for the firm's default."""
    word = value.strip().lower()
    if not word:
        return None
    if word not in LANGUAGES:
        raise InvalidData(
            "--language",
            _("{value} is not one of {choices}").format(
                value=repr(value), choices=", ".join(LANGUAGES)
            ),
            _("use it or en, or '' for the firm's language (config ui.language)"),
        )
    return word


def role_word(role: str) -> str:
    """``studio-operator`` as the reader's language says it (operatore di studio): the
    word a table shows for it (output.py's role values)."""
    return pgettext("role", role)
