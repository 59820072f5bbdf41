"""The catalog wired end to end in one process, for tests and the benchmark.

Both sandboxes run in process (``httpx.ASGITransport``), the service runs on an
``InMemoryBus`` with SQLite, and a tenant's connections and flow settings are handed in
(``StaticConnections``) instead of coming from the gateway. Whoever maps ``ProductFetched``
into ``ProductMapped`` is added by the caller: the tests add the real mapper service; the
benchmark adds a stand-in (services do not import each other, and the benchmark measures
this service).

The sandboxes are imported lazily: they are a development library, not a runtime
dependency of the service.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from koppel.catalog import service
from koppel.catalog.adapters.connections import StaticConnections
from koppel.catalog.app import SPEC
from koppel.catalog.config import CatalogSettings
from koppel.common.bus.base import Delivery, Subscription
from koppel.common.bus.memory import InMemoryBus
from koppel.common.db import Database
from koppel.common.events import FlowRunFailed, FlowRunFetched, FlowRunRequested, RunTrigger
from koppel.common.messages import Flow, Message
from koppel.common.runtime import RuntimeGroup, ServiceRuntime
from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.settings import AccountViewSettings
from koppel.connectors.common.clock import ScaledClock, SystemClock
from koppel.connectors.common.ratelimit import RateLimiterRegistry
from koppel.connectors.eaccounting.client import EAccountingClient
from koppel.connectors.eaccounting.settings import EAccountingSettings

JSON = dict[str, Any]
# Terminal events of one record, per flow: the run is over when every fetched record has one.
TERMINAL = {
    Flow.products: ("ProductUpserted", "ProductFailed"),
    Flow.stock: ("StockUpdated", "StockFailed"),
}


class AdminTokens:
    """Stands in for the gateway: mints tokens through a sandbox's admin endpoint."""

    def __init__(self, admin: httpx.AsyncClient) -> None:
        self.admin = admin
        self._token: str | None = None

    async def access_token(self, connection_id: str, *, force_refresh: bool = False) -> str:  # noqa: ARG002
        if self._token is None or force_refresh:
            response = await self.admin.post("/_sandbox/tokens", json={})
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token


class Sandbox:
    def __init__(self, app: Any, base: str) -> None:
        self.app = app
        self.transport = httpx.ASGITransport(app=app)
        self.base = base
        self.admin = httpx.AsyncClient(transport=self.transport, base_url=base, timeout=60)
        self.tokens = AdminTokens(self.admin)

    @property
    def handles(self) -> Any:
        """The sandbox's internals: ``SandboxHandles`` (eAccounting) or ``Runtime`` (AccountView)."""
        state = self.app.state
        return state.sandbox if hasattr(state, "sandbox") else state.runtime

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.admin.request(method, path, **kw)
        response.raise_for_status()
        return response.json()


def accountview_sandbox(*, articles: int, seed: int = 42) -> Sandbox:
    from koppel.sandbox.accountview import AccountViewSandboxSettings, SeedSpec
    from koppel.sandbox.accountview import create_app as create_av_app

    settings = AccountViewSandboxSettings(
        seed=SeedSpec(seed=seed, articles=articles, debtors=0, orders=0, invoices=0, companies=1)
    )
    return Sandbox(create_av_app(settings), "http://accountview.test")


def eaccounting_sandbox(
    *, rate_limit: int = 600, time_scale: float = 1.0, stock_module: bool = False
) -> Sandbox:
    from koppel.sandbox.eaccounting import EAccountingSandboxSettings
    from koppel.sandbox.eaccounting import create_app as create_ea_app

    settings = EAccountingSandboxSettings(
        empty=True, rate_limit=rate_limit, time_scale=time_scale, stock_module=stock_module
    )
    return Sandbox(create_ea_app(settings), "http://eaccounting.test")


@dataclass
class Tenant:
    tenant_id: str
    accountview: Sandbox
    eaccounting: Sandbox
    av_client: AccountViewClient
    ea_client: EAccountingClient
    settings: dict[str, JSON]

    def lookups(self) -> dict[str, dict[str, str]]:
        """eAccounting ids the mapping needs: codings by VAT percent, units by code."""
        store = self.eaccounting.handles.store
        codings = {
            str(round(float(c["VatRatePercent"]) * 100)): str(c["Id"])
            for c in store.all("articleaccountcodings")
            if c.get("Type") == "Goods"
        }
        units = {str(u["Code"]): str(u["Id"]) for u in store.all("units")}
        return {"codings": codings, "units": units}


def make_tenant(
    tenant_id: str,
    *,
    articles: int,
    rate_limit: int = 600,
    time_scale: float = 1.0,
    limit_requests: int | None = 600,
    stock_module: bool = False,
    settings: dict[str, JSON] | None = None,
) -> Tenant:
    """A tenant with its own pair of sandboxes. ``time_scale`` runs the eAccounting sandbox's
    clock (and the client's rate-limit clock) that much faster than the wall.
    ``limit_requests=None`` switches rate limiting off in the client and the sandbox."""
    av = accountview_sandbox(articles=articles)
    if limit_requests is None:
        rate_limit = 1_000_000_000  # "no rate limit" means on both sides
    ea = eaccounting_sandbox(
        rate_limit=rate_limit, time_scale=time_scale, stock_module=stock_module
    )
    clock = ScaledClock(time_scale) if time_scale != 1.0 else SystemClock()
    av_client = AccountViewClient(
        AccountViewSettings(
            connection_id=f"{tenant_id}:accountview",
            base_url=f"{av.base}/api/v3",
            company_code="KOPPELDEMO",
            ean_field="BAR_CODE",
            page_size=1000,
            backoff_base_seconds=0.01,
            backoff_max_seconds=0.05,
        ),
        av.tokens,
        transport=av.transport,
        registry=RateLimiterRegistry(),
    )
    ea_client = EAccountingClient(
        EAccountingSettings(
            connection_id=f"{tenant_id}:eaccounting",
            base_url=f"{ea.base}/v2",
            identity_url=ea.base,
            rate_limit_requests=limit_requests or 0,
            backoff_base_seconds=0.01,
            backoff_max_seconds=0.05,
        ),
        ea.tokens,
        transport=ea.transport,
        registry=RateLimiterRegistry(clock=clock),
    )
    return Tenant(tenant_id, av, ea, av_client, ea_client, dict(settings or {}))


@dataclass
class Harness:
    """The catalog runtime (plus the caller's) on one bus, and a probe of every event."""

    data_dir: Path
    tenants: list[Tenant]
    extra: Sequence[ServiceRuntime] = ()
    bus: InMemoryBus = field(default_factory=InMemoryBus)
    events: list[Message] = field(default_factory=list)
    # Per run: how many events of each type (the wait loop reads these, not ``events``).
    counts: dict[uuid.UUID | None, Counter[str]] = field(default_factory=dict)
    fetched: dict[uuid.UUID | None, Message] = field(default_factory=dict)
    catalog: ServiceRuntime | None = None
    group: RuntimeGroup | None = None
    prefetch: int = 16
    # None: SQLite files under ``data_dir``; a PostgreSQL URL: a fresh schema per service.
    database_url: str | None = None
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def database_for(self, spec: Any) -> Database | None:
        """The database a runtime of ``spec`` should use (None: the settings' default)."""
        if self.database_url is None:
            return None
        return Database(
            self.database_url,
            service=spec.name,
            tables=spec.all_tables,
            schema=f"{spec.name}_{self.suffix}",
        )

    @staticmethod
    def settings(data_dir: Path, **overrides: Any) -> CatalogSettings:
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "log_json": False,
            "log_level": "WARNING",
            # Retry delays of 50 ms and up (a tighter retry loop on a busy SQLite file only
            # adds contention). The relay's idle poll is scaled too, so it is set to 0.2 s
            # real: commits wake it at once anyway.
            "time_scale": 0.05,
            "relay_poll_interval": 4.0,
            "relay_batch_size": 500,
        }
        values.update(overrides)
        return CatalogSettings(**values)

    async def start(self) -> None:
        self.catalog = ServiceRuntime(
            SPEC,
            bus=self.bus,
            settings=self.settings(self.data_dir, catalog_prefetch=self.prefetch),
            database=self.database_for(SPEC),
            owns_bus=False,
        )
        connections = StaticConnections(
            eaccounting={t.tenant_id: t.ea_client for t in self.tenants},
            accountview={t.tenant_id: t.av_client for t in self.tenants},
            settings={},
        )
        # Shared, not copied: a test changes ``tenant.settings`` as a tenant would in the gateway.
        connections.settings = {t.tenant_id: t.settings for t in self.tenants}
        self.catalog.context.deps[service.CONNECTIONS] = connections

        async def probe(message: Message, _delivery: Delivery) -> None:
            self.events.append(message)
            self.counts.setdefault(message.run_id, Counter())[type(message).__name__] += 1
            if isinstance(message, FlowRunFetched | FlowRunFailed):
                self.fetched[message.run_id] = message

        self.bus.subscribe(
            Subscription(
                service="probe", name="events", patterns=("event.#",), handler=probe, prefetch=256
            )
        )
        self.group = RuntimeGroup([self.catalog, *self.extra], self.bus)
        await self.group.start()

    async def stop(self) -> None:
        if self.group is not None:
            await self.group.stop()
            if self.database_url is not None:
                for runtime in self.group.runtimes:
                    await runtime.database.drop_schema()
                    await runtime.database.dispose()
        for tenant in self.tenants:
            await tenant.av_client.aclose()
            await tenant.ea_client.aclose()
            await tenant.accountview.admin.aclose()
            await tenant.eaccounting.admin.aclose()

    def of_run(self, run_id: uuid.UUID) -> list[Message]:
        return [e for e in self.events if e.run_id == run_id]

    def kinds(self, run_id: uuid.UUID) -> Counter[str]:
        return Counter(self.counts.get(run_id, Counter()))

    async def run(
        self, tenant_id: str, flow: Flow, *, timeout: float = 50.0, **request: Any
    ) -> uuid.UUID:
        """Request a run and wait until every record it fetched reached a terminal event."""
        run_id = uuid.uuid4()
        message = FlowRunRequested(
            tenant_id=tenant_id, flow=flow, run_id=run_id, trigger=RunTrigger.manual, **request
        )
        await self.bus.publish([message])
        await self.wait(run_id, flow, timeout=timeout, dry_run=bool(request.get("dry_run")))
        return run_id

    async def wait(
        self, run_id: uuid.UUID, flow: Flow, *, timeout: float = 50.0, dry_run: bool = False
    ) -> None:
        """Until the run failed, or fetched and (unless dry) every record reached its end."""
        async with asyncio.timeout(timeout):
            while True:
                ended = self.fetched.get(run_id)
                if isinstance(ended, FlowRunFailed):
                    return
                counts = self.counts.get(run_id, Counter())
                done = sum(counts[name] for name in TERMINAL[flow])
                if isinstance(ended, FlowRunFetched) and (dry_run or done >= ended.fetched):
                    await asyncio.sleep(0.05)  # let the last commits' probes land
                    return
                await asyncio.sleep(0.02)
