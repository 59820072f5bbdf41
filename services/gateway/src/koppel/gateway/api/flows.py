"""Flows (settings and schedule) and their runs."""

# No ``from __future__ import annotations``: FastAPI must see the route-local aliases.
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, status

from koppel.common.events import RunTrigger
from koppel.common.messages import Flow
from koppel.gateway.api import views
from koppel.gateway.api.deps import Deps
from koppel.gateway.api.problems import AUTH, INVALID, NOT_FOUND, Responses, problem
from koppel.gateway.domain import RunStatus
from koppel.gateway.flow_settings import FLOW_SETTINGS
from koppel.gateway.schemas import FlowPublic, FlowPut, Page, RunAccepted, RunPublic
from koppel.gateway.service import flows, runs
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.ports import UnitOfWork
from koppel.gateway.service.tenants import Principal

CONFLICT: Responses = {409: problem(409, "Conflict", "a orders run is still going")}
SETTINGS_DOC = "Settings per flow (unknown fields are refused): " + "; ".join(
    f"{flow.value}: {', '.join(model.model_fields)}" for flow, model in FLOW_SETTINGS.items()
)
FLOW_EXAMPLES = {
    "orders": {
        "summary": "orders every 5 minutes",
        "value": {
            "enabled": True,
            "schedule": {"interval_seconds": 300},
            "settings": {
                "statuses": ["shipped", "invoiced"],
                "only_paid": True,
                "target": "sales_invoice",
            },
        },
    },
    "products": {
        "summary": "products hourly, web articles only",
        "value": {
            "enabled": True,
            "schedule": {"cron": "0 * * * *"},
            "settings": {
                "match_by": "sku_then_ean",
                "filters": [
                    {"field": "AG_CODE", "operator": "in", "value": ["WEB", "SHOP"]},
                    {"field": "REC_BLK", "operator": "==", "value": False},
                ],
            },
        },
    },
    "stock": {
        "summary": "stock every 10 minutes",
        "value": {
            "enabled": True,
            "schedule": {"interval_seconds": 600},
            "settings": {"formula": "available_minus_reservations"},
        },
    },
}


def build(deps: Deps) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["flows and runs"], responses={**AUTH, **INVALID})
    Gw = Annotated[Gateway, Depends(deps.gateway)]
    Uow = Annotated[UnitOfWork, Depends(deps.uow)]
    Tenant = Annotated[Principal, Depends(deps.tenant)]

    @router.get("/flows", response_model=list[FlowPublic], summary="List my flows")
    async def list_flows(uow: Uow, who: Tenant) -> list[FlowPublic]:
        """All four flows with their settings (defaults where never set) and next scheduled run."""
        return [
            flows.public_view(flow, await flows.find_flow(uow, who.tenant, flow)) for flow in Flow
        ]

    @router.get(
        "/flows/{flow}", response_model=FlowPublic, summary="Get a flow", responses={**INVALID}
    )
    async def get_flow(flow: Flow, uow: Uow, who: Tenant) -> FlowPublic:
        """One flow's switch, schedule and settings."""
        return flows.public_view(flow, await flows.find_flow(uow, who.tenant, flow))

    @router.put(
        "/flows/{flow}",
        response_model=FlowPublic,
        summary="Configure a flow",
        description=SETTINGS_DOC,
        responses={**INVALID},
    )
    async def put_flow(
        flow: Flow,
        data: Annotated[FlowPut, Body(openapi_examples=FLOW_EXAMPLES)],
        gw: Gw,
        uow: Uow,
        who: Tenant,
    ) -> FlowPublic:
        """Replaces the flow's settings; each is validated and a wrong one is a 422 naming it."""
        return flows.public_view(
            flow, await flows.put_flow(gw, uow, who.tenant, flow, data, who.actor)
        )

    @router.post(
        "/flows/{flow}/runs",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=RunAccepted,
        summary="Run a flow now",
        responses={**INVALID, **CONFLICT},
    )
    async def run_now(
        flow: Flow,
        gw: Gw,
        uow: Uow,
        who: Tenant,
        dry_run: bool = False,
        record_id: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=200,
                pattern=r"\S",
                description=(
                    "Re-run one record from the start: fetch it again from the source (its "
                    "eAccounting order or customer id, its AccountView article code) and send "
                    "it through the flow with the current settings and mappings. Such a run "
                    "may start while a full run of the flow is going."
                ),
                examples=["8b1e6f0c-3f2a-4d5e-9a7b-1c2d3e4f5a6b"],
            ),
        ] = None,
    ) -> RunAccepted:
        """Starts a manual run (``dry_run=true``: read and map, write nothing; ``record_id``: only
        that record, fetched again from the source, e.g. to retry a failed order after a fix).
        Follow it at ``/v1/runs/{id}``."""
        row = await runs.request_run(
            gw,
            uow,
            who.tenant,
            flow,
            trigger=RunTrigger.manual,
            dry_run=dry_run,
            record_id=record_id,
        )
        return RunAccepted(run_id=row.id, status=row.status)

    @router.get("/runs", response_model=Page[RunPublic], summary="List runs", responses={**INVALID})
    async def list_runs(
        uow: Uow,
        who: Tenant,
        flow: Flow | None = None,
        status: RunStatus | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Page[RunPublic]:
        """Newest first, optionally of one flow or one status."""
        rows, next_cursor = await runs.list_runs(
            uow, who.tenant, flow=flow, status=status, cursor=cursor, limit=limit
        )
        return Page[RunPublic](items=[views.run(r) for r in rows], next_cursor=next_cursor)

    @router.get(
        "/runs/{run_id}", response_model=RunPublic, summary="Get a run", responses={**NOT_FOUND}
    )
    async def get_run(run_id: str, uow: Uow, who: Tenant) -> RunPublic:
        """Status (running, succeeded, partially_failed, failed) and counts (fetched, synced, skipped, failed)."""
        return views.run(await runs.get_run(uow, who.tenant, run_id))

    return router
