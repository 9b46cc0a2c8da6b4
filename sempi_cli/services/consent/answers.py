"""The clients' answers to the consent request: given, recorded, read back, verified.

Every answer is a row of ``consent_answers``, an append-only ledger
(services/ledger.py): an answer can be changed at any time by a new one, every
answer is kept, and the latest (the highest id: the order the ledger was
written in, under the write lock) rules.

Who answers:
- the client's own external user, for their own client, channel ``sempi``
  (an external user of another client finds no such client);
- on behalf of the client (an answer received by PEC, e-mail, paper or phone):
  whoever may organise the client's documents and is not an external user,
  i.e. firm administrators, firm staff of the client's work group, the
  practice's administrator, and the practice's operators who manage the
  client (its work group). The evidence is required: an existing document of
  that client (its id: a number is always a document id; name a file called
  "12" as ./12), or a file, stored as a document in the client's folder
  "Consensi" (made if missing).

A refusal (an answer no) and a revocation (yes, then no) notify the client's
responsible and the practice's administrators (kind ``consent``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import unicodedata
from datetime import datetime
from pathlib import Path

from sempi_cli.clock import iso_utc
from sempi_cli.errors import (
    Conflict,
    InvalidData,
    NotFound,
    PermissionDenied,
    UsageProblem,
)
from sempi_cli.i18n import N_, Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, event_log, ledger
from sempi_cli.services.base import Service

TABLE = "consent_answers"
# The content each row's hash covers: every column but id and the two hashes.
COLUMNS = (
    "client_id", "answer", "comment", "answered_at", "answered_by", "on_behalf", "channel",
    "evidence_document_id", "request_id",
)  # fmt: skip
WORDS = {"yes": "yes", "sì": "yes", "si": "yes", "no": "no"}
CHANNELS = ("pec", "email", "paper", "phone")  # on behalf; an own answer is "sempi"
EVIDENCE_FOLDER = "Consensi"
MAX_COMMENT = 500
STATES = {None: "pending", "yes": "consented", "no": "refused"}
# The states in a sentence for people (the values stay in JSON and in the tables).
CHANGED = {
    ("consented", "pending"): N_("Client {client}: consented (was pending)."),
    ("consented", "consented"): N_("Client {client}: consented (was consented)."),
    ("consented", "refused"): N_("Client {client}: consented (was refused)."),
    ("refused", "pending"): N_("Client {client}: refused (was pending)."),
    ("refused", "consented"): N_("Client {client}: refused (was consented)."),
    ("refused", "refused"): N_("Client {client}: refused (was refused)."),
}
STATE_AT = {
    "pending": N_("State at {at}: pending."),
    "consented": N_("State at {at}: consented since {since}."),
    "refused": N_("State at {at}: refused since {since}."),
}
HISTORY_COLUMNS = (
    "id", "answered_at", "answer", "answered_by", "channel", "on_behalf", "comment",
    "evidence_document_id", "state",
)  # fmt: skip


def parse_answer(word: str) -> str:
    """yes / no from the words people type (sì, si, yes, no; any case)."""
    answer = WORDS.get((word or "").strip().casefold())
    if answer is None:
        raise InvalidData(
            "ANSWER",
            _("{word} is not an answer").format(word=repr(word)),
            _("answer yes (or sì) or no"),
        )
    return answer


def _comment(text: str | None) -> str | None:
    from sempi_cli.services.text import one_line

    if text is None or not text.strip():
        return None
    return one_line(text, "--comment", MAX_COMMENT)


def _sha256(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None  # the documents service says why, in its words


class AnswerService(Service):
    def answer(
        self,
        client_id: int,
        word: str,
        *,
        comment: str | None = None,
        on_behalf: bool = False,
        channel: str | None = None,
        evidence: str | None = None,
    ) -> dict:
        """Record one answer; it rules from now on. The whole command is one write
        transaction: the evidence stored, the row appended, the audit, the notices."""
        answer, comment = parse_answer(word), _comment(comment)
        if on_behalf:
            if channel not in CHANNELS:
                raise InvalidData(
                    "--channel",
                    _("{channel} is not a channel").format(channel=repr(channel))
                    if channel
                    else _("an answer on behalf needs one"),
                    _("use one of: {choices}").format(choices=", ".join(CHANNELS)),
                )
            if not (evidence or "").strip():
                raise InvalidData(
                    "--evidence", _("an answer on behalf needs it: a document id or a file")
                )
        elif channel is not None or evidence is not None:
            raise UsageProblem(_("--channel and --evidence go with --on-behalf"))
        with self.transaction():
            client = access.client_row(self.db, self.actor, client_id)
            if client["removed_at"] is not None:
                raise NotFound(_("client {client} not found").format(client=client_id))
            if on_behalf:
                if self.actor.role == "external":
                    raise PermissionDenied(
                        _("an external user answers for their own client, not on its behalf"),
                        _("run '{command}'").format(
                            command=f"sempi consent answer {client_id} {answer}"
                        ),
                    )
                document_id = self._evidence(client, (evidence or "").strip())
            else:
                if self.actor.role != "external" or self.actor.client_id != client_id:
                    raise PermissionDenied(
                        _("only the client's own users answer for it"),
                        _(
                            "record an answer received elsewhere with --on-behalf --channel"
                            " --evidence"
                        ),
                    )
                document_id = None
            used_channel = channel if on_behalf and channel else "sempi"
            before = self._latest(client_id)
            request_id = self._request(client_id)
            content = {
                "client_id": client_id,
                "answer": answer,
                "comment": comment,
                "answered_at": self.now(),
                "answered_by": self.actor.id,
                "on_behalf": int(on_behalf),
                "channel": used_channel,
                "evidence_document_id": document_id,
                "request_id": request_id,
            }
            answer_id = ledger.append(self.db, "consent_answers", content)
            self.audit(
                "answer", "consent", answer_id, client_id=client_id, answer=answer,
                channel=used_channel, on_behalf=bool(on_behalf),
                evidence_document_id=document_id,
            )  # fmt: skip
            if answer == "no":
                revoked = before is not None and before["answer"] == "yes"
                self._notify(client, answer_id, revoked, used_channel)
            event_log.record(
                self.db, self.clock, self.actor, "consent.answered", client_id, client_id,
                changes={"state": {"old": STATES[before["answer"] if before else None],
                                   "new": STATES[answer]}},
                data={"request_id": request_id, "answer_id": answer_id,
                      "services": self._services(client, request_id),
                      "response": answer, "channel": used_channel,
                      "on_behalf": bool(on_behalf)},
            )  # fmt: skip
        return {
            "id": answer_id,
            **content,
            "on_behalf": bool(on_behalf),
            "answered_by": self.actor.email,
            "state": STATES[answer],
            "previous": STATES[before["answer"] if before else None],
        }

    def _latest(self, client_id: int) -> sqlite3.Row | None:
        from sempi_cli.services.consent.reach import latest_answer

        return latest_answer(self.db, client_id)

    def _request(self, client_id: int) -> int | None:
        """The latest request sent to the client, which this answer answers (if any)."""
        row = self.db.execute(
            "SELECT id FROM consent_requests WHERE client_id = ? ORDER BY id DESC LIMIT 1",
            (client_id,),
        ).fetchone()
        return None if row is None else int(row[0])

    def _services(self, client: sqlite3.Row, request_id: int | None) -> list[str]:
        """The SMART services an answer is about: its request's, else the client's now."""
        if request_id is not None:
            row = self.db.execute(
                "SELECT services FROM consent_requests WHERE id = ?", (request_id,)
            ).fetchone()
            return list(json.loads(row[0]))
        return list(json.loads(client["smart_services"] or "[]"))

    def _evidence(self, client: sqlite3.Row, ref: str) -> int:
        """The evidence's document id: an existing live document of the client, or
        the file stored now in its folder "Consensi"."""
        from sempi_cli.services.documents.documents import DocumentService
        from sempi_cli.services.documents.folders import FolderAccess, load_tree

        if ref.isdigit():
            row = self.db.execute(
                "SELECT id FROM documents WHERE id = ? AND client_id = ? AND removed_at IS NULL",
                (int(ref), client["id"]),
            ).fetchone()
            if row is None:
                raise InvalidData(
                    "--evidence",
                    _("client {client} has no document {document}").format(
                        client=client["id"], document=ref
                    ),
                    _("give one of its documents' ids (sempi doc list), or a file (./NAME)"),
                )
            return int(row[0])
        try:
            path = Path(ref).expanduser()
            is_file = path.is_file()
        except (OSError, ValueError, RuntimeError):  # a NUL, a name too long, no home
            is_file = False
        if not is_file:
            raise InvalidData(
                "--evidence",
                _("{ref} is neither a document id nor a file").format(ref=repr(ref)),
            )
        folders = FolderAccess(self.db, self.clock, self.actor)
        folders.organisable_client(client["id"])
        tree = load_tree(self.db, client["id"])
        folder_id = tree.find([EVIDENCE_FOLDER])
        if folder_id is None:
            folder_id, _made = folders.ensure(tree, [EVIDENCE_FOLDER])
        same = self.db.execute(  # the same file given again: the same document
            "SELECT id FROM documents WHERE folder_id = ? AND name = ? AND sha256 = ?"
            " AND removed_at IS NULL",
            (folder_id, unicodedata.normalize("NFC", path.name), _sha256(path)),
        ).fetchone()
        if same is not None:
            return int(same[0])
        try:
            rows = DocumentService(self.db, self.clock, self.actor).add(
                client["id"], EVIDENCE_FOLDER, [str(path)]
            )
        except Conflict as exc:
            raise Conflict(
                exc.message, _("rename the file, or give that document's id as --evidence")
            ) from None
        return int(rows[0]["id"])

    def _notify(self, client: sqlite3.Row, answer_id: int, revoked: bool, channel: str) -> None:
        from sempi_cli.services.notify.centre import NotificationService

        # Written in each recipient's language by the notification centre.
        name, cid, person = client["ragione_sociale"], client["id"], self.actor.full_name
        if channel == "sempi" and revoked:
            text = Text("{client} (client {id}) revoked its consent to SMART services.",
                        client=name, id=cid)  # fmt: skip
        elif channel == "sempi":
            text = Text("{client} (client {id}) refused consent to SMART services.",
                        client=name, id=cid)  # fmt: skip
        elif revoked:
            text = Text(
                "{client} (client {id}) revoked its consent to SMART services"
                " (recorded by {person}, {channel}).",
                client=name, id=cid, person=person, channel=channel,
            )  # fmt: skip
        else:
            text = Text(
                "{client} (client {id}) refused consent to SMART services"
                " (recorded by {person}, {channel}).",
                client=name, id=cid, person=person, channel=channel,
            )  # fmt: skip
        recipients = {
            row[0]
            for row in self.db.execute(
                "SELECT id FROM users WHERE role = 'studio-admin' AND studio_id = ?"
                " AND disabled_at IS NULL",
                (client["studio_id"],),
            )
        }
        if access.sees_client(self.db, client["responsible_id"], client["id"]):
            recipients.add(client["responsible_id"])
        recipients.discard(self.actor.id)  # who recorded it knows
        centre = NotificationService(self.db, self.clock, self._actor)
        for user_id in sorted(recipients):
            centre.notify(user_id, "consent", text, f"consent:{answer_id}:{user_id}")

    # --- reading ----------------------------------------------------------------------

    def history(self, client_id: int, as_of: datetime | None = None) -> dict:
        """The client's answers up to ``as_of`` (default: now), oldest first, each
        with the state it made; and the state at that moment."""
        client = access.client_row(self.db, self.actor, client_id)
        users, params = access.visible_users(self.actor, "u")
        at = iso_utc(as_of) if as_of is not None else None
        rows = self.db.execute(
            f"SELECT a.*, CASE WHEN {users} THEN u.email END AS by_email"
            " FROM consent_answers a JOIN users u ON u.id = a.answered_by"
            " WHERE a.client_id = :client AND (:at IS NULL OR a.answered_at <= :at)"
            " ORDER BY a.id",
            {**params, "client": client_id, "at": at},
        ).fetchall()
        answers = [
            {
                "id": r["id"],
                "answered_at": r["answered_at"],
                "answer": r["answer"],
                "answered_by": r["by_email"],
                "channel": r["channel"],
                "on_behalf": bool(r["on_behalf"]),
                "comment": r["comment"],
                "evidence_document_id": r["evidence_document_id"],
                "state": STATES[r["answer"]],
            }
            for r in rows
        ]
        last = answers[-1] if answers else None
        return {
            "client_id": client_id,
            "client": client["ragione_sociale"],
            "as_of": at or self.now(),
            "state": STATES[last["answer"] if last else None],
            "since": last["answered_at"] if last else None,
            "answers": answers,
        }

    def verify(self) -> dict:
        """Recompute the answers' hash chain; StoreUnusable (exit 10) naming the first
        row that does not hold. Firm administrators: it reads every client's answers."""
        access.require_firm_admin(self.actor, _("verify the consent record"))
        result = ledger.verify(self.db, TABLE, COLUMNS)
        ledger.require_intact(
            result,
            _("the consent record is broken at answer {answer}").format(answer=result["first_bad"]),
        )
        return {"table": TABLE, "rows": result["rows"], "ok": True}
