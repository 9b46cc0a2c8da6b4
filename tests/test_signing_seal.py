"""The firm's seal (services/signing/seal.py) and the certificate of completion
(services/signing/certificate.py): real keys, real PDFs, pyHanko's own validator."""

from __future__ import annotations

import io
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sempi_cli.clock import FixedClock
from sempi_cli.errors import Conflict, InvalidData, NotFound, PermissionDenied, RuleViolation
from sempi_cli.services.signing import seal as sealing
from sempi_cli.services.signing.certificate import both_times, certificate_page
from sempi_cli.services.signing.seal import (
    SealPaths,
    SealService,
    check_seal,
    create_seal,
    seal,
)
from tests.conftest import NOW

WHEN = NOW + timedelta(days=3, hours=2)


def one_page(text: str = "Lettera d'incarico: Rossi Srl") -> bytes:
    from fpdf import FPDF

    doc = FPDF()
    doc.set_creation_date(NOW)  # the same bytes every time
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text=text)
    return bytes(doc.output())


@pytest.fixture(scope="module")
def firm_seal(tmp_path_factory: pytest.TempPathFactory) -> SealPaths:
    folder = tmp_path_factory.mktemp("seal", numbered=True) / "sigillo"
    return create_seal(str(folder), "Studio Café Srl", FixedClock(NOW))


@pytest.fixture(scope="module")
def sealed(firm_seal: SealPaths) -> bytes:
    return seal(
        one_page(), firm_seal.key, firm_seal.certificate,
        reason="Sigillo della società", location="Milano", when=WHEN,
    )  # fmt: skip


def pyhanko_status(pdf: bytes, cert_path: str):
    """pyHanko's validator, called here directly, not through sempi."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    sig = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures[0]
    context = ValidationContext(trust_roots=[load_cert_from_pemder(cert_path)])
    return validate_pdf_signature(sig, context)


# -- the key and its certificate ----------------------------------------------------


def test_the_key_is_0600_pkcs8_and_the_certificate_names_the_firm(firm_seal: SealPaths) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    assert stat.S_IMODE(os.stat(firm_seal.key).st_mode) == 0o600
    assert firm_seal.key.endswith("/sigillo-sempi.key")
    assert firm_seal.certificate == firm_seal.key[: -len(".key")] + ".crt"
    assert Path(firm_seal.key).read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
    cert = x509.load_pem_x509_certificate(Path(firm_seal.certificate).read_bytes())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "Studio Café Srl — sigillo sempi"
    assert cert.issuer == cert.subject  # self-signed
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc == NOW.replace(year=NOW.year + 10)


def test_the_key_is_0600_even_under_an_open_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        paths = create_seal(str(tmp_path / "k"), "Studio Rossi", FixedClock(NOW))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(paths.key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "k").st_mode) == 0o700


def test_an_existing_key_is_refused_and_left_alone(tmp_path: Path) -> None:
    paths = create_seal(str(tmp_path), "Studio Rossi", FixedClock(NOW))
    before = Path(paths.key).read_bytes(), Path(paths.certificate).read_bytes()
    with pytest.raises(Conflict, match="already exists"):
        create_seal(str(tmp_path), "Studio Rossi", FixedClock(NOW))
    assert (Path(paths.key).read_bytes(), Path(paths.certificate).read_bytes()) == before


def test_a_left_over_certificate_is_refused_and_no_key_remains(tmp_path: Path) -> None:
    (tmp_path / "sigillo-sempi.crt").write_text("old")
    with pytest.raises(Conflict):
        create_seal(str(tmp_path), "Studio Rossi", FixedClock(NOW))
    assert sorted(os.listdir(tmp_path)) == ["sigillo-sempi.crt"]


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_a_folder_others_may_write_is_refused(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    with pytest.raises(RuleViolation, match="may be written by others"):
        create_seal(str(folder), "Studio Rossi", FixedClock(NOW))
    assert os.listdir(folder) == []


def test_a_folder_one_may_not_write_is_one_clear_error(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root writes anywhere: the system refuses as it would anyone else
        real_open = os.open

        def refused(path, flags, *args, **kwargs):
            if str(path).startswith(str(folder)):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refused)
    with pytest.raises(InvalidData, match="Permission denied"):
        create_seal(str(folder), "Studio Rossi", FixedClock(NOW))
    assert os.listdir(folder) == []


def test_a_file_in_the_way_of_the_folder_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidData, match="Not a directory"):
        create_seal(str(tmp_path / "file" / "sigillo"), "Studio Rossi", FixedClock(NOW))


def test_a_firm_without_a_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidData):
        create_seal(str(tmp_path), "  ", FixedClock(NOW))
    assert os.listdir(tmp_path) == []


# -- sealing and checking -------------------------------------------------------------


def test_a_sealed_pdf_checks_intact(firm_seal: SealPaths, sealed: bytes) -> None:
    verdict = check_seal(sealed, firm_seal.certificate)
    assert verdict.outcome == "intact"
    assert verdict.intact and verdict.covers_whole_file
    assert verdict.signer == "Studio Café Srl — sigillo sempi"
    assert verdict.signed_at == WHEN
    assert verdict.problem is None
    status = pyhanko_status(sealed, firm_seal.certificate)
    assert status.bottom_line and status.intact and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"


def test_the_seal_is_pades_an_incremental_update_timed_by_when(sealed: bytes) -> None:
    original = one_page()
    # An incremental update: the original bytes, untouched, then the seal's revision.
    assert sealed.startswith(original)
    assert b"/SubFilter /ETSI.CAdES.detached" in sealed
    assert b"/T (SigilloSempi)" in sealed
    assert b"/M (D\\07220261119113000Z)" in sealed  # WHEN, not the machine's clock
    assert b'xmp:ModifyDate="2026-11-19T11:30:00+00:00"' in sealed
    assert b"/Reason (Sigillo della societ" in sealed


def test_one_byte_changed_inside_the_document_is_altered(
    firm_seal: SealPaths, sealed: bytes
) -> None:
    at = sealed.index(b"stream\n") + len(b"stream\n") + 10  # inside the page's content
    altered = bytearray(sealed)
    altered[at] ^= 0x01
    verdict = check_seal(bytes(altered), firm_seal.certificate)
    assert verdict.outcome == "altered"
    assert not verdict.intact
    assert "changed after sealing" in (verdict.problem or "")
    # pyHanko itself: the digest no longer matches ("cryptographically unsound").
    status = pyhanko_status(bytes(altered), firm_seal.certificate)
    assert not status.intact and not status.bottom_line


def test_bytes_appended_after_eof_are_not_intact(firm_seal: SealPaths, sealed: bytes) -> None:
    appended = sealed + b"x"
    verdict = check_seal(appended, firm_seal.certificate)
    assert verdict.outcome == "appended"
    assert not verdict.intact and not verdict.covers_whole_file
    assert "added" in (verdict.problem or "")
    # pyHanko itself: the signed bytes are sound and its bottom line is yes; only the
    # coverage tells: the signature covers the revision, not the whole file.
    status = pyhanko_status(appended, firm_seal.certificate)
    assert status.intact and status.bottom_line
    assert status.coverage.name == "ENTIRE_REVISION"


def test_a_pdf_without_a_seal_is_unsealed(firm_seal: SealPaths) -> None:
    verdict = check_seal(one_page(), firm_seal.certificate)
    assert verdict.outcome == "unsealed"
    assert not verdict.intact and verdict.signer is None and verdict.signed_at is None


def test_another_firms_seal_is_not_ours(tmp_path: Path, firm_seal: SealPaths) -> None:
    theirs = create_seal(str(tmp_path), "Altro Studio", FixedClock(NOW))
    pdf = seal(one_page(), theirs.key, theirs.certificate, reason="r", location="Roma", when=WHEN)
    verdict = check_seal(pdf, firm_seal.certificate)
    assert verdict.outcome == "foreign" and not verdict.intact
    assert verdict.signer == "Altro Studio — sigillo sempi"
    assert check_seal(pdf, theirs.certificate).outcome == "intact"


def test_a_sealed_pdf_is_not_sealed_twice(firm_seal: SealPaths, sealed: bytes) -> None:
    with pytest.raises(Conflict, match="already sealed"):
        seal(sealed, firm_seal.key, firm_seal.certificate, reason="r", location="R", when=WHEN)


def test_a_key_others_may_read_is_refused(tmp_path: Path) -> None:
    paths = create_seal(str(tmp_path), "Studio Rossi", FixedClock(NOW))
    os.chmod(paths.key, 0o640)
    with pytest.raises(RuleViolation, match="chmod 600"):
        seal(one_page(), paths.key, paths.certificate, reason="r", location="R", when=WHEN)


def test_a_missing_key_or_a_certificate_of_another_key(
    tmp_path: Path, firm_seal: SealPaths
) -> None:
    with pytest.raises(NotFound, match="sign seal init"):
        seal(one_page(), str(tmp_path / "none.key"), firm_seal.certificate,
             reason="r", location="R", when=WHEN)  # fmt: skip
    other = create_seal(str(tmp_path), "Altro", FixedClock(NOW))
    with pytest.raises(InvalidData, match="not the seal key's"):
        seal(one_page(), firm_seal.key, other.certificate, reason="r", location="R", when=WHEN)


NOT_PDFS = [
    (b"", "empty"),
    (b"PK\x03\x04 a zip file, not a PDF", "does not begin with %PDF-"),
    ("Fattura n. 12, totale 100 €\n".encode(), "does not begin with %PDF-"),
    (b"%PDF-1.7\n%garbage and nothing else\n", "damaged PDF"),
]


@pytest.mark.parametrize(("data", "problem"), NOT_PDFS)
def test_not_a_pdf_is_one_clear_error(firm_seal: SealPaths, data: bytes, problem: str) -> None:
    for call in (
        lambda: check_seal(data, firm_seal.certificate, name="fattura.pdf"),
        lambda: seal(
            data,
            firm_seal.key,
            firm_seal.certificate,
            reason="r",
            location="R",
            when=WHEN,
            name="fattura.pdf",
        ),  # fmt: skip
        lambda: certificate_page(data, [], title="t", name="fattura.pdf"),
    ):
        with pytest.raises(InvalidData) as caught:
            call()
        assert caught.value.field == "fattura.pdf"
        assert problem in caught.value.problem
        assert "\n" not in str(caught.value)


def test_a_truncated_sealed_pdf_is_not_intact_or_is_damaged(
    firm_seal: SealPaths, sealed: bytes
) -> None:
    try:
        verdict = check_seal(sealed[: len(sealed) // 2], firm_seal.certificate)
    except InvalidData as exc:
        assert "damaged" in exc.problem
    else:
        assert not verdict.intact


@settings(max_examples=40)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_verdict_or_invalid_data(firm_seal: SealPaths, tail: bytes) -> None:
    """Whatever follows a PDF header, the check answers or names the problem: it never
    fails any other way."""
    for data in (b"%PDF-1.4\n" + tail, tail):
        try:
            verdict = check_seal(data, firm_seal.certificate)
        except InvalidData:
            continue
        assert not verdict.intact


# -- the certificate of completion ----------------------------------------------------


def page_texts(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


SHA = "3f" * 32


def lines() -> list[tuple[str, str]]:
    return [
        ("Richiesta", "n. 12"),
        ("Firmatario", "Mario Rossi (mario.rossi@cliente.test): " + both_times(WHEN)),
        ("SHA-256 prima della firma", SHA),
    ]


def test_the_certificate_page_is_appended_in_italian() -> None:
    out = certificate_page(one_page(), lines(), title="Lettera d'incarico — Rossi Srl")
    texts = page_texts(out)
    assert len(texts) == 2
    assert "Lettera d'incarico: Rossi Srl" in texts[0]
    page = texts[1]
    for expected in (
        "Certificato di completamento",
        "Lettera d'incarico — Rossi Srl",
        "n. 12",
        "Mario Rossi",
        "19/11/2026 12:30:00 Europe/Rome (2026-11-19 11:30:00 UTC)",
        SHA,
        "sempi sign verify FILE",
        "firma elettronica semplice",
        "art. 3 n. 10",
        "art. 25 Reg. UE 910/2014",
        "art. 20 c. 1-bis CAD",
    ):
        assert expected in page.replace("\n", " "), expected
    flat = " ".join(page.split())
    assert "Non è una firma elettronica qualificata né una firma digitale" in flat


def test_a_certificate_of_many_signers_keeps_every_page() -> None:
    many = [(f"Firmatario {n}", f"Persona {n} — " + both_times(WHEN)) for n in range(1, 41)]
    out = certificate_page(one_page(), many, title="Verbale di assemblea")
    texts = page_texts(out)
    assert len(texts) > 2
    flat = " ".join(" ".join(texts[1:]).split())
    assert all(f"Persona {n} " in flat for n in range(1, 41))
    assert "firma elettronica semplice" in flat  # the closing words, on the last page


def test_the_certificate_page_in_english_still_names_the_italian_signature() -> None:
    page = " ".join(
        page_texts(certificate_page(one_page(), lines(), title="T", language="en"))[1].split()
    )
    assert "Certificate of completion" in page
    assert "simple electronic signature (firma elettronica semplice" in page
    assert "It is not a qualified electronic signature, nor a digital signature" in page


def test_the_certificate_page_is_the_same_bytes_every_time() -> None:
    """The evidence records the hash of the document with its certificate."""
    first = certificate_page(one_page(), lines(), title="Mandato")
    assert certificate_page(one_page(), lines(), title="Mandato") == first


def test_certificate_then_seal_checks_intact(firm_seal: SealPaths) -> None:
    document = certificate_page(one_page(), lines(), title="Mandato")
    sealed = seal(document, firm_seal.key, firm_seal.certificate,
                  reason="r", location="Milano", when=WHEN)  # fmt: skip
    assert check_seal(sealed, firm_seal.certificate).outcome == "intact"
    assert len(page_texts(sealed)) == 2


def test_a_sealed_document_gets_no_certificate_page(sealed: bytes) -> None:
    with pytest.raises(Conflict, match="comes before the seal"):
        certificate_page(sealed, lines(), title="Mandato")


def test_both_times_in_summer() -> None:
    assert both_times(datetime(2026, 7, 1, 8, 0, tzinfo=UTC)) == (
        "01/07/2026 10:00:00 Europe/Rome (2026-07-01 08:00:00 UTC)"
    )


# -- the firm's seal, configured --------------------------------------------------------


def test_a_firm_administrator_creates_the_seal_and_the_setting_names_it(
    db, clock, admin, firm, tmp_path: Path
) -> None:
    from sempi_cli.services import settings as config

    assert config.get(db, "sign.seal_key") == ""
    service = SealService(db, clock, admin)
    paths = service.init(str(tmp_path / "sigillo"))
    assert config.get(db, "sign.seal_key") == paths.key
    assert service.paths() == paths
    audit = db.execute("SELECT action, object_type FROM audit_log ORDER BY id DESC").fetchall()
    assert ("create", "seal") in [tuple(r) for r in audit]
    with pytest.raises(Conflict, match="already has a seal"):
        service.init(str(tmp_path / "altro"))
    assert not (tmp_path / "altro" / "sigillo-sempi.key").exists()


def test_only_a_firm_administrator_creates_the_seal(db, clock, org, tmp_path: Path) -> None:
    from tests.conftest import actor

    org.staff("doer@sempi.test")
    with pytest.raises(PermissionDenied):
        SealService(db, clock, actor(db, "doer@sempi.test")).init(str(tmp_path / "sigillo"))
    assert not (tmp_path / "sigillo").exists()


def test_no_seal_configured_says_how_to_make_one(db, clock, admin) -> None:
    with pytest.raises(RuleViolation, match="sign seal init"):
        SealService(db, clock, admin).paths()


def test_the_setting_takes_an_absolute_path_only(db, clock, admin) -> None:
    from sempi_cli.services.settings import ConfigService

    service = ConfigService(db, clock, admin)
    with pytest.raises(InvalidData, match="not an absolute path"):
        service.set("sign.seal_key", "sigillo/sigillo-sempi.key")
    assert service.set("sign.seal_key", "/srv/sempi//sigillo/sigillo-sempi.key") == (
        "/srv/sempi/sigillo/sigillo-sempi.key"
    )
    assert service.set("sign.seal_key", "") == ""


def test_paths_for_puts_the_certificate_beside_the_key() -> None:
    assert sealing.paths_for("/srv/k/seal.pem") == SealPaths("/srv/k/seal.pem", "/srv/k/seal.crt")
