"""Customers' internal HTTP routes, under ``/internal/customers`` and behind the service token.

The gateway serves the public API and asks these routes for customers data.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from koppel.common.app import require_service_token
from koppel.common.runtime import ServiceContext
from koppel.customers import handlers, service
from koppel.customers.models import CustomerLinkPublic, ServiceInfo

PREFIX = "/internal/customers"


def routers(ctx: ServiceContext) -> list[APIRouter]:
    router = APIRouter(
        prefix=PREFIX,
        tags=["customers"],
        dependencies=[Depends(require_service_token(ctx.settings))],
    )

    @router.get("/info")
    async def info() -> ServiceInfo:
        """What this service runs: its handlers and tables."""
        return service.describe(ctx, [b.name for b in handlers.bindings(ctx)])

    @router.get("/tenants/{tenant_id}/links")
    async def links(tenant_id: str, limit: int = 100) -> list[CustomerLinkPublic]:
        """Which e-mail addresses map to which AccountView debtors (newest first)."""
        rows = await service.links(ctx, tenant_id, limit=min(max(limit, 1), 1000))
        return [CustomerLinkPublic.model_validate(row, from_attributes=True) for row in rows]

    return [router]
