"""Saved mapping documents and value maps: validation with exact locations."""

from __future__ import annotations

import pytest

from koppel.mapper.domain.errors import MappingDefinitionError
from koppel.mapper.domain.mapping import compile_mapping, default_document
from koppel.mapper.domain.valuemap_rules import normalise_value_map


def problems(flow: str, document: dict[str, object]) -> dict[str, str]:
    with pytest.raises(MappingDefinitionError) as caught:
        compile_mapping(flow, document)
    return {p.location: p.message for p in caught.value.problems}


def test_every_flow_has_a_valid_default() -> None:
    for flow in ("orders", "customers", "products", "stock"):
        assert compile_mapping(flow, default_document(flow)).version == 0


def test_locations_name_the_section_and_field() -> None:
    found = problems(
        "customers",
        {
            "settings": {"collective_acount": "1300"},
            "fields": {
                "CONTACT.ACCT_NAME": "upper(source.Nam)",
                "CONTACT.lower": "'x'",
                "SO_HDR.COMMENT1": "'x'",
            },
            "extra": {},
        },
    )
    assert found["settings.collective_acount"].startswith("Extra inputs")
    assert found["fields.CONTACT.ACCT_NAME"] == "unknown source field 'Nam' (did you mean 'Name'?)"
    assert "not an AccountView column name" in found["fields.CONTACT.lower"]
    assert "TABLE one of CONTACT" in found["fields.SO_HDR.COMMENT1"]
    assert "extra" in found


def test_products_accept_uppercase_article_columns_and_writable_fields_only() -> None:
    compile_mapping(
        "products", {"fields": {"NameEnglish": "source.K1_NAME_EN", "Note": "source.ART_DESC2"}}
    )
    found = problems(
        "products", {"fields": {"Name": "source.art_desc1", "StockBalanceAvailable": "1"}}
    )
    assert found["fields.Name"].startswith("unknown source field 'art_desc1'")
    assert found["fields.StockBalanceAvailable"] == "not a writable eAccounting article field"


def test_settings_root_is_checked() -> None:
    found = problems("orders", {"fields": {"SO_HDR.COMMENT2": "settings.sales_jurnal_code"}})
    assert "did you mean 'sales_journal_code'" in found["fields.SO_HDR.COMMENT2"]


def test_unknown_flow() -> None:
    assert "unknown flow" in problems("invoices", {})["flow"]


def test_value_map_rules() -> None:
    stored = normalise_value_map("revenue_accounts", {"nl": "8000", "BE": 8100}, None)
    assert stored == {"entries": {"NL": "8000", "BE": 8100}, "default": None}
    with pytest.raises(MappingDefinitionError) as caught:
        normalise_value_map("vat_rates", {"1": 150, "2": "x"}, None)
    assert {p.location for p in caught.value.problems} == {"entries.1", "entries.2"}
    with pytest.raises(MappingDefinitionError, match="ISO country"):
        normalise_value_map("vat_codes", {"XX:21": "2"}, None)
    with pytest.raises(MappingDefinitionError, match="longer than the 10 characters"):
        normalise_value_map("default_debtor", {}, "12345678901")
