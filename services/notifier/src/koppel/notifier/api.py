"""Notifier's internal HTTP routes, under ``/internal/notifier`` and behind the service token.
The gateway serves the public ``/v1/activity`` and ``/v1/dead-letters`` and forwards here with
the caller's tenant in the path, so every query is scoped to that tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from koppel.common.app import require_service_token
from koppel.common.messages import utcnow
from koppel.common.problems import Problem
from koppel.common.runtime import ServiceContext
from koppel.notifier import handlers, repository, service
from koppel.notifier.alerts import api as alerts_api
from koppel.notifier.models import (
    ActivityPage,
    ActivityPublic,
    DeadLetterPage,
    ReplayRequest,
    ReplayResult,
    ServiceInfo,
)

PREFIX = "/internal/notifier"
Limit = Annotated[int, Query(ge=1, le=500)]


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

    @router.get("/tenants/{tenant_id}/activity")
    async def list_activity(
        tenant_id: str,
        flow: str | None = None,
        status: str | None = None,
        run_id: UUID | None = None,
        entity: Annotated[
            str | None, Query(description="source id, SKU, order number or e-mail")
        ] = None,
        q: Annotated[str | None, Query(max_length=200, description="text in the reason")] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: Limit = 50,
    ) -> ActivityPage:
        """The tenant's activity log, newest first, filtered."""
        filters = repository.ActivityFilter(flow, status, run_id, entity, q, since, until)
        async with ctx.database.session() as session:
            items, next_cursor = await repository.list_activity(
                session, tenant_id, filters, cursor=cursor, limit=limit
            )
        return ActivityPage(items=items, next_cursor=next_cursor)

    @router.get("/tenants/{tenant_id}/activity/{correlation_id}")
    async def get_journey(tenant_id: str, correlation_id: UUID) -> list[ActivityPublic]:
        """One record's whole journey, in order."""
        async with ctx.database.session() as session:
            entries = await repository.journey(session, tenant_id, correlation_id)
        if not entries:
            raise Problem(404, "no activity for that record")
        return entries

    @router.get("/tenants/{tenant_id}/dead-letters")
    async def list_dead_letters(
        tenant_id: str,
        status: str | None = "parked",
        flow: str | None = None,
        reason_code: str | None = None,
        cursor: str | None = None,
        limit: Limit = 50,
    ) -> DeadLetterPage:
        """Parked messages with their reason and attempts."""
        async with ctx.database.session() as session:
            items, next_cursor = await repository.list_dead_letters(
                session,
                tenant_id,
                status=status,
                flow=flow,
                reason_code=reason_code,
                cursor=cursor,
                limit=limit,
            )
        return DeadLetterPage(items=items, next_cursor=next_cursor)

    @router.post("/tenants/{tenant_id}/dead-letters/replay")
    async def replay(tenant_id: str, request: ReplayRequest) -> ReplayResult:
        """Put parked messages back on the bus; they go through the current mapping and stay
        idempotent downstream (a record created meanwhile is skipped)."""
        async with ctx.database.session() as session:
            rows = await repository.parked_for_replay(
                session,
                tenant_id,
                ids=request.ids,
                flow=request.flow,
                reason_code=request.reason_code,
                limit=request.limit,
            )
        replayed: list[int] = []
        for row in rows:
            headers = {"x-koppel-replay": "1"}
            await ctx.bus.publish_raw(row.routing_key, row.body.encode(), headers)
            replayed.append(row.id)
        if replayed:
            await repository.mark_replayed(ctx.database, tenant_id, replayed, utcnow())
        return ReplayResult(replayed=len(replayed), ids=replayed)

    return [router, *alerts_api.routers(ctx)]
