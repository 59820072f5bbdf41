"""Stock formulas over AccountView's ARTICLE quantity columns (pure).

The mapper has a richer version of this for ``StockBalance`` on mapped articles
(``koppel.mapper.domain.articles.compute_stock``); services may not import each other and
that code is not in a shared library, so the few lines the stock flow needs are restated here
with the gateway's formula names. Keep the two in step (or move both to ``libs/common``).

Inputs and their default columns (the notes mark the real meanings as inferred):

* ``on_hand``: ``QTY_TECH`` (technical / physical stock)
* ``available``: ``QTY_AVAIL``
* ``reserved``: no column by default (AccountView's reservation column is unknown); when none
  is configured, "minus reservations" uses ``QTY_FREE2``, which AccountView itself computes as
  technical minus reserved for sales orders.
"""

from __future__ import annotations

from typing import Any

from koppel.catalog.tenant_settings import StockConfig

DEFAULT_FIELDS = {"on_hand": "QTY_TECH", "available": "QTY_AVAIL", "free": "QTY_FREE2"}
FORMULAS = (
    "available_minus_reservations",
    "available",
    "on_hand",
    "on_hand_minus_reservations",
)


class FormulaError(ValueError):
    """The article's quantities cannot be read, or the formula is unknown."""


def _number(article: dict[str, Any], column: str) -> float:
    value = article.get(column)
    if value in (None, ""):
        return 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FormulaError(f"stock column {column} is not a number ({value!r})") from None
    if number != number or abs(number) > 1e15:
        raise FormulaError(f"stock column {column} is not a usable number ({value!r})")
    return number


def columns(config: StockConfig) -> dict[str, str | None]:
    """Which AccountView column feeds each formula input for this tenant."""
    chosen: dict[str, str | None] = {**DEFAULT_FIELDS, "reserved": None}
    chosen.update(config.field_overrides)
    return chosen


def compute(article: dict[str, Any], config: StockConfig) -> float:
    """The quantity eAccounting should show for ``article`` under the tenant's formula."""
    cols = columns(config)
    formula = config.formula
    if formula not in FORMULAS:
        raise FormulaError(f"unknown stock formula {formula!r}")
    if formula == "on_hand":
        level = _number(article, str(cols["on_hand"]))
    elif formula == "available":
        level = _number(article, str(cols["available"]))
    else:
        base = "on_hand" if formula == "on_hand_minus_reservations" else "available"
        reserved = cols.get("reserved")
        if reserved:
            level = _number(article, str(cols[base])) - _number(article, reserved)
        else:
            level = _number(article, str(cols["free"]))
    if not config.allow_negative:
        level = max(level, 0.0)
    return round(level, 4)


def source_of(article: dict[str, Any], config: StockConfig) -> dict[str, Any]:
    """The columns the formula read, for the activity log."""
    used = {c for c in columns(config).values() if c}
    return {"ART_CODE": article.get("ART_CODE"), **{c: article.get(c) for c in sorted(used)}}
