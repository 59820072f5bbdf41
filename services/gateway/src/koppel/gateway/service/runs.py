"""Runs: requesting one (manual, webhook, schedule), reading them back.

Following a run through the flow events lives in ``run_events`` (re-exported here).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa

from koppel.common import events as ev
from koppel.common.messages import Flow
from koppel.gateway.domain import RunStatus
from koppel.gateway.errors import Conflict, InvalidInput, NotFound
from koppel.gateway.models import RunRow
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.flows import find_flow
from koppel.gateway.service.paging import keyset_page
from koppel.gateway.service.ports import UnitOfWork
from koppel.gateway.service.run_events import CONSUMED, FINAL, apply_event, outcome_of
from koppel.gateway.service.tenants import get_tenant

__all__ = ["CONSUMED", "FINAL", "apply_event", "outcome_of"]

_T = RunRow.__table__  # type: ignore[attr-defined]
# Flows whose next run may start once the running one has read its source. Its cursor moved
# in the same transaction as its fetched records, so the next run reads only what changed
# since; an order is created once whatever run brings it (the orders service's links and
# existence checks), so overlapping runs cannot write it twice or out of order. Not for
# flows that write the latest state (products, stock, customers): two overlapping runs
# could land an older value after a newer one. Without this, an order placed while a run's
# last records were still syncing waited for that run to finish before it was even read.
OVERLAP_ONCE_FETCHED = frozenset({Flow.orders})


async def running_run(gw: Gateway, uow: UnitOfWork, tenant_id: str, flow: Flow) -> RunRow | None:
    """The flow's unfinished full run, unless it went silent (then it no longer blocks) or,
    for the flows in ``OVERLAP_ONCE_FETCHED``, has read its source already."""
    cutoff = gw.clock() - timedelta(seconds=gw.settings.run_stale_after_seconds)
    stmt = sa.select(RunRow).where(
        _T.c.tenant_id == tenant_id,
        _T.c.flow == flow.value,
        _T.c.status == RunStatus.running.value,
        _T.c.dry_run.is_(False),
        _T.c.record_id.is_(None),
        _T.c.started_at > cutoff,
    )
    if flow in OVERLAP_ONCE_FETCHED:
        stmt = stmt.where(_T.c.fetched.is_(None))
    return (await uow.session.execute(stmt.limit(1))).scalars().first()


def new_run(
    uow: UnitOfWork,
    tenant_id: str,
    flow: Flow,
    *,
    trigger: ev.RunTrigger,
    now: datetime,
    dry_run: bool = False,
    record_id: str | None = None,
) -> RunRow:
    """Stage the run row and its ``FlowRunRequested`` (one transaction: both or neither)."""
    run_id = uuid4()
    row = RunRow(
        id=str(run_id),
        tenant_id=tenant_id,
        flow=flow.value,
        trigger=trigger.value,
        dry_run=dry_run,
        record_id=record_id,
        started_at=now,
    )
    uow.session.add(row)
    uow.publish(
        ev.FlowRunRequested(
            tenant_id=tenant_id,
            flow=flow,
            run_id=run_id,
            trigger=trigger,
            dry_run=dry_run,
            record_id=record_id,
        )
    )
    return row


async def request_run(
    gw: Gateway,
    uow: UnitOfWork,
    tenant_id: str,
    flow: Flow,
    *,
    trigger: ev.RunTrigger,
    dry_run: bool = False,
    record_id: str | None = None,
) -> RunRow:
    if record_id is not None and not record_id.strip():
        raise InvalidInput("record_id must name a record", field="record_id")
    await get_tenant(uow, tenant_id)
    flow_row = await find_flow(uow, tenant_id, flow)
    if not dry_run and (flow_row is None or not flow_row.enabled):
        raise Conflict(
            f"the {flow.value} flow is not enabled; enable it or ask for a dry run", field="flow"
        )
    if not dry_run and record_id is None:
        busy = await running_run(gw, uow, tenant_id, flow)
        if busy is not None:
            raise Conflict(f"a {flow.value} run is still going", running_run_id=busy.id)
    row = new_run(
        uow, tenant_id, flow, trigger=trigger, now=gw.clock(), dry_run=dry_run, record_id=record_id
    )
    await uow.commit()
    return row


async def get_run(uow: UnitOfWork, tenant_id: str, run_id: str) -> RunRow:
    row = await uow.session.get(RunRow, run_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"run {run_id} does not exist")
    return row


async def list_runs(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    flow: Flow | None,
    status: RunStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[RunRow], str | None]:
    stmt = sa.select(RunRow).where(_T.c.tenant_id == tenant_id)
    if flow is not None:
        stmt = stmt.where(_T.c.flow == flow.value)
    if status is not None:
        stmt = stmt.where(_T.c.status == status.value)
    return await keyset_page(
        uow.session,
        stmt,
        at_column=_T.c.started_at,
        id_column=_T.c.id,
        cursor=cursor,
        limit=limit,
        descending=True,
    )


def run_uuid(run_id: str) -> UUID:
    try:
        return UUID(run_id)
    except ValueError:
        raise NotFound(f"run {run_id} does not exist") from None
