"""Deterministic demo data: a Dutch company selling to NL, BE, DE, SE and NO customers.

``build_dataset(seed, sizes)`` returns the whole company; the same seed gives the same ids,
numbers and timestamps (relative to ``now``), so tests and benchmarks can compute expected
outcomes. Records are created through the same rules as API writes.

SKU scheme: known articles ``ART-0001``.. (``koppel.sandbox.common.seeding.shared_catalog``,
also seeded in AccountView), ``UNKNOWN-001``.. (only here, to provoke "missing product"), and a
service article ``SHIPPING`` used for shipping-cost rows (not a product).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from koppel.sandbox.common.clock import SandboxClock
from koppel.sandbox.common.people import make_party
from koppel.sandbox.common.seeding import ean13, shared_catalog, substream, unknown_sku
from koppel.sandbox.eaccounting.articles import render_article, reserved_quantities, save_article
from koppel.sandbox.eaccounting.customers import save_customer
from koppel.sandbox.eaccounting.invoices import invoice_order, pay_invoice, render_invoice
from koppel.sandbox.eaccounting.lookups import build_lookups
from koppel.sandbox.eaccounting.orders import save_order
from koppel.sandbox.eaccounting.records import Record, seeded_ids
from koppel.sandbox.eaccounting.settings import SeedSizes
from koppel.sandbox.eaccounting.store import CompanySettings, Store

SHIPPING_SKU = "SHIPPING"
COUNTRY_WEIGHTS = [("NL", 50), ("BE", 15), ("DE", 10), ("SE", 15), ("NO", 10)]
STATUS_WEIGHTS = [(1, 10), (2, 30), (3, 25), (4, 35)]


@dataclass
class Dataset:
    store: Store
    unknown_skus: list[str] = field(default_factory=list)

    def records(self, collection: str) -> list[Record]:
        return self.store.all(collection)

    def rendered_articles(self) -> list[dict[str, Any]]:
        reserved = reserved_quantities(self.store)
        return [render_article(self.store, a, reserved) for a in self.store.all("articles")]

    def rendered_invoices(self) -> list[dict[str, Any]]:
        return [render_invoice(self.store, i) for i in self.store.all("customerinvoices")]

    def paid_order_ids(self) -> set[str]:
        return {
            i["CreatedFromOrderId"]
            for i in self.rendered_invoices()
            if i["PaymentStatus"] == 0 and i["CreatedFromOrderId"]
        }

    def orders_with_unknown_skus(self) -> set[str]:
        unknown = set(self.unknown_skus)
        return {
            o["Id"]
            for o in self.store.all("orders")
            if any(r.get("ArticleNumber") in unknown for r in o["Rows"])
        }


def build_dataset(
    seed: int,
    sizes: SeedSizes | None = None,
    *,
    now: datetime,
    empty: bool = False,
    stock_module: bool = False,
) -> Dataset:
    sizes = sizes or SeedSizes()
    start = now - timedelta(days=120)
    clock = SandboxClock(start)
    clock.freeze()
    store = Store(clock=clock, company=CompanySettings(stock_module=False))
    lookups = build_lookups(seed, store.now_text())
    store.replace(lookups, store.company)
    dataset = Dataset(store=store)
    if not empty:
        with seeded_ids(substream(seed, "ids")):
            _customers(store, seed, sizes.customers)
            _articles(store, seed, sizes, dataset)
            _orders(store, seed, sizes.orders, now)
    store.company.stock_module = stock_module
    return dataset


def _customers(store: Store, seed: int, count: int) -> None:
    rng = substream(seed, "customers")
    terms = store.all("termsofpayments")
    methods = store.all("deliverymethods")
    for i in range(count):
        store.clock.advance(rng.randint(60, 3600))
        country = rng.choices([c for c, _ in COUNTRY_WEIGHTS], [w for _, w in COUNTRY_WEIGHTS])[0]
        party = make_party(rng, country=country, company=rng.random() < 0.4, index=i + 1)
        body = {
            "Name": party.display_name[:50],
            "IsPrivatePerson": not party.is_company,
            "IsActive": rng.random() < 0.95,
            "TermsOfPaymentId": rng.choice(terms[:2])["Id"],
            "InvoiceAddress1": party.address1,
            "InvoicePostalCode": party.postal_code,
            "InvoiceCity": party.city,
            "InvoiceCountryCode": country,
            "EmailAddress": party.email,
            "MobilePhone": party.phone,
            "ContactPersonName": party.person_name if party.is_company else None,
            "ContactPersonEmail": party.email if party.is_company else None,
            "VatNumber": party.vat_number,
            "CorporateIdentityNumber": None,
            "SalesDocumentLanguage": party.language,
            "DeliveryMethodId": rng.choice(methods)["Id"],
        }
        save_customer(store, body, None)


def _articles(store: Store, seed: int, sizes: SeedSizes, dataset: Dataset) -> None:
    rng = substream(seed, "articles")
    units = {u["Code"]: u["Id"] for u in store.all("units")}
    codings = store.all("articleaccountcodings")
    high, low, service = codings[0]["Id"], codings[1]["Id"], codings[3]["Id"]
    for item in shared_catalog(seed, sizes.articles):
        store.clock.advance(rng.randint(30, 900))
        body = {
            "Number": item.sku,
            "Name": item.name,
            "NameEnglish": item.name_en,
            "IsActive": item.active,
            "CodingId": high if item.vat_class == "high" else low,
            "UnitId": units["set" if item.unit == "set" else "st"],
            "NetPrice": item.net_price,
            "PurchasePrice": item.purchase_price,
            "IsStock": item.is_stock,
            "StockBalance": item.stock_quantity,
            "Barcodes": [{"Barcode": item.ean, "BarcodeType": 0}],
        }
        save_article(store, body, None)
    for n in range(1, sizes.unknown_articles + 1):
        sku = unknown_sku(n)
        dataset.unknown_skus.append(sku)
        body = {
            "Number": sku,
            "Name": f"Los artikel {n}",
            "IsActive": True,
            "CodingId": high,
            "UnitId": units["st"],
            "NetPrice": round(rng.uniform(5, 60), 2),
            "IsStock": False,
            "Barcodes": [{"Barcode": ean13(f"8719992{n:05d}"), "BarcodeType": 0}],
        }
        save_article(store, body, None)
    save_article(
        store,
        {
            "Number": SHIPPING_SKU,
            "Name": "Verzendkosten",
            "NameEnglish": "Shipping",
            "IsActive": True,
            "CodingId": service,
            "UnitId": units["st"],
            "NetPrice": 6.95,
        },
        None,
    )


def _orders(store: Store, seed: int, count: int, now: datetime) -> None:
    rng = substream(seed, "orders")
    customers = store.all("customers")
    articles = [
        a for a in store.all("articles") if a["Number"].startswith("ART-") and a["IsActive"]
    ]
    unknown = [a for a in store.all("articles") if a["Number"].startswith("UNKNOWN-")]
    shipping = store.find("articles", "Number", SHIPPING_SKU)
    methods = store.all("deliverymethods")
    if not customers or not articles:
        return
    step = max(60, int((now - store.clock.now()).total_seconds() * 0.9 / max(count, 1)))
    for _ in range(count):
        store.clock.advance(rng.randint(step // 2, step))
        status = rng.choices([s for s, _ in STATUS_WEIGHTS], [w for _, w in STATUS_WEIGHTS])[0]
        rows: list[Record] = []
        picks = rng.sample(articles, k=min(len(articles), rng.randint(1, 5)))
        if unknown and rng.random() < 0.08:
            picks[-1] = rng.choice(unknown)
        for article in picks:
            discount = rng.choice([0.05, 0.1, 0.15]) if rng.random() < 0.25 else 0.0
            rows.append(_row(len(rows), article["Id"], float(rng.randint(1, 4)), discount))
        if shipping is not None and rng.random() < 0.6:
            rows.append(_row(len(rows), shipping["Id"], 1.0, 0.0))
        customer = rng.choice(customers)
        method = rng.choice(methods)
        body = {
            "CustomerId": customer["Id"],
            "CurrencyCode": "EUR",
            "EuThirdParty": False,
            "ReverseChargeOnConstructionServices": False,
            "RotReducedInvoicingType": 0,
            "Status": 4 if status == 4 else status,
            "Rows": rows,
            "OrderDate": store.clock.now().date().isoformat(),
            "DeliveryMethodName": method["Name"],
            "DeliveryMethodCode": method["Code"],
            "YourReference": customer.get("ContactPersonName"),
        }
        if status == 4:
            body["Status"] = 3
        order = save_order(store, body, None)
        if status == 4:
            store.clock.advance(rng.randint(600, 7200))
            invoice = invoice_order(store, order, order["OrderDate"])
            if rng.random() < 0.6:
                store.clock.advance(rng.randint(3600, 86400))
                pay_invoice(store, invoice)


def _row(line: int, article_id: str, quantity: float, discount: float) -> Record:
    return {
        "LineNumber": line,
        "ArticleId": article_id,
        "Quantity": quantity,
        "DiscountPercentage": discount,
        "IsTextRow": False,
        "IsWorkCost": False,
        "EligibleForReverseChargeOnVat": False,
    }
