"""A run whose poll failed ends as failed, with the reason in ``GET /v1/runs/{id}``.

Regression: a run whose poll failed ("the gateway could not be reached") stayed ``running``.
The poller either says so (``FlowRunFailed``) or its request is parked after the retries
(``MessageDeadLettered`` of the ``FlowRunRequested``); both end the run.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from koppel.common import events as ev
from koppel.common.messages import Flow

from .conftest import Harness
from .test_flows import apply, enable, tenant
from .test_run_dead_letters import get, parked


async def start(h: Harness, flow: str = "customers") -> tuple[dict[str, Any], dict[str, str], UUID]:
    tenant_id, key = await tenant(h)
    await enable(h, key, flow)
    run_id = UUID((await h.client.post(f"/v1/flows/{flow}/runs", headers=key)).json()["run_id"])
    return {"tenant_id": tenant_id, "flow": Flow(flow), "run_id": run_id}, key, run_id


async def test_flow_run_failed_ends_the_run_with_its_reason(h: Harness) -> None:
    env, key, run_id = await start(h)
    reason = "Reading customers from eAccounting failed. (the gateway could not be reached)"
    await apply(h, ev.FlowRunFailed(**env, reason_code="gateway_unreachable", reason=reason))
    run = await get(h, key, run_id)
    assert run["status"] == "failed"
    assert run["reason_code"] == "gateway_unreachable"
    assert run["reason"] == reason
    assert run["ended_at"] is not None
    listed = (await h.client.get("/v1/runs", params={"status": "failed"}, headers=key)).json()
    assert [r["id"] for r in listed["items"]] == [str(run_id)]
    # The flow is free again.
    assert (await h.client.post("/v1/flows/customers/runs", headers=key)).status_code == 202


async def test_parked_run_request_fails_the_run(h: Harness) -> None:
    env, key, run_id = await start(h, "products")
    request = ev.FlowRunRequested(**env, trigger=ev.RunTrigger.manual)
    await apply(h, parked(request, service="catalog"))
    run = await get(h, key, run_id)
    assert run["status"] == "failed"
    assert run["reason_code"] == "timeout"
    assert "AccountView did not answer" in run["reason"]


async def test_parked_run_request_in_an_observer_does_not(h: Harness) -> None:
    env, key, run_id = await start(h, "products")
    request = ev.FlowRunRequested(**env, trigger=ev.RunTrigger.manual)
    await apply(h, parked(request, service="notifier"))
    assert (await get(h, key, run_id))["status"] == "running"


async def test_a_later_fetched_does_not_reopen_a_failed_run(h: Harness) -> None:
    env, key, run_id = await start(h)
    await apply(h, ev.FlowRunFailed(**env, reason_code="read_failed", reason="500"))
    await apply(h, ev.FlowRunFetched(**env, fetched=0))
    run = await get(h, key, run_id)
    assert run["status"] == "failed"
    assert run["reason_code"] == "read_failed"


async def test_zero_fetched_succeeds_at_once(h: Harness) -> None:
    env, key, run_id = await start(h, "orders")
    await apply(h, ev.FlowRunFetched(**env, fetched=0))
    run = await get(h, key, run_id)
    assert run["status"] == "succeeded"
    assert run["counts"]["fetched"] == 0
    assert run["ended_at"] is not None
