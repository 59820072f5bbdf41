"""OpenTelemetry set-up and the traceparent helpers (DESIGN.md section 7).

``setup_telemetry(service_name, settings)`` builds one ``TracerProvider`` per service name
(resource ``service.name``), exporting over OTLP/HTTP when ``KOPPEL_OTLP_ENDPOINT`` is set and
nowhere otherwise. It is safe to call many times in one process: the embedded mode runs six
services in one event loop, each with its own provider (so Jaeger still shows six services),
while the OpenTelemetry *global* provider is set once, by the first call, and serves the
instrumentations that cannot take a provider per call (httpx).

Traces cross the bus through the envelope's W3C ``traceparent``: ``UnitOfWork.publish``
stamps each message with ``current_traceparent()`` when it is written to the outbox, and the
runtime opens the consumer span with ``context_from_traceparent(message.traceparent)`` as
its parent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

from koppel.common.messages import Message
from koppel.common.settings import KoppelSettings

log = logging.getLogger(__name__)

_PROPAGATOR = TraceContextTextMapPropagator()
_PROVIDERS: dict[str, TracerProvider] = {}
_TRACERS: dict[str, tuple[TracerProvider, trace.Tracer]] = {}
_LOCK = threading.Lock()
_GLOBAL_SET = False
_HTTPX_DONE = False

M = TypeVar("M", bound=Message)


def setup_telemetry(
    service_name: str,
    settings: KoppelSettings | None = None,
    *,
    exporter: SpanExporter | None = None,
) -> TracerProvider:
    """The service's tracer provider, created on first call and reused afterwards.

    ``exporter`` adds one more exporter (tests pass an ``InMemorySpanExporter``), also to a
    provider that already exists.
    """
    global _GLOBAL_SET, _HTTPX_DONE
    settings = settings or KoppelSettings()
    with _LOCK:
        provider = _PROVIDERS.get(service_name)
        if provider is None:
            sampler = WhenExported()
            provider = TracerProvider(
                resource=Resource.create({SERVICE_NAME: service_name}), sampler=sampler
            )
            for processor in _default_processors(settings):
                provider.add_span_processor(processor)
                sampler.exporting = True
            _PROVIDERS[service_name] = provider
            if not _GLOBAL_SET:
                trace.set_tracer_provider(provider)
                _GLOBAL_SET = True
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            if isinstance(provider.sampler, WhenExported):
                provider.sampler.exporting = True
        # Instrumenting costs CPU on every HTTP call and SQL statement even when the sampler
        # then drops the span (a tenth of the orders service's time), so it waits until
        # something exports. Log lines keep their trace ids either way.
        if not _HTTPX_DONE and _exporting(provider):
            _HTTPX_DONE = True
            _instrument_httpx()
    return provider


class WhenExported(Sampler):
    """Record spans only once the provider has somewhere to send them.

    Without an OTLP endpoint (or a test's exporter) every span was still built, timed,
    given its attributes and thrown away: per message a consumer span, a span per SQL
    statement and per HTTP call, about a tenth of a service's CPU. Dropped spans keep
    valid ids, so traceparents still propagate and logs still carry trace and span ids;
    they are just not recorded."""

    def __init__(self) -> None:
        self.exporting = False

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,  # noqa: ARG002
        name: str,  # noqa: ARG002
        kind: SpanKind | None = None,  # noqa: ARG002
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,  # noqa: ARG002
        trace_state: TraceState | None = None,  # noqa: ARG002
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        state = parent.trace_state if parent.is_valid else None
        if self.exporting:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, state)
        return SamplingResult(Decision.DROP, None, state)

    def get_description(self) -> str:
        return "WhenExported"


def _exporting(provider: TracerProvider) -> bool:
    sampler = provider.sampler
    return not isinstance(sampler, WhenExported) or sampler.exporting


def _default_processors(settings: KoppelSettings) -> list[SpanProcessor]:
    processors: list[SpanProcessor] = []
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        processors.append(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if settings.otel_console:
        processors.append(SimpleSpanProcessor(ConsoleSpanExporter()))
    return processors


def _instrument_httpx() -> None:
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
    except Exception:  # instrumentation is an extra; never stop a service for it
        log.warning("httpx instrumentation failed", exc_info=True)


def tracer_for(service_name: str) -> trace.Tracer:
    """The service's tracer; the global one when ``setup_telemetry`` was not called."""
    provider = _PROVIDERS.get(service_name)
    if provider is None:
        return trace.get_tracer(f"koppel.{service_name}")
    # ``get_tracer`` builds a new tracer and scope each call; handlers ask once per message.
    cached = _TRACERS.get(service_name)
    if cached is None or cached[0] is not provider:
        cached = (provider, provider.get_tracer(f"koppel.{service_name}"))
        _TRACERS[service_name] = cached
    return cached[1]


def provider_for(service_name: str) -> TracerProvider | None:
    return _PROVIDERS.get(service_name)


def instrument_fastapi(app: Any, service_name: str) -> None:
    """Trace every request of ``app`` with the service's provider (idempotent)."""
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=_PROVIDERS.get(service_name),
            excluded_urls="healthz,readyz,metrics",
        )
    except Exception:
        log.warning("FastAPI instrumentation failed", exc_info=True)


def instrument_engine(engine: Any, service_name: str) -> None:
    """Trace the SQL of one engine with the service's provider.

    The instrumentor's ``instrument(engine=...)`` works only once per process; embedded mode
    has one engine per service, so the per-engine tracer is built directly.
    """
    provider = _PROVIDERS.get(service_name)
    if provider is None or not _exporting(provider):
        return
    try:
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

        counter = otel_metrics.get_meter("koppel.sqlalchemy").create_up_down_counter(
            "db.client.connections.usage"
        )
        EngineTracer(  # type: ignore[no-untyped-call]
            provider.get_tracer("koppel.sqlalchemy"), engine.sync_engine, counter
        )
    except Exception:
        log.warning("SQLAlchemy instrumentation failed", exc_info=True)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, or None outside any valid span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> otel_context.Context | None:
    """A context whose parent is the span named by ``traceparent`` (None if absent/invalid)."""
    if not traceparent:
        return None
    ctx = _PROPAGATOR.extract({"traceparent": traceparent})
    if not trace.get_current_span(ctx).get_span_context().is_valid:
        return None
    return ctx


def with_current_trace(message: M) -> M:
    """``message`` carrying the current span's traceparent (unchanged outside a span)."""
    traceparent = current_traceparent()
    if traceparent is None or traceparent == message.traceparent:
        return message
    return message.with_traceparent(traceparent)


def current_ids() -> tuple[str | None, str | None]:
    """(trace_id, span_id) of the current span as hex, for logs and the activity log."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None, None
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"
