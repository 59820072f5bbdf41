"""Reading an ``OrderMapped`` target: header, lines, delivery address, the order-number key.

The mapper decides the shape (AccountView field names); this module is the one place that
knows where in it the parts are, so the saga code does not scatter key lookups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from koppel.orders.addresses import DeliveryAddress
from koppel.orders.selection import parse_utc
from koppel.orders.tenant_settings import SALES_INVOICE

JSON = dict[str, Any]

# Where the eAccounting order number goes in AccountView when the mapping does not say:
# the order description, as integrations of this pair customarily do (``COMMENT1``).
DEFAULT_ORDER_NUMBER_FIELD = "COMMENT1"


@dataclass(frozen=True)
class MappedOrder:
    target_kind: str
    header: JSON
    lines: list[JSON]
    delivery: DeliveryAddress | None
    number_field: str
    number_value: str

    @property
    def book_date(self) -> datetime | None:
        for key in ("ORD_DATE", "TRN_DATE", "INV_DATE"):
            stamp = parse_utc(self.header.get(key))
            if stamp is not None:
                return stamp
        return None

    def with_debtor(self, debtor_number: str, delivery_code: str | None) -> JSON:
        header = dict(self.header)
        if self.target_kind == SALES_INVOICE:
            header["SUB_NR"] = debtor_number
        else:
            header["RPL_INV"] = debtor_number
            header["RPL_DEL"] = debtor_number
            if delivery_code:
                header["DEL_CODE"] = delivery_code
        return header


def read_mapped(target: JSON, target_kind: str, source_key: str | None) -> MappedOrder:
    header_key, lines_key = (
        ("DJ_PAGE", "DJ_LINE") if target_kind == SALES_INVOICE else ("SO_HDR", "SO_LINE")
    )
    header = dict(target.get("header") or target.get(header_key) or {})
    lines = [dict(line) for line in (target.get("lines") or target.get(lines_key) or [])]
    field = str(target.get("order_number_field") or DEFAULT_ORDER_NUMBER_FIELD)
    value = str(header.get(field) or target.get("order_number") or source_key or "").strip()
    if value and not header.get(field):
        header[field] = value
    raw_delivery = target.get("delivery") or target.get("DEL_ADDR")
    delivery = DeliveryAddress.from_row(raw_delivery) if raw_delivery else None
    if delivery is not None and delivery.is_empty():
        delivery = None
    return MappedOrder(target_kind, header, lines, delivery, field, value)
