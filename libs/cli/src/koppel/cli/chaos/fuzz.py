"""Bad input on the bus: random and malformed bodies under known and unknown routing keys.

Each input is published straight onto the run's topic exchange with a fresh AMQP
``message_id`` and ``mandatory`` set. Then each one must be accounted for:

* routed to at least one consumer -> it must end as a dead letter the notifier lists
  (``original_message_id`` is the input's id), under the body's ``tenant_id`` or ``unknown``;
* routed nowhere -> the broker hands it back to the publisher (``basic.return``): refused
  loudly, not dropped silently.

No service process may die meanwhile. Every body is built to be invalid (a JSON object
always carries ``message_id: "not-a-uuid"``), so a valid message can never slip through.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import aio_pika
import httpx
from aio_pika.exceptions import DeliveryError, PublishError

from koppel.cli.chaos.flows import notifier_pages
from koppel.cli.chaos.infra import Infra

FUZZ_TENANT = "chaos-fuzz"
UNKNOWN_TENANT = "unknown"  # koppel.common.bus.handling.UNKNOWN_TENANT
UNKNOWN_KEYS = ("event.chaos.nothing_v1", "command.chaos.nothing_v1", "chaos", "event.x.y.z.w")


def _known_keys() -> list[str]:
    from koppel.common import commands, events  # noqa: F401  (register the catalogue)
    from koppel.common.messages import message_types

    return sorted(message_types())


def _body(rng: random.Random, key: str) -> bytes:
    kind = rng.randrange(9)
    if kind == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    if kind == 1:
        return b""
    if kind == 2:
        return rng.choice([b"null", b"[]", b"42", b'"text"', b"{", b"{]", b"\xff\xfe{}"])
    if kind == 3:
        return b"{" * rng.randint(100, 3000)  # deep nesting
    document: dict[str, Any] = {"message_id": "not-a-uuid"}
    if kind >= 4:
        document["tenant_id"] = FUZZ_TENANT
    if kind >= 5:
        document["flow"] = rng.choice(["orders", "products", "nope", 7, None])
    if kind >= 6:
        document["occurred_at"] = rng.choice(["yesterday", 12, "2026-13-45T99:00:00Z"])
    if kind == 7:
        document["payload"] = "x" * rng.randint(1000, 200_000)
    if kind == 8:
        document.update({"type": key, "order": {"Rows": [{"Quantity": "many"}]}, "version": -1})
    return json.dumps(document).encode()


async def fuzz_consumers(
    http: httpx.AsyncClient,
    infra: Infra,
    *,
    notifier: str,
    token: str,
    count: int,
    seed: int,
    crashed: Callable[[], list[str]],
    wait: float = 30.0,
) -> dict[str, Any]:
    rng = random.Random(seed ^ 0xF022)
    keys = _known_keys()
    sent: dict[str, str] = {}  # message id -> routing key
    refused: list[str] = []
    connection = await aio_pika.connect_robust(
        infra.amqp_url, client_properties={"connection_name": "chaos-fuzz"}
    )
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange("koppel")
        for i in range(count):
            key = rng.choice(UNKNOWN_KEYS) if rng.random() < 0.15 else rng.choice(keys)
            message_id = str(uuid.uuid4())
            message = aio_pika.Message(
                _body(rng, key),
                message_id=message_id,
                headers={"x-chaos-fuzz": str(i)},
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            try:
                await exchange.publish(message, routing_key=key, mandatory=True)
                sent[message_id] = key
            except (DeliveryError, PublishError):
                refused.append(key)
    finally:
        await connection.close()

    found: set[str] = set()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for tenant in (FUZZ_TENANT, UNKNOWN_TENANT):
            url = f"{notifier}/internal/notifier/tenants/{tenant}/dead-letters"
            for item in await notifier_pages(http, url, token, status=None):
                if item.get("original_message_id") in sent:
                    found.add(item["original_message_id"])
        if len(found) == len(sent):
            break
        await asyncio.sleep(2.0)
    # A MessageDeadLettered that fails is parked but, by design, not announced again
    # (handling.dead_letter_event): look for the rest in the parking queues themselves.
    parked_only = await _parked_ids(infra, {m for m in sent if m not in found})
    missing = [f"{sent[m]} {m}" for m in sent if m not in found and m not in parked_only]
    return {
        "inputs_tried": count,
        "routed": len(sent),
        "dead_lettered": len(found),
        "parked_not_announced": len(parked_only),
        "refused_unroutable": len(refused),
        "unaccounted": len(missing),
        "unaccounted_sample": missing[:10],
        "crashed": crashed(),
    }


async def _parked_ids(infra: Infra, wanted: set[str]) -> set[str]:
    """Ids among ``wanted`` found in any ``*.dead-letters`` queue. Reads destructively: the
    fuzz phase is the last thing a run does before its vhost is deleted."""
    if not wanted:
        return set()
    from koppel.cli.chaos.infra import queue_depths

    queues = [q for q in await queue_depths(infra) if q.endswith(".dead-letters")]
    found: set[str] = set()
    connection = await aio_pika.connect(infra.amqp_url)
    try:
        channel = await connection.channel()
        for name in queues:
            queue = await channel.get_queue(name, ensure=False)
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                ids = {message.message_id, (message.headers or {}).get("x-koppel-message-id")}
                found |= {str(i) for i in ids if i} & wanted
    finally:
        await connection.close()
    return found
