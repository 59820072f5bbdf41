"""Seeded customers carry VAT numbers that pass their country's checksum, like real ones
(a mapper that validates VAT numbers must accept every seeded customer)."""

from __future__ import annotations

import random

import pytest
from stdnum.eu import vat as eu_vat
from stdnum.no import mva

from koppel.sandbox.common.people import _vat_number


@pytest.mark.parametrize("country", ["NL", "BE", "DE", "SE", "NO"])
def test_seeded_vat_numbers_are_valid(country: str) -> None:
    rng = random.Random(7)
    numbers = [_vat_number(rng, country) for _ in range(300)]
    validate = mva.is_valid if country == "NO" else eu_vat.is_valid
    assert [n for n in numbers if not validate(n)] == []
    assert all(n.startswith(country) for n in numbers)
    assert len(set(numbers)) > 250  # still random, not one fixed number
