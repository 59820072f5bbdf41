"""Customers' internal HTTP routes, under ``/internal/customers`` and behind the service token.

The gateway serves the public API and asks these routes for customers data.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from koppel.common.app import require_service_token
from koppel.common.runtime import ServiceContext
from koppel.customers import handlers, service
from koppel.customers.models import ServiceInfo

PREFIX = "/internal/customers"


def routers(ctx: ServiceContext) -> list[APIRouter]:
    router = APIRouter(
        prefix=PREFIX,
        tags=["customers"],
        dependencies=[Depends(require_service_token(ctx.settings))],
    )

    @router.get("/info")
    async def info() -> ServiceInfo:
        """What this service runs: its handlers and tables."""
        return service.describe(ctx, [b.name for b in handlers.bindings(ctx)])

    return [router]
