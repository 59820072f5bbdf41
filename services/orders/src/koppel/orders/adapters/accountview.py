"""``OrderTarget`` over ``koppel.connectors``' AccountView client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from koppel.connectors.accountview import query as q
from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import (
    AVRecord,
    DeliveryAddress,
    JournalLine,
    JournalPage,
    SalesInvoice,
    SalesOrder,
    SalesOrderHeader,
    SalesOrderLine,
)
from koppel.orders.adapters.ports import JSON
from koppel.orders.tenant_settings import SALES_INVOICE


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _row(record: AVRecord) -> JSON:
    return record.model_dump(mode="json", exclude_none=True)


class AccountViewOrderTarget:
    def __init__(self, client: AccountViewClient) -> None:
        self.client = client

    async def find_order(self, *, target_kind: str, field: str, value: str) -> str | None:
        if target_kind == SALES_INVOICE:
            pages = await self.client.list_all(
                JournalPage, filters=[q.equal(field, value)], business_object="DJ2P"
            )
            hits = [p for p in pages if _text(p.value(field)) == value]
            return _text(hits[0].INV_NR) or None if hits else None
        headers = await self.client.list_all(SalesOrderHeader, filters=[q.equal(field, value)])
        found = [h for h in headers if _text(h.value(field)) == value]
        return _text(found[0].ORD_NR) or None if found else None

    async def existing_articles(self, codes: Sequence[str]) -> set[str]:
        return await self.client.existing_article_codes(codes)

    async def delivery_addresses(self, debtor_number: str) -> list[JSON]:
        return [_row(a) for a in await self.client.list_delivery_addresses(debtor_number)]

    async def create_delivery_address(self, row: JSON) -> str:
        result = await self.client.create_delivery_address(DeliveryAddress.model_validate(row))
        if result.record is None or result.record.REC_ID in (None, ""):
            raise RuntimeError("AccountView created a delivery address but sent no REC_ID back")
        return _text(result.record.REC_ID)

    async def create_order(
        self, *, target_kind: str, header: JSON, lines: list[JSON], book_date: datetime | None
    ) -> str:
        if target_kind == SALES_INVOICE:
            invoice = SalesInvoice(
                page=JournalPage.model_validate({k: v for k, v in header.items() if v is not None}),
                lines=[JournalLine.model_validate(line) for line in lines],
            )
            written = await self.client.create_sales_invoice(invoice, book_date=book_date)
            number = _text(written.record.INV_NR) if written.record else ""
        else:
            order = SalesOrder(
                header=SalesOrderHeader.model_validate(
                    {k: v for k, v in header.items() if v is not None}
                ),
                lines=[SalesOrderLine.model_validate(line) for line in lines],
            )
            written_so = await self.client.create_sales_order(order, book_date=book_date)
            number = _text(written_so.record.ORD_NR) if written_so.record else ""
        if not number:
            raise RuntimeError("AccountView accepted the order but sent no number back")
        return number
