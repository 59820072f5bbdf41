"""The notifier service: keeps every tenant's activity log and sends alerts.

``SPEC`` declares it to the runtime (tables, handler table, routes, migrations); the embedded
runner (``koppel up``) builds one runtime per ``SPEC`` on a shared bus, and ``create_app()``
runs it alone (``koppel serve notifier``, distributed mode).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from koppel.common.app import create_service_app
from koppel.common.bus.base import MessageBus
from koppel.common.runtime import ServiceRuntime, ServiceSpec, build_bus
from koppel.notifier import api, handlers, lifecycle
from koppel.notifier.config import NotifierSettings
from koppel.notifier.models import TABLES

SPEC = ServiceSpec(
    name="notifier",
    tables=TABLES,
    handlers=handlers.bindings,
    routers=api.routers,
    on_start=lifecycle.start,
    on_stop=lifecycle.stop,
    migrations_path=Path(__file__).parent / "migrations",
    settings_type=NotifierSettings,
)


def create_runtime(
    settings: NotifierSettings | None = None, bus: MessageBus | None = None
) -> ServiceRuntime:
    settings = settings or NotifierSettings()
    if bus is None:
        return ServiceRuntime(SPEC, bus=build_bus(settings, service=SPEC.name), settings=settings)
    return ServiceRuntime(SPEC, bus=bus, settings=settings)


def create_app(settings: NotifierSettings | None = None, bus: MessageBus | None = None) -> FastAPI:
    """The service alone in its process: the app owns the runtime and the bus."""
    return create_service_app(create_runtime(settings, bus))
