"""Record outcomes through the gateway's real ``runs`` handler, which runs without an inbox:
redeliveries, a failure then a success, a success then a failure, counted once each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from koppel.common import events as ev
from koppel.common.bus.base import Delivery
from koppel.common.errors import TransientError
from koppel.common.messages import Flow, Message
from koppel.common.runtime import ServiceRuntime
from koppel.gateway.domain import Outcome
from koppel.gateway.service import run_counts
from koppel.gateway.service.run_counts import Counted

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


def counted(env: dict[str, Any], record: UUID, outcome: Outcome) -> Counted:
    return Counted(
        run_id=str(env["run_id"]),
        tenant_id=env["tenant_id"],
        correlation_id=str(record),
        outcome=outcome,
        at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        flow=Flow.orders.value,
        trigger="replay",
        started_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )


async def test_one_batch_counts_as_one_by_one(h: Harness) -> None:
    """Outcomes written together: each record once, its first success winning, two runs."""
    env, key, run_id = await start(h)
    other = {**env, "run_id": uuid4()}  # a run whose request was not seen: started here
    a, b, c, d = uuid4(), uuid4(), uuid4(), uuid4()
    await deliver(h.runtime, ev.FlowRunFetched(**env, fetched=3), failed(env, 4, d))
    await run_counts.write(
        h.gw.uow,
        [
            counted(env, a, Outcome.failed),
            counted(env, a, Outcome.synced),  # a retry that got through
            counted(env, a, Outcome.failed),  # a late report: the success stays
            counted(env, b, Outcome.skipped),
            counted(env, b, Outcome.skipped),
            counted(env, d, Outcome.synced),  # replaces the failure counted before
            counted(other, c, Outcome.failed),
        ],
    )
    run = await get(h, key, run_id)
    assert run["status"] == "succeeded"
    assert (run["counts"]["synced"], run["counts"]["skipped"], run["counts"]["failed"]) == (2, 1, 0)
    started = await get(h, key, other["run_id"])
    assert started["status"] == "running"
    assert (started["counts"]["failed"], started["trigger"]) == (1, "replay")


async def test_outcomes_in_flight_together_share_one_write(h: Harness) -> None:
    env, key, run_id = await start(h)
    records = [uuid4() for _ in range(40)]
    await deliver(h.runtime, ev.FlowRunFetched(**env, fetched=40))
    writes = 0
    real_write = run_counts.write

    async def counting_write(*args: Any) -> None:
        nonlocal writes
        writes += 1
        await real_write(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_counts, "write", counting_write)
        outcomes = [synced(env, n, r) for n, r in enumerate(records)]
        outcomes += [failed(env, 0, records[0]), synced(env, 1, records[1])]
        await asyncio.gather(*(deliver(h.runtime, m) for m in outcomes))
    run = await get(h, key, run_id)
    assert run["status"] == "succeeded"
    assert run["counts"]["synced"] == 40
    assert 1 <= writes < len(outcomes) // 2


async def test_a_failed_write_fails_every_delivery_in_it_and_the_retry_counts(
    h: Harness,
) -> None:
    env, key, run_id = await start(h)
    one, two = synced(env, 1, uuid4()), synced(env, 2, uuid4())

    async def broken_write(*_args: Any) -> None:
        raise OSError("the database went away")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_counts, "write", broken_write)
        results = await asyncio.gather(
            deliver(h.runtime, one), deliver(h.runtime, two), return_exceptions=True
        )
    assert [type(r) for r in results] == [TransientError, TransientError]
    await deliver(h.runtime, one, two, ev.FlowRunFetched(**env, fetched=2), attempt=2)
    run = await get(h, key, run_id)
    assert (run["status"], run["counts"]["synced"]) == ("succeeded", 2)


async def test_a_cancelled_writer_fails_the_others_retryably(h: Harness) -> None:
    """The delivery writing a batch is cancelled (its consumer stopped): the deliveries queued
    behind it are still written or fail retryably; none hangs, none is cancelled."""
    env, key, run_id = await start(h)
    messages = [synced(env, n, uuid4()) for n in range(4)]
    real_write = run_counts.write
    started = asyncio.Event()

    async def slow_write(*args: Any) -> None:
        started.set()
        await asyncio.sleep(0.05)
        await real_write(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_counts, "write", slow_write)
        leader = asyncio.create_task(deliver(h.runtime, messages[0]))
        await started.wait()
        others = [asyncio.create_task(deliver(h.runtime, m)) for m in messages[1:]]
        await asyncio.sleep(0)
        leader.cancel()
        results = await asyncio.gather(*others, return_exceptions=True)
    assert all(r is None or isinstance(r, TransientError) for r in results), results
    assert leader.cancelled()
    # The bus redelivers what was not acknowledged; counted once each.
    await deliver(h.runtime, *messages, ev.FlowRunFetched(**env, fetched=4), attempt=2)
    run = await get(h, key, run_id)
    assert (run["status"], run["counts"]["synced"]) == ("succeeded", 4)


async def test_an_outcome_that_cannot_be_written_fails_only_its_delivery(h: Harness) -> None:
    env, key, run_id = await start(h)
    good = [synced(env, n, uuid4()) for n in range(3)]
    bad = synced(env, 9, uuid4())
    real_write = run_counts.write

    async def picky_write(uow: Any, batch: list[Counted]) -> None:
        if any(e.correlation_id == str(bad.correlation_id) for e in batch):
            raise ValueError("a value the database refuses")
        await real_write(uow, batch)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_counts, "write", picky_write)
        results = await asyncio.gather(
            *(deliver(h.runtime, m) for m in [*good, bad]), return_exceptions=True
        )
    assert [type(r).__name__ for r in results] == ["NoneType"] * 3 + ["TransientError"]
    run = await get(h, key, run_id)
    assert run["counts"]["synced"] == 3
