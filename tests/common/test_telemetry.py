"""Traces cross services through the bus; logs are JSON lines with ids and no secrets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path
from uuid import uuid4

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from koppel.common.bus.memory import InMemoryBus
from koppel.common.events import ConnectionNeedsConsent, TenantConfigChanged
from koppel.common.logging import JsonFormatter, RedactingFilter, log_context
from koppel.common.runtime import HandlerBinding, RuntimeGroup, ServiceRuntime, ServiceSpec
from koppel.common.settings import KoppelSettings
from koppel.common.telemetry import (
    current_traceparent,
    setup_telemetry,
    tracer_for,
    with_current_trace,
)
from koppel.common.uow import UnitOfWork


async def test_one_trace_crosses_two_services_through_the_bus(tmp_path: Path) -> None:
    # Given two services, each with its own tracer provider, exporting to one memory exporter
    suffix = uuid4().hex[:6]
    first, second = f"tel-first-{suffix}", f"tel-second-{suffix}"
    spans = InMemorySpanExporter()
    setup_telemetry(first, exporter=spans)
    setup_telemetry(second, exporter=spans)
    done = asyncio.Event()

    async def forward(message: TenantConfigChanged, uow: UnitOfWork) -> None:
        uow.publish(message.follow_up(ConnectionNeedsConsent, system="eaccounting", reason="x"))

    async def finish(message: ConnectionNeedsConsent, uow: UnitOfWork) -> None:
        done.set()

    bus = InMemoryBus()
    settings = KoppelSettings(data_dir=tmp_path, relay_poll_interval=0.05)
    group = RuntimeGroup(
        [
            ServiceRuntime(
                ServiceSpec(
                    first,
                    handlers=lambda _c: [HandlerBinding.on(TenantConfigChanged, handle=forward)],
                ),
                bus=bus,
                settings=settings,
            ),
            ServiceRuntime(
                ServiceSpec(
                    second,
                    handlers=lambda _c: [HandlerBinding.on(ConnectionNeedsConsent, handle=finish)],
                ),
                bus=bus,
                settings=settings,
            ),
        ],
        bus,
    )
    await group.start()
    try:
        # When a request in the first service starts the flow
        with tracer_for(first).start_as_current_span("incoming request") as root:
            trigger = with_current_trace(TenantConfigChanged(tenant_id="t1", section="x"))
            await bus.publish([trigger])
        await asyncio.wait_for(done.wait(), 30)
    finally:
        await group.stop()

    # Then both handlers' spans belong to the request's trace, each under its own service
    trace_id = root.get_span_context().trace_id
    finished = {s.name: s for s in spans.get_finished_spans()}
    forward_span = finished[f"{first}.forward"]
    finish_span = finished[f"{second}.finish"]
    assert forward_span.context.trace_id == trace_id
    assert finish_span.context.trace_id == trace_id
    assert forward_span.resource.attributes["service.name"] == first
    assert finish_span.resource.attributes["service.name"] == second
    assert finish_span.start_time >= forward_span.start_time


async def test_published_messages_carry_the_current_traceparent(tmp_path: Path) -> None:
    from koppel.common.db import Database
    from koppel.common.outbox import OutboxMessage

    provider = setup_telemetry(f"tel-stamp-{uuid4().hex[:6]}")
    assert current_traceparent() is None
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path}/stamp.db", service="stamp", tables=[OutboxMessage]
    )
    await database.create_all()
    try:
        with provider.get_tracer("test").start_as_current_span("work") as span:
            async with UnitOfWork(database) as uow:
                uow.publish(TenantConfigChanged(tenant_id="t1", section="x"))
                await uow.commit()
            [message] = uow.published
        async with database.session() as session:
            row = await session.get(OutboxMessage, 1)
    finally:
        await database.dispose()
    trace_hex = f"{span.get_span_context().trace_id:032x}"
    assert message.traceparent is not None
    assert trace_hex in message.traceparent
    assert row is not None
    assert row.headers["traceparent"] == message.traceparent


def test_setup_telemetry_twice_returns_the_same_provider() -> None:
    name = f"tel-twice-{uuid4().hex[:6]}"
    assert setup_telemetry(name) is setup_telemetry(name, KoppelSettings())


def test_log_lines_are_json_with_context_and_trace_ids() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"koppel.test.{uuid4().hex[:6]}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    provider = setup_telemetry(f"tel-log-{uuid4().hex[:6]}")

    with (
        log_context(tenant_id="t42", correlation_id="c-1"),
        provider.get_tracer("test").start_as_current_span("x") as span,
    ):
        logger.info("refreshed for %s", "t42", extra={"attempt": 2})

    entry = json.loads(stream.getvalue())
    assert entry["msg"] == "refreshed for t42"
    assert entry["tenant_id"] == "t42"
    assert entry["correlation_id"] == "c-1"
    assert entry["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert entry["attempt"] == 2
    assert entry["level"] == "INFO"


def test_secrets_never_reach_the_log() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"koppel.test.{uuid4().hex[:6]}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    logger.info(
        "calling with access_token=abc123 and %s",
        {"client_secret": "s3cr3t", "Authorization": "Bearer xyz789", "tenant": "t1"},
        extra={"password": "hunter2", "refresh_token": "r-456"},
    )
    logger.info('header "authorization": "Bearer qwe987"')

    text = stream.getvalue()
    for secret in ("abc123", "s3cr3t", "xyz789", "hunter2", "r-456", "qwe987"):
        assert secret not in text
    assert "t1" in text
    assert "***" in text
    assert len(text.strip().splitlines()) == 2
