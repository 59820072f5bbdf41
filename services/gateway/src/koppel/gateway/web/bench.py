"""Page-load benchmark: /app and /app/activity with 10,000 activity entries, embedded default.

Starts the embedded app (all six services, one process, each service's SQLite file in a
temporary data directory; nothing but the data directory and an admin key set) on a free
127.0.0.1 port, creates a tenant, seeds its activity log straight into the notifier's
``activity_entries`` table (journeys of fetched → mapped → synced, one in ten failing, with
source and target payloads like real orders), signs in like a browser and times full
responses over HTTP. Prints JSON with p50/p95 per page; asserts nothing about speed.

    .venv/bin/python -m koppel.gateway.web.bench [--entries 10000] [--requests 50]

Needs the workspace (``koppel.cli`` builds the embedded app; the gateway does not depend on
it, so it is imported only here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ADMIN_KEY = "kpla_web-bench-admin-key-0123456789abcdef0123456"
FLOWS = ("orders", "customers", "products", "stock")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _order(n: int) -> dict[str, Any]:
    """A source payload of an eAccounting order's size and shape (about 2 KB of JSON)."""
    rows = [
        {
            "LineNumber": i,
            "ArticleNumber": f"ART-{(n + i) % 40:04d}",
            "Text": f"Article {i} of order {n}",
            "Quantity": 1 + i,
            "UnitPrice": 12.5 * (i + 1),
            "VatRate": 0.21,
            "DiscountPercentage": 0.0,
            "IsTextRow": False,
        }
        for i in range(3)
    ]
    return {
        "Id": str(uuid.UUID(int=n)),
        "Number": n,
        "CustomerNumber": f"{1000 + n % 50}",
        "InvoiceCustomerName": f"Customer {n % 50}",
        "InvoiceAddress1": f"Straat {n % 200}",
        "InvoiceCity": "Utrecht",
        "InvoiceCountryCode": "NL",
        "Amount": 100.0 + n % 300,
        "VatAmount": 21.0,
        "CurrencyCode": "EUR",
        "Status": 3,
        "Rows": rows,
    }


def _entries(tenant_id: str, count: int) -> list[dict[str, Any]]:
    """``count`` activity rows: journeys of 3 events, newest last, spread over 7 days."""
    now = datetime.now(UTC)
    out: list[dict[str, Any]] = []
    journey = 0
    while len(out) < count:
        journey += 1
        flow = FLOWS[journey % len(FLOWS)]
        correlation = uuid.uuid4()
        run = uuid.uuid4()
        source = _order(journey)
        failed = journey % 10 == 0
        at = now - timedelta(seconds=(count - len(out)) * 60)
        steps: list[tuple[str, str, str | None]] = [
            ("fetched", "fetch", None),
            ("mapped", "map", None),
        ]
        steps.append(("failed", "map", "unmapped_value") if failed else ("synced", "sync", None))
        for status, step, code in steps:
            out.append(
                {
                    "tenant_id": tenant_id,
                    "message_id": uuid.uuid4(),
                    "event_type": f"event.order_{status}.v1",
                    "flow": flow,
                    "run_id": run,
                    "correlation_id": correlation,
                    "direction": "eaccounting_to_accountview",
                    "step": step,
                    "status": status,
                    "entity_type": "order",
                    "source_id": source["Id"],
                    "entity_key": str(journey),
                    "target_id": f"SO{journey}" if status == "synced" else None,
                    "reason_code": code,
                    "reason": (
                        f"Order {journey}: no AccountView VAT code is mapped for country SE"
                        " — add it to value map 'vat_codes'"
                        if code
                        else None
                    ),
                    "source_payload": json.dumps(source),
                    "target_payload": json.dumps({"header": {"COMMENT1": journey}})
                    if status != "fetched"
                    else None,
                    "details": json.dumps({"map_name": "vat_codes", "value": "SE"})
                    if code
                    else None,
                    "occurred_at": at,
                    "recorded_at": at,
                }
            )
            at += timedelta(seconds=1)
    return out[:count]


async def _seed(db_file: Path, tenant_id: str, count: int) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from koppel.notifier.models import ActivityEntry

    table = ActivityEntry.__table__  # type: ignore[attr-defined]
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_file}")
    try:
        rows = _entries(tenant_id, count)
        async with engine.begin() as conn:
            for start in range(0, len(rows), 1000):
                await conn.execute(table.insert(), rows[start : start + 1000])
    finally:
        await engine.dispose()


class _Server:
    """The embedded app under uvicorn in a daemon thread."""

    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the embedded app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _time_pages(base: str, key: str, paths: list[str], requests: int) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=60) as browser:
        token = CSRF.search(browser.get("/app/login").text)
        assert token is not None
        signed = browser.post(
            "/app/login", data={"csrf": token.group(1), "api_key": key, "next": "/app"}
        )
        if signed.status_code != 303:
            raise RuntimeError(f"sign-in failed: {signed.status_code}")
        results: dict[str, Any] = {}
        for path in paths:
            for _ in range(3):  # warm-up: templates compiled, connections opened
                browser.get(path)
            samples, cpu = [], []
            for _ in range(requests):
                started, cpu_started = time.perf_counter(), time.process_time()
                answer = browser.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                # CPU of the whole process (client + server thread + idle service loops):
                # on a busy machine wall time waits for a core, this does not.
                cpu.append((time.process_time() - cpu_started) * 1000)
                if answer.status_code != 200:
                    raise RuntimeError(f"{path}: {answer.status_code}")
            results[path] = {
                "p50_ms": round(statistics.median(samples), 1),
                "p95_ms": round(_percentile(samples, 0.95), 1),
                "max_ms": round(max(samples), 1),
                "cpu_p50_ms": round(statistics.median(cpu), 1),
                "cpu_p95_ms": round(_percentile(cpu, 0.95), 1),
                "bytes": len(answer.content),
                "table_rows": answer.text.count("<tr"),  # shows the seed is on the page
                "requests": requests,
            }
        return results


def run(entries: int, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="koppel-web-bench-") as tmp:
        data = Path(tmp)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        os.environ.update(
            {
                "KOPPEL_DATA_DIR": str(data),
                "KOPPEL_ADMIN_API_KEY": ADMIN_KEY,
                "KOPPEL_PUBLIC_URL": base,
                "KOPPEL_GATEWAY_URL": base,
                "KOPPEL_LOG_LEVEL": "WARNING",
            }
        )
        from koppel.cli.embedded import build_embedded_app  # the workspace's embedded app

        with _Server(build_embedded_app(data, base), port):
            created = httpx.post(
                f"{base}/v1/tenants",
                json={"name": "Bench BV"},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                timeout=30,
            )
            created.raise_for_status()
            body = created.json()
            seeded = time.perf_counter()
            asyncio.run(_seed(data / "notifier.db", body["tenant"]["id"], entries))
            seed_seconds = time.perf_counter() - seeded
            pages = _time_pages(
                base,
                body["api_key"],
                ["/app", "/app/activity", "/app/activity?flow=orders&status=failed"],
                requests,
            )
    return {
        "entries": entries,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "database": "sqlite (embedded default)",
        "seed_seconds": round(seed_seconds, 2),
        "pages": pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(run(args.entries, args.requests), indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
