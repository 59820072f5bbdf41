"""The mapper's public functions: one record in, the target body (plus warnings) out.

Each runs the default mapping, then the tenant's overrides, then fits the result to the
target (lengths, upper case, mandatory columns). ``MappingError`` (permanent) is the only
exception a bad record or value map can cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from koppel.mapper.domain.articles import article_label, map_article
from koppel.mapper.domain.compiler import Scope
from koppel.mapper.domain.customers import customer_label, map_customer
from koppel.mapper.domain.errors import InvalidValue
from koppel.mapper.domain.lineage import Lineage
from koppel.mapper.domain.mapping import CompiledMapping, FieldOverride
from koppel.mapper.domain.orders import map_order, order_label
from koppel.mapper.domain.settings import CustomerSettings, OrderSettings, ProductSettings
from koppel.mapper.domain.targets import ARTICLE_TEXT_LIMITS, fit_record, fit_text
from koppel.mapper.domain.transforms import EvalContext
from koppel.mapper.domain.valuemaps import ValueMaps

BUSINESS_OBJECTS = {"sales_order": "SO1", "sales_invoice": "DJ2"}


@dataclass
class MappingResult:
    target: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    customer: dict[str, Any] | None = None
    skus: list[str] = field(default_factory=list)
    target_kind: str | None = None
    lineage: dict[str, Any] | None = None


def _apply(
    overrides: tuple[FieldOverride, ...],
    record: dict[str, Any],
    scope: Scope,
    lineage: Lineage | None,
    prefix: str,
) -> None:
    ctx = scope.ctx
    for override in overrides:
        column = override.column
        ctx.field = override.target
        scope.value = record.get(column)
        record[column] = override.expression.evaluate(scope)
        if lineage is not None:
            expr = override.expression
            lineage.add(
                f"{prefix}{column}",
                expr.sources,
                expr.transforms,
                rule="override",
                expression=expr.text,
            )
    ctx.field = ""


def _with_flow_settings(settings: OrderSettings, flow: Any) -> OrderSettings:
    """The orders flow settings (``OrderFetched.enrichment.settings``, from the gateway via
    the orders service) win over the mapping's stored ``target_kind`` and ``discount_mode``."""
    if not isinstance(flow, dict):
        return settings
    updates: dict[str, Any] = {}
    if (
        flow.get("target") in ("sales_order", "sales_invoice")
        and flow["target"] != settings.target_kind
    ):
        updates["target_kind"] = flow["target"]
    if (
        flow.get("discount_mode") in ("line", "order")
        and flow["discount_mode"] != settings.discount_mode
    ):
        updates["discount_mode"] = flow["discount_mode"]
    return settings.model_copy(update=updates) if updates else settings


@lru_cache(maxsize=256)
def _customer_settings(collective_account: str, default_country: str) -> CustomerSettings:
    """The debtor settings an order mapping implies (built once; settings are immutable)."""
    return CustomerSettings(collective_account=collective_account, default_country=default_country)


def map_order_record(
    order: dict[str, Any],
    enrichment: dict[str, Any] | None,
    mapping: CompiledMapping,
    maps: ValueMaps,
    *,
    lineage: Lineage | None = None,
) -> MappingResult:
    if not isinstance(order, dict):
        raise InvalidValue("The order is not a JSON object")
    enrichment = enrichment if isinstance(enrichment, dict) else {}
    settings = _with_flow_settings(mapping.settings, enrichment.get("settings"))
    defaults = enrichment.get("defaults")
    if isinstance(defaults, dict) and defaults:
        # Values the orders service fills in where the eAccounting order has none.
        order = {**order, **{k: v for k, v in defaults.items() if order.get(k) in (None, "")}}
    ctx = EvalContext(maps, order_label(order))
    customer_settings = _customer_settings(settings.collective_account, settings.default_country)
    mapped = map_order(
        order,
        enrichment,
        settings=settings,
        customer_settings=customer_settings,
        maps=maps,
        ctx=ctx,
        lineage=lineage,
    )
    header_table, line_table = mapped.header_table, mapped.line_table
    if mapping.overrides:
        scope = Scope(ctx, order, settings=mapping.settings_view, enrichment=enrichment)
        _apply(mapping.for_table(header_table), mapped.header, scope, lineage, f"{header_table}.")
        line_overrides = mapping.for_table(line_table)
        if line_overrides:
            for i, (line, row) in enumerate(zip(mapped.lines, mapped.line_sources, strict=True)):
                scope.line = row
                _apply(line_overrides, line, scope, lineage, f"{line_table}[{i}].")
            scope.line = None
        if mapped.default_debtor is None:
            _apply(mapping.for_table("CONTACT"), mapped.customer, scope, lineage, "CONTACT.")
        if mapped.delivery is not None:
            _apply(mapping.for_table("DEL_ADDR"), mapped.delivery, scope, lineage, "DEL_ADDR.")
    warnings = ctx.warnings
    record = ctx.record
    header = fit_record(header_table, mapped.header, record_name=record, warnings=warnings)
    lines = [
        fit_record(line_table, line, record_name=record, warnings=warnings) for line in mapped.lines
    ]
    customer = mapped.customer
    if mapped.default_debtor is None:
        customer = fit_record("CONTACT", customer, record_name=record, warnings=warnings)
    delivery = None
    if mapped.delivery is not None:
        delivery = fit_record("DEL_ADDR", mapped.delivery, record_name=record, warnings=warnings)
    skus = (
        list(dict.fromkeys(str(line["ART_CODE"]) for line in lines if line.get("ART_CODE")))
        or mapped.skus
    )
    order_date = header.get("ORD_DATE") or header.get("TRN_DATE")
    target = {
        "kind": mapped.kind,
        "business_object": BUSINESS_OBJECTS[mapped.kind],
        "header_table": header_table,
        "line_table": line_table,
        "header": header,
        "lines": lines,
        "delivery": delivery,
        "order_number_field": settings.order_number_field,
        "order_number": mapped.order_number,
        "default_debtor": mapped.default_debtor,
        "book_date": str(order_date)[:10] if order_date else None,
        "mapping_version": mapping.version,
        "warnings": warnings,
    }
    return MappingResult(
        target,
        warnings,
        customer,
        skus,
        mapped.kind,
        lineage.as_dict() if lineage is not None else None,
    )


def map_customer_record(
    customer: dict[str, Any],
    mapping: CompiledMapping,
    maps: ValueMaps,
    *,
    lineage: Lineage | None = None,
) -> MappingResult:
    if not isinstance(customer, dict):
        raise InvalidValue("The customer is not a JSON object")
    settings: CustomerSettings = mapping.settings
    ctx = EvalContext(maps, customer_label(customer))
    contact = map_customer(customer, settings=settings, maps=maps, ctx=ctx, lineage=lineage)
    overrides = mapping.for_table("CONTACT")
    if overrides:
        _apply(
            overrides,
            contact,
            Scope(ctx, customer, settings=mapping.settings_view),
            lineage,
            "CONTACT.",
        )
    contact = fit_record("CONTACT", contact, record_name=ctx.record, warnings=ctx.warnings)
    return MappingResult(
        contact, ctx.warnings, lineage=lineage.as_dict() if lineage is not None else None
    )


def map_article_record(
    article: dict[str, Any],
    mapping: CompiledMapping,
    maps: ValueMaps,
    *,
    lineage: Lineage | None = None,
) -> MappingResult:
    if not isinstance(article, dict):
        raise InvalidValue("The article is not a JSON object")
    settings: ProductSettings = mapping.settings
    ctx = EvalContext(maps, article_label(article))
    body = map_article(article, settings=settings, maps=maps, ctx=ctx, lineage=lineage)
    overrides = mapping.for_table(None)
    if overrides:
        _apply(overrides, body, Scope(ctx, article, settings=mapping.settings_view), lineage, "")
        for name, (limit, key) in ARTICLE_TEXT_LIMITS.items():
            value = body.get(name)
            if value is not None:
                body[name] = fit_text(
                    value,
                    limit,
                    key=key,
                    upper=False,
                    where=name,
                    record=ctx.record,
                    warnings=ctx.warnings,
                )
        body = {k: v for k, v in body.items() if v is not None}
    return MappingResult(
        body, ctx.warnings, lineage=lineage.as_dict() if lineage is not None else None
    )
