"""The outbox is written in the handler's transaction and published by the relay."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from koppel.common.db import Database
from koppel.common.messages import parse_message, utcnow
from koppel.common.outbox import OutboxMessage, OutboxRelay
from koppel.common.uow import UnitOfWork

from .conftest import open_database
from .fakes import RecordingBus, Widget, event


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as s:
        return list(
            (await s.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))).scalars()
        )


async def widget_ids(db: Database) -> list[str]:
    async with db.session() as s:
        return sorted((await s.execute(select(Widget.id))).scalars())


async def test_state_and_outbox_commit_together(database: Database) -> None:
    message = event(1)
    async with UnitOfWork(database) as uow:
        uow.add(Widget(id="w1", tenant_id="t1"))
        uow.publish(message)
        await uow.commit()

    rows = await outbox_rows(database)
    assert await widget_ids(database) == ["w1"]
    assert [r.message_id for r in rows] == [message.message_id]
    assert rows[0].routing_key == "event.tenant_config_changed.v1"
    assert rows[0].published_at is None
    assert parse_message(rows[0].routing_key, rows[0].body) == message


async def test_outbox_rows_roll_back_with_a_failed_state_change(database: Database) -> None:
    # Given a widget that exists
    async with UnitOfWork(database) as uow:
        uow.add(Widget(id="w1", tenant_id="t1"))
        await uow.commit()
    # When a unit of work publishes and then fails on its own state change
    async with UnitOfWork(database) as uow:
        uow.publish(event(2))
        uow.add(Widget(id="w1", tenant_id="t1"))  # duplicate primary key
        with pytest.raises(IntegrityError):
            await uow.commit()
    # Then its outbox row is gone with it
    assert await outbox_rows(database) == []


async def test_nothing_is_written_without_commit(database: Database) -> None:
    async def failing_handler() -> None:
        async with UnitOfWork(database) as uow:
            uow.add(Widget(id="w1", tenant_id="t1"))
            uow.publish(event())
            raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError):
        await failing_handler()
    async with UnitOfWork(database) as uow:
        uow.add(Widget(id="w2", tenant_id="t1"))
    assert await widget_ids(database) == []
    assert await outbox_rows(database) == []


async def test_relay_publishes_pending_rows_in_order_and_marks_them(
    database: Database, bus: RecordingBus
) -> None:
    messages = [event(n) for n in range(5)]
    async with UnitOfWork(database) as uow:
        uow.publish(*messages)
        await uow.commit()
    relay = OutboxRelay(database, bus, batch_size=2)

    assert await relay.publish_pending() == 5
    assert await relay.publish_pending() == 0

    assert bus.published == messages
    rows = await outbox_rows(database)
    assert all(r.published_at is not None and r.attempts == 1 for r in rows)
    assert await relay.pending_count() == 0


async def test_crash_after_commit_before_publish_is_published_by_next_relay(
    db_target: tuple[str, str | None], database: Database, bus: RecordingBus
) -> None:
    # Given a commit in a "process" that dies before its relay ran
    message = event(7)
    async with UnitOfWork(database) as uow:  # no relay: nothing wakes, nothing publishes
        uow.publish(message)
        await uow.commit()
    await database.dispose()
    # When a new process opens the same database and starts its relay
    restarted = open_database(*db_target)
    relay = OutboxRelay(restarted, bus, poll_interval=3600)
    await relay.start()
    try:
        await asyncio.wait_for(bus.got_message.wait(), 30)
    finally:
        await relay.stop()
        await restarted.dispose()
    # Then the message is published (start runs a pass at once, not after the poll interval)
    assert bus.published == [message]


async def test_commit_wakes_a_running_relay(database: Database, bus: RecordingBus) -> None:
    relay = OutboxRelay(database, bus, poll_interval=3600)  # polling would take an hour
    await relay.start()
    try:
        await asyncio.sleep(0)  # the first (empty) pass
        async with UnitOfWork(database, on_commit=relay.wake) as uow:
            uow.publish(event())
            await uow.commit()
        await asyncio.wait_for(bus.got_message.wait(), 30)
    finally:
        await relay.stop()
    assert len(bus.published) == 1


async def test_failed_publish_keeps_rows_and_records_the_attempt(
    database: Database, bus: RecordingBus
) -> None:
    async with UnitOfWork(database) as uow:
        uow.publish(event())
        await uow.commit()
    relay = OutboxRelay(database, bus)
    bus.fail = True
    with pytest.raises(Exception, match="broker down"):
        await relay.publish_pending()
    [row] = await outbox_rows(database)
    assert row.published_at is None
    assert row.attempts == 1
    assert "broker down" in (row.last_error or "")

    bus.fail = False
    assert await relay.publish_pending() == 1
    [row] = await outbox_rows(database)
    assert row.published_at is not None
    assert row.last_error is None


async def test_unknown_routing_key_is_published_raw(database: Database, bus: RecordingBus) -> None:
    row = OutboxMessage.from_message(event())
    row.routing_key = "event.gone.v1"  # a message type this build no longer knows
    async with database.session() as s, s.begin():
        s.add(row)
    relay = OutboxRelay(database, bus)
    assert await relay.publish_pending() == 1
    assert [rk for rk, _, _ in bus.raw] == ["event.gone.v1"]


async def test_purge_deletes_only_old_published_rows(database: Database, bus: RecordingBus) -> None:
    async with UnitOfWork(database) as uow:
        uow.publish(event(1), event(2), event(3))
        await uow.commit()
    relay = OutboxRelay(database, bus, batch_size=2, retention=timedelta(hours=1))
    await relay.run_once()  # publishes rows 1 and 2
    async with database.session() as s, s.begin():
        first_id = (await outbox_rows(database))[0].id
        await s.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id) == first_id)
            .values(published_at=utcnow() - timedelta(hours=2))
        )
    purged, _ = await relay.purge()
    assert purged == 1
    rows = await outbox_rows(database)
    assert [r.published_at is None for r in rows] == [False, True]
