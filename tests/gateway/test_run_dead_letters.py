"""A run whose record got parked still finishes: dead letters count as failed records, once.

Regression: a record whose message was dead-lettered never reached a final outcome event, so
its run stayed ``running`` (and blocked the scheduler until it went stale).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from koppel.common import commands as cmd
from koppel.common import events as ev
from koppel.common.bus.handling import ParkedMessage, dead_letter_event
from koppel.common.messages import Flow, Message, encode_message

from .conftest import Harness
from .test_flows import apply, enable, entity, tenant


def parked(message: Message, service: str = "orders") -> ev.MessageDeadLettered:
    """The announcement the bus makes when ``message`` is parked in ``service``'s queue."""
    event = dead_letter_event(
        ParkedMessage(
            service=service,
            queue=f"{service}.q",
            routing_key=message.routing_key(),
            message_id=str(message.message_id),
            reason_code="timeout",
            reason="AccountView did not answer",
            attempts=6,
            body=encode_message(message),
            headers={},
        )
    )
    assert event is not None
    return event


async def start(h: Harness) -> tuple[dict[str, Any], dict[str, str], UUID]:
    tenant_id, key = await tenant(h)
    await enable(h, key, "orders")
    run_id = UUID((await h.client.post("/v1/flows/orders/runs", headers=key)).json()["run_id"])
    return {"tenant_id": tenant_id, "flow": Flow.orders, "run_id": run_id}, key, run_id


def mapped(env: dict[str, Any], n: int, correlation: UUID) -> ev.OrderMapped:
    return ev.OrderMapped(
        **env, correlation_id=correlation, entity=entity(n), target={}, customer={}, skus=[]
    )


def synced(env: dict[str, Any], n: int, correlation: UUID) -> ev.OrderSynced:
    return ev.OrderSynced(
        **env, correlation_id=correlation, entity=entity(n), target={}, debtor_number="1"
    )


async def get(h: Harness, key: dict[str, str], run_id: UUID) -> dict[str, Any]:
    body: dict[str, Any] = (await h.client.get(f"/v1/runs/{run_id}", headers=key)).json()
    return body


async def test_dead_lettered_record_fails_once_and_run_finishes(h: Harness) -> None:
    env, key, run_id = await start(h)
    ok, bad = uuid4(), uuid4()
    await apply(h, ev.FlowRunFetched(**env, fetched=2), synced(env, 1, ok))
    assert (await get(h, key, run_id))["status"] == "running"
    # Two of the bad record's messages are parked, and its OrderFailed arrives as well.
    ensure = cmd.EnsureCustomer(**env, correlation_id=bad, entity=entity(2), customer={})
    failed = ev.OrderFailed(
        **env, correlation_id=bad, entity=entity(2), reason_code="x", reason="y", step="create"
    )
    await apply(h, parked(mapped(env, 2, bad)))
    run = await get(h, key, run_id)
    assert run["status"] == "partially_failed"
    await apply(h, parked(ensure, service="customers"), failed)
    run = await get(h, key, run_id)
    assert run["counts"] == {
        "fetched": 2,
        "synced": 1,
        "skipped": 0,
        "failed": 1,
        "filtered_out": 0,
    }
    assert run["status"] == "partially_failed"


async def test_failed_event_then_dead_letter_is_not_counted_twice(h: Harness) -> None:
    env, key, run_id = await start(h)
    a, b = uuid4(), uuid4()
    await apply(
        h,
        ev.OrderFailed(
            **env, correlation_id=a, entity=entity(1), reason_code="x", reason="y", step="s"
        ),
        parked(mapped(env, 1, a)),
        ev.FlowRunFetched(**env, fetched=2),
    )
    assert (await get(h, key, run_id))["status"] == "running"  # b has no outcome yet
    await apply(h, parked(mapped(env, 2, b)))
    run = await get(h, key, run_id)
    assert run["status"] == "failed"
    assert run["counts"]["failed"] == 2


async def test_replay_that_succeeds_moves_the_record_to_synced(h: Harness) -> None:
    env, key, run_id = await start(h)
    ok, bad = uuid4(), uuid4()
    await apply(
        h, ev.FlowRunFetched(**env, fetched=2), synced(env, 1, ok), parked(mapped(env, 2, bad))
    )
    assert (await get(h, key, run_id))["status"] == "partially_failed"
    await apply(h, synced(env, 2, bad))  # the replayed message got through
    run = await get(h, key, run_id)
    assert run["status"] == "succeeded"
    assert run["counts"]["synced"] == 2
    assert run["counts"]["failed"] == 0
    # A late failure report of a record that already succeeded changes nothing.
    await apply(h, parked(mapped(env, 1, ok)))
    assert (await get(h, key, run_id))["counts"]["failed"] == 0


async def test_observers_and_final_events_do_not_fail_records(h: Harness) -> None:
    env, key, run_id = await start(h)
    one, two = uuid4(), uuid4()
    await apply(
        h,
        ev.FlowRunFetched(**env, fetched=2),
        parked(mapped(env, 1, one), service="notifier"),  # the activity log could not keep it
        parked(synced(env, 2, two), service="orders"),  # the outcome itself was reached
    )
    run = await get(h, key, run_id)
    assert run["status"] == "running"
    assert run["counts"]["failed"] == 0
    await apply(h, synced(env, 1, one), synced(env, 2, two))
    assert (await get(h, key, run_id))["status"] == "succeeded"


async def test_dead_letters_through_the_bus_finish_the_run(h: Harness) -> None:
    """The gateway's own subscription receives ``MessageDeadLettered``."""
    import asyncio

    env, key, run_id = await start(h)
    await h.runtime.bus.publish(
        [ev.FlowRunFetched(**env, fetched=1), parked(mapped(env, 1, uuid4()))]
    )
    for _ in range(200):
        run = await get(h, key, run_id)
        if run["status"] != "running":
            break
        await asyncio.sleep(0.02)
    assert run["status"] == "failed"
    # The scheduler is no longer blocked: a new run may start.
    again = await h.client.post("/v1/flows/orders/runs", headers=key)
    assert again.status_code == 202, again.text
