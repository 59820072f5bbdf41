"""Tenant isolation: tenant B's key never sees or touches tenant A's resources.

The matrix is built from the app's own OpenAPI document, so a new tenant route is covered (or
fails the "every route is in the matrix" check) without editing this file.
"""

from __future__ import annotations

from typing import Any

from .conftest import Harness
from .test_connections import put

A_MARKERS = ("a-client-id", "A-COMPANY", "A-SHIPPING", "Tenant A")
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/v1/connections/{system}"): {"client_id": "b-client"},
    ("PUT", "/v1/flows/{flow}"): {"enabled": False},
    ("POST", "/v1/api-keys"): {"name": "b"},
    ("PATCH", "/v1/tenant"): {"retention_days": 7},
}
# Routes not authenticated by a tenant key: admin (403 for tenants), webhooks (HMAC),
# the OAuth callback (state) and the internal API (service token) have their own tests.
# Routes forwarded to the mapper and notifier need those services running: their isolation
# matrix is in test_forwarded.py (embedded gateway + mapper + notifier).
FORWARDED_ROUTES = (
    "/v1/mappings",
    "/v1/value-maps",
    "/v1/activity",
    "/v1/dead-letters",
    "/v1/alerts",
)
NOT_TENANT_ROUTES = ("/v1/tenants", "/v1/webhooks", "/v1/oauth", "/internal", *FORWARDED_ROUTES)


def tenant_routes(h: Harness) -> list[tuple[str, str]]:
    found = []
    for path, operations in h.app.openapi()["paths"].items():
        if path.startswith("/v1") and not path.startswith(NOT_TENANT_ROUTES):
            found += [(method.upper(), path) for method in sorted(operations)]
    return found


async def test_tenant_b_never_sees_tenant_a(h: Harness) -> None:
    # Given tenant A with a connection, flow settings, a run and a second key
    a = await h.create_tenant("Tenant A")
    a_key = h.auth(a["api_key"])
    await put(h, a_key, "eaccounting", {"client_id": "a-client-id", "client_secret": "a-secret"})
    await put(h, a_key, "accountview", {"client_id": "a-client-id", "company": "A-COMPANY"})
    put_flow = await h.client.put(
        "/v1/flows/orders",
        json={"enabled": True, "settings": {"shipping_article": "A-SHIPPING"}},
        headers=a_key,
    )
    assert put_flow.status_code == 200
    a_run = (await h.client.post("/v1/flows/orders/runs", headers=a_key)).json()["run_id"]
    a_key_id = (await h.client.post("/v1/api-keys", json={"name": "second"}, headers=a_key)).json()[
        "id"
    ]
    b = await h.create_tenant("Tenant B")
    b_key = h.auth(b["api_key"])
    params = {"system": "eaccounting", "flow": "orders", "run_id": a_run, "key_id": a_key_id}

    # When tenant B calls every tenant route with tenant A's ids
    covered = []
    for method, path in tenant_routes(h):
        url = path.format(**params)
        response = await h.client.request(
            method, url, json=BODIES.get((method, path)), headers=b_key
        )
        covered.append((method, path))
        text = response.text
        # Then: A's ids answer 404, and nothing of A's appears in any answer
        if "{run_id}" in path or "{key_id}" in path:
            assert response.status_code == 404, (method, path, response.status_code)
        else:
            assert response.status_code < 500, (method, path, text)
        for marker in (*A_MARKERS, a["tenant"]["id"], a_run, a_key_id):
            if "{run_id}" in path and marker == a_run or "{key_id}" in path and marker == a_key_id:
                # The problem document names the id that was asked for; that is no leak.
                continue
            assert marker not in text, (method, path, marker)

    assert ("GET", "/v1/runs/{run_id}") in covered
    assert ("DELETE", "/v1/api-keys/{key_id}") in covered
    assert ("POST", "/v1/api-keys/{key_id}/rotate") in covered
    assert len(covered) >= 18

    # And A is untouched: its second key still works, its run and settings are as they were
    a_keys = (await h.client.get("/v1/api-keys", headers=a_key)).json()["items"]
    assert all(k["revoked_at"] is None for k in a_keys)
    run = (await h.client.get(f"/v1/runs/{a_run}", headers=a_key)).json()
    assert run["status"] == "running"
    flow = (await h.client.get("/v1/flows/orders", headers=a_key)).json()
    assert flow["enabled"] is True
    assert flow["settings"]["shipping_article"] == "A-SHIPPING"
    connection = (await h.client.get("/v1/connections/eaccounting", headers=a_key)).json()
    assert connection["client_id"] == "a-client-id"


async def test_tenant_key_gets_no_admin_data(h: Harness) -> None:
    a = await h.create_tenant("Tenant A")
    b = await h.create_tenant("Tenant B")
    for method, url in [
        ("GET", f"/v1/tenants/{a['tenant']['id']}"),
        ("PATCH", f"/v1/tenants/{a['tenant']['id']}"),
        ("DELETE", f"/v1/tenants/{a['tenant']['id']}"),
        ("POST", f"/v1/tenants/{a['tenant']['id']}/api-keys"),
        ("POST", f"/v1/tenants/{a['tenant']['id']}/webhook-secret/rotate"),
        ("GET", "/v1/tenants"),
    ]:
        response = await h.client.request(method, url, json={}, headers=h.auth(b["api_key"]))
        assert response.status_code == 403, (method, url)
        assert "Tenant A" not in response.text
    assert (await h.client.get("/v1/tenant", headers=h.auth(a["api_key"]))).json()[
        "name"
    ] == "Tenant A"
