"""Three gateway replicas on one PostgreSQL for a simulated hour: each due slot is published
exactly once, and 50 concurrent token requests through three replicas refresh once."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from koppel.common.db import Database
from koppel.common.messages import Flow
from koppel.common.outbox import OutboxMessage
from koppel.common.runtime import MESSAGING_TABLES
from koppel.common.uow import UnitOfWork
from koppel.gateway.adapters.oauth import OAuthClient, System
from koppel.gateway.adapters.probe import HttpProbe
from koppel.gateway.domain import Schedule
from koppel.gateway.models import TABLES, ConnectionRow, FlowRow, RunRow, TenantRow
from koppel.gateway.service import tokens
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.scheduler import Scheduler

from .conftest import make_settings
from .fakes import FakeClock, FakeTokenServer

pytestmark = pytest.mark.connected
SCHEDULES = [
    Schedule(interval_seconds=60),
    Schedule(interval_seconds=300),
    Schedule(cron="*/7 * * * *"),
    Schedule(interval_seconds=900),
]


@pytest.fixture
async def replicas(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[list[Gateway], FakeClock, FakeTokenServer]]:
    schema = "gw_test_" + secrets.token_hex(4)
    clock = FakeClock()
    server = FakeTokenServer(latency=0.05)
    settings = make_settings(tmp_path, database_url=database_url)
    databases = [
        Database(
            database_url, service="gateway", tables=[*TABLES, *MESSAGING_TABLES], schema=schema
        )
        for _ in range(3)
    ]
    await databases[0].create_all()
    http = server.client()
    gateways = [
        Gateway(
            settings=settings,
            box=settings.secret_box(),
            uow=lambda db=db: UnitOfWork(db),
            oauth=OAuthClient(http),
            probe=HttpProbe(http),
            dialect="postgresql",
            clock=clock,
        )
        for db in databases
    ]
    try:
        yield gateways, clock, server
    finally:
        await databases[0].drop_schema()
        for db in databases:
            await db.dispose()
        await http.aclose()


async def seed(gw: Gateway, clock: FakeClock) -> list[str]:
    """Eight flows of four tenants with different schedules."""
    ids = []
    async with gw.uow() as uow:
        for t in range(4):
            tenant_id = f"ten_{t}"
            uow.session.add(
                TenantRow(
                    id=tenant_id,
                    name=tenant_id,
                    webhook_secret_enc=gw.box.encrypt("s"),
                    created_at=clock(),
                    updated_at=clock(),
                )
            )
            for i, flow in enumerate((Flow.orders, Flow.stock)):
                schedule = SCHEDULES[(t + i) % len(SCHEDULES)]
                row = FlowRow(
                    id=f"flw_{t}_{flow.value}",
                    tenant_id=tenant_id,
                    flow=flow.value,
                    enabled=True,
                    interval_seconds=schedule.interval_seconds,
                    cron=schedule.cron,
                    next_run_at=schedule.next_after(clock()),
                    updated_at=clock(),
                )
                uow.session.add(row)
                ids.append(row.id)
        await uow.commit()
    return ids


def expected_slots(schedule: Schedule, start: object, end: object) -> int:
    count, due = 0, schedule.next_after(start)  # type: ignore[arg-type]
    while due <= end:  # type: ignore[operator]
        count += 1
        due = schedule.next_after(due)
    return count


async def test_three_schedulers_publish_each_due_slot_once(
    replicas: tuple[list[Gateway], FakeClock, FakeTokenServer],
) -> None:
    gateways, clock, _ = replicas
    await seed(gateways[0], clock)
    start = clock()
    schedulers = [Scheduler(gw) for gw in gateways]
    # A simulated hour in 20-second steps; the three replicas tick at the same moments.
    for step in range(180):
        clock.advance(20)
        await asyncio.gather(*(s.tick() for s in schedulers))
        if step % 5 == 4:  # runs finish now and then, so both Requested and Skipped happen
            async with gateways[0].uow() as uow:
                await uow.session.execute(sa.update(RunRow).values(status="succeeded"))
                await uow.commit()
    end = clock()
    async with gateways[0].uow() as uow:
        rows = [
            (m.routing_key, m.body)
            for m in (await uow.session.execute(sa.select(OutboxMessage))).scalars()
        ]
    published: Counter[tuple[str, str]] = Counter()
    kinds: Counter[str] = Counter()
    for routing_key, raw in rows:
        body = json.loads(raw)
        published[(body["tenant_id"], body["flow"])] += 1
        kinds[routing_key] += 1
    for t in range(4):
        for i, flow in enumerate(("orders", "stock")):
            schedule = SCHEDULES[(t + i) % len(SCHEDULES)]
            assert published[(f"ten_{t}", flow)] == expected_slots(schedule, start, end), (t, flow)
    fired = sum(s.requested + s.skipped for s in schedulers)
    print(
        f"\nscheduler: 3 replicas, 1 simulated hour, {fired} slots fired, by replica "
        f"{[s.requested + s.skipped for s in schedulers]}, {dict(kinds)}"
    )
    assert fired == len(rows)
    assert kinds["event.flow_run_requested.v1"] > 0
    assert kinds["event.flow_run_skipped.v1"] > 0
    assert end - start == timedelta(hours=1)


async def test_concurrent_refresh_through_three_replicas_is_single_flight(
    replicas: tuple[list[Gateway], FakeClock, FakeTokenServer],
) -> None:
    gateways, clock, server = replicas
    gw = gateways[0]
    async with gw.uow() as uow:
        uow.session.add(
            TenantRow(
                id="ten_x",
                name="x",
                webhook_secret_enc=gw.box.encrypt("s"),
                created_at=clock(),
                updated_at=clock(),
            )
        )
        uow.session.add(
            ConnectionRow(
                id="con_x",
                tenant_id="ten_x",
                system="eaccounting",
                api_base_url="http://ea.test/v2",
                auth_base_url="http://identity.test",
                client_id=server.client_id,
                client_secret_enc=gw.box.encrypt(server.client_secret),
                refresh_token_enc=gw.box.encrypt(server.issue_refresh_token()),
                status="connected",
                created_at=clock(),
                updated_at=clock(),
            )
        )
        await uow.commit()
    issued = await asyncio.gather(
        *(tokens.current_token(gateways[i % 3], "ten_x", System.eaccounting) for i in range(50))
    )
    print(
        f"\n50 concurrent token requests over 3 replicas (PostgreSQL row lock): refreshes={server.refreshes} reuse={server.reuse}"
    )
    assert server.refreshes == 1
    assert server.reuse == 0
    assert {t.access_token for t in issued} <= server.valid_access
    assert len({t.access_token for t in issued}) == 1
