"""A gateway alone (SQLite, in-memory bus) with its /app pages, driven in-process by httpx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from koppel.common.app import create_service_app
from koppel.common.bus.memory import InMemoryBus
from koppel.common.runtime import ServiceRuntime
from koppel.gateway.app import spec
from koppel.gateway.config import GatewaySettings
from koppel.gateway.crypto import generate_encryption_key

ADMIN_KEY = "kpla_web-test-admin-key-0123456789abcdef012345"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class WebHarness:
    CSRF_RE = CSRF
    runtime: ServiceRuntime
    transport: httpx.ASGITransport

    def browser(self, **headers: str) -> httpx.AsyncClient:
        """A fresh "browser": its own cookie jar, following no redirects by itself."""
        return httpx.AsyncClient(
            transport=self.transport, base_url="http://127.0.0.1:8000", headers=headers
        )

    async def create_tenant(self, name: str) -> dict[str, Any]:
        async with self.browser() as api:
            response = await api.post(
                "/v1/tenants",
                json={"name": name},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    @staticmethod
    async def csrf_of(browser: httpx.AsyncClient, path: str = "/app/login") -> str:
        page = await browser.get(path)
        assert page.status_code == 200, page.text
        found = CSRF.search(page.text)
        assert found is not None
        return found.group(1)

    async def sign_in(self, browser: httpx.AsyncClient, key: str) -> httpx.Response:
        token = await self.csrf_of(browser)
        return await browser.post(
            "/app/login", data={"csrf": token, "api_key": key, "next": "/app"}
        )


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[WebHarness]:
    settings = GatewaySettings(
        environment="test",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/koppel.db",
        admin_api_key=SecretStr(ADMIN_KEY),
        encryption_keys=SecretStr(generate_encryption_key()),
        scheduler_enabled=False,
        public_url="http://127.0.0.1:8000",
        log_json=False,
        schema_mode="create",
    )
    runtime = ServiceRuntime(spec, bus=InMemoryBus(), settings=settings)
    runtime.context.deps["gateway.http"] = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _r: httpx.Response(503))
    )
    app = create_service_app(runtime)
    await runtime.start()
    try:
        yield WebHarness(runtime, httpx.ASGITransport(app=app))
    finally:
        await runtime.stop()
        await runtime.context.deps["gateway.http"].aclose()
