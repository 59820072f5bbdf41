"""A trace crosses the bus: PRODUCER and CONSUMER spans, traceparent in the headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bus_harness import BusHarness, Recorder, eventually
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracer, SpanKind

from koppel.common.bus import headers
from koppel.common.bus.base import MessageBus
from koppel.common.bus.memory import InMemoryBus
from koppel.common.bus.rabbit import RabbitBus
from koppel.common.events import EntityRef, EntityType, OrderFetched

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
ORDERS = (OrderFetched.routing_key(),)


def order() -> OrderFetched:
    return OrderFetched(
        tenant_id="t1", entity=EntityRef(type=EntityType.order, source_id="1"), source={}
    )


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Record the bus's spans with a private SDK provider (the global one stays untouched)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(headers, "_tracer", provider.get_tracer("test"))
    yield exporter
    provider.shutdown()


async def test_trace_of_the_message_continues_in_the_consumer(
    harness: BusHarness, spans: InMemorySpanExporter
) -> None:
    # Given a message created in a trace (e.g. before it waited in the outbox)
    recorder = Recorder()
    bus = await harness.started(harness.subscription("trace", ORDERS, recorder))
    sent = order().with_traceparent(f"00-{TRACE_ID}-b7ad6b7169203331-01")
    # When
    await bus.publish([sent])
    await eventually(lambda: len(recorder.calls) == 1)
    # Then the handler's message carries the consumer span, in the same trace
    received, _ = recorder.calls[0]
    assert received.traceparent is not None
    assert received.traceparent.split("-")[1] == TRACE_ID
    await eventually(lambda: len(spans.get_finished_spans()) >= 2)
    by_kind = {span.kind: span for span in spans.get_finished_spans()}
    producer, consumer = by_kind[SpanKind.PRODUCER], by_kind[SpanKind.CONSUMER]
    assert format(producer.context.trace_id, "032x") == TRACE_ID
    assert consumer.context.trace_id == producer.context.trace_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == producer.context.span_id
    assert received.traceparent.split("-")[2] == format(consumer.context.span_id, "016x")


async def test_traceparent_travels_in_the_headers_without_an_sdk(
    harness: BusHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No tracer provider configured: the caller's trace is still handed on unchanged.
    monkeypatch.setattr(headers, "_tracer", NoOpTracer())
    recorder = Recorder(fail=lambda *_: ValueError("park it"))
    bus = await harness.started(harness.subscription("plain", ORDERS, recorder, delays=()))
    traceparent = f"00-{TRACE_ID}-b7ad6b7169203331-01"
    await bus.publish([order().with_traceparent(traceparent)])
    [dead] = await harness.parked(bus, "plain")
    assert dead.headers["traceparent"] == traceparent
    received, _ = recorder.calls[0]
    assert received.traceparent == traceparent


def test_both_transports_are_message_buses() -> None:
    buses: list[MessageBus] = [InMemoryBus(), RabbitBus("amqp://127.0.0.1/")]
    assert len(buses) == 2
