"""The service runtime: how a service is declared, started and fed messages.

A service declares itself once, in its ``app.py``, as a ``ServiceSpec``::

    spec = ServiceSpec(
        name="orders",
        tables=[OrderLink],                    # its SQLModel tables (outbox/inbox are added)
        handlers=handlers.bindings,            # ctx -> [HandlerBinding, ...]
        routers=api.routers,                   # ctx -> [APIRouter, ...]
        on_start=service.start, on_stop=...,   # optional, e.g. start a scheduler
        migrations_path=Path(__file__).parent / "migrations",
    )

``ServiceRuntime(spec, bus=bus)`` gives it a ``Database`` (its own SQLite file or PostgreSQL
schema), an ``OutboxRelay`` and a ``ServiceContext``, and on ``start()``:

1. ``prepare()``: creates or migrates its tables (``KoppelSettings.schema_mode``) and
   subscribes every ``HandlerBinding`` to the bus (queue ``<service>.<binding name>``);
2. starts the bus when it owns it (one service per process);
3. ``start_workers()``: starts the relay, then ``on_start``.

Every delivery goes through one wrapper (``ServiceRuntime.deliver``): it sets the log
context, opens a consumer span continuing the message's ``traceparent``, opens a
``UnitOfWork``, returns at once if the inbox already has ``(binding name, message_id)``,
calls ``handle(message, uow)``, commits (state + outbox + inbox row in one transaction),
wakes the relay and counts the outcome. Exceptions propagate to the bus unchanged:
``TransientError`` (or anything unexpected) is retried, ``PermanentError`` dead-lettered.

Embedded mode (``koppel up``) runs all services in one process on one bus: build one
``ServiceRuntime`` per spec on the shared bus and start them through ``RuntimeGroup``, which
subscribes everyone before starting the bus once. Each runtime still has its own database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from koppel.common import metrics
from koppel.common.bus.base import Delivery, MessageBus, RetryPolicy, Subscription
from koppel.common.bus.handling import NOT_COUNTED
from koppel.common.db import Database
from koppel.common.errors import KoppelError, PermanentError, TransientError
from koppel.common.inbox import InboxEntry
from koppel.common.logging import log_context
from koppel.common.messages import Message
from koppel.common.outbox import OutboxMessage, OutboxRelay
from koppel.common.settings import KoppelSettings
from koppel.common.telemetry import context_from_traceparent, instrument_engine, tracer_for
from koppel.common.uow import UnitOfWork

if TYPE_CHECKING:
    from fastapi import APIRouter

log = logging.getLogger(__name__)
T = TypeVar("T")
STARTUP_WAIT_SECONDS = 60.0
# How long a starting service keeps trying to reach the broker (it may be restarting, or drop
# the connection mid-declare) before giving up, and the longest pause between two tries.
BUS_START_SECONDS = 120.0
BUS_START_MAX_BACKOFF = 5.0

# The first parameter is the concrete message type the binding's patterns deliver; ``Any``
# so that ``async def handle(message: OrderMapped, uow: UnitOfWork)`` type-checks.
Handle = Callable[[Any, UnitOfWork], Awaitable[None]]

MESSAGING_TABLES: tuple[type[SQLModel], ...] = (OutboxMessage, InboxEntry)


@dataclass(frozen=True)
class HandlerBinding:
    """One consumer of a service: ``name`` (unique in the service, names the queue and the
    inbox rows), the topic ``patterns`` it binds, and the function handling a message.

    ``inbox=False`` skips the inbox for handlers that are naturally idempotent and hot.
    ``retry=None`` uses the service's settings (``KOPPEL_RETRY_DELAYS``, ``KOPPEL_TIME_SCALE``).
    """

    name: str
    patterns: tuple[str, ...]
    handle: Handle
    prefetch: int = 32
    retry: RetryPolicy | None = None
    inbox: bool = True

    @classmethod
    def on(
        cls, *message_types: type[Message], handle: Handle, name: str | None = None, **options: Any
    ) -> HandlerBinding:
        """A binding for exact message types: ``HandlerBinding.on(OrderMapped, handle=f)``."""
        patterns = tuple(t.routing_key() for t in message_types)
        return cls(
            name=name or handle.__name__.removeprefix("handle_"),
            patterns=patterns,
            handle=handle,
            **options,
        )


def _no_handlers(_ctx: ServiceContext) -> Sequence[HandlerBinding]:
    return ()


def _no_routers(_ctx: ServiceContext) -> Sequence[APIRouter]:
    return ()


@dataclass
class ServiceSpec:
    """Everything the runtime needs to know about a service (see the module docstring)."""

    name: str
    tables: Sequence[type[SQLModel]] = ()
    handlers: Callable[[ServiceContext], Sequence[HandlerBinding]] = _no_handlers
    routers: Callable[[ServiceContext], Sequence[APIRouter]] = _no_routers
    on_start: Callable[[ServiceContext], Awaitable[None]] | None = None
    on_stop: Callable[[ServiceContext], Awaitable[None]] | None = None
    migrations_path: Path | None = None
    settings_type: type[KoppelSettings] = KoppelSettings

    @property
    def all_tables(self) -> list[type[SQLModel]]:
        """The service's tables plus the outbox and inbox every service has."""
        return [*self.tables, *(t for t in MESSAGING_TABLES if t not in self.tables)]


@dataclass
class ServiceContext:
    """What handlers, routes and hooks of one service share. ``deps`` holds service-specific
    dependencies (connectors, caches, clients), set in ``on_start`` or by the caller."""

    name: str
    settings: KoppelSettings
    database: Database
    bus: MessageBus
    relay: OutboxRelay
    deps: dict[str, Any] = field(default_factory=dict)

    def unit_of_work(
        self, message: Message | None = None, *, handler: str | None = None
    ) -> UnitOfWork:
        """A unit of work on this service's database; its commits wake the relay."""
        return UnitOfWork(
            self.database, message=message, handler=handler, on_commit=self.relay.wake, context=self
        )

    def dep(self, key: str, kind: type[T]) -> T:
        """A typed dependency from ``deps`` (KeyError if absent, TypeError if mistyped)."""
        value = self.deps[key]
        if not isinstance(value, kind):
            raise TypeError(f"dependency {key!r} is {type(value).__name__}, not {kind.__name__}")
        return value

    def __getitem__(self, key: str) -> Any:
        return self.deps[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.deps[key] = value


class ServiceRuntime:
    """Runs one ``ServiceSpec``: database, relay, subscriptions, hooks. See module docstring.

    ``owns_bus`` (default True): ``start()``/``stop()`` also start and stop the bus, as in one
    service per process. ``RuntimeGroup`` ignores it and drives the shared bus itself.
    """

    def __init__(
        self,
        spec: ServiceSpec,
        *,
        bus: MessageBus,
        settings: KoppelSettings | None = None,
        database: Database | None = None,
        owns_bus: bool = True,
    ) -> None:
        self.spec = spec
        self.settings = settings or spec.settings_type()
        self.bus = bus
        self.owns_bus = owns_bus
        self.database = database or Database(
            self.settings.database_url_for(spec.name),
            service=spec.name,
            tables=spec.all_tables,
            pool_size=self.settings.db_pool_size,
            max_overflow=self.settings.db_max_overflow,
        )
        scale = self.settings.time_scale
        self.relay = OutboxRelay(
            self.database,
            bus,
            service=spec.name,
            batch_size=self.settings.relay_batch_size,
            poll_interval=self.settings.relay_poll_interval * scale,
            retention=timedelta(seconds=self.settings.outbox_retention_seconds),
            inbox_retention=timedelta(seconds=self.settings.inbox_retention_seconds),
        )
        self.context = ServiceContext(spec.name, self.settings, self.database, bus, self.relay)
        self._bindings: list[HandlerBinding] | None = None
        self._routers: list[APIRouter] | None = None
        self._prepared = False
        self._workers = False
        self._started = asyncio.Event()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def bindings(self) -> list[HandlerBinding]:
        if self._bindings is None:
            self._bindings = list(self.spec.handlers(self.context))
            names = [b.name for b in self._bindings]
            if len(set(names)) != len(names):
                raise ValueError(f"{self.name}: handler binding names must be unique: {names}")
        return self._bindings

    def routers(self) -> list[APIRouter]:
        if self._routers is None:
            self._routers = list(self.spec.routers(self.context))
        return self._routers

    async def prepare(self) -> None:
        """Tables (created or migrated), tracing of SQL, subscriptions. Idempotent."""
        if self._prepared:
            return
        instrument_engine(self.database.engine, self.name)
        await self._ensure_tables()
        for binding in self.bindings:
            self.bus.subscribe(
                Subscription(
                    service=self.name,
                    name=binding.name,
                    patterns=binding.patterns,
                    handler=partial(self._consume, binding),
                    prefetch=binding.prefetch,
                    retry=binding.retry or self.settings.retry_policy(),
                )
            )
        self._prepared = True

    async def _ensure_tables(self) -> None:
        mode = self.settings.schema_mode
        has_migrations = (
            self.spec.migrations_path is not None and self.spec.migrations_path.is_dir()
        )
        if mode == "migrate" or (mode == "auto" and has_migrations):
            from koppel.common.migrations import migrate_database

            await migrate_database(self.spec, self.database)
        elif mode in ("create", "auto"):
            await self.database.create_all(MESSAGING_TABLES)

    async def start_workers(self) -> None:
        if self._workers:
            return
        await self.relay.start()
        if self.spec.on_start is not None:
            await self.spec.on_start(self.context)
        self._workers = True
        self._started.set()

    async def stop_workers(self) -> None:
        if not self._workers:
            return
        self._workers = False
        self._started.clear()
        try:
            if self.spec.on_stop is not None:
                await self.spec.on_stop(self.context)
        finally:
            await self.relay.stop()

    async def start(self) -> None:
        await self.prepare()
        if self.owns_bus:
            await start_bus(self.bus, self.name)
        await self.start_workers()

    async def stop(self) -> None:
        """Hooks, relay, then the bus (in-flight handlers finish), then the engine. Rows
        committed while stopping stay in the outbox for the next start."""
        if self.owns_bus:
            await self.bus.stop()
        await self.stop_workers()
        await self.database.dispose()

    async def ready(self) -> bool:
        return await self.database.ping() and await self.bus.healthy()

    async def _consume(self, binding: HandlerBinding, message: Message, delivery: Delivery) -> None:
        """What the bus calls. It starts consuming before ``on_start`` has set the service's
        dependencies (a restarted replica finds its queue full): hold deliveries until then."""
        if not self._started.is_set():
            try:
                await asyncio.wait_for(self._started.wait(), timeout=STARTUP_WAIT_SECONDS)
            except TimeoutError:
                raise TransientError(
                    f"{self.name} is not started yet", reason_code="not_started"
                ) from None
        await self.deliver(binding, message, delivery)

    async def deliver(self, binding: HandlerBinding, message: Message, delivery: Delivery) -> None:
        """The wrapper around every handler call (see the module docstring)."""
        current = trace.get_current_span().get_span_context()
        parent = None if current.is_valid else context_from_traceparent(message.traceparent)
        attributes: dict[str, str | int] = {
            "messaging.destination.name": delivery.routing_key,
            "messaging.message.id": str(message.message_id),
            "koppel.tenant_id": message.tenant_id,
            "koppel.handler": binding.name,
            "koppel.attempt": delivery.attempt,
        }
        tracer = tracer_for(self.name)
        outcome = "ok"
        started = time.perf_counter()
        with (
            log_context(
                service=self.name,
                tenant_id=message.tenant_id,
                correlation_id=str(message.correlation_id),
                message_id=str(message.message_id),
                handler=binding.name,
            ),
            tracer.start_as_current_span(
                f"{self.name}.{binding.name}",
                context=parent,
                kind=SpanKind.CONSUMER,
                attributes=attributes,
            ),
        ):
            failure: KoppelError | None = None
            try:
                outcome = await self._handle(binding, message)
            except PermanentError as exc:
                outcome, failure = "permanent", exc
                raise
            except TransientError as exc:
                outcome, failure = "transient", exc
                raise
            except Exception:
                outcome = "transient"
                raise
            finally:
                elapsed = time.perf_counter() - started
                metrics.HANDLER_DURATION.labels(self.name, binding.name).observe(elapsed)
                metrics.MESSAGES_HANDLED.labels(self.name, binding.name, outcome).inc()
                if outcome in ("permanent", "transient"):
                    metrics.MESSAGES_FAILED.labels(self.name, binding.name, outcome).inc()
                    _log_failure(outcome, delivery.attempt, failure)

    async def _handle(self, binding: HandlerBinding, message: Message) -> str:
        inbox_name = binding.name if binding.inbox else None
        async with self.context.unit_of_work(message, handler=inbox_name) as uow:
            if await uow.already_processed():
                return "duplicate"
            await binding.handle(message, uow)
            try:
                await uow.commit()
            except IntegrityError as exc:
                # A concurrent delivery of the same message committed first: its inbox row
                # is there now, so ours is the duplicate. Any other conflict (two runs writing
                # the same record at once) is a race the retry settles: transient, not a bug.
                if await uow.already_processed():
                    return "duplicate"
                raise TransientError(
                    f"A concurrent write to the same record won: {exc.orig}",
                    reason_code="write_conflict",
                ) from exc
        return "ok"


class RuntimeGroup:
    """Several runtimes sharing one bus in one process (embedded ``koppel up``)."""

    def __init__(self, runtimes: Sequence[ServiceRuntime], bus: MessageBus) -> None:
        names = [r.name for r in runtimes]
        if len(set(names)) != len(names):
            raise ValueError(f"service names must be unique: {names}")
        self.runtimes = list(runtimes)
        self.bus = bus

    async def start(self) -> None:
        for runtime in self.runtimes:
            await runtime.prepare()
        await start_bus(self.bus, "koppel")
        for runtime in self.runtimes:
            await runtime.start_workers()

    async def stop(self) -> None:
        # Consumers first, so in-flight handlers finish while their dependencies still exist.
        await self.bus.stop()
        for runtime in reversed(self.runtimes):
            await runtime.stop_workers()
        for runtime in self.runtimes:
            await runtime.database.dispose()

    async def ready(self) -> bool:
        for runtime in self.runtimes:
            if not await runtime.database.ping():
                return False
        return await self.bus.healthy()


async def start_bus(
    bus: MessageBus,
    name: str,
    *,
    within: float = BUS_START_SECONDS,
    max_backoff: float = BUS_START_MAX_BACKOFF,
) -> None:
    """``bus.start()``, tried again with capped exponential backoff while the broker cannot
    be reached (``TransientError``), for up to ``within`` seconds; then the error propagates.

    A broker that restarts, or closes the connection while the topology is declared, must
    not turn into a service that exits at start and waits for its supervisor."""
    deadline = time.monotonic() + within
    pause = min(0.25, max_backoff)
    while True:
        try:
            await bus.start()
            return
        except TransientError as exc:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("%s: the bus did not start (%s); again in %.2f s", name, exc, pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, max_backoff)


def build_bus(settings: KoppelSettings, *, service: str = "koppel") -> MessageBus:
    """The bus the settings ask for: RabbitMQ when ``KOPPEL_AMQP_URL`` is set, else in-process.

    Retry delays are already scaled by the subscriptions' ``RetryPolicy`` (built from the same
    settings), so the transport itself runs at scale 1.
    """
    if settings.amqp_url:
        from koppel.common.bus.rabbit import RabbitBus

        return RabbitBus(settings.amqp_url, connection_name=f"koppel-{service}")
    from koppel.common.bus.memory import InMemoryBus

    return InMemoryBus()


def _log_failure(outcome: str, attempt: int, failure: KoppelError | None) -> None:
    """A classified failure is logged as its reason, without a traceback (a rate-limited
    catalog defers hundreds of messages a minute, each one a stack trace before); a turn
    deferred or an outage waited out is routine (INFO). Anything else keeps its traceback."""
    if failure is None:
        log.warning("handler failed (%s) on attempt %d", outcome, attempt, exc_info=True)
        return
    level = logging.INFO if failure.reason_code in NOT_COUNTED else logging.WARNING
    log.log(
        level,
        "handler failed (%s, %s) on attempt %d: %s",
        outcome,
        failure.reason_code,
        attempt,
        failure.reason,
    )
