"""Benchmarks of the catalog under eAccounting's rate limit (600 requests a minute per
endpoint, enforced by the sandbox as a sliding window), time-scaled.

* ``run_ratelimit_benchmark``: the whole pipeline (AccountView → catalog → stand-in mapper →
  catalog → eAccounting), ``tenants`` tenants with ``n`` articles each syncing at once, every
  tenant with its own sandbox pair and its own budget. The time scale must leave the
  pipeline faster than the limit (it moves ~80 articles/s on SQLite on the 2-CPU test
  machine, so two tenants need a "minute" of 15 s or more), or the pipeline is measured.
* ``run_replicas_benchmark``: one tenant, ``replicas`` catalog replicas each with its own
  eAccounting client, limiter and database engine over one database (the shared tokens of
  ``catalog_rate_tokens``), creating articles through the catalog's eAccounting adapter at
  once (as their ``ProductMapped`` handlers would): together they must stay under one budget.

Per tenant, measured on the sandbox's request log (its clock, so in limit time) for the
``/v2/articles`` endpoint: 429s received, calls per limit minute between the first and the
last call and its ratio to the limit, the busiest window (at most the limit), and the
efficiency: the shortest span the limit allows for that many calls (a full window per
``limit`` calls after the first burst) over the actual span; 1.0 means the quota was used
fully, and is the figure that says "90% of the limit's throughput" for any ``n``.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from koppel.catalog.adapters.eaccounting import EAccountingArticleTarget
from koppel.catalog.bench import stand_in_mapper
from koppel.catalog.fairness import TenantGate
from koppel.catalog.harness import Harness, Tenant, make_tenant
from koppel.catalog.models import RATE_TOKENS_TABLE, RateToken
from koppel.catalog.service import GATE
from koppel.common.db import Database
from koppel.common.messages import Flow
from koppel.connectors.common.clock import ScaledClock
from koppel.connectors.common.sharedlimit import SharedRateLimiterRegistry
from koppel.connectors.common.sharedlimit_sql import SqlTokenStore
from koppel.connectors.eaccounting.client import EAccountingClient

LIMIT, WINDOW = 600, 60.0
ENDPOINT = "/v2/articles"


def _stamp(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def endpoint_stats(tenant: Tenant) -> dict[str, Any]:
    entries = tenant.eaccounting.handles.requests.entries()
    sent = [e for e in entries if not e.path.startswith("/_sandbox")]
    ours = sorted(_stamp(e.at) for e in sent if e.path.rstrip("/") == ENDPOINT)
    busiest, first = 0, 0
    for last, at in enumerate(ours):
        while ours[first] <= at - WINDOW:
            first += 1
        busiest = max(busiest, last - first + 1)
    span = ours[-1] - ours[0] if len(ours) > 1 else 0.0
    shortest = ((len(ours) - 1) // LIMIT) * WINDOW
    per_minute = (len(ours) - 1) * 60.0 / span if span else 0.0
    return {
        "http_429": sum(1 for e in sent if e.status == 429),
        "endpoint_calls": len(ours),
        "span_limit_seconds": round(span, 1),
        "calls_per_limit_minute": round(per_minute, 1),
        "ratio_to_limit": round(per_minute / LIMIT, 3),
        "busiest_window": busiest,
        "efficiency": round(shortest / span, 3) if span else None,
    }


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def run_ratelimit_benchmark(
    n: int = 1000,
    *,
    tenants: int = 2,
    time_scale: float = 0.5,
    database_url: str | None = None,
) -> dict[str, Any]:
    """``time_scale``: real seconds per limit second (0.5: the limit's minute lasts 30 s)."""
    speed = 1.0 / time_scale
    with tempfile.TemporaryDirectory() as tmp:
        group = [make_tenant(f"rl-{i}", articles=n, time_scale=speed) for i in range(tenants)]
        harness = Harness(data_dir=Path(tmp), tenants=group, database_url=database_url)
        harness.extra = [stand_in_mapper(harness, *group)]
        await harness.start()
        load_before = _load()
        try:
            started = time.perf_counter()
            budget = 2 * (n / LIMIT) * WINDOW * time_scale + 300
            runs = await asyncio.gather(
                *(harness.run(t.tenant_id, Flow.products, timeout=budget) for t in group)
            )
            seconds = time.perf_counter() - started
            assert harness.catalog is not None
            gate = harness.catalog.context.deps.get(GATE)
            deferred = gate.deferred if isinstance(gate, TenantGate) else 0
            per_tenant = {
                t.tenant_id: {
                    "upserted": harness.kinds(run)["ProductUpserted"],
                    "failed": harness.kinds(run)["ProductFailed"],
                    **endpoint_stats(t),
                }
                for t, run in zip(group, runs, strict=True)
            }
        finally:
            await harness.stop()
    result = {
        "mode": "pipeline",
        "database": "sqlite" if database_url is None else "postgresql",
        "articles_per_tenant": n,
        "time_scale": time_scale,
        "limit_per_minute": LIMIT,
        "seconds": round(seconds, 1),
        # deliveries handed back to the bus while their tenant's quota was spent (fairness)
        "deferred_deliveries": deferred,
        "tenants": per_tenant,
        "loadavg_before": load_before,
        "loadavg_after": _load(),
    }
    print(json.dumps({"benchmark": "catalog-ratelimit", **result}))  # noqa: T201 (the benchmark prints)
    return result


async def run_replicas_benchmark(
    n: int = 1000,
    *,
    replicas: int = 2,
    time_scale: float = 0.05,
    database_url: str | None = None,
    concurrency: int = 32,
) -> dict[str, Any]:
    """One tenant, ``replicas`` limiters over one database (SQLite file if no URL)."""
    speed = 1.0 / time_scale
    tenant = make_tenant("rl-shared", articles=0, time_scale=speed)
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'catalog.db'}"
        schema = f"catalog_bench_{uuid.uuid4().hex[:8]}"
        databases = [
            Database(url, service="catalog", tables=[RateToken], schema=schema)
            for _ in range(replicas)
        ]
        await databases[0].create_all()
        registries = [
            SharedRateLimiterRegistry(
                SqlTokenStore(db.engine, table=RATE_TOKENS_TABLE, speed=speed),
                clock=ScaledClock(speed),
            )
            for db in databases
        ]
        clients = [
            EAccountingClient(
                tenant.ea_client.settings,  # one connection id: one tenant's budget
                tenant.eaccounting.tokens,
                transport=tenant.eaccounting.transport,
                registry=registry,
            )
            for registry in registries
        ]
        ids = tenant.lookups()
        load_before = _load()
        try:
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    _create(EAccountingArticleTarget(c), ids, range(i, n, replicas), concurrency)
                    for i, c in enumerate(clients)
                )
            )
            seconds = time.perf_counter() - started
            stats = endpoint_stats(tenant)
            takes = sum(b.takes for r in registries for b in r._shared)  # noqa: SLF001
        finally:
            for registry, client in zip(registries, clients, strict=True):
                await registry.aclose()
                await client.aclose()
            await databases[0].drop_schema()
            for db in databases:
                await db.dispose()
            await tenant.ea_client.aclose()
            await tenant.av_client.aclose()
            await tenant.eaccounting.admin.aclose()
            await tenant.accountview.admin.aclose()
    result = {
        "mode": "replicas",
        "database": "sqlite" if database_url is None else "postgresql",
        "articles": n,
        "replicas": replicas,
        "time_scale": time_scale,
        "limit_per_minute": LIMIT,
        "seconds": round(seconds, 1),
        "token_takes_per_call": round(takes / max(stats["endpoint_calls"], 1), 3),
        **stats,
        "loadavg_before": load_before,
        "loadavg_after": _load(),
    }
    print(json.dumps({"benchmark": "catalog-ratelimit", **result}))  # noqa: T201 (the benchmark prints)
    return result


async def _create(
    target: EAccountingArticleTarget, ids: dict[str, dict[str, str]], which: range, width: int
) -> None:
    gate = asyncio.Semaphore(width)

    async def create(i: int) -> None:
        body = {
            "Number": f"RL-{i:05d}",
            "Name": f"Article {i}",
            "IsActive": True,
            "NetPrice": 10.0,
            "CodingId": ids["codings"]["21"],
            "UnitId": ids["units"]["st"],
        }
        async with gate:
            await target.create(body)

    await target.index()
    await asyncio.gather(*(create(i) for i in which))
