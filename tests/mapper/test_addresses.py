"""Street splitting and postcode normalisation: examples and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koppel.mapper.domain.addresses import normalise_email, normalise_postcode, split_street


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Dorpsstraat 12a-2", ("Dorpsstraat", "12", "a-2")),
        ("Laan van Meerdervoort 1001 A", ("Laan van Meerdervoort", "1001", "A")),
        ("Postbus 12", ("Postbus", "12", "")),
        ("Plein 1940-1945 12", ("Plein 1940-1945", "12", "")),
        ("1e Jan Steenstraat 5", ("1e Jan Steenstraat", "5", "")),
        ("2e Hugo de Grootstraat 12 III", ("2e Hugo de Grootstraat", "12", "III")),
        ("Kerkstraat 5 - 7", ("Kerkstraat", "5", "7")),
        ("Straat 12 bis", ("Straat", "12", "bis")),
        ("Dorpsstraat 12-14", ("Dorpsstraat", "12", "14")),
        ("Bahnhofstr. 7/3", ("Bahnhofstr.", "7", "3")),
        ("12 Main Street", ("Main Street", "12", "")),
        ("Rue de la Loi 16", ("Rue de la Loi", "16", "")),
        ("  Kerkstraat   7  ", ("Kerkstraat", "7", "")),
        ("Kerkstraat", ("Kerkstraat", "", "")),
        ("", ("", "", "")),
    ],
)
def test_split_street_examples(line: str, expected: tuple[str, str, str]) -> None:
    assert tuple(split_street(line)) == expected


streets = st.lists(
    st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu")), min_size=2, max_size=12),
    min_size=1,
    max_size=4,
).map(" ".join)


@given(
    streets,
    st.integers(min_value=1, max_value=99999),
    st.sampled_from(["", "a", "A", "bis", "hs", "-2", "III", "b-3"]),
)
def test_split_street_recovers_street_number_and_addition(
    street: str, number: int, addition: str
) -> None:
    separator = "" if addition[:1] in ("a", "b", "-") and addition != "bis" else " "
    line = f"{street} {number}{separator}{addition}".strip()
    parts = split_street(line)
    assert parts.street == street
    assert parts.number == str(number)
    assert parts.addition == addition.lstrip("-")


@given(st.text(max_size=120))
def test_split_street_is_total_and_loses_no_digits_of_the_number(line: str) -> None:
    parts = split_street(line)
    assert parts.number == "" or parts.number.isdigit()
    assert all(token in line for token in parts.street.split())
    assert parts.number in line
    assert all(token in line for token in parts.addition.split())


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("1234ab", "NL", "1234 AB"),
        (" 1234  ab ", "NL", "1234 AB"),
        ("1234 AB", None, "1234 AB"),
        ("0123 AB", "NL", "0123 AB"),
        ("1000", "BE", "1000"),
        ("sw1a 1aa", "GB", "SW1A 1AA"),
        (None, "NL", ""),
    ],
)
def test_postcodes(raw: str | None, country: str | None, expected: str) -> None:
    assert normalise_postcode(raw, country) == expected


@given(st.from_regex(r"[1-9][0-9]{3} ?[A-Za-z]{2}", fullmatch=True))
def test_dutch_postcodes_always_become_four_digits_space_two_letters(raw: str) -> None:
    out = normalise_postcode(raw, "NL")
    assert len(out) == 7
    assert out[4] == " "
    assert out[:4].isdigit()
    assert out[5:].isupper()
    assert normalise_postcode(out, "NL") == out


def test_email_normalisation() -> None:
    assert normalise_email("  Jan@Example.NL ") == "jan@example.nl"
    assert normalise_email(None) == ""
