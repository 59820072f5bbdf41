"""Every AccountView operation against the AccountView sandbox."""

from __future__ import annotations

from datetime import datetime

import pytest

from koppel.common.errors import PermanentError
from koppel.connectors.accountview import (
    AccountViewClient,
    Contact,
    DeliveryAddress,
    JournalLine,
    JournalPage,
    SalesInvoice,
    SalesOrder,
    SalesOrderHeader,
    SalesOrderLine,
)
from koppel.connectors.common import (
    AuthenticationError,
    FieldTooLongError,
    PermanentConnectorError,
    RecordingHook,
    ValidationFailedError,
)

from .conftest import Sandbox, make_av_client


async def test_company_code_is_resolved_through_companies(av: AccountViewClient) -> None:
    companies = await av.list_companies()
    assert {c.Code for c in companies} >= {"KOPPELDEMO"}
    assert await av.company_id() == next(c.Id for c in companies if c.Code == "KOPPELDEMO")


async def state_rows(sandbox: Sandbox, table: str) -> list[dict]:
    state = await sandbox.admin_json("GET", "/_sandbox/state", params={"table": table})
    company = next(c for c in state["companies"] if c["Code"] == "KOPPELDEMO")
    return company["tables"][table]


async def test_full_sweep_pages_until_a_short_page(av_sandbox: Sandbox) -> None:
    total = len(await state_rows(av_sandbox, "ARTICLE"))
    for paging in ("page_number", "last_key"):
        async with make_av_client(av_sandbox, page_size=7, paging=paging) as av:
            pages = [page async for page in av.iter_articles()]
            codes = [a.ART_CODE for page in pages for a in page]
            assert len(codes) == total, paging
            assert len(set(codes)) == total, paging
            assert [len(p) for p in pages][:-1] == [7] * (len(pages) - 1)


async def test_incremental_listing_uses_cng_date(
    av_sandbox: Sandbox, av: AccountViewClient
) -> None:
    articles = [a async for page in av.iter_articles() for a in page]
    newest = max(a.CNG_DATE for a in articles if a.CNG_DATE)
    changed = [a async for page in av.iter_articles(newest) for a in page]
    assert changed
    assert all(a.CNG_DATE and a.CNG_DATE >= newest for a in changed)
    assert len(changed) < len(articles)
    log = await av_sandbox.requests()
    assert any("FilterValue1=%7B%5E" in e["query"] or "{^" in e["query"] for e in log["entries"])


async def test_find_article_by_code_ean_and_which_skus_exist_in_one_query(
    av_sandbox: Sandbox,
) -> None:
    for mode in ("list_of_values", "match_any"):
        async with make_av_client(av_sandbox, list_filter=mode) as av:
            article = await av.get_article("ART-0003")
            assert article is not None
            assert article.ART_CODE == "ART-0003"
            ean = article.value("BAR_CODE")
            assert [a.ART_CODE for a in await av.find_articles_by_ean(ean)] == ["ART-0003"]
            await av_sandbox.admin.delete("/_sandbox/requests")
            found = await av.existing_article_codes(["ART-0001", "ART-0002", "NOPE-1", "ART-0059"])
            assert found == {"ART-0001", "ART-0002", "ART-0059"}, mode
            log = await av_sandbox.requests()
            assert log["total"] == 1, mode
            assert av.stock_level(article) == article.QTY_FREE2


async def test_lookup_tables(av: AccountViewClient) -> None:
    assert {v.VAT_CODE for v in await av.list_vat_codes()}
    assert all(g.AG_CODE for g in await av.list_article_groups())


async def test_debtor_find_by_email_is_case_insensitive_by_normalising(
    av: AccountViewClient,
) -> None:
    created = await av.create_debtor(
        Contact(
            ACCT_NAME="Jansen Fietsen",
            SRC_CODE="JANSEN",
            ACCT_NR="1300",
            MAIL_BUS="  Info@Jansen.Example ",
        )
    )
    assert created.record is not None
    assert created.record.SUB_NR
    assert created.record.MAIL_BUS == "info@jansen.example"
    hit = await av.find_debtor_by_email("INFO@jansen.example")
    assert hit is not None
    assert hit.SUB_NR == created.record.SUB_NR
    assert await av.find_debtor_by_email("nobody@example.invalid") is None
    assert (await av.get_debtor(created.record.SUB_NR)) is not None


async def test_update_debtor_sends_key_and_changes(
    av: AccountViewClient, av_sandbox: Sandbox
) -> None:
    debtor = (await anext(av.iter_debtors()))[0]
    assert debtor.SUB_NR
    result = await av.update_debtor(debtor.SUB_NR, {"CITY": "Utrecht"})
    assert result.warnings == []
    again = await av.get_debtor(debtor.SUB_NR)
    assert again is not None
    assert again.CITY == "Utrecht"
    assert again.ACCT_NAME == debtor.ACCT_NAME


async def test_truncation_is_reported_or_refused(av_sandbox: Sandbox) -> None:
    long_name = "Een heel lange bedrijfsnaam die niet in veertig tekens past B.V."
    async with make_av_client(av_sandbox) as av:
        result = await av.create_debtor(
            Contact(
                ACCT_NAME=long_name, SRC_CODE="lang", ACCT_NR="1300", MAIL_BUS="lang@example.nl"
            )
        )
        assert [(w.table, w.field, w.max_length) for w in result.warnings] == [
            ("CONTACT", "ACCT_NAME", 40)
        ]
        assert result.record is not None
        assert result.record.ACCT_NAME == long_name[:40].rstrip()
        assert result.record.SRC_CODE == "LANG"  # forced uppercase field
    async with make_av_client(av_sandbox, truncation="error") as av:
        with pytest.raises(FieldTooLongError) as info:
            await av.create_debtor(Contact(ACCT_NAME=long_name, SRC_CODE="X", ACCT_NR="1300"))
        assert isinstance(info.value, PermanentError)
        assert "ACCT_NAME" in str(info.value)


async def test_validation_error_is_permanent_with_context(av_sandbox: Sandbox) -> None:
    for on_200 in (False, True):
        await av_sandbox.admin_json(
            "POST", "/_sandbox/knobs", json={"errors_with_status_200": on_200}
        )
        async with make_av_client(av_sandbox) as av:
            with pytest.raises(PermanentConnectorError) as info:
                await av.create_debtor(
                    Contact(SRC_CODE="X", MAIL_BUS="x@example.nl")
                )  # no ACCT_NAME
            err = info.value
            assert err.ctx.api == "accountview"
            assert err.ctx.method == "POST"
            assert err.ctx.api_message
            assert err.ctx.record_key == "x@example.nl"
            if not on_200:
                assert isinstance(err, ValidationFailedError)


async def test_404_on_empty_result_is_empty(av_sandbox: Sandbox, av: AccountViewClient) -> None:
    await av_sandbox.admin_json("POST", "/_sandbox/knobs", json={"not_found_on_empty": True})
    assert await av.find_debtor_by_email("nobody@example.invalid") is None
    assert await av.existing_article_codes(["NOPE"]) == set()


async def test_padded_char_fields_found_with_contains(av_sandbox: Sandbox) -> None:
    await av_sandbox.admin_json("POST", "/_sandbox/knobs", json={"pad_char_fields": True})
    async with make_av_client(av_sandbox, char_match="contains") as av:
        article = await av.get_article("ART-0004")
        assert article is not None
        assert article.ART_CODE == "ART-0004"


async def test_delivery_address_and_sales_order_once(
    av_sandbox: Sandbox, av: AccountViewClient
) -> None:
    debtor = (await anext(av.iter_debtors()))[0]
    assert debtor.SUB_NR
    addr = await av.create_delivery_address(
        DeliveryAddress(
            SUB_NR=debtor.SUB_NR,
            DEL_NAME="Magazijn",
            ADDRESS1="Kade 1",
            POST_CODE="1234 ab",
            CITY="Delft",
            CNT_CODE="nl",
        )
    )
    assert addr.record is not None
    assert addr.record.REC_ID
    assert [a.ADDRESS1 for a in await av.list_delivery_addresses(debtor.SUB_NR)].count(
        "Kade 1"
    ) == 1
    order = SalesOrder(
        header=SalesOrderHeader(
            ORD_DATE=datetime(2025, 3, 1, 10, 0),
            RPL_INV=debtor.SUB_NR,
            RPL_DEL=debtor.SUB_NR,
            DEL_CODE=str(addr.record.REC_ID),
        ),
        lines=[
            SalesOrderLine(ART_CODE="ART-0001", ORD_QTY=2, ART_PX=10.5),
            SalesOrderLine(ART_CODE="ART-0002", ORD_QTY=1, ART_PX=3),
        ],
    )
    first = await av.create_sales_order_once(order, "EA-ORDER-123")
    second = await av.create_sales_order_once(order, "EA-ORDER-123")
    assert first.created
    assert not second.created
    assert first.record.record is not None
    assert second.record.record is not None
    assert first.record.record.ORD_NR == second.record.record.ORD_NR
    assert len(first.record.tables.get("SO_LINE", [])) == 2
    hits = await av.find_sales_orders_by_reference("EA-ORDER-123")
    assert len(hits) == 1


async def test_sales_invoice_booking_once(av_sandbox: Sandbox, av: AccountViewClient) -> None:
    debtor = (await anext(av.iter_debtors()))[0]
    dj_code = (await state_rows(av_sandbox, "DAILY"))[0]["DJ_CODE"]
    invoice = SalesInvoice(
        page=JournalPage(
            DJ_CODE=dj_code,
            SUB_NR=debtor.SUB_NR,
            TRN_DATE=datetime(2025, 3, 2),
            HDR_DESC="Order 123",
        ),
        lines=[
            JournalLine(ACCT_NR="8000", TRN_DESC="Omzet", AMOUNT=100.0, VAT_CODE="21", VAT_AMT=21.0)
        ],
    )
    first = await av.create_sales_invoice_once(invoice, "EA-INV-9")
    again = await av.create_sales_invoice_once(invoice, "EA-INV-9")
    assert first.created
    assert not again.created
    assert first.record.record is not None
    assert first.record.record.INV_NR


async def test_401_forces_one_refresh_then_fails_permanently(av_sandbox: Sandbox) -> None:
    recorder = RecordingHook()
    async with make_av_client(av_sandbox, hooks=(recorder,)) as av:
        av_sandbox.tokens.token = "stale-token"
        assert await av.list_companies()
        assert av_sandbox.tokens.forced == 1
        assert [e.status for e in recorder.exchanges] == [401, 200]

    class Broken:
        async def access_token(self, connection_id: str, *, force_refresh: bool = False) -> str:
            return "never-valid"

    av = make_av_client(av_sandbox)
    av.http._tokens = Broken()
    with pytest.raises(AuthenticationError):
        await av.list_companies()
    await av.aclose()


async def test_hooks_see_redacted_exchanges(av_sandbox: Sandbox, recorder: RecordingHook) -> None:
    async with make_av_client(av_sandbox, hooks=(recorder,)) as av:
        await av.get_article("ART-0001")
    token = av_sandbox.tokens.token
    assert token
    for exchange in recorder.exchanges:
        assert exchange.request_headers.get("authorization") == "***"
        assert token not in repr(exchange)
        assert exchange.status == 200
        assert exchange.duration_ms >= 0
    assert recorder.exchanges[-1].response_body
    assert "ART-0001" in recorder.exchanges[-1].response_body
