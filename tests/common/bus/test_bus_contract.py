"""The bus contract (``bus/base.py``), proved the same way on both transports."""

from __future__ import annotations

import asyncio

import pytest
from bus_harness import BusHarness, Recorder, eventually

from koppel.common.bus.base import Delivery
from koppel.common.bus.rabbit import RabbitBus
from koppel.common.commands import EnsureCustomer, ReplayMessage
from koppel.common.errors import TransientError
from koppel.common.events import (
    CustomerFetched,
    EntityRef,
    EntityType,
    MessageDeadLettered,
    OrderFetched,
    OrderSynced,
    TenantConfigChanged,
)
from koppel.common.messages import Message

DEAD = MessageDeadLettered.routing_key()


def order(number: str = "1001") -> OrderFetched:
    return OrderFetched(
        tenant_id="t1",
        entity=EntityRef(type=EntityType.order, source_id=number),
        source={"number": number},
    )


def config(section: str = "sentinel") -> TenantConfigChanged:
    return TenantConfigChanged(tenant_id="t1", section=section)


class TestRouting:
    async def test_delivers_by_amqp_topic_patterns(self, harness: BusHarness) -> None:
        # Given
        subs = {
            "hash": Recorder(),
            "star": Recorder(),
            "exact": Recorder(),
            "commands": Recorder(),
            "partial": Recorder(),
        }
        bus = await harness.started(
            harness.subscription("hash", ("event.#",), subs["hash"], prefetch=1),
            harness.subscription("star", ("event.*.v1",), subs["star"], prefetch=1),
            harness.subscription(
                "exact",
                ("event.order_fetched.v1", "event.order_synced.v1"),
                subs["exact"],
                prefetch=1,
            ),
            harness.subscription("commands", ("command.#",), subs["commands"], prefetch=1),
            # "order_*" is a literal word in AMQP, not a prefix match.
            harness.subscription("partial", ("event.order_*.v1",), subs["partial"], prefetch=1),
        )
        ref = EntityRef(type=EntityType.customer, source_id="c1")
        # When
        await bus.publish(
            [
                order(),
                CustomerFetched(tenant_id="t1", entity=ref, source={}),
                EnsureCustomer(tenant_id="t1", entity=ref, customer={}),
            ]
        )
        # Sentinels, published after the rest was confirmed: each queue is FIFO, so once a
        # queue's sentinel arrived, anything wrongly routed to it would have arrived too.
        await bus.publish(
            [
                OrderSynced(tenant_id="t1", entity=ref, target={}, debtor_number="1"),
                ReplayMessage(tenant_id="t1", original_routing_key="x", body="{}"),
            ]
        )
        synced, replay = OrderSynced.routing_key(), ReplayMessage.routing_key()
        for name in ("hash", "star", "exact"):
            await eventually(lambda n=name: synced in subs[n].keys(), what=name)
        await eventually(lambda: replay in subs["commands"].keys())
        # Then
        events = [OrderFetched.routing_key(), CustomerFetched.routing_key(), synced]
        assert subs["hash"].keys() == events
        assert subs["star"].keys() == events
        assert subs["exact"].keys() == [OrderFetched.routing_key(), synced]
        assert subs["commands"].keys() == [EnsureCustomer.routing_key(), replay]
        assert subs["partial"].keys() == []

    async def test_handler_gets_the_typed_message_and_delivery_facts(
        self, harness: BusHarness
    ) -> None:
        recorder = Recorder()
        bus = await harness.started(harness.subscription("typed", ("event.#",), recorder))
        sent = order("42")

        await bus.publish([sent])
        await eventually(lambda: len(recorder.calls) == 1)

        message, delivery = recorder.calls[0]
        assert isinstance(message, OrderFetched)
        assert message.model_dump(exclude={"traceparent"}) == sent.model_dump(
            exclude={"traceparent"}
        )
        assert delivery == Delivery(
            attempt=1, redelivered=False, routing_key=OrderFetched.routing_key()
        )


class TestAcknowledgement:
    async def test_handled_message_is_not_delivered_again(self, harness: BusHarness) -> None:
        # Given a message handled by one consumer, which then stops
        first, second = Recorder(), Recorder()
        bus = await harness.started(harness.subscription("ack", ("event.#",), first))
        handled = order()
        await bus.publish([handled])
        await eventually(lambda: len(first.calls) == 1)
        await bus.stop()
        # When the next consumer of the queue starts and a new message follows
        bus = await harness.started(harness.subscription("ack", ("event.#",), second))
        sentinel = config()
        await bus.publish([sentinel])
        await eventually(lambda: str(sentinel.message_id) in second.ids())
        # Then only the new message reached it
        assert second.ids() == [str(sentinel.message_id)]

    async def test_stop_waits_for_in_flight_handlers(self, harness: BusHarness) -> None:
        started, finished = asyncio.Event(), []

        async def slow(message: Message, delivery: Delivery) -> None:
            started.set()
            await asyncio.sleep(0.3)
            finished.append(message.message_id)

        recorder = Recorder()
        subscription = harness.subscription("graceful", ("event.#",), recorder)
        bus = await harness.started(harness.subscription("graceful", ("event.#",), slow))
        sent = order()
        await bus.publish([sent])
        await asyncio.wait_for(started.wait(), 15)

        await bus.stop(timeout=10)

        assert finished == [sent.message_id]
        assert not await bus.healthy()
        # ...and it was acknowledged: the next consumer sees only what comes after.
        bus = await harness.started(subscription)
        sentinel = config()
        await bus.publish([sentinel])
        await eventually(lambda: str(sentinel.message_id) in recorder.ids())
        assert recorder.ids() == [str(sentinel.message_id)]

    async def test_healthy_follows_the_lifecycle(self, harness: BusHarness) -> None:
        bus = harness.new_bus()
        bus.subscribe(harness.subscription("health", ("event.#",), Recorder()))
        assert not await bus.healthy()
        await bus.start()
        assert await bus.healthy()
        await bus.stop()
        assert not await bus.healthy()


class TestUnavailable:
    async def test_publishing_on_a_stopped_bus_raises_transient(self, harness: BusHarness) -> None:
        bus = await harness.started()
        await bus.stop()
        with pytest.raises(TransientError):
            await bus.publish([order()])
        with pytest.raises(TransientError):
            await bus.publish_raw(OrderFetched.routing_key(), b"{}")


async def test_rabbit_start_without_a_broker_raises_transient() -> None:
    bus = RabbitBus("amqp://guest:guest@127.0.0.1:1/", reconnect_interval=0.1)
    with pytest.raises(TransientError, match="cannot start"):
        await bus.start()
    assert not await bus.healthy()
