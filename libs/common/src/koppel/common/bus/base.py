"""The one bus interface. Two transports implement it with the same behaviour:
``koppel.common.bus.memory.InMemoryBus`` (embedded mode, fast tests) and
``koppel.common.bus.rabbit.RabbitBus`` (distributed mode).

Semantics both guarantee (proved by the shared contract tests in ``tests/common/bus``):

* topic routing: a subscription receives every published message whose routing key matches
  one of its patterns (AMQP topic syntax: ``*`` one word, ``#`` zero or more words);
* at-least-once: a message is acknowledged only after its handler returned; a crash or a lost
  connection delivers it again;
* a handler raising ``TransientError`` (or any unexpected exception) is retried after the
  delays of the ``RetryPolicy`` (scaled by ``time_scale`` in tests); after the last delay, or
  when the broker's delivery limit is hit, the message is dead-lettered;
* a handler raising ``PermanentError`` (including ``MalformedMessage`` for a body that does not
  parse) is dead-lettered at once;
* a dead-lettered message keeps its body, original routing key, failure reason and attempt
  count, is parked in the service's dead-letter queue, and a ``MessageDeadLettered`` event is
  published so the notifier can list and replay it;
* ``stop()`` stops taking new deliveries and waits for in-flight handlers to finish.

Handlers never see the transport: they get the typed message and the ``Delivery`` facts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from koppel.common.messages import Message


@dataclass(frozen=True)
class Delivery:
    """What a handler may want to know about this delivery of a message."""

    attempt: int  # 1 on the first delivery
    redelivered: bool
    routing_key: str


MessageHandler = Callable[[Message, Delivery], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """Delays (seconds) before each retry; ``time_scale`` shrinks them in tests."""

    delays: tuple[float, ...] = (1.0, 10.0, 60.0, 300.0, 1800.0)
    time_scale: float = 1.0
    # How often a message may come back unsettled because its consumer died (a SIGKILLed
    # process returns everything it had prefetched, handled or not) before it is parked as
    # a probable poison message. Separate from ``delays``: a crash is not the record's fault.
    max_redeliveries: int = 20
    # Retries of an outage of our own infrastructure (``OUTAGE_REASONS`` in handling.py: the
    # gateway unreachable, the service not started) do not use up ``delays``; they wait at
    # most ``outage_delay_cap`` seconds each, ``max_outage_retries`` times (about an hour).
    max_outage_retries: int = 60
    outage_delay_cap: float = 60.0

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def delay_for(self, attempt: int, requested: float | None = None) -> float:
        """Delay after failed ``attempt`` (1-based); a remote ``Retry-After`` wins when longer."""
        base = self.delays[min(attempt, len(self.delays)) - 1]
        if requested is not None:
            base = max(base, requested)
        return base * self.time_scale

    def outage_delay(self, outage: int, requested: float | None = None) -> float:
        """Delay after the ``outage``-th (1-based) retry of an infrastructure outage: the
        policy's delays from the start, capped, so a short outage is waited out quickly; a
        ``Retry-After`` the failure asked for (a deferral's turn) wins when longer."""
        base = self.delays[min(outage, len(self.delays)) - 1] if self.delays else 1.0
        base = min(base, self.outage_delay_cap)
        if requested is not None:
            base = max(base, requested)
        return base * self.time_scale


@dataclass(frozen=True)
class Subscription:
    """One consuming handler: its own durable queue bound to ``patterns``.

    ``name`` is unique per service and names the queue: ``<service>.<name>``.
    """

    service: str
    name: str
    patterns: tuple[str, ...]
    handler: MessageHandler
    prefetch: int = 32
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def queue(self) -> str:
        return f"{self.service}.{self.name}"


class MessageBus(Protocol):
    """What services, the outbox relay and the tests use."""

    def subscribe(self, subscription: Subscription) -> None:
        """Register a consumer. Call before ``start``."""

    async def start(self) -> None:
        """Connect, declare exchanges and queues, start consuming."""

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop consuming, let in-flight handlers finish (up to ``timeout``), disconnect."""

    async def publish(self, messages: Sequence[Message]) -> None:
        """Publish persistently; returns once the transport confirmed every message."""

    async def publish_raw(
        self, routing_key: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        """Publish an arbitrary body (replay of a dead letter, fuzzing). Confirmed."""

    async def healthy(self) -> bool:
        """True while the transport can publish and consume."""
