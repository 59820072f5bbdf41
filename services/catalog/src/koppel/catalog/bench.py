"""Benchmark of the products flow in embedded mode (``run_catalog_benchmark``).

Both sandboxes in process, SQLite, the in-process bus. The mapper service is replaced by a
stand-in that maps an article the obvious way (services do not import each other, and the
mapper has its own benchmark), so the numbers are this service's: reading AccountView,
the per-article upsert with its link and outbox rows, and the eAccounting calls.

Prints and returns: articles/s of the initial sync with no rate limit, eAccounting calls per
created / updated / unchanged article, and the time of a re-run with nothing changed
(incremental, and a full sweep that hashes every article).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from koppel.catalog.harness import Harness, Tenant, make_tenant
from koppel.common.bus.base import MessageBus
from koppel.common.db import Database
from koppel.common.events import ProductFetched, ProductMapped
from koppel.common.messages import Flow
from koppel.common.runtime import HandlerBinding, ServiceContext, ServiceRuntime, ServiceSpec
from koppel.common.settings import KoppelSettings
from koppel.common.uow import UnitOfWork


def stand_in_mapper(harness: Harness, *tenants: Tenant) -> ServiceRuntime:
    """Maps each tenant's articles with that tenant's eAccounting ids (codings, units)."""
    return mapper_runtime(
        harness.bus, harness.data_dir, tenants, database=harness.database_for(MAPPER_SPEC)
    )


def _mapper_bindings(tenants: Sequence[Tenant]) -> Any:
    lookups = {tenant.tenant_id: tenant.lookups() for tenant in tenants}

    def bindings(_ctx: ServiceContext) -> list[HandlerBinding]:
        async def handle_product_fetched(message: ProductFetched, uow: UnitOfWork) -> None:
            a = message.source
            ids = lookups[message.tenant_id]
            target: dict[str, Any] = {
                "Number": a["ART_CODE"],
                "Name": str(a.get("ART_DESC1") or a["ART_CODE"])[:50],
                "IsActive": not a.get("REC_BLK"),
                "NetPrice": float(a.get("PX_SELL") or 0),
                "CodingId": ids["codings"]["9" if a.get("VAT_CODE") == "09" else "21"],
                "UnitId": ids["units"]["st"],
                "IsStock": True,
            }
            if a.get("BAR_CODE"):
                target["Barcodes"] = [{"Barcode": a["BAR_CODE"], "BarcodeType": 0}]
            uow.publish(message.follow_up(ProductMapped, entity=message.entity, target=target))

        return [HandlerBinding.on(ProductFetched, handle=handle_product_fetched)]

    return bindings


MAPPER_SPEC = ServiceSpec(name="bench_mapper", handlers=_mapper_bindings(()))


def mapper_runtime(
    bus: MessageBus,
    data_dir: Path,
    tenants: Sequence[Tenant],
    *,
    database: Database | None = None,
    name: str = "bench_mapper",
) -> ServiceRuntime:
    """The stand-in mapper on ``bus`` (``name`` unique per run on a shared broker)."""
    spec = ServiceSpec(name=name, handlers=_mapper_bindings(tenants))
    settings = KoppelSettings(
        time_scale=0.05,  # retry delays from 50 ms (a locked SQLite file is retried)
        data_dir=data_dir,
        log_json=False,
        log_level="WARNING",
        relay_poll_interval=4.0,  # x time_scale: 0.2 s idle poll (commits wake the relay)
        relay_batch_size=500,
    )
    return ServiceRuntime(spec, bus=bus, settings=settings, database=database, owns_bus=False)


def _throttled(tenant: Tenant) -> int:
    return int(tenant.eaccounting.handles.requests.summary()["statuses"].get("429", 0))


def _calls(tenant: Tenant) -> Counter[str]:
    counts = tenant.eaccounting.handles.requests.summary()["counts"]
    return Counter({k: v for k, v in counts.items() if "/_sandbox" not in k})


async def run_catalog_benchmark(n: int = 5000, database_url: str | None = None) -> dict[str, Any]:
    """``database_url``: None runs on SQLite (embedded); a PostgreSQL URL on fresh schemas."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        tenant = make_tenant("bench", articles=n, limit_requests=None)
        harness = Harness(data_dir=data_dir, tenants=[tenant], database_url=database_url)
        harness.extra = [stand_in_mapper(harness, tenant)]
        await harness.start()
        log = tenant.eaccounting.handles.requests
        try:
            started = time.perf_counter()
            run = await harness.run(tenant.tenant_id, Flow.products, timeout=3600)
            initial = time.perf_counter() - started
            created = harness.kinds(run)["ProductUpserted"]
            initial_calls = sum(_calls(tenant).values())

            log.clear()
            started = time.perf_counter()
            await harness.run(tenant.tenant_id, Flow.products, timeout=3600)
            rerun = time.perf_counter() - started
            rerun_calls = sum(_calls(tenant).values())

            started = time.perf_counter()
            await harness.run(tenant.tenant_id, Flow.products, full_sweep=True, timeout=3600)
            sweep = time.perf_counter() - started
            unchanged_calls = sum(_calls(tenant).values()) - rerun_calls

            changed = max(1, n // 100)
            for article in (await _codes(tenant))[:changed]:
                await tenant.accountview.call(
                    "POST", f"/_sandbox/articles/{article}", json={"price": 1.23}
                )
            log.clear()
            await harness.run(tenant.tenant_id, Flow.products, timeout=3600)
            update_calls = sum(_calls(tenant).values())
        finally:
            await harness.stop()
    result = {
        "database": "sqlite" if database_url is None else "postgresql",
        "articles": n,
        "created": created,
        "initial_sync_seconds": round(initial, 2),
        "initial_articles_per_second": round(created / initial, 1),
        "eaccounting_calls_per_created": round(initial_calls / max(created, 1), 3),
        "eaccounting_calls_per_updated": round(update_calls / changed, 3),
        "eaccounting_calls_per_unchanged": round(unchanged_calls / max(created, 1), 3),
        "no_change_rerun_seconds": round(rerun, 3),
        "no_change_rerun_eaccounting_calls": rerun_calls,
        "no_change_full_sweep_seconds": round(sweep, 2),
        "http_429": _throttled(tenant),
    }
    print(json.dumps({"benchmark": "catalog", **result}))  # noqa: T201 (the benchmark prints)
    return result


async def _codes(tenant: Tenant) -> list[str]:
    return sorted(str(a["Number"]) for a in tenant.eaccounting.handles.store.all("articles"))


if __name__ == "__main__":
    asyncio.run(run_catalog_benchmark())
