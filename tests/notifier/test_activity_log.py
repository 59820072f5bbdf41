"""The activity log: every flow event becomes an entry, redaction, journeys, filters,
dead letters with replay, and retention purge while writers keep writing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

from koppel.common.events import (
    EntityRef,
    EntityType,
    FlowRunRequested,
    MessageDeadLettered,
    OrderFailed,
    OrderFetched,
    OrderMapped,
    OrderSynced,
    RunTrigger,
)
from koppel.common.messages import Flow, utcnow
from koppel.notifier import repository
from koppel.notifier.adapters.preferences import Preferences

Notifier = Any  # the ``notifier`` fixture of conftest.py


async def wait_for(predicate: Callable[[], bool], timeout: float = 50.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


ORDER_SOURCE = {
    "Number": 1042,
    "CustomerId": "c-1",
    "EmailAddress": "anna@example.nl",
    "DeliveryAddress1": "Dorpsstraat 12",
    "Rows": [{"ArticleNumber": "ART-0001", "Quantity": 2}],
}


def order_journey(tenant: str) -> list[object]:
    entity = EntityRef(type=EntityType.order, source_id="o-1042", key="1042")
    fetched = OrderFetched(
        tenant_id=tenant, flow=Flow.orders, run_id=uuid4(), entity=entity, source=ORDER_SOURCE
    )
    mapped = fetched.follow_up(
        OrderMapped,
        entity=entity,
        target={"SO_HDR": {"COMMENT1": "1042", "TO_EMAIL": "anna@example.nl"}},
        customer={"MAIL_BUS": "anna@example.nl"},
        skus=["ART-0001"],
    )
    synced = mapped.follow_up(
        OrderSynced,
        entity=entity.model_copy(update={"target_id": "SO-77"}),
        target={"SO_HDR": {"ORD_NR": "SO-77"}},
        debtor_number="10001",
    )
    return [fetched, mapped, synced]


async def entries(notifier: Notifier, tenant: str, **filters: str) -> list[dict[str, object]]:
    response = await notifier.http.get(
        f"/internal/notifier/tenants/{tenant}/activity", params={"limit": 500, **filters}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_every_event_of_an_order_becomes_an_entry_and_the_journey_is_ordered(
    notifier: Notifier,
) -> None:
    # Given an order that was fetched, mapped and synced
    messages = order_journey("tenant-a")
    await notifier.bus.publish(messages)  # type: ignore[arg-type]
    await wait_for(lambda: notifier.runtime.context["activity_writer"].written >= 3)

    # When the tenant reads its log and the record's journey
    listed = await entries(notifier, "tenant-a")
    correlation = str(messages[0].correlation_id)  # type: ignore[attr-defined]
    journey = (
        await notifier.http.get(f"/internal/notifier/tenants/tenant-a/activity/{correlation}")
    ).json()

    # Then all three steps are there, newest first in the list and in order in the journey
    assert [e["status"] for e in listed] == ["synced", "mapped", "fetched"]
    assert [e["step"] for e in journey] == ["fetch", "map", "sync"]
    assert journey[0]["source"] == ORDER_SOURCE
    assert journey[2]["target_id"] == "SO-77"
    assert all(e["direction"] == "eaccounting_to_accountview" for e in journey)
    # And another tenant sees none of it
    assert await entries(notifier, "tenant-b") == []
    other = await notifier.http.get(f"/internal/notifier/tenants/tenant-b/activity/{correlation}")
    assert other.status_code == 404


async def test_redelivered_event_is_recorded_once(notifier: Notifier) -> None:
    fetched = order_journey("tenant-a")[0]
    await notifier.bus.publish([fetched, fetched])  # type: ignore[list-item]
    await wait_for(lambda: notifier.runtime.context["activity_writer"].written >= 2)
    assert len(await entries(notifier, "tenant-a")) == 1


async def test_redaction_hides_personal_data_but_keeps_skus(notifier: Notifier) -> None:
    notifier.prefs["tenant-r"] = Preferences(redact_personal_data=True)
    await notifier.bus.publish(order_journey("tenant-r"))  # type: ignore[arg-type]
    await wait_for(lambda: notifier.runtime.context["activity_writer"].written >= 3)

    dumped = json.dumps(await entries(notifier, "tenant-r"))
    assert "anna@example.nl" not in dumped
    assert "Dorpsstraat" not in dumped
    assert "ART-0001" in dumped
    assert "[redacted]" in dumped


async def test_filters_find_failures_by_reason_text_status_and_entity(notifier: Notifier) -> None:
    run_id = uuid4()
    for number in range(5):
        entity = EntityRef(type=EntityType.order, source_id=f"o-{number}", key=str(1000 + number))
        await notifier.bus.publish(
            [
                OrderFailed(
                    tenant_id="tenant-f",
                    flow=Flow.orders,
                    run_id=run_id,
                    entity=entity,
                    reason_code="unmapped_value" if number % 2 else "missing_products",
                    reason=f"Order {1000 + number}: no VAT code mapped for BE"
                    if number % 2
                    else f"Order {1000 + number}: products UNKNOWN-00{number} do not exist",
                    step="map",
                )
            ]
        )
    await wait_for(lambda: notifier.runtime.context["activity_writer"].written >= 5)

    assert len(await entries(notifier, "tenant-f", status="failed")) == 5
    assert len(await entries(notifier, "tenant-f", q="vat code")) == 2
    assert [e["entity_key"] for e in await entries(notifier, "tenant-f", entity="1002")] == ["1002"]
    assert len(await entries(notifier, "tenant-f", run_id=str(run_id))) == 5
    assert await entries(notifier, "tenant-f", status="synced") == []


async def test_cursor_pagination_walks_every_entry_once(notifier: Notifier) -> None:
    requests = [
        FlowRunRequested(tenant_id="tenant-p", flow=Flow.stock, trigger=RunTrigger.schedule)
        for _ in range(23)
    ]
    await notifier.bus.publish(requests)  # type: ignore[arg-type]
    await wait_for(lambda: notifier.runtime.context["activity_writer"].written >= 23)
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = (
            await notifier.http.get("/internal/notifier/tenants/tenant-p/activity", params=params)
        ).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 23
    assert len(set(seen)) == 23
    bad = await notifier.http.get(
        "/internal/notifier/tenants/tenant-p/activity", params={"cursor": "nope"}
    )
    assert bad.status_code == 422


async def test_dead_letter_is_listed_and_replayed_onto_the_bus(notifier: Notifier) -> None:
    # Given a parked OrderFetched
    original = order_journey("tenant-d")[0]
    parked = MessageDeadLettered(
        tenant_id="tenant-d",
        flow=Flow.orders,
        service="mapper",
        queue="mapper.order_fetched",
        original_routing_key=original.routing_key(),  # type: ignore[attr-defined]
        original_message_id=str(original.message_id),  # type: ignore[attr-defined]
        reason_code="unmapped_value",
        reason="no VAT code for BE",
        attempts=1,
        body=original.model_dump_json(),  # type: ignore[attr-defined]
    )
    replayed: list[bytes] = []
    real_publish_raw = notifier.bus.publish_raw

    async def spy(routing_key: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        replayed.append(body)
        await real_publish_raw(routing_key, body, headers)

    notifier.bus.publish_raw = spy  # type: ignore[method-assign]
    await notifier.bus.publish([parked])
    url = "/internal/notifier/tenants/tenant-d/dead-letters"
    for _ in range(200):
        listed = (await notifier.http.get(url)).json()["items"]
        if listed:
            break
        await asyncio.sleep(0.02)
    assert listed[0]["reason_code"] == "unmapped_value"
    assert listed[0]["attempts"] == 1
    assert listed[0]["entity_key"] == "1042"
    assert (await notifier.http.get("/internal/notifier/tenants/other/dead-letters")).json()[
        "items"
    ] == []

    # When the tenant replays everything parked for that reason
    result = (
        await notifier.http.post(f"{url}/replay", json={"reason_code": "unmapped_value"})
    ).json()

    # Then the original body went back on the bus, once, and the letter is marked replayed
    assert result["replayed"] == 1
    assert replayed == [original.model_dump_json().encode()]  # type: ignore[attr-defined]
    assert (await notifier.http.get(url)).json()["items"] == []
    again = (
        await notifier.http.post(f"{url}/replay", json={"reason_code": "unmapped_value"})
    ).json()
    assert again["replayed"] == 0


async def test_purge_removes_old_entries_in_batches_while_writers_keep_writing(
    notifier: Notifier,
) -> None:
    # Given 600 entries older than the retention
    old = utcnow() - timedelta(days=40)
    await notifier.bus.publish(
        [
            FlowRunRequested(
                tenant_id="tenant-x", flow=Flow.orders, trigger=RunTrigger.schedule, occurred_at=old
            )
            for _ in range(600)
        ]
    )
    writer = notifier.runtime.context["activity_writer"]
    await wait_for(lambda: writer.written >= 600)

    # When the purge runs in batches of 50 while 300 new entries are written
    async def write_new() -> None:
        for _ in range(30):
            await notifier.bus.publish(
                [
                    FlowRunRequested(
                        tenant_id="tenant-x", flow=Flow.orders, trigger=RunTrigger.manual
                    )
                    for _ in range(10)
                ]
            )
            await asyncio.sleep(0)

    from koppel.notifier import retention

    removed, _ = await asyncio.gather(
        retention.purge_tenant(notifier.runtime.context, "tenant-x", 30, batch=50), write_new()
    )
    await wait_for(lambda: writer.written >= 900)

    # Then exactly the old ones are gone and every new one is kept
    assert removed == 600
    async with notifier.runtime.database.session() as session:
        left, _ = await repository.list_activity(
            session, "tenant-x", repository.ActivityFilter(), cursor=None, limit=1000
        )
    assert len(left) == 300
    assert all(e.occurred_at > old + timedelta(days=1) for e in left)
