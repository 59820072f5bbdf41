"""Start and stop the notifier's background parts: the batch writer and the retention job."""

from __future__ import annotations

import asyncio
import contextlib

from koppel.common.gateway_client import InternalGatewayClient
from koppel.common.runtime import ServiceContext
from koppel.notifier import retention, service
from koppel.notifier.adapters.preferences import PreferencesSource, gateway_preferences
from koppel.notifier.adapters.writer import ActivityWriter
from koppel.notifier.alerts import runner as alerts
from koppel.notifier.config import NotifierSettings

RETENTION_TASK = "retention_task"
GATEWAY_CLIENT = "gateway_client"


def notifier_settings(ctx: ServiceContext) -> NotifierSettings:
    """The notifier's settings, also when a caller built the runtime with the shared ones."""
    if isinstance(ctx.settings, NotifierSettings):
        return ctx.settings
    return NotifierSettings.model_validate(ctx.settings.model_dump())


async def start(ctx: ServiceContext) -> None:
    settings = notifier_settings(ctx)
    writer = ActivityWriter(
        ctx.database,
        max_batch=settings.activity_batch_size,
        max_delay=settings.activity_batch_delay_seconds,
    )
    await writer.start()
    ctx[service.WRITER] = writer
    if service.PREFERENCES not in ctx.deps:  # tests and tools may inject their own
        client = InternalGatewayClient.from_settings(settings)
        ctx[GATEWAY_CLIENT] = client
        ctx[service.PREFERENCES] = gateway_preferences(client)
        ctx["invalidate_preferences"] = client.invalidate
    preferences: PreferencesSource = ctx[service.PREFERENCES]
    ctx[RETENTION_TASK] = asyncio.create_task(
        retention.run_forever(
            ctx,
            preferences,
            interval=settings.purge_interval_seconds * settings.time_scale,
            batch=settings.purge_batch_size,
        ),
        name="notifier-retention",
    )
    await alerts.start(ctx)


async def stop(ctx: ServiceContext) -> None:
    await alerts.stop(ctx)
    task = ctx.deps.pop(RETENTION_TASK, None)
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    writer = ctx.deps.get(service.WRITER)
    if isinstance(writer, ActivityWriter):
        await writer.stop()
    client = ctx.deps.pop(GATEWAY_CLIENT, None)
    if isinstance(client, InternalGatewayClient):
        await client.aclose()
