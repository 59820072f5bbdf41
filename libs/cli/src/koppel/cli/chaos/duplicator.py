"""Deliver a sample of bus messages twice, on purpose.

A tap queue bound to ``#`` on the run's topic exchange sees every first publish (retries go
through ``<x>.retry`` and are not tapped, so a retry is never mistaken for a new message).
For a share of them an exact copy -- same body, same ``message_id``, same headers and
routing key -- is published again, as a broker redelivery or a relay that published twice
would. The copies carry ``x-chaos-duplicate`` so the tap does not copy its own copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

MARK = "x-chaos-duplicate"


class Duplicator:
    def __init__(
        self, amqp_url: str, *, exchange: str = "koppel", share: float = 0.03, seed: int = 0
    ) -> None:
        self.amqp_url = amqp_url
        self.exchange_name = exchange
        self.share = share
        self.random = random.Random(seed)
        self.seen = 0
        self.duplicated = 0
        self.by_key: Counter[str] = Counter()
        self.errors = 0
        self._connection: AbstractRobustConnection | None = None
        self._queue_name = f"chaos.tap.{random.Random(seed).getrandbits(32):08x}"

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self.amqp_url, client_properties={"connection_name": "chaos-duplicator"}
        )
        channel = await self._connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=200)
        exchange = await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        # Classic, auto-delete: it vanishes with this connection and never holds work that
        # the end-of-run "nothing stuck in a queue" check would count.
        queue = await channel.declare_queue(self._queue_name, auto_delete=True, durable=False)
        await queue.bind(exchange, "#")

        async def on_message(message: AbstractIncomingMessage) -> None:
            async with message.process(ignore_processed=True):
                headers = dict(message.headers or {})
                if MARK in headers:
                    return
                self.seen += 1
                if self.random.random() >= self.share:
                    return
                headers[MARK] = "1"
                copy = aio_pika.Message(
                    message.body,
                    headers=headers,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    content_type=message.content_type,
                    content_encoding=message.content_encoding,
                    type=message.type,
                    app_id=message.app_id,
                    timestamp=message.timestamp,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                )
                try:
                    await exchange.publish(copy, routing_key=message.routing_key or "")
                    self.duplicated += 1
                    self.by_key[message.routing_key or ""] += 1
                except Exception:
                    self.errors += 1

        await queue.consume(on_message)

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), 10)
            self._connection = None

    def summary(self) -> dict[str, object]:
        return {
            "tapped": self.seen,
            "duplicated": self.duplicated,
            "publish_errors": self.errors,
            "top_keys": dict(self.by_key.most_common(8)),
        }
