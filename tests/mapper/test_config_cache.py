"""The mapper's per-tenant configuration cache: saves through the API are used at once,
a load racing with an invalidation never stores a stale configuration, entries expire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from koppel.common.app import create_service_app
from koppel.common.bus.base import Delivery
from koppel.common.bus.memory import InMemoryBus
from koppel.common.events import EntityRef, EntityType, OrderFetched
from koppel.common.runtime import ServiceRuntime
from koppel.common.settings import DEV_SERVICE_TOKEN
from koppel.mapper.app import SPEC
from koppel.mapper.config import MapperSettings
from koppel.mapper.service import LoadedConfigs, TenantConfig, loaded_of

from .samples import VALUE_MAPS, order_nl_company

BASE = "/internal/mapper/v1"
HEADERS = {"Authorization": f"Bearer {DEV_SERVICE_TOKEN}", "X-Koppel-Tenant": "t1"}


@pytest.fixture
async def started(tmp_path: Path) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    runtime = ServiceRuntime(
        SPEC, bus=InMemoryBus(), settings=MapperSettings(data_dir=tmp_path, log_json=False)
    )
    app = create_service_app(runtime)
    await runtime.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mapper")
    try:
        yield runtime, client
    finally:
        await client.aclose()
        await runtime.stop()


async def _map_one(runtime: ServiceRuntime) -> str:
    """Map one order through the handler; returns the target kind it was mapped to."""
    message = OrderFetched(
        tenant_id="t1",
        entity=EntityRef(type=EntityType.order, source_id="5b7e0c2e"),
        source=order_nl_company(),
        enrichment={"email": "info@bakkerijdevries.nl"},
    )
    binding = next(b for b in runtime.bindings if message.routing_key() in b.patterns)
    async with runtime.context.unit_of_work(message) as uow:
        await binding.handle(message, uow)
        kind: str = uow.pending[0].target_kind  # type: ignore[attr-defined]
    return kind


async def _save(client: httpx.AsyncClient, target_kind: str) -> None:
    settings: dict[str, Any] = {"shipping_article_numbers": ["VERZEND"], "target_kind": target_kind}
    response = await client.put(
        f"{BASE}/mappings/orders", json={"settings": settings, "fields": {}}, headers=HEADERS
    )
    assert response.status_code == 200, response.text


async def test_a_save_through_the_api_is_used_by_the_next_record(
    started: tuple[ServiceRuntime, httpx.AsyncClient],
) -> None:
    runtime, client = started
    for name, document in VALUE_MAPS.items():
        response = await client.put(f"{BASE}/value-maps/{name}", json=document, headers=HEADERS)
        assert response.status_code == 200, response.text
    await _save(client, "sales_order")
    assert await _map_one(runtime) == "sales_order"
    await _save(client, "sales_invoice")
    assert await _map_one(runtime) == "sales_invoice"


def _config() -> TenantConfig:
    return TenantConfig(mapping=object(), maps=object())  # type: ignore[arg-type]


def test_a_load_that_raced_an_invalidation_is_not_stored() -> None:
    loaded = LoadedConfigs(ttl=30.0)
    before = loaded.generation("t1")
    loaded.invalidate("t1")  # a save landed while the load was reading
    loaded.put("t1", "orders", _config(), before)
    assert loaded.get("t1", "orders") is None
    loaded.put("t1", "orders", _config(), loaded.generation("t1"))
    assert loaded.get("t1", "orders") is not None
    loaded.invalidate("t2")  # another tenant's save keeps ours
    assert loaded.get("t1", "orders") is not None
    loaded.invalidate()
    assert loaded.get("t1", "orders") is None


def test_entries_expire_after_the_ttl() -> None:
    now = [100.0]
    loaded = LoadedConfigs(ttl=30.0, clock=lambda: now[0])
    loaded.put("t1", "orders", _config(), loaded.generation("t1"))
    now[0] = 129.0
    assert loaded.get("t1", "orders") is not None
    now[0] = 130.5
    assert loaded.get("t1", "orders") is None


async def test_the_config_changed_event_drops_the_entry(
    started: tuple[ServiceRuntime, httpx.AsyncClient],
) -> None:
    from koppel.common.events import TenantConfigChanged

    runtime, _ = started
    loaded = loaded_of(runtime.context)
    loaded.put("t1", "orders", _config(), loaded.generation("t1"))
    message = TenantConfigChanged(tenant_id="t1", section="mapping:orders")
    binding = next(b for b in runtime.bindings if message.routing_key() in b.patterns)
    await runtime.deliver(binding, message, Delivery(1, False, message.routing_key()))
    assert loaded.get("t1", "orders") is None
