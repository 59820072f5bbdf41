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
from uuid import UUID, uuid4

from koppel.common.events import OrderFetched, OrderSynced
from koppel.orders.embedded import World, WorldOptions


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

    ``rate`` (orders/s) offers the orders at that pace instead of all at once: one run per
    order (``record_id``, eAccounting's webhook path), requested at ``i / rate`` seconds, so
    the latencies are those of a steady load rather than of a queue ``n`` orders deep."""
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
    from koppel.common.events import FlowRunRequested, OrderFailed, OrderSkipped, RunTrigger
    from koppel.common.messages import Flow
    from koppel.orders.embedded import TENANT

    outcome_types = (OrderSynced, OrderSkipped, OrderFailed)
    async with World(options) as world:
        order_ids = [str(o["Id"]) for o in world.ea.store.all("orders")][:n]
        await world.clear_request_logs()
        recorder = world.recorder
        offered: dict[UUID, float] = {}
        cpu_started = _cpu_seconds()
        started = time.perf_counter()
        for i, order_id in enumerate(order_ids):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            request = FlowRunRequested(
                tenant_id=TENANT,
                flow=Flow.orders,
                run_id=uuid4(),
                trigger=RunTrigger.webhook,
                record_id=order_id,
            )
            assert request.run_id is not None
            offered[request.run_id] = time.perf_counter()
            await world.bus.publish([request])
        offered_seconds = time.perf_counter() - started
        deadline = time.perf_counter() + max(120.0, n * 0.5)
        while sum(recorder.count(kind) for kind in outcome_types) < len(order_ids):
            if time.perf_counter() > deadline:
                break
            recorder.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(recorder.changed.wait(), 1.0)
        seconds = time.perf_counter() - started
        cpu_used = _cpu_seconds() - cpu_started
        outcomes = [m for kind in outcome_types for m in recorder.of(kind)]
        fetched_at = {m.run_id: recorder.seen_at[m.message_id] for m in recorder.of(OrderFetched)}
        end_to_end = [
            recorder.seen_at[m.message_id] - offered[m.run_id]
            for m in outcomes
            if m.run_id in offered
        ]
        synced = [
            recorder.seen_at[m.message_id] - fetched_at[m.run_id]
            for m in recorder.of(OrderSynced)
            if m.run_id in fetched_at
        ]
        calls = await world.request_counts()
    count = max(len(order_ids), 1)
    return {
        "orders": len(order_ids),
        "offered_per_second": rate,
        "offered_over_seconds": round(offered_seconds, 2),
        "completed": len(outcomes),
        "synced": recorder.count(OrderSynced),
        "failed": recorder.count(OrderFailed),
        "skipped": recorder.count(OrderSkipped),
        "seconds": round(seconds, 3),
        "orders_per_second": round(len(outcomes) / seconds, 1) if seconds else 0.0,
        # Fetch to OrderSynced (the definition), and request to outcome (webhook in,
        # answer out: includes reading the order from eAccounting).
        "latency_p50_ms": _ms(_percentile(synced, 0.50)),
        "latency_p95_ms": _ms(_percentile(synced, 0.95)),
        "request_to_outcome_p50_ms": _ms(_percentile(end_to_end, 0.50)),
        "request_to_outcome_p95_ms": _ms(_percentile(end_to_end, 0.95)),
        "eaccounting_calls_per_order": round(sum(calls["eaccounting"].values()) / count, 2),
        "accountview_calls_per_order": round(sum(calls["accountview"].values()) / count, 2),
        "api_calls": calls,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_seconds": round(cpu_used, 2),
        "cpu_ms_per_order": round(cpu_used * 1000 / count, 1),
        "mode": _mode(options) + f", paced: one run per order (record_id) at {rate}/s",
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
