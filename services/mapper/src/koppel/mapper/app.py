"""The mapper service: turns ``*Fetched`` records into ``*Mapped`` ones with each tenant's
mapping and value maps, and serves the mapping API (save, history, rollback, preview).

``SPEC`` declares it to the runtime; the embedded runner (``koppel up``) builds one runtime
per ``SPEC`` on a shared bus, and ``create_app()`` runs it alone (distributed mode).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from koppel.common.app import create_service_app
from koppel.common.bus.base import MessageBus
from koppel.common.runtime import ServiceRuntime, ServiceSpec, build_bus
from koppel.mapper import api, handlers
from koppel.mapper.config import MapperSettings
from koppel.mapper.models import TABLES

SPEC = ServiceSpec(
    name="mapper",
    tables=TABLES,
    handlers=handlers.bindings,
    routers=api.routers,
    migrations_path=Path(__file__).parent / "migrations",
    settings_type=MapperSettings,
)


def create_runtime(
    settings: MapperSettings | None = None, bus: MessageBus | None = None
) -> ServiceRuntime:
    settings = settings or MapperSettings()
    if bus is None:
        return ServiceRuntime(SPEC, bus=build_bus(settings, service=SPEC.name), settings=settings)
    return ServiceRuntime(SPEC, bus=bus, settings=settings)


def create_app(settings: MapperSettings | None = None, bus: MessageBus | None = None) -> FastAPI:
    """The service alone in its process: the app owns the runtime and the bus."""
    return create_service_app(create_runtime(settings, bus))
