"""The pages' way into the platform: the gateway's own HTTP API, called in-process.

Every call goes through the public ``/v1`` routes with the signed-in tenant's API key, so a
page can never show more than that key may see (tenant isolation is the API's). Requests
never leave the process (``httpx.ASGITransport`` on the running app).

The activity log, dead letters, mappings and value maps are served by other services; the
gateway forwards them under ``/v1``. Where an app has no such forwarded route (an embedded
app built before the forwarding layer), the same service's internal route in the same app is
used with the service token, scoped to the session's tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from starlette.types import ASGIApp

JSON = Any


@dataclass
class ApiError(Exception):
    status: int
    body: dict[str, Any]

    @property
    def detail(self) -> str:
        return str(self.body.get("detail") or self.body.get("title") or self.status)

    def field_errors(self) -> dict[str, str]:
        """``{field: message}`` from a problem document (FastAPI's ``errors[].loc``, the
        gateway's ``field``, the mapper's ``errors[].location``)."""
        found: dict[str, str] = {}
        for err in self.body.get("errors") or []:
            if not isinstance(err, dict):
                continue
            if "location" in err:
                name = str(err.get("field") or err["location"])
                found.setdefault(str(err["location"]), str(err.get("message", "")))
                found.setdefault(name, str(err.get("message", "")))
                continue
            loc = [str(p) for p in err.get("loc", [])]
            while loc and loc[0] in ("body", "settings", "query", "path"):
                loc = loc[1:]
            if loc:
                found.setdefault(".".join(loc), str(err.get("msg", "")))
            else:
                found.setdefault("_", str(err.get("msg", "")))
        if self.body.get("field"):
            found.setdefault(str(self.body["field"]), self.detail)
        return found


def _has_route(app: Any, prefix: str) -> bool:
    routes = getattr(app, "routes", [])
    return any(str(getattr(r, "path", "")).startswith(prefix) for r in routes)


class ApiClient:
    def __init__(self, app: ASGIApp, api_key: str, tenant_id: str, service_token: str) -> None:
        self._app = app
        self._tenant = tenant_id
        self._service_token = service_token
        self._http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://koppel.internal",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30.0,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> JSON:
        response = await self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": response.text[:300]}
            raise ApiError(response.status_code, body if isinstance(body, dict) else {})
        return response.json() if response.content else None

    # --- forwarded reads and writes (activity, dead letters, mappings, value maps) ----------

    def _forwarded(self, public: str) -> bool:
        return _has_route(self._app, public)

    async def activity(self, params: dict[str, Any]) -> JSON:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        if self._forwarded("/v1/activity"):
            return await self.call("GET", "/v1/activity", params=clean)
        return await self._notifier("GET", "/activity", params=clean)

    async def journey(self, correlation_id: str) -> JSON:
        cid = quote(correlation_id, safe="")
        if self._forwarded("/v1/activity"):
            return await self.call("GET", f"/v1/activity/{cid}")
        return await self._notifier("GET", f"/activity/{cid}")

    async def dead_letters(self, params: dict[str, Any]) -> JSON:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        if self._forwarded("/v1/dead-letters"):
            return await self.call("GET", "/v1/dead-letters", params=clean)
        return await self._notifier("GET", "/dead-letters", params=clean)

    async def replay(self, body: dict[str, Any]) -> JSON:
        if self._forwarded("/v1/dead-letters"):
            return await self.call("POST", "/v1/dead-letters/replay", json=body)
        return await self._notifier("POST", "/dead-letters/replay", json=body)

    async def mapper(self, method: str, path: str, **kwargs: Any) -> JSON:
        """``path`` like ``/v1/mappings/orders`` (the public and the mapper's own shape)."""
        if self._forwarded("/" + "/".join(path.split("/")[1:3])):
            return await self.call(method, path, **kwargs)
        headers = {
            "Authorization": f"Bearer {self._service_token}",
            "X-Koppel-Tenant": self._tenant,
            "X-Koppel-Actor": "web",
        }
        return await self.call(method, f"/internal/mapper{path}", headers=headers, **kwargs)

    async def _notifier(self, method: str, path: str, **kwargs: Any) -> JSON:
        headers = {"Authorization": f"Bearer {self._service_token}"}
        tenant = quote(self._tenant, safe="")
        return await self.call(
            method, f"/internal/notifier/tenants/{tenant}{path}", headers=headers, **kwargs
        )
