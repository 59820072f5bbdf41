"""The tenant's products and stock flow settings as this service reads them.

The gateway validates and stores them (``koppel.gateway.flow_settings``) and serves them with
defaults filled in; this module only parses that JSON into what the catalog needs, with the
same defaults, so a missing key (an older settings document, a test) behaves as the gateway's
default would. Services never import each other, hence the small restatement here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

DEFAULT_CREATE_ONLY = ("Name", "Description")
BLOCKED_FIELD = "REC_BLK"


@dataclass(frozen=True)
class FilterRule:
    field: str
    operator: str
    value: Any

    @property
    def name(self) -> str:
        return f"{self.field} {self.operator} {self.value!r}"


@dataclass(frozen=True)
class ProductsConfig:
    update_product_information: bool = False
    create_only_fields: tuple[str, ...] = DEFAULT_CREATE_ONLY
    filters: tuple[FilterRule, ...] = ()
    filter_mode: str = "all"
    match_by: str = "sku"
    full_sweep_interval: int | None = 86400

    @classmethod
    def from_json(cls, raw: JSON | None) -> ProductsConfig:
        raw = raw or {}
        filters = tuple(
            FilterRule(str(f["field"]), str(f["operator"]), f.get("value"))
            for f in raw.get("filters") or []
        )
        interval = raw.get("full_sweep_interval", 86400)
        return cls(
            update_product_information=bool(raw.get("update_product_information", False)),
            create_only_fields=tuple(raw.get("create_only_fields", DEFAULT_CREATE_ONLY)),
            filters=filters,
            filter_mode=str(raw.get("filter_mode") or "all"),
            match_by=str(raw.get("match_by") or "sku"),
            full_sweep_interval=int(interval) if interval is not None else None,
        )


@dataclass(frozen=True)
class StockConfig:
    formula: str = "available_minus_reservations"
    field_overrides: dict[str, str] = field(default_factory=dict)
    manage_stock: bool = True
    allow_negative: bool = False

    @classmethod
    def from_json(cls, raw: JSON | None) -> StockConfig:
        raw = raw or {}
        return cls(
            formula=str(raw.get("formula") or "available_minus_reservations"),
            field_overrides={str(k): str(v) for k, v in (raw.get("field_overrides") or {}).items()},
            manage_stock=bool(raw.get("manage_stock", True)),
            allow_negative=bool(raw.get("allow_negative", False)),
        )
