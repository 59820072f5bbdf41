"""A replica that restarts with a full queue must not handle messages before its ``on_start``
hook has set its dependencies (found by the chaos suite: the notifier dead-lettered activity
with KeyError 'activity_writer')."""

from __future__ import annotations

import asyncio
from pathlib import Path

from koppel.common.bus.memory import InMemoryBus
from koppel.common.events import TenantConfigChanged
from koppel.common.runtime import HandlerBinding, ServiceContext, ServiceRuntime, ServiceSpec
from koppel.common.settings import KoppelSettings
from koppel.common.uow import UnitOfWork


async def test_deliveries_wait_for_on_start(tmp_path: Path) -> None:
    release = asyncio.Event()
    seen: list[str] = []

    async def on_start(ctx: ServiceContext) -> None:
        await release.wait()
        ctx["prefix"] = "ready"

    def bindings(ctx: ServiceContext) -> list[HandlerBinding]:
        async def handle(message: TenantConfigChanged, _uow: UnitOfWork) -> None:
            seen.append(f"{ctx['prefix']}:{message.section}")  # KeyError before on_start

        return [HandlerBinding.on(TenantConfigChanged, handle=handle)]

    spec = ServiceSpec(name="startup", handlers=bindings, on_start=on_start)
    bus = InMemoryBus()
    runtime = ServiceRuntime(
        spec, bus=bus, settings=KoppelSettings(data_dir=tmp_path, time_scale=0.001)
    )
    starting = asyncio.create_task(runtime.start())
    async with asyncio.timeout(10):
        while not await bus.healthy():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await bus.publish([TenantConfigChanged(tenant_id="t1", section="flow:orders")])
    await asyncio.sleep(0.2)
    assert seen == []  # held, not failed and retried

    release.set()
    await starting
    async with asyncio.timeout(10):
        while not seen:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await runtime.stop()
    assert seen == ["ready:flow:orders"]
    assert await bus.dead_letters("startup") == []
