"""The orders flow on the distributed transports: RabbitMQ and PostgreSQL (one schema per
service, random names, removed afterwards), same services and sandboxes as embedded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from koppel.orders.embedded import World, WorldOptions

from .expected import expected_outcomes
from .test_orders_e2e import assert_accountview_state, assert_outcomes, snapshot

pytestmark = [pytest.mark.connected, pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
async def distributed(database_url: str, amqp_url: str) -> AsyncIterator[World]:
    options = WorldOptions(orders=60, customers=25, amqp_url=amqp_url, database_url=database_url)
    async with World(options) as world:
        yield world


async def test_orders_sync_exactly_once_over_rabbitmq_and_postgresql(distributed: World) -> None:
    world = distributed
    expected = expected_outcomes(world)
    before = await snapshot(world)
    result = await world.run_orders()
    assert_outcomes(result, expected)
    await assert_accountview_state(world, result, expected, before)
    sweep = await world.run_orders(full_sweep=True)
    assert sweep.synced == []
    assert {s.entity.source_id for s in sweep.skipped} == expected.synced
