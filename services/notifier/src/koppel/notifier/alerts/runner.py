"""Wiring of alerts into the notifier: the consumer's entry point, the sender and the tick.

Dependencies tests and tools may inject into ``ctx.deps`` before start:
``CLOCK`` (``() -> datetime``, UTC) and ``TENANT_SETTINGS`` (``async (tenant_id) -> dict``, the
gateway's settings document; default: ``InternalGatewayClient.settings``).
``CONFIG_CACHE`` holds the consumer's ``AlertConfigCache`` (see ``config_cache(ctx)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from koppel.common.events import (
    ConnectionNeedsConsent,
    CustomerFailed,
    FlowRunFailed,
    FlowRunFetched,
    MessageDeadLettered,
    OrderFailed,
    ProductFailed,
    StockFailed,
)
from koppel.common.gateway_client import InternalGatewayClient
from koppel.common.messages import Message, utcnow
from koppel.common.runtime import HandlerBinding, ServiceContext
from koppel.common.uow import UnitOfWork
from koppel.notifier.alerts import decide, scheduler
from koppel.notifier.alerts.config_cache import AlertConfigCache
from koppel.notifier.alerts.crypto import secret_box
from koppel.notifier.alerts.sender import Sender, TenantSettings
from koppel.notifier.config import NotifierSettings

log = logging.getLogger(__name__)

CLOCK = "alerts.clock"
SETTINGS = "alerts.settings"
TENANT_SETTINGS = "alerts.tenant_settings"
SENDER = "alerts.sender"
TICK_TASK = "alerts.tick_task"
OWN_CLIENT = "alerts.gateway_client"
CONFIG_CACHE = "alerts.config_cache"
INBOX_NAME = "alerts"  # the consumer's name: its queue and its inbox rows
ALERT_EVENTS = (
    OrderFailed,
    CustomerFailed,
    ProductFailed,
    StockFailed,
    FlowRunFailed,
    MessageDeadLettered,
    ConnectionNeedsConsent,
    FlowRunFetched,
)


def _settings(ctx: ServiceContext) -> NotifierSettings:
    """The notifier's settings, also when the runtime was built with the shared ones."""
    if isinstance(ctx.settings, NotifierSettings):
        return ctx.settings
    cached = ctx.deps.get(SETTINGS)
    if not isinstance(cached, NotifierSettings):
        cached = ctx[SETTINGS] = NotifierSettings.model_validate(ctx.settings.model_dump())
    return cached


settings_of = _settings


def clock(ctx: ServiceContext) -> Callable[[], datetime]:
    chosen: Callable[[], datetime] = ctx.deps.get(CLOCK, utcnow)
    return chosen


def window(ctx: ServiceContext) -> timedelta:
    return timedelta(seconds=_settings(ctx).alert_fold_window_seconds)


def config_cache(ctx: ServiceContext) -> AlertConfigCache:
    """The service's cache of tenants' rules and channels (made on first use)."""
    cache = ctx.deps.get(CONFIG_CACHE)
    if not isinstance(cache, AlertConfigCache):
        cache = ctx[CONFIG_CACHE] = AlertConfigCache(_settings(ctx).alert_rules_cache_seconds)
    return cache


def invalidate_config(ctx: ServiceContext, tenant_id: str | None = None) -> None:
    """Rules or channels of ``tenant_id`` (None: of anyone) changed: the next event reads."""
    config_cache(ctx).invalidate(tenant_id)


def binding(ctx: ServiceContext) -> HandlerBinding:
    """The consumer: decide and enqueue in the handler's transaction; never send here.

    ``inbox=False``: the runtime's inbox check and row would cost two statements and a commit
    for every event, although most decide nothing. ``decide.on_event`` writes the inbox row
    itself, in the same transaction as the decision's rows (see its module docstring). Run
    health (``FlowRunFetched``) needs none: moving ``last_success_at`` forward is idempotent.
    """
    dialect = ctx.database.dialect

    async def handle_alerts(message: Message, uow: UnitOfWork) -> None:
        await decide.on_event(
            uow.session,
            dialect,
            message,
            now=clock(ctx)(),
            window=window(ctx),
            configs=config_cache(ctx),
            inbox=INBOX_NAME,
        )

    return HandlerBinding.on(*ALERT_EVENTS, handle=handle_alerts, name=INBOX_NAME, inbox=False)


def tenant_settings_source(ctx: ServiceContext) -> TenantSettings:
    source = ctx.deps.get(TENANT_SETTINGS)
    if source is not None:
        return cast(TenantSettings, source)
    client = ctx.deps.get("gateway_client")
    if not isinstance(client, InternalGatewayClient):
        client = InternalGatewayClient.from_settings(_settings(ctx))
        ctx[OWN_CLIENT] = client
    ctx[TENANT_SETTINGS] = client.settings
    return client.settings


async def tick(ctx: ServiceContext) -> dict[str, int]:
    """One round of the periodic check (the loop calls it; tests call it directly)."""
    now = clock(ctx)()
    return {
        "summaries": await scheduler.flush_folds(ctx.database, now, window(ctx)),
        "digests": await scheduler.build_digests(ctx.database, now),
        "silent": await scheduler.check_silent_flows(
            ctx.database, _settings(ctx), tenant_settings_source(ctx), now, window(ctx)
        ),
        "purged": await scheduler.purge_log(
            ctx.database, now - timedelta(days=_settings(ctx).alert_log_retention_days)
        ),
    }


async def _tick_forever(ctx: ServiceContext, interval: float) -> None:
    while True:
        try:
            done = await tick(ctx)
            if any(done.values()):
                sender = ctx.deps.get(SENDER)
                if isinstance(sender, Sender):
                    sender.wake()
        except Exception:
            log.exception("alert check failed")
        await asyncio.sleep(interval)


async def start(ctx: ServiceContext) -> None:
    settings = _settings(ctx)
    sender = Sender(
        ctx.database,
        settings,
        box=lambda: secret_box(settings),
        clock=clock(ctx),
        tenant_settings=tenant_settings_source(ctx),
    )
    await sender.start()
    ctx[SENDER] = sender
    interval = settings.alert_check_seconds * settings.time_scale
    ctx[TICK_TASK] = asyncio.create_task(_tick_forever(ctx, interval), name="notifier-alert-check")


async def stop(ctx: ServiceContext) -> None:
    task: Any = ctx.deps.pop(TICK_TASK, None)
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    sender = ctx.deps.pop(SENDER, None)
    if isinstance(sender, Sender):
        await sender.stop()
    client = ctx.deps.pop(OWN_CLIENT, None)
    if isinstance(client, InternalGatewayClient):
        ctx.deps.pop(TENANT_SETTINGS, None)
        await client.aclose()
