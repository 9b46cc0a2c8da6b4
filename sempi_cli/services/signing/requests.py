"""Requests sent for signature (`sign request`, `show`, `accept`, `decline`, `list`,
`status`): a document rendered from a template for one client, signed by each of
its signers with a one-time code, a simple electronic signature (firma elettronica
semplice), never a qualified or digital one.

Who sends: the office, never an external user. The sender must see the client and
be allowed to file documents in its folders (services/documents/folders.py,
``may_add``): the request stores its PDF there, in a folder "Firme" made when
missing. The signers are users the sender may see (the user directory's rule),
active, and within the boundary of the client (access.require_within_reach): the
client's own external users, users of its practice, the firm's people. Nothing is
sent without the firm's seal configured: a request whose last signature could not
be sealed would leave its signers stuck (decision: refused at ``request`` and
checked again, before any code is asked, at the last signature).

Who reads a request (show, status, list): its signers, and the office people who
see its client. Anyone else is told "not found", whether or not it exists.

Who signs or declines: a signer who has not decided yet, while the request waits
for signatures (``sent``) and is not past its due date (a request found past it
is marked ``expired``, with its evidence, and the signature refused). When every
signer has accepted, the document gets its certificate of completion page and
the firm's seal, and the sealed copy is filed beside the original, in the name of
the request's sender (the office files it, whoever signed last).

Every write is one transaction, but for the one-time code: ``check_code`` commits
a wrong attempt before it fails (services/signing/codes.py), so accepting checks
the code first, then records the signature in a transaction of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, datetime

from sempi_cli.clock import iso_utc, today_in_rome
from sempi_cli.errors import InvalidData, NotFound, PermissionDenied, RuleViolation
from sempi_cli.i18n import N_, Text, speaking
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, event_log
from sempi_cli.services.base import Service
from sempi_cli.services.signing import evidence, placeholders

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sempi_cli.services.access import Actor

FOLDER = "Firme"  # the client's folder the documents of its requests go to
MAIL_KIND = "sign_request"
NOTICE_KIND = "signature"
STATUSES = ("sent", "completed", "declined", "expired")
# A request still waiting past its due date reads as expired before the nightly
# watch (services/signing/watch.py) or a signer's attempt marks it so.
SHOWN_STATUS = "CASE WHEN r.status = 'sent' AND r.due_on < :today THEN 'expired' ELSE r.status END"
MAX_REASON = 500
LIST_COLUMNS = (
    "id", "client_id", "client", "title", "status", "signed", "signers", "due_on",
    "created_at",
)  # fmt: skip

MEANING = N_(
    "Signing this document is a simple electronic signature (firma elettronica"
    " semplice): you confirm it with a one-time code and a declaration, and sempi"
    " records when and how, with the document's SHA-256. It is not a qualified"
    " electronic signature, nor a digital signature; its weight as evidence is"
    " freely assessed. Read the document whole before you sign it."
)
DECLARATION = N_(
    "I declare that I have read the document and sign it with a simple electronic"
    " signature (firma elettronica semplice)"
)
NOT_FOUND = N_("signature request {request} not found")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_due(text: str, now: datetime, today: date) -> date:
    """The due date of ``--due`` (any form timeparse reads: 2026-12-31, 31/12/2026,
    "friday"); today or later."""
    from sempi_cli.timeparse import parse_date

    day = parse_date(text, now, field="--due")
    if day < today:
        raise InvalidData("--due", _("the due date {day} is in the past").format(day=day))
    return day


def _user_actor(row: sqlite3.Row) -> Actor:
    from sempi_cli.services.access import Actor

    return Actor(row["id"], row["email"], row["full_name"], row["role"], row["studio_id"],
                 row["client_id"], via="internal")  # fmt: skip


class SignRequests(Service):
    # --- who may -------------------------------------------------------------------------

    def _require_office(self) -> None:
        if self.actor.role == "external":
            raise PermissionDenied(
                _("documents are sent for signature by the firm and its practices")
            )

    def _visible(self, request_id: int) -> sqlite3.Row:
        """The request with its client's name, if the actor signs it or is of the
        office and sees its client; NotFound otherwise."""
        row = self.db.execute(
            "SELECT r.*, c.ragione_sociale AS client, d.attachment_id, d.folder_id,"
            " d.removed_from, (SELECT 1 FROM sign_signers s WHERE s.request_id = r.id"
            " AND s.user_id = :me) AS mine FROM sign_requests r"
            " JOIN clients c ON c.id = r.client_id JOIN documents d ON d.id = r.document_id"
            " WHERE r.id = :id",
            {"id": request_id, "me": self.actor.id},
        ).fetchone()
        if row is not None and (
            row["mine"] or (self.actor.role != "external" and self._sees_client(row["client_id"]))
        ):
            return row
        raise NotFound(_(NOT_FOUND).format(request=request_id), _("see 'sempi sign list'"))

    def _sees_client(self, client_id: int) -> bool:
        try:
            access.client_row(self.db, self.actor, client_id)
        except NotFound:
            return False
        return True

    def _signer(self, request_id: int) -> sqlite3.Row:
        """The actor's own row among the signers (NotFound otherwise: an office
        person who is not a signer has nothing to sign)."""
        row = self.db.execute(
            "SELECT * FROM sign_signers WHERE request_id = ? AND user_id = ?",
            (request_id, self.actor.id),
        ).fetchone()
        if row is None:
            raise NotFound(
                _("request {request} not found among the documents you are to sign").format(
                    request=request_id
                )
            )
        return row

    # --- sending -------------------------------------------------------------------------

    def request(
        self,
        client_id: int,
        *,
        template: str | None = None,
        signers: Sequence[str] = (),
        due: str | None = None,
        like: int | None = None,
        dry_run: bool = False,
    ) -> dict:
        """Send a document for signature: render ``template`` for client
        ``client_id``, file it, and ask each of ``signers`` (ids or e-mails) to sign.
        ``like``: another request's template and signers, unless given here."""
        from sempi_cli.services.signing.templates import SignTemplates

        self._require_office()
        now = self.clock.now()
        due_on = parse_due(due, now, today_in_rome(self.clock)) if due else None
        if like is not None:
            model = self._visible(like)
            if template is None:
                template = str(model["template_id"])
            if not signers:
                signers = self._signers_like(model, client_id)
        if template is None:
            raise InvalidData("--template", _("give the template, or --like REQUEST"))
        if not signers:
            raise InvalidData("--signer", _("give at least one signer"))
        with self.rehearsal(dry_run):
            client = access.client_row(self.db, self.actor, client_id)
            self._may_file(client)
            chosen = self._signers(client_id, signers)
            tpl = SignTemplates(self.db, self.clock, self.actor).row(template)
            self._seal_ready()  # see the module's docstring
            request_id = int(
                self.db.execute("SELECT coalesce(max(id), 0) + 1 FROM sign_requests").fetchone()[0]
            )
            studio = self.db.execute(
                "SELECT * FROM studios WHERE id = ?", (client["studio_id"],)
            ).fetchone()
            values = placeholders.values_for(
                client=dict(client),
                studio=dict(studio) if studio is not None else None,
                firm_name=self._firm_name(),
                today=today_in_rome(self.clock),
                signers=[s["full_name"] for s in chosen],
            )
            text = placeholders.fill(tpl["body"], values, markdown=tpl["format"] == "markdown")
            pdf = self._render(request_id, tpl["name"], text, tpl["format"], now)
            digest = sha256(pdf)
            document = self._file(
                self.actor, client_id, None, f"{_file_title(tpl['name'])} - richiesta"
                f" {request_id}.pdf", pdf,
            )  # fmt: skip
            self.db.execute(
                "INSERT INTO sign_requests (id, client_id, template_id, title, fields,"
                " document_id, sha256, due_on, status, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sent', ?, ?)",
                (request_id, client_id, tpl["id"], tpl["name"], json.dumps(values, ensure_ascii=False),
                 document["id"], digest, due_on.isoformat() if due_on else None, self.now(),
                 self.actor.id),
            )  # fmt: skip
            self.db.executemany(
                "INSERT INTO sign_signers (request_id, user_id, position) VALUES (?, ?, ?)",
                [(request_id, s["id"], n) for n, s in enumerate(chosen, 1)],
            )
            ids = [s["id"] for s in chosen]
            evidence.record(
                self.db, self.clock, request_id, "created", user_id=self.actor.id,
                channel="sempi", hash_after=digest,
                detail={"document": document["id"], "template": tpl["id"], "signers": ids},
            )  # fmt: skip
            mails = self._invite(request_id, tpl["name"], client, chosen, due_on)
            evidence.record(
                self.db, self.clock, request_id, "sent", user_id=self.actor.id,
                channel="email", hash_before=digest, detail={"signers": ids, "mails": mails},
            )  # fmt: skip
            self.audit(
                "request", "sign_request", request_id, client_id=client_id,
                template=tpl["id"], document=document["id"], signers=ids, mails=mails,
            )  # fmt: skip
            record = {
                "id": request_id,
                "client_id": client_id,
                "client": client["ragione_sociale"],
                "title": tpl["name"],
                "status": "sent",
                "document_id": document["id"],
                "folder": document["folder"],
                "sha256": digest,
                "due_on": due_on.isoformat() if due_on else None,
                "signers": [s["email"] for s in chosen],
                "mails": mails,
            }
        return record

    def _signers_like(self, model: sqlite3.Row, client_id: int) -> list[str]:
        """The signers of request ``model`` for a request of ``client_id``: the same
        people for the same client; for another client, its own external users take
        the place of the model's client's, and the office's signers stay."""
        rows = self.db.execute(
            "SELECT s.user_id, u.role FROM sign_signers s JOIN users u ON u.id = s.user_id"
            " WHERE s.request_id = ? ORDER BY s.position",
            (model["id"],),
        ).fetchall()
        if model["client_id"] == client_id:
            return [str(r[0]) for r in rows]
        kept = [str(r[0]) for r in rows if r[1] != "external"]
        return client_signers(self.db, client_id) + kept

    def _may_file(self, client: sqlite3.Row) -> None:
        from sempi_cli.services.documents.folders import FolderAccess, may_add

        if not may_add(self.db, self.actor, client):
            raise PermissionDenied(
                _(
                    "you may not file documents in the folders of client {client}: a request"
                    " for signature files its document there"
                ).format(client=client["id"]),
                _("ask the client's responsible, or join its work group"),
            )
        FolderAccess.refuse_removed(client)

    def _signers(self, client_id: int, refs: Sequence[str]) -> list[sqlite3.Row]:
        from sempi_cli.services.identity.accounts import find_user

        chosen: list[sqlite3.Row] = []
        for ref in refs:
            user = find_user(self.db, self.actor, ref)
            if any(u["id"] == user["id"] for u in chosen):
                raise InvalidData(
                    "--signer", _("{email} is named twice").format(email=user["email"])
                )
            if user["disabled_at"] is not None:
                raise InvalidData("--signer", _("{email} is disabled").format(email=user["email"]))
            chosen.append(user)
        access.require_within_reach(self.db, [u["id"] for u in chosen], client_id, "--signer")
        return chosen

    def _firm_name(self) -> str:
        row = self.db.execute("SELECT name FROM firm").fetchone()
        return row[0] if row else ""

    @staticmethod
    def _render(request_id: int, title: str, text: str, fmt: str, now: datetime) -> bytes:
        from sempi_cli.services.signing import render

        footer = f"Richiesta {request_id} · Firma elettronica semplice"
        return render.to_pdf(title, text, fmt, footer=footer, created_at=now)

    def _file(
        self, as_actor: Actor, client_id: int, folder: str | None, name: str, pdf: bytes
    ) -> dict:
        """Store ``pdf`` as document ``name`` of the client, through the documents'
        service as ``as_actor``: in ``folder`` (a path), or in "Firme", made when
        missing. Inside the caller's transaction."""
        from sempi_cli.services.documents.documents import DocumentService
        from sempi_cli.services.documents.folders import load_tree

        documents = DocumentService(self.db, self.clock, as_actor)
        if folder is None:
            tree = load_tree(self.db, client_id)
            folder_id, _made = documents.folders.ensure(tree, [FOLDER])
            folder = tree.path(folder_id)
        scratch = tempfile.mkdtemp(prefix="sempi-sign-")  # 0700
        try:
            path = os.path.join(scratch, name)
            with open(path, "xb") as fh:
                fh.write(pdf)
            [document] = documents.add(client_id, folder, [path])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return document

    def _invite(
        self,
        request_id: int,
        title: str,
        client: sqlite3.Row,
        signers: Sequence[sqlite3.Row],
        due_on: date | None,
    ) -> list[int]:
        """A notification and an e-mail to each signer; the e-mails' ids."""
        from sempi_cli.services.mail.outbox import Outbox
        from sempi_cli.services.notify.centre import NotificationService

        outbox = Outbox(self.db, self.clock, self.actor)
        centre = NotificationService(self.db, self.clock, self.actor)
        mails = []
        for signer in signers:
            context = {
                "full_name": signer["full_name"],
                "title": title,
                "request_id": request_id,
                "client": client["ragione_sociale"],
                "client_id": client["id"],
            }
            if due_on is not None:
                context["due"] = due_on.strftime("%d/%m/%Y")
            mail_id = outbox.queue(
                MAIL_KIND, signer["email"], context,
                dedupe_key=f"sign-request:{request_id}:{signer['id']}",
            )  # fmt: skip
            if mail_id is not None:
                mails.append(mail_id)
            centre.notify(
                signer["id"],
                NOTICE_KIND,
                Text(
                    "You are asked to sign '{title}' for {client} (request {request}): read it"
                    " with 'sempi sign show {request}', sign it with 'sempi sign accept {request}'.",
                    client=client["ragione_sociale"],
                    title=title,
                    request=request_id,
                ),
                f"sign-request:{request_id}:{signer['id']}",
            )
        return mails

    # --- reading -------------------------------------------------------------------------

    def _pdf(self, row: sqlite3.Row) -> bytes:
        from sempi_cli.services.content import read_chunks

        return b"".join(
            read_chunks(
                self.db, row["attachment_id"], row["sha256"],
                _("document {document}").format(document=row["document_id"]),
            )
        )  # fmt: skip

    def _text(self, row: sqlite3.Row) -> str:
        body = self.db.execute(
            "SELECT body FROM sign_templates WHERE id = ?", (row["template_id"],)
        ).fetchone()[0]
        return placeholders.fill(body, json.loads(row["fields"]))

    def show(self, request_id: int, *, out: Callable[[bytes], None] | None = None) -> dict:
        """The document: its text (or, with ``out``, its PDF handed to ``out``), its
        SHA-256 and what signing it means. The first time a signer reads it, the
        evidence records ``viewed``."""
        row = self._visible(request_id)
        record: dict[str, object] = {
            "id": row["id"],
            "client": row["client"],
            "title": row["title"],
            "status": shown_status(row["status"], row["due_on"], today_in_rome(self.clock)),
            "due_on": row["due_on"],
            "sha256": row["sha256"],
            "meaning": _(MEANING),
        }
        if out is not None:
            out(self._pdf(row))
        else:
            record["text"] = self._text(row)
        if row["mine"]:
            with self.transaction():
                seen = self.db.execute(
                    "SELECT 1 FROM sign_events WHERE request_id = ? AND user_id = ?"
                    " AND event = 'viewed'",
                    (request_id, self.actor.id),
                ).fetchone()
                if seen is None:
                    evidence.record(
                        self.db, self.clock, request_id, "viewed", user_id=self.actor.id,
                        channel="sempi", hash_before=row["sha256"],
                        detail={"as": "pdf" if out is not None else "text"},
                    )  # fmt: skip
        return record

    def list(self, *, client_id: int | None = None, status: str | None = None) -> list[dict]:
        """The requests the actor signs, and, for the office, those of the clients
        they see; newest first."""
        if status is not None and status not in STATUSES:
            raise InvalidData(
                "--status",
                _("{value} is not a status").format(value=repr(status)),
                _("use one of: {choices}").format(choices=", ".join(STATUSES)),
            )
        where = ["(EXISTS (SELECT 1 FROM sign_signers s WHERE s.request_id = r.id"
                 " AND s.user_id = :me)"]  # fmt: skip
        params: dict[str, object] = {"me": self.actor.id}
        if self.actor.role != "external":
            clients, client_params = access.visible_clients(self.actor, "c")
            where[0] += f" OR {clients}"
            params.update(client_params)
        where[0] += ")"
        if client_id is not None:
            where.append("r.client_id = :client")
            params["client"] = client_id
        params["today"] = today_in_rome(self.clock).isoformat()
        if status is not None:
            where.append(f"{SHOWN_STATUS} = :status")
            params["status"] = status
        rows = self.db.execute(
            f"SELECT r.id, r.client_id, c.ragione_sociale AS client, r.title,"
            f" {SHOWN_STATUS} AS status, r.due_on, r.created_at,"
            " (SELECT count(*) FROM sign_signers s WHERE s.request_id = r.id"
            " AND s.outcome = 'accepted') AS signed,"
            " (SELECT count(*) FROM sign_signers s WHERE s.request_id = r.id) AS signers"
            " FROM sign_requests r JOIN clients c ON c.id = r.client_id"
            f" WHERE {' AND '.join(where)} ORDER BY r.id DESC",
            params,
        ).fetchall()
        return [{k: row[k] for k in LIST_COLUMNS} for row in rows]

    def status(self, request_id: int) -> dict:
        """The request, its signers with their outcomes and times, and its events."""
        row = self._visible(request_id)
        signers = [
            dict(s)
            for s in self.db.execute(
                "SELECT s.position, u.email, u.full_name, s.outcome, s.decided_at, s.reason"
                " FROM sign_signers s JOIN users u ON u.id = s.user_id WHERE s.request_id = ?"
                " ORDER BY s.position",
                (request_id,),
            )
        ]
        emails = {
            r[0]: r[1]
            for r in self.db.execute(
                "SELECT u.id, u.email FROM users u WHERE u.id IN (SELECT user_id FROM"
                " sign_signers WHERE request_id = ?) OR u.id = ?",
                (request_id, row["created_by"]),
            )
        }
        events = [
            {
                "at": e["at_rome"],
                "event": e["event"],
                "user": emails.get(e["user_id"]) if e["user_id"] is not None else None,
                "channel": e["channel"],
            }
            for e in evidence.events(self.db, request_id)
        ]
        return {
            "id": row["id"],
            "client_id": row["client_id"],
            "client": row["client"],
            "title": row["title"],
            "status": shown_status(row["status"], row["due_on"], today_in_rome(self.clock)),
            "due_on": row["due_on"],
            "sha256": row["sha256"],
            "document_id": row["document_id"],
            "sealed_document_id": row["sealed_document_id"],
            "sealed_sha256": row["sealed_sha256"],
            "created_at": row["created_at"],
            "created_by": emails.get(row["created_by"]),
            "completed_at": row["completed_at"],
            "signers": signers,
            "events": events,
        }

    # --- signing -------------------------------------------------------------------------

    def _open_for(self, request_id: int) -> sqlite3.Row:
        """The request, if the actor is to decide on it now. Past its due date, it is
        marked expired (committed) and the act refused."""
        row = self._visible(request_id)
        signer = self._signer(request_id)
        from sempi_cli.services.signing.codes import CLOSED, DECIDED

        if signer["outcome"] is not None:
            raise RuleViolation(_(DECIDED[signer["outcome"]]).format(request=request_id))
        if row["status"] != "sent":
            raise RuleViolation(_(CLOSED[row["status"]]).format(request=request_id))
        if row["due_on"] is not None and today_in_rome(self.clock).isoformat() > row["due_on"]:
            with self.transaction():
                self.expire(request_id, row["due_on"])
            raise RuleViolation(
                _("request {request} expired: it was to be signed by {day}").format(
                    request=request_id, day=_day(row["due_on"])
                ),
                _("ask the office to send it again"),
            )
        return row

    def expire(self, request_id: int, due_on: str) -> bool:
        """Mark a request past its due date expired, with its evidence, inside the
        caller's transaction; False when it was no longer waiting (already expired,
        completed or declined by a command that got there first)."""
        changed = self.db.execute(
            "UPDATE sign_requests SET status = 'expired' WHERE id = ? AND status = 'sent'",
            (request_id,),
        ).rowcount
        if changed:
            evidence.record(
                self.db, self.clock, request_id, "expired", user_id=None,
                channel="system", detail={"due_on": due_on},
            )  # fmt: skip
            self.audit("expire", "sign_request", request_id, due_on=due_on)
        return bool(changed)

    def _last(self, request_id: int) -> bool:
        """Whether the actor's signature would be the last one missing."""
        waiting = self.db.execute(
            "SELECT count(*) FROM sign_signers WHERE request_id = ? AND user_id <> ?"
            " AND outcome IS NULL",
            (request_id, self.actor.id),
        ).fetchone()[0]
        return waiting == 0

    def _seal_ready(self) -> tuple[str, str]:
        from sempi_cli.services.signing.seal import SealService

        paths = SealService(self.db, self.clock, self.actor).paths()
        for path in (paths.key, paths.certificate):
            if not os.path.isfile(path):
                raise RuleViolation(
                    _("the firm's seal is missing: {path}").format(path=path),
                    _("a firm administrator restores it, or makes one with"
                      " 'sempi sign seal init FOLDER'"),
                )  # fmt: skip
        return paths.key, paths.certificate

    def prepare(self, request_id: int) -> dict:
        """Before asking for a code: the request is the actor's to sign now (and the
        seal is there when theirs is the last signature). {"request_id", "title",
        "channel" ('totp' or 'email'), "code_waiting" (an e-mailed code still works)}."""
        from sempi_cli.services.signing import codes

        row = self._open_for(request_id)
        if self._last(request_id):  # what completing needs, before any code is spent
            self._seal_ready()
            self._filer(row)
        channel = codes.channel(self.db, self.clock, self.actor)
        return {
            "request_id": request_id,
            "title": row["title"],
            "sha256": row["sha256"],
            "channel": channel,
            "code_waiting": channel == "email" and self._live_code(request_id),
        }

    def _live_code(self, request_id: int) -> bool:
        from sempi_cli.services.signing.codes import MAX_ATTEMPTS

        row = self.db.execute(
            "SELECT used_at, attempts, expires_at FROM sign_codes WHERE request_id = ?"
            " AND user_id = ? ORDER BY id DESC LIMIT 1",
            (request_id, self.actor.id),
        ).fetchone()
        return bool(
            row is not None
            and row["used_at"] is None
            and row["attempts"] < MAX_ATTEMPTS
            and row["expires_at"] > self.now()
        )

    def _filer(self, row: sqlite3.Row) -> Actor:
        """The request's sender, who files the sealed copy, if they still may file
        documents for its client; RuleViolation otherwise (the office must act: a
        sender who left the work group, or was disabled, leaves the request stuck)."""
        from sempi_cli.services.documents.folders import may_add

        user = self.db.execute(
            "SELECT * FROM users WHERE id = ? AND disabled_at IS NULL", (row["created_by"],)
        ).fetchone()
        sender = _user_actor(user) if user is not None else None
        if sender is None or not (
            access.clients_seen_by(self.db, sender.id, [row["client_id"]])
            and may_add(self.db, sender, access.client_row(self.db, sender, row["client_id"]))
        ):
            raise RuleViolation(
                _(
                    "request {request} cannot be completed: its sender may no longer file"
                    " documents for client {client}"
                ).format(request=row["id"], client=row["client_id"]),
                _("ask the office to send it again"),
            )
        return sender

    def send_code(self, request_id: int) -> dict:
        from sempi_cli.services.signing import codes

        self._open_for(request_id)
        return codes.send_code(self.db, self.clock, self.actor, request_id)

    def accept(self, request_id: int, code: str, *, declared: bool) -> dict:
        """Sign: the declaration made, the one-time code right; the last signature
        completes the request (certificate page, seal, sealed copy filed)."""
        from sempi_cli.services.signing import codes

        if not declared:
            raise RuleViolation(
                _("a signature needs your declaration: {declaration}").format(
                    declaration=_(DECLARATION)
                ),
                _("answer 'sì' when asked, or add --declare"),
            )
        self.prepare(request_id)
        channel = codes.check_code(self.db, self.clock, self.actor, request_id, code)
        with self.transaction():
            row = self._open_for(request_id)
            now = self.now()
            self.db.execute(
                "UPDATE sign_signers SET outcome = 'accepted', decided_at = ?"
                " WHERE request_id = ? AND user_id = ?",
                (now, request_id, self.actor.id),
            )
            evidence.record(
                self.db, self.clock, request_id, "accepted", user_id=self.actor.id,
                channel=channel, hash_before=row["sha256"],
            )  # fmt: skip
            self.audit("accept", "sign_request", request_id, channel=channel)
            done = None
            if self._all_accepted(request_id):
                done = self._complete(row)
        return {
            "id": request_id,
            "title": row["title"],
            "outcome": "accepted",
            "channel": channel,
            "status": "completed" if done else "sent",
            "sealed_document_id": done["id"] if done else None,
            "sealed_sha256": done["sha256"] if done else None,
        }

    def _all_accepted(self, request_id: int) -> bool:
        return not self.db.execute(
            "SELECT 1 FROM sign_signers WHERE request_id = ?"
            " AND (outcome IS NULL OR outcome <> 'accepted')",
            (request_id,),
        ).fetchone()

    def _complete(self, row: sqlite3.Row) -> dict:
        """The certificate page, the seal, the sealed copy filed; inside the caller's
        transaction."""
        from sempi_cli.services import settings_read
        from sempi_cli.services.documents.folders import load_tree
        from sempi_cli.services.signing import seal
        from sempi_cli.services.signing.certificate import both_times, certificate_page

        key, certificate = self._seal_ready()
        request_id = row["id"]
        original = self._pdf(row)
        language = settings_read.get(self.db, "ui.language")
        signers = self.db.execute(
            "SELECT s.position, u.full_name, s.decided_at,"
            " (SELECT e.channel FROM sign_events e WHERE e.request_id = s.request_id"
            " AND e.user_id = s.user_id AND e.event = 'accepted' ORDER BY e.id DESC LIMIT 1)"
            " AS channel FROM sign_signers s JOIN users u ON u.id = s.user_id"
            " WHERE s.request_id = ? ORDER BY s.position",
            (request_id,),
        ).fetchall()
        now = self.clock.now()
        with speaking(language):
            how = {"totp": _("code of the authenticator app"), "email": _("code sent by e-mail")}
            lines = [
                (_("Request"), f"{request_id} — {row['title']}"),
                (_("Client"), row["client"]),
                (_("Document SHA-256 before signature"), row["sha256"]),
            ]
            for signer in signers:
                lines.append(
                    (
                        _("Signer {n}").format(n=signer["position"]),
                        f"{signer['full_name']} — {both_times(datetime.fromisoformat(signer['decided_at']))}"
                        f" — {how.get(signer['channel'], signer['channel'])}",
                    )
                )
            lines.append((_("Completed"), both_times(now)))
            reason = _("Completion of signature request {request}").format(request=request_id)
        page = certificate_page(original, lines, title=row["title"], language=language)
        sealed = seal.seal(
            page, key, certificate, reason=reason, location=self._firm_name() or "sempi",
            when=now,
        )  # fmt: skip
        digest = sha256(sealed)
        seal_id = seal.remember(self.db, certificate, self.now())
        sender = self._filer(row)
        folder = None
        if row["folder_id"] is not None:
            folder = load_tree(self.db, row["client_id"]).path(row["folder_id"])
        document = self._file(
            sender, row["client_id"], folder,
            f"{_file_title(row['title'])} - richiesta {request_id} - firmato.pdf", sealed,
        )  # fmt: skip
        self.db.execute(
            "UPDATE sign_requests SET status = 'completed', sealed_document_id = ?,"
            " sealed_sha256 = ?, completed_at = ? WHERE id = ?",
            (document["id"], digest, iso_utc(now), request_id),
        )
        evidence.record(
            self.db, self.clock, request_id, "completed", user_id=None, channel="system",
            hash_before=row["sha256"], hash_after=digest,
            detail={"document": document["id"], "seal": seal_id},
        )  # fmt: skip
        self.audit("complete", "sign_request", request_id, document=document["id"])
        event_log.record(
            self.db, self.clock, self.actor, "sign.completed", request_id, row["client_id"],
            changes={"status": {"old": "sent", "new": "completed"}},
            data={"title": row["title"], "document_id": row["document_id"],
                  "sealed_document_id": document["id"], "sealed_sha256": digest},
        )  # fmt: skip
        self._tell_creator(
            row,
            Text(
                "Request {request} ('{title}', {client}) is signed by everyone: the sealed"
                " copy is document {document}.",
                request=request_id, title=row["title"], client=row["client"],
                document=document["id"],
            ),
            "completed",
        )  # fmt: skip
        return {"id": document["id"], "sha256": digest}

    def _tell_creator(self, row: sqlite3.Row, text: Text, what: str) -> None:
        from sempi_cli.services.notify.centre import NotificationService

        creator = row["created_by"]
        if creator == self.actor.id or not access.sees_client(self.db, creator, row["client_id"]):
            return
        NotificationService(self.db, self.clock, self.actor).notify(
            creator, NOTICE_KIND, text, f"sign-{what}:{row['id']}:{self.actor.id}"
        )

    def decline(self, request_id: int, reason: str) -> dict:
        """Refuse to sign, saying why: the request is declined for everyone."""
        from sempi_cli.services.text import no_control

        reason = " ".join((reason or "").split())
        no_control(reason, "--reason")
        if not reason:
            raise InvalidData("--reason", _("say why you decline"))
        if len(reason) > MAX_REASON:
            raise InvalidData("--reason", _("at most {n} characters").format(n=MAX_REASON))
        row = self._open_for(request_id)
        with self.transaction():
            row = self._open_for(request_id)
            now = self.now()
            self.db.execute(
                "UPDATE sign_signers SET outcome = 'declined', decided_at = ?, reason = ?"
                " WHERE request_id = ? AND user_id = ?",
                (now, reason, request_id, self.actor.id),
            )
            self.db.execute(
                "UPDATE sign_requests SET status = 'declined' WHERE id = ?", (request_id,)
            )
            evidence.record(
                self.db, self.clock, request_id, "declined", user_id=self.actor.id,
                channel="sempi", hash_before=row["sha256"],
            )  # fmt: skip
            self.audit("decline", "sign_request", request_id)
            # The reason is kept with the signer's outcome after an erasure
            # (signing/personal.py), so the event may carry it.
            event_log.record(
                self.db, self.clock, self.actor, "sign.declined", request_id, row["client_id"],
                changes={"status": {"old": "sent", "new": "declined"}},
                data={"title": row["title"], "document_id": row["document_id"],
                      "reason": reason, "signer_id": self.actor.id},
            )  # fmt: skip
            self._tell_creator(
                row,
                Text(
                    "{name} declined to sign request {request} ('{title}', {client}): {reason}",
                    name=self.actor.full_name, request=request_id, title=row["title"],
                    client=row["client"], reason=reason,
                ),
                "declined",
            )  # fmt: skip
        return {"id": request_id, "title": row["title"], "outcome": "declined",
                "status": "declined"}  # fmt: skip


def client_signers(db: sqlite3.Connection, client_id: int) -> list[str]:
    """The ids (as text) of the client's active external users, oldest first: who
    signs for a client when no one is named (`--like` for another client, a task
    template's signing rule)."""
    return [
        str(user_id)
        for (user_id,) in db.execute(
            "SELECT id FROM users WHERE client_id = ? AND role = 'external'"
            " AND disabled_at IS NULL ORDER BY id",
            (client_id,),
        )
    ]


def shown_status(status: str, due_on: str | None, today: date) -> str:
    """SHOWN_STATUS for one request."""
    if status == "sent" and due_on is not None and due_on < today.isoformat():
        return "expired"
    return status


def _file_title(title: str) -> str:
    """A template's name as part of a file name (no slash)."""
    return title.replace("/", "-").strip() or "documento"


def _day(iso: str) -> str:
    from sempi_cli.i18n import current

    return iso if current() == "en" else f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"
