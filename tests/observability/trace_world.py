"""Run one orders flow through the gateway and the embedded world, exporting every span
over OTLP/HTTP to ``KOPPEL_OTLP_ENDPOINT`` (run as a script by ``test_traces.py``).

A fresh process, because tracer providers are built once per process from the settings of
the first ``setup_telemetry`` call. The world (``koppel.orders.embedded``: both sandboxes,
mapper, orders, customers on one in-memory bus) gets the gateway added on the same bus, and
the run starts where a partner starts it: ``POST /v1/flows/orders/runs`` on the gateway's
HTTP API. Prints one JSON line: the run and the traceparents of its outcome events.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx
from pydantic import SecretStr

from koppel.common import events as ev
from koppel.common.app import create_service_app
from koppel.common.runtime import ServiceRuntime
from koppel.common.telemetry import provider_for, setup_telemetry
from koppel.gateway import app as gateway_app
from koppel.gateway.config import GatewaySettings
from koppel.gateway.crypto import generate_encryption_key
from koppel.gateway.service import tenants
from koppel.orders import embedded
from koppel.orders.embedded import World, WorldOptions

SERVICES = ("gateway", "mapper", "orders", "customers")
ADMIN_KEY = "kpla_observability-admin-key-0123456789abcdef01234"
OUTCOMES = (ev.OrderSynced, ev.OrderSkipped, ev.OrderFailed)


class GatewayWorld(World):
    """The embedded world plus the gateway, whose first tenant is the world's tenant."""

    def _runtimes(self) -> list[ServiceRuntime]:
        settings = GatewaySettings(
            environment="test",
            database_url=f"sqlite+aiosqlite:///{self.data_dir}/gateway.db",
            schema_mode="create",
            admin_api_key=SecretStr(ADMIN_KEY),
            encryption_keys=SecretStr(generate_encryption_key()),
            scheduler_enabled=False,
            time_scale=self.options.time_scale,
            relay_poll_interval=0.5,
        )
        gateway = ServiceRuntime(gateway_app.spec, bus=self.bus, settings=settings, owns_bus=False)
        return [gateway, *super()._runtimes()]


def _fixed_tenant_id(original: Any) -> Any:
    # The world's connections are keyed by its tenant id; the gateway mints random ids.
    def new_id(prefix: str) -> str:
        return embedded.TENANT if prefix == "ten" else str(original(prefix))

    return new_id


async def main() -> dict[str, Any]:
    for name in SERVICES:  # as create_embedded_app does: the gateway's provider is global
        setup_telemetry(name)
    tenants.new_id = _fixed_tenant_id(tenants.new_id)  # type: ignore[attr-defined]
    options = WorldOptions(
        orders=4, customers=4, articles=12, unknown_articles=0, customers_without_email=0
    )
    world = GatewayWorld(options)
    await world.start()
    try:
        app = create_service_app(world.runtime("gateway"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as api:
            admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
            created = (await api.post("/v1/tenants", json={"name": "Acme"}, headers=admin)).json()
            assert created["tenant"]["id"] == embedded.TENANT, created
            key = {"Authorization": f"Bearer {created['api_key']}"}
            flow = {"enabled": True, "schedule": None, "settings": world.flow_settings()["orders"]}
            response = await api.put("/v1/flows/orders", json=flow, headers=key)
            assert response.status_code == 200, response.text
            response = await api.post("/v1/flows/orders/runs", headers=key)
            assert response.status_code == 202, response.text
            run_id = response.json()["run_id"]
        summary = await wait_for_run(world, run_id, timeout=90.0)
    finally:
        await world.stop()
        for name in SERVICES:
            provider = provider_for(name)
            if provider is not None:
                provider.force_flush(10_000)
    return summary


async def wait_for_run(world: World, run_id: str, *, timeout: float) -> dict[str, Any]:
    recorder = world.recorder
    deadline = time.monotonic() + timeout

    def of(kind: type[Any]) -> list[Any]:
        return [m for m in recorder.of(kind) if str(m.run_id) == run_id]

    while time.monotonic() < deadline:
        fetched = of(ev.FlowRunFetched)
        done = sum(len(of(kind)) for kind in OUTCOMES)
        if of(ev.FlowRunFailed) or (fetched and done >= fetched[0].fetched):
            break
        await asyncio.sleep(0.2)
    await world.quiesce()
    fetched = of(ev.FlowRunFetched)
    return {
        "run_id": run_id,
        "fetched": fetched[0].fetched if fetched else None,
        "run_failed": [m.reason for m in of(ev.FlowRunFailed)],
        "outcomes": [
            {"type": type(m).__name__, "traceparent": m.traceparent}
            for kind in OUTCOMES
            for m in of(kind)
        ],
        "customers": [
            {"type": type(m).__name__, "traceparent": m.traceparent}
            for kind in (ev.CustomerEnsured, ev.CustomerFailed)
            for m in recorder.of(kind)
        ],
        "dead_letters": [m.reason for m in recorder.of(ev.MessageDeadLettered)],
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
    sys.stdout.flush()
