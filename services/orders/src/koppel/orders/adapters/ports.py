"""The ports the orders service talks through.

The use cases only know these protocols. Two implementations exist: ``connectors`` (the
real eAccounting and AccountView clients of ``koppel.connectors``, which tests point at the
in-process sandboxes) and the fakes of the unit tests. Which tenant's connection to use is
the ``OrdersPorts`` factory's business: in distributed mode it asks the gateway for tokens
and settings, embedded and in tests it is handed ready clients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

JSON = dict[str, Any]


@dataclass(frozen=True)
class SourcePage:
    rows: list[JSON]
    total_pages: int
    server_time: datetime | None = None


class OrderSource(Protocol):
    """eAccounting, read side."""

    async def orders_changed(
        self, *, since: datetime | None, page: int, page_size: int
    ) -> SourcePage:
        """Orders with ``ModifiedUtc`` >= ``since`` (all when None), oldest change first."""
        ...

    async def invoices_changed(
        self, *, since: datetime | None, page: int, page_size: int
    ) -> SourcePage:
        """Customer invoices with ``ModifiedUtc`` >= ``since``, oldest change first."""
        ...

    async def order(self, order_id: str) -> JSON | None: ...

    async def customer(self, customer_id: str) -> JSON | None: ...

    async def invoices_of_orders(self, order_ids: Sequence[str]) -> list[JSON]:
        """The customer invoices made from these orders (``CreatedFromOrderId``)."""
        ...


class OrderTarget(Protocol):
    """AccountView, the side orders are written to."""

    async def find_order(self, *, target_kind: str, field: str, value: str) -> str | None:
        """The AccountView number of the order/invoice whose ``field`` holds ``value``."""
        ...

    async def existing_articles(self, codes: Sequence[str]) -> set[str]:
        """Which of ``codes`` exist as articles (one query where the API allows)."""
        ...

    async def delivery_addresses(self, debtor_number: str) -> list[JSON]: ...

    async def create_delivery_address(self, row: JSON) -> str:
        """Insert a ``DEL_ADDR`` row; returns its ``REC_ID``."""
        ...

    async def create_order(
        self, *, target_kind: str, header: JSON, lines: list[JSON], book_date: datetime | None
    ) -> str:
        """Insert an SO1 sales order or a DJ2 sales invoice; returns its number."""
        ...


class OrdersPorts(Protocol):
    """Per-tenant factory of the ports and the tenant's flow settings (raw JSON)."""

    async def source(self, tenant_id: str) -> OrderSource: ...

    async def target(self, tenant_id: str) -> OrderTarget: ...

    async def settings(self, tenant_id: str) -> JSON: ...
