"""Orders flow benchmark, embedded mode: ``n`` seeded eAccounting orders through the mapper,
orders and customers services into the AccountView sandbox, in one process.

Prints (and returns) orders/s end to end (run requested → last outcome), p50/p95 latency
from ``OrderFetched`` to ``OrderSynced`` per order, the API calls per order counted in
the sandboxes' own request logs, the process's peak RSS and the CPU seconds the runs took. Run it with ``python -m koppel.orders.bench [n]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import statistics
import sys
import time
from typing import Any
from uuid import uuid4

from koppel.common.events import OrderFetched, OrderSynced
from koppel.orders.embedded import World, WorldOptions

POLL_INTERVAL = 0.25


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def run_orders_benchmark(
    n: int = 2000,
    *,
    duplicate_deliveries: bool = False,
    amqp_url: str | None = None,
    database_url: str | None = None,
    time_scale: float = 1.0,
    rate: float | None = None,
) -> dict[str, Any]:
    """``amqp_url`` and ``database_url`` together run the services over RabbitMQ and
    PostgreSQL (fresh queues and schemas) instead of the in-process bus and SQLite.

    ``rate`` (orders/s) offers the orders at that pace instead of all at once: they appear
    in eAccounting one by one while runs poll for them (``_paced``), so the latencies are
    those of a steady load rather than of a queue ``n`` orders deep."""
    options = WorldOptions(
        orders=n,
        customers=max(20, n // 3),
        statuses=("draft", "ongoing", "shipped", "invoiced"),
        customers_without_email=0,
        unmapped_vat_countries=(),
        duplicate_deliveries=duplicate_deliveries,
        amqp_url=amqp_url,
        database_url=database_url,
        time_scale=time_scale,
    )
    if rate:
        return await _paced(options, n, rate)
    async with World(options) as world:
        await world.clear_request_logs()
        # CPU time next to wall time: on a shared machine orders/s alone says little.
        cpu_started = _cpu_seconds()
        # A run reads at most ``batch_size`` (1000) orders; run until one finds nothing new.
        runs = []
        while True:
            result = await world.run_orders(timeout=max(120.0, n * 0.5))
            if result.fetched == 0:
                break
            runs.append(result)
        cpu_used = _cpu_seconds() - cpu_started
        recorder = world.recorder
        latencies: list[float] = []
        for result in runs:
            fetched_at = {
                m.correlation_id: recorder.seen_at[m.message_id]
                for m in recorder.of(OrderFetched, result.run_id)
            }
            latencies += [
                recorder.seen_at[m.message_id] - fetched_at[m.correlation_id]
                for m in recorder.of(OrderSynced, result.run_id)
                if m.correlation_id in fetched_at
            ]
        calls = await world.request_counts()
    seconds = sum(r.seconds for r in runs)
    fetched_total = sum(r.fetched for r in runs)
    total_calls = sum(sum(c.values()) for c in calls.values())
    fetched = max(fetched_total, 1)
    return {
        "orders": fetched_total,
        "runs": len(runs),
        "synced": sum(len(r.synced) for r in runs),
        "failed": sum(len(r.failed) for r in runs),
        "skipped": sum(len(r.skipped) for r in runs),
        "dead_letters": sum(len(r.dead_letters) for r in runs[-1:]),
        "seconds": round(seconds, 3),
        "orders_per_second": round(fetched_total / seconds, 1) if seconds else 0.0,
        "latency_p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "latency_p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "latency_mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0.0,
        "api_calls_per_order": round(total_calls / fetched, 2),
        "eaccounting_calls_per_order": round(sum(calls["eaccounting"].values()) / fetched, 2),
        "accountview_calls_per_order": round(sum(calls["accountview"].values()) / fetched, 2),
        "api_calls": calls,
        # All services, the sandboxes and the bus client share this process, so this is an
        # upper bound for one service's RSS (ru_maxrss is in KiB on Linux).
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_seconds": round(cpu_used, 2),
        "cpu_ms_per_order": round(cpu_used * 1000 / fetched, 1),
        "mode": _mode(options),
    }


async def _paced(options: WorldOptions, n: int, rate: float) -> dict[str, Any]:
    """Orders appear in eAccounting at ``rate`` per second while runs poll for them.

    The seeded orders are taken out of the sandbox first and put back one by one, each
    stamped with the time it "arrives" (``ModifiedUtc`` now), like customers placing orders;
    a run is requested as soon as the previous one has read its orders, at most every
    ``POLL_INTERVAL`` seconds (a scheduler polling eAccounting often).
    """
    from koppel.common.events import (
        FlowRunFailed,
        FlowRunFetched,
        FlowRunRequested,
        OrderFailed,
        OrderSkipped,
        RunTrigger,
    )
    from koppel.common.messages import Flow
    from koppel.orders.embedded import TENANT

    outcome_types = (OrderSynced, OrderSkipped, OrderFailed)
    async with World(options) as world:
        store = world.ea.store
        held = store.all("orders")[:n]
        for order in held:
            store.delete("orders", str(order["Id"]))
        await world.clear_request_logs()
        recorder = world.recorder
        arrived: dict[str, float] = {}
        cpu_started = _cpu_seconds()
        started = time.perf_counter()

        async def arrive() -> None:
            for i, order in enumerate(held):
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                store.put("orders", str(order["Id"]), {**order, "ModifiedUtc": store.now_text()})
                arrived[str(order["Id"])] = time.perf_counter()

        def finished() -> int:
            return sum(recorder.count(kind) for kind in outcome_types)

        arrivals = asyncio.create_task(arrive())
        runs = 0
        deadline = started + len(held) / rate + max(120.0, n * 0.5)
        while (not arrivals.done() or finished() < len(held)) and time.perf_counter() < deadline:
            began = time.perf_counter()
            request = FlowRunRequested(
                tenant_id=TENANT, flow=Flow.orders, run_id=uuid4(), trigger=RunTrigger.schedule
            )
            await world.bus.publish([request])
            runs += 1
            while not (
                recorder.count(FlowRunFetched, request.run_id)
                or recorder.count(FlowRunFailed, request.run_id)
            ):
                recorder.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(recorder.changed.wait(), 1.0)
            await asyncio.sleep(max(0.0, began + POLL_INTERVAL - time.perf_counter()))
        await arrivals
        seconds = time.perf_counter() - started
        cpu_used = _cpu_seconds() - cpu_started
        outcomes = [m for kind in outcome_types for m in recorder.of(kind)]
        fetched_at = {
            m.correlation_id: recorder.seen_at[m.message_id] for m in recorder.of(OrderFetched)
        }
        synced = [
            recorder.seen_at[m.message_id] - fetched_at[m.correlation_id]
            for m in recorder.of(OrderSynced)
            if m.correlation_id in fetched_at
        ]
        placed_to_outcome = [
            recorder.seen_at[m.message_id] - arrived[m.entity.source_id]
            for m in outcomes
            if m.entity.source_id in arrived
        ]
        calls = await world.request_counts()
    count = max(len(held), 1)
    return {
        "orders": len(held),
        "offered_per_second": rate,
        "runs": runs,
        "completed": len(outcomes),
        "synced": recorder.count(OrderSynced),
        "failed": recorder.count(OrderFailed),
        "skipped": recorder.count(OrderSkipped),
        "seconds": round(seconds, 3),
        "orders_per_second": round(len(outcomes) / seconds, 1) if seconds else 0.0,
        # Fetch to OrderSynced (the definition), and placed in eAccounting to the
        # order's outcome (adds the wait for the next poll).
        "latency_p50_ms": _ms(_percentile(synced, 0.50)),
        "latency_p95_ms": _ms(_percentile(synced, 0.95)),
        "placed_to_outcome_p50_ms": _ms(_percentile(placed_to_outcome, 0.50)),
        "placed_to_outcome_p95_ms": _ms(_percentile(placed_to_outcome, 0.95)),
        "eaccounting_calls_per_order": round(sum(calls["eaccounting"].values()) / count, 2),
        "accountview_calls_per_order": round(sum(calls["accountview"].values()) / count, 2),
        "api_calls": calls,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_seconds": round(cpu_used, 2),
        "cpu_ms_per_order": round(cpu_used * 1000 / count, 1),
        "mode": _mode(options) + f", paced: {rate} orders/s placed, polled every "
        f"{POLL_INTERVAL} s at most",
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _mode(options: WorldOptions) -> str:
    if options.amqp_url:
        return "RabbitMQ + PostgreSQL, services in one process, in-process sandboxes"
    return "embedded (InMemoryBus, SQLite, in-process sandboxes)"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(json.dumps({"benchmark": "orders", **asyncio.run(run_orders_benchmark(n))}))  # noqa: T201


if __name__ == "__main__":
    main()
