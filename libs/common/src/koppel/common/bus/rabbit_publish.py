"""Publishing with publisher confirms, concurrently, surviving a reconnect.

A batch goes out as ``window`` concurrent publishes whose confirmations are awaited together
(never one round trip per message). What is not confirmed, because the connection dropped or
the broker nacked, is published again once the robust channel is back, until ``timeout``;
then ``TransientError`` tells the caller (the outbox relay) to try later. Nothing is dropped
silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiormq
from aio_pika.abc import AbstractRobustChannel
from opentelemetry.trace import Span, Status, StatusCode

from koppel.common.errors import TransientError

log = logging.getLogger(__name__)


@dataclass
class Outgoing:
    exchange: str
    routing_key: str
    body: bytes
    properties: aiormq.spec.Basic.Properties
    span: Span  # the PRODUCER span, ended once confirmed (or given up)


def amqp_properties(
    headers: dict[str, str], message_id: str | None
) -> aiormq.spec.Basic.Properties:
    return aiormq.spec.Basic.Properties(
        headers=dict(headers),
        message_id=message_id,
        content_type="application/json",
        delivery_mode=2,  # persistent
    )


async def publish_confirmed(
    channel_now: Callable[[], AbstractRobustChannel | None],
    outgoing: list[Outgoing],
    *,
    timeout: float,
    window: int,
) -> None:
    """Publish everything concurrently and wait for every confirmation.

    Whatever was not confirmed (connection lost, nack) is published again once the
    connection is back, until ``timeout``; a lost confirmation may mean the broker
    has the message after all, so a retry can duplicate (consumers are idempotent).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending, error, backoff = outgoing, BaseException("not published"), 0.05
    try:
        while pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TransientError(
                    f"{len(pending)} messages not confirmed by RabbitMQ: {error!r}",
                    reason_code="publish_unconfirmed",
                ) from error
            channel = channel_now()
            if channel is None:
                raise TransientError("the RabbitMQ bus stopped", reason_code="bus_down")
            try:
                # Waits out a reconnection; raises if the channel is gone for good.
                underlay = await asyncio.wait_for(channel.get_underlay_channel(), timeout=remaining)
            except Exception as exc:
                error = exc
                await asyncio.sleep(backoff)
                continue
            failed: list[Outgoing] = []
            for start in range(0, len(pending), window):
                batch = pending[start : start + window]
                # Straight to aiormq: aio_pika.Message costs more than the rest of a
                # publish and buys nothing here.
                results = await asyncio.gather(
                    *(
                        underlay.basic_publish(  # type: ignore[call-arg]  # wait: aiormq.Channel
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
                        for o in batch
                    ),
                    return_exceptions=True,
                )
                # A nack arrives as DeliveryError: the broker did not take it, so retry.
                for item, result in zip(batch, results, strict=True):
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
