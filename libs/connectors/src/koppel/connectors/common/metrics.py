"""Prometheus counters of the calls the connectors send (DESIGN.md section 7).

Counted per HTTP *attempt* (a retried call counts once per try, as the API's own rate limit
does), in the default registry, so every service's ``/metrics`` page shows them without any
wiring. Labels stay bounded: the API, the HTTP method and the status class. No tenant or
connection label: tenants are unbounded, and the activity log already has each call per
tenant (through the request hooks).

This is counted by ``HttpCore`` directly rather than as a ``RequestHook``: hooks are opt-in
per client and each one costs a redacted copy of the exchange, while a counter must see
every call of every client for the dashboard to be true.
"""

from __future__ import annotations

from prometheus_client import Counter

from koppel.connectors.common.hooks import HttpExchange

API_REQUESTS = Counter(
    "koppel_api_requests_total",
    "HTTP attempts sent to an external API, by API, method and status class "
    "(2xx, 3xx, 4xx, 5xx, or 'error' when no response came: timeout, connection failure).",
    ["api", "method", "status_class"],
)
API_RATE_LIMITED = Counter(
    "koppel_api_rate_limited_total",
    "Attempts an external API answered with 429 Too Many Requests.",
    ["api"],
)

_KNOWN_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})


def status_class(status: int | None) -> str:
    """``"2xx"`` .. ``"5xx"`` for a response, ``"error"`` when there was none."""
    if status is None or not 100 <= status <= 599:
        return "error"
    return f"{status // 100}xx"


def record_attempt(api: str, method: str, status: int | None) -> None:
    """Count one attempt; a 429 also counts as rate limited."""
    verb = method.upper()
    API_REQUESTS.labels(
        api, verb if verb in _KNOWN_METHODS else "OTHER", status_class(status)
    ).inc()
    if status == 429:
        API_RATE_LIMITED.labels(api).inc()


def metrics_hook(exchange: HttpExchange) -> None:
    """The same count as a ``RequestHook``, for HTTP code outside ``HttpCore`` (for example a
    token endpoint called with its own client) that already hands exchanges to hooks."""
    record_attempt(exchange.api, exchange.method, exchange.status)
