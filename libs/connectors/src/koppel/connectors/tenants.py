"""Per-tenant connections to the two APIs, and where they come from.

* ``GatewayConnections`` (distributed mode): the gateway's internal API says where each
  tenant's APIs are (base URL, company) and hands out access tokens; this service never
  refreshes a token itself (DESIGN.md section 5). Clients are kept per tenant and dropped
  on ``TenantConfigChanged``.
* ``StaticConnections`` (embedded mode and tests): ready clients and settings handed in,
  e.g. clients on the in-process sandboxes through ``httpx.ASGITransport``.

Shared by the orders, customers and catalog services (services never import each other,
so it lives with the connectors they all use).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from koppel.common.gateway_client import InternalGatewayClient
from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.settings import AccountViewSettings
from koppel.connectors.common.clock import ScaledClock
from koppel.connectors.common.ratelimit import RateLimiterRegistry
from koppel.connectors.eaccounting.client import EAccountingClient
from koppel.connectors.eaccounting.settings import EAccountingSettings

JSON = dict[str, Any]
EACCOUNTING = "eaccounting"
ACCOUNTVIEW = "accountview"


class Connections(Protocol):
    async def eaccounting(self, tenant_id: str) -> EAccountingClient: ...

    async def accountview(self, tenant_id: str) -> AccountViewClient: ...

    async def flow_settings(self, tenant_id: str, flow: str) -> JSON: ...

    def invalidate(self, tenant_id: str | None = None) -> None: ...

    async def aclose(self) -> None: ...


class StaticConnections:
    def __init__(
        self,
        *,
        eaccounting: Mapping[str, EAccountingClient],
        accountview: Mapping[str, AccountViewClient],
        settings: Mapping[str, Mapping[str, JSON]],
    ) -> None:
        self._ea = dict(eaccounting)
        self._av = dict(accountview)
        self.settings = {tenant: dict(flows) for tenant, flows in settings.items()}

    async def eaccounting(self, tenant_id: str) -> EAccountingClient:
        return self._ea[tenant_id]

    async def accountview(self, tenant_id: str) -> AccountViewClient:
        return self._av[tenant_id]

    async def flow_settings(self, tenant_id: str, flow: str) -> JSON:
        return dict(self.settings.get(tenant_id, {}).get(flow, {}))

    def invalidate(self, tenant_id: str | None = None) -> None:
        """Nothing cached here: the test or embedded runner owns these clients."""

    async def aclose(self) -> None:
        """The owner of the clients closes them."""


def scaled_registry(time_scale: float) -> RateLimiterRegistry | None:
    """Connector waits in the service's time: ``KOPPEL_TIME_SCALE`` below 1 (tests, chaos
    runs) compresses the bus's retry delays and the claim leases, and must compress the
    waits inside the connectors too (a 429's ``Retry-After``, backoff, the rate limiter),
    or one 30-second ``Retry-After`` holds a consumer as long as a hundred bus retries.
    At 1 (production) the connectors keep their process-wide default registry."""
    if time_scale == 1.0:
        return None
    return RateLimiterRegistry(clock=ScaledClock(1.0 / time_scale))


class GatewayConnections:
    def __init__(
        self,
        gateway: InternalGatewayClient,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self.gateway = gateway
        self.transport = transport
        self.registry = scaled_registry(time_scale)
        self._ea: dict[str, EAccountingClient] = {}
        self._av: dict[str, AccountViewClient] = {}

    async def _connection(self, tenant_id: str, system: str) -> JSON:
        settings = await self.gateway.settings(tenant_id)
        connection: JSON = (settings.get("connections") or {}).get(system) or {}
        if not connection.get("api_base_url"):
            from koppel.common.errors import PermanentError

            raise PermanentError(
                f"The tenant has no {system} connection set up.", reason_code="no_connection"
            )
        return connection

    async def eaccounting(self, tenant_id: str) -> EAccountingClient:
        client = self._ea.get(tenant_id)
        if client is not None:
            return client
        connection = await self._connection(tenant_id, EACCOUNTING)
        # Handlers that waited on the settings beside this one may have made it by now:
        # one client (one connection pool, one company lookup) per tenant, not a dozen.
        client = self._ea.get(tenant_id)
        if client is None:
            client = EAccountingClient(
                EAccountingSettings(
                    connection_id=f"{tenant_id}:{EACCOUNTING}", base_url=connection["api_base_url"]
                ),
                self.gateway.token_provider(tenant_id, EACCOUNTING),
                transport=self.transport,
                registry=self.registry,
            )
            self._ea[tenant_id] = client
        return client

    async def accountview(self, tenant_id: str) -> AccountViewClient:
        client = self._av.get(tenant_id)
        if client is not None:
            return client
        connection = await self._connection(tenant_id, ACCOUNTVIEW)
        # Handlers that waited on the settings beside this one may have made it by now:
        # one client (one connection pool, one company lookup) per tenant, not a dozen.
        client = self._av.get(tenant_id)
        if client is None:
            client = AccountViewClient(
                AccountViewSettings(
                    connection_id=f"{tenant_id}:{ACCOUNTVIEW}",
                    base_url=connection["api_base_url"],
                    company_code=connection.get("company"),
                ),
                self.gateway.token_provider(tenant_id, ACCOUNTVIEW),
                transport=self.transport,
                registry=self.registry,
            )
            self._av[tenant_id] = client
        return client

    async def flow_settings(self, tenant_id: str, flow: str) -> JSON:
        return await self.gateway.flow_settings(tenant_id, flow)

    def invalidate(self, tenant_id: str | None = None) -> None:
        """Forget cached settings and clients (``TenantConfigChanged``). Dropped clients
        are not closed here: a handler may still be using one; they close when collected."""
        self.gateway.invalidate(tenant_id)
        for cache in (self._ea, self._av):
            for key in [k for k in cache if tenant_id is None or k == tenant_id]:
                cache.pop(key)

    async def aclose(self) -> None:
        for ea in self._ea.values():
            await ea.aclose()
        for av in self._av.values():
            await av.aclose()
        self._ea.clear()
        self._av.clear()
        await self.gateway.aclose()
