"""Connectors tested against the bundled sandboxes, in process (httpx.ASGITransport)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from koppel.connectors.accountview import AccountViewClient, AccountViewSettings
from koppel.connectors.common import RateLimiterRegistry, RecordingHook
from koppel.connectors.common.clock import Clock, SystemClock
from koppel.sandbox.accountview import AccountViewSandboxSettings, SeedSpec
from koppel.sandbox.accountview import create_app as create_av_app


class SandboxTokenProvider:
    """Test double of the gateway: mints tokens through the sandbox's admin endpoint."""

    def __init__(self, admin: httpx.AsyncClient, path: str = "/_sandbox/tokens") -> None:
        self.admin = admin
        self.path = path
        self.token: str | None = None
        self.calls = 0
        self.forced = 0

    async def access_token(self, connection_id: str, *, force_refresh: bool = False) -> str:
        self.calls += 1
        if force_refresh:
            self.forced += 1
        if self.token is None or force_refresh:
            response = await self.admin.post(self.path, json={})
            response.raise_for_status()
            self.token = response.json()["access_token"]
        return self.token


class Sandbox:
    """One in-process sandbox: its app, an admin client and a way to build connectors."""

    def __init__(self, app: Any, base: str) -> None:
        self.app = app
        self.transport = httpx.ASGITransport(app=app)
        self.base = base
        self.admin = httpx.AsyncClient(transport=self.transport, base_url=base)
        self.tokens = SandboxTokenProvider(self.admin)

    async def admin_json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.admin.request(method, path, **kw)
        response.raise_for_status()
        return response.json()

    async def faults(self, **config: Any) -> None:
        await self.admin_json("POST", "/_sandbox/faults", json=config)

    async def requests(self) -> Any:
        return await self.admin_json("GET", "/_sandbox/requests")


@pytest.fixture
async def av_sandbox() -> AsyncIterator[Sandbox]:
    settings = AccountViewSandboxSettings(
        seed=SeedSpec(articles=60, debtors=12, orders=2, invoices=1)
    )
    sandbox = Sandbox(create_av_app(settings), "http://accountview.test")
    yield sandbox
    await sandbox.admin.aclose()


def make_av_client(
    sandbox: Sandbox,
    *,
    clock: Clock | None = None,
    hooks: tuple[Any, ...] = (),
    **overrides: Any,
) -> AccountViewClient:
    values: dict[str, Any] = {
        "connection_id": f"av-{uuid.uuid4().hex[:8]}",
        "base_url": f"{sandbox.base}/api/v3",
        "company_code": "KOPPELDEMO",
        "ean_field": "BAR_CODE",
        "backoff_base_seconds": 0.01,
        "backoff_max_seconds": 0.05,
    }
    values.update(overrides)
    return AccountViewClient(
        AccountViewSettings(**values),
        sandbox.tokens,
        transport=sandbox.transport,
        registry=RateLimiterRegistry(clock=clock or SystemClock()),
        hooks=hooks,
    )


@pytest.fixture
async def av(av_sandbox: Sandbox) -> AsyncIterator[AccountViewClient]:
    client = make_av_client(av_sandbox)
    yield client
    await client.aclose()


@pytest.fixture
def recorder() -> RecordingHook:
    return RecordingHook()


# --- eAccounting -----------------------------------------------------------------------

from koppel.connectors.eaccounting import EAccountingClient, EAccountingSettings  # noqa: E402
from koppel.sandbox.eaccounting import EAccountingSandboxSettings, SeedSizes  # noqa: E402
from koppel.sandbox.eaccounting import create_app as create_ea_app  # noqa: E402


@pytest.fixture
async def ea_sandbox() -> AsyncIterator[Sandbox]:
    settings = EAccountingSandboxSettings(
        sizes=SeedSizes(customers=15, articles=40, unknown_articles=2, orders=30)
    )
    sandbox = Sandbox(create_ea_app(settings), "http://eaccounting.test")
    yield sandbox
    await sandbox.admin.aclose()


def make_ea_client(
    sandbox: Sandbox,
    *,
    clock: Clock | None = None,
    hooks: tuple[Any, ...] = (),
    registry: RateLimiterRegistry | None = None,
    **overrides: Any,
) -> EAccountingClient:
    values: dict[str, Any] = {
        "connection_id": f"ea-{uuid.uuid4().hex[:8]}",
        "base_url": f"{sandbox.base}/v2",
        "identity_url": sandbox.base,
        "backoff_base_seconds": 0.01,
        "backoff_max_seconds": 0.05,
    }
    values.update(overrides)
    return EAccountingClient(
        EAccountingSettings(**values),
        sandbox.tokens,
        transport=sandbox.transport,
        registry=registry or RateLimiterRegistry(clock=clock or SystemClock()),
        hooks=hooks,
    )


@pytest.fixture
async def ea(ea_sandbox: Sandbox, recorder: RecordingHook) -> AsyncIterator[EAccountingClient]:
    client = make_ea_client(ea_sandbox, hooks=(recorder,))
    yield client
    await client.aclose()
