"""Article rules: unique Number, coding/unit lookups, prices vs VAT, and stock.

Stock (what the catalog/stock flows depend on):

- ``StockBalance`` is writable only while the company's stock module is **off**; with the
  module on, a POST/PUT that changes it is refused (400, ErrorCode 4002).
- ``StockBalanceReserved`` = open quantity (``Quantity - DeliveredQuantity``) on rows of
  *Ongoing* orders (Status 2); ``StockBalanceAvailable = StockBalance - StockBalanceReserved``
  (inferred from the field names, as the notes say).
- Turning a stock article with a non-zero balance into a non-stock one gives 5003.
"""

from __future__ import annotations

from typing import Any

from koppel.sandbox.eaccounting.errors import (
    CANNOT_CREATE_OR_UPDATE,
    STOCK_TO_NON_STOCK,
    ApiError,
    field_error,
    validation_error,
)
from koppel.sandbox.eaccounting.records import Record, conflict, merge, money, new_id, require_ref
from koppel.sandbox.eaccounting.store import Store


def save_article(store: Store, body: Record, existing: Record | None) -> Record:
    record = merge("ArticleApi", body)
    coding = require_ref(
        store.get("articleaccountcodings", str(record["CodingId"])),
        "CodingId",
        "Article account coding",
        record["CodingId"],
    )
    unit = require_ref(
        store.get("units", str(record["UnitId"])), "UnitId", "Unit", record["UnitId"]
    )
    clash = store.find("articles", "Number", record["Number"])
    if clash is not None and (existing is None or clash["Id"] != existing["Id"]):
        raise conflict("Number", f"An article with number {record['Number']} already exists.")
    is_service = coding.get("Type") == "Service"
    if record["IsStock"] and is_service:
        raise validation_error(
            [field_error("IsStock", "A service article cannot be a stock article.")]
        )
    _prices(record, float(coding["VatRatePercent"]))
    _stock(store, record, body, existing)
    now = store.now_text()
    record.update(
        Id=existing["Id"] if existing else new_id(),
        CodingName=coding["Name"],
        UnitName=unit["Name"],
        UnitAbbreviation=unit["Abbreviation"],
        IsServiceArticle=is_service,
        CreatedUtc=existing["CreatedUtc"] if existing else now,
        ChangedUtc=now,
        CurrencyCode=record.get("CurrencyCode") or store.company.currency_code,
        PurchasePriceWithCurrency=record["PurchasePrice"],
        FreightCostWithCurrency=record["FreightCosts"],
    )
    if existing and existing["PurchasePrice"] != record["PurchasePrice"]:
        record["PurchasePriceManuallyChangedUtc"] = now
    elif existing:
        record["PurchasePriceManuallyChangedUtc"] = existing.get("PurchasePriceManuallyChangedUtc")
    return store.put("articles", record["Id"], record)


def _prices(record: Record, vat_fraction: float) -> None:
    """NetPrice and GrossPrice must agree with the coding's VAT rate (Dec 2019 validation)."""
    net, gross = float(record["NetPrice"]), float(record["GrossPrice"])
    if net and gross:
        if abs(money(net * (1 + vat_fraction)) - gross) > 0.011:
            message = "GrossPrice does not match NetPrice and the VAT rate of the article's coding."
            raise validation_error([field_error("GrossPrice", message)])
    elif net:
        record["GrossPrice"] = money(net * (1 + vat_fraction))
    elif gross:
        record["NetPrice"] = money(gross / (1 + vat_fraction))
    record["NetPriceWithDiscount"] = record["NetPrice"]


def _stock(store: Store, record: Record, body: Record, existing: Record | None) -> None:
    old_balance = float(existing["StockBalance"]) if existing else 0.0
    sent = "StockBalance" in body
    new_balance = float(body["StockBalance"]) if sent else old_balance
    if store.company.stock_module:
        if sent and new_balance != old_balance:
            raise ApiError(
                400,
                CANNOT_CREATE_OR_UPDATE,
                "StockBalance is read only when the stock module is active.",
                [field_error("StockBalance", "Read only when the stock module is active.", 4002)],
            )
        new_balance = old_balance
    if existing and existing["IsStock"] and not record["IsStock"] and old_balance != 0:
        raise ApiError(
            400, STOCK_TO_NON_STOCK, "A stock article with a stock balance cannot become non-stock."
        )
    record["StockBalance"] = new_balance
    if existing is None:
        record["StockBalanceManuallyChangedUtc"] = store.now_text() if new_balance else None
    elif new_balance != old_balance:
        record["StockBalanceManuallyChangedUtc"] = store.now_text()
    else:
        record["StockBalanceManuallyChangedUtc"] = existing.get("StockBalanceManuallyChangedUtc")


def reserved_quantities(store: Store) -> dict[str, float]:
    reserved: dict[str, float] = {}
    for order in store.all("orders"):
        if order["Status"] != 2:
            continue
        for row in order.get("Rows") or []:
            article_id = row.get("ArticleId")
            if article_id:
                open_quantity = float(row["Quantity"]) - float(row.get("DeliveredQuantity") or 0)
                reserved[article_id] = reserved.get(article_id, 0.0) + max(open_quantity, 0.0)
    return reserved


def render_article(
    store: Store, record: Record, reserved: dict[str, float] | None = None
) -> dict[str, Any]:
    if reserved is None:
        reserved = reserved_quantities(store)
    stock = bool(record["IsStock"])
    held = round(reserved.get(record["Id"], 0.0), 4) if stock else 0.0
    balance = float(record["StockBalance"])
    return {
        **record,
        "StockBalanceReserved": held,
        "StockBalanceAvailable": round(balance - held, 4),
        "StockValue": money(balance * float(record["PurchasePrice"])) if stock else 0.0,
        "ShowStockInformation": store.company.stock_module and stock,
    }
