"""``OrdersPorts`` on top of ``Connections``: what the handlers use in every mode."""

from __future__ import annotations

from koppel.orders.adapters.accountview import AccountViewOrderTarget
from koppel.orders.adapters.connections import Connections
from koppel.orders.adapters.eaccounting import EAccountingOrderSource
from koppel.orders.adapters.ports import JSON


class ConnectorOrdersPorts:
    def __init__(self, connections: Connections) -> None:
        self.connections = connections

    async def source(self, tenant_id: str) -> EAccountingOrderSource:
        return EAccountingOrderSource(await self.connections.eaccounting(tenant_id))

    async def target(self, tenant_id: str) -> AccountViewOrderTarget:
        return AccountViewOrderTarget(await self.connections.accountview(tenant_id))

    async def settings(self, tenant_id: str) -> JSON:
        return await self.connections.flow_settings(tenant_id, "orders")
