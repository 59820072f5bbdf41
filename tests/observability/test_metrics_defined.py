"""Every ``koppel_*`` metric the shipped Grafana dashboard (and the Prometheus set-up) asks
for is declared in the code, and the ones added for it count what they say.

The check reads the source, not a running process: a panel whose metric nobody declares
stays empty for ever without any error, so the dashboard must not drift from the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from prometheus_client import REGISTRY

from koppel.common.bus import handling
from koppel.common.bus.base import Delivery, RetryPolicy, Subscription
from koppel.common.errors import TransientError
from koppel.common.events import FlowRunRequested, RunTrigger
from koppel.common.messages import Flow, Message, encode_message
from koppel.connectors.common import ConnectorError, StaticTokenProvider
from koppel.connectors.common.hooks import HttpExchange
from koppel.connectors.common.metrics import metrics_hook, status_class
from koppel.connectors.common.retry import RetryPolicy as ConnectorRetry
from koppel.connectors.eaccounting import EAccountingClient, EAccountingSettings

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "k8s" / "base" / "grafana" / "koppel-dashboard.json"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
SOURCE_DIRS = [*ROOT.glob("libs/*/src"), *ROOT.glob("services/*/src")]

_METRIC_USE = re.compile(r"\bkoppel_[a-z0-9_]+")
_DECLARATION = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"(koppel_[a-z0-9_]+)\"")
_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def declared_metrics() -> dict[str, str]:
    """Metric name -> kind, for every prometheus_client metric declared in the source."""
    found: dict[str, str] = {}
    for directory in SOURCE_DIRS:
        for path in directory.rglob("*.py"):
            for kind, name in _DECLARATION.findall(path.read_text(encoding="utf-8")):
                found[name] = kind
    return found


def dashboard_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    names = {name for expr in exprs for name in _METRIC_USE.findall(expr)}
    for path in PROMETHEUS_DIR.rglob("*.y*ml"):
        # Rules or relabelings that name a metric must not drift either (the job name
        # "koppel" has no underscore and does not match).
        names |= set(_METRIC_USE.findall(path.read_text(encoding="utf-8")))
    return names


def exposed_by(name: str, declared: dict[str, str]) -> bool:
    if name in declared:
        return True
    for suffix in _HISTOGRAM_SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and declared.get(base) in ("Histogram", "Summary"):
            return True
    return False


def test_the_source_scan_finds_the_known_declarations() -> None:
    # Guards the scan itself: a regex that matched nothing would pass the next test vacuously.
    declared = declared_metrics()
    assert declared["koppel_handler_duration_seconds"] == "Histogram"
    assert declared["koppel_flow_records_total"] == "Counter"
    assert declared["koppel_outbox_pending"] == "Gauge"


def test_every_dashboard_metric_is_declared_in_the_code() -> None:
    declared = declared_metrics()
    wanted = dashboard_metrics()
    assert len(wanted) >= 9, wanted
    missing = sorted(name for name in wanted if not exposed_by(name, declared))
    assert missing == [], f"the dashboard queries metrics no code declares: {missing}"


def test_a_histogram_suffix_on_a_counter_does_not_count_as_declared() -> None:
    assert not exposed_by(
        "koppel_flow_records_total_bucket", {"koppel_flow_records_total": "Counter"}
    )
    assert exposed_by("koppel_x_seconds_bucket", {"koppel_x_seconds": "Histogram"})


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, "2xx"), (302, "3xx"), (429, "4xx"), (503, "5xx"), (None, "error")],
)
def test_status_class(status: int | None, expected: str) -> None:
    assert status_class(status) == expected


async def test_connector_calls_are_counted_by_api_method_and_status_class() -> None:
    answers = iter([200, 429, 500])

    def answer(request: httpx.Request) -> httpx.Response:
        status = next(answers, None)
        if status is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status, json={} if status == 200 else {"Message": "no"})

    api = "eaccounting"
    before = {
        c: sample("koppel_api_requests_total", api=api, method="GET", status_class=c)
        for c in ("2xx", "4xx", "5xx", "error")
    }
    limited = sample("koppel_api_rate_limited_total", api=api)
    settings = EAccountingSettings(
        connection_id=f"metrics-{uuid4().hex[:8]}",
        base_url="http://eaccounting.test/v2",
        rate_limit_requests=0,
    )
    async with EAccountingClient(
        settings, StaticTokenProvider("t"), transport=httpx.MockTransport(answer)
    ) as client:
        client.http.settings.retry = ConnectorRetry(max_attempts=1)
        await client.http.request("GET", "/customers")
        for _ in range(3):
            with pytest.raises(ConnectorError):
                await client.http.request("GET", "/customers")
    after = {
        c: sample("koppel_api_requests_total", api=api, method="GET", status_class=c)
        for c in before
    }
    assert {c: after[c] - before[c] for c in before} == {"2xx": 1, "4xx": 1, "5xx": 1, "error": 1}
    assert sample("koppel_api_rate_limited_total", api=api) - limited == 1


def test_the_metrics_hook_counts_like_the_core() -> None:
    before = sample("koppel_api_rate_limited_total", api="accountview")
    exchange = HttpExchange(
        api="accountview",
        connection_id="c",
        method="post",
        url="http://x/token",
        endpoint="/token",
        attempt=1,
        status=429,
        duration_ms=1.0,
    )
    metrics_hook(exchange)
    assert sample("koppel_api_rate_limited_total", api="accountview") - before == 1


async def test_a_transient_failure_before_the_last_attempt_counts_as_a_bus_retry() -> None:
    async def failing(_message: Message, _delivery: Delivery) -> None:
        raise TransientError("busy")

    service, name = "observability", f"retries_{uuid4().hex[:8]}"
    subscription = Subscription(
        service=service,
        name=name,
        patterns=("#",),
        handler=failing,
        retry=RetryPolicy(delays=(0.01,)),
    )
    message = FlowRunRequested(tenant_id="t1", flow=Flow.orders, trigger=RunTrigger.manual)

    def raw(attempt: int) -> handling.RawDelivery:
        return handling.RawDelivery(
            queue=subscription.queue,
            routing_key=message.routing_key(),
            body=encode_message(message),
            headers={},
            attempt=attempt,
            redelivered=False,
        )

    first = await handling.process(subscription, raw(1), system="memory")
    last = await handling.process(subscription, raw(2), system="memory")
    assert isinstance(first, handling.Retry)
    assert isinstance(last, handling.Park)  # the last attempt parks: not a retry
    assert sample("koppel_bus_retries_total", service=service, handler=name) == 1
