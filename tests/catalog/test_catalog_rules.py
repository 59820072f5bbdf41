"""The catalog's pure rules: filters, what an update may write, the hash, the cursor,
stock formulas."""

from __future__ import annotations

from datetime import datetime

import pytest

from koppel.catalog import domain, formulas
from koppel.catalog.tenant_settings import ProductsConfig, StockConfig

ARTICLE = {"ART_CODE": "A1", "AG_CODE": "WEB", "PX_SELL": 12.5, "REC_BLK": False, "K1_SHOP": ""}


def config(*filters: dict, mode: str = "all") -> ProductsConfig:  # type: ignore[type-arg]
    return ProductsConfig.from_json({"filters": list(filters), "filter_mode": mode})


@pytest.mark.parametrize(
    ("rule", "keep"),
    [
        ({"field": "AG_CODE", "operator": "in", "value": ["WEB", "SHOP"]}, True),
        ({"field": "AG_CODE", "operator": "not_in", "value": ["WEB"]}, False),
        ({"field": "REC_BLK", "operator": "==", "value": False}, True),
        ({"field": "PX_SELL", "operator": ">=", "value": 10}, True),
        ({"field": "PX_SELL", "operator": "<", "value": 10}, False),
        ({"field": "K1_SHOP", "operator": "!=", "value": ""}, False),  # custom field set
        ({"field": "ART_CODE", "operator": "starts_with", "value": "a"}, True),
        ({"field": "AG_CODE", "operator": "contains", "value": "E"}, True),
    ],
)
def test_a_filter_keeps_or_leaves_out(rule: dict, keep: bool) -> None:  # type: ignore[type-arg]
    assert domain.evaluate_filters(ARTICLE, config(rule)).keep is keep


def test_the_verdict_names_the_filter_that_left_the_article_out() -> None:
    verdict = domain.evaluate_filters(
        ARTICLE,
        config(
            {"field": "REC_BLK", "operator": "==", "value": False},
            {"field": "AG_CODE", "operator": "in", "value": ["SHOP"]},
        ),
    )
    assert not verdict.keep
    assert verdict.filter_name == "AG_CODE in ['SHOP']"
    assert "'WEB'" in verdict.reason


def test_any_mode_needs_one_filter_to_hold() -> None:
    rules = (
        {"field": "AG_CODE", "operator": "==", "value": "SHOP"},
        {"field": "PX_SELL", "operator": ">", "value": 1},
    )
    assert domain.evaluate_filters(ARTICLE, config(*rules, mode="any")).keep
    assert not domain.evaluate_filters(ARTICLE, config(*rules, mode="all")).keep


def test_an_update_leaves_create_only_fields_and_the_number_alone() -> None:
    desired = domain.desired_article(
        {"Number": "A1", "Name": "n", "Note": "long", "NetPrice": 1.0, "StockBalance": 5},
        manage_stock=True,
    )
    assert "StockBalance" not in desired
    assert desired["IsStock"] is True
    off = ProductsConfig.from_json({"create_only_fields": ["Name", "Description"]})
    assert domain.update_payload(desired, off) == {"NetPrice": 1.0, "IsStock": True}
    on = ProductsConfig.from_json({"update_product_information": True})
    assert set(domain.update_payload(desired, on)) == {"Name", "Note", "NetPrice", "IsStock"}


def test_the_hash_ignores_key_order_and_sees_values() -> None:
    assert domain.content_hash({"a": 1, "b": 2}) == domain.content_hash({"b": 2, "a": 1})
    assert domain.content_hash({"a": 1}) != domain.content_hash({"a": 2})


def test_a_new_net_price_drops_the_stored_gross_price() -> None:
    body = domain.merged_for_put({"NetPrice": 1, "GrossPrice": 1.21, "Name": "x"}, {"NetPrice": 2})
    assert body == {"NetPrice": 2, "Name": "x"}


def test_the_cursor_skips_only_the_same_change_at_the_watermark() -> None:
    at = datetime(2026, 1, 1, 12, 0, 0)
    cursor = domain.Cursor().advance(at, "A1#3")
    assert cursor.seen(at, "A1#3")
    assert not cursor.seen(at, "A1#4")  # changed again within the same second
    assert domain.Cursor.load(cursor.dump()) == cursor


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, 7.0),  # available minus reservations = AccountView's free stock
        ({"formula": "on_hand"}, 10.0),
        ({"formula": "available"}, 9.0),
        ({"field_overrides": {"reserved": "X_RES"}}, 8.0),  # available − reserved
        ({"formula": "on_hand_minus_reservations", "field_overrides": {"reserved": "X_RES"}}, 9.0),
        ({"formula": "on_hand", "field_overrides": {"on_hand": "QTY_BESTEL"}}, 4.0),
    ],
)
def test_stock_formulas(settings: dict, expected: float) -> None:  # type: ignore[type-arg]
    article = {"QTY_TECH": 10, "QTY_AVAIL": 9, "QTY_FREE2": 7, "X_RES": 1, "QTY_BESTEL": 4}
    assert formulas.compute(article, StockConfig.from_json(settings)) == expected


def test_negative_stock_is_sent_as_zero_unless_allowed() -> None:
    article = {"QTY_FREE2": -3}
    assert formulas.compute(article, StockConfig.from_json({})) == 0
    assert formulas.compute(article, StockConfig.from_json({"allow_negative": True})) == -3


def test_an_unknown_formula_or_a_bad_number_is_refused() -> None:
    with pytest.raises(formulas.FormulaError):
        formulas.compute({}, StockConfig.from_json({"formula": "magic"}))
    with pytest.raises(formulas.FormulaError):
        formulas.compute({"QTY_FREE2": "many"}, StockConfig.from_json({}))
