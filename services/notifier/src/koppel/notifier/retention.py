"""The retention job: purge activity entries older than each tenant's retention, in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from koppel.common.messages import utcnow
from koppel.common.runtime import ServiceContext
from koppel.notifier import repository, service
from koppel.notifier.adapters.preferences import PreferencesSource

log = logging.getLogger(__name__)


async def purge_tenant(
    ctx: ServiceContext, tenant_id: str, retention_days: int, *, batch: int
) -> int:
    cutoff = service.purge_cutoff(utcnow(), retention_days)
    total = 0
    while True:
        removed = await repository.purge_batch(ctx.database, tenant_id, cutoff, batch)
        total += removed
        if removed < batch:
            return total
        await asyncio.sleep(0)  # let writers in between batches


async def purge_all(ctx: ServiceContext, preferences: PreferencesSource, *, batch: int) -> int:
    total = 0
    for tenant_id in await repository.tenants_with_entries(ctx.database):
        try:
            prefs = await preferences(tenant_id)
        except Exception:  # an unknown or unreachable tenant keeps its entries this round
            log.warning("no retention known for tenant %s; skipped this round", tenant_id)
            continue
        total += await purge_tenant(ctx, tenant_id, prefs.retention_days, batch=batch)
    return total


async def run_forever(
    ctx: ServiceContext, preferences: PreferencesSource, *, interval: float, batch: int
) -> None:
    while True:
        with contextlib.suppress(Exception):
            removed = await purge_all(ctx, preferences, batch=batch)
            if removed:
                log.info("retention purge removed %d activity entries", removed)
        await asyncio.sleep(interval)
