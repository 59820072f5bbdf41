"""Notifier' internal HTTP routes, under ``/internal/notifier`` and behind the service token.

The gateway serves the public API and asks these routes for notifier data.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from koppel.common.app import require_service_token
from koppel.common.runtime import ServiceContext
from koppel.notifier import handlers, service
from koppel.notifier.models import ServiceInfo

PREFIX = "/internal/notifier"


def routers(ctx: ServiceContext) -> list[APIRouter]:
    router = APIRouter(
        prefix=PREFIX,
        tags=["notifier"],
        dependencies=[Depends(require_service_token(ctx.settings))],
    )

    @router.get("/info")
    async def info() -> ServiceInfo:
        """What this service runs: its handlers and tables."""
        return service.describe(ctx, [b.name for b in handlers.bindings(ctx)])

    return [router]
