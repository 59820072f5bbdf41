"""The internal token API: refresh single-flight, rotation stored, consent lost."""

from __future__ import annotations

import asyncio

from .conftest import Harness
from .test_connections import EA, put


async def connected_tenant(h: Harness, latency: float = 0.0) -> str:
    created = await h.create_tenant()
    h.tokens.latency = latency
    await put(
        h,
        h.auth(created["api_key"]),
        "eaccounting",
        {**EA, "refresh_token": h.tokens.issue_refresh_token()},
    )
    tenant_id: str = created["tenant"]["id"]
    return tenant_id


class TestInternalToken:
    async def test_needs_the_service_token(self, h: Harness) -> None:
        tenant_id = await connected_tenant(h)
        url = f"/internal/tenants/{tenant_id}/connections/eaccounting/token"
        assert (await h.client.get(url)).status_code == 401
        assert (
            await h.client.get(url, headers={"X-Koppel-Service-Token": "wrong"})
        ).status_code == 401
        admin = await h.client.get(url, headers=h.admin)
        assert admin.status_code == 401
        ok = await h.client.get(url, headers={"Authorization": "Bearer svc-token-0123456789abcdef"})
        assert ok.status_code == 200

    async def test_refreshes_when_expired_and_caches_otherwise(self, h: Harness) -> None:
        tenant_id = await connected_tenant(h)
        url = f"/internal/tenants/{tenant_id}/connections/eaccounting/token"
        first = (await h.client.get(url, headers=h.service)).json()
        assert first["access_token"] in h.tokens.valid_access
        assert first["api_base_url"] == "http://ea.test/v2"
        again = (await h.client.get(url, headers=h.service)).json()
        assert again["access_token"] == first["access_token"]
        assert h.tokens.refreshes == 1
        h.clock.advance(3600 - 60)  # inside the refresh skew
        third = (await h.client.get(url, headers=h.service)).json()
        assert third["access_token"] != first["access_token"]
        assert h.tokens.refreshes == 2
        assert h.tokens.reuse == 0

    async def test_fifty_concurrent_requests_cause_one_refresh(self, h: Harness) -> None:
        tenant_id = await connected_tenant(h, latency=0.05)
        url = f"/internal/tenants/{tenant_id}/connections/eaccounting/token"
        responses = await asyncio.gather(*(h.client.get(url, headers=h.service) for _ in range(50)))
        assert {r.status_code for r in responses} == {200}
        tokens = {r.json()["access_token"] for r in responses}
        print(
            f"\n50 concurrent token requests: refreshes={h.tokens.refreshes} reuse={h.tokens.reuse}"
        )
        assert h.tokens.refreshes == 1
        assert h.tokens.reuse == 0
        assert len(tokens) == 1
        assert tokens <= h.tokens.valid_access

    async def test_rejected_token_is_refreshed_once(self, h: Harness) -> None:
        tenant_id = await connected_tenant(h, latency=0.02)
        base = f"/internal/tenants/{tenant_id}/connections/eaccounting/token"
        current = (await h.client.get(base, headers=h.service)).json()["access_token"]
        h.tokens.valid_access.discard(current)  # the API now refuses it
        reports = await asyncio.gather(
            *(
                h.client.post(
                    base + "/refresh", json={"rejected_access_token": current}, headers=h.service
                )
                for _ in range(20)
            )
        )
        new = {r.json()["access_token"] for r in reports}
        assert len(new) == 1
        assert current not in new
        assert new <= h.tokens.valid_access
        assert h.tokens.refreshes == 2
        assert h.tokens.reuse == 0

    async def test_invalid_grant_marks_needs_consent_and_publishes(self, h: Harness) -> None:
        created = await h.create_tenant()
        key = h.auth(created["api_key"])
        await put(h, key, "eaccounting", {**EA, "refresh_token": "rt-revoked"})
        url = f"/internal/tenants/{created['tenant']['id']}/connections/eaccounting/token"
        refused = await h.client.get(url, headers=h.service)
        assert refused.status_code == 409
        assert refused.json()["code"] == "needs_consent"
        status = (await h.client.get("/v1/connections/eaccounting", headers=key)).json()
        assert status["status"] == "needs_consent"
        assert status["has_refresh_token"] is False
        events = await h.published("connection_needs_consent")
        assert len(events) == 1
        assert events[0]["system"] == "eaccounting"
        # No refresh token left: asking again does not call the token endpoint.
        calls = len(h.tokens.requests)
        assert (await h.client.get(url, headers=h.service)).status_code == 409
        assert len(h.tokens.requests) == calls

    async def test_unknown_tenant_or_connection_is_404(self, h: Harness) -> None:
        missing = await h.client.get(
            "/internal/tenants/ten_nope/connections/eaccounting/token", headers=h.service
        )
        assert missing.status_code == 404
