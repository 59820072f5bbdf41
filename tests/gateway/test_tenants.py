"""Tenants (admin), the tenant's own account, API keys, webhook secrets, authentication."""

from __future__ import annotations

from .conftest import Harness


class TestTenantsAdmin:
    async def test_create_returns_tenant_first_key_and_webhook_secret(self, h: Harness) -> None:
        created = await h.create_tenant("Bakkerij de Vries")
        assert created["tenant"]["name"] == "Bakkerij de Vries"
        assert created["tenant"]["retention_days"] == 30
        assert created["tenant"]["redact_personal_data"] is False
        assert created["api_key"].startswith("kpl_")
        assert created["webhook_secret"].startswith("whsec_")
        me = await h.client.get("/v1/tenant", headers=h.auth(created["api_key"]))
        assert me.json()["id"] == created["tenant"]["id"]

    async def test_get_patch_delete(self, h: Harness) -> None:
        tenant_id = (await h.create_tenant())["tenant"]["id"]
        patched = await h.client.patch(
            f"/v1/tenants/{tenant_id}",
            json={"retention_days": 14, "redact_personal_data": True},
            headers=h.admin,
        )
        assert patched.status_code == 200
        assert patched.json()["retention_days"] == 14
        got = await h.client.get(f"/v1/tenants/{tenant_id}", headers=h.admin)
        assert got.json()["redact_personal_data"] is True
        deleted = await h.client.delete(f"/v1/tenants/{tenant_id}", headers=h.admin)
        assert deleted.status_code == 204
        gone = await h.client.get(f"/v1/tenants/{tenant_id}", headers=h.admin)
        assert gone.status_code == 404
        assert gone.headers["content-type"].startswith("application/problem+json")

    async def test_delete_removes_keys(self, h: Harness) -> None:
        created = await h.create_tenant()
        await h.client.delete(f"/v1/tenants/{created['tenant']['id']}", headers=h.admin)
        response = await h.client.get("/v1/tenant", headers=h.auth(created["api_key"]))
        assert response.status_code == 401

    async def test_every_change_publishes_tenant_config_changed(self, h: Harness) -> None:
        tenant_id = (await h.create_tenant())["tenant"]["id"]
        await h.client.patch(f"/v1/tenants/{tenant_id}", json={"name": "Nieuw"}, headers=h.admin)
        await h.client.delete(f"/v1/tenants/{tenant_id}", headers=h.admin)
        changes = await h.published("tenant_config_changed")
        assert [c["section"] for c in changes] == ["tenant", "tenant", "tenant"]
        assert {c["tenant_id"] for c in changes} == {tenant_id}

    async def test_list_is_paginated_with_a_cursor(self, h: Harness) -> None:
        ids = [(await h.create_tenant(f"t{i}"))["tenant"]["id"] for i in range(5)]
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await h.client.get("/v1/tenants", params=params, headers=h.admin)).json()
            seen += [t["id"] for t in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(ids)
        assert pages == 3

    async def test_bad_cursor_is_a_422_naming_cursor(self, h: Harness) -> None:
        response = await h.client.get("/v1/tenants", params={"cursor": "!!nope"}, headers=h.admin)
        assert response.status_code == 422
        assert response.json()["field"] == "cursor"

    async def test_invalid_input_names_the_field(self, h: Harness) -> None:
        response = await h.client.post(
            "/v1/tenants", json={"name": "", "retention_days": 0}, headers=h.admin
        )
        assert response.status_code == 422
        locs = {tuple(e["loc"]) for e in response.json()["errors"]}
        assert ("body", "name") in locs
        assert ("body", "retention_days") in locs
        unknown = await h.client.post(
            "/v1/tenants", json={"name": "x", "colour": "red"}, headers=h.admin
        )
        assert unknown.status_code == 422
        assert ["body", "colour"] in [e["loc"] for e in unknown.json()["errors"]]

    async def test_admin_can_issue_a_key_and_rotate_the_webhook_secret(self, h: Harness) -> None:
        created = await h.create_tenant()
        tenant_id = created["tenant"]["id"]
        key = await h.client.post(
            f"/v1/tenants/{tenant_id}/api-keys", json={"name": "ops"}, headers=h.admin
        )
        assert key.status_code == 201
        assert (
            await h.client.get("/v1/tenant", headers=h.auth(key.json()["key"]))
        ).status_code == 200
        rotated = await h.client.post(
            f"/v1/tenants/{tenant_id}/webhook-secret/rotate", headers=h.admin
        )
        assert rotated.json()["webhook_secret"] != created["webhook_secret"]


class TestAuthentication:
    async def test_missing_or_wrong_key_is_401(self, h: Harness) -> None:
        assert (await h.client.get("/v1/tenants")).status_code == 401
        wrong = await h.client.get("/v1/tenants", headers=h.auth("kpl_nope"))
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Bearer"

    async def test_tenant_key_cannot_use_admin_routes(self, h: Harness) -> None:
        key = (await h.create_tenant())["api_key"]
        assert (await h.client.get("/v1/tenants", headers=h.auth(key))).status_code == 403
        assert (
            await h.client.post("/v1/tenants", json={"name": "x"}, headers=h.auth(key))
        ).status_code == 403

    async def test_admin_key_is_not_a_tenant(self, h: Harness) -> None:
        assert (await h.client.get("/v1/flows", headers=h.admin)).status_code == 403


class TestApiKeys:
    async def test_create_list_revoke_rotate(self, h: Harness) -> None:
        first = (await h.create_tenant())["api_key"]
        created = await h.client.post("/v1/api-keys", json={"name": "shop"}, headers=h.auth(first))
        assert created.status_code == 201
        second = created.json()
        assert second["key"].startswith(second["prefix"])
        listing = (await h.client.get("/v1/api-keys", headers=h.auth(first))).json()
        assert {k["name"] for k in listing["items"]} == {"default", "shop"}
        assert all("key" not in k for k in listing["items"])
        assert all(len(k["prefix"]) == 12 for k in listing["items"])

        rotated = await h.client.post(f"/v1/api-keys/{second['id']}/rotate", headers=h.auth(first))
        assert rotated.status_code == 200
        new_key = rotated.json()["key"]
        assert (await h.client.get("/v1/tenant", headers=h.auth(second["key"]))).status_code == 401
        assert (await h.client.get("/v1/tenant", headers=h.auth(new_key))).status_code == 200

        revoked = await h.client.delete(
            f"/v1/api-keys/{rotated.json()['id']}", headers=h.auth(first)
        )
        assert revoked.json()["revoked_at"] is not None
        assert (await h.client.get("/v1/tenant", headers=h.auth(new_key))).status_code == 401

    async def test_keys_are_stored_hashed(self, h: Harness) -> None:
        import sqlalchemy as sa

        from koppel.gateway.models import ApiKeyRow

        key = (await h.create_tenant())["api_key"]
        async with h.runtime.database.session() as session:
            rows = list((await session.execute(sa.select(ApiKeyRow))).scalars())
        assert rows
        assert all(key not in (row.key_hash + row.prefix) for row in rows)

    async def test_tenant_self_service_and_audit(self, h: Harness) -> None:
        created = await h.create_tenant()
        key = h.auth(created["api_key"])
        patched = await h.client.patch("/v1/tenant", json={"name": "Renamed"}, headers=key)
        assert patched.json()["name"] == "Renamed"
        rotated = await h.client.post("/v1/tenant/webhook-secret/rotate", headers=key)
        assert rotated.status_code == 200
        audit = (await h.client.get("/v1/audit", headers=key)).json()
        sections = [a["section"] for a in audit]
        assert "webhook_secret" in sections
        assert "tenant" in sections
        assert all(a["actor"] in ("admin", created["api_key"][:12]) for a in audit)
