"""The seed: deterministic, sized, realistic, and in line with the shared SKU scheme."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

from koppel.sandbox.common.seeding import (
    KNOWN_SKU_PATTERN,
    UNKNOWN_SKU_PATTERN,
    is_valid_ean13,
    shared_catalog,
)
from koppel.sandbox.eaccounting import SeedSizes, build_dataset, create_app

from .conftest import asgi_client, make_app, make_settings, mint

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = build_dataset(42, now=NOW).store.snapshot()["data"]
    b = build_dataset(42, now=NOW).store.snapshot()["data"]
    c = build_dataset(43, now=NOW).store.snapshot()["data"]
    assert a == b
    assert a["customers"] != c["customers"]


def test_default_sizes_and_content() -> None:
    data = build_dataset(42, now=NOW)
    assert len(data.records("customers")) == 80
    articles = data.records("articles")
    known = [a for a in articles if KNOWN_SKU_PATTERN.match(a["Number"])]
    assert len(known) == 100
    assert [a["Number"] for a in known] == [i.sku for i in shared_catalog(42, 100)]
    assert all(is_valid_ean13(a["Barcodes"][0]["Barcode"]) for a in known)
    assert [a["Barcodes"][0]["Barcode"] for a in known] == [i.ean for i in shared_catalog(42, 100)]
    assert sum(bool(UNKNOWN_SKU_PATTERN.match(a["Number"])) for a in articles) == 5
    orders = data.records("orders")
    assert len(orders) == 200
    assert set(Counter(o["Status"] for o in orders)) == {1, 2, 3, 4}
    assert all(
        1 <= sum(not r["ArticleNumber"] == "SHIPPING" for r in o["Rows"]) <= 5 for o in orders
    )
    assert any(r["DiscountPercentage"] > 0 for o in orders for r in o["Rows"])
    assert any(r["ArticleNumber"] == "SHIPPING" for o in orders for r in o["Rows"])
    assert data.orders_with_unknown_skus()
    invoices = data.rendered_invoices()
    assert {i["PaymentStatus"] for i in invoices} >= {0, 1}
    assert data.paid_order_ids() <= {o["Id"] for o in orders if o["Status"] == 4}
    customers = data.records("customers")
    assert {c["InvoiceCountryCode"] for c in customers} == {"NL", "BE", "DE", "SE", "NO"}
    assert any(c["IsPrivatePerson"] for c in customers)
    assert any(not c["IsPrivatePerson"] for c in customers)
    assert len({c["EmailAddress"] for c in customers}) == 80
    vat = {v["Code"] for v in data.records("vatcodes")}
    assert {"NL-H", "SE-25", "NO-25", "DE-19", "BE-21"} <= vat
    reserved = [a for a in data.rendered_articles() if a["StockBalanceReserved"] > 0]
    assert reserved


def test_sizes_are_configurable_and_empty_keeps_lookups() -> None:
    small = build_dataset(
        1, SeedSizes(customers=3, articles=4, unknown_articles=0, orders=2), now=NOW
    )
    assert len(small.records("customers")) == 3
    assert len(small.records("orders")) == 2
    empty = build_dataset(1, now=NOW, empty=True)
    assert empty.records("orders") == []
    assert empty.records("vatcodes")


async def test_reset_endpoint() -> None:
    app = make_app()
    async with asgi_client(app) as admin:
        r = await admin.post(
            "/_sandbox/reset", json={"seed": 5, "customers": 4, "orders": 3, "articles": 6}
        )
        assert r.json()["counts"]["customers"] == 4
        assert r.json()["counts"]["orders"] == 3
        r = await admin.post("/_sandbox/reset", json={"empty": True})
        assert r.json()["counts"]["customers"] == 0
        state = (await admin.get("/_sandbox/state")).json()
        assert state["data"]["units"]
        assert state["company"]["stock_module"] is False
        created = await admin.post(
            "/_sandbox/customers",
            json={
                "Name": "Direct",
                "InvoiceCity": "Bergen",
                "InvoicePostalCode": "5003",
                "TermsOfPaymentId": state["data"]["termsofpayments"][0]["Id"],
                "IsPrivatePerson": True,
                "IsActive": True,
            },
        )
        assert created.status_code == 201
    async with asgi_client(app, (await mint(app))["access_token"]) as api:
        assert (await api.get("/v2/customers")).json()["Meta"]["TotalNumberOfResults"] == 1


def test_app_start_time() -> None:
    started = time.perf_counter()
    app = create_app(make_settings(sizes=SeedSizes()))
    elapsed = time.perf_counter() - started
    print(f"create_app with the default seed sizes: {elapsed:.3f} s")
    assert len(app.state.sandbox.store.all("orders")) == 200
