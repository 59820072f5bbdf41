"""The gateway service: its spec for the runtime, and the app for one process.

``ctx.deps`` may be pre-filled (tests, the embedded runner) with ``gateway.http`` (an
``httpx.AsyncClient`` for the token endpoints and the connection test, e.g. one routed to
the sandboxes) and ``gateway.clock`` (a function returning the current UTC time).
"""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from koppel.common.app import create_service_app
from koppel.common.bus.base import MessageBus
from koppel.common.messages import utcnow
from koppel.common.runtime import ServiceContext, ServiceRuntime, ServiceSpec, build_bus
from koppel.gateway import handlers
from koppel.gateway.adapters.oauth import OAuthClient
from koppel.gateway.adapters.probe import HttpProbe
from koppel.gateway.api import build_routers
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
    if ctx.deps.pop("gateway.owns_http", False):
        http = ctx.deps.pop("gateway.http")
        await http.aclose()


spec = ServiceSpec(
    name=SERVICE,
    tables=TABLES,
    handlers=handlers.bindings,
    routers=lambda ctx: build_routers(lambda: gateway_of(ctx)),
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
