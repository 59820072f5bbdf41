"""Catalog's internal HTTP routes, under ``/internal/catalog`` and behind the service token.

The gateway serves the public API and asks these routes for catalog data.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from koppel.catalog import handlers, service
from koppel.catalog.models import ProductLinkPublic, ServiceInfo, StockSnapshotPublic
from koppel.common.app import require_service_token
from koppel.common.runtime import ServiceContext

PREFIX = "/internal/catalog"


def routers(ctx: ServiceContext) -> list[APIRouter]:
    router = APIRouter(
        prefix=PREFIX, tags=["catalog"], dependencies=[Depends(require_service_token(ctx.settings))]
    )

    @router.get("/info")
    async def info() -> ServiceInfo:
        """What this service runs: its handlers and tables."""
        return service.describe(ctx, [b.name for b in handlers.bindings(ctx)])

    @router.get("/tenants/{tenant_id}/product-links")
    async def product_links(
        tenant_id: str, limit: int = Query(100, ge=1, le=1000)
    ) -> list[ProductLinkPublic]:
        """Which eAccounting article each synced SKU is."""
        rows = await service.links(ctx, tenant_id, limit=limit)
        return [ProductLinkPublic.model_validate(r, from_attributes=True) for r in rows]

    @router.get("/tenants/{tenant_id}/stock")
    async def stock_levels(
        tenant_id: str, limit: int = Query(100, ge=1, le=1000)
    ) -> list[StockSnapshotPublic]:
        """The stock level last pushed to eAccounting per SKU."""
        rows = await service.snapshots(ctx, tenant_id, limit=limit)
        return [StockSnapshotPublic.model_validate(r, from_attributes=True) for r in rows]

    return [router]
