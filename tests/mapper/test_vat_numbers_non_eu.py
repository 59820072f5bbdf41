"""Norwegian and Swiss customers are common in eAccounting (eKonomi): their VAT numbers are
outside the EU scheme and must still validate (found by the chaos suite's seeded data)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from koppel.mapper.domain.transforms import t_vat_number

CTX: Any = SimpleNamespace(record="Customer 7")


def test_norwegian_mva_number_is_accepted_and_compacted() -> None:
    assert t_vat_number(CTX, "NO 974 760 673 MVA") == "NO974760673MVA"


def test_eu_number_still_validated() -> None:
    assert t_vat_number(CTX, "NL004495445B01") == "NL004495445B01"


@pytest.mark.parametrize("number", ["NO974760674MVA", "BE0619242824"])
def test_bad_checksums_are_refused_with_the_kind_of_number(number: str) -> None:
    with pytest.raises(Exception, match="not a valid"):
        t_vat_number(CTX, number)
