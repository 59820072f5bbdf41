"""Handling ``FlowRunRequested(flow=orders)``: read the source, publish one ``OrderFetched``
per kept order, move the cursor in the same transaction, report the run.

The reads happen before anything is staged and with no transaction open. A failed read
publishes ``FlowRunFailed`` and nothing else: no order of a half-read run is published and
the cursor stays where it was (a failed read is never "no changes").
"""

from __future__ import annotations

import logging

from koppel.common.bus.handling import OUTAGE_REASONS
from koppel.common.errors import KoppelError, TransientError
from koppel.common.events import FlowRunFailed, FlowRunFetched, FlowRunRequested
from koppel.common.messages import Flow, utcnow
from koppel.common.uow import UnitOfWork
from koppel.orders.adapters.ports import OrdersPorts
from koppel.orders.models import OrderCursor, OrderRun
from koppel.orders.poller import Cursor, poll_orders
from koppel.orders.tenant_settings import OrdersConfig

log = logging.getLogger(__name__)


class OrderRuns:
    def __init__(self, ports: OrdersPorts) -> None:
        self.ports = ports

    async def on_run_requested(self, message: FlowRunRequested, uow: UnitOfWork) -> None:
        if message.flow is not Flow.orders:
            return
        tenant = message.tenant_id
        async with uow.read() as session:
            stored = await session.get(OrderCursor, tenant)
            session.expunge_all()
        cursor = Cursor.load(stored.value if stored else None)
        try:
            config = OrdersConfig.from_json(await self.ports.settings(tenant))
            source = await self.ports.source(tenant)
            result = await poll_orders(message, source=source, config=config, cursor=cursor)
        except (KoppelError, ValueError) as exc:
            if isinstance(exc, TransientError) and exc.reason_code in OUTAGE_REASONS:
                # Our own gateway is down, not eAccounting: the bus waits that out on its
                # outage budget (and a run given up there is failed by the gateway).
                raise
            self._fail(uow, message, exc)
            return
        if message.run_id is not None:
            await uow.session.merge(
                OrderRun(
                    run_id=message.run_id,
                    tenant_id=tenant,
                    dry_run=message.dry_run,
                    fetched=len(result.fetched),
                )
            )
        uow.publish(*result.fetched)
        moves = not message.dry_run and not message.record_id and result.cursor != cursor
        if moves:
            row = await uow.session.get(OrderCursor, tenant)
            if row is None:
                row = OrderCursor(tenant_id=tenant, value=result.cursor.dump())
            row.value, row.updated_at = result.cursor.dump(), utcnow()
            uow.add(row)
        uow.publish(
            message.follow_up(
                FlowRunFetched,
                fetched=len(result.fetched),
                filtered_out=result.filtered_out,
                cursor=result.cursor.dump() if moves else None,
            )
        )

    @staticmethod
    def _fail(uow: UnitOfWork, message: FlowRunRequested, exc: Exception) -> None:
        code = exc.reason_code if isinstance(exc, KoppelError) else "bad_settings"
        log.warning("orders run %s failed: %s", message.run_id, exc)
        uow.publish(
            message.follow_up(
                FlowRunFailed,
                reason_code=code,
                reason=f"Reading orders from eAccounting failed; nothing was skipped, the next run reads them again. ({exc})",
            )
        )
