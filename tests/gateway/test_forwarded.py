"""The gateway's forwarded routes (mappings, value maps, activity, dead letters, alerts) in
the embedded shape: gateway, mapper and notifier runtimes on one in-process bus, mounted in
one app, the gateway reaching the others through that app (``gateway.services_transport``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from koppel.common.app import create_embedded_app
from koppel.common.bus.memory import InMemoryBus
from koppel.common.events import EntityRef, EntityType, MessageDeadLettered, OrderFailed
from koppel.common.messages import Flow
from koppel.common.runtime import RuntimeGroup, ServiceRuntime
from koppel.gateway.app import spec as gateway_spec
from koppel.gateway.crypto import generate_encryption_key
from koppel.mapper.app import SPEC as MAPPER
from koppel.mapper.config import MapperSettings
from koppel.notifier.adapters.preferences import fixed_preferences
from koppel.notifier.app import SPEC as NOTIFIER
from koppel.notifier.config import NotifierSettings

from .conftest import ADMIN_KEY, SERVICE_TOKEN, make_settings, start_harness

FORWARDED = ("/v1/mappings", "/v1/value-maps", "/v1/activity", "/v1/dead-letters", "/v1/alerts")


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    bus: InMemoryBus

    @staticmethod
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    async def tenant(self, name: str) -> tuple[str, dict[str, str]]:
        response = await self.client.post(
            "/v1/tenants", json={"name": name}, headers=self.auth(ADMIN_KEY)
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return body["tenant"]["id"], self.auth(body["api_key"])


def embedded(tmp_path: Path, bus: InMemoryBus) -> tuple[FastAPI, list[ServiceRuntime]]:
    common: dict[str, Any] = {
        "environment": "test",
        "data_dir": tmp_path,
        "service_token": SecretStr(SERVICE_TOKEN),
        "schema_mode": "create",
        "log_json": False,
        "time_scale": 0.01,
        "relay_poll_interval": 0.05,
    }
    gateway = ServiceRuntime(
        gateway_spec, bus=bus, settings=make_settings(tmp_path), owns_bus=False
    )
    mapper = ServiceRuntime(MAPPER, bus=bus, settings=MapperSettings(**common), owns_bus=False)
    notifier_settings = NotifierSettings(
        **common, encryption_keys=SecretStr(generate_encryption_key())
    )
    notifier = ServiceRuntime(NOTIFIER, bus=bus, settings=notifier_settings, owns_bus=False)
    notifier.context["preferences"] = fixed_preferences()
    runtimes = [gateway, mapper, notifier]
    app = create_embedded_app(RuntimeGroup(runtimes, bus))
    gateway.context.deps["gateway.services_transport"] = httpx.ASGITransport(app=app)
    return app, runtimes


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    bus = InMemoryBus()
    app, _ = embedded(tmp_path, bus)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://koppel") as client:
            yield World(app, client, bus)


async def eventually(world: World, url: str, headers: dict[str, str], count: int = 1) -> Any:
    """The JSON answer once its ``items`` has ``count`` entries (the notifier writes in batches)."""
    async with asyncio.timeout(20):
        while True:
            response = await world.client.get(url, headers=headers)
            assert response.status_code == 200, response.text
            if len(response.json()["items"]) >= count:
                return response.json()
            await asyncio.sleep(0.02)


def failed_order(tenant_id: str, key: str) -> OrderFailed:
    entity = EntityRef(type=EntityType.order, source_id=f"o-{key}", key=key)
    return OrderFailed(
        tenant_id=tenant_id,
        flow=Flow.orders,
        run_id=uuid4(),
        entity=entity,
        reason_code="unmapped_value",
        reason=f"no VAT code for order {key}",
        step="map",
    )


def parked(tenant_id: str, key: str) -> MessageDeadLettered:
    original = failed_order(tenant_id, key)
    return MessageDeadLettered(
        tenant_id=tenant_id,
        flow=Flow.orders,
        service="mapper",
        queue="mapper.order_fetched",
        original_routing_key=original.routing_key(),
        original_message_id=str(original.message_id),
        reason_code="unmapped_value",
        reason=f"no VAT code for order {key}",
        attempts=1,
        body=original.model_dump_json(),
    )


async def seed_tenant(world: World, headers: dict[str, str], tenant_id: str) -> dict[str, Any]:
    """Something of every kind for one tenant; answers the ids a thief would try."""
    c = world.client
    put = await c.put(
        "/v1/mappings/orders",
        json={"settings": {"shipping_article_numbers": ["A-SHIP-ART"]}, "fields": {}},
        headers=headers,
    )
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 1
    vat = await c.put(
        "/v1/value-maps/vat_codes",
        json={"entries": {"NL:21": "21"}, "default": "A9"},
        headers=headers,
    )
    assert vat.status_code == 200, vat.text
    event = failed_order(tenant_id, "A-ORDER-77")
    await world.bus.publish([event, parked(tenant_id, "A-ORDER-78")])
    await eventually(world, "/v1/activity", headers, 1)
    await eventually(world, "/v1/dead-letters", headers, 1)
    channel = await c.post(
        "/v1/alerts/channels",
        json={"kind": "email", "name": "A-CHANNEL", "to": ["a@example.nl"]},
        headers=headers,
    )
    assert channel.status_code == 201, channel.text
    rule = await c.post(
        "/v1/alerts/rules",
        json={"kind": "failure", "flows": ["orders"], "channel_ids": [channel.json()["id"]]},
        headers=headers,
    )
    assert rule.status_code == 201, rule.text
    return {
        "flow": "orders",
        "name": "vat_codes",
        "correlation_id": str(event.correlation_id),
        "item_id": rule.json()["id"],
        "channel_id": channel.json()["id"],
    }


async def test_mappings_and_value_maps_round_trip(world: World) -> None:
    _, a = await world.tenant("Tenant A")
    c = world.client
    # Defaults first: version 0
    first = await c.get("/v1/mappings/orders", headers=a)
    assert first.status_code == 200 and first.json()["version"] == 0
    # Save twice, see the history, roll back to 1
    for numbers in (["SHIP-1"], ["SHIP-2"]):
        doc = {"settings": {"shipping_article_numbers": numbers}, "fields": {}}
        assert (await c.put("/v1/mappings/orders", json=doc, headers=a)).status_code == 200
    history = (await c.get("/v1/mappings/orders/history", headers=a)).json()
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["saved_by"].startswith("kpl_")  # the key's prefix is the actor
    back = await c.post("/v1/mappings/orders/rollback", json={"version": 1}, headers=a)
    assert back.status_code == 200
    assert back.json()["document"]["settings"]["shipping_article_numbers"] == ["SHIP-1"]
    # Downstream problems pass through: unknown version, invalid mapping, unknown map
    missing = await c.post("/v1/mappings/orders/rollback", json={"version": 99}, headers=a)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = await c.put("/v1/mappings/orders", json={"settings": {"nope": 1}}, headers=a)
    assert bad.status_code == 422, bad.text
    assert (await c.get("/v1/value-maps/no_such_map", headers=a)).status_code == 404
    # The gateway refuses what it can check itself
    assert (await c.get("/v1/mappings/payroll", headers=a)).status_code == 422
    assert (await c.get("/v1/value-maps/..", headers=a)).status_code in (404, 422)
    # Value maps
    saved = await c.put("/v1/value-maps/vat_codes", json={"entries": {"be:21.0": "EU"}}, headers=a)
    assert saved.status_code == 200 and saved.json()["entries"] == {"BE:21": "EU"}
    names = [m["name"] for m in (await c.get("/v1/value-maps", headers=a)).json()]
    assert "vat_codes" in names and "terms_of_payment" in names
    preview = await c.post(
        "/v1/mappings/customers/preview",
        json={"sample": {"Name": "Jan", "EmailAddress": "jan@example.nl"}},
        headers=a,
    )
    assert preview.status_code == 200, preview.text


async def test_activity_dead_letters_and_alerts(world: World) -> None:
    tenant_id, a = await world.tenant("Tenant A")
    ids = await seed_tenant(world, a, tenant_id)
    c = world.client
    page = (await c.get("/v1/activity", params={"status": "failed", "q": "VAT"}, headers=a)).json()
    assert any(e["entity_key"] == "A-ORDER-77" for e in page["items"]), page
    journey = await c.get(f"/v1/activity/{ids['correlation_id']}", headers=a)
    assert journey.status_code == 200 and journey.json()
    assert (await c.get(f"/v1/activity/{uuid4()}", headers=a)).status_code == 404
    replay = await c.post(
        "/v1/dead-letters/replay", json={"reason_code": "unmapped_value"}, headers=a
    )
    assert replay.status_code == 200 and replay.json()["replayed"] == 1
    rules = (await c.get("/v1/alerts/rules", headers=a)).json()
    assert [r["id"] for r in rules] == [ids["item_id"]]
    channel = f"/v1/alerts/channels/{ids['channel_id']}"
    renamed = await c.put(
        channel, json={"kind": "email", "name": "renamed", "to": ["b@example.nl"]}, headers=a
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed"
    deliveries = await c.get("/v1/alerts/deliveries", headers=a)
    assert deliveries.status_code == 200 and "items" in deliveries.json()
    assert (await c.delete(f"/v1/alerts/rules/{ids['item_id']}", headers=a)).status_code == 204
    assert (await c.get(f"/v1/alerts/rules/{ids['item_id']}", headers=a)).status_code == 404


def forwarded_operations(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        if path.startswith(FORWARDED)
        for method in sorted(item)
    ]


BODIES: dict[str, Any] = {
    "/v1/mappings/{flow}": {"settings": {}, "fields": {}},
    "/v1/mappings/{flow}/rollback": {"version": 1},
    "/v1/mappings/{flow}/preview": {"sample": {"Number": 1}},
    "/v1/value-maps/{name}": {"entries": {"NL:21": "B1"}},
    "/v1/dead-letters/replay": {"reason_code": "unmapped_value"},
    "/v1/alerts/rules": {"kind": "failure"},
    "/v1/alerts/rules/{item_id}": {"kind": "failure"},
    "/v1/alerts/channels": {"kind": "email", "name": "b", "to": ["b@example.nl"]},
    "/v1/alerts/channels/{item_id}": {"kind": "email", "name": "b", "to": ["b@example.nl"]},
}
A_MARKERS = ("A-SHIP-ART", "A-ORDER-77", "A-ORDER-78", "A-CHANNEL", "a@example.nl", "A9")


async def test_tenant_b_never_reaches_tenant_a_through_any_forwarded_route(world: World) -> None:
    # Given tenant A with a mapping, a value map, activity, a dead letter, a rule and a channel
    a_id, a = await world.tenant("Tenant A")
    ids = await seed_tenant(world, a, a_id)
    _, b = await world.tenant("Tenant B")
    operations = forwarded_operations(world.app)
    assert len(operations) >= 23

    # When tenant B calls every forwarded route with tenant A's ids (reads before writes)
    reads = [op for op in operations if op[0] == "GET"]
    for method, path in reads + [op for op in operations if op[0] != "GET"]:
        for id_param in ("item_id", "channel_id"):
            if "{item_id}" not in path and id_param == "channel_id":
                continue
            params = {**ids, "item_id": ids[id_param]}
            url = path.format(**params)
            response = await world.client.request(method, url, json=BODIES.get(path), headers=b)
            text = response.text
            # Then A's records answer 404, and nothing of A's appears in any answer
            if "{correlation_id}" in path or "{item_id}" in path:
                assert response.status_code == 404, (method, url, text)
            else:
                assert response.status_code < 300, (method, url, text)
            assert "/internal/" not in text, (method, url, text)
            for marker in (*A_MARKERS, a_id, ids["correlation_id"]):
                if marker == ids["correlation_id"] and "{correlation_id}" in path:
                    continue  # the problem names the id that was asked for: no leak
                assert marker not in text, (method, url, marker)

    # And A's data is untouched
    c = world.client
    mapping = (await c.get("/v1/mappings/orders", headers=a)).json()
    assert mapping["document"]["settings"]["shipping_article_numbers"] == ["A-SHIP-ART"]
    assert (await c.get("/v1/value-maps/vat_codes", headers=a)).json()["default"] == "A9"
    parked_a = (await c.get("/v1/dead-letters", headers=a)).json()["items"]
    assert [d["entity_key"] for d in parked_a] == ["A-ORDER-78"]  # B's replay did not touch it
    assert (await c.get(f"/v1/alerts/rules/{ids['item_id']}", headers=a)).status_code == 200
    assert (await c.get(f"/v1/alerts/channels/{ids['channel_id']}", headers=a)).json()[
        "name"
    ] == "A-CHANNEL"


async def test_forwarded_routes_need_a_tenant_key(world: World) -> None:
    for method, path in forwarded_operations(world.app):
        url = path.format(flow="orders", name="vat_codes", correlation_id=uuid4(), item_id=1)
        anonymous = await world.client.request(method, url, json=BODIES.get(path))
        assert anonymous.status_code == 401, (method, url)
        admin = await world.client.request(
            method, url, json=BODIES.get(path), headers=World.auth(ADMIN_KEY)
        )
        assert admin.status_code == 403, (method, url)


async def test_unreachable_service_is_a_503_and_a_failing_one_a_502(tmp_path: Path) -> None:
    # A port nothing listens on: the mapper is down
    h = await start_harness(
        tmp_path, mapper_url="http://127.0.0.1:9", notifier_url="http://127.0.0.1:9"
    )
    try:
        tenant = await h.create_tenant()
        key = h.auth(tenant["api_key"])
        down = await h.client.get("/v1/mappings/orders", headers=key)
        assert down.status_code == 503
        assert down.headers["content-type"].startswith("application/problem+json")
        assert "mapper" in down.json()["detail"]

        # A notifier answering 500, or refusing the service token: 502, nothing leaked
        answers = iter([httpx.Response(500, text="Traceback: secret"), httpx.Response(401)])
        transport = httpx.MockTransport(lambda _request: next(answers))
        await h.runtime.context.deps.pop("gateway.services").aclose()
        h.runtime.context.deps["gateway.services_transport"] = transport
        for _ in range(2):
            failing = await h.client.get("/v1/activity", headers=key)
            assert failing.status_code == 502
            assert "secret" not in failing.text and "Traceback" not in failing.text
    finally:
        await h.client.aclose()
        await h.runtime.stop()
        await h.runtime.context.deps["gateway.http"].aclose()
