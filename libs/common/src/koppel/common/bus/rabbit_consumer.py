"""One subscription's consumer on RabbitMQ: its channel, prefetch, deliveries and settling.

Deliveries are taken straight from aiormq (aio-pika's ``IncomingMessage`` wrapper costs more
than decoding the body), so resuming after a reconnect is done here: aio-pika reopens the
robust channel, restores its prefetch, queues and bindings, then calls ``reopen_callbacks``,
where the consumer subscribes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aio_pika.abc import AbstractRobustChannel
from aiormq.abc import AbstractChannel, DeliveredMessage

from koppel.common.bus import headers as h
from koppel.common.bus.acks import AckBatcher
from koppel.common.bus.base import Subscription
from koppel.common.bus.handling import (
    OUTAGES,
    Ack,
    Outcome,
    RawDelivery,
    Retry,
    dead_letter_event,
    parked,
    parking_headers,
    process,
    retry_headers,
)

if TYPE_CHECKING:
    from koppel.common.bus.rabbit import RabbitBus

log = logging.getLogger(__name__)

SYSTEM = "rabbitmq"
# Set by the broker; never carried over when the bus republishes a message (a stale
# x-delivery-count on a retried copy would read as crashes that never happened).
BROKER_HEADERS = ("x-delivery-count", "x-death", "x-first-death-", "x-last-death-")


class RabbitConsumer:
    def __init__(
        self, bus: RabbitBus, subscription: Subscription, channel: AbstractRobustChannel
    ) -> None:
        self.bus = bus
        self.subscription = subscription
        self.channel = channel
        self.tag = f"{bus.connection_name}.{subscription.queue}"
        self.inflight: set[asyncio.Task[Any]] = set()
        self._acker: AckBatcher | None = None
        self._stopping = False

    async def start(self) -> None:
        self.channel.reopen_callbacks.add(self._resume)
        await self._consume()

    async def _resume(self, *_: Any) -> None:
        if not self._stopping:
            await self._consume()

    async def _consume(self) -> None:
        underlay = await self.channel.get_underlay_channel()
        await underlay.basic_consume(
            self.subscription.queue, self._on_delivery, no_ack=False, consumer_tag=self.tag
        )

    async def cancel(self) -> None:
        """Take no new deliveries (in-flight handlers go on and settle)."""
        self._stopping = True
        self.channel.reopen_callbacks.discard(self._resume)
        with contextlib.suppress(Exception):
            underlay = await self.channel.get_underlay_channel()
            await asyncio.wait_for(underlay.basic_cancel(self.tag), timeout=5)

    @property
    def closed(self) -> bool:
        return self.channel.is_closed

    def _acker_for(self, channel: AbstractChannel) -> AckBatcher:
        if self._acker is None or self._acker.channel is not channel:
            # A new channel after a reconnect: the old one's delivery tags died with it.
            self._acker = AckBatcher(channel)
        return self._acker

    async def _on_delivery(self, message: DeliveredMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.inflight.add(task)
        acker = self._acker_for(message.channel)
        tag = message.delivery.delivery_tag or 0  # type: ignore[union-attr]
        acker.delivered(tag)
        try:
            if self._stopping:
                return  # raced basic.cancel: unacknowledged, it goes to the next consumer
            raw = raw_delivery(self.subscription.queue, message)
            outcome = await process(self.subscription, raw, system=SYSTEM)
            await self._settle(raw, outcome)
            await acker.ack(tag)
        except asyncio.CancelledError:
            raise  # no ack: the broker redelivers it
        except Exception:
            log.exception(
                "could not settle a message of %s; it will be redelivered",
                self.subscription.queue,
            )
            acker.settled(tag)
            with contextlib.suppress(Exception):
                await message.channel.basic_nack(tag, requeue=True)
        finally:
            self.inflight.discard(task)

    async def _settle(self, raw: RawDelivery, outcome: Outcome) -> None:
        """Carry out a retry or a dead letter; the caller acknowledges afterwards."""
        bus, subscription = self.bus, self.subscription
        if isinstance(outcome, Retry):
            ms = delay_step_ms(outcome.delay * bus.time_scale)
            await bus.declare_delay_queue(ms)
            headers = retry_headers(raw, ms, outage=outcome.outage)
            await bus.republish(bus.delay_exchange_name, subscription.queue, raw, headers)
        elif not isinstance(outcome, Ack):
            dead = parked(subscription, raw, outcome)
            event = dead_letter_event(dead)
            if event is not None:
                # Announced before parked: once a parked copy is visible, so is its event.
                await bus.publish([event])
            queue = parking_queue(subscription.service)
            await bus.republish(bus.retry_exchange_name, queue, raw, parking_headers(dead))


def delay_step_ms(seconds: float) -> int:
    """Round a delay up to two significant digits, so ``Retry-After`` values reuse queues."""
    ms = max(1, math.ceil(round(seconds * 1000, 3)))
    step = 10 ** max(0, len(str(ms)) - 2)
    return int(math.ceil(ms / step) * step)


def parking_queue(service: str) -> str:
    return f"{service}.dead-letters"


def own_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    return {
        key: value
        for key, value in h.str_headers(headers).items()
        if not key.startswith(BROKER_HEADERS)
    }


def raw_delivery(queue: str, message: DeliveredMessage) -> RawDelivery:
    properties = message.header.properties
    headers = own_headers(properties.headers)
    # A quorum queue counts every return of an unsettled message, including all that a
    # SIGKILLed consumer had merely prefetched: crashes, kept apart from handler failures
    # (``x-koppel-attempt``) so that a replica killed a few times cannot use up a message's
    # retry budget (RetryPolicy.max_redeliveries bounds them instead).
    crashes = h.int_header(h.str_headers(properties.headers), "x-delivery-count", 0)
    redelivered = bool(getattr(message.delivery, "redelivered", False))
    return RawDelivery(
        queue=queue,
        # After a retry the message arrives by queue name; its own key is in the header.
        routing_key=headers.get(h.ROUTING_KEY) or message.routing_key or "",
        body=message.body,
        headers=headers,
        attempt=h.int_header(headers, h.ATTEMPT, 1),
        redelivered=redelivered or crashes > 0,
        message_id=properties.message_id,
        redeliveries=crashes,
        outages=h.int_header(headers, OUTAGES, 0),
    )
