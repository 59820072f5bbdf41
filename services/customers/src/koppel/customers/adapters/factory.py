"""``CustomersPorts`` on top of ``Connections``: what the handlers use in every mode."""

from __future__ import annotations

from koppel.customers.adapters.accountview import AccountViewDebtors
from koppel.customers.adapters.connections import Connections
from koppel.customers.adapters.eaccounting import EAccountingCustomerSource
from koppel.customers.adapters.ports import JSON


class ConnectorCustomersPorts:
    def __init__(self, connections: Connections) -> None:
        self.connections = connections

    async def source(self, tenant_id: str) -> EAccountingCustomerSource:
        return EAccountingCustomerSource(await self.connections.eaccounting(tenant_id))

    async def target(self, tenant_id: str) -> AccountViewDebtors:
        return AccountViewDebtors(await self.connections.accountview(tenant_id))

    async def settings(self, tenant_id: str) -> JSON:
        """Both flows' settings: a default debtor may be set on either."""
        return {
            "customers": await self.connections.flow_settings(tenant_id, "customers"),
            "orders": await self.connections.flow_settings(tenant_id, "orders"),
        }
