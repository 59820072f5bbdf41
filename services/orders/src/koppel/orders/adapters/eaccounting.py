"""``OrderSource`` over ``koppel.connectors``' eAccounting client.

Reads go through the client's HTTP core (rate limit, retries, typed errors) but keep the raw
JSON: ``OrderFetched.source`` is the order exactly as eAccounting sent it, for the mapper and
the activity log, not this connector's model of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from koppel.connectors.common.errors import NotFoundError
from koppel.connectors.eaccounting import filters as f
from koppel.connectors.eaccounting.client import EAccountingClient
from koppel.orders.adapters.ports import JSON, SourcePage
from koppel.orders.selection import parse_utc


class EAccountingOrderSource:
    def __init__(self, client: EAccountingClient) -> None:
        self.client = client

    async def _get(
        self, path: str, params: dict[str, Any] | None = None, *, record_key: str | None = None
    ) -> Any:
        response = await self.client.http.request("GET", path, params=params, record_key=record_key)
        return response.json() if response.content else None

    async def _page(
        self, path: str, field: str, since: datetime | None, page: int, page_size: int
    ) -> SourcePage:
        params: dict[str, Any] = {"$page": page, "$pagesize": page_size, "$orderby": f"{field} asc"}
        if since is not None:
            params["$filter"] = f.ge(field, since)
        raw = await self._get(path, params)
        meta = raw.get("Meta") or {}
        return SourcePage(
            rows=list(raw.get("Data") or []),
            total_pages=int(meta.get("TotalNumberOfPages") or 0),
            server_time=parse_utc(meta.get("ServerTimeUtc")),
        )

    async def orders_changed(
        self, *, since: datetime | None, page: int, page_size: int
    ) -> SourcePage:
        return await self._page("/orders", "ModifiedUtc", since, page, page_size)

    async def invoices_changed(
        self, *, since: datetime | None, page: int, page_size: int
    ) -> SourcePage:
        return await self._page("/customerinvoices", "ModifiedUtc", since, page, page_size)

    async def order(self, order_id: str) -> JSON | None:
        try:
            data = await self._get(f"/orders/{order_id}", record_key=order_id)
        except NotFoundError:
            return None
        return dict(data) if isinstance(data, dict) else None

    async def customer(self, customer_id: str) -> JSON | None:
        try:
            data = await self._get(f"/customers/{customer_id}", record_key=customer_id)
        except NotFoundError:
            return None
        return dict(data) if isinstance(data, dict) else None

    async def invoices_of_orders(self, order_ids: Sequence[str]) -> list[JSON]:
        invoices: list[JSON] = []
        for start in range(0, len(order_ids), 20):  # keeps the URL short
            chunk = order_ids[start : start + 20]
            flt = f.or_(*(f"CreatedFromOrderId eq {oid}" for oid in chunk))
            page = 1
            while True:
                raw = await self._get(
                    "/customerinvoices", {"$filter": flt, "$page": page, "$pagesize": 200}
                )
                invoices.extend(raw.get("Data") or [])
                if page >= int((raw.get("Meta") or {}).get("TotalNumberOfPages") or 0):
                    break
                page += 1
        return invoices
