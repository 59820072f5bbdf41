"""Customers consumers: one function per consumed message, registered in ``bindings``.

``EnsureCustomer`` (from the order saga) and ``CustomerMapped`` (the customers flow) both
end in ``CustomerSteps.ensure``; ``FlowRunRequested(customers)`` reads eAccounting.
"""

from __future__ import annotations

from koppel.common.commands import EnsureCustomer
from koppel.common.events import CustomerMapped, FlowRunRequested, TenantConfigChanged
from koppel.common.messages import Flow
from koppel.common.runtime import HandlerBinding, ServiceContext
from koppel.common.uow import UnitOfWork
from koppel.customers import poller, service


def bindings(ctx: ServiceContext) -> list[HandlerBinding]:
    async def handle_run_requested(message: FlowRunRequested, uow: UnitOfWork) -> None:
        if message.flow is Flow.customers:
            source = await service.ports(ctx).source(message.tenant_id)
            await poller.on_run_requested(message, uow, source)

    async def handle_ensure_customer(message: EnsureCustomer, uow: UnitOfWork) -> None:
        await service.steps(ctx).ensure(
            message,
            uow,
            mapped=message.customer,
            source=message.source,
            source_id=message.entity.source_id,
        )

    async def handle_customer_mapped(message: CustomerMapped, uow: UnitOfWork) -> None:
        await service.steps(ctx).ensure(
            message, uow, mapped=message.target, source={}, source_id=message.entity.source_id
        )

    async def handle_config_changed(message: TenantConfigChanged, _uow: UnitOfWork) -> None:
        service.config_changed(ctx, message.tenant_id)

    return [
        HandlerBinding.on(FlowRunRequested, handle=handle_run_requested),
        HandlerBinding.on(EnsureCustomer, handle=handle_ensure_customer),
        HandlerBinding.on(CustomerMapped, handle=handle_customer_mapped),
        HandlerBinding.on(TenantConfigChanged, handle=handle_config_changed, inbox=False),
    ]
