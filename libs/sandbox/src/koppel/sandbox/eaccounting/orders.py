"""Order rules: customer defaults, rows priced from articles, totals, status 1-4.

Status: 1 Draft, 2 Ongoing, 3 Shipped, 4 Invoiced. Shipped/Invoiced orders have every row
delivered. Rows point at articles by ``ArticleId`` or ``ArticleNumber``; VatRate on rows is a
fraction (0.21), like the coding's ``VatRatePercent``.
"""

from __future__ import annotations

from typing import Any

from koppel.sandbox.eaccounting.errors import ApiError, field_error, validation_error
from koppel.sandbox.eaccounting.records import (
    Record,
    date_text,
    merge,
    money,
    new_id,
    require_ref,
    today_text,
)
from koppel.sandbox.eaccounting.store import Store

CUSTOMER_DEFAULTS = {
    "InvoiceCustomerName": "Name",
    "InvoiceAddress1": "InvoiceAddress1",
    "InvoiceAddress2": "InvoiceAddress2",
    "InvoicePostalCode": "InvoicePostalCode",
    "InvoiceCity": "InvoiceCity",
    "InvoiceCountryCode": "InvoiceCountryCode",
    "DeliveryCustomerName": "DeliveryCustomerName",
    "DeliveryAddress1": "DeliveryAddress1",
    "DeliveryAddress2": "DeliveryAddress2",
    "DeliveryPostalCode": "DeliveryPostalCode",
    "DeliveryCity": "DeliveryCity",
    "DeliveryCountryCode": "DeliveryCountryCode",
}


def save_order(store: Store, body: Record, existing: Record | None) -> Record:
    record = merge("OrderApi", body)
    customer = require_ref(
        store.get("customers", str(record["CustomerId"])),
        "CustomerId",
        "Customer",
        record["CustomerId"],
    )
    if existing is not None and existing["Status"] == 4:
        raise ApiError(400, 4002, "An invoiced order cannot be changed.")
    for target, source in CUSTOMER_DEFAULTS.items():
        if record.get(target) is None:
            record[target] = customer.get(source)
    record["Rows"] = [
        _row(store, row, i, record["Status"]) for i, row in enumerate(body.get("Rows") or [])
    ]
    _delivery(store, record)
    _totals(record)
    now = store.now_text()
    record.update(
        Id=existing["Id"] if existing else new_id(),
        Number=existing["Number"] if existing else _next_number(store),
        CustomerNumber=customer["CustomerNumber"],
        CustomerName=customer["Name"],
        CustomerIsPrivatePerson=customer["IsPrivatePerson"],
        TermsOfPaymentId=record.get("TermsOfPaymentId") or customer["TermsOfPaymentId"],
        OrderDate=date_text(record.get("OrderDate")) or today_text(store.clock.now()),
        DeliveryDate=date_text(record.get("DeliveryDate")),
        ShippedDateTime=record.get("ShippedDateTime")
        or (now if record["Status"] in (3, 4) else None),
        CreatedUtc=existing["CreatedUtc"] if existing else now,
        ModifiedUtc=now,
        IncludesVat=False,
        IsNotDelivered=record["Status"] in (1, 2),
        ContributionMargin={"Amount": None, "Percentage": None},
    )
    return store.put("orders", record["Id"], record)


def _next_number(store: Store) -> int:
    number = store.company.next_order_number
    store.company.next_order_number += 1
    return number


def _row(store: Store, body: Record, index: int, status: int) -> Record:
    row = merge("OrderRowApi", body)
    row["Id"] = new_id()
    if row["IsTextRow"]:
        row.update(ArticleId=None, ArticleNumber=None, Quantity=0.0, UnitPrice=0.0, VatRate=None)
        return row
    article = None
    if row.get("ArticleId"):
        article = store.get("articles", str(row["ArticleId"]))
    elif row.get("ArticleNumber"):
        article = store.find("articles", "Number", row["ArticleNumber"])
    if article is None:
        ref = row.get("ArticleId") or row.get("ArticleNumber")
        raise validation_error(
            [field_error(f"Rows[{index}].ArticleId", f"Article {ref} does not exist.")]
        )
    coding = store.get("articleaccountcodings", article["CodingId"]) or {}
    row.update(
        ArticleId=article["Id"],
        ArticleNumber=article["Number"],
        UnitId=article["UnitId"],
        IsServiceArticle=article["IsServiceArticle"],
        Text=row.get("Text") or article["Name"],
        VatRate=float(coding.get("VatRatePercent", 0.0)),
        PurchasePrice=article["PurchasePrice"],
        FreightCosts=article["FreightCosts"],
        ContributionMargin={"Amount": None, "Percentage": None},
    )
    if "UnitPrice" not in body:
        row["UnitPrice"] = article["NetPrice"]
    if status in (3, 4) and "DeliveredQuantity" not in body:
        row["DeliveredQuantity"] = row["Quantity"]
    row["Amount"] = money(row["Quantity"] * row["UnitPrice"] * (1 - row["DiscountPercentage"]))
    return row


def _delivery(store: Store, record: Record) -> None:
    for kind, collection in (("Method", "deliverymethods"), ("Term", "deliveryterms")):
        name, code = record.get(f"Delivery{kind}Name"), record.get(f"Delivery{kind}Code")
        match = None
        for item in store.all(collection):
            if (code and item.get("Code") == code) or (name and item.get("Name") == name):
                match = item
                break
        record[f"Delivery{kind}Id"] = match["Id"] if match else None
        if match:
            record[f"Delivery{kind}Name"] = match["Name"]
            record[f"Delivery{kind}Code"] = match.get("Code")


def _totals(record: Record) -> None:
    rows = [r for r in record["Rows"] if not r["IsTextRow"]]
    amount = sum(r["Amount"] for r in rows)
    vat = sum(r["Amount"] * (r["VatRate"] or 0) for r in rows)
    delivered = sum(
        money(r["DeliveredQuantity"] * r["UnitPrice"] * (1 - r["DiscountPercentage"])) for r in rows
    )
    delivered_vat = sum(
        r["DeliveredQuantity"]
        * r["UnitPrice"]
        * (1 - r["DiscountPercentage"])
        * (r["VatRate"] or 0)
        for r in rows
    )
    record.update(
        Amount=money(amount),
        VatAmount=money(vat),
        RoundingsAmount=0.0,
        DeliveredAmount=money(delivered),
        DeliveredVatAmount=money(delivered_vat),
        DeliveredRoundingsAmount=0.0,
    )


def delete_order(store: Store, record: Record) -> None:
    if record["Status"] == 4:
        raise ApiError(400, 4001, "An invoiced order cannot be deleted.")
    store.delete("orders", record["Id"])


def render_order(_: Store, record: Record) -> dict[str, Any]:
    return record
