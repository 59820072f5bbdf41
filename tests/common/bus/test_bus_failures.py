"""Retries, dead letters and poison messages, on both transports."""

from __future__ import annotations

import json
from itertools import pairwise

from bus_harness import BusHarness, Recorder, eventually

from koppel.common.bus.base import Delivery
from koppel.common.errors import PermanentError, TransientError
from koppel.common.events import (
    EntityRef,
    EntityType,
    MessageDeadLettered,
    OrderFetched,
    TenantConfigChanged,
)
from koppel.common.messages import Message, encode_message

DEAD = MessageDeadLettered.routing_key()


ORDERS = (OrderFetched.routing_key(),)  # not "event.#": that would catch the dead-letter events


def order(number: str = "1001") -> OrderFetched:
    return OrderFetched(
        tenant_id="t1",
        entity=EntityRef(type=EntityType.order, source_id=number),
        source={"number": number},
    )


def dead_letter_events(recorder: Recorder) -> list[MessageDeadLettered]:
    return [m for m, _ in recorder.calls if isinstance(m, MessageDeadLettered)]


class TestRetries:
    async def test_transient_failure_is_retried_after_the_policy_delays(
        self, harness: BusHarness
    ) -> None:
        # Given a handler that fails twice, then succeeds
        def flaky(_: Message, delivery: Delivery) -> Exception | None:
            return TransientError("busy") if delivery.attempt < 3 else None

        recorder = Recorder(fail=flaky)
        bus = await harness.started(
            harness.subscription("retry", ORDERS, recorder, delays=(0.05, 0.1))
        )
        sent = order()
        # When
        await bus.publish([sent])
        await eventually(lambda: len(recorder.calls) == 3)
        # Then: same message, growing attempt, original routing key, waits of the policy
        assert recorder.ids() == [str(sent.message_id)] * 3
        assert [d.attempt for _, d in recorder.calls] == [1, 2, 3]
        assert recorder.keys() == [OrderFetched.routing_key()] * 3
        gaps = [later - earlier for earlier, later in pairwise(recorder.at)]
        assert gaps[0] >= 0.045
        assert gaps[1] >= 0.095
        assert await bus.dead_letters(harness.service("retry")) == []

    async def test_retry_after_of_the_remote_side_wins_when_longer(
        self, harness: BusHarness
    ) -> None:
        def rate_limited(_: Message, delivery: Delivery) -> Exception | None:
            return TransientError("429", retry_after=0.3) if delivery.attempt == 1 else None

        recorder = Recorder(fail=rate_limited)
        bus = await harness.started(harness.subscription("after", ORDERS, recorder, delays=(0.01,)))
        await bus.publish([order()])
        await eventually(lambda: len(recorder.calls) == 2)
        assert recorder.at[1] - recorder.at[0] >= 0.29

    async def test_exhausted_retries_are_dead_lettered_with_reason_and_attempts(
        self, harness: BusHarness
    ) -> None:
        # Given a handler that never gets through, and the notifier's subscription
        recorder = Recorder(
            fail=lambda *_: TransientError("AccountView is down", reason_code="upstream_down")
        )
        watcher = Recorder()
        bus = await harness.started(
            harness.subscription("limit", ORDERS, recorder, delays=(0.02, 0.04)),
            harness.subscription("watch", (DEAD,), watcher),
        )
        sent = order()
        # When
        await bus.publish([sent])
        # Then: tried 1 + len(delays) times, then parked with the reason
        [dead] = await harness.parked(bus, "limit")
        assert len(recorder.calls) == 3
        assert dead.reason_code == "upstream_down"
        assert dead.reason == "AccountView is down"
        assert dead.attempts == 3
        assert dead.routing_key == OrderFetched.routing_key()
        assert dead.message_id == str(sent.message_id)
        assert dead.queue == harness.service("limit") + ".main"
        assert OrderFetched.model_validate_json(dead.body) == sent
        # ...and announced
        await eventually(lambda: len(dead_letter_events(watcher)) == 1)
        [event] = dead_letter_events(watcher)
        assert event.service == harness.service("limit")
        assert event.queue == dead.queue
        assert event.original_routing_key == OrderFetched.routing_key()
        assert event.original_message_id == str(sent.message_id)
        assert (event.reason_code, event.reason, event.attempts) == (
            "upstream_down",
            "AccountView is down",
            3,
        )
        assert event.body == encode_message(sent).decode()
        assert event.tenant_id == "t1"
        assert event.causation_id == sent.message_id
        assert all(isinstance(v, str) for v in event.headers.values())

    async def test_unexpected_exception_counts_as_transient(self, harness: BusHarness) -> None:
        recorder = Recorder(fail=lambda *_: ValueError("bug"))
        bus = await harness.started(harness.subscription("bug", ORDERS, recorder, delays=(0.02,)))
        await bus.publish([order()])
        [dead] = await harness.parked(bus, "bug")
        assert len(recorder.calls) == 2
        assert (dead.reason_code, dead.reason, dead.attempts) == (
            "unexpected_error",
            "ValueError: bug",
            2,
        )

    async def test_permanent_error_is_dead_lettered_at_once(self, harness: BusHarness) -> None:
        recorder = Recorder(
            fail=lambda *_: PermanentError("SKU X1 missing", reason_code="missing_products")
        )
        bus = await harness.started(harness.subscription("perm", ORDERS, recorder))
        await bus.publish([order()])
        [dead] = await harness.parked(bus, "perm")
        assert len(recorder.calls) == 1
        assert (dead.reason_code, dead.reason, dead.attempts) == (
            "missing_products",
            "SKU X1 missing",
            1,
        )


class TestPoisonMessages:
    async def test_malformed_bodies_are_dead_lettered_with_the_validation_error(
        self, harness: BusHarness
    ) -> None:
        # Given
        recorder, watcher = Recorder(), Recorder()
        bus = await harness.started(
            harness.subscription("poison", (*ORDERS, "nonsense.#"), recorder),
            harness.subscription("watch", (DEAD,), watcher),
        )
        key = OrderFetched.routing_key()
        # When: a body missing fields, one that is not JSON, and a key nobody knows
        await bus.publish_raw(key, json.dumps({"tenant_id": "t9"}).encode(), {"origin": "fuzz"})
        await bus.publish_raw(key, b"\xff not json")
        await bus.publish_raw("nonsense.key", b"{}")
        # Then: none reached the handler; all parked with the reason, none dropped
        parked = await harness.parked(bus, "poison", count=3)
        assert recorder.calls == []
        by_body = {p.body: p for p in parked}
        missing = by_body[json.dumps({"tenant_id": "t9"}).encode()]
        assert missing.reason_code == "malformed_message"
        assert "entity: Field required" in missing.reason
        assert missing.headers.get("origin") == "fuzz"
        assert by_body[b"\xff not json"].reason_code == "malformed_message"
        assert "does not validate" in by_body[b"\xff not json"].reason
        unknown = by_body[b"{}"]
        assert unknown.routing_key == "nonsense.key"
        assert "no message type is known" in unknown.reason
        await eventually(lambda: len(dead_letter_events(watcher)) == 3)
        tenants = sorted(e.tenant_id for e in dead_letter_events(watcher))
        assert tenants == ["t9", "unknown", "unknown"]

    async def test_a_failing_dead_letter_event_is_parked_but_not_announced_again(
        self, harness: BusHarness
    ) -> None:
        # Given a notifier that fails on every MessageDeadLettered, and an observer
        notifier = Recorder(fail=lambda *_: PermanentError("notifier broken"))
        observer = Recorder()
        sentinel_key = TenantConfigChanged.routing_key()
        bus = await harness.started(
            harness.subscription(
                "worker", ORDERS, Recorder(fail=lambda *_: PermanentError("bad order"))
            ),
            harness.subscription("notifier", (DEAD,), notifier),
            harness.subscription("observer", (DEAD, sentinel_key), observer, prefetch=1),
        )
        # When an order is dead-lettered and its announcement fails at the notifier
        await bus.publish([order()])
        [parked_event] = await harness.parked(bus, "notifier")
        sentinel = TenantConfigChanged(tenant_id="t1", section="sentinel")
        await bus.publish([sentinel])
        await eventually(lambda: str(sentinel.message_id) in observer.ids())
        # Then the observer saw the one announcement only, no announcement of the announcement
        assert parked_event.routing_key == DEAD
        assert len(dead_letter_events(observer)) == 1
        assert len(notifier.calls) == 1
