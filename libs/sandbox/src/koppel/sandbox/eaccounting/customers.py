"""Customer rules: required business fields, numbering, defaults and what the API derives."""

from __future__ import annotations

from typing import Any

from koppel.sandbox.eaccounting.errors import ApiError, field_error, validation_error
from koppel.sandbox.eaccounting.records import Record, conflict, merge, new_id, require_ref
from koppel.sandbox.eaccounting.store import Store

EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


def save_customer(store: Store, body: Record, existing: Record | None) -> Record:
    record = merge("CustomerApi", body)
    terms = require_ref(
        store.get("termsofpayments", str(record["TermsOfPaymentId"])),
        "TermsOfPaymentId",
        "Terms of payment",
        record["TermsOfPaymentId"],
    )
    errors = []
    if record.get("VatNumber") and not record.get("InvoiceCountryCode"):
        errors.append(
            field_error("InvoiceCountryCode", "InvoiceCountryCode is required with VatNumber.")
        )
    if len(record.get("EmailAddresses") or []) > 5:
        errors.append(
            field_error("EmailAddresses", "A maximum of 5 email addresses can be provided.")
        )
    for field in ("DeliveryMethodId", "DeliveryTermId"):
        collection = "deliverymethods" if field == "DeliveryMethodId" else "deliveryterms"
        if record.get(field) and store.get(collection, str(record[field])) is None:
            errors.append(field_error(field, f"{field} {record[field]} does not exist."))
    if errors:
        raise validation_error(errors)
    if record.get("ForceBookkeepVat") and record.get("InvoiceCountryCode") in EU_COUNTRIES:
        raise ApiError(400, 4035, "ForceBookkeepVat cannot be true for a customer in the EU.")
    number = record.get("CustomerNumber")
    if not number:
        number = _next_number(store)
    clash = store.find("customers", "CustomerNumber", number)
    if clash is not None and (existing is None or clash["Id"] != existing["Id"]):
        raise conflict("CustomerNumber", f"A customer with number {number} already exists.")
    record.update(
        Id=existing["Id"] if existing else new_id(),
        CustomerNumber=number,
        CurrencyCode=record.get("CurrencyCode") or store.company.currency_code,
        TermsOfPayment=dict(terms),
        ChangedUtc=store.now_text(),
        IsFutureInvoiceDateAllowed=True,
        UnpaidInvoicesAmount=0.0,
        LastInvoiceDate=existing.get("LastInvoiceDate") if existing else None,
    )
    return store.put("customers", record["Id"], record)


def _next_number(store: Store) -> str:
    while True:
        number = str(store.company.next_customer_number)
        store.company.next_customer_number += 1
        if store.find("customers", "CustomerNumber", number) is None:
            return number


def render_customer(store: Store, record: Record) -> dict[str, Any]:
    unpaid = sum(
        inv["RemainingAmount"]
        for inv in store.all("customerinvoices")
        if inv["CustomerId"] == record["Id"] and inv["PaymentStatus"] != 0
    )
    return {**record, "UnpaidInvoicesAmount": round(unpaid, 2)}


def delete_customer(store: Store, record: Record) -> None:
    linked = any(o["CustomerId"] == record["Id"] for o in store.all("orders")) or any(
        i["CustomerId"] == record["Id"] for i in store.all("customerinvoices")
    )
    if linked:
        raise ApiError(
            400, 4001, "The customer has transactions and cannot be deleted; set IsActive to false."
        )
    store.delete("customers", record["Id"])
