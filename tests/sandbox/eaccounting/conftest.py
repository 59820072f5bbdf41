"""Fixtures: a small seeded eAccounting sandbox on a frozen clock, and authorised clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from koppel.sandbox.eaccounting import EAccountingSandboxSettings, SeedSizes, create_app

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SMALL = SeedSizes(customers=20, articles=30, unknown_articles=3, orders=40)


def make_settings(**overrides: Any) -> EAccountingSandboxSettings:
    values: dict[str, Any] = {"seed": 42, "sizes": SMALL, "start_time": T0}
    values.update(overrides)
    return EAccountingSandboxSettings(**values)


def make_app(**overrides: Any) -> Any:
    app = create_app(make_settings(**overrides))
    app.state.sandbox.clock.freeze(T0)
    return app


def asgi_client(app: Any, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox", headers=headers
    )


async def mint(app: Any, scope: str | None = None) -> dict[str, Any]:
    async with asgi_client(app) as c:
        response = await c.post("/_sandbox/tokens", json={"scope": scope} if scope else {})
        assert response.status_code == 200
        return dict(response.json())


@pytest.fixture
def app() -> Any:
    return make_app()


@pytest.fixture
async def api(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    token = (await mint(app))["access_token"]
    async with asgi_client(app, token) as client:
        yield client


@pytest.fixture
def client_for(app: Any) -> Callable[[str | None], httpx.AsyncClient]:
    return lambda token: asgi_client(app, token)
