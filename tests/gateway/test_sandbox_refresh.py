"""Against the bundled eAccounting sandbox (single-use, rotating refresh tokens)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from koppel.sandbox.eaccounting.app import create_app
from koppel.sandbox.eaccounting.settings import EAccountingSandboxSettings

from .conftest import Harness, start_harness

SANDBOX = "http://ea-sandbox"


@pytest.fixture
async def hs(tmp_path: Path) -> AsyncIterator[tuple[Harness, httpx.AsyncClient]]:
    sandbox = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(EAccountingSandboxSettings(seed=7))),
        base_url=SANDBOX,
    )
    harness = await start_harness(tmp_path, http=sandbox)
    try:
        yield harness, sandbox
    finally:
        await harness.client.aclose()
        await harness.runtime.stop()
        await sandbox.aclose()


async def connect(h: Harness, sandbox: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    granted = (await sandbox.post("/_sandbox/tokens", json={})).json()
    created = await h.create_tenant()
    key = h.auth(created["api_key"])
    body = {
        "api_base_url": f"{SANDBOX}/v2",
        "auth_base_url": SANDBOX,
        "client_id": "koppel-demo",
        "client_secret": "koppel-demo-secret",
        "refresh_token": granted["refresh_token"],
    }
    assert (
        await h.client.put("/v1/connections/eaccounting", json=body, headers=key)
    ).status_code == 200
    return created["tenant"]["id"], key


async def test_fifty_concurrent_requests_refresh_once_against_the_sandbox(
    hs: tuple[Harness, httpx.AsyncClient],
) -> None:
    h, sandbox = hs
    tenant_id, key = await connect(h, sandbox)
    url = f"/internal/tenants/{tenant_id}/connections/eaccounting/token"
    for round_ in range(
        1, 4
    ):  # three expiries in a row: each rotated refresh token is the one stored
        responses = await asyncio.gather(*(h.client.get(url, headers=h.service) for _ in range(50)))
        assert [r.status_code for r in responses] == [200] * 50, responses[0].text
        tokens = {r.json()["access_token"] for r in responses}
        assert len(tokens) == 1, round_
        api = await sandbox.get(
            "/v2/customers", headers={"Authorization": f"Bearer {tokens.pop()}"}
        )
        assert api.status_code == 200  # no request got a token the API refuses
        log = (await sandbox.get("/_sandbox/requests")).json()
        token_calls = [e for e in log["entries"] if e["path"].endswith("/connect/token")]
        assert len(token_calls) == round_, log["counts"]  # exactly one refresh per expiry
        assert all(e["status"] == 200 for e in token_calls)
        h.clock.advance(3600)
    status = (await h.client.get("/v1/connections/eaccounting", headers=key)).json()
    assert status["status"] == "connected"
    assert h.tokens.requests == []  # the fake server saw nothing: all went to the sandbox
    print(
        "\nsandbox: 3 rounds x 50 concurrent token requests, one refresh per round, all tokens accepted"
    )


async def test_connection_test_against_the_sandbox(hs: tuple[Harness, httpx.AsyncClient]) -> None:
    h, sandbox = hs
    _, key = await connect(h, sandbox)
    result = (await h.client.post("/v1/connections/eaccounting/test", headers=key)).json()
    assert result["ok"] is True, result
    assert {c["name"] for c in result["checks"]} >= {
        "read customers",
        "read orders",
        "read VAT codes",
    }
