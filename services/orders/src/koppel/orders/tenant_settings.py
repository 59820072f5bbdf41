"""The tenant's orders-flow settings as this service reads them.

The gateway owns and validates them (``koppel.gateway.flow_settings.OrdersSettings``) and
serves them as JSON on its internal API; services never import each other, so this is a
tolerant reader of that JSON: unknown keys are ignored, missing ones take the gateway's
defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from koppel.orders.selection import Enrichment, parse_statuses

JSON = dict[str, Any]

SALES_ORDER = "sales_order"
SALES_INVOICE = "sales_invoice"


@dataclass(frozen=True)
class OrdersConfig:
    statuses: frozenset[str] = frozenset({"shipped", "invoiced"})
    only_paid: bool = False
    target: str = SALES_ORDER
    default_debtor: str | None = None
    do_not_import_before: date | None = None
    batch_size: int = 100
    enrichment: Enrichment = field(default_factory=Enrichment)
    # Passed on to the mapper with each order: the lines it adds (shipping, fees, discount).
    line_settings: JSON = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: JSON | None) -> OrdersConfig:
        raw = raw or {}
        enrich = raw.get("enrichment") or {}
        before = raw.get("do_not_import_before")
        target = raw.get("target") or SALES_ORDER
        if target not in (SALES_ORDER, SALES_INVOICE):
            raise ValueError(f"unknown orders target {target!r}")
        return cls(
            statuses=parse_statuses(raw.get("statuses") or ["shipped", "invoiced"]),
            only_paid=bool(raw.get("only_paid", False)),
            target=target,
            default_debtor=(str(raw["default_debtor"]).strip() or None)
            if raw.get("default_debtor")
            else None,
            do_not_import_before=date.fromisoformat(before) if isinstance(before, str) else before,
            batch_size=max(1, int(raw.get("batch_size") or 100)),
            enrichment=Enrichment(
                store_id=enrich.get("store_id"),
                defaults={
                    k: v
                    for k, v in {"InvoiceCountryCode": enrich.get("default_country")}.items()
                    if v
                },
            ),
            line_settings={
                key: raw.get(key)
                for key in (
                    "target",
                    "shipping_article",
                    "payment_fee_article",
                    "discount_mode",
                    "discount_article",
                )
                if raw.get(key) is not None
            }
            | ({"header_fields": enrich["header_fields"]} if enrich.get("header_fields") else {}),
        )
