"""Number, VAT, date, country and validation transforms: examples and properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koppel.mapper.domain.countries import country_code, country_name
from koppel.mapper.domain.errors import InvalidValue, MappingError
from koppel.mapper.domain.transforms import (
    EvalContext,
    t_ean,
    t_excl_vat,
    t_format_date,
    t_format_number,
    t_incl_vat,
    t_number,
    t_round,
    t_vat_number,
)
from koppel.mapper.domain.valuemaps import ValueMaps, rate_key

CTX = EvalContext(ValueMaps(), "Order 1")
amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000000"), places=2).map(float)
rates = st.sampled_from([0, 5.5, 6, 9, 10, 19, 20, 21, 25])


@given(amounts, rates)
def test_incl_then_excl_vat_round_trips_to_the_cent(amount: float, rate: float) -> None:
    assert abs(t_excl_vat(CTX, t_incl_vat(CTX, amount, rate), rate) - amount) <= 0.011


@given(amounts, rates)
def test_incl_vat_is_never_less_than_the_amount(amount: float, rate: float) -> None:
    assert t_incl_vat(CTX, amount, rate) >= amount


@given(amounts)
def test_fraction_and_percent_rates_agree(amount: float) -> None:
    assert t_incl_vat(CTX, amount, 0.21) == t_incl_vat(CTX, amount, 21)


@given(
    st.one_of(st.integers(), st.floats(), st.text(max_size=10), st.none(), st.booleans()),
    st.integers(-5, 20),
)
def test_numbers_raise_only_mapping_errors(value: object, digits: int) -> None:
    for fn in (
        lambda: t_round(CTX, value, digits),
        lambda: t_format_number(CTX, value, digits),
        lambda: t_number(CTX, value),
        lambda: t_incl_vat(CTX, value, 21),
    ):
        try:
            fn()
        except MappingError:
            pass


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=3))
def test_round_is_half_up_to_two_places(value: Decimal) -> None:
    expected = float(value.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))
    assert t_round(CTX, str(value), 2) == expected


def test_round_half_up_not_bankers() -> None:
    assert t_round(CTX, 2.675, 2) == 2.68
    assert t_round(CTX, "0,125", 2) == 0.13
    assert t_format_number(CTX, 1234.5, 2, ",") == "1234,50"


def test_bad_numbers_and_rates_say_so() -> None:
    with pytest.raises(InvalidValue, match="needs a number"):
        t_number(CTX, "twaalf")
    with pytest.raises(InvalidValue, match="not a VAT rate"):
        t_incl_vat(CTX, 10, 150)


@given(st.integers(0, 10**11))
def test_generated_ean13_validate(body: int) -> None:
    digits = f"{body:012d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    code = digits + str((10 - total % 10) % 10)
    assert t_ean(CTX, code) == code
    wrong = digits + str((int(code[-1]) + 1) % 10)
    with pytest.raises(InvalidValue):
        t_ean(CTX, wrong)


@given(st.text(max_size=20))
def test_ean_and_vat_raise_only_mapping_errors(text: str) -> None:
    for fn in (t_ean, t_vat_number):
        try:
            fn(CTX, text)
        except MappingError:
            pass


@pytest.mark.parametrize(
    "number", ["NL004495445B01", "BE0776091951", "DE136695976", "nl 0044.95445.B01"]
)
def test_valid_vat_numbers(number: str) -> None:
    assert t_vat_number(CTX, number).startswith(number[:2].upper())


def test_dates() -> None:
    assert t_format_date(CTX, "2024-05-01T10:00:00Z", "%d-%m-%Y") == "01-05-2024"
    assert t_format_date(CTX, "01/05/2024", "%Y-%m-%d", "%d/%m/%Y") == "2024-05-01"
    with pytest.raises(InvalidValue, match="needs a date"):
        t_format_date(CTX, "gisteren")
    with pytest.raises(InvalidValue, match="not supported"):
        t_format_date(CTX, "2024-05-01", "%Q%Z")


def test_countries() -> None:
    assert country_code("Nederland") == "NL"
    assert country_code("belgium") == "BE"
    assert country_code("de") == "DE"
    assert country_code("Atlantis") is None
    assert country_name("BE") == "Belgium"
    assert country_name("BE", "nl") == "België"


@pytest.mark.parametrize(
    ("rate", "key"), [(21, "21"), (21.0, "21"), (0.21, "21"), (5.5, "5.5"), (None, "0"), ("9", "9")]
)
def test_rate_keys(rate: object, key: str) -> None:
    assert rate_key(rate) == key  # type: ignore[arg-type]
