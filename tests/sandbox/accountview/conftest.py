"""Fixtures for the AccountView sandbox contract tests: the app over real HTTP (ASGI transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from av_helpers import AV, make_settings

from koppel.sandbox.accountview import AccountViewSandboxSettings, create_app


@pytest.fixture
def settings() -> AccountViewSandboxSettings:
    chosen: AccountViewSandboxSettings = make_settings()
    return chosen


@pytest.fixture
async def av(settings: AccountViewSandboxSettings) -> AsyncIterator[AV]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://accountview.test") as http:
        client = AV(http, app)
        await client.login()
        yield client
