"""Record outcomes through the gateway's real ``runs`` handler, which runs without an inbox:
redeliveries, a failure then a success, a success then a failure, counted once each."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from koppel.common import events as ev
from koppel.common.bus.base import Delivery
from koppel.common.messages import Message
from koppel.common.runtime import ServiceRuntime

from .conftest import Harness
from .test_run_dead_letters import get, mapped, parked, start, synced


def failed(env: dict[str, Any], n: int, correlation: UUID) -> ev.OrderFailed:
    return ev.OrderFailed(
        **env,
        correlation_id=correlation,
        entity=ev.EntityRef(type=ev.EntityType.order, source_id=str(n)),
        reason_code="timeout",
        reason="AccountView did not answer",
        step="order",
    )


async def deliver(runtime: ServiceRuntime, *messages: Message, attempt: int = 1) -> None:
    """What the bus does with each message: the ``runs`` binding's wrapper, commit included."""
    (binding,) = [b for b in runtime.bindings if b.name == "runs"]
    for message in messages:
        delivery = Delivery(
            attempt=attempt, redelivered=attempt > 1, routing_key=message.routing_key()
        )
        await runtime.deliver(binding, message, delivery)


async def test_the_runs_handler_keeps_no_inbox(h: Harness) -> None:
    (binding,) = [b for b in h.runtime.bindings if b.name == "runs"]
    assert binding.inbox is False


async def test_a_redelivered_outcome_counts_once(h: Harness) -> None:
    env, key, run_id = await start(h)
    one, two = uuid4(), uuid4()
    await deliver(h.runtime, ev.FlowRunFetched(**env, fetched=2), synced(env, 1, one))
    again = synced(env, 1, one)
    await deliver(h.runtime, again)
    await deliver(h.runtime, again, attempt=2)  # the same message, redelivered
    run = await get(h, key, run_id)
    assert run["status"] == "running"
    assert run["counts"]["synced"] == 1
    await deliver(h.runtime, failed(env, 2, two), failed(env, 2, two))
    run = await get(h, key, run_id)
    assert run["status"] == "partially_failed"
    assert run["counts"] == {
        "fetched": 2,
        "synced": 1,
        "skipped": 0,
        "failed": 1,
        "filtered_out": 0,
    }
    ended_at = run["ended_at"]
    assert ended_at is not None
    # Redeliveries after the run finished change nothing either, not even its end.
    await deliver(h.runtime, again, failed(env, 2, two), attempt=3)
    assert await get(h, key, run_id) == run


async def test_failure_then_success_counts_the_success_once(h: Harness) -> None:
    env, key, run_id = await start(h)
    record = uuid4()
    success = synced(env, 1, record)
    await deliver(h.runtime, failed(env, 1, record), parked(mapped(env, 1, record)))
    assert (await get(h, key, run_id))["counts"]["failed"] == 1
    await deliver(h.runtime, success, success)
    await deliver(h.runtime, ev.FlowRunFetched(**env, fetched=1))
    run = await get(h, key, run_id)
    assert run["status"] == "succeeded"
    assert (run["counts"]["synced"], run["counts"]["failed"]) == (1, 0)
    # A failure reported after the success does not undo it.
    await deliver(h.runtime, failed(env, 1, record), parked(mapped(env, 1, record)))
    run = await get(h, key, run_id)
    assert run["status"] == "succeeded"
    assert (run["counts"]["synced"], run["counts"]["failed"]) == (1, 0)


async def test_late_success_recomputes_a_finished_run_but_not_its_end(h: Harness) -> None:
    env, key, run_id = await start(h)
    one, two = uuid4(), uuid4()
    await deliver(
        h.runtime, ev.FlowRunFetched(**env, fetched=2), failed(env, 1, one), failed(env, 2, two)
    )
    run = await get(h, key, run_id)
    assert run["status"] == "failed"
    h.clock.advance(60)
    await deliver(h.runtime, synced(env, 1, one))
    later = await get(h, key, run_id)
    assert later["status"] == "partially_failed"
    assert later["ended_at"] == run["ended_at"]
    await deliver(h.runtime, synced(env, 2, two))
    assert (await get(h, key, run_id))["status"] == "succeeded"


async def test_a_run_failed_as_a_whole_stays_failed(h: Harness) -> None:
    env, key, run_id = await start(h)
    one = uuid4()
    await deliver(
        h.runtime,
        failed(env, 1, one),
        ev.FlowRunFailed(**env, reason_code="read_failed", reason="AccountView answered 500"),
        synced(env, 1, one),
        ev.FlowRunFetched(**env, fetched=1),
    )
    run = await get(h, key, run_id)
    assert run["status"] == "failed"
    assert run["reason_code"] == "read_failed"
    assert (run["counts"]["synced"], run["counts"]["failed"]) == (1, 0)


async def test_outcomes_of_a_run_not_seen_yet_start_it(h: Harness) -> None:
    env, key, _ = await start(h)
    env = {**env, "run_id": uuid4()}
    await deliver(h.runtime, synced(env, 1, uuid4()), ev.FlowRunFetched(**env, fetched=1))
    run = await get(h, key, env["run_id"])
    assert run["status"] == "succeeded"
    assert run["trigger"] == "replay"
