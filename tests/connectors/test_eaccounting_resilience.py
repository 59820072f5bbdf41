"""eAccounting connector under injected faults and under the 600/minute/endpoint limit."""

from __future__ import annotations

import asyncio
from datetime import datetime

from koppel.connectors.common import ScaledClock

from .conftest import Sandbox, make_ea_client
from .test_eaccounting_client import new_article

N_CREATES = 500


async def test_500_article_creates_under_faults_each_exactly_once(ea_sandbox: Sandbox) -> None:
    # Given 20% 5xx (half after the write committed), 10% 429 and 5% timeouts
    await ea_sandbox.admin_json("POST", "/_sandbox/ratelimit", json={"limit": 100000})
    clock = ScaledClock(1000)  # the 429s ask for 30 s: 0.03 s here
    ea = make_ea_client(ea_sandbox, clock=clock, total_timeout_seconds=0.25, max_attempts=10)
    template = await new_article(ea, "X")
    await ea_sandbox.faults(
        error_5xx=0.10,
        error_5xx_after_write=0.10,
        rate_429=0.10,
        timeout=0.05,
        timeout_seconds=5.0,
        seed=11,
    )

    # When 500 articles are created concurrently, each by its SKU
    async def create(i: int) -> bool:
        article = template.model_copy(update={"number": f"CHAOS-{i:04d}", "name": f"Chaos {i}"})
        return (await ea.create_article_once(article)).created

    results = await asyncio.gather(*(create(i) for i in range(N_CREATES)))
    injected = (await ea_sandbox.admin_json("GET", "/_sandbox/faults"))["injected"]
    await ea_sandbox.faults()
    await ea.aclose()

    # Then each exists exactly once, reached in a bounded number of attempts
    state = await ea_sandbox.admin_json("GET", "/_sandbox/state")
    numbers = [a["Number"] for a in state["data"]["articles"] if a["Number"].startswith("CHAOS-")]
    assert len(numbers) == N_CREATES
    assert len(set(numbers)) == N_CREATES
    attempts = ea.http.attempts
    print(
        f"\n[ea chaos] creates={N_CREATES} http_attempts={attempts} per_record={attempts / N_CREATES:.2f} "
        f"created_by_post={sum(results)} found_after_ambiguous={N_CREATES - sum(results)} injected={injected}"
    )
    assert injected.get("error_5xx_after_write", 0) > 0
    assert injected.get("timeout", 0) > 0
    assert attempts < N_CREATES * 4


async def test_burst_gets_no_429_at_full_throughput(ea_sandbox: Sandbox) -> None:
    # Given the published 600/minute per endpoint, with the sandbox clock running 60x
    # (600 sandbox-requests per sandbox-minute = 600 per real second would make the test
    # CPU-bound, so the window holds 60 and the clock runs 60x: 60 per real second).
    limit, scale, n = 60, 60.0, 180
    await ea_sandbox.admin_json(
        "POST", "/_sandbox/ratelimit", json={"limit": limit, "window_seconds": 60}
    )
    await ea_sandbox.admin_json("POST", "/_sandbox/clock", json={"time_scale": scale})
    ea = make_ea_client(
        ea_sandbox,
        clock=ScaledClock(scale),
        rate_limit_requests=limit,
        rate_limit_window_seconds=60,
    )
    ids = [c.id async for page in ea.iter_customers() for c in page.data]
    await ea_sandbox.admin.delete("/_sandbox/requests")
    ea.http.responses_by_status.clear()

    # When a burst of reads on one endpoint arrives at once
    await asyncio.gather(*(ea.get_customer(ids[i % len(ids)]) for i in range(n)))  # type: ignore[arg-type]
    await ea.aclose()

    # Then no 429 at all, and the throughput is the limit
    assert ea.http.responses_by_status.get(429, 0) == 0
    log = await ea_sandbox.admin_json("GET", "/_sandbox/requests", params={"limit": 100000})
    times = sorted(datetime.fromisoformat(e["at"].replace("Z", "+00:00")) for e in log["entries"])
    assert len(times) == n
    rel = [(t - times[0]).total_seconds() for t in times]
    per_minute = sum(1 for r in rel if r < 120.0) / 2
    print(
        f"\n[ea rate] limit={limit}/min sent={n} 429s=0 throughput={per_minute:.1f}/min ({per_minute / limit:.1%} of limit)"
    )
    assert 0.9 * limit <= per_minute <= limit
