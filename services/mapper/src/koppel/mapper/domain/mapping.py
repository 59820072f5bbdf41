"""A tenant's mapping for one flow: settings plus field overrides, validated when saved and
compiled once per version.

Saved document (``PUT /v1/mappings/{flow}``)::

    {"settings": {"target_kind": "sales_invoice"},
     "fields": {"SO_HDR.COMMENT2": "concat('Webshop ', source.Number)",
                "SO_LINE.ART_CODE": "upper(line.ArticleNumber)",
                "CONTACT.ACCT_NAME": {"from": "source.InvoiceCustomerName",
                                      "transforms": [{"fn": "trim"}, {"fn": "upper"}]}}}

Target keys are ``TABLE.COLUMN`` for AccountView (orders: SO_HDR, SO_LINE, DJ_PAGE,
DJ_LINE, CONTACT, DEL_ADDR; customers: CONTACT) and the ArticleApi property for products
(``Name``, ``Note``...). An override replaces the default value; ``value`` in the expression
is that default, so ``truncate(upper(value), 10)`` adjusts rather than rebuilds it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from koppel.mapper.domain.catalogs import (
    ARTICLE_SOURCE,
    CUSTOMER_FIELDS,
    ENRICHMENT_FIELDS,
    ORDER_FIELDS,
    ORDER_ROW_FIELDS,
)
from koppel.mapper.domain.compiler import CompiledExpression, compile_expression, desugar
from koppel.mapper.domain.errors import ExpressionSyntaxError, MappingDefinitionError, Problem
from koppel.mapper.domain.settings import FLOW_SETTINGS
from koppel.mapper.domain.targets import ARTICLE_FIELDS

FLOWS = tuple(FLOW_SETTINGS)
LINE_TABLES = ("SO_LINE", "DJ_LINE")
TARGET_TABLES: dict[str, tuple[str, ...]] = {
    "orders": ("SO_HDR", "SO_LINE", "DJ_PAGE", "DJ_LINE", "CONTACT", "DEL_ADDR"),
    "customers": ("CONTACT",),
}
_COLUMN = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")


@dataclass(frozen=True)
class FieldOverride:
    table: str | None  # None for eAccounting targets (products)
    column: str
    expression: CompiledExpression
    target: str = ""  # "TABLE.COLUMN" or the article property; set from table and column

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "target", f"{self.table}.{self.column}" if self.table else self.column
        )


@dataclass(frozen=True)
class CompiledMapping:
    flow: str
    settings: Any  # the flow's settings model
    settings_view: dict[str, Any]
    overrides: Mapping[str | None, tuple[FieldOverride, ...]] = field(default_factory=dict)
    version: int = 0

    def for_table(self, table: str | None) -> tuple[FieldOverride, ...]:
        return self.overrides.get(table, ())


def _known_roots(
    flow: str, table: str | None, settings_keys: Collection[str]
) -> dict[str, Collection[str] | None]:
    if flow == "orders":
        roots: dict[str, Collection[str] | None] = {
            "source": ORDER_FIELDS,
            "enrichment": ENRICHMENT_FIELDS,
            "settings": settings_keys,
            "value": None,
        }
        if table in LINE_TABLES:
            roots["line"] = ORDER_ROW_FIELDS
        return roots
    if flow == "customers":
        return {"source": CUSTOMER_FIELDS, "settings": settings_keys, "value": None}
    return {"source": ARTICLE_SOURCE, "settings": settings_keys, "value": None}


def _split_target(flow: str, target: str) -> tuple[str | None, str, str | None]:
    """(table, column, problem)."""
    if flow in TARGET_TABLES:
        table, dot, column = target.partition(".")
        tables = TARGET_TABLES[flow]
        if not dot or table not in tables:
            return (
                None,
                target,
                f"target must be TABLE.COLUMN with TABLE one of {', '.join(tables)}",
            )
        if not _COLUMN.match(column):
            return (
                table,
                column,
                f"'{column}' is not an AccountView column name (upper case, at most 20 characters)",
            )
        return table, column, None
    if flow == "products":
        if target not in ARTICLE_FIELDS:
            return None, target, "not a writable eAccounting article field"
        return None, target, None
    if target != "StockBalance":
        return None, target, "the stock flow maps only 'StockBalance'"
    return None, target, None


def compile_mapping(
    flow: str, document: Mapping[str, Any] | None, *, version: int = 0
) -> CompiledMapping:
    """Validate and compile; raises ``MappingDefinitionError`` listing every problem with its
    location (``settings.discount_mode``, ``fields.SO_HDR.COMMENT2``) and column."""
    if flow not in FLOW_SETTINGS:
        raise MappingDefinitionError(
            [Problem("flow", f"unknown flow '{flow}'; flows are {', '.join(FLOWS)}")]
        )
    document = document or {}
    problems: list[Problem] = []
    unknown_keys = set(document) - {"settings", "fields"}
    problems.extend(
        Problem(key, "unknown section; a mapping has 'settings' and 'fields'")
        for key in sorted(unknown_keys)
    )
    settings_model: type[BaseModel] = FLOW_SETTINGS[flow]
    settings: Any = settings_model()
    raw_settings = document.get("settings") or {}
    try:
        settings = settings_model.model_validate(raw_settings)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(Problem(f"settings.{loc}", err["msg"], field=loc))
    settings_keys = frozenset(settings_model.model_fields)
    overrides: dict[str | None, list[FieldOverride]] = {}
    fields = document.get("fields") or {}
    if not isinstance(fields, Mapping):
        problems.append(Problem("fields", "fields must be an object of target → expression"))
        fields = {}
    for target, rule in fields.items():
        location = f"fields.{target}"
        table, column, problem = _split_target(flow, str(target))
        if problem:
            problems.append(Problem(location, problem, field=str(target)))
            continue
        try:
            if isinstance(rule, Mapping):
                text = desugar(rule)
            elif isinstance(rule, str):
                text = rule
            else:
                raise ExpressionSyntaxError(
                    'a field rule is an expression text or {"from", "transforms"}', 0
                )
            compiled = compile_expression(text, _known_roots(flow, table, settings_keys))
        except ExpressionSyntaxError as exc:
            problems.append(
                Problem(location, exc.message, field=str(target), position=exc.position)
            )
            continue
        overrides.setdefault(table, []).append(FieldOverride(table, column, compiled))
    if problems:
        raise MappingDefinitionError(problems)
    return CompiledMapping(
        flow=flow,
        settings=settings,
        settings_view=settings.model_dump(mode="json"),
        overrides={k: tuple(v) for k, v in overrides.items()},
        version=version,
    )


def default_document(flow: str) -> dict[str, Any]:
    return {"settings": FLOW_SETTINGS[flow]().model_dump(mode="json"), "fields": {}}
