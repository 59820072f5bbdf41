"""``CustomerSource`` over ``koppel.connectors``' eAccounting client (raw JSON kept)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from koppel.connectors.common.errors import NotFoundError
from koppel.connectors.eaccounting import filters as f
from koppel.connectors.eaccounting.client import EAccountingClient
from koppel.customers.adapters.ports import JSON, SourcePage


class EAccountingCustomerSource:
    def __init__(self, client: EAccountingClient) -> None:
        self.client = client

    async def _get(
        self, path: str, params: dict[str, Any] | None = None, *, record_key: str | None = None
    ) -> Any:
        response = await self.client.http.request("GET", path, params=params, record_key=record_key)
        return response.json() if response.content else None

    async def customers_changed(
        self, *, since: datetime | None, page: int, page_size: int
    ) -> SourcePage:
        params: dict[str, Any] = {
            "$page": page,
            "$pagesize": page_size,
            "$orderby": "ChangedUtc asc",
        }
        if since is not None:
            params["$filter"] = f.ge("ChangedUtc", since)
        raw = await self._get("/customers", params)
        return SourcePage(
            rows=list(raw.get("Data") or []),
            total_pages=int((raw.get("Meta") or {}).get("TotalNumberOfPages") or 0),
        )

    async def customer(self, customer_id: str) -> JSON | None:
        try:
            data = await self._get(f"/customers/{customer_id}", record_key=customer_id)
        except NotFoundError:
            return None
        return dict(data) if isinstance(data, dict) else None
