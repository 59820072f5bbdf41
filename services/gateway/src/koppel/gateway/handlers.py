"""What the gateway consumes: the flow events that move its runs table."""

from __future__ import annotations

from collections.abc import Sequence

from koppel.common.messages import Message
from koppel.common.runtime import HandlerBinding, ServiceContext
from koppel.common.uow import UnitOfWork
from koppel.gateway.service import runs
from koppel.gateway.service.context import Gateway


def bindings(ctx: ServiceContext) -> Sequence[HandlerBinding]:
    async def handle_run_event(message: Message, uow: UnitOfWork) -> None:
        await runs.apply_event(ctx.dep("gateway", Gateway), uow, message)

    # No inbox: ``apply_event`` is idempotent by itself (a record is counted once by its row
    # in ``gateway_run_records``), and the inbox's check and row cost two statements per event.
    return [HandlerBinding.on(*runs.CONSUMED, handle=handle_run_event, name="runs", inbox=False)]
