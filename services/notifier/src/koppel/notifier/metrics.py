"""Flow-level Prometheus metrics, counted where every event passes: the notifier.

Tenant is a label only on failures (bounded by the number of tenants times reason codes);
records per flow and outcome carry no tenant.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from prometheus_client import Counter, Histogram

from koppel.common.events import FailureEvent, MessageDeadLettered, RecordEvent
from koppel.common.messages import Message
from koppel.notifier import domain

FLOW_RECORDS = Counter(
    "koppel_flow_records_total", "Records by flow and outcome status", ["flow", "outcome"]
)
FLOW_FAILURES = Counter(
    "koppel_flow_failures_total",
    "Failed records by tenant, flow and reason",
    ["tenant", "flow", "reason_code"],
)
DEAD_LETTERS = Counter(
    "koppel_dead_letters_total",
    "Messages parked in a dead-letter queue",
    ["service", "reason_code"],
)
FLOW_LATENCY = Histogram(
    "koppel_flow_latency_seconds",
    "From a record's fetch to its final outcome",
    ["flow"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)

# Labelled children of the per-event series, by label values: ``labels()`` validates and
# locks on every call, and these few combinations (flow x status) repeat on every event.
_RECORDS: dict[tuple[str, str], Any] = {}
_LATENCY: dict[str, Any] = {}

_FETCHED_AT: OrderedDict[object, float] = OrderedDict()
_MAX_TRACKED = 50_000  # bounded memory: the oldest unfinished records are forgotten


def observe(message: Message, described: domain.EntryDraft | None = None) -> None:
    """Count ``message``; ``described``: its ``domain.describe`` when the caller has it."""
    flow = message.flow.value if message.flow else "none"
    if isinstance(message, MessageDeadLettered):
        DEAD_LETTERS.labels(message.service, message.reason_code).inc()
        return
    if not isinstance(message, RecordEvent):
        return
    draft = described if described is not None else domain.describe(message)
    if draft is None:
        return
    records = _RECORDS.get((flow, draft.status))
    if records is None:
        records = _RECORDS[(flow, draft.status)] = FLOW_RECORDS.labels(flow, draft.status)
    records.inc()
    if isinstance(message, FailureEvent):
        FLOW_FAILURES.labels(message.tenant_id, flow, message.reason_code).inc()
    key = message.correlation_id
    if draft.status == "fetched":
        _FETCHED_AT[key] = time.monotonic()
        if len(_FETCHED_AT) > _MAX_TRACKED:
            _FETCHED_AT.popitem(last=False)
    elif draft.status in domain.FINAL_STATUSES:
        started = _FETCHED_AT.pop(key, None)
        if started is not None:
            latency = _LATENCY.get(flow)
            if latency is None:
                latency = _LATENCY[flow] = FLOW_LATENCY.labels(flow)
            latency.observe(time.monotonic() - started)
