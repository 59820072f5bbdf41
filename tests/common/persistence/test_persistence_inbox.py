"""A redelivered message changes nothing: the inbox row is part of the handler's transaction."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import select

from koppel.common.bus.base import Delivery
from koppel.common.db import Database
from koppel.common.events import TenantConfigChanged
from koppel.common.messages import Message
from koppel.common.outbox import OutboxMessage
from koppel.common.runtime import HandlerBinding, ServiceRuntime, ServiceSpec
from koppel.common.settings import KoppelSettings
from koppel.common.uow import UnitOfWork

from .fakes import RecordingBus, Widget, event


def delivery(attempt: int = 1) -> Delivery:
    return Delivery(
        attempt=attempt, redelivered=attempt > 1, routing_key="event.tenant_config_changed.v1"
    )


def runtime_with(database: Database, bus: RecordingBus, binding: HandlerBinding) -> ServiceRuntime:
    spec = ServiceSpec(name="svc", tables=[Widget], handlers=lambda _ctx: [binding])
    return ServiceRuntime(
        spec, bus=bus, database=database, settings=KoppelSettings(schema_mode="off")
    )


async def counts(db: Database) -> tuple[int, int]:
    async with db.session() as s:
        widgets = len((await s.execute(select(Widget))).all())
        outbox = len((await s.execute(select(OutboxMessage))).all())
    return widgets, outbox


async def add_widget_and_event(message: Message, uow: UnitOfWork) -> None:
    uow.add(Widget(id=uuid4().hex, tenant_id=message.tenant_id))
    uow.publish(message.follow_up(TenantConfigChanged, section="echo"))


async def test_redelivered_message_is_ignored(database: Database, bus: RecordingBus) -> None:
    binding = HandlerBinding.on(TenantConfigChanged, handle=add_widget_and_event, name="widgets")
    runtime = runtime_with(database, bus, binding)
    message = event()

    await runtime.deliver(binding, message, delivery(1))
    await runtime.deliver(binding, message, delivery(2))

    assert await counts(database) == (1, 1)


async def test_same_message_in_another_handler_is_handled_again(
    database: Database, bus: RecordingBus
) -> None:
    first = HandlerBinding.on(TenantConfigChanged, handle=add_widget_and_event, name="first")
    second = HandlerBinding.on(TenantConfigChanged, handle=add_widget_and_event, name="second")
    runtime = runtime_with(database, bus, first)
    message = event()

    await runtime.deliver(first, message, delivery())
    await runtime.deliver(second, message, delivery())

    assert await counts(database) == (2, 2)


async def test_concurrent_duplicate_deliveries_commit_once(
    database: Database, bus: RecordingBus
) -> None:
    # Both deliveries pass the inbox check before either commits; the inbox primary key
    # then rejects the second transaction as a whole (its widget and event included).
    both_checked = asyncio.Barrier(2)

    async def slow_handler(message: Message, uow: UnitOfWork) -> None:
        await both_checked.wait()
        await add_widget_and_event(message, uow)

    binding = HandlerBinding.on(TenantConfigChanged, handle=slow_handler, name="slow")
    runtime = runtime_with(database, bus, binding)
    message = event()

    await asyncio.gather(
        runtime.deliver(binding, message, delivery(1)),
        runtime.deliver(binding, message, delivery(2)),
    )

    assert await counts(database) == (1, 1)


async def test_failed_handler_leaves_no_inbox_row(database: Database, bus: RecordingBus) -> None:
    calls = 0

    async def flaky(message: Message, uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        await add_widget_and_event(message, uow)
        if calls == 1:
            raise RuntimeError("first attempt fails")

    binding = HandlerBinding.on(TenantConfigChanged, handle=flaky, name="flaky")
    runtime = runtime_with(database, bus, binding)
    message = event()

    with pytest.raises(RuntimeError):
        await runtime.deliver(binding, message, delivery(1))
    await runtime.deliver(binding, message, delivery(2))

    assert calls == 2
    assert await counts(database) == (1, 1)


async def test_a_commit_with_nothing_staged_opens_no_transaction(database: Database) -> None:
    # An inbox-less consumer that wrote its rows elsewhere (the notifier's batched log)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    sa_event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with UnitOfWork(database) as uow:
            await uow.commit()
            assert uow.committed
        # while anything staged still goes through its transaction
        async with UnitOfWork(database) as uow:
            uow.publish(event())
            await uow.commit()
    finally:
        sa_event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    assert len(statements) == 1
    assert statements[0].lstrip().upper().startswith("INSERT INTO OUTBOX")


async def test_sqlite_writers_wait_a_minute_for_the_write_lock(tmp_path: Path) -> None:
    # A burst keeps writers queued for SQLite's one write lock well past 10 s (see db.py)
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/busy.db", service="busy")
    try:
        async with database.engine.connect() as conn:
            pragmas = [
                (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("busy_timeout", "journal_mode")
            ]
    finally:
        await database.dispose()
    assert pragmas == [60_000, "wal"]
