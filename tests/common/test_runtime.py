"""The service runtime on the in-process bus, and the app around it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from koppel.common.app import create_embedded_app, create_service_app
from koppel.common.bus.memory import InMemoryBus
from koppel.common.errors import PermanentError, TransientError
from koppel.common.events import ConnectionNeedsConsent, TenantConfigChanged
from koppel.common.messages import Message
from koppel.common.runtime import HandlerBinding, RuntimeGroup, ServiceRuntime, ServiceSpec
from koppel.common.settings import KoppelSettings
from koppel.common.uow import UnitOfWork


def settings_for(tmp_path: Path) -> KoppelSettings:
    return KoppelSettings(data_dir=tmp_path, time_scale=0.001, relay_poll_interval=0.05)


async def wait_for(predicate: Callable[[], bool]) -> None:
    """Poll until true; the suite's 60 s timeout bounds it."""
    while not predicate():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[[FastAPI], Awaitable[httpx.AsyncClient]]]:
    """Runs an app's lifespan and gives a client on it; everything is closed afterwards."""
    stack: list[tuple[FastAPI, httpx.AsyncClient, object]] = []

    async def open_client(app: FastAPI) -> httpx.AsyncClient:
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://koppel.test")
        stack.append((app, client, lifespan))
        return client

    yield open_client
    for _app, client, lifespan in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


def db_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".db")


class Item(BaseModel):
    sku: str = Field(min_length=1)
    quantity: int


def demo_routers(_ctx: object) -> list[APIRouter]:
    router = APIRouter(prefix="/internal/demo")

    @router.post("/items")
    async def create_item(item: Item) -> Item:
        return item

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    return [router]


async def test_embedded_services_exchange_messages_through_the_outbox(tmp_path: Path) -> None:
    # Given two services in one process on one bus, each with its own database
    received: list[Message] = []

    async def ask_consent(message: TenantConfigChanged, uow: UnitOfWork) -> None:
        uow.publish(message.follow_up(ConnectionNeedsConsent, system="eaccounting", reason="x"))

    async def remember(message: ConnectionNeedsConsent, uow: UnitOfWork) -> None:
        received.append(message)

    bus = InMemoryBus()
    settings = settings_for(tmp_path)
    first = ServiceSpec(
        "first", handlers=lambda _c: [HandlerBinding.on(TenantConfigChanged, handle=ask_consent)]
    )
    second = ServiceSpec(
        "second", handlers=lambda _c: [HandlerBinding.on(ConnectionNeedsConsent, handle=remember)]
    )
    group = RuntimeGroup(
        [ServiceRuntime(spec, bus=bus, settings=settings) for spec in (first, second)], bus
    )
    await group.start()
    try:
        # When the first one is asked
        trigger = TenantConfigChanged(tenant_id="t1", section="flow:orders")
        await bus.publish([trigger])
        await wait_for(lambda: bool(received))
    finally:
        await group.stop()
    # Then the second one got the follow-up, with the envelope carried over
    assert received[0].causation_id == trigger.message_id
    assert received[0].correlation_id == trigger.correlation_id
    assert db_files(tmp_path) == [
        "first.db",
        "second.db",
    ]


async def test_permanent_error_dead_letters_and_transient_is_retried(tmp_path: Path) -> None:
    attempts: dict[str, int] = {"permanent": 0, "transient": 0}

    async def refuse(message: TenantConfigChanged, uow: UnitOfWork) -> None:
        attempts["permanent"] += 1
        raise PermanentError("bad mapping", reason_code="bad_mapping")

    async def flaky(message: TenantConfigChanged, uow: UnitOfWork) -> None:
        attempts["transient"] += 1
        if attempts["transient"] < 3:
            raise TimeoutError("API timed out")

    bus = InMemoryBus()
    spec = ServiceSpec(
        "strict",
        handlers=lambda _c: [
            HandlerBinding.on(TenantConfigChanged, handle=refuse, name="refuse"),
            HandlerBinding.on(TenantConfigChanged, handle=flaky, name="flaky"),
        ],
    )
    runtime = ServiceRuntime(spec, bus=bus, settings=settings_for(tmp_path))
    await runtime.start()
    try:
        await bus.publish([TenantConfigChanged(tenant_id="t1", section="x")])
        await wait_for(lambda: attempts["transient"] == 3)
        parked = await bus.dead_letters("strict")
        while not parked:
            await asyncio.sleep(0.01)
            parked = await bus.dead_letters("strict")
    finally:
        await runtime.stop()
    assert attempts == {"permanent": 1, "transient": 3}
    assert [p.reason_code for p in parked] == ["bad_mapping"]


async def test_classified_failures_log_their_reason_and_surprises_their_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}

    async def handle(message: TenantConfigChanged, uow: UnitOfWork) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransientError("gateway down", reason_code="gateway_unreachable")
        if calls["n"] == 2:
            raise TransientError("AccountView busy", reason_code="remote_unavailable")
        if calls["n"] == 3:
            raise KeyError("surprise")

    bus = InMemoryBus()
    spec = ServiceSpec(
        "logs", handlers=lambda _c: [HandlerBinding.on(TenantConfigChanged, handle=handle)]
    )
    runtime = ServiceRuntime(spec, bus=bus, settings=settings_for(tmp_path))
    caplog.set_level(logging.INFO, logger="koppel.common.runtime")
    await runtime.start()
    try:
        await bus.publish([TenantConfigChanged(tenant_id="t1", section="x")])
        await wait_for(lambda: calls["n"] == 4)
    finally:
        await runtime.stop()
    failures = [r for r in caplog.records if r.getMessage().startswith("handler failed")]
    assert [(r.levelno, r.exc_info is not None) for r in failures] == [
        (logging.INFO, False),  # an outage waited out: routine, one line
        (logging.WARNING, False),  # a classified failure: its reason, no stack trace
        (logging.WARNING, True),  # a surprise keeps its traceback
    ]
    assert "remote_unavailable" in failures[1].getMessage()
    assert "AccountView busy" in failures[1].getMessage()


async def test_healthz_readyz_and_metrics(tmp_path: Path, client_for) -> None:  # type: ignore[no-untyped-def]
    handled = asyncio.Event()

    async def note(message: TenantConfigChanged, uow: UnitOfWork) -> None:
        handled.set()

    name = f"ops{uuid4().hex[:6]}"
    bus = InMemoryBus()
    spec = ServiceSpec(
        name, handlers=lambda _c: [HandlerBinding.on(TenantConfigChanged, handle=note)]
    )
    runtime = ServiceRuntime(spec, bus=bus, settings=settings_for(tmp_path))
    client = await client_for(create_service_app(runtime))

    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200

    await bus.publish([TenantConfigChanged(tenant_id="t1", section="x")])
    await asyncio.wait_for(handled.wait(), 30)
    line = f'koppel_messages_handled_total{{handler="note",outcome="ok",service="{name}"}} 1.0'
    metrics = ""
    while line not in metrics:  # the wrapper counts right after the handler returns
        await asyncio.sleep(0.01)
        metrics = (await client.get("/metrics")).text
    assert "koppel_handler_duration_seconds_bucket" in metrics

    await bus.stop()  # the bus is gone: not ready any more, still alive
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert (await client.get("/healthz")).status_code == 200


async def test_bad_input_is_a_problem_naming_the_field(tmp_path: Path, client_for) -> None:  # type: ignore[no-untyped-def]
    runtime = ServiceRuntime(
        ServiceSpec("demo", routers=demo_routers),
        bus=InMemoryBus(),
        settings=settings_for(tmp_path),
    )
    client = await client_for(create_service_app(runtime))

    response = await client.post("/internal/demo/items", json={"sku": "A1", "quantity": "many"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert [e["loc"] for e in problem["errors"]] == [["body", "quantity"]]

    not_json = await client.post(
        "/internal/demo/items", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    assert not_json.headers["content-type"] == "application/problem+json"

    missing = await client.get("/internal/demo/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["title"] == "Not Found"


async def test_unexpected_error_is_a_500_problem_without_internals(
    tmp_path: Path, client_for
) -> None:  # type: ignore[no-untyped-def]
    runtime = ServiceRuntime(
        ServiceSpec("demo", routers=demo_routers),
        bus=InMemoryBus(),
        settings=settings_for(tmp_path),
    )
    client = await client_for(create_service_app(runtime))

    response = await client.get("/internal/demo/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text


async def test_embedded_app_mounts_every_skeleton_service(tmp_path: Path, client_for) -> None:  # type: ignore[no-untyped-def]
    from koppel.catalog.app import SPEC as CATALOG
    from koppel.customers.app import SPEC as CUSTOMERS
    from koppel.notifier.app import SPEC as NOTIFIER
    from koppel.orders.app import SPEC as ORDERS

    bus = InMemoryBus()
    settings = settings_for(tmp_path)
    group = RuntimeGroup(
        [
            ServiceRuntime(s, bus=bus, settings=settings)
            for s in (ORDERS, CUSTOMERS, CATALOG, NOTIFIER)
        ],
        bus,
    )
    client = await client_for(create_embedded_app(group))
    token = {"Authorization": f"Bearer {settings.service_token.get_secret_value()}"}

    assert (await client.get("/readyz")).status_code == 200
    for name in ("orders", "customers", "catalog", "notifier"):
        info = await client.get(f"/internal/{name}/info", headers=token)
        assert info.status_code == 200
        assert info.json()["service"] == name
    refused = await client.get("/internal/orders/info", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401
