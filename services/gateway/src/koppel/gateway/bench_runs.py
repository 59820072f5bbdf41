"""Micro-benchmark of run tracking: one run's flow events through the gateway's real handler.

Feeds ``FlowRunRequested``, ``FlowRunFetched`` and ``records`` orders' events (each order's
``CustomerEnsured`` step, which the gateway receives and ignores, and its outcome: every 20th
a failure, the first failure later replayed as a success, one outcome delivered twice) through
``ServiceRuntime.deliver`` of the gateway's ``runs`` binding, ``concurrency`` at a time as the
bus would with its prefetch, on SQLite and/or PostgreSQL. Prints one JSON object per database:
events/s, CPU ms per event (``time.process_time`` of this process, which plays the gateway),
SQL statements and commits per event, and the run as the API would report it (a check that
the numbers came from a correct run).

    .venv/bin/python -m koppel.gateway.bench_runs --records 600 --concurrency 32 \
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

PostgreSQL runs in a fresh schema, dropped afterwards. Other benchmarks on the same machine
skew the numbers: the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from pydantic import SecretStr
from sqlalchemy import event

from koppel.common import events as ev
from koppel.common.bus.base import Delivery
from koppel.common.bus.memory import InMemoryBus
from koppel.common.db import Database
from koppel.common.messages import Flow, Message
from koppel.common.runtime import ServiceRuntime
from koppel.gateway.app import gateway_of, spec
from koppel.gateway.config import GatewaySettings
from koppel.gateway.crypto import generate_encryption_key
from koppel.gateway.service.runs import get_run

SQLITE = "sqlite"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def run_messages(records: int, *, steps: bool = True) -> tuple[list[Message], list[Message]]:
    """(the run's start: requested + fetched, the records' events in delivery order).

    ``steps``: each order's ``CustomerEnsured`` too, which the gateway receives (it is the
    customers flow's outcome) and ignores inside the orders flow, as in the real flow.
    """
    env: dict[str, Any] = {"tenant_id": "ten_bench", "flow": Flow.orders, "run_id": uuid4()}
    start: list[Message] = [
        ev.FlowRunRequested(**env, trigger=ev.RunTrigger.manual),
        ev.FlowRunFetched(**env, fetched=records),
    ]
    outcomes: list[Message] = []
    correlations = [uuid4() for _ in range(records)]
    for n, correlation in enumerate(correlations):
        entity = ev.EntityRef(type=ev.EntityType.order, source_id=str(n))
        if steps:
            outcomes.append(
                ev.CustomerEnsured(
                    **env,
                    correlation_id=correlation,
                    entity=ev.EntityRef(type=ev.EntityType.customer, source_id=f"c{n}"),
                    debtor_number=str(n),
                    outcome=ev.UpsertOutcome.unchanged,
                )
            )
        if n % 20 == 0:
            outcomes.append(
                ev.OrderFailed(
                    **env,
                    correlation_id=correlation,
                    entity=entity,
                    reason_code="timeout",
                    reason="AccountView did not answer",
                    step="order",
                )
            )
        else:
            outcomes.append(
                ev.OrderSynced(
                    **env, correlation_id=correlation, entity=entity, target={}, debtor_number="1"
                )
            )
    if records > 1:
        outcomes.append(outcomes[1])  # a redelivery
    if records > 0:
        entity = ev.EntityRef(type=ev.EntityType.order, source_id="0")
        # The replay of the first (failed) record succeeds.
        outcomes.append(
            ev.OrderSynced(
                **env, correlation_id=correlations[0], entity=entity, target={}, debtor_number="1"
            )
        )
    return start, outcomes


def _settings(data_dir: Path, url: str) -> GatewaySettings:
    return GatewaySettings(
        environment="test",
        data_dir=data_dir,
        database_url=url,
        admin_api_key=SecretStr("kpla_bench-admin-key-0123456789abcdef0123456789"),
        encryption_keys=SecretStr(generate_encryption_key()),
        service_token=SecretStr("svc-bench-token-0123456789abcdef"),
        scheduler_enabled=False,
        log_json=False,
        schema_mode="migrate",
    )


class StatementCounter:
    def __init__(self, database: Database) -> None:
        self.statements = 0
        self.commits = 0
        sync = database.engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._statement)
        event.listen(sync, "commit", self._commit)

    def _statement(self, *_args: Any) -> None:
        self.statements += 1

    def _commit(self, *_args: Any) -> None:
        self.commits += 1


async def bench(
    url: str, *, records: int = 600, concurrency: int = 32, steps: bool = True, rate: float = 0
) -> dict[str, Any]:
    """One run through the gateway's ``runs`` handler on ``url`` (``sqlite`` for a temp file)."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        if url == SQLITE:
            url = f"sqlite+aiosqlite:///{data_dir}/gateway.db"
        settings = _settings(data_dir, url)
        schema = "gw_bench_" + secrets.token_hex(4)
        database = Database(
            url,
            service="gateway",
            tables=spec.all_tables,
            schema=schema,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        runtime = ServiceRuntime(spec, bus=InMemoryBus(), settings=settings, database=database)
        http = httpx.AsyncClient()
        runtime.context.deps["gateway.http"] = http
        try:
            await runtime.prepare()
            gateway_of(runtime.context)  # what on_start builds, without the scheduler
            return await _feed(runtime, records, concurrency, steps, rate)
        finally:
            await database.drop_schema()
            await database.dispose()
            await http.aclose()


async def _feed(
    runtime: ServiceRuntime, records: int, concurrency: int, steps: bool, rate: float
) -> dict[str, Any]:
    """``rate`` > 0: events arrive at that many per second (as a pipeline hands them over),
    at most ``concurrency`` in a handler; 0: all at once, ``concurrency`` at a time."""
    (binding,) = [b for b in runtime.bindings if b.name == "runs"]
    start, outcomes = run_messages(records, steps=steps)
    gate = asyncio.Semaphore(concurrency)
    retries = 0

    async def deliver(message: Message) -> None:
        nonlocal retries
        # Like the bus: a failed delivery (a racing write of the same record) is tried again.
        for attempt in range(1, 6):
            delivery = Delivery(
                attempt=attempt, redelivered=attempt > 1, routing_key=message.routing_key()
            )
            async with gate:
                try:
                    await runtime.deliver(binding, message, delivery)
                    return
                except Exception:
                    if attempt == 5:
                        raise
                    retries += 1

    for message in start:
        await deliver(message)
    counter = StatementCounter(runtime.database)
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(
        *(_paced(deliver, m, i / rate if rate else 0) for i, m in enumerate(outcomes))
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    gw = gateway_of(runtime.context)
    async with gw.uow() as uow:
        run = await get_run(uow, "ten_bench", str(start[0].run_id))
        counts = {
            "status": run.status,
            "fetched": run.fetched,
            "synced": run.synced,
            "skipped": run.skipped,
            "failed": run.failed,
        }
    n = len(outcomes)
    return {
        "rate": rate,
        "database": runtime.database.dialect,
        "records": records,
        "steps": steps,
        "events": n,
        "concurrency": concurrency,
        "events_per_s": round(n / wall, 1),
        "cpu_ms_per_event": round(cpu * 1000 / n, 3),
        "cpu_ms_per_record": round(cpu * 1000 / max(records, 1), 3),
        "statements_per_event": round(counter.statements / n, 2),
        "commits_per_event": round(counter.commits / n, 2),
        "retries": retries,
        "run": counts,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


async def _paced(
    deliver: Callable[[Message], Awaitable[None]], message: Message, at: float
) -> None:
    if at:
        await asyncio.sleep(at)
    await deliver(message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--no-steps", action="store_true", help="only outcomes, no CustomerEnsured per order"
    )
    parser.add_argument("--rate", type=float, default=0, help="events/s arriving; 0: at once")
    parser.add_argument("--repeat", type=int, default=1, help="runs per database")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="'' to skip PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    # Retried deliveries (counted in the output) would log a traceback each.
    logging.getLogger("koppel.common.runtime").setLevel(logging.ERROR)
    urls = ([] if args.no_sqlite else [SQLITE]) + ([args.postgres] if args.postgres else [])
    for url in urls:
        for _ in range(args.repeat):
            result = asyncio.run(
                bench(
                    url,
                    records=args.records,
                    concurrency=args.concurrency,
                    steps=not args.no_steps,
                    rate=args.rate,
                )
            )
            print(json.dumps({"benchmark": "gateway-runs", **result}), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
