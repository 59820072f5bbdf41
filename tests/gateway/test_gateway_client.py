"""``koppel.common.gateway_client.InternalGatewayClient`` against the real gateway app."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from koppel.common.errors import PermanentError, TransientError
from koppel.common.gateway_client import InternalGatewayClient

from .conftest import SERVICE_TOKEN, Harness
from .test_connections import EA, put


def client_for(h: Harness, token: str = SERVICE_TOKEN) -> InternalGatewayClient:
    return InternalGatewayClient(
        "http://gateway", token, transport=httpx.ASGITransport(app=h.app), clock=h.clock
    )


async def connected(h: Harness) -> tuple[str, dict[str, str]]:
    created = await h.create_tenant()
    key = h.auth(created["api_key"])
    await put(h, key, "eaccounting", {**EA, "refresh_token": h.tokens.issue_refresh_token()})
    return created["tenant"]["id"], key


async def test_token_is_cached_until_near_expiry(h: Harness) -> None:
    tenant_id, _ = await connected(h)
    async with client_for(h) as client:
        tokens = await asyncio.gather(*(client.token(tenant_id, "eaccounting") for _ in range(10)))
        assert len({t.access_token for t in tokens}) == 1
        assert tokens[0].api_base_url == "http://ea.test/v2"
        assert "access_token" not in repr(tokens[0]) or tokens[0].access_token not in repr(
            tokens[0]
        )
        calls = len(h.tokens.requests)
        await client.token(tenant_id, "eaccounting")
        assert len(h.tokens.requests) == calls
        h.clock.advance(3600)
        renewed = await client.token(tenant_id, "eaccounting")
        assert renewed.access_token != tokens[0].access_token
        assert h.tokens.refreshes == 2


async def test_token_provider_reports_a_refused_token(h: Harness) -> None:
    tenant_id, _ = await connected(h)
    async with client_for(h) as client:
        provider = client.token_provider(tenant_id, "eaccounting")
        first = await provider.access_token("any")
        h.tokens.valid_access.discard(first)
        second = await provider.access_token("any", force_refresh=True)
        assert second != first
        assert second in h.tokens.valid_access


async def test_settings_are_cached_until_invalidated(h: Harness) -> None:
    tenant_id, key = await connected(h)
    async with client_for(h) as client:
        assert (await client.flow_settings(tenant_id, "orders"))["target"] == "sales_order"
        await h.client.put(
            "/v1/flows/orders",
            json={"enabled": True, "settings": {"target": "sales_invoice"}},
            headers=key,
        )
        assert (await client.flow_settings(tenant_id, "orders"))["target"] == "sales_order"
        client.invalidate(tenant_id)
        assert (await client.flow_settings(tenant_id, "orders"))["target"] == "sales_invoice"


async def test_errors_are_permanent_or_transient(h: Harness) -> None:
    created = await h.create_tenant()
    async with client_for(h) as client:
        with pytest.raises(PermanentError) as info:
            await client.token(created["tenant"]["id"], "eaccounting")
        assert info.value.reason_code == "not_found"
        await put(h, h.auth(created["api_key"]), "eaccounting", {**EA, "refresh_token": "rt-bad"})
        with pytest.raises(PermanentError) as consent:
            await client.token(created["tenant"]["id"], "eaccounting")
        assert consent.value.reason_code == "needs_consent"
    async with client_for(h, token="wrong") as bad:
        with pytest.raises(PermanentError):
            await bad.settings(created["tenant"]["id"])
    down = InternalGatewayClient("http://127.0.0.1:9", "x", timeout=0.5)
    with pytest.raises(TransientError):
        await down.settings("t")
    await down.aclose()
