"""Activity-log benchmark: how many flow events per second the notifier records.

Publishes ``count`` order events (fetched, mapped, synced: realistic payloads) on the
in-process bus to a notifier on SQLite, or on PostgreSQL with ``database_url``, and reports
entries stored per second. Run ``python -m koppel.notifier.bench [count] [database_url]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

from koppel.common.bus.memory import InMemoryBus
from koppel.common.events import EntityRef, EntityType, OrderFetched, OrderMapped, OrderSynced
from koppel.common.messages import Flow, Message
from koppel.common.runtime import ServiceRuntime
from koppel.notifier.adapters.preferences import Preferences, fixed_preferences
from koppel.notifier.adapters.writer import ActivityWriter
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


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30000
    url = sys.argv[2] if len(sys.argv) > 2 else None
    result = asyncio.run(run_notifier_benchmark(count, url))
    print(json.dumps({"benchmark": "notifier", **result}))  # noqa: T201


if __name__ == "__main__":
    main()
