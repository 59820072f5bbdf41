"""Contract tests of the write endpoints and the business rules behind them."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import asgi_client, make_app, mint


async def lookup(api: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    return list((await api.get(path, params={"$pagesize": 1000})).json()["Data"])


async def new_customer(api: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    terms = (await lookup(api, "/v2/termsofpayments"))[0]
    body = {
        "Name": "Fjord Design AS",
        "InvoiceCity": "Oslo",
        "InvoicePostalCode": "0150",
        "InvoiceCountryCode": "NO",
        "TermsOfPaymentId": terms["Id"],
        "IsPrivatePerson": False,
        "IsActive": True,
        "EmailAddress": "post@fjord.example",
        **extra,
    }
    r = await api.post("/v2/customers", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def article_body(api: httpx.AsyncClient, number: str, **extra: Any) -> dict[str, Any]:
    coding = next(c for c in await lookup(api, "/v2/articleaccountcodings") if c["Type"] == "Goods")
    unit = (await lookup(api, "/v2/units"))[0]
    return {
        "Number": number,
        "Name": "Testartikel",
        "IsActive": True,
        "CodingId": coding["Id"],
        "UnitId": unit["Id"],
        "NetPrice": 10.0,
        "IsStock": True,
        "Barcodes": [{"Barcode": "8719991999990", "BarcodeType": 0}],
        **extra,
    }


async def test_customer_crud_and_full_replace(api: httpx.AsyncClient) -> None:
    created = await new_customer(api, Telephone="+47 22 00 00 00")
    assert created["CustomerNumber"]
    assert created["ChangedUtc"] == "2025-03-01T09:00:00.000Z"
    assert (await api.get(f"/v2/customers/{created['Id']}")).json() == created
    app_clock = api._transport.app.state.sandbox.clock  # type: ignore[attr-defined]
    app_clock.advance(30)
    replaced = {
        k: created[k]
        for k in (
            "Name",
            "InvoiceCity",
            "InvoicePostalCode",
            "TermsOfPaymentId",
            "IsPrivatePerson",
            "IsActive",
        )
    }
    r = await api.put(f"/v2/customers/{created['Id']}", json={**replaced, "Name": "Fjord AS"})
    assert r.status_code == 200
    updated = r.json()
    assert updated["Name"] == "Fjord AS"
    assert updated["Telephone"] is None  # omitted -> reset (full replace)
    assert updated["CustomerNumber"] != created["CustomerNumber"]  # omitted -> new number
    assert updated["ChangedUtc"] == "2025-03-01T09:00:30.000Z"
    assert (await api.delete(f"/v2/customers/{created['Id']}")).status_code == 200
    r = await api.get(f"/v2/customers/{created['Id']}")
    assert r.status_code == 404
    assert r.json()["ErrorCode"] == 3000


async def test_customer_business_rules(api: httpx.AsyncClient) -> None:
    customers = await lookup(api, "/v2/customers")
    taken = customers[0]["CustomerNumber"]
    terms = (await lookup(api, "/v2/termsofpayments"))[0]["Id"]
    base = {
        "Name": "X",
        "InvoiceCity": "Utrecht",
        "InvoicePostalCode": "3511 AB",
        "TermsOfPaymentId": terms,
        "IsPrivatePerson": True,
        "IsActive": True,
    }
    dup = await api.post("/v2/customers", json={**base, "CustomerNumber": taken})
    assert dup.status_code == 400
    assert dup.json()["ErrorCode"] == 4000
    vat = await api.post("/v2/customers", json={**base, "VatNumber": "NL123456789B01"})
    assert vat.json()["Errors"][0]["Field"] == "InvoiceCountryCode"
    eu = await api.post(
        "/v2/customers", json={**base, "InvoiceCountryCode": "DE", "ForceBookkeepVat": True}
    )
    assert eu.json()["ErrorCode"] == 4035
    missing = await api.post(
        "/v2/customers", json={k: v for k, v in base.items() if k != "InvoiceCity"}
    )
    assert missing.status_code == 400
    assert missing.json()["ErrorCode"] == 2000
    assert [e["Field"] for e in missing.json()["Errors"]] == ["InvoiceCity"]
    unknown_terms = await api.post(
        "/v2/customers", json={**base, "TermsOfPaymentId": "00000000-0000-4000-8000-000000000000"}
    )
    assert unknown_terms.json()["Errors"][0]["Field"] == "TermsOfPaymentId"
    # A customer with orders cannot be deleted.
    orders = await lookup(api, "/v2/orders")
    r = await api.delete(f"/v2/customers/{orders[0]['CustomerId']}")
    assert r.json()["ErrorCode"] == 4001


async def test_spec_violating_bodies_are_refused_naming_the_field(api: httpx.AsyncClient) -> None:
    body = await article_body(api, "ART-NEW-1")
    for broken, field in [
        ({**body, "Name": "x" * 51}, "Name"),
        ({**body, "IsActive": "yes"}, "IsActive"),
        ({**body, "Gtin": "8719991999990"}, "Gtin"),
        ({**body, "Barcodes": [{"Barcode": 8719991999990}]}, "Barcodes[0].Barcode"),
        ({**body, "UnitId": "not-a-guid"}, "UnitId"),
    ]:
        r = await api.post("/v2/articles", json=broken)
        assert r.status_code == 400, broken
        assert r.json()["ErrorCode"] == 2000
        assert field in [e["Field"] for e in r.json()["Errors"]]
    r = await api.post(
        "/v2/articles", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400


async def test_article_rules_and_stock(api: httpx.AsyncClient) -> None:
    body = await article_body(api, "ART-NEW-2", StockBalance=12)
    r = await api.post("/v2/articles", json=body)
    assert r.status_code == 201
    article = r.json()
    assert article["GrossPrice"] == 12.1
    assert article["StockBalance"] == 12
    assert article["StockBalanceAvailable"] == 12
    assert article["Barcodes"] == [{"Barcode": "8719991999990", "BarcodeType": 0}]
    dup = await api.post("/v2/articles", json=body)
    assert dup.json()["ErrorCode"] == 4000
    wrong_gross = await api.post(
        "/v2/articles", json={**body, "Number": "ART-NEW-3", "GrossPrice": 99}
    )
    assert wrong_gross.json()["Errors"][0]["Field"] == "GrossPrice"
    assert (await api.delete(f"/v2/articles/{article['Id']}")).status_code == 405
    # Stock module on: StockBalance becomes read-only.
    await api.post("/_sandbox/company", json={"stock_module": True})
    r = await api.put(f"/v2/articles/{article['Id']}", json={**body, "StockBalance": 5})
    assert r.status_code == 400
    assert r.json()["ErrorCode"] == 4002
    same = await api.put(f"/v2/articles/{article['Id']}", json={**body, "Name": "Hernoemd"})
    assert same.status_code == 200
    assert same.json()["StockBalance"] == 12
    assert same.json()["ShowStockInformation"] is True
    await api.post("/_sandbox/company", json={"stock_module": False})
    r = await api.put(f"/v2/articles/{article['Id']}", json={**body, "StockBalance": 5})
    assert r.json()["StockBalance"] == 5
    to_non_stock = await api.put(
        f"/v2/articles/{article['Id']}", json={**body, "StockBalance": 5, "IsStock": False}
    )
    assert to_non_stock.json()["ErrorCode"] == 5003


async def test_orders_reserve_stock_and_follow_status(api: httpx.AsyncClient) -> None:
    customer = await new_customer(api)
    article = (
        await api.post("/v2/articles", json=await article_body(api, "ART-NEW-4", StockBalance=10))
    ).json()
    row = {
        "LineNumber": 0,
        "ArticleNumber": "ART-NEW-4",
        "Quantity": 3,
        "DiscountPercentage": 0.1,
        "IsTextRow": False,
        "IsWorkCost": False,
        "EligibleForReverseChargeOnVat": False,
    }
    order_body = {
        "CustomerId": customer["Id"],
        "CurrencyCode": "EUR",
        "EuThirdParty": False,
        "ReverseChargeOnConstructionServices": False,
        "RotReducedInvoicingType": 0,
        "Status": 2,
        "OrderDate": "2025-03-01",
        "Rows": [row],
        "DeliveryMethodCode": "POSTNL",
    }
    r = await api.post("/v2/orders", json=order_body)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["Amount"] == 27.0
    assert order["VatAmount"] == 5.67
    assert order["CustomerName"] == "Fjord Design AS"
    assert order["InvoiceCity"] == "Oslo"
    assert order["DeliveryMethodName"] == "PostNL"
    assert order["DeliveryMethodId"]
    assert order["OrderDate"] == "2025-03-01T00:00:00Z"
    assert order["Rows"][0]["ArticleId"] == article["Id"]
    held = (await api.get(f"/v2/articles/{article['Id']}")).json()
    assert held["StockBalanceReserved"] == 3
    assert held["StockBalanceAvailable"] == 7
    shipped = await api.put(f"/v2/orders/{order['Id']}", json={**order_body, "Status": 3})
    assert shipped.json()["Rows"][0]["DeliveredQuantity"] == 3
    assert (await api.get(f"/v2/articles/{article['Id']}")).json()["StockBalanceReserved"] == 0
    bad = await api.post("/v2/orders", json={**order_body, "Status": 5})
    assert bad.json()["Errors"][0]["Field"] == "Status"
    unknown = await api.post(
        "/v2/orders", json={**order_body, "Rows": [{**row, "ArticleNumber": "NOPE"}]}
    )
    assert unknown.json()["Errors"][0]["Field"] == "Rows[0].ArticleId"
    # Invoice it, pay it: payment state is on the invoice.
    invoice = (await api.post(f"/_sandbox/orders/{order['Id']}/invoice")).json()
    assert invoice["CreatedFromOrderId"] == order["Id"]
    assert invoice["PaymentStatus"] == 1
    assert invoice["RemainingAmount"] == 32.67
    assert (await api.get(f"/v2/orders/{order['Id']}")).json()["Status"] == 4
    assert (await api.delete(f"/v2/orders/{order['Id']}")).json()["ErrorCode"] == 4001
    paid = (await api.post(f"/_sandbox/customerinvoices/{invoice['Id']}/pay", json={})).json()
    assert paid["PaymentStatus"] == 0
    assert paid["RemainingAmount"] == 0
    # A draft order can be deleted.
    draft = (await api.post("/v2/orders", json={**order_body, "Status": 1})).json()
    assert (await api.delete(f"/v2/orders/{draft['Id']}")).status_code == 200


async def test_invoices_drafts_and_lookups(api: httpx.AsyncClient) -> None:
    customer = await new_customer(api)
    articles = await lookup(api, "/v2/articles")
    row = {
        "ArticleId": articles[0]["Id"],
        "Quantity": 2,
        "IsTextRow": False,
        "ReversedConstructionServicesVatFree": False,
    }
    draft_body = {
        "CustomerId": customer["Id"],
        "EuThirdParty": False,
        "RotReducedInvoicingType": 0,
        "Rows": [row],
    }
    draft = (await api.post("/v2/customerinvoicedrafts", json=draft_body)).json()
    assert draft["CreatedUtc"]
    assert (await api.get(f"/v2/customerinvoicedrafts/{draft['Id']}")).status_code == 200
    r = await api.put(
        f"/v2/customerinvoicedrafts/{draft['Id']}", json={**draft_body, "YourReference": "Kari"}
    )
    assert r.json()["YourReference"] == "Kari"
    assert (await api.delete(f"/v2/customerinvoicedrafts/{draft['Id']}")).status_code == 200
    invoice_body = {
        "CustomerId": customer["Id"],
        "EuThirdParty": False,
        "RotReducedInvoicingType": 0,
        "TermsOfPaymentId": customer["TermsOfPaymentId"],
        "Rows": [{"ArticleId": articles[0]["Id"], "Quantity": 1}],
    }
    invoice = await api.post("/v2/customerinvoices", json=invoice_body)
    assert invoice.status_code == 201
    assert (await api.get(f"/v2/customerinvoices/{invoice.json()['Id']}")).json()[
        "PaymentStatus"
    ] == 1
    method = await api.post("/v2/deliverymethods", json={"Name": "Budbee", "Code": "BUDBEE"})
    assert method.status_code == 200
    assert (await api.get(f"/v2/deliverymethods/{method.json()['Id']}")).json()["Code"] == "BUDBEE"
    term = await api.post("/v2/deliveryterms", json={"Name": "DAP"})
    assert term.status_code == 200
    for path in ("/v2/vatcodes", "/v2/termsofpayments", "/v2/units", "/v2/deliveryterms"):
        first = (await lookup(api, path))[0]
        assert (await api.get(f"{path}/{first['Id']}")).json() == first
    assert (await api.get("/v2/countries/SE")).json()["IsEuMember"] is True
    assert (await api.get("/v2/countries/NO")).json()["IsEuMember"] is False


async def test_changed_utc_moves_on_every_write() -> None:
    app = make_app()
    async with asgi_client(app, (await mint(app))["access_token"]) as api:
        articles = await lookup(api, "/v2/articles")
        article = articles[0]
        before = article["ChangedUtc"]
        watermark = max(a["ChangedUtc"] for a in articles)
        app.state.sandbox.clock.advance(5)
        body = {
            k: article[k]
            for k in ("Number", "Name", "IsActive", "CodingId", "UnitId", "NetPrice", "IsStock")
        }
        after = (await api.put(f"/v2/articles/{article['Id']}", json=body)).json()
        assert after["ChangedUtc"] > before
        assert after["CreatedUtc"] == article["CreatedUtc"]
        found = await api.get("/v2/articles", params={"$filter": f"ChangedUtc gt {watermark}"})
        assert [a["Id"] for a in found.json()["Data"]] == [article["Id"]]
