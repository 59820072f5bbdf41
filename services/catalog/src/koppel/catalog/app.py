"""The catalog service: upserts AccountView articles and stock into eAccounting.

``SPEC`` declares it to the runtime (tables, handler table, routes, migrations); the embedded
runner (``koppel up``) builds one runtime per ``SPEC`` on a shared bus, and ``create_app()``
runs it alone (``koppel serve catalog``, distributed mode).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from koppel.catalog import api, handlers, service
from koppel.catalog.config import CatalogSettings
from koppel.catalog.models import TABLES
from koppel.common.app import create_service_app
from koppel.common.bus.base import MessageBus
from koppel.common.runtime import ServiceRuntime, ServiceSpec, build_bus

SPEC = ServiceSpec(
    name="catalog",
    tables=TABLES,
    handlers=handlers.bindings,
    routers=api.routers,
    on_stop=service.stop,
    migrations_path=Path(__file__).parent / "migrations",
    settings_type=CatalogSettings,
)


def create_runtime(
    settings: CatalogSettings | None = None, bus: MessageBus | None = None
) -> ServiceRuntime:
    settings = settings or CatalogSettings()
    if bus is None:
        return ServiceRuntime(SPEC, bus=build_bus(settings, service=SPEC.name), settings=settings)
    return ServiceRuntime(SPEC, bus=bus, settings=settings)


def create_app(settings: CatalogSettings | None = None, bus: MessageBus | None = None) -> FastAPI:
    """The service alone in its process: the app owns the runtime and the bus."""
    return create_service_app(create_runtime(settings, bus))
