"""OAuth like identity.vismaonline.com: code flow, rotating single-use refresh tokens, scopes."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from .conftest import asgi_client, make_app, mint

REDIRECT = "http://127.0.0.1:8765/callback"
BASIC = "Basic " + base64.b64encode(b"koppel-demo:koppel-demo-secret").decode()


async def authorize(c: httpx.AsyncClient, scope: str = "ea:api offline_access ea:sales") -> str:
    response = await c.get(
        "/connect/authorize",
        params={
            "client_id": "koppel-demo",
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": "xyz",
            "response_type": "code",
            "prompt": "login",
        },
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


async def token(c: httpx.AsyncClient, data: dict[str, str], basic: bool = True) -> httpx.Response:
    headers = {"Authorization": BASIC} if basic else {}
    return await c.post("/connect/token", data=data, headers=headers)


async def test_code_flow_then_api_call() -> None:
    app = make_app()
    async with asgi_client(app) as c:
        code = await authorize(c)
        r = await token(
            c, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        )
        assert r.status_code == 200
        body = r.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        assert body["refresh_token"]
        api = await c.get(
            "/v2/customers", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert api.status_code == 200
        # The code is single use.
        again = await token(
            c, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        )
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"


async def test_client_secret_in_body_and_bad_client() -> None:
    app = make_app()
    async with asgi_client(app) as c:
        code = await authorize(c)
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "koppel-demo",
            "client_secret": "koppel-demo-secret",
        }
        assert (await token(c, data, basic=False)).status_code == 200
        bad = {**data, "client_secret": "wrong"}
        r = await token(c, bad, basic=False)
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_client"
        json_body = await c.post("/connect/token", json=data)
        assert json_body.status_code == 400


async def test_redirect_must_be_loopback_or_registered() -> None:
    app = make_app()
    async with asgi_client(app) as c:
        r = await c.get(
            "/connect/authorize",
            params={
                "client_id": "koppel-demo",
                "redirect_uri": "https://evil.example/cb",
                "response_type": "code",
                "scope": "ea:api",
            },
        )
        assert r.status_code == 400


async def test_refresh_tokens_rotate_and_are_single_use() -> None:
    app = make_app()
    first = await mint(app)
    async with asgi_client(app) as c:
        r = await token(c, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
        assert r.status_code == 200
        second = r.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        reuse = await token(
            c, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        )
        assert reuse.status_code == 400
        assert reuse.json() == {"error": "invalid_grant"}
        # The rotated one still works (once).
        third = await token(
            c, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
        )
        assert third.status_code == 200


async def test_no_refresh_token_without_offline_access() -> None:
    app = make_app()
    body = await mint(app, "ea:api ea:sales")
    assert "refresh_token" not in body


async def test_access_token_expires_on_the_sandbox_clock() -> None:
    app = make_app(token_ttl_seconds=60)
    access = (await mint(app))["access_token"]
    async with asgi_client(app, access) as c:
        assert (await c.get("/v2/units")).status_code == 200
        app.state.sandbox.clock.advance(61)
        r = await c.get("/v2/units")
        assert r.status_code == 401
        assert "expired" in r.headers["www-authenticate"]


async def test_missing_or_unknown_token_is_401() -> None:
    app = make_app()
    async with asgi_client(app) as c:
        assert (await c.get("/v2/customers")).status_code == 401
    async with asgi_client(app, "not-a-token") as c:
        assert (await c.get("/v2/customers")).status_code == 401


async def scoped(app: Any, scope: str) -> httpx.AsyncClient:
    return asgi_client(app, (await mint(app, scope))["access_token"])


async def test_scopes_are_checked_per_endpoint() -> None:
    app = make_app()
    async with await scoped(app, "ea:api ea:sales") as sales:
        r = await sales.get("/v2/vatcodes")
        assert r.status_code == 403
        assert r.json()["ErrorCode"] == 4006
        assert (await sales.get("/v2/customers")).status_code == 200
        assert (await sales.get("/v2/termsofpayments")).status_code == 200
    async with await scoped(app, "ea:api ea:accounting_readonly") as accounting:
        assert (await accounting.get("/v2/vatcodes")).status_code == 200
        assert (await accounting.get("/v2/articles")).status_code == 403
    async with await scoped(app, "ea:api ea:sales_readonly") as readonly:
        assert (await readonly.get("/v2/orders")).status_code == 200
        r = await readonly.post("/v2/customers", json={})
        assert r.status_code == 403
    async with await scoped(app, "ea:sales") as no_api:
        assert (await no_api.get("/v2/customers")).status_code == 403
    async with await scoped(app, "ea:api ea:purchase") as purchase:
        assert (await purchase.get("/v2/termsofpayments")).status_code == 200
