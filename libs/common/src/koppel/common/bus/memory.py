"""The embedded transport: the bus semantics of ``base.py`` inside one event loop.

``InMemoryBroker`` plays RabbitMQ (queues, bindings, delayed retries, parking lists) and
outlives any one ``InMemoryBus``, the client: a bus that stops (or "crashes", cancelling its
handlers) leaves unacknowledged messages in their queue for the next consumer, just as a
broker would.

Given a ``journal`` file (``koppel up`` uses ``<data_dir>/bus.db``), the broker is durable as
well: a publish returns only once its copies are committed to the SQLite journal
(``journal.py``), an ack deletes its row, a retry records its attempt and due time, parking
moves the row to the parked table, and the next broker opening the file puts back every
unacknowledged message (``redelivered``, attempt kept), re-arms the delayed retries and
lists the parked messages again: a killed process loses nothing. Without a journal nothing
is written and nothing is awaited (the fast test transport).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
from koppel.common.bus.journal import Journal, JournalRow
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
    jid: int | None = None  # its row in the journal (one per queue copy)
    recovered: bool = False  # read back from the journal after a restart


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
    """Queues, topic bindings, delayed retries and per-service parking lists.

    ``journal``: a SQLite file making all of it survive a crash (module docstring); call
    ``await open()`` before use (``InMemoryBus.start`` does) and ``await aclose()`` at the end.
    """

    def __init__(self, journal: Path | None = None) -> None:
        self._queues: dict[str, _Queue] = {}
        self._parked: dict[str, list[ParkedMessage]] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self.journal = Journal(journal) if journal is not None else None
        self._opened = False

    async def open(self) -> None:
        """Read the journal back (once): unacknowledged messages, due retries, parked ones."""
        if self._opened:
            return
        if self.journal is None:
            self._opened = True
            return
        recovered = await self.journal.open()
        self._opened = True
        now = time.time()
        for row in recovered.messages:
            # A queue known only from the journal keeps its messages until its consumer
            # declares it again (bindings are declared anew by every start).
            queue = self._queues.get(row.queue) or self.declare(row.queue, ())
            envelope = _recovered(row)
            if row.available_at > now:
                self.schedule(queue.name, envelope, row.available_at - now)
            else:
                queue.put(envelope)
        for message in recovered.parked:
            self._parked.setdefault(message.service, []).append(message)
        if recovered.messages or recovered.parked:
            log.info(
                "bus journal %s: %d unacknowledged and %d parked messages recovered",
                self.journal.path, len(recovered.messages), len(recovered.parked),
            )  # fmt: skip

    def declare(self, name: str, patterns: tuple[str, ...]) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = _Queue(name, patterns)
        else:
            queue.patterns = patterns
        return queue

    def route(self, envelope: _Envelope) -> asyncio.Future[None] | None:
        """Put a copy in every queue bound to the key; unroutable messages vanish (as AMQP).

        With a journal, returns the future of the commit holding the copies (the confirm)."""
        copies: list[tuple[_Queue, _Envelope]] = []
        for queue in self._queues.values():
            if any(topic_matches(p, envelope.routing_key) for p in queue.patterns):
                copies.append((queue, replace(envelope, headers=dict(envelope.headers))))
        journal = self.journal
        committed = None
        if journal is not None and copies:
            for index, (queue, copy) in enumerate(copies):
                copies[index] = (queue, replace(copy, jid=journal.new_id()))
            committed = journal.insert(
                [
                    (c.jid, q.name, c.routing_key, c.body, c.headers, c.message_id, c.attempt)
                    for q, c in copies
                    if c.jid is not None
                ]
            )
        # Consumers may take the copies at once: an ack queued behind the insert can only
        # be written after it (one writer, in order).
        for queue, copy in copies:
            queue.put(copy)
        return committed

    def schedule(self, queue: str, envelope: _Envelope, delay: float) -> None:
        loop = asyncio.get_running_loop()

        def due() -> None:
            self._timers.discard(handle)
            self._queues[queue].put(envelope)

        handle = loop.call_later(delay, due)
        self._timers.add(handle)

    def acked(self, envelope: _Envelope) -> None:
        if self.journal is not None and envelope.jid is not None:
            self.journal.delete(envelope.jid)

    def retry(self, queue: str, envelope: _Envelope, delay: float) -> None:
        if self.journal is not None and envelope.jid is not None:
            self.journal.retry(envelope.jid, envelope.attempt, envelope.headers, delay)
        self.schedule(queue, envelope, delay)

    def park(self, message: ParkedMessage, envelope: _Envelope | None = None) -> None:
        if self.journal is not None:
            self.journal.park(envelope.jid if envelope is not None else None, message)
        self._parked.setdefault(message.service, []).append(message)

    def dead_letters(self, service: str) -> list[ParkedMessage]:
        return list(self._parked.get(service, []))

    def depth(self, queue: str) -> int:
        return len(self._queues[queue].ready) if queue in self._queues else 0

    def delayed(self) -> int:
        """How many messages wait for a retry delay."""
        return len(self._timers)

    def close(self) -> None:
        """Drop pending retries (their event loop is going away)."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    async def aclose(self) -> None:
        """``close()``, then write what the journal still holds and close it."""
        self.close()
        if self.journal is not None and self._opened:
            self._opened = False
            await self.journal.close()
            # Memory was a copy of the file: the next open() reads it back from there.
            self._queues.clear()
            self._parked.clear()


def _recovered(row: JournalRow) -> _Envelope:
    return _Envelope(
        row.routing_key,
        row.body,
        row.headers,
        row.message_id,
        attempt=row.attempt,
        jid=row.id,
        recovered=True,
    )


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
                        _Envelope(
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
                _Envelope(routing_key, body, carried, carried.get(h.MESSAGE_ID))
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
        self, subscription: Subscription, raw: RawDelivery, outcome: Park, envelope: _Envelope
    ) -> None:
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
        # Not awaited: a crash before the commit only delivers the message again.
        self.broker.park(dead, envelope)
