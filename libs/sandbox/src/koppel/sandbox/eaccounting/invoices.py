"""Customer invoice drafts and (booked) customer invoices.

Payment state lives on invoices only: ``RemainingAmount`` 0 -> ``PaymentStatus`` 0 Paid;
otherwise 2 Overdue once ``DueDate`` has passed, else 1 Unpaid. So "only paid orders" means:
orders with an invoice whose ``CreatedFromOrderId`` is the order and ``PaymentStatus`` is 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from koppel.sandbox.eaccounting.errors import field_error, validation_error
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


def save_draft(store: Store, body: Record, existing: Record | None) -> Record:
    record = merge("CustomerInvoiceDraftApi", body)
    customer = require_ref(
        store.get("customers", str(record["CustomerId"])),
        "CustomerId",
        "Customer",
        record["CustomerId"],
    )
    rows = []
    for index, row_body in enumerate(body.get("Rows") or []):
        row = merge("CustomerInvoiceDraftRowApi", row_body)
        row["Id"] = new_id()
        if not row["IsTextRow"]:
            article = _article(store, row, index)
            row.update(
                ArticleId=article["Id"], ArticleNumber=article["Number"], UnitId=article["UnitId"]
            )
            row["Text"] = row.get("Text") or article["Name"]
            if "UnitPrice" not in row_body:
                row["UnitPrice"] = article["NetPrice"]
            row["Amount"] = money(
                row["Quantity"] * row["UnitPrice"] * (1 - row["DiscountPercentage"])
            )
        rows.append(row)
    total = money(sum(r["Amount"] for r in rows))
    record.update(
        Id=existing["Id"] if existing else new_id(),
        Rows=rows,
        CustomerNumber=customer["CustomerNumber"],
        CustomerName=customer["Name"],
        CustomerIsPrivatePerson=customer["IsPrivatePerson"],
        InvoiceCustomerName=customer["Name"],
        InvoicePostalCode=customer["InvoicePostalCode"],
        InvoiceCity=customer["InvoiceCity"],
        InvoiceCountryCode=customer.get("InvoiceCountryCode"),
        InvoiceCurrencyCode=customer.get("CurrencyCode") or store.company.currency_code,
        InvoiceDate=date_text(record.get("InvoiceDate")),
        DueDate=date_text(record.get("DueDate")),
        DeliveryDate=date_text(record.get("DeliveryDate")),
        TotalAmount=total,
        TotalAmountBaseCurrency=total,
        CreatedUtc=existing["CreatedUtc"] if existing else store.now_text(),
        ContributionMargin={"Amount": None, "Percentage": None},
    )
    return store.put("customerinvoicedrafts", record["Id"], record)


def _article(store: Store, row: Record, index: int) -> Record:
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
    return article


def create_invoice(store: Store, body: Record, order: Record | None = None) -> Record:
    """Book an invoice from a request body (POST /customerinvoices) or from an order."""
    record = merge("CustomerInvoiceApi", body)
    customer = require_ref(
        store.get("customers", str(record["CustomerId"])),
        "CustomerId",
        "Customer",
        record["CustomerId"],
    )
    require_ref(
        store.get("termsofpayments", str(record["TermsOfPaymentId"])),
        "TermsOfPaymentId",
        "Terms of payment",
        record["TermsOfPaymentId"],
    )
    terms = store.get("termsofpayments", str(record["TermsOfPaymentId"])) or {}
    rows = [_invoice_row(store, r, i) for i, r in enumerate(body.get("Rows") or [])]
    amount = money(sum(r["AmountNoVat"] for r in rows))
    vat = money(sum(r["AmountNoVat"] * (r["VatRate"] or 0) for r in rows))
    invoice_date = date_text(record.get("InvoiceDate")) or today_text(store.clock.now())
    due = date_text(record.get("DueDate")) or _due(invoice_date, int(terms.get("NumberOfDays", 30)))
    now = store.now_text()
    number = store.company.next_invoice_number
    store.company.next_invoice_number += 1
    record.update(
        Id=new_id(),
        Rows=rows,
        InvoiceNumber=number,
        CurrencyCode=customer.get("CurrencyCode") or store.company.currency_code,
        TotalAmount=amount,
        TotalVatAmount=vat,
        TotalAmountInvoiceCurrency=amount,
        TotalVatAmountInvoiceCurrency=vat,
        RemainingAmount=money(amount + vat),
        RemainingAmountInvoiceCurrency=money(amount + vat),
        VatSpecification=[],
        InvoiceDate=invoice_date,
        DueDate=due,
        DeliveryDate=date_text(record.get("DeliveryDate")),
        CustomerNumber=customer["CustomerNumber"],
        CustomerName=customer["Name"],
        CustomerEmail=customer.get("EmailAddress"),
        CustomerIsPrivatePerson=customer["IsPrivatePerson"],
        InvoiceCustomerName=customer["Name"],
        CreatedFromOrderId=order["Id"] if order else None,
        VoucherId=new_id(),
        VoucherNumber=f"F{number}",
        PaymentReferenceNumber=str(100000 + number),
        CreatedUtc=now,
        ModifiedUtc=now,
        PaymentStatus=1,
        ContributionMargin={"Amount": None, "Percentage": None},
    )
    for target in ("InvoiceAddress1", "InvoicePostalCode", "InvoiceCity", "InvoiceCountryCode"):
        if record.get(target) is None:
            record[target] = customer.get(target)
    return store.put("customerinvoices", record["Id"], record)


def _due(invoice_date: str, days: int) -> str:
    start = datetime.fromisoformat(invoice_date.replace("Z", "+00:00"))
    return (start + timedelta(days=days)).strftime("%Y-%m-%dT00:00:00Z")


def _invoice_row(store: Store, body: Record, index: int) -> Record:
    row = merge("CustomerInvoiceRowApi", body)
    article = _article(store, body, index)
    coding = store.get("articleaccountcodings", article["CodingId"]) or {}
    unit = store.get("units", article["UnitId"]) or {}
    rate = 0.0 if row["IsVatFree"] else float(coding.get("VatRatePercent", 0.0))
    if "UnitPrice" not in body:
        row["UnitPrice"] = article["NetPrice"]
    amount = money(row["Quantity"] * row["UnitPrice"] * (1 - row["DiscountPercentage"]))
    row.update(
        Id=new_id(),
        LineNumber=index,
        ArticleId=article["Id"],
        ArticleNumber=article["Number"],
        IsServiceArticle=article["IsServiceArticle"],
        Text=row.get("Text") or article["Name"],
        UnitId=article["UnitId"],
        UnitAbbreviation=unit.get("Abbreviation"),
        UnitAbbreviationEnglish=unit.get("AbbreviationEnglish"),
        AmountNoVat=amount,
        Amount=amount,
        PercentVat=rate,
        VatRate=rate,
        PurchasePrice=article["PurchasePrice"],
        FreightCosts=article["FreightCosts"],
        ContributionMargin={"Amount": None, "Percentage": None},
    )
    return row


def invoice_order(store: Store, order: Record, invoice_date: str | None = None) -> Record:
    """Book the invoice of an order (as "convert" does) and mark the order Invoiced (4)."""
    rows = [
        {
            "ArticleId": r["ArticleId"],
            "Quantity": r["Quantity"],
            "UnitPrice": r["UnitPrice"],
            "DiscountPercentage": r["DiscountPercentage"],
            "Text": r["Text"],
        }
        for r in order.get("Rows") or []
        if not r["IsTextRow"]
    ]
    body = {
        "CustomerId": order["CustomerId"],
        "EuThirdParty": order["EuThirdParty"],
        "RotReducedInvoicingType": 0,
        "TermsOfPaymentId": order["TermsOfPaymentId"],
        "Rows": rows,
        "InvoiceDate": invoice_date,
        "YourReference": order.get("YourReference"),
    }
    invoice = create_invoice(store, body, order)
    order["Status"] = 4
    order["IsNotDelivered"] = False
    order["ModifiedUtc"] = store.now_text()
    return invoice


def pay_invoice(store: Store, invoice: Record, amount: float | None = None) -> Record:
    pay = invoice["RemainingAmount"] if amount is None else min(amount, invoice["RemainingAmount"])
    invoice["RemainingAmount"] = money(invoice["RemainingAmount"] - pay)
    invoice["RemainingAmountInvoiceCurrency"] = invoice["RemainingAmount"]
    invoice["PaymentDate"] = store.now_text()
    invoice["ModifiedUtc"] = store.now_text()
    return invoice


def render_invoice(store: Store, record: Record) -> dict[str, Any]:
    if record["RemainingAmount"] <= 0:
        status = 0
    elif record["DueDate"] and record["DueDate"] < today_text(store.clock.now()):
        status = 2
    else:
        status = 1
    return {**record, "PaymentStatus": status}
