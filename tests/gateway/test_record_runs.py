"""``POST /v1/flows/{flow}/runs?record_id=...``: re-run one record from the source."""

from __future__ import annotations

from .conftest import Harness
from .test_flows import enable, tenant


async def test_record_run_requests_that_record(h: Harness) -> None:
    _, key = await tenant(h)
    await enable(h, key, "orders")
    full = await h.client.post("/v1/flows/orders/runs", headers=key)
    assert full.status_code == 202
    # A single-record re-run may start while the full run is going.
    one = await h.client.post(
        "/v1/flows/orders/runs", params={"record_id": "order-42"}, headers=key
    )
    assert one.status_code == 202, one.text
    run_id = one.json()["run_id"]
    requested = [m for m in await h.published("flow_run_requested") if m["run_id"] == run_id]
    assert len(requested) == 1
    assert requested[0]["record_id"] == "order-42"
    assert requested[0]["trigger"] == "manual"
    run = (await h.client.get(f"/v1/runs/{run_id}", headers=key)).json()
    assert run["record_id"] == "order-42"


async def test_blank_record_id_is_refused(h: Harness) -> None:
    _, key = await tenant(h)
    await enable(h, key, "orders")
    for blank in ("", "   "):
        response = await h.client.post(
            "/v1/flows/orders/runs", params={"record_id": blank}, headers=key
        )
        assert response.status_code == 422, (blank, response.text)
    assert await h.published("flow_run_requested") == []


async def test_record_id_is_documented(h: Harness) -> None:
    spec = (await h.client.get("/openapi.json")).json()
    params = spec["paths"]["/v1/flows/{flow}/runs"]["post"]["parameters"]
    record = next(p for p in params if p["name"] == "record_id")
    assert record["in"] == "query"
    assert record["required"] is False
    assert "source" in record["description"]
