"""What the sandboxes' seeded data must turn into, computed from the eAccounting side alone
(independently of the services), so the end-to-end tests can compare exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from koppel.orders.embedded import World
from koppel.sandbox.eaccounting.invoices import render_invoice

STATUS_CODES = {"draft": 1, "ongoing": 2, "shipped": 3, "invoiced": 4}
SHIPPING_SKU = "SHIPPING"


@dataclass
class Expected:
    synced: set[str] = field(default_factory=set)
    # order id -> (step, reason code, missing SKUs)
    failed: dict[str, tuple[str, str, list[str]]] = field(default_factory=dict)
    filtered: set[str] = field(default_factory=set)
    # order id -> normalised e-mail of its customer, for the orders that reach the customers step
    emails: dict[str, str] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def fetched(self) -> int:
        return len(self.synced) + len(self.failed)


def expected_outcomes(world: World, *, paid_only: bool = False) -> Expected:
    store = world.ea.store
    options = world.options
    wanted = {STATUS_CODES[s] for s in options.statuses}
    customers = {c["Id"]: c for c in store.all("customers")}
    paid = {
        i["CreatedFromOrderId"]
        for i in (render_invoice(store, raw) for raw in store.all("customerinvoices"))
        if i.get("CreatedFromOrderId") and i.get("PaymentStatus") == 0
    }
    result = Expected(customers=customers)
    for order in store.all("orders"):
        oid = order["Id"]
        result.orders[oid] = order
        if order["Status"] not in wanted or (paid_only and oid not in paid):
            result.filtered.add(oid)
            continue
        customer = customers[order["CustomerId"]]
        country = str(customer.get("InvoiceCountryCode") or "NL").upper()
        email = str(customer.get("EmailAddress") or "").strip().lower()
        unknown = _unique(
            r["ArticleNumber"]
            for r in order.get("Rows") or []
            if str(r.get("ArticleNumber") or "").startswith("UNKNOWN-")
        )
        if country in options.unmapped_vat_countries and not options.default_debtor:
            result.failed[oid] = ("map", "unmapped_value", [])
            continue
        if not options.default_debtor:
            if not email:
                result.failed[oid] = ("ensure_customer", "missing_email", [])
                continue
            result.emails[oid] = email
        if unknown:
            result.failed[oid] = ("check_products", "missing_products", unknown)
        else:
            result.synced.add(oid)
    return result


def _unique(values: Any) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def source_lines(order: dict[str, Any]) -> list[tuple[str, float]]:
    """(article code, quantity) of the AccountView lines an order should become, sorted;
    shipping rows become one VERZEND line of quantity 1."""
    lines = []
    shipping = False
    for row in order.get("Rows") or []:
        if row.get("IsTextRow"):
            continue
        if row.get("ArticleNumber") == SHIPPING_SKU:
            shipping = True
            continue
        lines.append((str(row["ArticleNumber"]), float(row["Quantity"])))
    if shipping:
        lines.append(("VERZEND", 1.0))
    return sorted(lines)


def delivery_key(order: dict[str, Any]) -> tuple[str, ...] | None:
    if not (
        order.get("DeliveryAddress1")
        or order.get("DeliveryPostalCode")
        or order.get("DeliveryCity")
    ):
        return None
    return (
        str(order.get("DeliveryAddress1") or "").strip().lower(),
        str(order.get("DeliveryPostalCode") or "").replace(" ", "").upper(),
        str(order.get("DeliveryCity") or "").strip().lower(),
    )
