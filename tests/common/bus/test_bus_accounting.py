"""What counts against a message's retry budget (``handling.process``), without a broker.

Only the handler's own failures use up ``RetryPolicy.delays``. A consumer that died holding
the message (RabbitMQ's x-delivery-count) and an outage of our own infrastructure (the
gateway unreachable) have separate, larger budgets: the chaos run SIGKILLs replicas and the
gateway many times, and a record must not be parked for that.
"""

from __future__ import annotations

from koppel.common.bus.base import Delivery, RetryPolicy, Subscription
from koppel.common.bus.handling import (
    OUTAGES,
    Ack,
    Park,
    RawDelivery,
    Retry,
    parked,
    process,
    retry_headers,
)
from koppel.common.errors import TransientError
from koppel.common.events import EntityRef, EntityType, OrderFetched
from koppel.common.messages import Message, encode_message

MESSAGE = OrderFetched(
    tenant_id="t1", entity=EntityRef(type=EntityType.order, source_id="1"), source={}
)


class Handler:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.deliveries: list[Delivery] = []

    async def __call__(self, message: Message, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if self.error is not None:
            raise self.error


def subscription(handler: Handler, policy: RetryPolicy) -> Subscription:
    return Subscription(service="test", name="main", patterns=("#",), handler=handler, retry=policy)


def raw(*, attempt: int = 1, redeliveries: int = 0, outages: int = 0) -> RawDelivery:
    return RawDelivery(
        queue="test.main",
        routing_key=MESSAGE.routing_key(),
        body=encode_message(MESSAGE),
        headers={},
        attempt=attempt,
        redelivered=redeliveries > 0,
        redeliveries=redeliveries,
        outages=outages,
    )


async def test_crash_redeliveries_do_not_use_up_the_retry_budget() -> None:
    # Given a policy of one attempt, and a message whose earlier consumers died 5 times
    handler = Handler()
    policy = RetryPolicy(delays=(), max_redeliveries=20)
    # When it is delivered again
    outcome = await process(subscription(handler, policy), raw(redeliveries=5), system="t")
    # Then the handler runs (it is told the message came back) and it is acknowledged
    assert outcome == Ack()
    assert [(d.attempt, d.redelivered) for d in handler.deliveries] == [(6, True)]


async def test_a_message_that_keeps_killing_consumers_is_parked_past_the_ceiling() -> None:
    handler = Handler()
    policy = RetryPolicy(max_redeliveries=20)
    outcome = await process(subscription(handler, policy), raw(redeliveries=21), system="t")
    assert isinstance(outcome, Park)
    assert outcome.reason_code == "delivery_limit"
    assert handler.deliveries == []


async def test_gateway_outage_retries_keep_the_attempt_and_count_outages() -> None:
    # Given a handler whose gateway cannot be reached, on its last regular attempt
    error = TransientError("the gateway could not be reached", reason_code="gateway_unreachable")
    policy = RetryPolicy(delays=(1.0, 10.0, 60.0, 300.0), time_scale=0.5)
    sub = subscription(Handler(error), policy)
    last = raw(attempt=policy.max_attempts, outages=3)
    # When it fails
    outcome = await process(sub, last, system="t")
    # Then it is retried, not parked, after a delay capped at outage_delay_cap (scaled)
    assert outcome == Retry(30.0, "gateway_unreachable", str(error), outage=True)
    # and the retried copy keeps its attempt and counts one more outage
    headers = retry_headers(last, 30_000, outage=True)
    assert (headers["x-koppel-attempt"], headers[OUTAGES]) == (str(policy.max_attempts), "4")


async def test_an_endless_outage_is_parked_after_its_own_budget() -> None:
    error = TransientError("the gateway could not be reached", reason_code="gateway_unreachable")
    policy = RetryPolicy(delays=(1.0,), max_outage_retries=60)
    sub = subscription(Handler(error), policy)
    outcome = await process(sub, raw(attempt=2, outages=60), system="t")
    assert outcome == Park("gateway_unreachable", str(error))
    # The dead letter counts every delivery; the bus's own headers are not carried on.
    dead = parked(sub, raw(attempt=2, outages=60), outcome)
    assert dead.attempts == 62
    assert OUTAGES not in dead.headers


async def test_other_transient_failures_use_up_the_budget_as_before() -> None:
    error = TransientError("503 from AccountView", reason_code="upstream_5xx")
    policy = RetryPolicy(delays=(1.0, 10.0))
    sub = subscription(Handler(error), policy)
    assert await process(sub, raw(attempt=2), system="t") == Retry(10.0, "upstream_5xx", str(error))
    assert await process(sub, raw(attempt=3), system="t") == Park("upstream_5xx", str(error))
    headers = retry_headers(raw(attempt=2), 10_000)
    assert (headers["x-koppel-attempt"], headers[OUTAGES]) == ("3", "0")


async def test_a_deferral_waits_its_turn_without_using_up_the_budget() -> None:
    # Given a handler handing the message back until its tenant's turn (in 40 s)
    error = TransientError("quota spent", reason_code="tenant_rate_limited", retry_after=40.0)
    policy = RetryPolicy(delays=(1.0, 10.0), time_scale=0.5)
    sub = subscription(Handler(error), policy)
    # When it happens on the last regular attempt
    outcome = await process(sub, raw(attempt=policy.max_attempts), system="t")
    # Then it is retried after the turn it asked for (scaled), the attempt untouched
    assert outcome == Retry(20.0, "tenant_rate_limited", str(error), outage=True)
