"""The scheduler: publishes ``FlowRunRequested`` for each enabled flow when it is due.

Several gateway replicas may run it against one database. Each due slot is *claimed* with a
compare-and-set on the flow row::

    UPDATE gateway_flows SET next_run_at = <next> WHERE id = <id> AND next_run_at = <seen>

Only one replica's update matches (on PostgreSQL the losers wait on the row lock, then find
``next_run_at`` moved and update nothing), and the claim commits in the same transaction as
the run row and the outbox message, so a slot is published once or, after a crash before
commit, not claimed at all and taken by the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from koppel.common import events as ev
from koppel.common.messages import Flow
from koppel.gateway.models import FlowRow, RunRow
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.flows import schedule_of
from koppel.gateway.service.runs import new_run, running_run

log = logging.getLogger(__name__)
_F = FlowRow.__table__  # type: ignore[attr-defined]


class Scheduler:
    """``tick()`` handles everything due now; ``start()`` ticks every ``tick_seconds``."""

    def __init__(self, gw: Gateway, *, tick_seconds: float | None = None) -> None:
        self.gw = gw
        self.tick_seconds = (
            tick_seconds if tick_seconds is not None else gw.settings.scheduler_tick_seconds
        )
        self._task: asyncio.Task[None] | None = None
        self.requested = 0
        self.skipped = 0

    async def tick(self) -> int:
        """Claim and fire every due slot; returns how many this replica fired."""
        now = self.gw.clock()
        async with self.gw.uow() as uow:
            stmt = (
                sa.select(_F.c.id, _F.c.next_run_at)
                .where(
                    _F.c.enabled.is_(True), _F.c.next_run_at.is_not(None), _F.c.next_run_at <= now
                )
                .order_by(_F.c.next_run_at)
                .limit(self.gw.settings.scheduler_batch)
            )
            due = [(row.id, row.next_run_at) for row in (await uow.session.execute(stmt)).all()]
        fired = 0
        for flow_id, seen in due:
            fired += await self._fire(flow_id, seen, now)
        return fired

    async def _fire(self, flow_id: str, seen: datetime, now: datetime) -> int:
        async with self.gw.uow() as uow:
            row = await uow.session.get(FlowRow, flow_id, populate_existing=True)
            schedule = schedule_of(row) if row is not None else None
            if row is None or schedule is None:
                return 0
            claimed = await uow.session.execute(
                sa.update(_F)
                .where(_F.c.id == flow_id, _F.c.next_run_at == seen, _F.c.enabled.is_(True))
                .values(next_run_at=schedule.next_due(seen, now))
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return 0  # another replica took this slot
            flow = Flow(row.flow)
            busy = await running_run(self.gw, uow, row.tenant_id, flow)
            if busy is not None:
                uow.publish(
                    ev.FlowRunSkipped(
                        tenant_id=row.tenant_id,
                        flow=flow,
                        reason="the previous run is still going",
                        running_run_id=_uuid(busy),
                    )
                )
                self.skipped += 1
            else:
                new_run(uow, row.tenant_id, flow, trigger=ev.RunTrigger.schedule, now=now)
                self.requested += 1
            await uow.commit()
            return 1

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="gateway-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a database hiccup must not kill the scheduler; next tick retries
                log.exception("scheduler tick failed")
            await asyncio.sleep(self.tick_seconds)


def _uuid(run: RunRow) -> UUID | None:
    try:
        return UUID(run.id)
    except ValueError:
        return None
