"""Flow metrics counted from events: records per flow and status, failures per tenant and
reason, and fetch-to-outcome latency (the cached label children count like ``labels()``)."""

from __future__ import annotations

from uuid import uuid4

from prometheus_client import REGISTRY

from koppel.common.events import EntityRef, EntityType, OrderFailed, OrderFetched, OrderSynced
from koppel.common.messages import Flow
from koppel.notifier import domain, metrics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_records_failures_and_latency_are_counted_per_event() -> None:
    tenant = f"t-metrics-{uuid4().hex[:6]}"
    entity = EntityRef(type=EntityType.order, source_id="o-1", key="1")
    statuses = ("fetched", "synced", "failed")
    records = {s: sample("koppel_flow_records_total", flow="orders", outcome=s) for s in statuses}
    latency = sample("koppel_flow_latency_seconds_count", flow="orders")
    for _ in range(2):
        fetched = OrderFetched(
            tenant_id=tenant, flow=Flow.orders, run_id=uuid4(), entity=entity, source={}
        )
        synced = fetched.follow_up(OrderSynced, entity=entity, target={}, debtor_number="1")
        metrics.observe(fetched)
        metrics.observe(synced, domain.describe(synced))
    failed = OrderFailed(
        tenant_id=tenant,
        flow=Flow.orders,
        run_id=uuid4(),
        entity=entity,
        reason_code="unmapped_value",
        reason="why",
        step="map",
    )
    metrics.observe(failed, domain.describe(failed))

    def grew(status: str) -> float:
        now = sample("koppel_flow_records_total", flow="orders", outcome=status)
        return now - records[status]

    assert (grew("fetched"), grew("synced"), grew("failed")) == (2.0, 2.0, 1.0)
    assert sample("koppel_flow_latency_seconds_count", flow="orders") - latency == 2.0
    failures = sample(
        "koppel_flow_failures_total", tenant=tenant, flow="orders", reason_code="unmapped_value"
    )
    assert failures == 1.0
