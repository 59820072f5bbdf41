"""The embedded transport: the bus semantics of ``base.py`` inside one event loop.

``InMemoryBroker`` plays RabbitMQ (queues, bindings, delayed retries, parking lists) and
outlives any one ``InMemoryBus``, the client: a bus that stops (or "crashes", cancelling its
handlers) leaves unacknowledged messages in their queue for the next consumer, just as a
broker would. Nothing here is persistent; durability in embedded mode comes from the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial

from koppel.common.bus import headers as h
from koppel.common.bus.base import Subscription
from koppel.common.bus.handling import (
    Ack,
    Park,
    ParkedMessage,
    RawDelivery,
    Retry,
    dead_letter_event,
    parked,
    process,
    retry_headers,
)
from koppel.common.bus.topics import topic_matches
from koppel.common.errors import TransientError
from koppel.common.messages import Message, encode_message

log = logging.getLogger(__name__)

SYSTEM = "in-memory"


@dataclass
class _Envelope:
    routing_key: str
    body: bytes
    headers: dict[str, str]
    message_id: str | None
    attempt: int = 1  # retry-path attempt
    redeliveries: int = 0  # returns after a lost consumer


@dataclass
class _Queue:
    name: str
    patterns: tuple[str, ...]
    ready: deque[_Envelope] = field(default_factory=deque)
    nonempty: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, envelope: _Envelope, *, front: bool = False) -> None:
        (self.ready.appendleft if front else self.ready.append)(envelope)
        self.nonempty.set()

    async def get(self) -> _Envelope:
        while not self.ready:
            self.nonempty.clear()
            await self.nonempty.wait()
        return self.ready.popleft()


class InMemoryBroker:
    """Queues, topic bindings, delayed retries and per-service parking lists."""

    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}
        self._parked: dict[str, list[ParkedMessage]] = {}
        self._timers: set[asyncio.TimerHandle] = set()

    def declare(self, name: str, patterns: tuple[str, ...]) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = _Queue(name, patterns)
        else:
            queue.patterns = patterns
        return queue

    def route(self, envelope: _Envelope) -> int:
        """Put a copy in every queue bound to the key; unroutable messages vanish (as AMQP)."""
        routed = 0
        for queue in self._queues.values():
            if any(topic_matches(p, envelope.routing_key) for p in queue.patterns):
                queue.put(replace(envelope, headers=dict(envelope.headers)))
                routed += 1
        return routed

    def schedule(self, queue: str, envelope: _Envelope, delay: float) -> None:
        loop = asyncio.get_running_loop()

        def due() -> None:
            self._timers.discard(handle)
            self._queues[queue].put(envelope)

        handle = loop.call_later(delay, due)
        self._timers.add(handle)

    def park(self, message: ParkedMessage) -> None:
        self._parked.setdefault(message.service, []).append(message)

    def dead_letters(self, service: str) -> list[ParkedMessage]:
        return list(self._parked.get(service, []))

    def depth(self, queue: str) -> int:
        return len(self._queues[queue].ready) if queue in self._queues else 0

    def close(self) -> None:
        """Drop pending retries (their event loop is going away)."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()


class InMemoryBus:
    """The ``MessageBus`` of embedded mode.

    Args:
        time_scale: multiplies every retry delay (after the subscription's own
            ``RetryPolicy.time_scale``); ``0.01`` makes a 1 s retry take 10 ms.
        broker: share one broker between buses (e.g. a restarted bus picking up what the
            stopped one left unacknowledged); a private one by default.
    """

    def __init__(self, *, time_scale: float = 1.0, broker: InMemoryBroker | None = None) -> None:
        self.time_scale = time_scale
        self.broker = broker or InMemoryBroker()
        self._subscriptions: list[Subscription] = []
        self._consumers: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._running = False
        self._open = False  # publishing allowed: from start() to the end of stop()

    def subscribe(self, subscription: Subscription) -> None:
        if self._running:
            raise RuntimeError("subscribe before start()")
        if any(s.queue == subscription.queue for s in self._subscriptions):
            raise ValueError(f"queue {subscription.queue} already has a subscription")
        self._subscriptions.append(subscription)

    async def start(self) -> None:
        if self._running:
            return
        for subscription in self._subscriptions:
            queue = self.broker.declare(subscription.queue, subscription.patterns)
            self._consumers.append(asyncio.create_task(self._consume(subscription, queue)))
        self._running = self._open = True

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop taking deliveries; give in-flight handlers ``timeout`` s, then cancel them
        (their messages go back to the queue unacknowledged)."""
        self._running = False  # healthy() turns false; publishing stays open for the handlers
        for consumer in self._consumers:
            consumer.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        self._consumers.clear()
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight), timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._open = False

    async def publish(self, messages: Sequence[Message]) -> None:
        self._require_running()
        for message in messages:
            headers: dict[str, str] = {}
            span = h.start_publish_span(
                message.routing_key(), headers, system=SYSTEM, destination="memory",
                message=message,
            )  # fmt: skip
            with span:
                self.broker.route(
                    _Envelope(
                        message.routing_key(),
                        encode_message(message),
                        headers,
                        str(message.message_id),
                    )
                )

    async def publish_raw(
        self, routing_key: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self._require_running()
        carried = h.str_headers(headers)
        with h.start_publish_span(routing_key, carried, system=SYSTEM, destination="memory"):
            self.broker.route(_Envelope(routing_key, body, carried, carried.get(h.MESSAGE_ID)))

    async def healthy(self) -> bool:
        return self._running and all(not c.done() for c in self._consumers)

    async def dead_letters(self, service: str) -> list[ParkedMessage]:
        """The service's parked messages, oldest first (the broker keeps them)."""
        return self.broker.dead_letters(service)

    def simulate_connection_loss(self) -> None:
        """Fault injection for tests: cancel every in-flight handler as a dropped connection
        would; their messages are delivered again (``redelivered=True``)."""
        for task in list(self._inflight):
            task.cancel()

    def _require_running(self) -> None:
        if not self._open:
            raise TransientError("the in-memory bus is not running", reason_code="bus_down")

    async def _consume(self, subscription: Subscription, queue: _Queue) -> None:
        # prefetch = how many deliveries may be unacknowledged (in a handler) at once.
        slots = asyncio.Semaphore(subscription.prefetch)
        while True:
            await slots.acquire()
            try:
                envelope = await queue.get()
            except asyncio.CancelledError:
                slots.release()
                raise
            task = asyncio.create_task(self._deliver(subscription, queue, envelope))
            self._inflight.add(task)
            task.add_done_callback(partial(self._delivered, queue, envelope, slots))

    def _delivered(
        self, queue: _Queue, envelope: _Envelope, slots: asyncio.Semaphore, task: asyncio.Task[None]
    ) -> None:
        self._inflight.discard(task)
        slots.release()
        # Settled only when the task ran to its end. A task cancelled before it even started
        # (a lost "connection", stop()) or broken by a bug was never acknowledged: back to
        # the head of the queue, as a broker requeues what a dead consumer held.
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.error("delivery on %s failed", queue.name, exc_info=task.exception())
            queue.put(replace(envelope, redeliveries=envelope.redeliveries + 1), front=True)

    async def _deliver(
        self, subscription: Subscription, queue: _Queue, envelope: _Envelope
    ) -> None:
        raw = RawDelivery(
            queue=queue.name,
            routing_key=envelope.routing_key,
            body=envelope.body,
            headers=envelope.headers,
            attempt=envelope.attempt + envelope.redeliveries,
            redelivered=envelope.redeliveries > 0,
            message_id=envelope.message_id,
        )
        outcome = await process(subscription, raw, system=SYSTEM)
        if isinstance(outcome, Ack):
            return
        if isinstance(outcome, Retry):
            delay = outcome.delay * self.time_scale
            retried = replace(
                envelope,
                attempt=raw.attempt + 1,
                redeliveries=0,
                headers=retry_headers(raw, round(delay * 1000)),
            )
            self.broker.schedule(queue.name, retried, delay)
            return
        self._park(subscription, raw, outcome)

    def _park(self, subscription: Subscription, raw: RawDelivery, outcome: Park) -> None:
        dead = parked(subscription, raw, outcome)
        event = dead_letter_event(dead)
        if event is not None:
            headers: dict[str, str] = {}
            with h.start_publish_span(
                event.routing_key(), headers, system=SYSTEM, destination="memory", message=event
            ):
                self.broker.route(
                    _Envelope(
                        event.routing_key(), encode_message(event), headers, str(event.message_id)
                    )
                )
        self.broker.park(dead)
