from __future__ import annotations

from .conftest import Harness


async def test_create_tenant_and_read_it(h: Harness) -> None:
    created = await h.create_tenant()
    tenant_id = created["tenant"]["id"]
    key = created["api_key"]
    me = await h.client.get("/v1/tenant", headers=h.auth(key))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == tenant_id
    admin_view = await h.client.get(f"/v1/tenants/{tenant_id}", headers=h.admin)
    assert admin_view.json()["retention_days"] == 30
