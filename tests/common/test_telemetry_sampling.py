"""Spans are recorded only when a provider exports them; traceparents flow either way."""

from __future__ import annotations

from uuid import uuid4

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from koppel.common.events import TenantConfigChanged
from koppel.common.telemetry import current_ids, setup_telemetry, with_current_trace


def test_without_an_exporter_spans_are_not_recorded_but_ids_propagate() -> None:
    provider = setup_telemetry(f"tel-drop-{uuid4().hex[:6]}")
    with provider.get_tracer("test").start_as_current_span("work") as span:
        assert not span.is_recording()
        message = with_current_trace(TenantConfigChanged(tenant_id="t1", section="x"))
        trace_id, span_id = current_ids()
    assert trace_id is not None and span_id is not None
    assert message.traceparent is not None and trace_id in message.traceparent


def test_an_exporter_added_later_turns_recording_on() -> None:
    name = f"tel-late-{uuid4().hex[:6]}"
    provider = setup_telemetry(name)
    spans = InMemorySpanExporter()
    setup_telemetry(name, exporter=spans)
    with provider.get_tracer("test").start_as_current_span("work") as span:
        assert span.is_recording()
    assert [s.name for s in spans.get_finished_spans()] == ["work"]
