"""How services reach the gateway's internal API: access tokens and tenant settings.

Services never refresh OAuth tokens themselves (DESIGN.md section 5); they ask the gateway,
which refreshes single-flight. This client caches a token until shortly before it expires
and a tenant's settings until ``invalidate(tenant_id)`` (call it on ``TenantConfigChanged``)
or ``settings_ttl`` seconds, so a busy service asks rarely. Concurrent callers of one key share
one request.

Errors speak the bus's language: ``PermanentError`` for answers retrying cannot change (no
consent, unknown tenant, refused service token), ``TransientError`` for the rest.

The gateway is owned by another service, so this module knows only its HTTP contract::

    GET  /internal/tenants/{tenant}/connections/{system}/token
    POST /internal/tenants/{tenant}/connections/{system}/token/refresh  {"rejected_access_token": "..."}
    GET  /internal/tenants/{tenant}/settings
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from koppel.common.errors import PermanentError, TransientError
from koppel.common.messages import utcnow
from koppel.common.settings import KoppelSettings

SERVICE_TOKEN_HEADER = "X-Koppel-Service-Token"
JSON = dict[str, Any]


@dataclass(frozen=True)
class AccessToken:
    system: str
    access_token: str = field(repr=False)
    expires_at: datetime
    api_base_url: str
    company: str | None


class InternalGatewayClient:
    def __init__(
        self,
        base_url: str,
        service_token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        token_skew: float = 60.0,
        settings_ttl: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            headers={SERVICE_TOKEN_HEADER: service_token},
        )
        self._token_skew = timedelta(seconds=token_skew)
        self._settings_ttl = settings_ttl
        self._clock = clock
        self._tokens: dict[tuple[str, str], AccessToken] = {}
        self._settings: dict[str, tuple[float, JSON]] = {}
        self._locks: dict[Any, asyncio.Lock] = {}

    @classmethod
    def from_settings(cls, settings: KoppelSettings, **options: Any) -> InternalGatewayClient:
        return cls(settings.gateway_url, settings.service_token.get_secret_value(), **options)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> InternalGatewayClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def _lock(self, key: Any) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    # --- tokens ---------------------------------------------------------------------------

    def _fresh(self, key: tuple[str, str]) -> AccessToken | None:
        cached = self._tokens.get(key)
        if cached is not None and cached.expires_at - self._clock() > self._token_skew:
            return cached
        return None

    async def token(self, tenant_id: str, system: str) -> AccessToken:
        """A current access token for the tenant's ``system`` (eaccounting, accountview)."""
        key = (tenant_id, system)
        cached = self._fresh(key)
        if cached is not None:
            return cached
        async with self._lock(("token", key)):
            cached = self._fresh(key)
            if cached is not None:
                return cached
            body = await self._call(
                "GET", f"/internal/tenants/{tenant_id}/connections/{system}/token"
            )
            token = _token(body)
            self._tokens[key] = token
            return token

    async def report_rejected(
        self, tenant_id: str, system: str, rejected_access_token: str
    ) -> AccessToken:
        """After the API answered 401 to ``rejected_access_token``: a token it should accept.

        The gateway refreshes only if that token is still its current one, so many callers
        reporting the same token cause one refresh.
        """
        key = (tenant_id, system)
        async with self._lock(("token", key)):
            cached = self._tokens.get(key)
            if (
                cached is not None
                and cached.access_token != rejected_access_token
                and self._fresh(key)
            ):
                return cached  # someone here already got a newer one
            body = await self._call(
                "POST",
                f"/internal/tenants/{tenant_id}/connections/{system}/token/refresh",
                json={"rejected_access_token": rejected_access_token},
            )
            token = _token(body)
            self._tokens[key] = token
            return token

    def token_provider(self, tenant_id: str, system: str) -> GatewayTokenProvider:
        """An object with the connectors' ``TokenProvider`` shape for one connection."""
        return GatewayTokenProvider(self, tenant_id, system)

    # --- settings -------------------------------------------------------------------------

    async def settings(self, tenant_id: str) -> JSON:
        """``{"tenant": {...}, "flows": {flow: {"enabled", "schedule", "settings", ...}},
        "connections": {system: {"status", "api_base_url", "company"}}}``."""
        cached = self._settings.get(tenant_id)
        if cached is not None and time.monotonic() - cached[0] < self._settings_ttl:
            return cached[1]
        async with self._lock(("settings", tenant_id)):
            cached = self._settings.get(tenant_id)
            if cached is not None and time.monotonic() - cached[0] < self._settings_ttl:
                return cached[1]
            body = await self._call("GET", f"/internal/tenants/{tenant_id}/settings")
            self._settings[tenant_id] = (time.monotonic(), body)
            return body

    async def flow_settings(self, tenant_id: str, flow: str) -> JSON:
        """One flow's ``settings`` object (validated by the gateway, defaults filled in)."""
        flows = (await self.settings(tenant_id)).get("flows", {})
        settings: JSON = flows.get(flow, {}).get("settings", {})
        return settings

    def invalidate(self, tenant_id: str | None = None) -> None:
        """Forget cached settings (and tokens) of one tenant, or of all."""
        if tenant_id is None:
            self._settings.clear()
            self._tokens.clear()
            return
        self._settings.pop(tenant_id, None)
        for key in [k for k in self._tokens if k[0] == tenant_id]:
            del self._tokens[key]

    # --- transport ------------------------------------------------------------------------

    async def _call(self, method: str, path: str, json: JSON | None = None) -> JSON:
        try:
            response = await self._http.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise TransientError(
                f"the gateway could not be reached ({type(exc).__name__})",
                reason_code="gateway_unreachable",
            ) from None
        if response.status_code == 200:
            body = response.json()
            if not isinstance(body, dict):
                raise TransientError(
                    "the gateway answered an unexpected body", reason_code="gateway_bad_answer"
                )
            return body
        problem = _problem(response)
        detail = str(problem.get("detail") or f"the gateway answered {response.status_code}")
        code = str(problem.get("code") or f"gateway_{response.status_code}")
        if response.status_code in (401, 403, 404, 409, 422) or response.status_code == 502:
            raise PermanentError(detail, reason_code=code)
        raise TransientError(detail, reason_code=code)


class GatewayTokenProvider:
    """``access_token(connection_id, force_refresh=...)`` for one tenant × system.

    ``force_refresh`` (after a 401) reports the last token handed out as rejected.
    """

    def __init__(self, client: InternalGatewayClient, tenant_id: str, system: str) -> None:
        self._client = client
        self._tenant_id = tenant_id
        self._system = system
        self._last: str | None = None

    async def access_token(self, connection_id: str, *, force_refresh: bool = False) -> str:  # noqa: ARG002
        if force_refresh and self._last is not None:
            token = await self._client.report_rejected(self._tenant_id, self._system, self._last)
        else:
            token = await self._client.token(self._tenant_id, self._system)
        self._last = token.access_token
        return token.access_token


def _token(body: JSON) -> AccessToken:
    try:
        return AccessToken(
            system=str(body["system"]),
            access_token=str(body["access_token"]),
            expires_at=datetime.fromisoformat(str(body["expires_at"])),
            api_base_url=str(body["api_base_url"]),
            company=body.get("company"),
        )
    except (KeyError, ValueError):
        raise TransientError(
            "the gateway's token answer is incomplete", reason_code="gateway_bad_answer"
        ) from None


def _problem(response: httpx.Response) -> JSON:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
