"""Notifier benchmarks.

``run_notifier_benchmark`` (``koppel bench notifier``): publishes ``count`` order events
(fetched, mapped, synced: realistic payloads) on the in-process bus and reports activity
entries stored per second.

``run_event_cpu_benchmark`` (``python -m koppel.notifier.bench [orders] [database_url]``): the
CPU the notifier spends per consumed event. It feeds one tenant's order events (fetched,
mapped, customer ensured, then synced or, every tenth order, failed; a run fetched per 50
orders) straight into the runtime's delivery wrapper of every binding that subscribes them,
as the bus consumer would (256 in flight), so the bus's own work is not counted. The tenant
has a webhook channel and a failure rule for another flow: the alert decision looks its
rules up and matches nothing, as for most tenants. Prints JSON with events per second and
CPU milliseconds (``time.process_time``) per event, after a warm-up that is not counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

from koppel.common.bus.base import Delivery
from koppel.common.bus.memory import InMemoryBus
from koppel.common.db import Database
from koppel.common.events import (
    CustomerEnsured,
    EntityRef,
    EntityType,
    FlowRunFetched,
    OrderFailed,
    OrderFetched,
    OrderMapped,
    OrderSynced,
    UpsertOutcome,
)
from koppel.common.messages import Flow, Message
from koppel.common.runtime import ServiceRuntime
from koppel.notifier.adapters.preferences import Preferences, fixed_preferences
from koppel.notifier.adapters.writer import ActivityWriter
from koppel.notifier.alerts import runner
from koppel.notifier.alerts.tables import AlertChannel, AlertRule
from koppel.notifier.app import SPEC
from koppel.notifier.config import NotifierSettings

SOURCE = {
    "Id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "Number": 1042,
    "CustomerId": "6ecd8c99-4036-403d-bf84-cf8400f67836",
    "EmailAddress": "anna@example.nl",
    "DeliveryAddress1": "Dorpsstraat 12a",
    "DeliveryPostalCode": "1234 AB",
    "DeliveryCity": "Utrecht",
    "Rows": [{"ArticleNumber": f"ART-{i:04d}", "Quantity": 2, "UnitPrice": 9.95} for i in range(3)],
}


def order_events(tenant: str, number: int) -> list[Message]:
    entity = EntityRef(type=EntityType.order, source_id=str(uuid4()), key=str(number))
    fetched = OrderFetched(
        tenant_id=tenant, flow=Flow.orders, run_id=uuid4(), entity=entity, source=SOURCE
    )
    target = {"SO_HDR": {"COMMENT1": str(number)}, "SO_LINE": SOURCE["Rows"]}
    mapped = fetched.follow_up(
        OrderMapped, entity=entity, target=target, customer={"MAIL_BUS": "a@b.nl"}, skus=["X"]
    )
    synced = mapped.follow_up(OrderSynced, entity=entity, target=target, debtor_number="10001")
    return [fetched, mapped, synced]


async def run_notifier_benchmark(
    count: int = 30000, database_url: str | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = NotifierSettings(
            data_dir=Path(tmp), database_url=database_url, purge_interval_seconds=3600
        )
        bus = InMemoryBus()
        runtime = ServiceRuntime(SPEC, bus=bus, settings=settings)
        runtime.context["preferences"] = fixed_preferences(Preferences(redact_personal_data=True))
        await runtime.start()
        try:
            events = [m for i in range(count // 3) for m in order_events("bench", i)]
            writer = runtime.context.dep("activity_writer", ActivityWriter)
            started = time.perf_counter()
            for start in range(0, len(events), 500):
                await bus.publish(events[start : start + 500])
            while writer.written < len(events):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            seconds = time.perf_counter() - started
        finally:
            await runtime.stop()
    return {
        "entries": len(events),
        "seconds": round(seconds, 3),
        "entries_per_second": round(len(events) / seconds),
        "redaction": True,
        "database": "postgresql" if database_url else "sqlite",
    }


def order_stream(tenant: str, orders: int) -> list[Message]:
    """Events of ``orders`` orders as one tenant's flows publish them (see module docstring)."""
    events: list[Message] = []
    run_id = uuid4()
    for number in range(orders):
        if number % 50 == 0:
            run_id = uuid4()
            events.append(
                FlowRunFetched(tenant_id=tenant, flow=Flow.orders, run_id=run_id, fetched=50)
            )
        entity = EntityRef(type=EntityType.order, source_id=str(uuid4()), key=str(number))
        fetched = OrderFetched(
            tenant_id=tenant, flow=Flow.orders, run_id=run_id, entity=entity, source=SOURCE
        )
        target = {"SO_HDR": {"COMMENT1": str(number)}, "SO_LINE": SOURCE["Rows"]}
        mapped = fetched.follow_up(
            OrderMapped, entity=entity, target=target, customer={"MAIL_BUS": "a@b.nl"}, skus=["X"]
        )
        customer = EntityRef(type=EntityType.customer, source_id=str(uuid4()), key="a@b.nl")
        ensured = mapped.follow_up(
            CustomerEnsured,
            entity=customer,
            debtor_number="10001",
            outcome=UpsertOutcome.unchanged,
        )
        last: Message
        if number % 10 == 9:
            last = mapped.follow_up(
                OrderFailed,
                entity=entity,
                reason_code="missing_products",
                reason="Products ART-0001 do not exist in AccountView.",
                step="sync",
                details={"missing_skus": ["ART-0001"]},
            )
        else:
            last = mapped.follow_up(
                OrderSynced, entity=entity, target=target, debtor_number="10001"
            )
        events += [fetched, mapped, ensured, last]
    return events


async def _seed_alert_config(runtime: ServiceRuntime, tenant: str) -> None:
    """One webhook channel and a failure rule for the products flow (orders never match)."""
    async with runtime.database.session() as session:
        channel = AlertChannel(
            tenant_id=tenant, name="ops", kind="webhook", config='{"url": "https://x.test/"}'
        )
        session.add(channel)
        await session.flush()
        session.add(
            AlertRule(
                tenant_id=tenant,
                kind="failure",
                flows='["products"]',
                channel_ids=f"[{channel.id}]",
            )
        )
        await session.commit()


async def _feed(runtime: ServiceRuntime, events: list[Message], in_flight: int) -> int:
    """Deliver every event to each binding subscribing it; returns the deliveries made."""
    plan = []
    for message in events:
        key = message.routing_key()
        for binding in runtime.bindings:
            if "event.#" in binding.patterns or key in binding.patterns:
                plan.append((binding, message, Delivery(1, False, key)))
    for start in range(0, len(plan), in_flight):
        batch = plan[start : start + in_flight]
        await asyncio.gather(*(runtime.deliver(b, m, d) for b, m, d in batch))
    return len(plan)


async def run_event_cpu_benchmark(
    orders: int = 2500, database_url: str | None = None, *, in_flight: int = 256
) -> dict[str, Any]:
    tenant = "bench"
    with tempfile.TemporaryDirectory() as tmp:
        settings = NotifierSettings(
            data_dir=Path(tmp),
            purge_interval_seconds=3600,
            alert_check_seconds=3600,
            alert_poll_seconds=3600,
        )
        database = None
        if database_url is not None:
            schema = f"bench_notifier_{uuid4().hex[:10]}"
            database = Database(
                database_url, service=SPEC.name, tables=SPEC.all_tables, schema=schema
            )
        runtime = ServiceRuntime(SPEC, bus=InMemoryBus(), settings=settings, database=database)
        runtime.context["preferences"] = fixed_preferences(Preferences(redact_personal_data=True))
        runtime.context[runner.TENANT_SETTINGS] = _no_settings
        await runtime.start()
        try:
            await _seed_alert_config(runtime, tenant)
            await _feed(runtime, order_stream(tenant, 100), in_flight)  # warm-up
            events = order_stream(tenant, orders)
            cpu, wall = time.process_time(), time.perf_counter()
            deliveries = await _feed(runtime, events, in_flight)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            await runtime.stop()
            if database is not None:
                await database.drop_schema()
                await database.dispose()
    return {
        "orders": orders,
        "events": len(events),
        "deliveries": deliveries,
        "seconds": round(wall, 3),
        "events_per_second": round(len(events) / wall),
        "cpu_ms_per_event": round(cpu * 1000 / len(events), 3),
        "cpu_ms_per_order": round(cpu * 1000 / orders, 3),
        "database": "postgresql" if database_url else "sqlite",
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


async def _no_settings(tenant_id: str) -> dict[str, Any]:
    return {"tenant": {"id": tenant_id}, "flows": {}}


def main() -> None:
    orders = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
    url = sys.argv[2] if len(sys.argv) > 2 else None
    result = asyncio.run(run_event_cpu_benchmark(orders, url))
    print(json.dumps({"benchmark": "notifier-events", **result}))  # noqa: T201


if __name__ == "__main__":
    main()
