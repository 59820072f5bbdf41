"""Which eAccounting orders a run keeps, and what it adds to them (pure rules, no I/O).

eAccounting orders carry ``Status`` 1 Draft, 2 Ongoing, 3 Shipped, 4 Invoiced. There is no
"paid" status on an order: payment lives on the customer invoice made from it
(``PaymentStatus`` 0 Paid, 1 Unpaid, 2 Overdue; ``CreatedFromOrderId`` points back). So
"only paid" (a flag beside the selected statuses) keeps an order in a selected status only
when its invoice is paid. For convenience "paid" may also be listed among the statuses: it
means the same flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum
from typing import Any

JSON = dict[str, Any]


class OrderStatus(IntEnum):
    draft = 1
    ongoing = 2
    shipped = 3
    invoiced = 4


class PaymentStatus(IntEnum):
    paid = 0
    unpaid = 1
    overdue = 2


PAID = "paid"
STATUS_NAMES: frozenset[str] = frozenset({s.name for s in OrderStatus} | {PAID})


def parse_statuses(values: Iterable[str | int]) -> frozenset[str]:
    """Accept names ("shipped", "Paid") or eAccounting codes (3) and return normalised names."""
    names: set[str] = set()
    for value in values:
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            names.add(OrderStatus(int(value)).name)
            continue
        name = str(value).strip().lower()
        if name not in STATUS_NAMES:
            raise ValueError(f"unknown order status {value!r}; choose from {sorted(STATUS_NAMES)}")
        names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class Selection:
    keep: bool
    reason: str = ""


def parse_utc(value: str | datetime | None) -> datetime | None:
    """eAccounting timestamps are ISO strings, sometimes without a zone (then UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def order_date(order: Mapping[str, Any]) -> date | None:
    stamp = parse_utc(order.get("OrderDate") or order.get("CreatedUtc"))
    return stamp.date() if stamp else None


def select_order(
    order: Mapping[str, Any],
    *,
    statuses: frozenset[str],
    only_paid: bool = False,
    payment_status: int | None = None,
    not_before: date | None = None,
) -> Selection:
    """Keep the order when its status is one the tenant chose (and, with "only paid", its
    invoice is paid)."""
    if not_before is not None:
        when = order_date(order)
        if when is not None and when < not_before:
            return Selection(False, f"order date {when} is before {not_before}")
    try:
        status = OrderStatus(int(order.get("Status", 0))).name
    except ValueError:
        return Selection(False, f"unknown order status {order.get('Status')!r}")
    only_paid = only_paid or PAID in statuses
    chosen = statuses - {PAID} or frozenset(s.name for s in OrderStatus)
    if status not in chosen:
        return Selection(False, f"status {status} is not selected")
    if only_paid and payment_status != PaymentStatus.paid:
        return Selection(False, "the order's invoice is not paid")
    return Selection(True)


def payment_status_by_order(invoices: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Map order id → the least favourable payment status of its invoices (one unpaid
    invoice keeps the order unpaid)."""
    result: dict[str, int] = {}
    for invoice in invoices:
        order_id = invoice.get("CreatedFromOrderId")
        if not order_id:
            continue
        status = int(invoice.get("PaymentStatus", PaymentStatus.unpaid))
        key = str(order_id)
        result[key] = status if key not in result else max(result[key], status)
    return result


@dataclass(frozen=True)
class Enrichment:
    """What the source lacks and the settings supply (DESIGN.md: enrich missing data)."""

    store_id: str | None = None
    defaults: JSON = field(default_factory=dict)

    def for_order(
        self, order: Mapping[str, Any], *, customer: JSON | None, payment_status: int | None
    ) -> JSON:
        data: JSON = {"store_id": self.store_id} if self.store_id else {}
        for key, value in self.defaults.items():
            if order.get(key) in (None, ""):
                data.setdefault("defaults", {})[key] = value
        if customer is not None:
            data["customer"] = customer
        if payment_status is not None:
            data["payment_status"] = PaymentStatus(payment_status).name
        return data
