"""Two relays (two replicas) on one PostgreSQL publish every row exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from koppel.common.db import Database
from koppel.common.outbox import OutboxRelay
from koppel.common.uow import UnitOfWork

from .conftest import open_database
from .fakes import RecordingBus, event

ROWS = 500


@pytest.mark.connected
async def test_two_relays_publish_every_row_exactly_once(database_url: str) -> None:
    from uuid import uuid4

    schema = f"t_{uuid4().hex[:12]}"
    writer = open_database(database_url, schema)
    replica_a, replica_b = open_database(database_url, schema), open_database(database_url, schema)
    try:
        await writer.create_all()
        for start in range(0, ROWS, 100):
            async with UnitOfWork(writer) as uow:
                uow.publish(*(event(n) for n in range(start, start + 100)))
                await uow.commit()
        bus_a, bus_b = RecordingBus(pause=0.002), RecordingBus(pause=0.002)
        relays = [
            OutboxRelay(replica_a, bus_a, batch_size=25),
            OutboxRelay(replica_b, bus_b, batch_size=25),
        ]

        await asyncio.gather(*(relay.publish_pending() for relay in relays))

        published = Counter(m.message_id for m in [*bus_a.published, *bus_b.published])
        assert len(published) == ROWS
        assert set(published.values()) == {1}
        # Both replicas took part (SKIP LOCKED split the work instead of serialising it).
        assert bus_a.published
        assert bus_b.published
        assert await relays[0].pending_count() == 0
    finally:
        await writer.drop_schema()
        for db in (writer, replica_a, replica_b):
            await db.dispose()


async def test_relay_stop_is_prompt_and_restartable(database: Database, bus: RecordingBus) -> None:
    relay = OutboxRelay(database, bus, poll_interval=3600)
    await relay.start()
    await relay.stop()
    assert not relay.running
    async with UnitOfWork(database) as uow:
        uow.publish(event())
        await uow.commit()
    await relay.start()
    await asyncio.wait_for(bus.got_message.wait(), 30)
    await relay.stop()
    assert len(bus.published) == 1
