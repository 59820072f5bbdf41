"""Catalog replicas sharing one tenant's eAccounting quota, through the whole pipeline:
RabbitMQ (the replicas compete for one queue) and PostgreSQL (one schema, the shared tokens
of ``catalog_rate_tokens``), both sandboxes in process, a stand-in mapper.

Every replica has its own bus connection, database engine, eAccounting client and
``SharedRateLimiterRegistry``, as separate processes would; they share the event loop of
this process (and its CPU). Queues, exchange and schema get a random suffix and are
deleted at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from koppel.catalog import service
from koppel.catalog.adapters.connections import StaticConnections
from koppel.catalog.app import SPEC
from koppel.catalog.bench import mapper_runtime
from koppel.catalog.bench_ratelimit import LIMIT, WINDOW, _load, endpoint_stats
from koppel.catalog.fairness import TenantGate
from koppel.catalog.harness import Harness, make_tenant
from koppel.catalog.models import RATE_TOKENS_TABLE
from koppel.common.bus.base import Delivery, Subscription
from koppel.common.bus.rabbit import RabbitBus
from koppel.common.db import Database
from koppel.common.events import FlowRunFetched, FlowRunRequested, RunTrigger
from koppel.common.messages import Flow, Message
from koppel.common.runtime import RuntimeGroup, ServiceRuntime
from koppel.connectors.common.clock import ScaledClock
from koppel.connectors.common.sharedlimit import SharedRateLimiterRegistry
from koppel.connectors.common.sharedlimit_sql import SqlTokenStore
from koppel.connectors.eaccounting.client import EAccountingClient


async def run_replicated_benchmark(
    n: int = 1000,
    *,
    replicas: int = 2,
    time_scale: float = 1.0,
    database_url: str,
    amqp_url: str,
) -> dict[str, Any]:
    speed = 1.0 / time_scale
    suffix = uuid.uuid4().hex[:8]
    spec = dataclasses.replace(SPEC, name=f"catalog_{suffix}")
    exchange = f"koppel_bench_{suffix}"
    tenant = make_tenant("rl-replicated", articles=n, time_scale=speed)
    counts: Counter[str] = Counter()
    fetched: list[int] = []
    finished = asyncio.Event()

    async def probe(message: Message, _delivery: Delivery) -> None:
        counts[type(message).__name__] += 1
        if isinstance(message, FlowRunFetched):
            fetched.append(message.fetched)
        if fetched and counts["ProductUpserted"] + counts["ProductFailed"] >= fetched[0]:
            finished.set()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        buses = [RabbitBus(amqp_url, exchange=exchange) for _ in range(replicas)]
        groups: list[RuntimeGroup] = []
        registries: list[SharedRateLimiterRegistry] = []
        clients: list[EAccountingClient] = []
        for i, bus in enumerate(buses):
            database = Database(
                database_url, service=spec.name, tables=spec.all_tables, schema=spec.name
            )
            registry = SharedRateLimiterRegistry(
                SqlTokenStore(database.engine, table=RATE_TOKENS_TABLE, speed=speed),
                clock=ScaledClock(speed),
            )
            client = EAccountingClient(
                tenant.ea_client.settings,  # one connection id: the tenant's one budget
                tenant.eaccounting.tokens,
                transport=tenant.eaccounting.transport,
                registry=registry,
            )
            runtime = ServiceRuntime(
                spec,
                bus=bus,
                settings=Harness.settings(data_dir, schema_mode="create"),
                database=database,
                owns_bus=False,
            )
            runtime.context.deps[service.CONNECTIONS] = StaticConnections(
                eaccounting={tenant.tenant_id: client},
                accountview={tenant.tenant_id: tenant.av_client},
                settings={tenant.tenant_id: tenant.settings},
            )
            members = [runtime]
            if i == 0:
                mapper_db = Database(
                    database_url,
                    service=f"bench_mapper_{suffix}",
                    tables=[],
                    schema=f"bench_mapper_{suffix}",
                )
                members.append(
                    mapper_runtime(
                        bus, data_dir, [tenant], database=mapper_db, name=f"mapper_{suffix}"
                    )
                )
                bus.subscribe(
                    Subscription(
                        service=f"probe_{suffix}",
                        name="events",
                        patterns=("event.#",),
                        handler=probe,
                        prefetch=256,
                    )
                )
            group = RuntimeGroup(members, bus)
            await group.start()  # one after the other: the first creates the schema
            groups.append(group)
            registries.append(registry)
            clients.append(client)
        load_before = _load()
        try:
            run_id = uuid.uuid4()
            started = time.perf_counter()
            await buses[0].publish(
                [
                    FlowRunRequested(
                        tenant_id=tenant.tenant_id,
                        flow=Flow.products,
                        run_id=run_id,
                        trigger=RunTrigger.manual,
                    )
                ]
            )
            budget = 2 * (n / LIMIT) * WINDOW * time_scale + 300
            async with asyncio.timeout(budget):
                await finished.wait()
            seconds = time.perf_counter() - started
            stats = endpoint_stats(tenant)
            per_replica = [c.http.attempts for c in clients]
            deferred = [
                gate.deferred
                for g in groups
                if isinstance(gate := g.runtimes[0].context.deps.get(service.GATE), TenantGate)
            ]
        finally:
            for group in groups:
                with contextlib.suppress(Exception):
                    await group.stop()
            for registry, client in zip(registries, clients, strict=True):
                with contextlib.suppress(Exception):
                    await registry.aclose()
                await client.aclose()
            cleanup = Database(database_url, service=spec.name, schema=spec.name)
            await cleanup.drop_schema()
            await cleanup.dispose()
            cleanup = Database(
                database_url, service="bench_mapper", schema=f"bench_mapper_{suffix}"
            )
            await cleanup.drop_schema()
            await cleanup.dispose()
            with contextlib.suppress(Exception):
                await buses[0].delete_topology()
            for closing in (tenant.ea_client, tenant.av_client):
                await closing.aclose()
            await tenant.eaccounting.admin.aclose()
            await tenant.accountview.admin.aclose()
    result = {
        "mode": "replicated pipeline (RabbitMQ + PostgreSQL)",
        "articles": n,
        "replicas": replicas,
        "time_scale": time_scale,
        "limit_per_minute": LIMIT,
        "seconds": round(seconds, 1),
        "upserted": counts["ProductUpserted"],
        "failed": counts["ProductFailed"],
        "eaccounting_calls_per_replica": per_replica,
        "deferred_deliveries_per_replica": deferred,
        **stats,
        "loadavg_before": load_before,
        "loadavg_after": _load(),
    }
    print(json.dumps({"benchmark": "catalog-ratelimit", **result}))  # noqa: T201 (the benchmark prints)
    return result
