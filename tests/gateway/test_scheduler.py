"""The scheduler: due flows get one FlowRunRequested per slot; busy flows a FlowRunSkipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from koppel.common.events import FlowRunRequested
from koppel.gateway.service.scheduler import Scheduler

from .conftest import Harness
from .test_flows import enable


async def schedule_messages(h: Harness) -> list[tuple[str, dict[str, Any]]]:
    return [
        (m.routing_key, json.loads(m.body))
        for m in await h.outbox()
        if "flow_run_" in m.routing_key
    ]


class TestScheduler:
    async def test_due_flow_is_requested_once_per_slot(self, h: Harness) -> None:
        tenant_id = (await h.create_tenant())["tenant"]["id"]
        key = h.auth(
            (
                await h.client.post(f"/v1/tenants/{tenant_id}/api-keys", json={}, headers=h.admin)
            ).json()["key"]
        )
        await enable(h, key, "stock", interval_seconds=600)
        scheduler = Scheduler(h.gw)
        assert await scheduler.tick() == 0
        h.clock.advance(600)
        assert await scheduler.tick() == 1
        assert await scheduler.tick() == 0  # the slot is taken
        messages = await schedule_messages(h)
        assert [rk for rk, _ in messages] == [FlowRunRequested.routing_key()]
        assert messages[0][1]["trigger"] == "schedule"
        run = (await h.client.get(f"/v1/runs/{messages[0][1]['run_id']}", headers=key)).json()
        assert run["trigger"] == "schedule"

    async def test_busy_flow_is_skipped_and_missed_slots_are_not_made_up(self, h: Harness) -> None:
        created = await h.create_tenant()
        key = h.auth(created["api_key"])
        await enable(h, key, "orders", interval_seconds=60)
        scheduler = Scheduler(h.gw)
        h.clock.advance(60)
        await scheduler.tick()
        h.clock.advance(600)  # ten slots pass while the first run is still going
        assert await scheduler.tick() == 1
        kinds = [rk.split(".")[1] for rk, _ in await schedule_messages(h)]
        assert kinds == ["flow_run_requested", "flow_run_skipped"]
        flow = (await h.client.get("/v1/flows/orders", headers=key)).json()
        assert flow["next_run_at"] == "2026-01-05T09:12:00Z"  # phase kept: 09:01 + 11 slots

    async def test_disabled_and_unscheduled_flows_never_run(self, h: Harness) -> None:
        key = h.auth((await h.create_tenant())["api_key"])
        await enable(h, key, "orders", interval_seconds=60)
        await h.client.put(
            "/v1/flows/orders",
            json={"enabled": False, "schedule": {"interval_seconds": 60}},
            headers=key,
        )
        await h.client.put("/v1/flows/stock", json={"enabled": True}, headers=key)
        h.clock.advance(3600)
        assert await Scheduler(h.gw).tick() == 0
        assert await schedule_messages(h) == []

    async def test_runs_in_the_service_loop(self, tmp_path: Path) -> None:
        import asyncio

        from .conftest import start_harness

        harness = await start_harness(tmp_path, scheduler_enabled=True, scheduler_tick_seconds=0.01)
        try:
            key = harness.auth((await harness.create_tenant())["api_key"])
            await enable(harness, key, "stock", interval_seconds=60)
            harness.clock.advance(61)
            for _ in range(300):
                if await schedule_messages(harness):
                    break
                await asyncio.sleep(0.01)
            assert len(await schedule_messages(harness)) == 1
        finally:
            await harness.client.aclose()
            await harness.runtime.stop()
            await harness.runtime.context.deps["gateway.http"].aclose()
