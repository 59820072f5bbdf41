"""Fakes of the orders ports: an in-memory eAccounting and AccountView that count calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from koppel.orders.adapters.ports import JSON, SourcePage
from koppel.orders.selection import parse_utc


class FakeSource:
    def __init__(
        self,
        orders: list[JSON],
        customers: dict[str, JSON] | None = None,
        invoices: list[JSON] | None = None,
    ) -> None:
        self.orders = orders
        self.customers = customers or {}
        self.invoices = invoices or []
        self.calls: Counter[str] = Counter()
        self.fail = False

    def _page(
        self, rows: list[JSON], since: datetime | None, page: int, page_size: int
    ) -> SourcePage:
        if self.fail:
            from koppel.common.errors import TransientError

            raise TransientError("eAccounting is down", reason_code="remote_unavailable")
        kept = [r for r in rows if since is None or parse_utc(r["ModifiedUtc"]) >= since]  # type: ignore[operator]
        kept.sort(key=lambda r: r["ModifiedUtc"])
        pages = max(1, -(-len(kept) // page_size)) if kept else 0
        return SourcePage(kept[(page - 1) * page_size : page * page_size], pages)

    async def orders_changed(
        self, *, since: datetime | None, page: int, page_size: int
    ) -> SourcePage:
        self.calls["orders_changed"] += 1
        return self._page(self.orders, since, page, page_size)

    async def invoices_changed(
        self, *, since: datetime | None, page: int, page_size: int
    ) -> SourcePage:
        self.calls["invoices_changed"] += 1
        return self._page(self.invoices, since, page, page_size)

    async def order(self, order_id: str) -> JSON | None:
        self.calls["order"] += 1
        return next((o for o in self.orders if o["Id"] == order_id), None)

    async def customer(self, customer_id: str) -> JSON | None:
        self.calls["customer"] += 1
        return self.customers.get(customer_id)

    async def invoices_of_orders(self, order_ids: Sequence[str]) -> list[JSON]:
        self.calls["invoices_of_orders"] += 1
        return [i for i in self.invoices if i.get("CreatedFromOrderId") in order_ids]


class FakeTarget:
    def __init__(self, articles: set[str]) -> None:
        self.articles = articles
        self.orders: list[tuple[str, JSON, list[JSON]]] = []
        self.addresses: list[JSON] = []
        self.calls: Counter[str] = Counter()
        self.crash_after_create = False

    async def find_order(self, *, target_kind: str, field: str, value: str) -> str | None:
        self.calls["find_order"] += 1
        for number, header, _lines in self.orders:
            if header.get(field) == value:
                return number
        return None

    async def existing_articles(self, codes: Sequence[str]) -> set[str]:
        self.calls["existing_articles"] += 1
        return {c for c in codes if c in self.articles}

    async def delivery_addresses(self, debtor_number: str) -> list[JSON]:
        self.calls["delivery_addresses"] += 1
        return [a for a in self.addresses if a["SUB_NR"] == debtor_number]

    async def create_delivery_address(self, row: JSON) -> str:
        self.calls["create_delivery_address"] += 1
        rec = {**row, "REC_ID": len(self.addresses) + 1}
        self.addresses.append(rec)
        return str(rec["REC_ID"])

    async def create_order(
        self, *, target_kind: str, header: JSON, lines: list[JSON], book_date: Any
    ) -> str:
        self.calls["create_order"] += 1
        number = f"{'SO' if target_kind == 'sales_order' else 'INV'}{len(self.orders) + 1:05d}"
        self.orders.append((number, header, lines))
        if self.crash_after_create:
            self.crash_after_create = False
            raise RuntimeError("process died after the POST")
        return number


class FakePorts:
    def __init__(
        self, source: FakeSource, target: FakeTarget, settings: JSON | None = None
    ) -> None:
        self._source = source
        self._target = target
        self.config: JSON = settings or {}

    async def source(self, tenant_id: str) -> FakeSource:
        return self._source

    async def target(self, tenant_id: str) -> FakeTarget:
        return self._target

    async def settings(self, tenant_id: str) -> JSON:
        return self.config
