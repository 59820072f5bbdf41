"""A gateway on SQLite and the in-memory bus, its HTTP API driven in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr

from koppel.common.app import create_service_app
from koppel.common.bus.memory import InMemoryBus
from koppel.common.outbox import OutboxMessage
from koppel.common.runtime import ServiceRuntime
from koppel.gateway.app import gateway_of, spec
from koppel.gateway.config import GatewaySettings
from koppel.gateway.crypto import generate_encryption_key
from koppel.gateway.service.context import Gateway

from .fakes import FakeClock, FakeTokenServer

ADMIN_KEY = "kpla_test-admin-key-0123456789abcdef0123456789"
SERVICE_TOKEN = "svc-token-0123456789abcdef"


def make_settings(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": tmp_path,
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/koppel.db",
        "admin_api_key": SecretStr(ADMIN_KEY),
        "encryption_keys": SecretStr(generate_encryption_key()),
        "service_token": SecretStr(SERVICE_TOKEN),
        "scheduler_enabled": False,
        "public_url": "http://127.0.0.1:8000",
        "log_json": False,
        "schema_mode": "create",
    }
    values.update(overrides)
    return GatewaySettings(**values)


@dataclass
class Harness:
    runtime: ServiceRuntime
    client: httpx.AsyncClient
    clock: FakeClock
    tokens: FakeTokenServer
    settings: GatewaySettings
    app: FastAPI

    @property
    def gw(self) -> Gateway:
        return gateway_of(self.runtime.context)

    @staticmethod
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(ADMIN_KEY)

    @property
    def service(self) -> dict[str, str]:
        return {"X-Koppel-Service-Token": SERVICE_TOKEN}

    async def create_tenant(self, name: str = "Bakkerij") -> dict[str, Any]:
        response = await self.client.post("/v1/tenants", json={"name": name}, headers=self.admin)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def outbox(self) -> list[OutboxMessage]:
        async with self.runtime.database.session() as session:
            return list(
                (
                    await session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id))
                ).scalars()
            )  # type: ignore[arg-type]

    async def published(self, routing_key_part: str) -> list[dict[str, Any]]:
        import json

        return [
            json.loads(m.body) for m in await self.outbox() if routing_key_part in m.routing_key
        ]


async def start_harness(
    tmp_path: Path, *, http: httpx.AsyncClient | None = None, **overrides: Any
) -> Harness:
    """``http``: where token requests and connection tests go (default: a fake token server)."""
    clock = FakeClock()
    tokens = FakeTokenServer()
    settings = make_settings(tmp_path, **overrides)
    runtime = ServiceRuntime(spec, bus=InMemoryBus(), settings=settings)
    runtime.context.deps["gateway.http"] = http or tokens.client()
    runtime.context.deps["gateway.clock"] = clock
    app = create_service_app(runtime)
    await runtime.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    return Harness(runtime, client, clock, tokens, settings, app)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await start_harness(tmp_path)
    try:
        yield harness
    finally:
        await harness.client.aclose()
        await harness.runtime.stop()
        await harness.runtime.context.deps["gateway.http"].aclose()
