"""The tenant's customers-flow settings as this service reads them (a tolerant reader of the
gateway's ``CustomersSettings`` JSON; services never import each other)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CustomersConfig:
    update_existing: bool = True
    default_debtor: str | None = None

    @classmethod
    def from_json(
        cls, raw: dict[str, Any] | None, orders: dict[str, Any] | None = None
    ) -> CustomersConfig:
        """``orders``: the orders-flow settings, whose default debtor counts too (an order
        booked on one debtor has no customer to create)."""
        raw = raw or {}
        default = raw.get("default_debtor") or (orders or {}).get("default_debtor")
        return cls(
            update_existing=bool(raw.get("update_existing", True)),
            default_debtor=str(default).strip() or None if default else None,
        )
