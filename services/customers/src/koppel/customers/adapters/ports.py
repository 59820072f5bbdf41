"""The ports the customers service talks through (see ``koppel.orders.adapters.ports`` for
the same idea): eAccounting customers to read, AccountView debtors to find and write, and a
per-tenant factory that also hands out the tenant's customers-flow settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

JSON = dict[str, Any]


@dataclass(frozen=True)
class SourcePage:
    rows: list[JSON]
    total_pages: int


class CustomerSource(Protocol):
    async def customers_changed(
        self, *, since: datetime | None, page: int, page_size: int
    ) -> SourcePage:
        """Customers with ``ChangedUtc`` >= ``since`` (all when None), oldest change first."""
        ...

    async def customer(self, customer_id: str) -> JSON | None: ...


class DebtorTarget(Protocol):
    async def find_by_email(self, email: str) -> JSON | None:
        """The debtor whose ``MAIL_BUS`` is ``email`` (already normalised), if any."""
        ...

    async def get(self, number: str) -> JSON | None: ...

    async def create(self, fields: JSON) -> str:
        """Insert a debtor (AR1); returns its ``SUB_NR``."""
        ...

    async def update(self, fields: JSON) -> None:
        """PUT the given fields; ``fields["SUB_NR"]`` says which debtor."""
        ...


class CustomersPorts(Protocol):
    async def source(self, tenant_id: str) -> CustomerSource: ...

    async def target(self, tenant_id: str) -> DebtorTarget: ...

    async def settings(self, tenant_id: str) -> JSON: ...
