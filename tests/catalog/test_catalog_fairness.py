"""Two tenants at once each get their own quota, even when one tenant's whole backlog is
ahead of the other's on the shared ``ProductMapped`` queue (``koppel.catalog.fairness``).

Tenant A's run is fetched (its articles queued) before tenant B's starts. Without the gate,
A's handlers fill every delivery slot waiting for A's tokens and B's articles wait behind
A's backlog until A has spent most of its windows. With it, B is done while A is still in
its first windows. Counted, not timed: A's eAccounting calls when B is done.
"""

from __future__ import annotations

import uuid

from koppel.catalog import service
from koppel.catalog.fairness import TenantGate
from koppel.common.events import FlowRunRequested, RunTrigger
from koppel.common.messages import Flow

from .conftest import HarnessFactory, tenant

LIMIT = 40  # requests per (time-scaled) minute, client and sandbox alike
SPEED = 30.0  # sandbox seconds per real second: a "minute" lasts 2 s


def _article_calls(t: object) -> list[int | None]:
    entries = t.eaccounting.handles.requests.entries()  # type: ignore[attr-defined]
    return [e.status for e in entries if e.path.rstrip("/") == "/v2/articles"]


async def test_a_tenant_behind_a_rate_limited_backlog_gets_its_own_quota(
    start_harness: HarnessFactory,
) -> None:
    a = tenant("fair-a", articles=200, time_scale=SPEED, rate_limit=LIMIT, limit_requests=LIMIT)
    b = tenant("fair-b", articles=30, time_scale=SPEED, rate_limit=LIMIT, limit_requests=LIMIT)
    h = await start_harness(a, b)

    run_a = uuid.uuid4()
    await h.bus.publish(
        [
            FlowRunRequested(
                tenant_id=a.tenant_id, flow=Flow.products, run_id=run_a, trigger=RunTrigger.manual
            )
        ]
    )
    await h.wait(run_a, Flow.products, dry_run=True)  # A's whole catalogue is queued
    run_b = await h.run(b.tenant_id, Flow.products, timeout=50)
    a_calls_when_b_done = len(_article_calls(a))

    assert h.kinds(run_b)["ProductUpserted"] == h.kinds(run_b)["ProductFetched"] > 0
    # A is still held to its first two windows (index read + 2 x LIMIT creates at most) ...
    assert a_calls_when_b_done <= 2 * LIMIT + 1
    await h.wait(run_a, Flow.products, timeout=50)
    # ... and finishes everything later, with no 429 for either tenant.
    assert h.kinds(run_a)["ProductUpserted"] == h.kinds(run_a)["ProductFetched"] > 3 * LIMIT
    assert 429 not in _article_calls(a) + _article_calls(b)
    assert h.catalog is not None
    gate = h.catalog.context.deps[service.GATE]
    assert isinstance(gate, TenantGate) and gate.deferred > 0
