"""`sempi sign verify FILE`: is this PDF the one sempi recorded, unchanged?

The verdict is one of three words:

- ``valid``: the file's SHA-256 is a request's (the document sent for signature,
  or the sealed file of a completed request), the request's record of events
  holds and names that SHA-256, and for a sealed file the firm's seal covers the
  whole file, checked by pyHanko's validator trusting the firm's certificate;
- ``altered``: the file is a request's, yet changed (bytes changed or added after
  the seal), or the record of events was edited behind sempi's back, or a file
  that carries the firm's seal no longer matches it;
- ``unknown``: no request of this file, or none whose client the person asking
  may see (the two are never told apart: a file never tells who it belongs to).

How a changed file is still found: the seal's ``/ByteRange`` is read from the
raw bytes (no parser needed, a damaged file too). Bytes appended after the seal
leave the sealed file as the prefix up to the end of the range, whose SHA-256
is the request's; a byte changed in place leaves the size as it was, and either the
signature's own bytes (``/Contents``, unique to each sealing) or everything but
them, which are compared with the sealed files stored of that very size.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from sempi_cli.errors import InvalidData, SempiError
from sempi_cli.i18n import gettext as _
from sempi_cli.services.base import Service

VALID, ALTERED, UNKNOWN = "valid", "altered", "unknown"
MB = 1024 * 1024
# The last /ByteRange of the file is the latest signature's: the seal is the last one.
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


@dataclass
class Verdict:
    verdict: str
    reason: str
    file: str
    sha256: str
    request: int | None = None
    client_id: int | None = None
    title: str | None = None
    status: str | None = None
    matched: str | None = None  # sealed | document | appended | changed
    seal: dict | None = None
    evidence: dict | None = field(default=None)

    def as_record(self) -> dict:
        return asdict(self)


def byte_range(data: bytes) -> tuple[int, int, int, int] | None:
    """The last signature's /ByteRange (start, length, start, length), if any is
    sound: it starts at 0 and its second part lies within the file."""
    last = None
    for last in _BYTE_RANGE.finditer(data):  # noqa: B007 (the last one is wanted)
        pass
    if last is None:
        return None
    a, b, c, d = (int(x) for x in last.groups())
    if a != 0 or not b < c or c + d > len(data) or c + d < 1:
        return None
    return a, b, c, d


class VerifyService(Service):
    def verify(self, path: str) -> Verdict:
        """The verdict on the file at ``path`` (InvalidData, exit 6, if it cannot be
        read or is not a PDF)."""
        from sempi_cli.services import settings
        from sempi_cli.services.signing.seal import require_pdf
        from sempi_cli.services.user_files import read_user_file

        self.actor  # noqa: B018 (anyone logged in; what each sees is filtered below)
        limit = int(settings.get(self.db, "documents.max_file_mb")) * MB
        data = read_user_file(
            path, "FILE", limit=limit,
            too_big=lambda size: InvalidData(
                "FILE",
                _("{path} is {size} MB, more than any document kept ({limit} MB)").format(
                    path=path, size=size // MB, limit=limit // MB
                ),
            ),
        )  # fmt: skip
        require_pdf(data, path)
        digest = hashlib.sha256(data).hexdigest()
        verdict = Verdict(UNKNOWN, "", path, digest)
        found = self._by_hash(digest)
        if found is None:
            found = self._by_seal(data)
        if found is None:
            verdict.reason = _("no request of this file that you may see")
            return verdict
        row, matched = found
        verdict.request, verdict.client_id = row["id"], row["client_id"]
        verdict.title, verdict.status, verdict.matched = row["title"], row["status"], matched
        return self._judge(verdict, row, data)

    # -- finding the request ------------------------------------------------------------

    def _visible(self) -> tuple[str, dict]:
        from sempi_cli.services.visibility import visible_clients

        return visible_clients(self.actor, "c")

    def _by_hash(self, digest: str) -> tuple[sqlite3.Row, str] | None:
        """The latest visible request whose sealed file or document has ``digest``."""
        where, params = self._visible()
        row = self.db.execute(
            "SELECT r.* FROM sign_requests r JOIN clients c ON c.id = r.client_id"
            f" WHERE (r.sealed_sha256 = :sha OR r.sha256 = :sha) AND {where}"
            " ORDER BY r.sealed_sha256 = :sha DESC, r.id DESC LIMIT 1",
            {**params, "sha": digest},
        ).fetchone()
        if row is None:
            return None
        return row, "sealed" if row["sealed_sha256"] == digest else "document"

    def _by_seal(self, data: bytes) -> tuple[sqlite3.Row, str] | None:
        """A visible sealed request this file was made from: the prefix up to the end
        of its seal is the sealed file (bytes appended), or a sealed file of the same
        size has the same signature bytes (bytes changed in place)."""
        span = byte_range(data)
        if span is None:
            return None
        _a, gap_start, gap_end, tail = span
        where, params = self._visible()
        end = gap_end + tail
        if end < len(data):
            prefix = hashlib.sha256(data[:end]).hexdigest()
            row = self.db.execute(
                "SELECT r.* FROM sign_requests r JOIN clients c ON c.id = r.client_id"
                f" WHERE r.sealed_sha256 = :sha AND {where} ORDER BY r.id DESC LIMIT 1",
                {**params, "sha": prefix},
            ).fetchone()
            if row is not None:
                return row, "appended"
        signature = data[gap_start:gap_end]
        rows = self.db.execute(
            "SELECT r.*, d.attachment_id AS sealed_attachment FROM sign_requests r"
            " JOIN clients c ON c.id = r.client_id"
            " JOIN documents d ON d.id = r.sealed_document_id"
            f" WHERE d.size = :size AND {where} ORDER BY r.id DESC",
            {**params, "size": len(data)},
        ).fetchall()
        for row in rows:
            with self.db.blobopen(
                "attachments", "content", row["sealed_attachment"], readonly=True
            ) as blob:
                stored = blob.read()
            if stored[gap_start:gap_end] == signature or (
                stored[:gap_start] == data[:gap_start] and stored[gap_end:] == data[gap_end:]
            ):  # the document changed under the seal, or the seal itself changed
                return row, "changed"
        return None

    # -- the verdict ---------------------------------------------------------------------

    def _judge(self, verdict: Verdict, row: sqlite3.Row, data: bytes) -> Verdict:
        from sempi_cli.services.signing import evidence

        chain = evidence.check(self.db)
        events = evidence.events(self.db, row["id"])
        hashes = {h for e in events for h in (e["hash_before"], e["hash_after"]) if h}
        verdict.evidence = {
            "chain_ok": chain["ok"],
            "rows": chain["rows"],
            "first_bad": chain["first_bad"],
            "events": len(events),
        }
        if not chain["ok"]:
            verdict.verdict = ALTERED
            verdict.reason = _(
                "the record of events was edited outside sempi (event {event}: {problem})"
            ).format(event=chain["first_bad"], problem=chain["problem"])
            return verdict
        expected = row["sealed_sha256"] if verdict.matched != "document" else row["sha256"]
        if expected not in hashes:
            verdict.verdict = ALTERED
            verdict.reason = _("the request's record of events does not name this file's SHA-256")
            return verdict
        if verdict.matched == "document":
            verdict.verdict = VALID
            if row["sealed_sha256"]:
                verdict.reason = _(
                    "the document of request {request} as sent for signature, before"
                    " signatures; the signed file is the sealed one"
                ).format(request=row["id"])
            else:
                verdict.reason = _(
                    "the document of request {request} as sent for signature ({status})"
                ).format(request=row["id"], status=row["status"])
            return verdict
        return self._judge_seal(verdict, row, data)

    def _judge_seal(self, verdict: Verdict, row: sqlite3.Row, data: bytes) -> Verdict:
        from sempi_cli.services.signing.seal import check_seal, firm_certificates

        certificate = firm_certificates(self.db)  # every seal the firm has had
        if verdict.matched == "sealed":
            held = seal_holds(data, certificate)
            if held is not None:
                verdict.verdict = VALID
                verdict.seal = {"outcome": "intact", **held, "covers_whole_file": True}
                verdict.reason = _(
                    "the sealed file of request {request}, unchanged since the firm sealed it"
                ).format(request=row["id"])
                return verdict
        try:
            seal = check_seal(data, certificate, name=verdict.file)
        except InvalidData as exc:  # one byte may break the file's structure too
            verdict.verdict = ALTERED
            verdict.seal = {"outcome": "damaged"}
            verdict.reason = _(
                "the sealed file of request {request} was changed: {problem}"
            ).format(request=row["id"], problem=exc.problem)
            return verdict
        verdict.seal = {
            "outcome": seal.outcome,
            "signer": seal.signer,
            "signed_at": seal.signed_at.isoformat() if seal.signed_at else None,
            "covers_whole_file": seal.covers_whole_file,
        }
        if seal.intact and verdict.matched == "sealed":
            verdict.verdict = VALID
            verdict.reason = _(
                "the sealed file of request {request}, unchanged since the firm sealed it"
            ).format(request=row["id"])
            return verdict
        verdict.verdict = ALTERED
        problem = seal.problem or _("the file was changed after sealing")
        verdict.reason = _("the sealed file of request {request} was changed: {problem}").format(
            request=row["id"], problem=problem
        )
        return verdict


# -- the seal's signature, checked without pyHanko -------------------------------------------

_SIGNED_AT = re.compile(rb"/M\s*\(D(?::|\\072)(\d{14})(Z|[+-]\d\d'?\d\d'?)?\)")


def seal_holds(data: bytes, trusted: str | Sequence[bytes]) -> dict | None:
    """{"signer", "signed_at"} when the firm's seal on ``data`` covers the whole file
    and its signature is the key's of one of the firm's certificates (``trusted``, as
    seal.check_seal takes them) over these very bytes; None otherwise (or
    when anything is not as sempi seals: the caller then asks pyHanko's validator,
    which says what is wrong).

    Importing pyHanko costs ~0.35 s (its signers, aiohttp for timestamps), twice the
    whole start-up of sempi; a file that checks out needs only this: the signed
    ranges are all the file but the signature itself, the CMS signer's certificate
    is the firm's, the messageDigest attribute is the SHA-256 of the signed ranges,
    and the signature over the signed attributes verifies with the firm's public
    key. Anything else (altered, appended, foreign, damaged) goes to pyHanko, and
    tests/test_signing_verify.py holds the two to the same verdicts."""
    import warnings

    span = byte_range(data)
    if span is None:
        return None
    _a, gap_start, gap_end, tail = span
    if gap_end + tail != len(data):  # bytes after the seal: not the whole file
        return None
    gap = data[gap_start:gap_end]
    if len(gap) < 2 or gap[:1] != b"<" or gap[-1:] != b">":
        return None
    try:
        der = bytes.fromhex(gap[1:-1].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*DSA.*")
        from asn1crypto import cms  # type: ignore[import-untyped]
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        from sempi_cli.services.signing.seal import certificates
    try:
        signed = cms.ContentInfo.load(der, strict=False)["content"]
        [signer] = list(signed["signer_infos"])
        embedded = {c.chosen.dump() for c in signed["certificates"] if c.name == "certificate"}
        firm = next((c for c in certificates(trusted) if c.dump() in embedded), None)
        if firm is None or signer["digest_algorithm"]["algorithm"].native != "sha256":
            return None
        info = firm.public_key
        if info.algorithm != "ec" or info.curve[1] != "secp256r1":
            return None  # sempi makes P-256 keys; anything else is pyHanko's to judge
        attrs = signer["signed_attrs"]
        digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
        covered = hashlib.sha256(data[:gap_start] + data[gap_end:]).digest()
        if digests != [covered]:
            return None
        key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), info["public_key"].native
        )
        to_sign = b"\x31" + attrs.dump()[1:]  # the attributes as the SET OF they were signed as
        key.verify(signer["signature"].native, to_sign, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError, KeyError, OSError, SempiError):
        return None
    common = firm.subject.native.get("common_name")
    return {"signer": common, "signed_at": _signed_at(data)}


def _signed_at(data: bytes) -> str | None:
    """The seal's /M (its signing time) as ISO 8601, if it reads."""
    from datetime import datetime

    found = None
    for found in _SIGNED_AT.finditer(data):  # noqa: B007 (the seal's is the last one)
        pass
    if found is None:
        return None
    zone = (found[2] or b"Z").decode().replace("'", "")
    try:
        when = datetime.strptime(
            found[1].decode() + ("+0000" if zone == "Z" else zone), "%Y%m%d%H%M%S%z"
        )
    except ValueError:
        return None
    return when.isoformat()
