"""Message headers both transports write, and the OpenTelemetry spans around publish and handle.

Header values are always ``str``: AMQP tables could carry ints or bytes, but a dead letter's
headers travel again inside ``MessageDeadLettered.headers`` (JSON) and are compared by tests,
so one value type everywhere keeps replays exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

from koppel.common.messages import Message

ATTEMPT = "x-koppel-attempt"  # 1 on the first delivery; the retry path bumps it
ROUTING_KEY = "x-koppel-routing-key"  # the original key, once a retry re-routed by queue name
# Which delay queue (ms) a retry waits in. No "x-" prefix: a headers exchange ignores those.
DELAY = "koppel-delay-ms"
SERVICE = "x-koppel-service"
QUEUE = "x-koppel-queue"
REASON_CODE = "x-koppel-reason-code"
REASON = "x-koppel-reason"
ATTEMPTS = "x-koppel-attempts"  # on a parked message: how many times it was tried
MESSAGE_ID = "x-koppel-message-id"
TRACEPARENT = "traceparent"

# Written by the bus itself; a replay of a dead letter drops them so it starts afresh.
BUS_HEADERS = frozenset(
    {ATTEMPT, ROUTING_KEY, DELAY, SERVICE, QUEUE, REASON_CODE, REASON, ATTEMPTS, MESSAGE_ID}
)

_tracer = trace.get_tracer("koppel.common.bus")


def as_str(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def str_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Normalise a transport's header table to ``str`` values (``None`` values dropped)."""
    return {key: as_str(value) for key, value in (headers or {}).items() if value is not None}


def int_header(headers: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return default


def start_publish_span(
    routing_key: str,
    headers: dict[str, str],
    *,
    system: str,
    destination: str,
    message: Message | None = None,
) -> Span:
    """Open a PRODUCER span and write its ``traceparent`` into ``headers``.

    A message that already carries a ``traceparent`` (captured when it was created, e.g. before
    it sat in the outbox) is the span's parent, so the trace follows the business flow rather
    than whichever relay loop happened to publish it. The caller ends the span once the
    transport confirmed.
    """
    parent = None
    if message is not None and message.traceparent:
        parent = propagate.extract({TRACEPARENT: message.traceparent})
    span = _tracer.start_span(
        f"{routing_key} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": system,
            "messaging.operation.type": "publish",
            "messaging.destination.name": destination,
            "messaging.rabbitmq.destination.routing_key": routing_key,
            **({"messaging.message.id": str(message.message_id)} if message else {}),
        },
    )
    propagate.inject(headers, context=trace.set_span_in_context(span))
    if TRACEPARENT not in headers and message is not None and message.traceparent:
        # No SDK configured: still hand the caller's trace on unchanged.
        headers[TRACEPARENT] = message.traceparent
    return span


@contextmanager
def consume_span(
    queue: str, routing_key: str, headers: Mapping[str, str], *, system: str, attempt: int
) -> Iterator[str | None]:
    """A CONSUMER span, child of the publisher's; yields the ``traceparent`` to hand on."""
    parent = propagate.extract(dict(headers))
    with _tracer.start_as_current_span(
        f"{queue} process",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": system,
            "messaging.operation.type": "process",
            "messaging.destination.name": queue,
            "messaging.rabbitmq.destination.routing_key": routing_key,
            "koppel.attempt": attempt,
        },
    ):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield carrier.get(TRACEPARENT) or headers.get(TRACEPARENT)
