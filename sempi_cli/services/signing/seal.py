"""The firm's seal: a key of its own that closes a signed PDF with a PAdES signature.

A completed request's PDF (the document, then the certificate of completion) is
sealed with the firm's key, so any PDF reader, and `sempi sign verify`, shows
that the file changed after sealing. The seal says "this file left sempi like
this"; the people's consent is a simple electronic signature by one-time code,
recorded in the evidence (services/signing/), never a qualified or digital one.

The key (EC P-256, PKCS#8 PEM, mode 0600, created O_EXCL so it is never readable
by others, not even for an instant) and its self-signed certificate (same stem,
``.crt``) live outside the store, in a folder the firm's administrator chooses;
the setting ``sign.seal_key`` names the key. P-256 and not RSA-3072: the same
strength (128 bits), a key made at once, a signature in a fraction of a
millisecond, read by every PDF reader that reads PAdES.

Validation trusts the firm's own certificates and nothing else: a seal made by
any other key is "not the firm's seal", whoever issued it. Every certificate the
firm seals with is recorded in the store (``sign_seals``, at `sign seal init`
and at each sealing), so a file sealed before the firm made a new seal, or on a
machine that has no access to the seal's folder, still verifies.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sempi_cli.errors import Conflict, InvalidData, NotFound, RuleViolation
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services.access import require_firm_admin
from sempi_cli.services.base import Service

if TYPE_CHECKING:
    from sempi_cli.clock import Clock

FIELD_NAME = "SigilloSempi"
KEY_NAME = "sigillo-sempi.key"
CN_SUFFIX = " — sigillo sempi"
VALID_YEARS = 10
PDF_HEADER = b"%PDF-"


@dataclass(frozen=True)
class SealPaths:
    key: str
    certificate: str


@dataclass(frozen=True)
class SealVerdict:
    """What a PDF's seal says. ``outcome`` is the machine's word for it:

    - ``intact``: the firm's seal covers the whole file, byte for byte;
    - ``altered``: the signed bytes changed (the digest no longer matches);
    - ``appended``: the signed bytes are intact but bytes were added after them
      (pyHanko alone calls this file valid: its bottom line looks at the signed
      revision, and the coverage says "entire revision", not "entire file");
    - ``foreign``: a sound signature in the seal's field, but not by the firm's key;
    - ``untrusted``: the firm's own certificate, refused by the validator;
    - ``unsealed``: the file carries no seal.
    """

    outcome: str
    intact: bool
    covers_whole_file: bool
    signer: str | None
    signed_at: datetime | None
    problem: str | None


def paths_for(key_path: str) -> SealPaths:
    """The certificate sits beside the key, same stem, ``.crt``."""
    return SealPaths(key_path, os.path.splitext(key_path)[0] + ".crt")


# -- the key and its certificate ------------------------------------------------


def create_seal(directory: str, firm_name: str, clock: Clock) -> SealPaths:
    """Make the firm's seal key and self-signed certificate in ``directory``
    (created 0700 if missing). Refuses a folder others may write and an existing key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = os.path.abspath(os.path.expanduser(directory))
    name = " ".join(firm_name.split())
    if not name:
        raise InvalidData("firm_name", _("the firm has no name to put on its seal"))
    try:
        _safe_folder(directory)
    except OSError as exc:  # not ours to write, a file in the way
        raise InvalidData(directory, exc.strerror or str(exc)) from None
    paths = paths_for(os.path.join(directory, KEY_NAME))

    key = ec.generate_private_key(ec.SECP256R1())
    now = clock.now().astimezone(UTC).replace(microsecond=0)
    try:
        until = now.replace(year=now.year + VALID_YEARS)
    except ValueError:  # 29 February, ten years on in a common year
        until = now.replace(year=now.year + VALID_YEARS, day=28)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name + CN_SUFFIX),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,  # nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(usage, critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new(paths.key, key_pem, 0o600)
    try:
        _write_new(paths.certificate, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    except BaseException:
        os.unlink(paths.key)
        raise
    return paths


def _safe_folder(directory: str) -> None:
    if not os.path.exists(directory):
        os.makedirs(directory, mode=0o700)
    info = os.stat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise InvalidData(directory, _("not a folder"))
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise RuleViolation(
            _(
                "{folder} may be written by others (mode {mode}): the seal key stays in a folder only its owner writes"
            ).format(folder=directory, mode=oct(stat.S_IMODE(info.st_mode))[2:]),
            _("choose another folder, or 'chmod go-w {folder}'").format(folder=directory),
        )


def _write_new(path: str, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from its first instant; never over an existing file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise Conflict(
            _("{path} already exists: the firm's seal is never overwritten").format(path=path),
            _("choose another folder, or move the old key away yourself"),
        ) from None
    except OSError as exc:
        raise InvalidData(path, exc.strerror or str(exc)) from None
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away, never added
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)


def _load_material(key_path: str, cert_path: str) -> tuple[Any, Any]:
    """The key and certificate, checked: present, the key 0600, the two a pair."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    for path in (key_path, cert_path):
        if not os.path.isfile(path):
            raise NotFound(
                _("no seal file {path}").format(path=path),
                _("a firm administrator creates the seal with 'sempi sign seal init'"),
            )
    mode = stat.S_IMODE(os.stat(key_path).st_mode)
    if mode & 0o077:
        raise RuleViolation(
            _("the seal key {path} may be read by others (mode {mode})").format(
                path=key_path, mode=oct(mode)[2:]
            ),
            _("run 'chmod 600 {path}'").format(path=key_path),
        )
    with open(key_path, "rb") as file:
        try:
            key = serialization.load_pem_private_key(file.read(), password=None)
        except (ValueError, TypeError):
            raise InvalidData(key_path, _("not a private key in PEM form")) from None
    with open(cert_path, "rb") as file:
        try:
            cert = x509.load_pem_x509_certificate(file.read())
        except ValueError:
            raise InvalidData(cert_path, _("not a certificate in PEM form")) from None
    same = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*same) != cert.public_key().public_bytes(*same):
        raise InvalidData(cert_path, _("this certificate is not the seal key's"))
    return key, cert


# -- sealing ----------------------------------------------------------------------


def _pyhanko() -> None:
    """Import pyHanko's signers (on first use: it costs ~0.3 s), which makes
    cryptography warn that DSA is deprecated: no sempi user should read that."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*DSA.*")
        import pyhanko.sign.signers  # noqa: F401


def require_pdf(data: bytes, name: str = "file") -> None:
    """InvalidData unless ``data`` begins like a PDF (a reader allows the header
    anywhere in the first 1024 bytes)."""
    if not data:
        raise InvalidData(name, _("the file is empty, not a PDF"))
    if PDF_HEADER not in data[:1024]:
        raise InvalidData(name, _("not a PDF (it does not begin with %PDF-)"))


def _reader(data: bytes, name: str) -> Any:
    require_pdf(data, name)
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        reader.root  # noqa: B018 (reads the catalog: a damaged file fails here)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvalidData(
            name, _("a damaged PDF, it cannot be read ({detail})").format(detail=exc)
        ) from None
    return reader


def seal(
    pdf: bytes,
    key_path: str,
    cert_path: str,
    *,
    reason: str,
    location: str,
    when: datetime,
    name: str = "file",
) -> bytes:
    """``pdf`` with the firm's PAdES-B-B seal appended as an incremental update;
    its signing time and modification date are ``when``."""
    _load_material(key_path, cert_path)
    _pyhanko()
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.metadata.model import DocumentMetadata
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter

    reader = _reader(pdf, name)
    if any(s.field_name == FIELD_NAME for s in reader.embedded_signatures):
        raise Conflict(_("the document is already sealed"))
    signer = signers.SimpleSigner.load(key_path, cert_path)
    if signer is None:  # pragma: no cover (_load_material read both already)
        raise InvalidData(key_path, _("pyHanko could not read the seal key"))
    when = when.astimezone(UTC).replace(microsecond=0)

    class PinnedMeta(DocumentMetadata):
        # pyHanko sets last_modified to "now" (the machine's clock) just before it
        # writes /ModDate and the XMP date; here the seal's time answers instead.
        @property
        def last_modified(self) -> datetime:
            return when

        @last_modified.setter
        def last_modified(self, value: object) -> None:
            pass

    class Writer(IncrementalPdfFileWriter):
        def __init__(self, stream: io.BytesIO) -> None:
            super().__init__(stream, strict=False)
            self._meta = PinnedMeta()

    class Signer(signers.PdfSigner):
        def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = when  # the signature's /M
            return session

    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    try:
        writer = Writer(io.BytesIO(pdf))
        # Room for the signature, so pyHanko need not sign a dummy first to measure it.
        room = (len(signer.signing_cert.dump()) + 2048) // 2 * 2
        out = Signer(meta, signer).sign_pdf(writer, bytes_reserved=room)
    except PdfError as exc:
        raise InvalidData(
            name, _("this PDF cannot be sealed ({detail})").format(detail=exc)
        ) from None
    return bytes(out.getbuffer())


# -- checking ---------------------------------------------------------------------


def certificates(trusted: str | Sequence[bytes]) -> list[Any]:
    """The asn1crypto certificates of ``trusted``: a certificate file's path, or the
    PEM (or DER) bytes of each certificate."""
    from asn1crypto import pem  # type: ignore[import-untyped]
    from asn1crypto import x509 as asn1_x509

    if isinstance(trusted, str):
        if not os.path.isfile(trusted):
            raise NotFound(_("no seal certificate {path}").format(path=trusted))
        with open(trusted, "rb") as file:
            trusted = [file.read()]
    found = []
    for data in trusted:
        der = pem.unarmor(data)[2] if pem.detect(data) else data
        found.append(asn1_x509.Certificate.load(der))
    return found


def check_seal(pdf: bytes, trusted: str | Sequence[bytes], *, name: str = "file") -> SealVerdict:
    """What the firm's seal on ``pdf`` says, by pyHanko's validator trusting the
    firm's certificates alone (``trusted``: a path, or each certificate's bytes).
    InvalidData if ``pdf`` is not a readable PDF.

    Each certificate is its own trust anchor, and an anchor's dates are not checked
    (RFC 5280 §6.1): a seal still checks intact after the ten years are over."""
    _pyhanko()
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    reader = _reader(pdf, name)
    try:
        sigs = reader.embedded_signatures
    except Exception as exc:  # a damaged form tree
        raise InvalidData(
            name, _("a damaged PDF, its signatures cannot be read ({detail})").format(detail=exc)
        ) from None
    ours = [s for s in sigs if s.field_name == FIELD_NAME]
    if not ours:
        return SealVerdict("unsealed", False, False, None, None, _("the file carries no seal"))
    firm = certificates(trusted)
    context = ValidationContext(trust_roots=firm, allow_fetching=False)
    status = validate_pdf_signature(ours[-1], context)
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    signer = status.signing_cert.subject.native.get("common_name")
    at = status.signer_reported_dt
    if not (status.intact and status.valid):
        return SealVerdict(
            "altered", False, whole, signer, at,
            _("the file was changed after sealing: the seal no longer matches its content"),
        )  # fmt: skip
    if status.signing_cert.dump() not in {c.dump() for c in firm}:
        return SealVerdict(
            "foreign", False, whole, signer, at,
            _("the seal is not this firm's: it was made by {signer}").format(signer=signer),
        )  # fmt: skip
    if not status.trusted:  # the firm's certificate, yet refused (its key usage, say)
        return SealVerdict(
            "untrusted", False, whole, signer, at,
            _("the validator does not accept the firm's seal certificate"),
        )  # fmt: skip
    if not whole:
        return SealVerdict(
            "appended", False, False, signer, at,
            _("bytes were added to the file after sealing"),
        )  # fmt: skip
    return SealVerdict("intact", True, True, signer, at, None)


# -- the firm's seals, recorded -----------------------------------------------------


def remember(db: sqlite3.Connection, cert_path: str, now: str) -> int:
    """Record the certificate at ``cert_path`` among the firm's seals (once; inside
    the caller's transaction); its id in sign_seals."""
    from asn1crypto import pem

    with open(cert_path, "rb") as file:
        data = file.read()
    der = pem.unarmor(data)[2] if pem.detect(data) else data
    digest = hashlib.sha256(der).hexdigest()
    db.execute(
        "INSERT INTO sign_seals (sha256, certificate, recorded_at) VALUES (?, ?, ?)"
        " ON CONFLICT (sha256) DO NOTHING",
        (digest, pem.armor("CERTIFICATE", der).decode("ascii"), now),
    )
    return int(db.execute("SELECT id FROM sign_seals WHERE sha256 = ?", (digest,)).fetchone()[0])


def firm_certificates(db: sqlite3.Connection) -> list[bytes]:
    """The PEM of every certificate the firm has sealed with, oldest first."""
    return [
        row[0].encode("ascii")
        for row in db.execute("SELECT certificate FROM sign_seals ORDER BY id")
    ]


# -- the firm's seal, configured ----------------------------------------------------


class SealService(Service):
    def init(self, directory: str) -> SealPaths:
        """Create the firm's seal in ``directory`` and point ``sign.seal_key`` at it."""
        from sempi_cli.services import settings
        from sempi_cli.store.transaction import on_rollback

        require_firm_admin(self.actor, N_("create the firm's seal"))
        with self.transaction():
            current = settings.get(self.db, "sign.seal_key")
            if current and os.path.exists(current):
                raise Conflict(
                    _("the firm already has a seal: {path}").format(path=current),
                    _("to make another, first clear the setting sign.seal_key"),
                )
            row = self.db.execute("SELECT name FROM firm").fetchone()
            paths = create_seal(directory, row[0] if row else "", self.clock)
            on_rollback(self.db, lambda: _remove(paths))
            settings.ConfigService(self.db, self.clock, self.actor).set("sign.seal_key", paths.key)
            remember(self.db, paths.certificate, self.now())
            self.audit("create", "seal", None, key=paths.key, certificate=paths.certificate)
        return paths

    def paths(self) -> SealPaths:
        """The configured seal (RuleViolation if none is)."""
        from sempi_cli.services import settings

        key = settings.get(self.db, "sign.seal_key")
        if not key:
            raise RuleViolation(
                _("the firm has no seal yet"),
                _("a firm administrator creates it with 'sempi sign seal init FOLDER'"),
            )
        return paths_for(key)


def _remove(paths: SealPaths) -> None:
    for path in (paths.key, paths.certificate):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
