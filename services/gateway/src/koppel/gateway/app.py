"""The gateway service: its spec for the runtime, and the app for one process.

``ctx.deps`` may be pre-filled (tests, the embedded runner) with ``gateway.http`` (an
``httpx.AsyncClient`` for the token endpoints and the connection test, e.g. one routed to
the sandboxes) and ``gateway.clock`` (a function returning the current UTC time).
"""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI

from koppel.common.app import create_service_app
from koppel.common.bus.base import MessageBus
from koppel.common.messages import utcnow
from koppel.common.runtime import ServiceContext, ServiceRuntime, ServiceSpec, build_bus
from koppel.gateway import handlers
from koppel.gateway.adapters.oauth import OAuthClient
from koppel.gateway.adapters.probe import HttpProbe
from koppel.gateway.adapters.services import ServiceClients
from koppel.gateway.api import build_routers, forwarded
from koppel.gateway.api.deps import Deps
from koppel.gateway.config import GatewaySettings
from koppel.gateway.models import TABLES
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.scheduler import Scheduler

SERVICE = "gateway"


def settings_of(ctx: ServiceContext) -> GatewaySettings:
    if isinstance(ctx.settings, GatewaySettings):
        return ctx.settings
    return GatewaySettings()


def build_gateway(ctx: ServiceContext) -> Gateway:
    settings = settings_of(ctx)
    http = ctx.deps.get("gateway.http")
    if http is None:
        http = ctx.deps["gateway.http"] = httpx.AsyncClient()
        ctx.deps["gateway.owns_http"] = True
    return Gateway(
        settings=settings,
        box=settings.secret_box(),
        uow=ctx.unit_of_work,
        oauth=OAuthClient(http),
        probe=HttpProbe(http),
        dialect=ctx.database.dialect,
        clock=ctx.deps.get("gateway.clock", utcnow),
    )


def gateway_of(ctx: ServiceContext) -> Gateway:
    """The context's gateway, built on first use (routes may be called before ``on_start``
    in tests that drive the app without its lifespan)."""
    if "gateway" not in ctx.deps:
        ctx.deps["gateway"] = build_gateway(ctx)
    return ctx.dep("gateway", Gateway)


def services_of(ctx: ServiceContext) -> ServiceClients:
    """Clients of the services the public API forwards to, built on first use.

    ``ctx.deps["gateway.services_transport"]`` (the embedded runner, tests) routes them
    in-process; otherwise they call ``KOPPEL_MAPPER_URL`` / ``KOPPEL_NOTIFIER_URL``.
    """
    clients = ctx.deps.get("gateway.services")
    if clients is None:
        settings = settings_of(ctx)
        clients = ctx.deps["gateway.services"] = ServiceClients.build(
            mapper_url=settings.mapper_base_url,
            notifier_url=settings.notifier_base_url,
            service_token=settings.service_token.get_secret_value(),
            transport=ctx.deps.get("gateway.services_transport"),
            timeout=settings.services_timeout_seconds,
        )
    assert isinstance(clients, ServiceClients)
    return clients


def routers(ctx: ServiceContext) -> list[APIRouter]:
    return [
        *build_routers(lambda: gateway_of(ctx)),
        forwarded.build(Deps(lambda: gateway_of(ctx)), lambda: services_of(ctx)),
    ]


async def on_start(ctx: ServiceContext) -> None:
    gw = gateway_of(ctx)
    if gw.settings.scheduler_enabled:
        scheduler = Scheduler(
            gw, tick_seconds=gw.settings.scheduler_tick_seconds * gw.settings.time_scale
        )
        ctx.deps["gateway.scheduler"] = scheduler
        await scheduler.start()


async def on_stop(ctx: ServiceContext) -> None:
    scheduler = ctx.deps.pop("gateway.scheduler", None)
    if isinstance(scheduler, Scheduler):
        await scheduler.stop()
    services = ctx.deps.pop("gateway.services", None)
    if isinstance(services, ServiceClients):
        await services.aclose()
    if ctx.deps.pop("gateway.owns_http", False):
        http = ctx.deps.pop("gateway.http")
        await http.aclose()


spec = ServiceSpec(
    name=SERVICE,
    tables=TABLES,
    handlers=handlers.bindings,
    routers=routers,
    on_start=on_start,
    on_stop=on_stop,
    migrations_path=Path(__file__).parent / "migrations",
    settings_type=GatewaySettings,
)


# The name every other service's app module uses, so the CLI treats all six alike.
SPEC = spec


def create_runtime(
    settings: GatewaySettings | None = None, bus: MessageBus | None = None
) -> ServiceRuntime:
    settings = settings or GatewaySettings()
    return ServiceRuntime(spec, bus=bus or build_bus(settings, service=SERVICE), settings=settings)


def create_app(
    *, bus: MessageBus | None = None, settings: GatewaySettings | None = None
) -> FastAPI:
    """The gateway alone in its process (distributed mode)."""
    return create_service_app(create_runtime(settings, bus), title="Koppel API")
