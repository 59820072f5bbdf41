"""``CatalogPorts`` on top of ``Connections``: what the handlers use in every mode.

Targets are kept per tenant so their article index lives across the messages of a run.
"""

from __future__ import annotations

from koppel.catalog.adapters.accountview import AccountViewArticleSource
from koppel.catalog.adapters.connections import Connections
from koppel.catalog.adapters.eaccounting import EAccountingArticleTarget
from koppel.catalog.adapters.ports import JSON


class ConnectorCatalogPorts:
    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        self._targets: dict[str, EAccountingArticleTarget] = {}

    async def source(self, tenant_id: str) -> AccountViewArticleSource:
        return AccountViewArticleSource(await self.connections.accountview(tenant_id))

    async def target(self, tenant_id: str) -> EAccountingArticleTarget:
        client = await self.connections.eaccounting(tenant_id)
        target = self._targets.get(tenant_id)
        if target is None or target.client is not client:
            target = self._targets[tenant_id] = EAccountingArticleTarget(client)
        return target

    async def settings(self, tenant_id: str, flow: str) -> JSON:
        return await self.connections.flow_settings(tenant_id, flow)

    def invalidate(self, tenant_id: str | None = None) -> None:
        self.connections.invalidate(tenant_id)
        for key in [k for k in self._targets if tenant_id is None or k == tenant_id]:
            self._targets.pop(key)
