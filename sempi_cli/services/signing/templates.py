"""Signature templates: the texts a request fills for one client (`sign template`).

Who may: templates are the firm's documents (engagement letters, mandates, privacy
notices), kept for every practice alike, so the firm's people keep them: firm
administrators and staff add them; the template's creator or a firm administrator
removes one. Everyone but external users reads them (list, show): the practices'
users see what the firm's letters say. A template is never edited: a new text is a
new template (a request's document was rendered from the text as it was; the
request keeps its PDF and hash, the template's name must not start to mean another
text). A template some request used stays: removing it is refused.
"""

from __future__ import annotations

import os
import sqlite3

from sempi_cli.errors import Conflict, InvalidData, NotFound, PermissionDenied, RuleViolation
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext
from sempi_cli.services.base import Service
from sempi_cli.services.signing import placeholders
from sempi_cli.services.text import long_text, no_control

SUFFIXES = {".md": "markdown", ".txt": "text"}
MAX_NAME = 64
MAX_BYTES = 1024 * 1024  # a letter of a hundred pages is ~300 KB of text
LIST_COLUMNS = ("id", "name", "format", "placeholders", "requests", "created_at", "created_by")


class SignTemplates(Service):
    # --- who may -----------------------------------------------------------------------

    def _require_reader(self) -> None:
        if self.actor.role == "external":
            raise PermissionDenied(_("signature templates are for the firm and its practices"))

    def _require_keeper(self) -> None:
        if not self.actor.is_internal:
            raise PermissionDenied(
                _("only firm administrators and staff may add or remove signature templates")
            )

    # --- reading -----------------------------------------------------------------------

    def row(self, ref: str) -> sqlite3.Row:
        """A template by name (any case) or by id; NotFound otherwise. For the
        requests' service too (`sign request --template`)."""
        self._require_reader()
        wanted = " ".join((ref or "").split())
        if wanted.isdigit():
            found = self.db.execute(
                "SELECT * FROM sign_templates WHERE id = ?", (int(wanted),)
            ).fetchone()
        else:
            found = self._by_name(wanted)
        if found is None:
            raise NotFound(
                _("signature template {name} not found").format(name=repr(ref)),
                _("see 'sempi sign template list'"),
            )
        return found

    def _by_name(self, name: str) -> sqlite3.Row | None:
        """Names are compared without case (templates are few: the firm's letters)."""
        key = name.casefold()
        for row in self.db.execute("SELECT * FROM sign_templates ORDER BY id"):
            if row["name"].casefold() == key:
                return row
        return None

    def _record(self, row: sqlite3.Row, *, body: bool) -> dict[str, object]:
        uses = self.db.execute(
            "SELECT count(*) FROM sign_requests WHERE template_id = ?", (row["id"],)
        ).fetchone()[0]
        creator = self.db.execute(
            "SELECT email FROM users WHERE id = ?", (row["created_by"],)
        ).fetchone()
        record: dict[str, object] = {
            "id": row["id"],
            "name": row["name"],
            "format": row["format"],
            "placeholders": placeholders.check(row["body"]),
            "requests": uses,
            "created_at": row["created_at"],
            "created_by": creator[0] if creator else None,
        }
        if body:
            record["text"] = row["body"]
        return record

    def list(self) -> list[dict[str, object]]:
        self._require_reader()
        rows = self.db.execute("SELECT * FROM sign_templates ORDER BY name, id").fetchall()
        return [self._record(row, body=False) for row in rows]

    def show(self, ref: str) -> dict[str, object]:
        """The template, its placeholders (each with what it becomes) and its text."""
        record = self._record(self.row(ref), body=True)
        used = record["placeholders"]
        assert isinstance(used, list)
        record["placeholders"] = [
            {"placeholder": name, "meaning": _(placeholders.PLACEHOLDERS[name])} for name in used
        ]
        return record

    # --- writing -----------------------------------------------------------------------

    def add(self, name: str, path: str) -> dict[str, object]:
        """Read ``path`` (.md: Markdown, .txt: plain text), check its placeholders,
        store it under ``name``."""
        self._require_keeper()
        name = self._name(name)
        fmt, body = self._read(path)
        with self.transaction():
            if self._by_name(name) is not None:
                raise Conflict(
                    _("a signature template is already named {name}").format(name=repr(name)),
                    _("choose another name, or remove the old one first"),
                )
            template_id = self.db.execute(
                "INSERT INTO sign_templates (name, body, format, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (name, body, fmt, self.now(), self.actor.id),
            ).fetchone()[0]
            self.audit(
                "add", "sign_template", template_id, name=name, format=fmt, characters=len(body)
            )
            row = self.db.execute(
                "SELECT * FROM sign_templates WHERE id = ?", (template_id,)
            ).fetchone()
        return self._record(row, body=False)

    def remove(self, ref: str, *, dry_run: bool = False) -> dict[str, object]:
        """Delete a template no request used; the creator or a firm administrator."""
        self._require_keeper()
        with self.rehearsal(dry_run):
            row = self.row(ref)
            if row["created_by"] != self.actor.id and not self.actor.is_firm_admin:
                raise PermissionDenied(
                    _("only its creator or a firm administrator may remove template {name}").format(
                        name=repr(row["name"])
                    )
                )
            uses = self.db.execute(
                "SELECT count(*) FROM sign_requests WHERE template_id = ?", (row["id"],)
            ).fetchone()[0]
            if uses:
                raise RuleViolation(
                    ngettext(
                        "template {name} is used by {n} signature request",
                        "template {name} is used by {n} signature requests",
                        uses,
                    ).format(name=repr(row["name"]), n=uses),
                    _("a request keeps the template it was made from; add a new template instead"),
                )
            rule = self.db.execute(
                "SELECT t.name FROM sign_on_status r JOIN task_templates t"
                " ON t.id = r.task_template_id WHERE r.sign_template_id = ? ORDER BY t.name",
                (row["id"],),
            ).fetchone()
            if rule is not None:
                raise RuleViolation(
                    _("template {name} is sent by task template {task_template}").format(
                        name=repr(row["name"]), task_template=repr(rule[0])
                    ),
                    _("first: sempi task template edit {task_template} --sign-on-status ''").format(
                        task_template=rule[0]
                    ),
                )
            record = self._record(row, body=False)
            self.db.execute("DELETE FROM sign_templates WHERE id = ?", (row["id"],))
            self.audit("remove", "sign_template", row["id"], name=row["name"])
        return record

    # --- checking what people give -----------------------------------------------------

    @staticmethod
    def _name(text: str) -> str:
        if "\n" in text or "\r" in text:
            raise InvalidData("NAME", _("a template's name is one line"))
        name = " ".join(text.split())
        no_control(name, "NAME")
        if not 1 <= len(name) <= MAX_NAME:
            raise InvalidData(
                "NAME",
                _("a template's name has 1 to {limit} characters").format(limit=MAX_NAME),
            )
        if name.isdigit():
            raise InvalidData(
                "NAME",
                _("{value} is not a template name").format(value=repr(name)),
                _("a name of digits only would read as an id"),
            )
        return name

    @staticmethod
    def _read(path: str) -> tuple[str, str]:
        from sempi_cli.services.user_files import read_user_text

        suffix = os.path.splitext(path)[1].lower()
        fmt = SUFFIXES.get(suffix)
        if fmt is None:
            raise InvalidData(
                "FILE",
                _("{path} is neither Markdown nor plain text").format(path=path),
                _("give a .md (Markdown) or .txt (plain text) file"),
            )
        body = long_text(
            read_user_text(path, "FILE", encoding="utf-8-sig", limit=MAX_BYTES), "FILE"
        )
        if not body:
            raise InvalidData("FILE", _("{path} is empty").format(path=path))
        placeholders.check(body)
        return fmt, body
