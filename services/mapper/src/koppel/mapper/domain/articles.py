"""Default mapping: AccountView article (ARTICLE via AK1) → eAccounting article (ArticleApi),
and the stock formulas over AccountView's quantity columns.

AccountView's column names for EAN, unit and long description are not documented (the
research notes mark them [?]); each is a product setting with a best-guess default.
"""

from __future__ import annotations

from typing import Any

from koppel.mapper.domain.errors import InvalidValue, UnmappedValue
from koppel.mapper.domain.lineage import Lineage
from koppel.mapper.domain.settings import STOCK_FORMULA_ALIASES, ProductSettings, StockSettings
from koppel.mapper.domain.targets import fit_text
from koppel.mapper.domain.transforms import EvalContext, round_half_up, t_ean
from koppel.mapper.domain.valuemaps import ValueMaps, rate_key, unmapped_message


def article_label(article: dict[str, Any]) -> str:
    return f"Article {article.get('ART_CODE') or article.get('REC_ID') or '?'}"


def _quantity(article: dict[str, Any], column: str | None, ctx: EvalContext) -> float:
    if not column:
        return 0.0
    value = article.get(column)
    if value in (None, ""):
        return 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValue(
            f"{ctx.record}: stock column {column} is not a number ({value!r})"
        ) from None
    if number != number or abs(number) > 1e15:
        raise InvalidValue(
            f"{ctx.record}: stock column {column} is not a usable number ({value!r})"
        )
    return number


def compute_stock(article: dict[str, Any], settings: StockSettings, ctx: EvalContext) -> float:
    """The tenant's stock formula. ``available_minus_reserved`` uses technical − reserved when
    a reservation column is configured, else AccountView's own free stock (QTY_FREE2)."""
    formula = STOCK_FORMULA_ALIASES.get(settings.formula, settings.formula)
    if formula == "technical":
        return _quantity(article, settings.technical_field, ctx)
    if formula == "free":
        return _quantity(article, settings.free_field, ctx)
    if formula == "available":
        return _quantity(article, settings.available_field, ctx)
    if formula == "available_plus_on_order":
        return _quantity(article, settings.available_field, ctx) + _quantity(
            article, settings.on_order_field, ctx
        )
    if settings.reserved_field:
        return _quantity(article, settings.technical_field, ctx) - _quantity(
            article, settings.reserved_field, ctx
        )
    return _quantity(article, settings.free_field, ctx)


def stock_sources(settings: StockSettings) -> list[str]:
    formula = STOCK_FORMULA_ALIASES.get(settings.formula, settings.formula)
    columns = {
        "technical": [settings.technical_field],
        "free": [settings.free_field],
        "available": [settings.available_field],
        "available_plus_on_order": [settings.available_field, settings.on_order_field],
    }.get(formula) or (
        [settings.technical_field, settings.reserved_field]
        if settings.reserved_field
        else [settings.free_field]
    )
    return [f"source.{c}" for c in columns if c]


def map_article(
    article: dict[str, Any],
    *,
    settings: ProductSettings,
    maps: ValueMaps,
    ctx: EvalContext,
    lineage: Lineage | None = None,
) -> dict[str, Any]:
    record = ctx.record
    warnings = ctx.warnings
    code = str(article.get("ART_CODE") or "").strip()
    if not code:
        raise InvalidValue(f"{record}: the article has no article code (ART_CODE)")
    name = str(article.get(settings.name_field) or code).strip()
    vat_code = str(article.get(settings.vat_code_field) or "").strip()
    body: dict[str, Any] = {
        "Number": fit_text(
            code, 40, key=True, upper=False, where="Number", record=record, warnings=warnings
        ),
        "Name": fit_text(
            name, 50, key=False, upper=False, where="Name", record=record, warnings=warnings
        ),
        "IsActive": not bool(article.get(settings.blocked_field)),
        "CurrencyCode": settings.currency,
    }
    if settings.long_description_field:
        note = str(article.get(settings.long_description_field) or "").strip()
        if note:
            body["Note"] = fit_text(
                note, 4000, key=False, upper=False, where="Note", record=record, warnings=warnings
            )
    if settings.ean_field:
        ean = t_ean(ctx, article.get(settings.ean_field))
        if ean:
            body["Barcodes"] = [{"Barcode": ean, "BarcodeType": 0}]

    price_raw = article.get(settings.price_field)
    if price_raw not in (None, ""):
        try:
            price = float(price_raw)
        except (TypeError, ValueError):
            raise InvalidValue(
                f"{record}: the price {settings.price_field} is not a number ({price_raw!r})"
            ) from None
        if not 0 <= price <= 99_000_000:
            raise InvalidValue(
                f"{record}: the price {price} is outside what eAccounting accepts (0 to 99,000,000)"
            )
        target_gross = settings.target_price == "GrossPrice"
        if target_gross != settings.source_prices_include_vat:
            rate = float(rate_key(maps.lookup("vat_rates", vat_code, record=record)))
            price = price * (1 + rate / 100) if target_gross else price / (1 + rate / 100)
        body[settings.target_price] = round_half_up(price, 2)

    if maps.configured("article_codings"):
        body["CodingId"] = str(maps.lookup("article_codings", vat_code, record=record))
    elif settings.default_coding_id:
        body["CodingId"] = settings.default_coding_id
    else:
        raise UnmappedValue(
            unmapped_message("article_codings", vat_code or None, record),
            map_name="article_codings",
            value=vat_code,
            record=record,
        )
    unit = str(article.get(settings.unit_field) or "").strip() if settings.unit_field else ""
    if maps.configured("units") and (unit or maps.map("units").default):
        body["UnitId"] = str(maps.lookup("units", unit, record=record))
    elif settings.default_unit_id:
        body["UnitId"] = settings.default_unit_id
    else:
        raise UnmappedValue(
            unmapped_message("units", unit or None, record),
            map_name="units",
            value=unit,
            record=record,
        )

    body["IsStock"] = settings.manage_stock
    if settings.manage_stock:
        body["StockBalance"] = compute_stock(article, settings.stock, ctx)
    if lineage is not None:
        _article_lineage(lineage, body, settings)
    return body


def _article_lineage(lineage: Lineage, body: dict[str, Any], settings: ProductSettings) -> None:
    specs: dict[str, tuple[list[str], list[str]]] = {
        "Number": (["source.ART_CODE"], ["trim"]),
        "Name": ([f"source.{settings.name_field}", "source.ART_CODE"], ["default", "truncate"]),
        "IsActive": ([f"source.{settings.blocked_field}"], ["not"]),
        "CurrencyCode": ([], ["settings.currency"]),
        "Note": ([f"source.{settings.long_description_field}"], ["truncate"]),
        "Barcodes": ([f"source.{settings.ean_field}"], ["ean"]),
        settings.target_price: (
            [f"source.{settings.price_field}", f"source.{settings.vat_code_field}"],
            ["lookup:vat_rates", "incl_vat/excl_vat", "round"]
            if (settings.target_price == "GrossPrice") != settings.source_prices_include_vat
            else ["round"],
        ),
        "CodingId": ([f"source.{settings.vat_code_field}"], ["lookup:article_codings"]),
        "UnitId": ([f"source.{settings.unit_field}"], ["lookup:units"]),
        "IsStock": ([], ["settings.manage_stock"]),
        "StockBalance": (
            stock_sources(settings.stock),
            [f"stock_formula:{settings.stock.formula}"],
        ),
    }
    for column in body:
        sources, transforms = specs.get(column, ([], []))
        lineage.add(column, sources, transforms)
