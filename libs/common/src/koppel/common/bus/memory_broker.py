"""The embedded broker: queues, topic bindings, delayed retries, parking lists, and (given
a journal file) their durable copy. ``memory.py`` has the module overview and the client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

from koppel.common.bus.handling import ParkedMessage
from koppel.common.bus.journal import Journal, JournalRow
from koppel.common.bus.topics import topic_matches

log = logging.getLogger(__name__)


@dataclass
class Envelope:
    routing_key: str
    body: bytes
    headers: dict[str, str]
    message_id: str | None
    attempt: int = 1  # retry-path attempt
    redeliveries: int = 0  # returns after a lost consumer
    jid: int | None = None  # its row in the journal (one per queue copy)
    recovered: bool = False  # read back from the journal after a restart


@dataclass
class Queue:
    name: str
    patterns: tuple[str, ...]
    ready: deque[Envelope] = field(default_factory=deque)
    nonempty: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, envelope: Envelope, *, front: bool = False) -> None:
        (self.ready.appendleft if front else self.ready.append)(envelope)
        self.nonempty.set()

    async def get(self) -> Envelope:
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
        self._queues: dict[str, Queue] = {}
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

    def declare(self, name: str, patterns: tuple[str, ...]) -> Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = Queue(name, patterns)
        else:
            queue.patterns = patterns
        return queue

    def route(self, envelope: Envelope) -> asyncio.Future[None] | None:
        """Put a copy in every queue bound to the key; unroutable messages vanish (as AMQP).

        With a journal, returns the future of the commit holding the copies (the confirm)."""
        journal = self.journal
        copies: list[tuple[Queue, Envelope]] = []
        for queue in self._queues.values():
            if any(topic_matches(p, envelope.routing_key) for p in queue.patterns):
                jid = journal.new_id() if journal is not None else None
                copies.append((queue, replace(envelope, headers=dict(envelope.headers), jid=jid)))
        committed = None
        if journal is not None and copies:
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

    def schedule(self, queue: str, envelope: Envelope, delay: float) -> None:
        loop = asyncio.get_running_loop()

        def due() -> None:
            self._timers.discard(handle)
            self._queues[queue].put(envelope)

        handle = loop.call_later(delay, due)
        self._timers.add(handle)

    def acked(self, envelope: Envelope) -> None:
        if self.journal is not None and envelope.jid is not None:
            self.journal.delete(envelope.jid)

    def retry(self, queue: str, envelope: Envelope, delay: float) -> None:
        if self.journal is not None and envelope.jid is not None:
            self.journal.retry(envelope.jid, envelope.attempt, envelope.headers, delay)
        self.schedule(queue, envelope, delay)

    def park(self, message: ParkedMessage, envelope: Envelope | None = None) -> None:
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


def _recovered(row: JournalRow) -> Envelope:
    return Envelope(
        row.routing_key,
        row.body,
        row.headers,
        row.message_id,
        attempt=row.attempt,
        jid=row.id,
        recovered=True,
    )
