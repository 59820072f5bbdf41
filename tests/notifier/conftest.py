"""A notifier on the in-process bus and its own SQLite file (or PostgreSQL schema), with a
fixed preferences source instead of the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from koppel.common.app import create_service_app
from koppel.common.bus.memory import InMemoryBus
from koppel.common.runtime import ServiceRuntime
from koppel.notifier.adapters.preferences import Preferences
from koppel.notifier.app import SPEC
from koppel.notifier.config import NotifierSettings

SERVICE_TOKEN = "notifier-test-token"


@dataclass
class Notifier:
    runtime: ServiceRuntime
    bus: InMemoryBus
    http: httpx.AsyncClient
    prefs: dict[str, Preferences]


@pytest.fixture
async def notifier(tmp_path: Path) -> AsyncIterator[Notifier]:
    settings = NotifierSettings(
        data_dir=tmp_path,
        time_scale=0.001,
        relay_poll_interval=0.05,
        service_token=SERVICE_TOKEN,
        purge_interval_seconds=3600,
    )
    bus = InMemoryBus()
    prefs: dict[str, Preferences] = {}

    async def preferences(tenant_id: str) -> Preferences:
        return prefs.get(tenant_id, Preferences())

    runtime = ServiceRuntime(SPEC, bus=bus, settings=settings)
    runtime.context["preferences"] = preferences
    app = create_service_app(runtime)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://notifier.test",
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
    )
    try:
        yield Notifier(runtime, bus, http, prefs)
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)
