"""HTTP clients for the services whose data the public API shows (mapper, notifier).

The gateway is the only public API (DESIGN.md section 2): reads and writes of mappings,
value maps, the activity log, dead letters and alerts are forwarded to the owning service's
internal routes with the service token. The tenant is always the authenticated caller's;
each service scopes every query by it (header ``X-Koppel-Tenant`` for the mapper, the path
for the notifier).

Where a service lives:

* distributed mode: ``KOPPEL_MAPPER_URL`` / ``KOPPEL_NOTIFIER_URL`` (default: the gateway's
  own ``KOPPEL_GATEWAY_URL``, i.e. every service behind one address);
* embedded mode (``koppel up``, tests): all services are mounted in one app, so the runner
  puts an ``httpx`` transport into ``ctx.deps["gateway.services_transport"]`` (e.g.
  ``httpx.ASGITransport(app=embedded_app)``) and the calls never leave the process.

Answers are classified here, so routes stay thin: a 2xx or 4xx answer is passed through
(the service's problem document is the right answer to a wrong request); a refused service
token or a 5xx is a 502, an unreachable service a 503, both as the gateway's own problems.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from koppel.gateway.errors import UpstreamRejected, UpstreamUnavailable

log = logging.getLogger(__name__)

TENANT_HEADER = "X-Koppel-Tenant"
ACTOR_HEADER = "X-Koppel-Actor"
# Headers of a downstream answer worth passing on (everything else is hop-by-hop or ours).
PASSED_HEADERS = ("content-type", "retry-after", "location")


def segment(value: str) -> str:
    """A path segment, percent-encoded so no value can climb to another internal route."""
    return quote(value, safe="")


@dataclass(frozen=True)
class Forwarded:
    """A downstream answer to pass through unchanged (2xx or 4xx)."""

    status_code: int
    content: bytes
    headers: dict[str, str]


class ServiceClient:
    """One downstream service: its base URL (or in-process transport) and the service token."""

    def __init__(
        self,
        name: str,
        base_url: str,
        service_token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            headers={"Authorization": f"Bearer {service_token}"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        tenant_id: str,
        actor: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Forwarded:
        headers = {TENANT_HEADER: tenant_id, ACTOR_HEADER: actor}
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(
                method, path, params=query, json=json, headers=headers
            )
        except httpx.HTTPError as exc:
            log.warning("the %s service is unreachable: %s", self.name, type(exc).__name__)
            raise UpstreamUnavailable(
                f"the {self.name} service cannot be reached; try again shortly",
                headers={"Retry-After": "5"},
            ) from None
        if response.status_code in (401, 403):
            # Our service token was refused: a configuration fault of the platform, never
            # the caller's, so it must not read like "your key is wrong".
            log.error("the %s service refused the gateway's service token", self.name)
            raise UpstreamRejected(f"the gateway could not authenticate to the {self.name} service")
        if response.status_code >= 500:
            log.warning("the %s service answered %d", self.name, response.status_code)
            raise UpstreamRejected(f"the {self.name} service failed to answer this request")
        passed = {k: v for k, v in response.headers.items() if k.lower() in PASSED_HEADERS}
        return Forwarded(response.status_code, response.content, passed)


def _query_value(value: Any) -> Any:
    # datetimes and UUIDs as their ISO / canonical text; lists stay lists (repeated params).
    if isinstance(value, list | tuple):
        return [_query_value(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value if isinstance(value, int | float) else str(value)


@dataclass
class ServiceClients:
    mapper: ServiceClient
    notifier: ServiceClient

    @classmethod
    def build(
        cls,
        *,
        mapper_url: str,
        notifier_url: str,
        service_token: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> ServiceClients:
        return cls(
            mapper=ServiceClient(
                "mapper", mapper_url, service_token, transport=transport, timeout=timeout
            ),
            notifier=ServiceClient(
                "notifier", notifier_url, service_token, transport=transport, timeout=timeout
            ),
        )

    async def aclose(self) -> None:
        await self.mapper.aclose()
        await self.notifier.aclose()
