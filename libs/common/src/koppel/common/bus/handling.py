"""The consumer edge both transports share: decode, call the handler, name the outcome.

The ack policy is decided here, once, from the exception type alone (see ``errors.py``);
the transports only carry it out: ``Ack`` → acknowledge, ``Retry`` → through a delay and
back, ``Park`` → dead-letter queue plus a ``MessageDeadLettered`` event.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from uuid import UUID

from koppel.common import metrics
from koppel.common.bus import headers as h
from koppel.common.bus.base import Delivery, Subscription
from koppel.common.errors import MalformedMessage, PermanentError, TransientError
from koppel.common.events import MessageDeadLettered
from koppel.common.messages import Flow, parse_message

log = logging.getLogger(__name__)

UNKNOWN_TENANT = "unknown"
DEAD_LETTERED_KEY = MessageDeadLettered.routing_key()
# Transient failures of our own infrastructure, not of the record: the gateway (tokens,
# settings) could not be reached, the service was still starting. Their retries do not use
# up the message's retry budget (``RetryPolicy.delays``): a gateway restarted a few times in
# a row must not park orders a real deployment simply waits for. They have their own, long
# but bounded budget (``RetryPolicy.max_outage_retries``), counted in ``OUTAGES``.
OUTAGE_REASONS = frozenset({"gateway_unreachable", "not_started"})
# A service handing a message back to wait its turn (the catalog's TenantGate when the
# tenant's eAccounting quota is spent, with a Retry-After of that turn): not a failure either,
# so it retries on the same budget as an outage, after the delay it asked for.
DEFERRAL_REASONS = frozenset({"tenant_rate_limited"})
NOT_COUNTED = OUTAGE_REASONS | DEFERRAL_REASONS
OUTAGES = "x-koppel-outages"  # outage retries so far (the bus's own header, like ATTEMPT)
OWN_HEADERS = h.BUS_HEADERS | {OUTAGES}


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class Retry:
    delay: float  # seconds, from the RetryPolicy (the transport applies its own time_scale)
    reason_code: str
    reason: str
    outage: bool = False  # an infrastructure outage: the attempt count stays (see OUTAGES)


@dataclass(frozen=True)
class Park:
    reason_code: str
    reason: str


Outcome = Ack | Retry | Park


@dataclass(frozen=True)
class RawDelivery:
    """One delivery as the transport saw it, before decoding."""

    queue: str
    routing_key: str  # the original key (not the retry exchange's queue-name key)
    body: bytes
    headers: dict[str, str]
    attempt: int  # retry-path attempt: 1 + handler failures retried so far
    redelivered: bool
    message_id: str | None = None
    # Times the broker handed it out again because a consumer went away without settling it
    # (RabbitMQ's x-delivery-count): crashes, not handler failures.
    redeliveries: int = 0
    outages: int = 0  # infrastructure-outage retries so far (OUTAGES header)

    @property
    def deliveries(self) -> int:
        """How many times this message (on its current retry step) reached a consumer."""
        return self.attempt + self.redeliveries


@dataclass(frozen=True)
class ParkedMessage:
    """A dead letter as kept in a service's parking queue / list."""

    service: str
    queue: str
    routing_key: str
    message_id: str | None
    reason_code: str
    reason: str
    attempts: int
    body: bytes
    headers: dict[str, str]


async def process(subscription: Subscription, raw: RawDelivery, *, system: str) -> Outcome:
    """Run the handler for one delivery and say what to do with the message."""
    with h.consume_span(
        raw.queue, raw.routing_key, raw.headers, system=system, attempt=raw.attempt
    ) as traceparent:
        policy = subscription.retry
        if raw.redeliveries > policy.max_redeliveries or raw.attempt > policy.max_attempts:
            # Came back from dead consumers more often than any crash schedule explains:
            # probably the message itself kills the consumer, so stop before running it again.
            return Park(
                "delivery_limit",
                f"delivered {raw.deliveries} times without an outcome "
                f"({raw.redeliveries} after a consumer was lost)",
            )
        try:
            message = parse_message(raw.routing_key, raw.body)
        except MalformedMessage as exc:
            return Park(exc.reason_code, exc.reason)
        if traceparent:
            # Follow-up messages built from this one continue the consumer's trace.
            message = message.with_traceparent(traceparent)
        delivery = Delivery(
            attempt=raw.deliveries, redelivered=raw.redelivered, routing_key=raw.routing_key
        )
        try:
            await subscription.handler(message, delivery)
        except PermanentError as exc:
            return Park(exc.reason_code, exc.reason)
        except TransientError as exc:
            return _retry_or_park(subscription, raw, exc.reason_code, exc.reason, exc.retry_after)
        except Exception as exc:
            log.exception("handler of %s failed on %s", raw.queue, raw.routing_key)
            reason = f"{type(exc).__name__}: {exc}"
            return _retry_or_park(subscription, raw, "unexpected_error", reason, None)
        return Ack()


def _retry_or_park(
    subscription: Subscription,
    raw: RawDelivery,
    reason_code: str,
    reason: str,
    retry_after: float | None,
) -> Outcome:
    policy = subscription.retry
    if reason_code in NOT_COUNTED and raw.outages < policy.max_outage_retries:
        metrics.BUS_RETRIES.labels(subscription.service, subscription.name).inc()
        delay = policy.outage_delay(raw.outages + 1, retry_after)
        return Retry(delay, reason_code, reason, outage=True)
    if raw.attempt >= policy.max_attempts:
        return Park(reason_code, reason)
    metrics.BUS_RETRIES.labels(subscription.service, subscription.name).inc()
    return Retry(policy.delay_for(raw.attempt, retry_after), reason_code, reason)


def parked(subscription: Subscription, raw: RawDelivery, outcome: Park) -> ParkedMessage:
    return ParkedMessage(
        service=subscription.service,
        queue=subscription.queue,
        routing_key=raw.routing_key,
        message_id=raw.message_id or _body_field(raw.body, "message_id"),
        reason_code=outcome.reason_code,
        reason=outcome.reason,
        attempts=raw.deliveries + raw.outages,
        body=raw.body,
        # What the publisher sent (traceparent included); the bus's own headers are in the
        # fields above, and a replay must start without them.
        headers={k: v for k, v in raw.headers.items() if k not in OWN_HEADERS},
    )


def dead_letter_event(parked: ParkedMessage) -> MessageDeadLettered | None:
    """The event announcing a dead letter, or ``None`` when the dead letter is itself one.

    Parking a failed ``MessageDeadLettered`` must not announce it again: the notifier that
    failed on it would fail on the announcement too, for ever.
    """
    if parked.routing_key == DEAD_LETTERED_KEY:
        log.error("a MessageDeadLettered was parked in %s: %s", parked.queue, parked.reason)
        return None
    envelope = _envelope(parked.body)
    return MessageDeadLettered(
        **envelope,
        service=parked.service,
        queue=parked.queue,
        original_routing_key=parked.routing_key,
        original_message_id=parked.message_id,
        reason_code=parked.reason_code,
        reason=parked.reason,
        attempts=parked.attempts,
        body=parked.body.decode("utf-8", errors="replace"),
        headers=dict(parked.headers),
    )


def _body_field(body: bytes, name: str) -> str | None:
    try:
        value = json.loads(body).get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def _envelope(body: bytes) -> dict[str, object]:
    """Best-effort envelope of a body that may not validate: tenant, flow, run, correlation."""
    envelope: dict[str, object] = {"tenant_id": UNKNOWN_TENANT}
    tenant = _body_field(body, "tenant_id")
    if tenant and len(tenant) <= 64:
        envelope["tenant_id"] = tenant
    flow = _body_field(body, "flow")
    if flow is not None and flow in Flow.__members__:
        envelope["flow"] = Flow(flow)
    for name, target in (
        ("run_id", "run_id"),
        ("correlation_id", "correlation_id"),
        ("message_id", "causation_id"),
    ):
        try:
            envelope[target] = UUID(_body_field(body, name) or "")
        except ValueError:
            continue
    return envelope


def retry_headers(raw: RawDelivery, delay_ms: int, *, outage: bool = False) -> dict[str, str]:
    """Headers of the retried copy: the next attempt, or (``outage``) the same attempt and
    one more outage retry."""
    return {
        **raw.headers,
        h.ATTEMPT: str(raw.attempt if outage else raw.attempt + 1),
        OUTAGES: str(raw.outages + 1 if outage else raw.outages),
        h.ROUTING_KEY: raw.routing_key,
        h.DELAY: str(delay_ms),
    }


def parking_headers(parked: ParkedMessage) -> dict[str, str]:
    return {
        **parked.headers,
        h.SERVICE: parked.service,
        h.QUEUE: parked.queue,
        h.ROUTING_KEY: parked.routing_key,
        h.REASON_CODE: parked.reason_code,
        h.REASON: parked.reason,
        h.ATTEMPTS: str(parked.attempts),
        **({h.MESSAGE_ID: parked.message_id} if parked.message_id else {}),
    }


def from_parking_headers(body: bytes, headers: dict[str, str]) -> ParkedMessage:
    """Read back a parked message written with ``parking_headers``."""
    return ParkedMessage(
        service=headers.get(h.SERVICE, ""),
        queue=headers.get(h.QUEUE, ""),
        routing_key=headers.get(h.ROUTING_KEY, ""),
        message_id=headers.get(h.MESSAGE_ID),
        reason_code=headers.get(h.REASON_CODE, "broker_dead_lettered"),
        reason=headers.get(
            h.REASON, headers.get("x-first-death-reason", "dead-lettered by the broker")
        ),
        attempts=h.int_header(headers, h.ATTEMPTS, 0),
        body=body,
        headers={k: v for k, v in headers.items() if k not in OWN_HEADERS},
    )
