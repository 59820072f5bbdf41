"""Notifier consumers: every event of every flow becomes an activity entry; dead letters are
kept for replay; tenant changes drop the cached preferences and alert rules."""

from __future__ import annotations

from koppel.common.events import MessageDeadLettered, TenantConfigChanged
from koppel.common.messages import Message
from koppel.common.runtime import HandlerBinding, ServiceContext
from koppel.common.uow import UnitOfWork
from koppel.notifier import metrics, repository, service
from koppel.notifier.alerts import runner as alerts


def bindings(ctx: ServiceContext) -> list[HandlerBinding]:
    async def handle_activity(message: Message, _uow: UnitOfWork) -> None:
        draft = await service.record(ctx, message)
        if draft is not None:
            metrics.observe(message, draft)

    async def handle_dead_letter(message: MessageDeadLettered, _uow: UnitOfWork) -> None:
        await repository.insert_dead_letter(ctx.database, service.dead_letter_row(message))

    async def handle_config_changed(message: TenantConfigChanged, _uow: UnitOfWork) -> None:
        invalidate = ctx.deps.get("invalidate_preferences")
        if callable(invalidate):
            invalidate(message.tenant_id)
        alerts.invalidate_config(ctx, message.tenant_id)

    return [
        # Naturally idempotent (unique message_id) and hot: batched writes, no inbox row.
        HandlerBinding(
            name="activity",
            patterns=("event.#",),
            handle=handle_activity,
            prefetch=256,
            inbox=False,
        ),
        HandlerBinding.on(MessageDeadLettered, handle=handle_dead_letter, inbox=False),
        HandlerBinding.on(TenantConfigChanged, handle=handle_config_changed, inbox=False),
        # Failures and run health: decide and enqueue alerts (sent by the alert sender).
        alerts.binding(ctx),
    ]
