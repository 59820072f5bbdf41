"""The embedded transport: the bus semantics of ``base.py`` inside one event loop.

``InMemoryBroker`` plays RabbitMQ (queues, bindings, delayed retries, parking lists) and
outlives any one ``InMemoryBus``, the client: a bus that stops (or "crashes", cancelling its
handlers) leaves unacknowledged messages in their queue for the next consumer, just as a
broker would.

Given a ``journal`` file (``koppel up`` uses ``<data_dir>/bus.db``), the broker is durable as
well: a publish returns only once its copies are committed to the SQLite journal
(``journal.py``; the broker is in ``memory_broker.py``), an ack deletes its row, a retry records its attempt and due time, parking
moves the row to the parked table, and the next broker opening the file puts back every
unacknowledged message (``redelivered``, attempt kept), re-arms the delayed retries and
lists the parked messages again: a killed process loses nothing. Without a journal nothing
is written and nothing is awaited (the fast test transport).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

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
from koppel.common.bus.memory_broker import Envelope, InMemoryBroker, Queue
from koppel.common.errors import TransientError
from koppel.common.messages import Message, encode_message

log = logging.getLogger(__name__)

# The broker lives in memory_broker.py; callers keep importing both from here.
__all__ = ["SYSTEM", "InMemoryBroker", "InMemoryBus"]

SYSTEM = "in-memory"


class InMemoryBus:
    """The ``MessageBus`` of embedded mode.

    Args:
        time_scale: multiplies every retry delay (after the subscription's own
            ``RetryPolicy.time_scale``); ``0.01`` makes a 1 s retry take 10 ms.
        broker: share one broker between buses (e.g. a restarted bus picking up what the
            stopped one left unacknowledged); a private one by default.
        journal: the SQLite file of the private broker, making it durable (``koppel up``
            passes ``<data_dir>/bus.db``); the bus then closes the broker when it stops.
    """

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        broker: InMemoryBroker | None = None,
        journal: Path | None = None,
    ) -> None:
        if broker is not None and journal is not None:
            raise ValueError("pass a journal to the shared broker, not to the bus")
        self.time_scale = time_scale
        self._owns_broker = broker is None
        self.broker = broker or InMemoryBroker(journal=journal)
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
        await self.broker.open()
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
        if self._owns_broker:
            await self.broker.aclose()

    async def publish(self, messages: Sequence[Message]) -> None:
        self._require_running()
        committed: asyncio.Future[None] | None = None
        for message in messages:
            headers: dict[str, str] = {}
            span = h.start_publish_span(
                message.routing_key(), headers, system=SYSTEM, destination="memory",
                message=message,
            )  # fmt: skip
            with span:
                committed = (
                    self.broker.route(
                        Envelope(
                            message.routing_key(),
                            encode_message(message),
                            headers,
                            str(message.message_id),
                        )
                    )
                    or committed
                )
        if committed is not None:
            # The whole call went into the journal's pending batch (or batches, in order):
            # the last one's commit confirms all of them.
            await committed

    async def publish_raw(
        self, routing_key: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self._require_running()
        carried = h.str_headers(headers)
        with h.start_publish_span(routing_key, carried, system=SYSTEM, destination="memory"):
            committed = self.broker.route(
                Envelope(routing_key, body, carried, carried.get(h.MESSAGE_ID))
            )
        if committed is not None:
            await committed

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

    async def _consume(self, subscription: Subscription, queue: Queue) -> None:
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
        self, queue: Queue, envelope: Envelope, slots: asyncio.Semaphore, task: asyncio.Task[None]
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

    async def _deliver(self, subscription: Subscription, queue: Queue, envelope: Envelope) -> None:
        raw = RawDelivery(
            queue=queue.name,
            routing_key=envelope.routing_key,
            body=envelope.body,
            headers=envelope.headers,
            attempt=envelope.attempt + envelope.redeliveries,
            redelivered=envelope.redeliveries > 0 or envelope.recovered,
            message_id=envelope.message_id,
        )
        outcome = await process(subscription, raw, system=SYSTEM)
        if isinstance(outcome, Ack):
            self.broker.acked(envelope)
            return
        if isinstance(outcome, Retry):
            delay = outcome.delay * self.time_scale
            retried = replace(
                envelope,
                attempt=raw.attempt + 1,
                redeliveries=0,
                headers=retry_headers(raw, round(delay * 1000)),
                recovered=False,
            )
            self.broker.retry(queue.name, retried, delay)
            return
        self._park(subscription, raw, outcome, envelope)

    def _park(
        self, subscription: Subscription, raw: RawDelivery, outcome: Park, envelope: Envelope
    ) -> None:
        dead = parked(subscription, raw, outcome)
        event = dead_letter_event(dead)
        if event is not None:
            headers: dict[str, str] = {}
            with h.start_publish_span(
                event.routing_key(), headers, system=SYSTEM, destination="memory", message=event
            ):
                self.broker.route(
                    Envelope(
                        event.routing_key(), encode_message(event), headers, str(event.message_id)
                    )
                )
        # Not awaited: a crash before the commit only delivers the message again.
        self.broker.park(dead, envelope)
