"""Runs: requesting one (manual, webhook, schedule) and following it through the flow events.

A run is finished when the poller said how many records it fetched (``FlowRunFetched``) and
that many records reached a final outcome. Events of different services arrive in any order,
so counters are bumped with atomic ``UPDATE ... SET n = n + 1`` and the finish check is one
conditional ``UPDATE`` in the same transaction: whichever event completes the count closes
the run, exactly once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa

from koppel.common import events as ev
from koppel.common.messages import Flow, Message
from koppel.gateway.domain import Outcome, RunStatus
from koppel.gateway.errors import Conflict, NotFound
from koppel.gateway.models import RunRow
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.flows import find_flow
from koppel.gateway.service.paging import keyset_page
from koppel.gateway.service.ports import UnitOfWork
from koppel.gateway.service.tenants import get_tenant

# Which record events are a final outcome, and in which flow (CustomerEnsured is only a step
# of the orders flow, but the outcome of the customers flow).
FINAL: dict[tuple[type[Message], Flow], Outcome] = {
    (ev.OrderSynced, Flow.orders): Outcome.synced,
    (ev.OrderSkipped, Flow.orders): Outcome.skipped,
    (ev.OrderFailed, Flow.orders): Outcome.failed,
    (ev.CustomerEnsured, Flow.customers): Outcome.synced,
    (ev.CustomerFailed, Flow.customers): Outcome.failed,
    (ev.ProductUpserted, Flow.products): Outcome.synced,
    (ev.ProductDeactivated, Flow.products): Outcome.synced,
    (ev.ProductFailed, Flow.products): Outcome.failed,
    (ev.StockUpdated, Flow.stock): Outcome.synced,
    (ev.StockFailed, Flow.stock): Outcome.failed,
}
RUN_EVENTS: tuple[type[Message], ...] = (ev.FlowRunRequested, ev.FlowRunFetched, ev.FlowRunFailed)
CONSUMED: tuple[type[Message], ...] = RUN_EVENTS + tuple(
    sorted({t for t, _ in FINAL}, key=lambda t: t.__name__)
)

_T = RunRow.__table__  # type: ignore[attr-defined]


def outcome_of(message: Message) -> Outcome | None:
    if message.flow is None:
        return None
    outcome = FINAL.get((type(message), message.flow))
    if (
        outcome is Outcome.synced
        and getattr(message, "outcome", None) == ev.UpsertOutcome.unchanged
    ):
        return Outcome.skipped  # nothing was written: counted as skipped
    return outcome


async def running_run(gw: Gateway, uow: UnitOfWork, tenant_id: str, flow: Flow) -> RunRow | None:
    """The flow's unfinished full run, unless it went silent (then it no longer blocks)."""
    cutoff = gw.clock() - timedelta(seconds=gw.settings.run_stale_after_seconds)
    stmt = sa.select(RunRow).where(
        _T.c.tenant_id == tenant_id,
        _T.c.flow == flow.value,
        _T.c.status == RunStatus.running.value,
        _T.c.dry_run.is_(False),
        _T.c.record_id.is_(None),
        _T.c.started_at > cutoff,
    )
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


# --- following the flow events --------------------------------------------------------------


async def apply_event(gw: Gateway, uow: UnitOfWork, message: Message) -> None:
    """Update the run a flow event belongs to. The caller's inbox makes this idempotent."""
    if message.run_id is None or message.flow is None:
        return
    run_id, now = str(message.run_id), gw.clock()
    if isinstance(message, ev.FlowRunRequested):
        await _ensure_run(uow, message, run_id, trigger=message.trigger.value)
    elif isinstance(message, ev.FlowRunFetched):
        await _update_or_create(
            uow, message, run_id, {"fetched": message.fetched, "filtered_out": message.filtered_out}
        )
        await _close_if_complete(uow, run_id, now)
    elif isinstance(message, ev.FlowRunFailed):
        values = {
            "status": RunStatus.failed.value,
            "reason_code": message.reason_code,
            "reason": message.reason[:1000],
            "ended_at": now,
        }
        await _update_or_create(uow, message, run_id, values, only_running=True)
    else:
        outcome = outcome_of(message)
        if outcome is None:
            return
        column = _T.c[outcome.value]
        await _update_or_create(uow, message, run_id, {outcome.value: column + 1})
        await _close_if_complete(uow, run_id, now)
    # No commit here: the runtime commits this with the inbox row, or tests do.


async def _ensure_run(uow: UnitOfWork, message: Message, run_id: str, *, trigger: str) -> None:
    if await uow.session.get(RunRow, run_id) is None:
        uow.session.add(
            RunRow(
                id=run_id,
                tenant_id=message.tenant_id,
                flow=str(message.flow),
                trigger=trigger,
                dry_run=bool(getattr(message, "dry_run", False)),
                record_id=getattr(message, "record_id", None),
                started_at=message.occurred_at,
            )
        )


async def _update_or_create(
    uow: UnitOfWork,
    message: Message,
    run_id: str,
    values: dict[str, object],
    only_running: bool = False,
) -> None:
    stmt = (
        sa.update(_T).where(_T.c.id == run_id, _T.c.tenant_id == message.tenant_id).values(**values)
    )
    if only_running:
        stmt = stmt.where(_T.c.status == RunStatus.running.value)
    result = await uow.session.execute(stmt)
    if getattr(result, "rowcount", 0) == 0 and await uow.session.get(RunRow, run_id) is None:
        # A run requested elsewhere (replay, another tool), or whose request we have not
        # seen yet: start its row from this event. A racing insert fails the transaction
        # and the bus retries, finding the row then.
        await _ensure_run(uow, message, run_id, trigger=ev.RunTrigger.replay.value)
        await uow.session.flush()
        await uow.session.execute(stmt)


async def _close_if_complete(uow: UnitOfWork, run_id: str, now: datetime) -> None:
    done = _T.c.synced + _T.c.skipped + _T.c.failed
    status = sa.case(
        (_T.c.failed == 0, RunStatus.succeeded.value),
        (_T.c.synced + _T.c.skipped == 0, RunStatus.failed.value),
        else_=RunStatus.partially_failed.value,
    )
    await uow.session.execute(
        sa.update(_T)
        .where(
            _T.c.id == run_id,
            _T.c.status == RunStatus.running.value,
            _T.c.fetched.is_not(None),
            done >= _T.c.fetched,
        )
        .values(status=status, ended_at=now)
    )


def run_uuid(run_id: str) -> UUID:
    try:
        return UUID(run_id)
    except ValueError:
        raise NotFound(f"run {run_id} does not exist") from None
