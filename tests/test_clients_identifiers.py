"""Italian identifiers and e-mail addresses (sempi_cli.services.identifiers).

Valid codes are built the way the Agenzia delle Entrate builds them (check
digits from python-stdnum), so the properties hold for every code a real
client could have, not only for a handful of examples.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.it import codicefiscale as stdnum_cf

from sempi_cli.errors import InvalidData
from sempi_cli.services import identifiers

MONTHS = "ABCDEHLMPRST"
OMOCODIA = "LMNPQRSTUV"  # replaces the digits 0-9 when two people share a code
NUMERIC_POSITIONS = (6, 7, 9, 10, 12, 13, 14)  # year, day, comune number
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# --- strategies -------------------------------------------------------------


@st.composite
def partite_iva(draw: st.DrawFn) -> str:
    """7-digit progressive (not all zeros) + office code 001-100 + Luhn check digit."""
    progressive = draw(st.integers(1, 9_999_999))
    office = draw(st.integers(1, 100))
    base = f"{progressive:07d}{office:03d}"
    return base + luhn.calc_check_digit(base)


@st.composite
def codici_fiscali(draw: st.DrawFn) -> str:
    """A person's 16-character code: surname and name letters, birth date
    (day + 40 for women), month letter, a comune-like code, check character."""
    letters = draw(st.text(UPPER, min_size=6, max_size=6))
    born = draw(st.dates(date(1920, 1, 1), date(2019, 12, 31)))
    day = born.day + draw(st.sampled_from((0, 40)))
    comune = draw(st.sampled_from(UPPER)) + f"{draw(st.integers(0, 999)):03d}"
    body = f"{letters}{born.year % 100:02d}{MONTHS[born.month - 1]}{day:02d}{comune}"
    return body + stdnum_cf.calc_check_digit(body)


@st.composite
def omocodie(draw: st.DrawFn) -> str:
    """A valid code with some of its digits replaced by letters, check recomputed."""
    code = list(draw(codici_fiscali())[:15])
    for position in draw(st.sets(st.sampled_from(NUMERIC_POSITIONS), min_size=1)):
        code[position] = OMOCODIA[int(code[position])]
    body = "".join(code)
    return body + stdnum_cf.calc_check_digit(body)


LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
emails = st.builds(
    lambda local, labels, tld: ".".join(local) + "@" + ".".join(labels) + "." + tld,
    st.lists(LABEL, min_size=1, max_size=3),
    st.lists(
        st.builds(lambda a, b: f"{a}-{b}" if b else a, LABEL, LABEL | st.just("")),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(("it", "com", "eu", "org", "net")),
)


def random_case(lower: list[bool], text: str) -> str:
    flags = lower[: len(text)]
    return "".join(c.lower() if flip else c for c, flip in zip(text, flags, strict=True))


def assert_invalid(check, value: str, field: str, **options: bool) -> str:
    """``check(value)`` raises InvalidData naming ``field``; its text is returned."""
    with pytest.raises(InvalidData) as caught:
        check(value, field=field, **options)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    return str(caught.value)


# --- partita IVA ---------------------------------------------------------------


PADS = st.sampled_from(("", " ", "  \t"))


@given(partite_iva(), st.sampled_from(("", "IT", "it", "IT ", " ")), PADS)
def test_valid_partita_iva_validates_and_normalises(piva: str, prefix: str, pad: str) -> None:
    assert identifiers.partita_iva(piva) == piva
    assert identifiers.partita_iva(f"{pad}{prefix}{piva[:5]} {piva[5:]}{pad}") == piva
    # A company's codice fiscale is its partita IVA.
    assert identifiers.codice_fiscale(piva) == piva


@given(partite_iva(), st.integers(0, 10), st.integers(1, 9))
def test_any_single_digit_change_makes_a_partita_iva_invalid(piva: str, at: int, delta: int):
    changed = piva[:at] + str((int(piva[at]) + delta) % 10) + piva[at + 1 :]
    assert changed in assert_invalid(identifiers.partita_iva, changed, "--partita-iva")


@pytest.mark.parametrize("value", ["", "123", "1234567890", "123456789012", "0123456789A", "IT"])
def test_partita_iva_of_the_wrong_shape_names_the_field(value: str) -> None:
    assert "11 digits" in assert_invalid(identifiers.partita_iva, value, "--piva")


# --- codice fiscale ------------------------------------------------------------------


@given(codici_fiscali(), st.lists(st.booleans(), min_size=16, max_size=16), PADS)
def test_valid_codice_fiscale_validates_and_normalises(cf: str, lower: list[bool], pad: str):
    assert identifiers.codice_fiscale(cf) == cf
    assert identifiers.codice_fiscale(cf, person=True) == cf
    typed = f"{pad}{random_case(lower, cf[:8])} {random_case(lower[8:], cf[8:])}{pad}"
    assert identifiers.codice_fiscale(typed, person=True) == cf
    assert identifiers.codice_fiscale(cf.lower()) == cf


@given(codici_fiscali(), st.sampled_from(UPPER))
def test_a_wrong_check_character_makes_a_codice_fiscale_invalid(cf: str, check: str) -> None:
    if check == cf[-1]:
        check = UPPER[(UPPER.index(check) + 1) % 26]
    changed, check_cf = cf[:15] + check, identifiers.codice_fiscale
    assert "check character" in assert_invalid(check_cf, changed, "--codice-fiscale")
    assert "check character" in assert_invalid(check_cf, changed, "--cf", person=True)


@given(omocodie())
def test_omocodia_variants_are_valid(cf: str) -> None:
    assert any(c in OMOCODIA for c in (cf[i] for i in NUMERIC_POSITIONS))
    assert identifiers.codice_fiscale(cf, person=True) == cf
    assert identifiers.codice_fiscale(cf.lower()) == cf


@given(partite_iva())
def test_a_persons_codice_fiscale_refuses_a_company_code(piva: str) -> None:
    error = assert_invalid(identifiers.codice_fiscale, piva, "--codice-fiscale", person=True)
    assert "16 characters" in error


@pytest.mark.parametrize("value", ["", "RSSMRA85T10", "RSSMRA85T10F205XX", "RSSMRA85T10F20"])
def test_codice_fiscale_of_the_wrong_length_names_the_field(value: str) -> None:
    assert_invalid(identifiers.codice_fiscale, value, "--cf")


def test_an_impossible_birth_date_is_refused() -> None:
    body = "RSSMRA85B31F205"  # 31 February
    code = body + stdnum_cf.calc_check_digit(body)
    assert "birth date" in assert_invalid(identifiers.codice_fiscale, code, "--codice-fiscale")


# --- e-mail ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "mario.rossi@example.it",
        "nome.cognome@pec.studio-rossi.it",
        "Info@Bianchi-Costruzioni.IT",
        "amministrazione+fatture@legalmail.it",
        "  spazi.ai.bordi@pec.it  ",
    ],
)
def test_normal_and_pec_addresses_are_accepted_lower_case(address: str) -> None:
    assert identifiers.email(address, field="--pec") == address.strip().lower()


@given(emails, st.data())
def test_generated_addresses_are_stored_lower_case(address: str, data: st.DataObject) -> None:
    upper = data.draw(st.lists(st.booleans(), min_size=len(address), max_size=len(address)))
    typed = "".join(c.upper() if flip else c for c, flip in zip(address, upper, strict=True))
    assert identifiers.email(typed) == address


@pytest.mark.parametrize(
    "address",
    [
        "mario.rossi.example.it",
        "mario rossi@example.it",
        "mario@exam ple.it",
        "mario@example",
        "mario..rossi@example.it",
        "mario@example..it",
        "mario@",
        "@example.it",
        "mario@@example.it",
        "",
        "mario@example.i",
        "mario@-example.it",
    ],
)
def test_malformed_addresses_are_refused_naming_the_field(address: str) -> None:
    assert_invalid(identifiers.email, address, "--email")


# --- anything at all -------------------------------------------------------------


RESULTS = {  # what a value that passes looks like once normalised
    "--partita-iva": r"[0-9]{11}",
    "--codice-fiscale": r"[0-9]{11}|[A-Z0-9]{16}",
    "--cf": r"[A-Z0-9]{16}",
    "--email": r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9.-]+",
}


@settings(max_examples=300)
@given(
    st.text(max_size=40)
    | st.from_regex(r"\A(IT)?[0-9 ]{9,13}\Z")
    | st.from_regex(r"\A[A-Za-z0-9]{16}\Z")
    | st.from_regex(r"\A[a-z.]{1,8}@[a-z.-]{1,12}\Z")
)
def test_random_text_raises_nothing_but_invalid_data(text: str) -> None:
    for field, call in (
        ("--partita-iva", lambda: identifiers.partita_iva(text, field="--partita-iva")),
        ("--codice-fiscale", lambda: identifiers.codice_fiscale(text, field="--codice-fiscale")),
        ("--cf", lambda: identifiers.codice_fiscale(text, person=True, field="--cf")),
        ("--email", lambda: identifiers.email(text, field="--email")),
    ):
        try:
            result = call()
        except InvalidData as error:
            assert error.field == field
            assert str(error).startswith(f"{field}: ")
        else:
            assert re.fullmatch(RESULTS[field], result), (field, text, result)


@given(
    st.integers(1, 9_999_999), st.integers(101, 999).filter(lambda o: o not in (120, 121, 888, 999))
)
def test_a_bad_office_code_is_named_not_called_a_check_digit(progressive: int, office: int) -> None:
    from sempi_cli.services.identifiers import partita_iva

    base = f"{progressive:07d}{office:03d}"
    with pytest.raises(InvalidData) as caught:
        partita_iva(base + luhn.calc_check_digit(base))
    assert f"office code {office:03d}" in str(caught.value)
    assert "check digit" not in str(caught.value)


@given(partite_iva())
def test_a_wrong_check_digit_is_called_one(number: str) -> None:
    from sempi_cli.services.identifiers import partita_iva

    wrong = number[:10] + str((int(number[10]) + 1) % 10)
    with pytest.raises(InvalidData, match=r"\(check digit\)"):
        partita_iva(wrong)
