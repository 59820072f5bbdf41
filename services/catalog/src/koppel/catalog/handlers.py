"""Catalog consumers: one function per consumed message, registered in ``bindings``.

Each is a few lines on purpose: the steps live in ``runs`` (reading AccountView), ``upsert``
(writing articles) and ``stock`` (writing stock levels); dependencies come from the service
context (``service``).
"""

from __future__ import annotations

from koppel.catalog import service
from koppel.catalog.config import CatalogSettings
from koppel.common.events import (
    FlowRunRequested,
    ProductMapped,
    StockLevelChanged,
    TenantConfigChanged,
)
from koppel.common.messages import Flow
from koppel.common.runtime import HandlerBinding, ServiceContext
from koppel.common.uow import UnitOfWork


def bindings(ctx: ServiceContext) -> list[HandlerBinding]:
    prefetch = ctx.settings.catalog_prefetch if isinstance(ctx.settings, CatalogSettings) else 32

    async def handle_run_requested(message: FlowRunRequested, uow: UnitOfWork) -> None:
        if message.flow in (Flow.products, Flow.stock):
            await service.runs(ctx).on_run_requested(message, uow)

    # Both write to eAccounting: ``admit`` first, so a tenant whose quota is spent does not
    # hold the delivery slots the other tenants share (``fairness``).
    async def handle_product_mapped(message: ProductMapped, uow: UnitOfWork) -> None:
        await service.admit(ctx, message)
        await service.upserts(ctx).on_product_mapped(message, uow)
        service.gate(ctx).done(message.message_id)

    async def handle_stock_level_changed(message: StockLevelChanged, uow: UnitOfWork) -> None:
        await service.admit(ctx, message)
        await service.stock(ctx).on_stock_level_changed(message, uow)
        service.gate(ctx).done(message.message_id)

    async def handle_config_changed(message: TenantConfigChanged, _uow: UnitOfWork) -> None:
        service.config_changed(ctx, message.tenant_id)

    return [
        # A run reads a whole catalogue: one at a time per replica is plenty.
        HandlerBinding.on(FlowRunRequested, handle=handle_run_requested, prefetch=2),
        HandlerBinding.on(ProductMapped, handle=handle_product_mapped, prefetch=prefetch),
        HandlerBinding.on(StockLevelChanged, handle=handle_stock_level_changed, prefetch=prefetch),
        # As in orders: every replica should drop its caches (one queue is enough embedded).
        HandlerBinding.on(TenantConfigChanged, handle=handle_config_changed, inbox=False),
    ]
