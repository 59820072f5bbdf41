"""An embedded world for end-to-end tests and the benchmark: both sandboxes in process (httpx
``ASGITransport``), the mapper, orders and customers services on one ``InMemoryBus``, each
with its own SQLite file, and one tenant wired to the sandboxes.

Like the CLI's embedded runner, this module is a *runner*: it is the one place in the orders
package that imports other services and the sandboxes, and only when a world is built.

Settings and tokens come from a fixture (``StaticConnections`` and a token provider that
asks the sandboxes' admin endpoint), standing in for the gateway's internal API.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx

from koppel.common.bus.base import Delivery, MessageBus, Subscription
from koppel.common.bus.memory import InMemoryBus
from koppel.common.events import (
    CustomerEnsured,
    CustomerFailed,
    FlowRunFailed,
    FlowRunFetched,
    FlowRunRequested,
    MessageDeadLettered,
    OrderFailed,
    OrderSkipped,
    OrderSynced,
    RunTrigger,
)
from koppel.common.messages import Flow, Message
from koppel.common.runtime import RuntimeGroup, ServiceRuntime

TENANT = "acme"
JSON = dict[str, Any]
ORDER_OUTCOMES: tuple[type[Message], ...] = (OrderSynced, OrderSkipped, OrderFailed)
CUSTOMER_OUTCOMES: tuple[type[Message], ...] = (CustomerEnsured, CustomerFailed)


class SandboxTokens:
    """The gateway's stand-in: access tokens minted by a sandbox's admin endpoint."""

    def __init__(self, admin: httpx.AsyncClient) -> None:
        self.admin = admin
        self.token: str | None = None

    async def access_token(self, connection_id: str, *, force_refresh: bool = False) -> str:  # noqa: ARG002
        if self.token is None or force_refresh:
            response = await self.admin.post("/_sandbox/tokens", json={})
            response.raise_for_status()
            self.token = str(response.json()["access_token"])
        return self.token


class DuplicatingBus:
    """A bus that delivers every published message twice (same message id): the world's
    way of proving that a redelivery at any step creates nothing twice."""

    def __init__(self, inner: MessageBus) -> None:
        self.inner = inner

    def subscribe(self, subscription: Subscription) -> None:
        self.inner.subscribe(subscription)

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self, timeout: float = 30.0) -> None:
        await self.inner.stop(timeout)

    async def publish(self, messages: Sequence[Message]) -> None:
        await self.inner.publish([*messages, *messages])

    async def publish_raw(
        self, routing_key: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        await self.inner.publish_raw(routing_key, body, headers)

    async def healthy(self) -> bool:
        return await self.inner.healthy()


@dataclass
class WorldOptions:
    orders: int = 200
    customers: int = 80
    articles: int = 100
    unknown_articles: int = 5
    seed: int = 42
    target: str = "sales_order"  # or "sales_invoice"
    statuses: tuple[str, ...] = ("shipped", "invoiced")
    only_paid: bool = False
    update_existing: bool = True
    default_debtor: str | None = None
    # AccountView debtors that already exist with the e-mail of an eAccounting customer.
    shared_debtors: int = 5
    # Countries left out of the VAT value map: their customers' orders fail in the mapper.
    unmapped_vat_countries: tuple[str, ...] = ("NO",)
    # Extra customers without (or with an unusable) e-mail, each with one shipped order.
    customers_without_email: int = 2
    # The seed's VAT numbers do not all pass python-stdnum's checksums, which the mapper
    # applies; clear those so the e2e outcome turns on our rules, not on that data defect.
    clear_invalid_vat_numbers: bool = True
    duplicate_deliveries: bool = False
    # Distributed variant: RabbitMQ and PostgreSQL instead of the in-process bus and SQLite.
    # Queues, exchanges and schemas get a random suffix and are deleted at stop.
    amqp_url: str | None = None
    database_url: str | None = None
    # Concurrent AccountView calls per connection (the connector's default of 4 suits the
    # relay to an on-premises AccountView; the in-process sandbox takes more).
    accountview_in_flight: int = 16
    time_scale: float = 0.01
    prefetch: int = 32


@dataclass
class Recorder:
    messages: dict[UUID, Message] = field(default_factory=dict)
    deliveries: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    seen_at: dict[UUID, float] = field(default_factory=dict)
    # Messages by exact type, and by (type, run id): a run's progress is checked after every
    # delivery, and scanning every message each time made the harness itself quadratic
    # (its CPU counts in the benchmark's CPU per order).
    _by_kind: dict[type[Message], list[Message]] = field(default_factory=dict)
    _by_run: dict[tuple[type[Message], UUID | None], list[Message]] = field(default_factory=dict)

    async def __call__(self, message: Message, _delivery: Delivery) -> None:
        self.deliveries += 1
        if message.message_id not in self.messages:
            self.messages[message.message_id] = message
            self.seen_at[message.message_id] = time.perf_counter()
            self._by_kind.setdefault(type(message), []).append(message)
            self._by_run.setdefault((type(message), message.run_id), []).append(message)
        self.changed.set()

    def of(self, kind: type[Message], run_id: UUID | None = None) -> list[Any]:
        if run_id is not None:
            found = list(self._by_run.get((kind, run_id), ()))
            subclasses = [k for k in self._by_kind if k is not kind and issubclass(k, kind)]
            for sub in subclasses:
                found += self._by_run.get((sub, run_id), ())
            return found
        return [m for k, ms in self._by_kind.items() if issubclass(k, kind) for m in ms]

    def count(self, kind: type[Message], run_id: UUID | None = None) -> int:
        if run_id is None:
            return sum(len(ms) for k, ms in self._by_kind.items() if issubclass(k, kind))
        return sum(
            len(self._by_run.get((k, run_id), ())) for k in self._by_kind if issubclass(k, kind)
        )


@dataclass
class RunResult:
    run_id: UUID
    fetched: int
    failed_run: FlowRunFailed | None
    synced: list[OrderSynced]
    skipped: list[OrderSkipped]
    failed: list[OrderFailed]
    dead_letters: list[MessageDeadLettered]
    seconds: float


class World:
    def __init__(self, options: WorldOptions | None = None, data_dir: Path | None = None) -> None:
        self.options = options or WorldOptions()
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="koppel-e2e-")
        self.data_dir = data_dir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.recorder = Recorder()
        self._clients: list[Any] = []

    # --- building --------------------------------------------------------------------

    async def start(self) -> World:
        from koppel.customers.adapters.connections import StaticConnections as CustomerConnections
        from koppel.orders.adapters.connections import StaticConnections as OrderConnections
        from koppel.sandbox.accountview import AccountViewSandboxSettings, SeedSpec
        from koppel.sandbox.accountview import create_app as create_av_app
        from koppel.sandbox.eaccounting import EAccountingSandboxSettings, SeedSizes
        from koppel.sandbox.eaccounting import create_app as create_ea_app

        o = self.options
        self.ea_app = create_ea_app(
            EAccountingSandboxSettings(
                seed=o.seed,
                sizes=SeedSizes(
                    customers=o.customers,
                    articles=o.articles,
                    unknown_articles=o.unknown_articles,
                    orders=o.orders,
                ),
                rate_limit=100_000,
                max_page_size=1000,
            )
        )
        self.ea = self.ea_app.state.sandbox
        if o.clear_invalid_vat_numbers:
            self._clear_invalid_vat_numbers()
        self._add_customers_without_email()
        emails = [c["EmailAddress"] for c in self.ea.store.all("customers")][: o.shared_debtors]
        self.av_app = create_av_app(
            AccountViewSandboxSettings(
                seed=SeedSpec(
                    seed=o.seed,
                    articles=o.articles,
                    debtors=20,
                    orders=0,
                    invoices=0,
                    shared_emails=emails,
                )
            )
        )
        self.ea_transport = httpx.ASGITransport(app=self.ea_app)
        self.av_transport = httpx.ASGITransport(app=self.av_app)
        self.ea_admin = httpx.AsyncClient(
            transport=self.ea_transport, base_url="http://eaccounting.test"
        )
        self.av_admin = httpx.AsyncClient(
            transport=self.av_transport, base_url="http://accountview.test"
        )
        ea_client, av_client = self._clients_for(
            SandboxTokens(self.ea_admin), SandboxTokens(self.av_admin)
        )
        ea_client2, av_client2 = self._clients_for(
            SandboxTokens(self.ea_admin), SandboxTokens(self.av_admin)
        )
        flows = self.flow_settings()
        order_connections = OrderConnections(
            eaccounting={TENANT: ea_client},
            accountview={TENANT: av_client},
            settings={TENANT: flows},
        )
        customer_connections = CustomerConnections(
            eaccounting={TENANT: ea_client2},
            accountview={TENANT: av_client2},
            settings={TENANT: flows},
        )
        self.suffix = uuid4().hex[:8]
        inner: MessageBus
        if o.amqp_url:
            from koppel.common.bus.rabbit import RabbitBus

            inner = RabbitBus(o.amqp_url, exchange=f"koppel_e2e_{self.suffix}")
        else:
            inner = InMemoryBus()
        self.transport_bus = inner
        self.bus: MessageBus = DuplicatingBus(inner) if o.duplicate_deliveries else inner
        self.runtimes = self._runtimes()
        self.runtime("orders").context.deps["orders.connections"] = order_connections
        self.runtime("customers").context.deps["customers.connections"] = customer_connections
        self.bus.subscribe(
            Subscription(
                service=f"e2e_{self.suffix}" if o.amqp_url else "e2e",
                name="recorder",
                patterns=("#",),
                handler=self.recorder,
                prefetch=256,
            )
        )
        self.group = RuntimeGroup(self.runtimes, self.bus)
        await self.group.start()
        await self._configure_mapper()
        return self

    def _clients_for(self, ea_tokens: SandboxTokens, av_tokens: SandboxTokens) -> tuple[Any, Any]:
        from koppel.connectors.accountview import AccountViewClient, AccountViewSettings
        from koppel.connectors.eaccounting import EAccountingClient, EAccountingSettings

        ea_client = EAccountingClient(
            EAccountingSettings(
                connection_id=f"{TENANT}:eaccounting",
                base_url="http://eaccounting.test/v2",
                rate_limit_requests=0,
                max_in_flight=64,
                max_connections=64,
            ),
            ea_tokens,
            transport=self.ea_transport,
        )
        av_client = AccountViewClient(
            AccountViewSettings(
                connection_id=f"{TENANT}:accountview",
                base_url="http://accountview.test/api/v3",
                company_code="KOPPELDEMO",
                ean_field="BAR_CODE",
            ),
            av_tokens,
            transport=self.av_transport,
        )
        self._clients += [ea_client, av_client]
        return ea_client, av_client

    def _runtimes(self) -> list[ServiceRuntime]:
        from koppel.customers.app import SPEC as CUSTOMERS
        from koppel.mapper.app import SPEC as MAPPER
        from koppel.orders.app import SPEC as ORDERS

        runtimes = []
        distributed = bool(self.options.database_url)
        for base in (MAPPER, ORDERS, CUSTOMERS):
            # Distributed: a unique service name, hence unique queues and PostgreSQL schema.
            spec = (
                dataclasses.replace(base, name=f"{base.name}_{self.suffix}")
                if distributed
                else base
            )
            settings = spec.settings_type(
                database_url=self.options.database_url
                or f"sqlite+aiosqlite:///{self.data_dir}/{{service}}.db",
                time_scale=self.options.time_scale,
                relay_poll_interval=0.5,
                schema_mode="create",
                # Above the handlers' concurrency: a handler holding SQLite's write lock must
                # never wait for a pooled connection (see the report on the runtime's
                # IntegrityError path, which asks for a second connection before rolling back).
                # On PostgreSQL handlers simply queue for a connection (no write lock to
                # hold), and three services must fit in its 100 connections beside others.
                db_pool_size=10 if distributed else 20,
                db_max_overflow=10 if distributed else 80,
            )
            runtimes.append(ServiceRuntime(spec, bus=self.bus, settings=settings, owns_bus=False))
        return runtimes

    def runtime(self, name: str) -> ServiceRuntime:
        return next(r for r in self.runtimes if r.name.split("_")[0] == name)

    def flow_settings(self) -> dict[str, JSON]:
        o = self.options
        orders: JSON = {
            "statuses": list(o.statuses),
            "only_paid": o.only_paid,
            "target": o.target,
            "batch_size": 1000,
        }
        if o.default_debtor:
            orders["default_debtor"] = o.default_debtor
        return {"orders": orders, "customers": {"update_existing": o.update_existing}}

    def _clear_invalid_vat_numbers(self) -> None:
        from stdnum.eu import vat as eu_vat

        for customer in self.ea.store.all("customers"):
            number = customer.get("VatNumber")
            if number and not eu_vat.is_valid(number):
                self.ea.store.put("customers", customer["Id"], {**customer, "VatNumber": None})

    def _add_customers_without_email(self) -> None:
        from koppel.sandbox.eaccounting.customers import save_customer
        from koppel.sandbox.eaccounting.orders import save_order

        store = self.ea.store
        terms = store.all("termsofpayments")[0]["Id"]
        article = next(a for a in store.all("articles") if a["Number"] == "ART-0002")
        self.customers_without_email: list[str] = []
        for n in range(self.options.customers_without_email):
            email = None if n % 2 == 0 else "  "
            customer = save_customer(
                store,
                {
                    "Name": f"Klant zonder e-mail {n + 1}",
                    "IsPrivatePerson": True,
                    "IsActive": True,
                    "TermsOfPaymentId": terms,
                    "InvoiceAddress1": f"Dorpsstraat {n + 1}",
                    "InvoicePostalCode": "1234AB",
                    "InvoiceCity": "Utrecht",
                    "InvoiceCountryCode": "NL",
                    "EmailAddress": email,
                },
                None,
            )
            order = save_order(
                store,
                {
                    "CustomerId": customer["Id"],
                    "CurrencyCode": "EUR",
                    "EuThirdParty": False,
                    "ReverseChargeOnConstructionServices": False,
                    "RotReducedInvoicingType": 0,
                    "Status": 3,
                    "OrderDate": store.clock.now().date().isoformat(),
                    "Rows": [
                        {
                            "LineNumber": 0,
                            "ArticleId": article["Id"],
                            "Quantity": 1.0,
                            "DiscountPercentage": 0.0,
                            "IsTextRow": False,
                            "IsWorkCost": False,
                            "EligibleForReverseChargeOnVat": False,
                        }
                    ],
                },
                None,
            )
            self.customers_without_email.append(order["Id"])

    async def _configure_mapper(self) -> None:
        from koppel.mapper.adapters import repository

        o = self.options
        terms = {
            t["Id"]: code
            for t, code in zip(
                self.ea.store.all("termsofpayments"), ["14", "30", "00", "8K"] * 4, strict=False
            )
        }
        vat = {c: ("21" if c == "NL" else "EU") for c in ("NL", "BE", "DE", "SE", "NO")}
        vat.update({f"NL:{r}": code for r, code in (("21", "21"), ("9", "09"), ("0", "00"))})
        for country in ("BE", "DE", "SE", "NO"):
            vat.update(
                {f"{country}:{r}": "EU" for r in ("21", "9", "0", "25", "12", "19", "7", "6", "15")}
            )
        for country in o.unmapped_vat_countries:
            vat = {k: v for k, v in vat.items() if k.split(":")[0] != country}
        maps: dict[str, JSON] = {
            "shipping_article": {"default": "VERZEND"},
            "vat_codes": {"entries": vat},
            "terms_of_payment": {"entries": terms},
            "revenue_accounts": {
                "entries": {"NL": "8000", "BE": "8010", "DE": "8010", "SE": "8010", "NO": "8020"}
            },
        }
        if o.default_debtor:
            maps["default_debtor"] = {"default": o.default_debtor}
        database = self.runtime("mapper").database
        async with database.session() as session:
            await repository.store_mapping(
                session,
                TENANT,
                "orders",
                {
                    "settings": {
                        "target_kind": o.target,
                        "shipping_article_numbers": ["SHIPPING"],
                        "sales_journal_code": "VK",
                        "collective_account": "1300",
                        "use_default_debtor": bool(o.default_debtor),
                    },
                    "fields": {},
                },
                actor="e2e",
                action="save",
            )
            await repository.store_mapping(
                session,
                TENANT,
                "customers",
                {"settings": {"collective_account": "1300"}, "fields": {}},
                actor="e2e",
                action="save",
            )
            for name, document in maps.items():
                await repository.store_value_map(session, TENANT, name, document, actor="e2e")
            await session.commit()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.group.stop()
        if self.options.database_url:
            for runtime in self.runtimes:
                with contextlib.suppress(Exception):
                    await runtime.database.drop_schema()
                    await runtime.database.dispose()
        delete = getattr(self.transport_bus, "delete_topology", None)
        if delete is not None:
            with contextlib.suppress(Exception):
                await delete()
        for client in self._clients:
            await client.aclose()
        await self.ea_admin.aclose()
        await self.av_admin.aclose()
        if self._tmp is not None:
            self._tmp.cleanup()

    async def __aenter__(self) -> World:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    # --- running ---------------------------------------------------------------------

    async def run_orders(self, *, timeout: float = 120.0, **fields: Any) -> RunResult:
        """Publish a ``FlowRunRequested(orders)`` and wait until every fetched order has an
        outcome (or a dead letter), then return what happened in that run."""
        run_id, seconds = await self._run(Flow.orders, ORDER_OUTCOMES, timeout, fields)
        r = self.recorder
        fetched = r.of(FlowRunFetched, run_id)
        failed_run = r.of(FlowRunFailed, run_id)
        return RunResult(
            run_id=run_id,
            fetched=fetched[0].fetched if fetched else 0,
            failed_run=failed_run[0] if failed_run else None,
            synced=r.of(OrderSynced, run_id),
            skipped=r.of(OrderSkipped, run_id),
            failed=r.of(OrderFailed, run_id),
            dead_letters=r.of(MessageDeadLettered),
            seconds=seconds,
        )

    async def run_customers(self, *, timeout: float = 120.0, **fields: Any) -> UUID:
        """A ``FlowRunRequested(customers)``, waited for like ``run_orders``; the outcomes
        are the recorder's ``CustomerEnsured``/``CustomerFailed`` with the returned run id."""
        run_id, _ = await self._run(Flow.customers, CUSTOMER_OUTCOMES, timeout, fields)
        return run_id

    async def _run(
        self, flow: Flow, outcomes: tuple[type[Message], ...], timeout: float, fields: JSON
    ) -> tuple[UUID, float]:
        request = FlowRunRequested(
            tenant_id=TENANT, flow=flow, run_id=uuid4(), trigger=RunTrigger.manual, **fields
        )
        run_id = request.run_id
        assert run_id is not None
        started = time.perf_counter()
        await self.bus.publish([request])
        deadline = started + timeout
        while not self._run_done(run_id, outcomes):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"run {run_id} did not finish: {self._progress(run_id)}")
            self.recorder.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.recorder.changed.wait(), min(remaining, 1.0))
        seconds = time.perf_counter() - started
        await self.quiesce()
        return run_id, seconds

    def _run_done(self, run_id: UUID, outcomes: tuple[type[Message], ...]) -> bool:
        r = self.recorder
        if r.of(FlowRunFailed, run_id):
            return True
        fetched = r.of(FlowRunFetched, run_id)
        if not fetched:
            return False
        done = sum(r.count(kind, run_id) for kind in outcomes)
        return done + r.count(MessageDeadLettered) >= int(fetched[0].fetched)

    def _progress(self, run_id: UUID) -> JSON:
        r = self.recorder
        kinds: list[type[Message]] = [FlowRunFetched, *ORDER_OUTCOMES, *CUSTOMER_OUTCOMES]
        progress = {kind.__name__: len(r.of(kind, run_id)) for kind in kinds}
        progress["MessageDeadLettered"] = len(r.of(MessageDeadLettered))
        return progress

    async def quiesce(self, settle: float = 0.2) -> None:
        """Wait until nothing moves on the bus for ``settle`` seconds (late duplicates)."""
        while True:
            before = self.recorder.deliveries
            await asyncio.sleep(settle)
            if self.recorder.deliveries == before:
                return

    # --- looking at the sandboxes -------------------------------------------------------

    async def av_table(self, table: str) -> list[JSON]:
        """The rows of an AccountView table of the tenant's company, as the sandbox holds them."""
        response = await self.av_admin.get(
            "/_sandbox/state", params={"table": table, "company": "KOPPELDEMO"}
        )
        response.raise_for_status()
        companies = response.json()["companies"]
        return list(companies[0]["tables"].get(table.upper(), [])) if companies else []

    async def request_counts(self) -> dict[str, dict[str, int]]:
        """API calls per "METHOD /path" each sandbox answered (admin and token calls left out)."""
        counts: dict[str, dict[str, int]] = {}
        for name, admin in (("eaccounting", self.ea_admin), ("accountview", self.av_admin)):
            response = await admin.get("/_sandbox/requests", params={"limit": 0})
            response.raise_for_status()
            counts[name] = {
                key: int(value)
                for key, value in response.json()["counts"].items()
                if "/_sandbox" not in key and "token" not in key.lower() and "/connect/" not in key
            }
        return counts

    async def clear_request_logs(self) -> None:
        for admin in (self.ea_admin, self.av_admin):
            (await admin.delete("/_sandbox/requests")).raise_for_status()
