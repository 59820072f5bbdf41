"""Orders consumers: one function per consumed message, registered in ``bindings``.

Each is a few lines on purpose: the steps live in ``runs`` (reading eAccounting) and
``sync`` (the order saga); dependencies come from the service context (``service``).
"""

from __future__ import annotations

from koppel.common.events import (
    CustomerEnsured,
    CustomerFailed,
    FlowRunRequested,
    OrderMapped,
    TenantConfigChanged,
)
from koppel.common.messages import Flow
from koppel.common.runtime import HandlerBinding, ServiceContext
from koppel.common.uow import UnitOfWork
from koppel.orders import service


def bindings(ctx: ServiceContext) -> list[HandlerBinding]:
    async def handle_run_requested(message: FlowRunRequested, uow: UnitOfWork) -> None:
        if message.flow is Flow.orders:
            await service.runs(ctx).on_run_requested(message, uow)

    async def handle_order_mapped(message: OrderMapped, uow: UnitOfWork) -> None:
        await service.steps(ctx).on_order_mapped(message, uow)

    async def handle_customer_ensured(message: CustomerEnsured, uow: UnitOfWork) -> None:
        await service.steps(ctx).on_customer_ensured(message, uow)

    async def handle_customer_failed(message: CustomerFailed, uow: UnitOfWork) -> None:
        await service.steps(ctx).on_customer_failed(message, uow)

    async def handle_config_changed(message: TenantConfigChanged, _uow: UnitOfWork) -> None:
        service.config_changed(ctx, message.tenant_id)

    return [
        HandlerBinding.on(FlowRunRequested, handle=handle_run_requested),
        HandlerBinding.on(OrderMapped, handle=handle_order_mapped),
        HandlerBinding.on(CustomerEnsured, handle=handle_customer_ensured),
        HandlerBinding.on(CustomerFailed, handle=handle_customer_failed),
        # Every replica must drop its caches, so no inbox and a per-replica queue would be
        # ideal; one shared queue is enough for one replica per service (embedded mode).
        HandlerBinding.on(TenantConfigChanged, handle=handle_config_changed, inbox=False),
    ]
