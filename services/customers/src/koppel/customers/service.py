"""Customers use cases as the runtime sees them: dependencies in the ``ServiceContext``.

``ctx.deps``: ``customers.connections`` (a ``Connections``; ``GatewayConnections`` over the
gateway's internal API when absent) and ``customers.ports`` (a ``CustomersPorts``; defaults
to ``ConnectorCustomersPorts``). Looked up when first needed, so the embedded runner and the
tests can put theirs in first.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import select

from koppel.common.gateway_client import InternalGatewayClient
from koppel.common.runtime import ServiceContext
from koppel.customers.adapters.connections import Connections, GatewayConnections
from koppel.customers.adapters.factory import ConnectorCustomersPorts
from koppel.customers.adapters.ports import CustomersPorts
from koppel.customers.claims import LEASE, MIN_LEASE, Claims
from koppel.customers.ensure import CustomerSteps
from koppel.customers.models import TABLES, CustomerLink, ServiceInfo

CONNECTIONS = "customers.connections"
PORTS = "customers.ports"
STEPS = "customers.steps"


def connections(ctx: ServiceContext) -> Connections:
    found = ctx.deps.get(CONNECTIONS)
    if found is None:
        gateway = InternalGatewayClient.from_settings(ctx.settings)
        found = ctx.deps[CONNECTIONS] = GatewayConnections(
            gateway, time_scale=ctx.settings.time_scale
        )
    return cast(Connections, found)


def ports(ctx: ServiceContext) -> CustomersPorts:
    found = ctx.deps.get(PORTS)
    if found is None:
        found = ctx.deps[PORTS] = ConnectorCustomersPorts(connections(ctx))
    return cast(CustomersPorts, found)


def steps(ctx: ServiceContext) -> CustomerSteps:
    found = ctx.deps.get(STEPS)
    if found is None:
        # In the bus's time, like its retry delays, down to a floor in real time.
        lease = max(LEASE * ctx.settings.time_scale, MIN_LEASE)
        found = ctx.deps[STEPS] = CustomerSteps(ports(ctx), Claims(ctx.database, lease))
    return cast(CustomerSteps, found)


def config_changed(ctx: ServiceContext, tenant_id: str) -> None:
    if CONNECTIONS in ctx.deps:
        connections(ctx).invalidate(tenant_id)


async def stop(ctx: ServiceContext) -> None:
    found = ctx.deps.get(CONNECTIONS)
    if isinstance(found, GatewayConnections):
        await found.aclose()


async def links(ctx: ServiceContext, tenant_id: str, *, limit: int = 100) -> list[CustomerLink]:
    async with ctx.database.session() as session:
        rows = await session.execute(
            select(CustomerLink)
            .where(CustomerLink.tenant_id == tenant_id)  # type: ignore[arg-type]
            .order_by(CustomerLink.updated_at.desc())  # type: ignore[attr-defined]
            .limit(limit)
        )
        return list(rows.scalars())


def describe(ctx: ServiceContext, handler_names: list[str]) -> ServiceInfo:
    return ServiceInfo(
        service=ctx.name,
        handlers=handler_names,
        tables=[table.__tablename__ for table in TABLES],
    )
