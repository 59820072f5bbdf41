"""Following a run through the flow events: fetched counts, record outcomes, dead letters.

A run is finished when the poller said how many records it fetched (``FlowRunFetched``) and
that many records reached a final outcome. Events of different services arrive in any order,
so counters are bumped with atomic ``UPDATE ... SET n = n + 1`` that also close the run when
they complete its count: whichever write completes the count closes the run, exactly once.
Record outcomes are counted in batches, one transaction for those in flight at once
(``run_counts``), so a run's row is locked once per batch rather than once per record.

Every event here is idempotent by itself (values are set, records counted once by their row),
so the handler runs without the inbox: no inbox check and no inbox row per event.

Each record is counted once per run, keyed by its correlation id (``gateway_run_records``):

- a dead-lettered message of a record (``MessageDeadLettered`` from a service that works on
  the record, not from an observer like the notifier) counts the record as failed, so a run
  whose record got parked still finishes (as ``partially_failed`` or ``failed``);
- a second report of the same record (its ``*Failed`` event after the dead letter, another of
  its messages parked) changes nothing;
- a later *success* of a record counted as failed (a replay of the dead letter, or a retry
  that got through after all) moves it from failed to synced/skipped; a run that had already
  finished gets its status recomputed from the new counts. A success is never turned back
  into a failure: the first success of a record wins.
- a dead-lettered ``FlowRunRequested`` (the poll itself was parked, e.g. "the gateway could
  not be reached" until the retries ran out) fails the run like ``FlowRunFailed``. Replaying
  that request does not reopen the run: a new run is the way to read the source again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa

from koppel.common import events as ev
from koppel.common.errors import MalformedMessage
from koppel.common.messages import Flow, Message, message_type_for
from koppel.gateway.domain import Outcome, RunStatus
from koppel.gateway.models import RunRow
from koppel.gateway.service import run_counts as counts
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.ports import UnitOfWork

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
CONSUMED: tuple[type[Message], ...] = (
    RUN_EVENTS
    + tuple(sorted({t for t, _ in FINAL}, key=lambda t: t.__name__))
    + (ev.MessageDeadLettered,)
)
# Services that only watch the flows: a message parked in their queue says nothing about
# the record (the notifier failing to log an OrderSynced does not unsync the order).
OBSERVERS = frozenset({"gateway", "notifier"})

_T = RunRow.__table__  # type: ignore[attr-defined]


class DeadLetterKind(StrEnum):
    run = "run"  # the poll itself was parked
    record = "record"  # a step of one record was parked


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


def dead_letter_kind(message: ev.MessageDeadLettered) -> DeadLetterKind | None:
    """What a dead letter means for its run, or None when it does not touch the run."""
    if message.service in OBSERVERS or message.flow is None:
        return None
    try:
        original = message_type_for(message.original_routing_key)
    except MalformedMessage:
        return None
    if original is ev.FlowRunRequested:
        return DeadLetterKind.run
    if "entity" not in original.model_fields or (original, message.flow) in FINAL:
        # Not a record step, or the record's final outcome itself (which was reached: only
        # someone's handling of the announcement failed).
        return None
    return DeadLetterKind.record


async def apply_event(gw: Gateway, uow: UnitOfWork, message: Message) -> None:
    """Update the run a flow event belongs to. Idempotent by itself, so the handler needs no
    inbox: a run's request, fetch and failure set values, and a record is counted once."""
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
        await _fail_run(uow, message, run_id, message.reason_code, message.reason, now)
    elif isinstance(message, ev.MessageDeadLettered):
        kind = dead_letter_kind(message)
        if kind is DeadLetterKind.run:
            reason = f"The run could not read its source and was given up: {message.reason}"
            await _fail_run(uow, message, run_id, message.reason_code, reason, now)
        elif kind is DeadLetterKind.record:
            await _count(gw, message, run_id, Outcome.failed, now)
    else:
        outcome = outcome_of(message)
        if outcome is not None:
            await _count(gw, message, run_id, outcome, now)
    # No commit here: the runtime commits this with the inbox row, or tests do.


async def _fail_run(
    uow: UnitOfWork, message: Message, run_id: str, code: str, reason: str, now: datetime
) -> None:
    values = {
        "status": RunStatus.failed.value,
        "reason_code": code[:100],
        "reason": reason[:1000],
        "ended_at": now,
    }
    await _update_or_create(uow, message, run_id, values, only_running=True)


async def _count(
    gw: Gateway, message: Message, run_id: str, outcome: Outcome, now: datetime
) -> None:
    """Count ``outcome`` for the message's record, once; a success may replace a failure.

    Written and committed with the outcomes of other deliveries in flight (``run_counts``),
    not in the caller's unit of work: redelivery-safe by the record's row, not an inbox.
    """
    if gw.run_tally is None:
        gw.run_tally = counts.RunTally(gw.uow)
    entry = counts.Counted(
        run_id=run_id,
        tenant_id=message.tenant_id,
        correlation_id=str(message.correlation_id),
        outcome=outcome,
        at=now,
        flow=str(message.flow),
        trigger=ev.RunTrigger.replay.value,
        started_at=message.occurred_at,
    )
    await gw.run_tally.count(entry)


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


_DONE = _T.c.synced + _T.c.skipped + _T.c.failed
_STATUS = sa.case(
    (_T.c.failed == 0, RunStatus.succeeded.value),
    (_T.c.synced + _T.c.skipped == 0, RunStatus.failed.value),
    else_=RunStatus.partially_failed.value,
)


async def _close_if_complete(uow: UnitOfWork, run_id: str, now: datetime) -> None:
    await uow.session.execute(
        sa.update(_T)
        .where(
            _T.c.id == run_id,
            _T.c.status == RunStatus.running.value,
            _T.c.fetched.is_not(None),
            _DONE >= _T.c.fetched,
        )
        .values(status=_STATUS, ended_at=now)
    )
