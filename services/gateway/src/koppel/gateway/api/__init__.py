"""The gateway's HTTP API: public ``/v1`` routes and the internal routes for services."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from koppel.gateway.api import admin, connections, flows, internal, tenant, webhooks
from koppel.gateway.api.deps import Deps
from koppel.gateway.service.context import Gateway


def build_routers(gateway: Callable[[], Gateway]) -> list[APIRouter]:
    from koppel.gateway.web import routes as web  # the /app pages (dashboard, wizard)

    deps = Deps(gateway)
    return [
        *(module.build(deps) for module in (admin, tenant, connections, flows, webhooks, internal)),
        web.build(gateway),
    ]
