"""The distributed transport: RabbitMQ through aio-pika.

Topology (``<x>`` is the ``exchange`` argument, ``koppel`` by default):

* ``<x>`` — durable topic exchange every message is published to;
* ``<service>.<name>`` — one durable quorum queue per ``Subscription``, bound to ``<x>`` by its
  patterns and to ``<x>.retry`` by its own name, with ``x-delivery-limit`` and dead-lettering
  to the service's parking queue as a backstop for consumers that die on a message;
* ``<x>.delay`` (headers exchange) → ``<x>.delay.<ms>`` — one classic queue per delay step with
  ``x-message-ttl``; expired messages dead-letter into ``<x>.retry`` (direct) with the routing
  key they were published with, which is the name of the queue to go back to;
* ``<service>.dead-letters`` — the parking queue (quorum), bound to ``<x>.retry`` by its name.

Retries never wait in a consumer slot: the failed delivery is republished to a delay queue
(attempt count in ``x-koppel-attempt``) and acknowledged once the broker confirmed that copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)

from koppel.common.bus import headers as h
from koppel.common.bus.base import Subscription
from koppel.common.bus.handling import ParkedMessage, RawDelivery, from_parking_headers
from koppel.common.bus.rabbit_consumer import (
    RabbitConsumer,
    delay_step_ms,
    own_headers,
    parking_queue,
)
from koppel.common.bus.rabbit_publish import Outgoing, amqp_properties, publish_confirmed
from koppel.common.bus.transport import CoalescingRobustConnection
from koppel.common.errors import TransientError
from koppel.common.messages import Message, encode_message

__all__ = ["RabbitBus", "delay_step_ms", "parking_queue"]

log = logging.getLogger(__name__)

SYSTEM = "rabbitmq"


class RabbitBus:
    """The ``MessageBus`` of distributed mode.

    Args:
        url: AMQP URL, e.g. ``amqp://guest:guest@127.0.0.1:5672/``.
        exchange: name of the topic exchange; also prefixes ``.retry``, ``.delay`` and the
            delay queues, so tests can run side by side on one broker.
        time_scale: multiplies every retry delay (after the policy's own ``time_scale``).
        publish_timeout: how long ``publish`` keeps trying (waiting out a reconnect and
            republishing what was not confirmed) before it raises ``TransientError``.
        publish_window: how many publishes may await their confirmation at once.
        reconnect_interval: seconds between reconnection attempts.
        connection_name: shown by ``rabbitmqctl list_connections``; random by default.
        coalesce_writes: gather the frames written within a millisecond into one socket
            write (see ``transport.py``); off only to compare.
    """

    def __init__(
        self,
        url: str,
        *,
        exchange: str = "koppel",
        time_scale: float = 1.0,
        publish_timeout: float = 30.0,
        publish_window: int = 1000,
        reconnect_interval: float = 1.0,
        connection_name: str | None = None,
        coalesce_writes: bool = True,
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.retry_exchange_name = f"{exchange}.retry"
        self.delay_exchange_name = f"{exchange}.delay"
        self.time_scale = time_scale
        self.publish_timeout = publish_timeout
        self.publish_window = publish_window
        self.reconnect_interval = reconnect_interval
        self.connection_name = connection_name or f"koppel-{exchange}-{uuid4().hex[:8]}"
        self.declared_queues: set[str] = set()
        self.coalesce_writes = coalesce_writes
        self.reconnects = 0  # how often the connection came back after a loss
        self._subscriptions: list[Subscription] = []
        self._connection: AbstractRobustConnection | None = None  # consumers
        # Publishing has its own connection: when RabbitMQ throttles publishers (flow
        # control blocks a connection), the consumers' acks must still get through.
        self._publisher: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None  # publishing, with confirms
        self._exchanges: dict[str, AbstractExchange] = {}
        self._consumers: list[RabbitConsumer] = []
        self._delay_lock = asyncio.Lock()
        self._stopping = False

    def subscribe(self, subscription: Subscription) -> None:
        if self._connection is not None:
            raise RuntimeError("subscribe before start()")
        if any(s.queue == subscription.queue for s in self._subscriptions):
            raise ValueError(f"queue {subscription.queue} already has a subscription")
        self._subscriptions.append(subscription)

    async def start(self) -> None:
        """Connect, declare the topology, start consuming.

        Raises ``TransientError`` when the broker cannot be reached (the caller retries).
        """
        if self._connection is not None:
            return
        self._stopping = False
        try:
            await self._start()
        except Exception as exc:
            await self.stop(timeout=0)
            raise TransientError(
                f"cannot start the RabbitMQ bus: {exc!r}", reason_code="bus_down"
            ) from exc

    async def _start(self) -> None:
        self._connection = await self._connect(self.connection_name)
        self._publisher = await self._connect(f"{self.connection_name}.publish")
        channel = self._channel = await self._publisher.channel(publisher_confirms=True)
        durable: dict[str, Any] = {"durable": True}
        self._exchanges = {
            self.exchange_name: await channel.declare_exchange(
                self.exchange_name, aio_pika.ExchangeType.TOPIC, **durable
            ),
            self.retry_exchange_name: await channel.declare_exchange(
                self.retry_exchange_name, aio_pika.ExchangeType.DIRECT, **durable
            ),
            self.delay_exchange_name: await channel.declare_exchange(
                self.delay_exchange_name, aio_pika.ExchangeType.HEADERS, **durable
            ),
        }
        for subscription in self._subscriptions:
            await self._start_consumer(subscription)

    async def _connect(self, name: str) -> AbstractRobustConnection:
        connection = await aio_pika.connect_robust(
            self.url,
            client_properties={"connection_name": name},
            reconnect_interval=self.reconnect_interval,
            connection_class=(
                CoalescingRobustConnection if self.coalesce_writes else aio_pika.RobustConnection
            ),
        )
        connection.reconnect_callbacks.add(self._on_reconnect)
        return connection

    def _on_reconnect(self, *_: Any) -> None:
        # aio-pika re-declares the topology, the consumers subscribe again (RabbitConsumer);
        # the contract tests prove it, this counter lets them (and metrics) see it happened.
        self.reconnects += 1
        log.warning("reconnected to RabbitMQ (%s)", self.connection_name)

    async def _start_consumer(self, subscription: Subscription) -> None:
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=subscription.prefetch)
        parking = parking_queue(subscription.service)
        await self._declare_queue(channel, parking, {"x-queue-type": "quorum"}, ())
        arguments = {
            "x-queue-type": "quorum",
            # Backstop only: process() parks a message whose consumers died more than
            # max_redeliveries times (the broker's count includes those). Note: an existing
            # queue declared with another limit must be deleted (or given a policy) first.
            "x-delivery-limit": subscription.retry.max_redeliveries + 2,
            "x-dead-letter-exchange": self.retry_exchange_name,
            "x-dead-letter-routing-key": parking,
        }
        await self._declare_queue(channel, subscription.queue, arguments, subscription.patterns)
        consumer = RabbitConsumer(self, subscription, channel)
        await consumer.start()
        self._consumers.append(consumer)

    async def _declare_queue(
        self,
        channel: AbstractChannel,
        name: str,
        arguments: dict[str, Any],
        patterns: Sequence[str],
    ) -> AbstractQueue:
        queue = await channel.declare_queue(name, durable=True, arguments=arguments)
        self.declared_queues.add(name)
        for pattern in patterns:
            await queue.bind(self.exchange_name, routing_key=pattern)
        await queue.bind(self.retry_exchange_name, routing_key=name)
        return queue

    async def declare_delay_queue(self, ms: int) -> None:
        """Declare ``<x>.delay.<ms>`` on first use (cheap, cached per bus)."""
        name = f"{self.delay_exchange_name}.{ms}"
        if name not in self.declared_queues:
            async with self._delay_lock:
                if name not in self.declared_queues:
                    assert self._channel is not None
                    queue = await self._channel.declare_queue(
                        name,
                        durable=True,
                        arguments={
                            "x-message-ttl": ms,
                            "x-dead-letter-exchange": self.retry_exchange_name,
                        },
                    )
                    await queue.bind(
                        self.delay_exchange_name,
                        arguments={"x-match": "all", h.DELAY: str(ms)},
                    )
                    self.declared_queues.add(name)

    async def stop(self, timeout: float = 30.0) -> None:
        """Cancel the consumers, give in-flight handlers ``timeout`` s, then disconnect.

        Handlers still running after ``timeout`` are cancelled; their messages were never
        acknowledged, so the broker delivers them again.
        """
        if self._connection is None and self._publisher is None:
            return
        self._stopping = True
        for consumer in self._consumers:
            await consumer.cancel()
        inflight = {task for consumer in self._consumers for task in consumer.inflight}
        if inflight:
            _, late = await asyncio.wait(inflight, timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._consumers.clear()
        connections = (self._connection, self._publisher)
        self._connection = self._publisher = self._channel = None
        for connection in connections:
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()

    async def healthy(self) -> bool:
        channel = self._channel
        connections = (self._connection, self._publisher)
        if channel is None or channel.is_closed or self._stopping:
            return False
        for connection in connections:
            if connection is None or connection.is_closed or not connection.connected.is_set():
                return False
        return all(not consumer.closed for consumer in self._consumers)

    # --- publishing -----------------------------------------------------------------------

    async def publish(self, messages: Sequence[Message]) -> None:
        exchange = self._exchange(self.exchange_name)
        outgoing: list[Outgoing] = []
        for message in messages:
            routing_key = message.routing_key()
            headers: dict[str, str] = {}
            span = h.start_publish_span(
                routing_key, headers, system=SYSTEM, destination=self.exchange_name,
                message=message,
            )  # fmt: skip
            properties = amqp_properties(headers, str(message.message_id))
            outgoing.append(
                Outgoing(exchange, routing_key, encode_message(message), properties, span)
            )
        await self._publish_confirmed(outgoing)

    async def publish_raw(
        self, routing_key: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        carried = h.str_headers(headers)
        span = h.start_publish_span(
            routing_key, carried, system=SYSTEM, destination=self.exchange_name
        )
        properties = amqp_properties(carried, carried.get(h.MESSAGE_ID))
        exchange = self._exchange(self.exchange_name)
        await self._publish_confirmed([Outgoing(exchange, routing_key, body, properties, span)])

    def _exchange(self, name: str) -> str:
        if self._connection is None:
            raise TransientError("the RabbitMQ bus is not started", reason_code="bus_down")
        return name

    async def _publish_confirmed(self, outgoing: list[Outgoing]) -> None:
        await publish_confirmed(
            lambda: self._channel,
            outgoing,
            timeout=self.publish_timeout,
            window=self.publish_window,
        )

    async def republish(
        self, exchange: str, routing_key: str, raw: RawDelivery, headers: dict[str, str]
    ) -> None:
        span = h.start_publish_span(routing_key, headers, system=SYSTEM, destination=exchange)
        properties = amqp_properties(headers, raw.message_id)
        await self._publish_confirmed(
            [Outgoing(self._exchange(exchange), routing_key, raw.body, properties, span)]
        )

    # --- inspection and clean-up ----------------------------------------------------------

    async def dead_letters(self, service: str) -> list[ParkedMessage]:
        """Read the service's parking queue without consuming it (all messages stay)."""
        if self._connection is None:
            raise TransientError("the RabbitMQ bus is not started", reason_code="bus_down")
        channel = await self._connection.channel(publisher_confirms=False)
        try:
            queue = await channel.get_queue(parking_queue(service), ensure=True)
            found: list[ParkedMessage] = []
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                found.append(from_parking_headers(message.body, own_headers(message.headers)))
            return found
        finally:
            await channel.close()  # returns every message we took to the queue

    async def delete_topology(self) -> None:
        """Delete every queue and exchange this bus declared, messages included.

        For tests and benchmarks on a shared broker; never call it in production.
        """
        connection = await aio_pika.connect(self.url)
        async with connection:
            channel = await connection.channel()
            for name in sorted(self.declared_queues):
                await channel.queue_delete(name)
            for name in (self.exchange_name, self.retry_exchange_name, self.delay_exchange_name):
                await channel.exchange_delete(name)
