"""One order's trace, exported over OTLP/HTTP, crosses every hop under one trace id: the
gateway's HTTP request that starts the run (it publishes ``FlowRunRequested``), the orders,
mapper and customers handlers, and the connectors' calls to both sandboxes.

The services run in a child process (``trace_world.py``) configured only through
``KOPPEL_OTLP_ENDPOINT``, the way an operator points Koppel at Jaeger; the receiver is a
small OTLP/HTTP server in this test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from .otlp_receiver import OtlpReceiver, ReceivedSpan
from .processes import child_env

DRIVER = Path(__file__).with_name("trace_world.py")


def trace_id_of(traceparent: str) -> str:
    return traceparent.split("-")[1]


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_one_orders_run_is_one_trace_across_gateway_services_and_apis(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        env = child_env(
            KOPPEL_OTLP_ENDPOINT=receiver.endpoint,
            KOPPEL_LOG_LEVEL="WARNING",
            KOPPEL_DATA_DIR=str(tmp_path),
        )
        done = subprocess.run(
            [sys.executable, str(DRIVER)],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert receiver.rejected == []
    assert receiver.requests > 0

    synced = [o for o in summary["outcomes"] if o["type"] == "OrderSynced"]
    assert synced, summary
    trace_id = trace_id_of(synced[0]["traceparent"])
    # The whole run (every order, every customer) continues the one request that started it.
    events = summary["outcomes"] + summary["customers"]
    assert {trace_id_of(e["traceparent"]) for e in events} == {trace_id}

    spans = [s for s in receiver.spans if s.trace_id == trace_id]
    roots = [s for s in spans if s.parent_id is None]
    assert [(r.service, r.kind, r.name) for r in roots] == [
        ("gateway", "SERVER", "POST /v1/flows/{flow}/runs")
    ], describe(spans)
    assert_one_tree(spans)

    published = {s.name for s in spans if s.kind == "PRODUCER"}
    assert "event.flow_run_requested.v1 publish" in published, describe(spans)
    consumers = {s.service for s in spans if s.kind == "CONSUMER"}
    assert {"orders", "mapper", "customers"} <= consumers, describe(spans)
    handlers = {s.name for s in spans if s.kind == "CONSUMER"}
    assert any(name.startswith("orders.") for name in handlers)
    apis = Counter(s.attributes.get("koppel.api") for s in spans if s.kind == "CLIENT")
    assert apis["eaccounting"] > 0, describe(spans)
    assert apis["accountview"] > 0, describe(spans)


def assert_one_tree(spans: list[ReceivedSpan]) -> None:
    """Every span's parent was exported too: nothing hangs off a lost hop."""
    ids = {s.span_id for s in spans}
    orphans = [s for s in spans if s.parent_id is not None and s.parent_id not in ids]
    assert orphans == [], [(s.service, s.name) for s in orphans]


def describe(spans: list[ReceivedSpan]) -> list[tuple[str, str, str]]:
    return sorted({(s.service, s.kind, s.name) for s in spans})
