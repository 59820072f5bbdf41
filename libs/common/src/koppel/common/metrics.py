"""Prometheus metrics every service exposes on ``/metrics`` (DESIGN.md section 7).

All live in the default registry, labelled by ``service``, so the embedded mode (six
services, one process) serves one page that still tells them apart. No ``tenant_id`` label
here: handler and relay metrics multiply by handler and outcome already, and tenants are
unbounded. Per-tenant counts belong where the set is small and known (API calls and 429s by
tenant and API, in the connectors), or in the activity log.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

MESSAGES_HANDLED = Counter(
    "koppel_messages_handled_total",
    "Messages a handler finished, by outcome (ok, duplicate, transient, permanent).",
    ["service", "handler", "outcome"],
)
MESSAGES_FAILED = Counter(
    "koppel_messages_failed_total",
    "Messages whose handler raised, by error kind (transient, permanent).",
    ["service", "handler", "kind"],
)
HANDLER_DURATION = Histogram(
    "koppel_handler_duration_seconds",
    "Time a handler took, including its commit.",
    ["service", "handler"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
OUTBOX_PENDING = Gauge(
    "koppel_outbox_pending",
    "Outbox rows not yet published, as last seen by the relay.",
    ["service"],
)
BUS_RETRIES = Counter(
    "koppel_bus_retries_total",
    "Deliveries sent back through a retry delay (a transient failure before the last attempt).",
    ["service", "handler"],
)
RELAY_PUBLISHED = Counter(
    "koppel_relay_published_total",
    "Outbox rows the relay published to the bus.",
    ["service"],
)
RELAY_ERRORS = Counter(
    "koppel_relay_errors_total",
    "Relay batches that failed to publish (retried later).",
    ["service"],
)


def render_latest() -> tuple[bytes, str]:
    """The exposition text and its content type, for a ``/metrics`` route."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
