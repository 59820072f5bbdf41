"""Catalog use cases as the runtime sees them: the service's dependencies in the
``ServiceContext`` and the small queries the API serves.

Dependencies (``ctx.deps``), looked up when first needed so the embedded runner and tests can
put theirs in before the first message (the same keys and shapes as the orders service):

* ``catalog.connections``: a ``Connections`` (``StaticConnections`` embedded/tests); when
  absent, ``GatewayConnections`` over the gateway's internal API (distributed mode), whose
  connector waits (a 429's ``Retry-After``, backoff, the rate limiter) run in
  ``KOPPEL_TIME_SCALE``, and whose eAccounting rate limits are shared with the other replicas
  through the database (``shared_registry``);
* ``catalog.ports``: a ``CatalogPorts``; defaults to ``ConnectorCatalogPorts`` over the above.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import select

from koppel.catalog.adapters.connections import Connections, GatewayConnections
from koppel.catalog.adapters.factory import ConnectorCatalogPorts
from koppel.catalog.adapters.ports import CatalogPorts
from koppel.catalog.config import CatalogSettings
from koppel.catalog.fairness import TenantGate
from koppel.catalog.models import (
    RATE_TOKENS_TABLE,
    TABLES,
    ProductLink,
    ServiceInfo,
    StockSnapshot,
)
from koppel.catalog.runs import CatalogRuns
from koppel.catalog.stock import StockPushes
from koppel.catalog.upsert import ProductUpserts
from koppel.common.gateway_client import InternalGatewayClient
from koppel.common.messages import Message
from koppel.common.runtime import ServiceContext
from koppel.connectors.common.clock import SYSTEM_CLOCK, Clock, ScaledClock
from koppel.connectors.common.sharedlimit import SharedRateLimiterRegistry
from koppel.connectors.common.sharedlimit_sql import SqlTokenStore

CONNECTIONS = "catalog.connections"
PORTS = "catalog.ports"
RUNS = "catalog.runs"
UPSERTS = "catalog.upserts"
STOCK = "catalog.stock"
GATE = "catalog.gate"


def connections(ctx: ServiceContext) -> Connections:
    found = ctx.deps.get(CONNECTIONS)
    if found is None:
        gateway = InternalGatewayClient.from_settings(ctx.settings)
        gateway_connections = GatewayConnections(gateway, time_scale=ctx.settings.time_scale)
        shared = shared_registry(ctx)
        if shared is not None:
            gateway_connections.registry = shared
        found = ctx.deps[CONNECTIONS] = gateway_connections
    return cast(Connections, found)


def shared_registry(ctx: ServiceContext) -> SharedRateLimiterRegistry | None:
    """eAccounting buckets in ``catalog_rate_tokens`` (None: per process, see the setting)."""
    setting = getattr(ctx.settings, "catalog_shared_rate_limit", None)
    if not (ctx.database.is_postgres if setting is None else setting):
        return None
    scale = ctx.settings.time_scale
    clock: Clock = SYSTEM_CLOCK if scale == 1.0 else ScaledClock(1.0 / scale)
    store = SqlTokenStore(ctx.database.engine, table=RATE_TOKENS_TABLE, speed=1.0 / scale)
    return SharedRateLimiterRegistry(store, clock=clock)


def ports(ctx: ServiceContext) -> CatalogPorts:
    found = ctx.deps.get(PORTS)
    if found is None:
        found = ctx.deps[PORTS] = ConnectorCatalogPorts(connections(ctx))
    return cast(CatalogPorts, found)


def runs(ctx: ServiceContext) -> CatalogRuns:
    found = ctx.deps.get(RUNS)
    if found is None:
        found = ctx.deps[RUNS] = CatalogRuns(ports(ctx))
    return cast(CatalogRuns, found)


def upserts(ctx: ServiceContext) -> ProductUpserts:
    found = ctx.deps.get(UPSERTS)
    if found is None:
        found = ctx.deps[UPSERTS] = ProductUpserts(ports(ctx))
    return cast(ProductUpserts, found)


def stock(ctx: ServiceContext) -> StockPushes:
    found = ctx.deps.get(STOCK)
    if found is None:
        memory = (
            ctx.settings.catalog_stock_module_memory_seconds
            if isinstance(ctx.settings, CatalogSettings)
            else 300.0
        )
        found = ctx.deps[STOCK] = StockPushes(ports(ctx), stock_module_memory=memory)
    return cast(StockPushes, found)


def gate(ctx: ServiceContext) -> TenantGate:
    found = ctx.deps.get(GATE)
    if found is None:
        prefetch = (
            ctx.settings.catalog_prefetch if isinstance(ctx.settings, CatalogSettings) else 32
        )
        # Half the delivery slots may wait on one tenant's tokens; the rest stay free for
        # the other tenants (``fairness``).
        found = ctx.deps[GATE] = TenantGate(
            share=max(2, prefetch // 2), bus_time_scale=ctx.settings.time_scale
        )
    return cast(TenantGate, found)


async def admit(ctx: ServiceContext, message: Message) -> None:
    """Defer the message (``TransientError``) while its tenant's quota is spent."""
    found = ports(ctx)
    client = None
    if isinstance(found, ConnectorCatalogPorts):
        try:
            client = await found.connections.eaccounting(message.tenant_id)
        except Exception:  # no connection, gateway away: the handler reports it as before
            client = None
    gate(ctx).admit(message.message_id, client)


def config_changed(ctx: ServiceContext, tenant_id: str) -> None:
    """Drop what is cached for the tenant: settings, clients, article index, stock-module flag."""
    found = ctx.deps.get(PORTS)
    if isinstance(found, ConnectorCatalogPorts):
        found.invalidate(tenant_id)
    elif CONNECTIONS in ctx.deps:
        connections(ctx).invalidate(tenant_id)
    if STOCK in ctx.deps:
        stock(ctx).forget(tenant_id)


async def stop(ctx: ServiceContext) -> None:
    found = ctx.deps.get(CONNECTIONS)
    if isinstance(found, GatewayConnections):
        if isinstance(found.registry, SharedRateLimiterRegistry):
            await found.registry.aclose()  # give back the tokens this replica holds
        await found.aclose()


async def links(ctx: ServiceContext, tenant_id: str, *, limit: int = 100) -> list[ProductLink]:
    async with ctx.database.session() as session:
        rows = await session.execute(
            select(ProductLink)
            .where(ProductLink.tenant_id == tenant_id)  # type: ignore[arg-type]
            .order_by(ProductLink.sku)
            .limit(limit)
        )
        return list(rows.scalars())


async def snapshots(
    ctx: ServiceContext, tenant_id: str, *, limit: int = 100
) -> list[StockSnapshot]:
    async with ctx.database.session() as session:
        rows = await session.execute(
            select(StockSnapshot)
            .where(StockSnapshot.tenant_id == tenant_id)  # type: ignore[arg-type]
            .order_by(StockSnapshot.sku)
            .limit(limit)
        )
        return list(rows.scalars())


def describe(ctx: ServiceContext, handler_names: list[str]) -> ServiceInfo:
    return ServiceInfo(
        service=ctx.name,
        handlers=handler_names,
        tables=[table.__tablename__ for table in TABLES],
    )
