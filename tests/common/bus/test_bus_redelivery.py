"""At-least-once when consumers die and connections drop, on both transports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bus_harness import BusHarness, Recorder, eventually

from koppel.common.bus.base import Delivery
from koppel.common.bus.rabbit import RabbitBus
from koppel.common.errors import TransientError
from koppel.common.events import EntityRef, EntityType, OrderFetched
from koppel.common.messages import Message

ORDERS = (OrderFetched.routing_key(),)


def order(number: str = "1001") -> OrderFetched:
    return OrderFetched(
        tenant_id="t1",
        entity=EntityRef(type=EntityType.order, source_id=number),
        source={"number": number},
    )


class Stuck:
    """A handler that never returns (a consumer about to crash)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def __call__(self, message: Message, delivery: Delivery) -> None:
        self.started.set()
        await asyncio.Event().wait()


async def test_unacknowledged_message_is_delivered_again_after_consumer_loss(
    harness: BusHarness,
) -> None:
    # Given a consumer stuck in its handler
    stuck = Stuck()
    bus = await harness.started(harness.subscription("crash", ORDERS, stuck))
    sent = order()
    await bus.publish([sent])
    await asyncio.wait_for(stuck.started.wait(), 15)
    # When it goes away without acknowledging (its handler is cancelled)
    await bus.stop(timeout=0.05)
    # Then the next consumer gets the message again, marked as a redelivery
    recorder = Recorder()
    await harness.started(harness.subscription("crash", ORDERS, recorder))
    await eventually(lambda: len(recorder.calls) == 1)
    message, delivery = recorder.calls[0]
    assert message.message_id == sent.message_id
    assert delivery.redelivered
    assert delivery.attempt == 2


async def test_message_that_keeps_killing_consumers_is_parked(harness: BusHarness) -> None:
    # Given a policy of a single attempt, no redelivery allowed, and a message whose
    # consumer dies
    stuck = Stuck()
    policy = {"delays": (), "max_redeliveries": 0}
    bus = await harness.started(harness.subscription("loop", ORDERS, stuck, **policy))
    await bus.publish([order()])
    await asyncio.wait_for(stuck.started.wait(), 15)
    await bus.stop(timeout=0.05)
    # When it comes back beyond what the policy allows
    recorder = Recorder()
    bus = await harness.started(harness.subscription("loop", ORDERS, recorder, **policy))
    # Then it is parked without running the handler again
    [dead] = await harness.parked(bus, "loop")
    assert dead.reason_code == "delivery_limit"
    assert dead.attempts == 2
    assert recorder.calls == []


async def test_connection_killed_mid_stream_loses_nothing(harness: BusHarness) -> None:
    # Given a consumer that keeps a few messages in flight at all times
    seen: set[str] = set()
    sent: list[OrderFetched] = []
    killed = asyncio.Event()

    async def handle(message: Message, delivery: Delivery) -> None:
        await asyncio.sleep(0.005)
        seen.add(str(message.message_id))

    bus = await harness.started(harness.subscription("chaos", ORDERS, handle, prefetch=20))

    async def publish_until_after_the_kill() -> None:
        after = 0
        while after < 20:
            batch = [order(str(len(sent) + n)) for n in range(10)]
            await bus.publish(batch)
            sent.extend(batch)
            after += killed.is_set()
            await asyncio.sleep(0.01)

    # When the broker connection is killed while publishing and consuming
    publisher = asyncio.create_task(publish_until_after_the_kill())
    await eventually(lambda: len(seen) >= 50, what="first 50 handled")
    await harness.kill_connection(bus)
    killed.set()
    await asyncio.wait_for(publisher, 30)
    # Then every message is handled (at least once) and the bus is healthy again
    await eventually(lambda: len(seen) == len(sent), timeout=30, what="all handled")
    assert seen == {str(m.message_id) for m in sent}
    await eventually(bus.healthy, what="healthy after reconnect")
    if isinstance(bus, RabbitBus):
        assert bus.reconnects >= 1


@pytest.fixture
async def rabbit(amqp_url: str) -> AsyncIterator[BusHarness]:
    harness = BusHarness("rabbit", amqp_url)
    try:
        yield harness
    finally:
        await harness.cleanup()


@pytest.mark.connected
async def test_rabbit_lost_consumers_do_not_use_up_the_retry_budget(rabbit: BusHarness) -> None:
    # Given a policy of two attempts, and a message whose first consumer died holding it
    # (RabbitMQ's x-delivery-count is 1 when it comes back)
    stuck = Stuck()
    bus = await rabbit.started(rabbit.subscription("budget", ORDERS, stuck, delays=(0.05,)))
    await bus.publish([order()])
    await asyncio.wait_for(stuck.started.wait(), 15)
    await bus.stop(timeout=0.05)
    # When the next consumer fails once on it (transiently), then succeeds
    recorder = Recorder(
        fail=lambda _m, d: TransientError("busy") if len(recorder.calls) == 1 else None
    )
    await rabbit.started(rabbit.subscription("budget", ORDERS, recorder, delays=(0.05,)))
    # Then it gets its two real attempts: the crash did not count as one
    await eventually(lambda: len(recorder.calls) == 2, what="retried once")
    assert [d.redelivered for _, d in recorder.calls] == [True, False]
    assert [d.attempt for _, d in recorder.calls] == [2, 2]


@pytest.mark.connected
async def test_rabbit_gateway_outage_retries_do_not_use_up_the_retry_budget(
    rabbit: BusHarness,
) -> None:
    # Given a policy of two attempts and a handler whose gateway is down for 5 deliveries
    def fail(_m: Message, _d: Delivery) -> BaseException | None:
        if len(recorder.calls) <= 5:
            return TransientError("gateway down", reason_code="gateway_unreachable")
        return None

    recorder = Recorder(fail=fail)
    bus = await rabbit.started(rabbit.subscription("outage", ORDERS, recorder, delays=(0.02,)))
    # When a message arrives
    await bus.publish([order()])
    # Then it is retried through the outage and handled, never parked
    await eventually(lambda: len(recorder.calls) == 6, what="handled after the outage")
    assert {d.attempt for _, d in recorder.calls} == {1}
    assert await bus.dead_letters(rabbit.service("outage")) == []
