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
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import uuid4

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from opentelemetry.trace import Span, Status, StatusCode

from koppel.common.bus import headers as h
from koppel.common.bus.acks import AckBatcher
from koppel.common.bus.base import Subscription
from koppel.common.bus.handling import (
    Ack,
    Outcome,
    ParkedMessage,
    RawDelivery,
    Retry,
    dead_letter_event,
    from_parking_headers,
    parked,
    parking_headers,
    process,
    retry_headers,
)
from koppel.common.bus.transport import CoalescingRobustConnection
from koppel.common.errors import TransientError
from koppel.common.messages import Message, encode_message

log = logging.getLogger(__name__)

SYSTEM = "rabbitmq"
# Set by the broker; never carried over when the bus republishes a message (a stale
# x-delivery-count on a retried copy would read as crashes that never happened).
_BROKER_HEADERS = ("x-delivery-count", "x-death", "x-first-death-", "x-last-death-")


def delay_step_ms(seconds: float) -> int:
    """Round a delay up to two significant digits, so ``Retry-After`` values reuse queues."""
    ms = max(1, math.ceil(seconds * 1000))
    step = 10 ** max(0, len(str(ms)) - 2)
    return int(math.ceil(ms / step) * step)


def parking_queue(service: str) -> str:
    return f"{service}.dead-letters"


@dataclass
class _Outgoing:
    exchange: str
    routing_key: str
    body: bytes
    properties: aiormq.spec.Basic.Properties
    span: Span


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
        coalesce_writes: send the frames written in one loop iteration with one system call
            (see ``transport.py``); off only to compare.
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
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None  # publishing, with confirms
        self._exchanges: dict[str, AbstractExchange] = {}
        self._consumers: list[tuple[AbstractChannel, AbstractQueue, str]] = []
        self._inflight: set[asyncio.Task[Any]] = set()
        self._ackers: dict[int, AckBatcher] = {}  # by id() of the live AMQP channel
        self._delay_lock = asyncio.Lock()
        self._stopping = False

    def subscribe(self, subscription: Subscription) -> None:
        if self._connection is not None:
            raise RuntimeError("subscribe before start()")
        if any(s.queue == subscription.queue for s in self._subscriptions):
            raise ValueError(f"queue {subscription.queue} already has a subscription")
        self._subscriptions.append(subscription)

    async def start(self) -> None:
        if self._connection is not None:
            return
        self._stopping = False
        self._connection = await aio_pika.connect_robust(
            self.url,
            client_properties={"connection_name": self.connection_name},
            reconnect_interval=self.reconnect_interval,
            connection_class=(
                CoalescingRobustConnection if self.coalesce_writes else aio_pika.RobustConnection
            ),
        )
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        channel = self._channel = await self._connection.channel(publisher_confirms=True)
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

    def _on_reconnect(self, *_: Any) -> None:
        # aio-pika re-declares the topology and resumes the consumers on its own; the
        # contract tests prove it, this counter lets them (and metrics) see it happened.
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
            # Backstop only: process() parks a message redelivered more than max_attempts.
            "x-delivery-limit": subscription.retry.max_attempts + 2,
            "x-dead-letter-exchange": self.retry_exchange_name,
            "x-dead-letter-routing-key": parking,
        }
        queue = await self._declare_queue(
            channel, subscription.queue, arguments, subscription.patterns
        )
        tag = await queue.consume(partial(self._on_message, subscription), no_ack=False)
        self._consumers.append((channel, queue, tag))

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

    async def _declare_delay_queue(self, ms: int) -> None:
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
        if self._connection is None:
            return
        self._stopping = True
        for _, queue, tag in self._consumers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(queue.cancel(tag), timeout=5)
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight), timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._consumers.clear()
        connection, self._connection, self._channel = self._connection, None, None
        with contextlib.suppress(Exception):
            await connection.close()

    async def healthy(self) -> bool:
        connection, channel = self._connection, self._channel
        if connection is None or channel is None or self._stopping:
            return False
        if connection.is_closed or not connection.connected.is_set() or channel.is_closed:
            return False
        return all(not consumer.is_closed for consumer, _, _ in self._consumers)

    # --- publishing -----------------------------------------------------------------------

    async def publish(self, messages: Sequence[Message]) -> None:
        exchange = self._exchange(self.exchange_name)
        outgoing: list[_Outgoing] = []
        for message in messages:
            routing_key = message.routing_key()
            headers: dict[str, str] = {}
            span = h.start_publish_span(
                routing_key, headers, system=SYSTEM, destination=self.exchange_name,
                message=message,
            )  # fmt: skip
            properties = _properties(headers, str(message.message_id))
            outgoing.append(
                _Outgoing(exchange, routing_key, encode_message(message), properties, span)
            )
        await self._publish_confirmed(outgoing)

    async def publish_raw(
        self, routing_key: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        carried = h.str_headers(headers)
        span = h.start_publish_span(
            routing_key, carried, system=SYSTEM, destination=self.exchange_name
        )
        properties = _properties(carried, carried.get(h.MESSAGE_ID))
        exchange = self._exchange(self.exchange_name)
        await self._publish_confirmed([_Outgoing(exchange, routing_key, body, properties, span)])

    def _exchange(self, name: str) -> str:
        if self._connection is None:
            raise TransientError("the RabbitMQ bus is not started", reason_code="bus_down")
        return name

    async def _publish_confirmed(self, outgoing: list[_Outgoing]) -> None:
        """Publish everything concurrently and wait for every confirmation.

        Whatever was not confirmed (connection lost, nack) is published again once the
        connection is back, until ``publish_timeout``; a lost confirmation may mean the broker
        has the message after all, so a retry can duplicate (consumers are idempotent).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.publish_timeout
        pending, error, backoff = outgoing, BaseException("not published"), 0.05
        try:
            while pending:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TransientError(
                        f"{len(pending)} messages not confirmed by RabbitMQ: {error!r}",
                        reason_code="publish_unconfirmed",
                    ) from error
                channel = self._channel
                if channel is None:
                    raise TransientError("the RabbitMQ bus stopped", reason_code="bus_down")
                try:
                    # Waits out a reconnection; raises if the channel is gone for good.
                    underlay = await asyncio.wait_for(
                        channel.get_underlay_channel(), timeout=remaining
                    )
                except Exception as exc:
                    error = exc
                    await asyncio.sleep(backoff)
                    continue
                failed: list[_Outgoing] = []
                for start in range(0, len(pending), self.publish_window):
                    window = pending[start : start + self.publish_window]
                    # Straight to aiormq: aio_pika.Message costs more than the rest of a
                    # publish and buys nothing here.
                    results = await asyncio.gather(
                        *(
                            underlay.basic_publish(
                                o.body,
                                exchange=o.exchange,
                                routing_key=o.routing_key,
                                properties=o.properties,
                                timeout=remaining,
                                # Do not hold the channel lock until the frame is written:
                                # the window's frames then leave in a few socket writes.
                                # The confirmation is still awaited.
                                wait=False,
                            )
                            for o in window
                        ),
                        return_exceptions=True,
                    )
                    # A nack arrives as DeliveryError: the broker did not take it, so retry.
                    for item, result in zip(window, results, strict=True):
                        if isinstance(result, BaseException):
                            failed.append(item)
                            error = result
                if failed:
                    log.warning("republishing %d unconfirmed messages: %r", len(failed), error)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 1.0)
                pending = failed
        except BaseException as exc:
            for item in pending:
                item.span.record_exception(exc)
                item.span.set_status(Status(StatusCode.ERROR, str(exc)))
            raise
        finally:
            for item in outgoing:
                item.span.end()

    # --- consuming ------------------------------------------------------------------------

    async def _on_message(
        self, subscription: Subscription, message: AbstractIncomingMessage
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        acker = self._acker(message.channel)
        tag = message.delivery_tag or 0
        acker.delivered(tag)
        try:
            if self._stopping:
                return  # raced basic.cancel: unacknowledged, it goes to the next consumer
            raw = _raw_delivery(subscription, message)
            outcome = await process(subscription, raw, system=SYSTEM)
            await self._settle(subscription, raw, outcome)
            await acker.ack(tag)
        except asyncio.CancelledError:
            raise  # no ack: the broker redelivers it
        except Exception:
            log.exception(
                "could not settle a message of %s; it will be redelivered", subscription.queue
            )
            acker.settled(tag)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
        finally:
            self._inflight.discard(task)

    def _acker(self, channel: aiormq.abc.AbstractChannel) -> AckBatcher:
        acker = self._ackers.get(id(channel))
        if acker is None or acker.channel is not channel:
            # A new channel after a reconnect: the old one's delivery tags died with it.
            self._ackers = {k: a for k, a in self._ackers.items() if not a.channel.is_closed}
            acker = self._ackers[id(channel)] = AckBatcher(channel)
        return acker

    async def _settle(self, subscription: Subscription, raw: RawDelivery, outcome: Outcome) -> None:
        """Carry out a retry or a dead letter; the caller acknowledges afterwards."""
        if isinstance(outcome, Retry):
            ms = delay_step_ms(outcome.delay * self.time_scale)
            await self._declare_delay_queue(ms)
            await self._republish(
                self.delay_exchange_name, subscription.queue, raw, retry_headers(raw, ms)
            )
        elif not isinstance(outcome, Ack):
            dead = parked(subscription, raw, outcome)
            event = dead_letter_event(dead)
            if event is not None:
                # Announced before parked: once a parked copy is visible, so is its event.
                await self.publish([event])
            queue = parking_queue(subscription.service)
            await self._republish(self.retry_exchange_name, queue, raw, parking_headers(dead))

    async def _republish(
        self, exchange: str, routing_key: str, raw: RawDelivery, headers: dict[str, str]
    ) -> None:
        span = h.start_publish_span(routing_key, headers, system=SYSTEM, destination=exchange)
        properties = _properties(headers, raw.message_id)
        await self._publish_confirmed(
            [_Outgoing(self._exchange(exchange), routing_key, raw.body, properties, span)]
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
                found.append(from_parking_headers(message.body, _own_headers(message)))
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


def _properties(headers: dict[str, str], message_id: str | None) -> aiormq.spec.Basic.Properties:
    return aiormq.spec.Basic.Properties(
        headers=dict(headers),
        message_id=message_id,
        content_type="application/json",
        delivery_mode=2,  # persistent
    )


def _own_headers(message: AbstractIncomingMessage) -> dict[str, str]:
    return {
        key: value
        for key, value in h.str_headers(message.headers).items()
        if not key.startswith(_BROKER_HEADERS)
    }


def _raw_delivery(subscription: Subscription, message: AbstractIncomingMessage) -> RawDelivery:
    headers = _own_headers(message)
    crashes = h.int_header(h.str_headers(message.headers), "x-delivery-count", 0)
    return RawDelivery(
        queue=subscription.queue,
        # After a retry the message arrives by queue name; its own key is in the header.
        routing_key=headers.get(h.ROUTING_KEY) or message.routing_key or "",
        body=message.body,
        headers=headers,
        attempt=h.int_header(headers, h.ATTEMPT, 1) + crashes,
        redelivered=message.redelivered or crashes > 0,
        message_id=message.message_id,
    )
