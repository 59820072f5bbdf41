"""One run's outcomes through three gateway replicas on one PostgreSQL, many at once: every
record counted exactly once (redeliveries, a failure racing its record's success), and the
run closed exactly once when the last count arrives, whichever replica brings it."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from koppel.common import events as ev
from koppel.common.bus.memory import InMemoryBus
from koppel.common.db import Database
from koppel.common.messages import Flow, Message
from koppel.common.runtime import ServiceRuntime
from koppel.gateway.app import gateway_of, spec
from koppel.gateway.models import RunRecordRow, RunRow

from .conftest import make_settings
from .test_run_counting import deliver, failed
from .test_run_dead_letters import synced

pytestmark = pytest.mark.connected
RECORDS = 300


@pytest.fixture
async def replicas(database_url: str, tmp_path: Path) -> AsyncIterator[list[ServiceRuntime]]:
    schema = "gw_test_" + secrets.token_hex(4)
    settings = make_settings(tmp_path, database_url=database_url)
    runtimes = [
        ServiceRuntime(
            spec,
            bus=InMemoryBus(),
            settings=settings,
            database=Database(
                database_url, service="gateway", tables=spec.all_tables, schema=schema
            ),
        )
        for _ in range(3)
    ]
    http = httpx.AsyncClient()
    try:
        for runtime in runtimes:  # one after the other: the first creates the tables
            runtime.context.deps["gateway.http"] = http
            await runtime.prepare()
            gateway_of(runtime.context)
        yield runtimes
    finally:
        await runtimes[0].database.drop_schema()
        for runtime in runtimes:
            await runtime.database.dispose()
        await http.aclose()


async def test_concurrent_outcomes_of_one_run_count_exactly(
    replicas: list[ServiceRuntime],
) -> None:
    env = {"tenant_id": "ten_pg", "flow": Flow.orders, "run_id": uuid4()}
    await deliver(replicas[0], ev.FlowRunRequested(**env, trigger=ev.RunTrigger.manual))
    records = [uuid4() for _ in range(RECORDS)]
    messages: list[Message] = [ev.FlowRunFetched(**env, fetched=RECORDS)]
    for n, record in enumerate(records):
        if n % 10 == 0:  # stays failed, reported twice
            messages += [failed(env, n, record), failed(env, n, record)]
        elif n % 10 == 1:  # fails, and its retry succeeds: both in flight at once
            messages += [failed(env, n, record), synced(env, n, record)]
        else:
            success = synced(env, n, record)
            messages += [success, success]  # one redelivery each
    random.Random(7).shuffle(messages)
    gates = [asyncio.Semaphore(32) for _ in replicas]  # each replica's prefetch

    async def one(i: int, message: Message) -> None:
        async with gates[i % len(replicas)]:
            await deliver(replicas[i % len(replicas)], message)

    results = await asyncio.gather(
        *(one(i, m) for i, m in enumerate(messages)), return_exceptions=True
    )
    # No retries needed: racing deliveries of one record wait for each other, not fail.
    assert [r for r in results if r is not None] == []

    async with replicas[0].database.session() as session:
        run = await session.get(RunRow, str(env["run_id"]))
        outcomes = dict(
            (
                await session.execute(
                    sa.select(RunRecordRow.outcome, sa.func.count()).group_by(RunRecordRow.outcome)
                )
            ).all()
        )
    assert run is not None
    assert (run.fetched, run.synced, run.skipped, run.failed) == (RECORDS, 270, 0, 30)
    assert outcomes == {"synced": 270, "failed": 30}
    assert run.status == "partially_failed"
    assert run.ended_at is not None
