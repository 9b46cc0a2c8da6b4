"""The placeholders of signature templates: check, fill, the Italian date."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.errors import InvalidData
from sempi_cli.services.signing.placeholders import (
    PLACEHOLDERS,
    check,
    fill,
    italian_date,
    names_joined,
    values_for,
)

KNOWN = sorted(PLACEHOLDERS)
# Text around placeholders: anything but braces (a brace next to a placeholder would
# make another one), newlines included.
plain = st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), max_size=40)
spaces = st.text(" ", max_size=3)
values = st.fixed_dictionaries(
    {name: st.text(st.characters(blacklist_characters="{}"), max_size=20) for name in KNOWN}
)


@st.composite
def templates(draw):
    """A text with known placeholders, and the names in the order used."""
    parts, used = [draw(plain)], []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(KNOWN))
        parts.append("{{" + draw(spaces) + name + draw(spaces) + "}}")
        parts.append(draw(plain))
        used.append(name)
    return "".join(parts), list(dict.fromkeys(used))


def test_the_names_used_each_once_in_order():
    text = "{{today}} {{ client.ragione_sociale }} {{today}} {{client.pec}}"
    assert check(text) == ["today", "client.ragione_sociale", "client.pec"]


def test_a_text_without_placeholders_uses_none():
    assert check("Gentile cliente, } e { e }} da soli sono testo.") == []


def test_every_unknown_placeholder_is_named():
    with pytest.raises(InvalidData) as caught:
        check("{{clinet.pec}} e {{ foo }} e {{today}} e {{clinet.pec}}")
    error = caught.value
    assert error.field == "FILE"
    assert "unknown placeholders {{clinet.pec}}, {{foo}}" in error.message
    assert "client.pec" in error.hint  # the known ones, to correct the typo


def test_names_are_exact_case_matters():
    with pytest.raises(InvalidData, match="Today"):
        check("{{Today}}")


def test_an_unclosed_opening_is_refused_with_its_line():
    with pytest.raises(InvalidData, match="line 2 is not closed") as caught:
        check("Oggi {{today}}\nper {{client.ragione_sociale\n}} fine")
    assert "unknown" not in caught.value.message


def test_unknown_and_unclosed_are_both_said():
    with pytest.raises(InvalidData) as caught:
        check("{{nope}} {{today")
    assert "{{nope}}" in caught.value.message and "line 1" in caught.value.message


def test_an_empty_placeholder_is_unknown():
    with pytest.raises(InvalidData, match=r"\{\{\}\}"):
        check("{{ }}")


@given(templates(), values)
def test_fill_leaves_no_known_placeholder(template, given_values):
    text, _used = template
    out = fill(text, given_values)
    for name in KNOWN:
        assert "{{" + name + "}}" not in out


@given(templates())
def test_check_finds_exactly_the_names_used(template):
    text, used = template
    assert check(text) == used


@given(
    templates(),
    st.text(
        st.characters(categories=("Ll", "Nd"), include_characters="._ "), min_size=0, max_size=20
    ),
)
def test_check_refuses_any_unknown_name(template, name):
    text, _used = template
    if name.strip() in PLACEHOLDERS:
        return
    with pytest.raises(InvalidData) as caught:
        check(text + "{{" + name + "}}")
    assert "{{" + name.strip() + "}}" in caught.value.message


@given(templates())
def test_filling_each_name_with_itself_gives_the_text_back(template):
    """Round trip: a placeholder filled with its own spelling is the text, spaces aside."""
    text, _used = template
    back = fill(text, {name: "{{" + name + "}}" for name in KNOWN})
    assert back == fill(back, {name: "{{" + name + "}}" for name in KNOWN})
    assert check(back) == check(text)


@given(plain, values)
def test_text_without_placeholders_is_unchanged(text, given_values):
    assert fill(text, given_values) == text


def test_a_value_is_not_read_again_for_placeholders():
    out = fill("{{client.ragione_sociale}} - {{today}}", {
        "client.ragione_sociale": "Alfa {{today}} Srl", "today": "16 marzo 2026"
    })  # fmt: skip
    assert out == "Alfa {{today}} Srl - 16 marzo 2026"


def test_italian_dates():
    assert italian_date(date(2026, 3, 16)) == "16 marzo 2026"
    assert italian_date(date(2026, 12, 1)) == "1° dicembre 2026"
    assert italian_date(date(2027, 8, 31)) == "31 agosto 2027"


def test_signers_joined_the_italian_way():
    assert names_joined([]) == ""
    assert names_joined(["Mario Rossi"]) == "Mario Rossi"
    assert names_joined(["A", "B", "C"]) == "A, B e C"


def test_values_cover_every_placeholder_on_one_line():
    client = {"ragione_sociale": "Società\nAlfa  Srl", "codice_fiscale": "01234567890",
              "partita_iva": "01234567890", "email": None, "pec": "alfa@pec.it"}  # fmt: skip
    got = values_for(client=client, studio=None, firm_name="Sempi Srl",
                     today=date(2026, 3, 16), signers=["Mario Rossi", "Anna Bianchi"])  # fmt: skip
    assert set(got) == set(PLACEHOLDERS)
    assert got["client.ragione_sociale"] == "Società Alfa Srl"
    assert got["client.email"] == "" and got["studio.name"] == ""
    assert got["signer.names"] == "Mario Rossi e Anna Bianchi"
    assert got["today"] == "16 marzo 2026"
