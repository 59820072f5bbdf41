"""eAccounting's 600 requests a minute per endpoint, time-scaled: the catalog's article
writes through the per-tenant × endpoint token bucket get no 429, use the quota fully, and
two tenants each get their own.

The writes are driven through the catalog's eAccounting adapter with many concurrent
creates (as many ``ProductMapped`` handlers would), because the embedded bus + SQLite
pipeline is slower than a time-scaled limit (see ``bench.py``); the bucket is what keeps the
run under the limit, and it sits below the adapter. Throughput is printed, not asserted.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from koppel.catalog.adapters.eaccounting import EAccountingArticleTarget
from koppel.catalog.harness import Tenant, make_tenant

SCALE = 10.0  # sandbox seconds per real second: a minute passes in 6 s
LIMIT, WINDOW = 600, 60.0


async def initial_sync(t: Tenant, n: int, concurrency: int = 32) -> None:
    target = EAccountingArticleTarget(t.ea_client)
    ids = t.lookups()
    gate = asyncio.Semaphore(concurrency)

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
            _, created = await target.create(body)
            assert created

    await target.index()
    await asyncio.gather(*(create(i) for i in range(n)))


def stamps(t: Tenant) -> tuple[list[float], list[int | None]]:
    entries = [e for e in t.eaccounting.handles.requests.entries() if "/v2/articles" in e.path]
    times = [datetime.fromisoformat(e.at.replace("Z", "+00:00")).timestamp() for e in entries]
    return sorted(times), [e.status for e in entries]


def busiest_window(times: list[float]) -> int:
    best, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - WINDOW:
            start += 1
        best = max(best, end - start + 1)
    return best


def efficiency(times: list[float]) -> float:
    """Shortest possible duration under the limit / actual duration (1.0 = the full quota)."""
    shortest = ((len(times) - 1) // LIMIT) * WINDOW
    return shortest / max(times[-1] - times[0], 1e-9)


async def test_one_tenant_stays_under_the_limit_with_no_429(capsys) -> None:  # type: ignore[no-untyped-def]
    t = make_tenant("solo", articles=0, time_scale=SCALE)
    try:
        await initial_sync(t, 1300)
        times, statuses = stamps(t)
        assert 429 not in statuses
        assert busiest_window(times) <= LIMIT
        assert len(t.eaccounting.handles.store.all("articles")) == 1300
        with capsys.disabled():
            print(
                f"\n[ratelimit] one tenant: {len(times)} requests, efficiency {efficiency(times):.3f}"
            )
    finally:
        await t.ea_client.aclose()
        await t.eaccounting.admin.aclose()


async def test_two_tenants_each_get_their_own_quota(capsys) -> None:  # type: ignore[no-untyped-def]
    # Half the time scale: two tenants at once double the requests the (shared, 2-CPU) test
    # machine serves; the limit per tenant is the same.
    a = make_tenant("tenant-a", articles=0, time_scale=SCALE / 2)
    b = make_tenant("tenant-b", articles=0, time_scale=SCALE / 2)
    try:
        await asyncio.gather(initial_sync(a, 700), initial_sync(b, 700))
        for t in (a, b):
            times, statuses = stamps(t)
            assert 429 not in statuses
            assert busiest_window(times) <= LIMIT
            # each tenant used (nearly) a full quota in its first window: nobody waited
            # on the other's bucket
            assert busiest_window(times) == LIMIT
            with capsys.disabled():
                print(
                    f"\n[ratelimit] {t.tenant_id}: {len(times)} requests, "
                    f"efficiency {efficiency(times):.3f}"
                )
        buckets = set(a.ea_client.http.registry.buckets()) | set(
            b.ea_client.http.registry.buckets()
        )
        assert {key[0] for key in buckets} == {"tenant-a:eaccounting", "tenant-b:eaccounting"}
    finally:
        for t in (a, b):
            await t.ea_client.aclose()
            await t.eaccounting.admin.aclose()


async def test_the_whole_pipeline_gets_no_429_from_a_time_scaled_limit(
    start_harness,  # type: ignore[no-untyped-def]
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    """AccountView → catalog → mapper → catalog → eAccounting with 600/minute enforced at a
    time scale the embedded pipeline can outrun (a "minute" of 20 s), so the bucket binds."""
    from koppel.common.messages import Flow

    from .conftest import tenant

    t = tenant("piped", articles=700, time_scale=3.0)
    h = await start_harness(t)

    run = await h.run(t.tenant_id, Flow.products, timeout=55)

    times, statuses = stamps(t)
    assert 429 not in statuses
    assert busiest_window(times) <= LIMIT
    assert h.kinds(run)["ProductUpserted"] == h.kinds(run)["ProductFetched"] > LIMIT
    with capsys.disabled():
        print(
            f"\n[ratelimit] pipeline: {len(times)} requests, busiest minute "
            f"{busiest_window(times)}, efficiency {efficiency(times):.3f}"
        )
