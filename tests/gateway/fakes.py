"""Test doubles for the gateway: a settable clock and an OAuth token endpoint with
single-use, rotating refresh tokens (like eAccounting's)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeTokenServer:
    """``/connect/token`` (eAccounting) and ``/token`` (AccountView) on any host.

    Every refresh token works once; using one twice is ``invalid_grant`` (and, like the real
    server, counted as ``reuse``). Access tokens it issued are accepted by ``/customers`` etc.
    """

    def __init__(
        self, *, client_id: str = "cid", client_secret: str = "csecret", latency: float = 0.0
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.latency = latency
        self.valid_refresh: set[str] = set()
        self.valid_access: set[str] = set()
        self.codes: set[str] = set()
        self.refreshes = 0
        self.reuse = 0
        self.requests: list[httpx.Request] = []
        self.fail_with: int | None = None

    def issue_refresh_token(self) -> str:
        token = "rt-" + secrets.token_hex(16)
        self.valid_refresh.add(token)
        return token

    def issue_code(self) -> str:
        code = "code-" + secrets.token_hex(8)
        self.codes.add(code)
        return code

    def _client_ok(self, request: httpx.Request, form: dict[str, str]) -> bool:
        auth = request.headers.get("authorization")
        if auth is not None:
            expected = httpx.BasicAuth(self.client_id, self.client_secret)
            built = next(expected.auth_flow(httpx.Request("POST", "http://x"))).headers[
                "authorization"
            ]
            return auth == built
        return (
            form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        )

    def _tokens(self) -> httpx.Response:
        access = "at-" + secrets.token_hex(16)
        self.valid_access.add(access)
        return httpx.Response(
            200,
            json={
                "access_token": access,
                "refresh_token": self.issue_refresh_token(),
                "expires_in": 3600,
                "token_type": "Bearer",
            },
        )

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/connect/token") or path.endswith("/token"):
            if self.latency:
                await asyncio.sleep(self.latency)
            if self.fail_with is not None:
                return httpx.Response(self.fail_with, json={"error": "server_error"})
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if not self._client_ok(request, form):
                return httpx.Response(401, json={"error": "invalid_client"})
            if form.get("grant_type") == "refresh_token":
                token = form.get("refresh_token", "")
                if token not in self.valid_refresh:
                    self.reuse += 1
                    return httpx.Response(400, json={"error": "invalid_grant"})
                self.valid_refresh.discard(token)
                self.refreshes += 1
                return self._tokens()
            if form.get("grant_type") == "authorization_code":
                code = form.get("code", "")
                if code not in self.codes:
                    return httpx.Response(400, json={"error": "invalid_grant"})
                self.codes.discard(code)
                return self._tokens()
            return httpx.Response(400, json={"error": "unsupported_grant_type"})
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid_access:
            return httpx.Response(401, json={"Message": "Unauthorized"})
        if path.endswith("/companies"):
            return httpx.Response(
                200, json=[{"Id": "c-1", "Description": "Demo BV", "Code": "DEMO"}]
            )
        return httpx.Response(200, json={"Meta": {}, "Data": []})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
