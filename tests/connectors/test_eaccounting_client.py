"""Every eAccounting operation against the eAccounting sandbox."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from koppel.common.errors import PermanentError, TransientError
from koppel.connectors.common import (
    NotFoundError,
    RateLimitedError,
    RecordingHook,
    ValidationFailedError,
)
from koppel.connectors.eaccounting import (
    Article,
    ArticleBarcode,
    Customer,
    EAccountingClient,
    Order,
    OrderRow,
    OrderStatus,
    PaymentStatus,
)

from .conftest import Sandbox, make_ea_client


async def new_customer(ea: EAccountingClient, email: str, number: str | None = None) -> Customer:
    terms = (await ea.list_terms_of_payment())[0]
    assert terms.id is not None
    return Customer(
        name="Bakkerij De Korenschoof",
        customer_number=number,
        terms_of_payment_id=terms.id,
        invoice_address1="Dorpsstraat 1",
        invoice_postal_code="1234 AB",
        invoice_city="Utrecht",
        invoice_country_code="NL",
        email_address=email,
        is_private_person=False,
    )


async def new_article(ea: EAccountingClient, number: str, barcode: str | None = None) -> Article:
    coding = next(c for c in await ea.list_article_account_codings() if c.type == "Goods")
    unit = (await ea.list_units())[0]
    assert coding.id is not None
    assert unit.id is not None
    return Article(
        number=number,
        name=f"Artikel {number}",
        name_english=f"Article {number}",
        coding_id=coding.id,
        unit_id=unit.id,
        net_price=10.0,
        gross_price=round(10.0 * (1 + (coding.vat_rate_percent or 0)), 2),
        barcodes=[ArticleBarcode(barcode=barcode)] if barcode else None,
    )


async def test_lookup_tables(ea: EAccountingClient) -> None:
    assert await ea.list_vat_codes()
    assert await ea.list_terms_of_payment()
    assert await ea.list_delivery_methods()
    assert await ea.list_delivery_terms()
    assert await ea.list_units()
    assert await ea.list_article_account_codings()
    assert {c.code for c in await ea.list_countries()} >= {"NL"}


async def test_full_sweep_follows_meta_pages(ea_sandbox: Sandbox) -> None:
    async with make_ea_client(ea_sandbox, page_size=4) as ea:
        pages = [p async for p in ea.iter_customers()]
    assert len(pages) == pages[0].meta.total_number_of_pages
    assert sum(len(p.data) for p in pages) == pages[0].meta.total_number_of_results == 15


async def test_incremental_customers_by_changed_utc(ea: EAccountingClient) -> None:
    first = await anext(ea.iter_customers())
    watermark = first.meta.server_time_utc
    created = await ea.create_customer(await new_customer(ea, "nieuw@korenschoof.example"))
    changed = [
        c async for page in ea.iter_customers(watermark - timedelta(seconds=1)) for c in page.data
    ]
    assert [c.id for c in changed] == [created.id]


async def test_customer_find_by_email_and_number_and_merge_update(ea: EAccountingClient) -> None:
    created = (
        await ea.create_customer_once(await new_customer(ea, "Info@Korenschoof.example", "K-77"))
    ).record
    assert created.id is not None
    hits = await ea.find_customers_by_email("  info@korenschoof.EXAMPLE ")
    assert [c.id for c in hits] == [created.id]
    by_number = await ea.find_customer_by_number("K-77")
    assert by_number is not None
    assert by_number.id == created.id
    again = await ea.create_customer_once(
        await new_customer(ea, "Info@Korenschoof.example", "K-77")
    )
    assert not again.created
    updated = await ea.update_customer(created.id, {"InvoiceCity": "Amersfoort"})
    assert updated.invoice_city == "Amersfoort"
    assert updated.email_address == created.email_address  # the full-replace PUT kept the rest
    assert updated.invoice_address1 == "Dorpsstraat 1"


async def test_articles_create_once_find_and_update_by_number(
    ea_sandbox: Sandbox, ea: EAccountingClient
) -> None:
    result = await ea.create_article_once(await new_article(ea, "SKU-1", "8712345678906"))
    assert result.created
    assert not (await ea.create_article_once(await new_article(ea, "SKU-1"))).created
    found = await ea.find_article_by_number("SKU-1")
    assert found is not None
    assert found.id == result.record.id
    by_barcode = await ea.find_articles_by_barcode("8712345678906")
    assert [a.number for a in by_barcode] == ["SKU-1"]
    updated = await ea.update_article_by_number(
        "SKU-1", {"Name": "Nieuwe naam", "NetPrice": 12.0, "GrossPrice": 14.52}
    )
    assert updated.name == "Nieuwe naam"
    assert updated.barcode_values == ["8712345678906"]  # kept by read-merge-write
    assert updated.name_english == "Article SKU-1"
    with pytest.raises(NotFoundError):
        await ea.update_article_by_number("NOPE-404", {"Name": "x"})


async def test_which_skus_exist_in_one_query(ea_sandbox: Sandbox, ea: EAccountingClient) -> None:
    await ea_sandbox.admin.delete("/_sandbox/requests")
    wanted = ["ART-0001", "ART-0002", "ART-0040", "NOT-THERE-1", "NOT-THERE-2"]
    assert await ea.existing_article_numbers(wanted) == {"ART-0001", "ART-0002", "ART-0040"}
    assert (await ea_sandbox.requests())["total"] == 1


async def test_orders_by_status_and_invoice_payment_state(
    ea_sandbox: Sandbox, ea: EAccountingClient
) -> None:
    ongoing = [
        o async for page in ea.iter_orders(statuses=[OrderStatus.ONGOING]) for o in page.data
    ]
    assert ongoing
    assert all(o.status == OrderStatus.ONGOING for o in ongoing)
    order = ongoing[0]
    assert order.id is not None
    assert (await ea.get_order(order.id)).rows
    first = await anext(ea.iter_orders())
    later = [o async for page in ea.iter_orders(first.meta.server_time_utc) for o in page.data]
    assert later == []
    invoice = await ea_sandbox.admin_json("POST", f"/_sandbox/orders/{order.id}/invoice")
    invoices = await ea.invoices_for_order(order.id)
    assert [str(i.id) for i in invoices] == [invoice["Id"]]
    assert invoices[0].payment_status != PaymentStatus.PAID
    await ea_sandbox.admin_json("POST", f"/_sandbox/customerinvoices/{invoice['Id']}/pay", json={})
    paid = await ea.get_customer_invoice(invoice["Id"])
    assert paid.is_paid
    assert [
        i.id
        async for page in ea.iter_customer_invoices(first.meta.server_time_utc)
        for i in page.data
    ] == [paid.id]


async def test_create_order(ea: EAccountingClient) -> None:
    customer = await anext(ea.iter_customers())
    article = (await anext(ea.iter_articles())).data[0]
    assert customer.data[0].id is not None
    order = await ea.create_order(
        Order(
            customer_id=customer.data[0].id,
            currency_code="EUR",
            status=OrderStatus.ONGOING,
            rows=[
                OrderRow(
                    line_number=1,
                    article_id=article.id,
                    article_number=article.number,
                    quantity=2,
                    unit_price=5.0,
                )
            ],
        )
    )
    assert order.id is not None
    assert order.rows
    assert order.rows[0].article_number == article.number


async def test_errors_are_classified_with_context(
    ea_sandbox: Sandbox, ea: EAccountingClient
) -> None:
    with pytest.raises(NotFoundError) as missing:
        await ea.get_customer(uuid.uuid4())
    assert isinstance(missing.value, PermanentError)
    bad = (await new_article(ea, "SKU-BAD")).model_copy(update={"coding_id": uuid.uuid4()})
    with pytest.raises(ValidationFailedError) as invalid:
        await ea.create_article(bad)
    assert invalid.value.ctx.record_key == "SKU-BAD"
    assert invalid.value.ctx.api_error_code
    assert invalid.value.ctx.field_errors or invalid.value.ctx.api_message
    # A 429 that gets through carries the advertised wait as retry_after (transient).
    await ea_sandbox.admin_json(
        "POST", "/_sandbox/ratelimit", json={"limit": 1, "window_seconds": 60}
    )
    async with make_ea_client(ea_sandbox, rate_limit_requests=0, max_attempts=1) as raw:
        await raw.list_units()
        with pytest.raises(RateLimitedError) as limited:
            await raw.list_units()
    assert isinstance(limited.value, TransientError)
    assert limited.value.retry_after is not None
    assert 0 < limited.value.retry_after <= 60


async def test_401_is_retried_once_with_a_forced_refresh(ea_sandbox: Sandbox) -> None:
    recorder = RecordingHook()
    async with make_ea_client(ea_sandbox, hooks=(recorder,)) as ea:
        ea_sandbox.tokens.token = "expired"
        assert await ea.list_units()
    assert [e.status for e in recorder.exchanges] == [401, 200]
    assert ea_sandbox.tokens.forced == 1
    assert all(e.request_headers["authorization"] == "***" for e in recorder.exchanges)
