"""Orders use cases as the runtime sees them: the service's dependencies in the
``ServiceContext`` and the small queries the API serves.

Dependencies (``ctx.deps``), looked up when first needed so the embedded runner and tests can
put theirs in before the first message:

* ``orders.connections``: a ``Connections`` (``StaticConnections`` embedded/tests); when
  absent, ``GatewayConnections`` over the gateway's internal API (distributed mode);
* ``orders.ports``: an ``OrdersPorts``; defaults to ``ConnectorOrdersPorts`` over the above.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import select

from koppel.common.gateway_client import InternalGatewayClient
from koppel.common.runtime import ServiceContext
from koppel.orders.adapters.connections import Connections, GatewayConnections
from koppel.orders.adapters.factory import ConnectorOrdersPorts
from koppel.orders.adapters.ports import OrdersPorts
from koppel.orders.models import TABLES, OrderLink, ServiceInfo
from koppel.orders.runs import OrderRuns
from koppel.orders.sync import OrderSteps

CONNECTIONS = "orders.connections"
PORTS = "orders.ports"
STEPS = "orders.steps"
RUNS = "orders.runs"


def connections(ctx: ServiceContext) -> Connections:
    found = ctx.deps.get(CONNECTIONS)
    if found is None:
        gateway = InternalGatewayClient.from_settings(ctx.settings)
        found = ctx.deps[CONNECTIONS] = GatewayConnections(
            gateway, time_scale=ctx.settings.time_scale
        )
    return cast(Connections, found)


def ports(ctx: ServiceContext) -> OrdersPorts:
    found = ctx.deps.get(PORTS)
    if found is None:
        found = ctx.deps[PORTS] = ConnectorOrdersPorts(connections(ctx))
    return cast(OrdersPorts, found)


def steps(ctx: ServiceContext) -> OrderSteps:
    found = ctx.deps.get(STEPS)
    if found is None:
        found = ctx.deps[STEPS] = OrderSteps(ports(ctx), time_scale=ctx.settings.time_scale)
    return cast(OrderSteps, found)


def runs(ctx: ServiceContext) -> OrderRuns:
    found = ctx.deps.get(RUNS)
    if found is None:
        found = ctx.deps[RUNS] = OrderRuns(ports(ctx))
    return cast(OrderRuns, found)


def config_changed(ctx: ServiceContext, tenant_id: str) -> None:
    """Drop what is cached for the tenant: settings, clients, known articles."""
    if CONNECTIONS in ctx.deps:
        connections(ctx).invalidate(tenant_id)
    if STEPS in ctx.deps:
        steps(ctx).articles.clear(tenant_id)


async def stop(ctx: ServiceContext) -> None:
    found = ctx.deps.get(CONNECTIONS)
    if isinstance(found, GatewayConnections):
        await found.aclose()


async def links(ctx: ServiceContext, tenant_id: str, *, limit: int = 100) -> list[OrderLink]:
    async with ctx.database.session() as session:
        rows = await session.execute(
            select(OrderLink)
            .where(OrderLink.tenant_id == tenant_id)  # type: ignore[arg-type]
            .order_by(OrderLink.updated_at.desc())  # type: ignore[attr-defined]
            .limit(limit)
        )
        return list(rows.scalars())


def describe(ctx: ServiceContext, handler_names: list[str]) -> ServiceInfo:
    return ServiceInfo(
        service=ctx.name,
        handlers=handler_names,
        tables=[table.__tablename__ for table in TABLES],
    )
