"""The catalog's own connections (distributed mode): connector waits in ``KOPPEL_TIME_SCALE``.

The catalog built ``GatewayConnections(gateway)`` without the time scale, so a chaos run's
sandbox ``Retry-After: 30`` was slept in real seconds while everything else ran 50× faster.
Both with the per-process bucket (SQLite) and with the shared one (PostgreSQL's default,
forced on here over a SQLite file) the wait must be ``Retry-After × time_scale``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

import koppel.connectors.common.clock as clock_module
from connectors.fake_gateway import gateway_then_429_transport
from koppel.catalog import service
from koppel.catalog.config import CatalogSettings
from koppel.catalog.models import RateToken
from koppel.common.db import Database
from koppel.common.gateway_client import InternalGatewayClient
from koppel.common.runtime import ServiceContext
from koppel.connectors.common.sharedlimit import SharedRateLimiterRegistry
from koppel.connectors.tenants import GatewayConnections

TENANT = "ten_catalog_scale"


def _transport(calls: list[str]) -> httpx.MockTransport:
    return gateway_then_429_transport(calls, "a1")


@pytest.mark.parametrize("shared", [False, True])
async def test_retry_after_is_waited_in_the_service_time_scale(
    shared: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    time_scale = 0.01
    waits: list[float] = []

    class RecordingAsyncio:
        @staticmethod
        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            await asyncio.sleep(0)

    calls: list[str] = []
    transport = _transport(calls)
    monkeypatch.setattr(
        InternalGatewayClient,
        "from_settings",
        classmethod(lambda cls, _settings: cls("http://gateway.test", "t", transport=transport)),
    )
    settings = CatalogSettings(
        time_scale=time_scale, data_dir=tmp_path, catalog_shared_rate_limit=shared
    )
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}", service="catalog")
    await database.create_all([RateToken])
    ctx = cast(ServiceContext, SimpleNamespace(settings=settings, database=database, deps={}))
    connections = service.connections(ctx)
    assert isinstance(connections, GatewayConnections)
    connections.transport = transport
    assert isinstance(connections.registry, SharedRateLimiterRegistry) is shared
    monkeypatch.setattr(clock_module, "asyncio", RecordingAsyncio)
    try:
        client = await connections.eaccounting(TENANT)
        response: Any = await client.http.request("GET", "/articles/a1")
    finally:
        monkeypatch.undo()
        await service.stop(ctx)
        await database.dispose()
    assert response.status_code == 200
    assert len(calls) == 2  # the 429 was retried once, after its wait
    assert waits, "the Retry-After was not waited at all"
    assert max(waits) == pytest.approx(30.0 * time_scale, rel=0.1)
