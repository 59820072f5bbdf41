"""Bus benchmark: publish ``count`` persistent messages (confirmed) and consume them with one
consumer (manual acks, ``prefetch``), through the real transport code.

``python -m koppel.common.bus.bench --transport rabbit --count 20000`` prints one JSON line per
transport (the in-memory one always, then ``memory-durable``, the in-memory one with its SQLite
journal in a temporary directory, or RabbitMQ, when asked for), e.g.::

    {"transport": "rabbit", "count": 20000, "publish_msgs_per_s": ..., "round_trip_msgs_per_s": ...,
     "latency_p50_ms": ..., "latency_p95_ms": ...}

Latency is publish→handle: from just before the batch holding the message was handed to
``publish`` to the start of its handler. The RabbitMQ run uses a throw-away exchange and
queues (random names) and deletes them afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from uuid import UUID, uuid4

from koppel.common.bus.base import Delivery, Subscription
from koppel.common.bus.memory import InMemoryBus
from koppel.common.bus.rabbit import RabbitBus
from koppel.common.events import TenantConfigChanged
from koppel.common.messages import Message

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
BATCH = 500  # messages per publish() call, as an outbox relay would hand them over


async def run_bus_benchmark(
    transport: str,
    count: int = 20000,
    amqp_url: str | None = None,
    prefetch: int = 200,
    batch: int = BATCH,
    publishers: int = 1,
) -> dict[str, float | int | str]:
    if transport == "memory-durable":
        with tempfile.TemporaryDirectory(prefix="koppel-bench-") as directory:
            journal = Path(directory) / "bus.db"
            return await _run(transport, count, amqp_url, prefetch, batch, publishers, journal)
    return await _run(transport, count, amqp_url, prefetch, batch, publishers, None)


async def _run(
    transport: str,
    count: int,
    amqp_url: str | None,
    prefetch: int,
    batch_size: int,
    publishers: int,
    journal: Path | None,
) -> dict[str, float | int | str]:
    suffix = uuid4().hex[:8]
    bus: InMemoryBus | RabbitBus
    if transport in ("memory", "memory-durable"):
        bus = InMemoryBus(journal=journal)
    elif transport == "rabbit":
        bus = RabbitBus(amqp_url or DEFAULT_AMQP_URL, exchange=f"koppel.bench.{suffix}")
    else:
        raise ValueError(f"unknown transport {transport!r} (memory, memory-durable or rabbit)")
    commits = bus.broker.journal if isinstance(bus, InMemoryBus) else None

    sent_at: dict[UUID, float] = {}
    latencies: list[float] = []
    handled: set[UUID] = set()
    done = asyncio.Event()

    async def handle(message: Message, _: Delivery) -> None:
        latencies.append(time.perf_counter() - sent_at[message.message_id])
        handled.add(message.message_id)
        if len(handled) >= count:
            done.set()

    bus.subscribe(
        Subscription(
            service=f"bench-{suffix}",
            name="sink",
            patterns=(TenantConfigChanged.routing_key(),),
            handler=handle,
            prefetch=prefetch,
        )
    )
    messages = [TenantConfigChanged(tenant_id="bench", section=f"s{n}") for n in range(count)]
    await bus.start()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        batches = iter(range(0, count, batch_size))

        async def publisher() -> None:
            for offset in batches:  # shared: each batch goes to the next free publisher
                batch = messages[offset : offset + batch_size]
                now = time.perf_counter()
                for message in batch:
                    sent_at[message.message_id] = now
                await bus.publish(batch)
                await asyncio.sleep(0)  # let the consumer run between batches (in-memory)

        await asyncio.gather(*(publisher() for _ in range(publishers)))
        published = time.perf_counter()
        await asyncio.wait_for(done.wait(), timeout=max(60.0, count / 200))
        finished, cpu = time.perf_counter(), time.process_time() - cpu
        if commits is not None:
            await commits.flush()  # the acks' deletes too: the journal ends empty
    finally:
        await bus.stop(timeout=10)
        if isinstance(bus, RabbitBus):
            await bus.delete_topology()

    cuts = statistics.quantiles(latencies, n=100)
    extra: dict[str, float | int | str] = {}
    if commits is not None:
        extra["journal_commits"] = commits.commits
    return {
        "transport": transport,
        "count": count,
        "prefetch": prefetch,
        "batch": batch_size,
        "publishers": publishers,
        "publish_msgs_per_s": round(count / (published - started), 1),
        "round_trip_msgs_per_s": round(count / (finished - started), 1),
        "latency_p50_ms": round(cuts[49] * 1000, 2),
        "latency_p95_ms": round(cuts[94] * 1000, 2),
        "deliveries": len(latencies),
        "seconds": round(finished - started, 3),
        # CPU of this process per message (publish + consume): the figure to compare when
        # the machine is shared and wall-clock rates wobble.
        "cpu_ms_per_msg": round(cpu / count * 1000, 3),
        **extra,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Koppel message bus benchmark")
    parser.add_argument(
        "--transport", choices=["memory", "memory-durable", "rabbit"], default="memory"
    )
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--prefetch", type=int, default=200)
    parser.add_argument("--batch", type=int, default=BATCH, help="messages per publish()")
    parser.add_argument(
        "--publishers", type=int, default=1, help="concurrent publishers (as several relays)"
    )
    parser.add_argument("--amqp-url", default=os.environ.get("KOPPEL_AMQP_URL", DEFAULT_AMQP_URL))
    args = parser.parse_args(argv)
    # The in-memory figure is the baseline the RabbitMQ one is read against.
    transports = ["memory"] if args.transport == "memory" else ["memory", args.transport]
    for transport in transports:
        result = asyncio.run(
            run_bus_benchmark(
                transport, args.count, args.amqp_url, args.prefetch, args.batch, args.publishers
            )
        )
        print(json.dumps(result), flush=True)  # noqa: T201 - the CLI's output


if __name__ == "__main__":
    main()
