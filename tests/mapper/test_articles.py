"""Default article mapping: AccountView ARTICLE → eAccounting ArticleApi, validated against
the official spec's request schema (vendored in koppel.sandbox.eaccounting.spec)."""

from __future__ import annotations

from typing import Any

import pytest

from koppel.mapper.domain.articles import compute_stock
from koppel.mapper.domain.engine import map_article_record
from koppel.mapper.domain.errors import InvalidValue, UnmappedValue
from koppel.mapper.domain.mapping import compile_mapping
from koppel.mapper.domain.settings import StockSettings
from koppel.mapper.domain.targets import validate_article
from koppel.mapper.domain.transforms import EvalContext
from koppel.mapper.domain.valuemaps import ValueMaps
from koppel.sandbox.eaccounting.spec import body_errors, request_schema_name

from .samples import (
    CODING_9,
    CODING_21,
    UNIT_PCS,
    VALUE_MAPS,
    article_with_ean,
    article_without_ean,
)


def article(source: dict[str, Any], maps: ValueMaps, **settings: Any) -> dict[str, Any]:
    return map_article_record(
        source, compile_mapping("products", {"settings": settings}), maps
    ).target


def assert_spec_valid(body: dict[str, Any]) -> None:
    schema = request_schema_name("POST", "/articles")
    assert schema == "ArticleApi"
    assert body_errors(schema, body) == []
    assert validate_article(body) == []


def test_article_with_ean(maps: ValueMaps) -> None:
    body = article(article_with_ean(), maps)
    assert body == {
        "Number": "KOFFIE-1KG",
        "Name": "Koffiebonen Arabica 1 kg",
        "IsActive": True,
        "CurrencyCode": "EUR",
        "Note": "Volle bonen, medium branding, fairtrade. Geschikt voor espresso en filter.",
        "Barcodes": [{"Barcode": "8710398500144", "BarcodeType": 0}],
        "NetPrice": 18.0,
        "CodingId": CODING_9,
        "UnitId": UNIT_PCS,
        "IsStock": True,
        "StockBalance": 35.0,  # QTY_FREE2: available minus sales reservations
    }
    assert_spec_valid(body)


def test_article_without_ean_blocked_and_name_cut(maps: ValueMaps) -> None:
    result = map_article_record(article_without_ean(), compile_mapping("products", {}), maps)
    body = result.target
    assert "Barcodes" not in body
    assert "Note" not in body
    assert body["IsActive"] is False
    assert len(body["Name"]) == 50
    assert body["CodingId"] == CODING_21
    assert body["UnitId"] == UNIT_PCS  # units map default
    assert any("Name was cut to 50" in w for w in result.warnings)
    assert_spec_valid(body)


def test_gross_price_from_an_excl_vat_administration(maps: ValueMaps) -> None:
    body = article(article_without_ean(), maps, target_price="GrossPrice")
    assert body["GrossPrice"] == 146.41
    assert "NetPrice" not in body
    assert_spec_valid(body)


def test_net_price_from_an_incl_vat_administration(maps: ValueMaps) -> None:
    body = article(article_without_ean(), maps, source_prices_include_vat=True)
    assert body["NetPrice"] == 100.0


def test_no_stock_fields_when_stock_is_not_managed(maps: ValueMaps) -> None:
    body = article(article_with_ean(), maps, manage_stock=False)
    assert body["IsStock"] is False
    assert "StockBalance" not in body
    assert_spec_valid(body)


def test_invalid_ean_fails(maps: ValueMaps) -> None:
    source = article_with_ean()
    source["EAN_CODE"] = "8710398500142"
    with pytest.raises(
        InvalidValue, match="Article KOFFIE-1KG: '8710398500142' is not a valid EAN"
    ):
        article(source, maps)


def test_unmapped_vat_code_names_the_coding_map() -> None:
    maps = ValueMaps.from_documents(
        {**VALUE_MAPS, "article_codings": {"entries": {"2": CODING_21}}}
    )
    with pytest.raises(
        UnmappedValue,
        match="no eAccounting article account coding is mapped for AccountView VAT code '1'",
    ):
        article(article_with_ean(), maps)


def test_missing_unit_and_coding_without_defaults() -> None:
    with pytest.raises(UnmappedValue, match="'article_codings'"):
        article(article_with_ean(), ValueMaps())
    with pytest.raises(UnmappedValue, match="'units'"):
        article(article_with_ean(), ValueMaps(), default_coding_id=CODING_9)
    body = article(
        article_with_ean(), ValueMaps(), default_coding_id=CODING_9, default_unit_id=UNIT_PCS
    )
    assert_spec_valid(body)


def test_overrides_on_article_fields(maps: ValueMaps) -> None:
    mapping = compile_mapping(
        "products",
        {
            "fields": {
                "Name": "upper(source.ART_DESC1)",
                "NameEnglish": "concat('Coffee beans ', source.ART_CODE)",
                "Note": "join(' — ', source.ART_DESC2, source.AG_CODE)",
            }
        },
    )
    body = map_article_record(article_with_ean(), mapping, maps).target
    assert body["Name"] == "KOFFIEBONEN ARABICA 1 KG"
    assert body["NameEnglish"] == "Coffee beans KOFFIE-1KG"
    assert body["Note"].endswith("— KOFFIE")
    assert_spec_valid(body)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("available_minus_reserved", 35.0),
        ("technical", 40.0),
        ("free", 35.0),
        ("available", 38.0),
        ("available_plus_on_order", 50.0),
        ("available_minus_reservations", 35.0),
        ("on_hand", 40.0),
    ],
)
def test_stock_formulas(formula: str, expected: float, maps: ValueMaps) -> None:
    settings = StockSettings.model_validate({"formula": formula})
    ctx = EvalContext(maps, "Article KOFFIE-1KG")
    assert compute_stock(article_with_ean(), settings, ctx) == expected


def test_stock_with_a_configured_reservation_column(maps: ValueMaps) -> None:
    settings = StockSettings(reserved_field="QTY_RES", technical_field="QTY_TECH")
    source = {**article_with_ean(), "QTY_RES": 7}
    assert compute_stock(source, settings, EvalContext(maps)) == 33.0
