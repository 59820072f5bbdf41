"""The periodic alert check: folded counts whose window closed, due digests, silent flows.

Each step commits its own short transactions, so a crash between steps loses nothing: the
next tick finds the same rows again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from koppel.common.db import Database
from koppel.notifier.alerts import store
from koppel.notifier.alerts.decide import enqueue
from koppel.notifier.alerts.domain import (
    AlertDraft,
    RuleKind,
    expected_interval,
    is_silent,
)
from koppel.notifier.alerts.sender import TenantSettings
from koppel.notifier.alerts.tables import Alert, AlertDelivery
from koppel.notifier.config import NotifierSettings

log = logging.getLogger(__name__)
F = store.FOLDS
D = store.DELIVERIES


async def flush_folds(database: Database, now: datetime, window: timedelta) -> int:
    """A window closed with repeats held back: send one summary ("and 37 more like this")."""
    async with database.session() as session:
        rows = (await session.execute(sa.select(F).where(F.c.folded > 0))).all()
    sent = 0
    for row in rows:
        started = store.as_utc(row.window_started_at)
        if started is None or now < started + window or row.last_content is None:
            continue
        async with database.session() as session:
            where = sa.and_(
                F.c.tenant_id == row.tenant_id,
                F.c.fold_key == row.fold_key,
                F.c.folded == row.folded,
            )
            claimed = await session.execute(
                F.update().where(where).values(folded=0, window_started_at=now, channel_ids=None)
            )
            # A consumer counted one more meanwhile: the next tick takes it.
            if getattr(claimed, "rowcount", 0) != 1:
                continue
            channels = await store.enabled_channels(session, row.tenant_id)
            targets = set(store.loads_list(row.channel_ids) or []) & set(channels)
            draft = AlertDraft.from_json(row.last_content)
            alert = Alert(
                tenant_id=row.tenant_id,
                kind=draft.kind,
                flow=draft.flow,
                reason_code=draft.reason_code,
                fold_key=row.fold_key,
                content=row.last_content,
                folded_count=row.folded,
                folded_since=started,
                summary=True,
                created_at=now,
            )
            if targets:
                store.add_deliveries(session, row.tenant_id, alert, channels, targets, now)
                sent += 1
            await session.commit()
    return sent


async def build_digests(database: Database, now: datetime) -> int:
    """Queued alerts of a digest channel become one delivery once the interval has passed."""
    C = store.CHANNELS
    async with database.session() as session:
        query = (
            sa.select(
                D.c.channel_id, D.c.tenant_id, C.c.digest_seconds, sa.func.min(D.c.created_at)
            )
            .join(C, C.c.id == D.c.channel_id)
            .where(D.c.status == "queued", C.c.digest_seconds.is_not(None))
            .group_by(D.c.channel_id, D.c.tenant_id, C.c.digest_seconds)
        )
        groups = (await session.execute(query)).all()
    built = 0
    for channel_id, tenant_id, seconds, oldest in groups:
        oldest = store.as_utc(oldest)
        if oldest is None or now < oldest + timedelta(seconds=seconds):
            continue
        async with database.session() as session:
            digest = AlertDelivery(
                tenant_id=tenant_id,
                channel_id=channel_id,
                kind="digest",
                status="pending",
                next_attempt_at=now,
                created_at=now,
            )
            session.add(digest)
            await session.flush()
            await session.execute(
                D.update()
                .where(D.c.channel_id == channel_id, D.c.status == "queued")
                .values(status="digested", digest_id=digest.id)
            )
            await session.commit()
            built += 1
    return built


async def check_silent_flows(
    database: Database,
    settings: NotifierSettings,
    tenant_settings: TenantSettings,
    now: datetime,
    window: timedelta,
) -> int:
    """Alert once per silence: no successful run for N x the flow's schedule."""
    R = store.RULES
    async with database.session() as session:
        query = sa.select(R).where(R.c.kind == RuleKind.silent_flow, R.c.enabled.is_(True))
        rows = (await session.execute(query)).all()
    by_tenant: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_tenant[row.tenant_id].append(row)
    raised = 0
    for tenant_id, rules in by_tenant.items():
        try:
            document = await tenant_settings(tenant_id)
        except Exception:
            log.warning("silent-flow check: no settings for tenant %s this round", tenant_id)
            continue
        for flow, flow_settings in (document.get("flows") or {}).items():
            raised += await _check_flow(
                database, settings, tenant_id, flow, flow_settings, rules, now, window
            )
    return raised


async def _check_flow(
    database: Database,
    settings: NotifierSettings,
    tenant_id: str,
    flow: str,
    flow_settings: dict[str, Any],
    rules: list[Any],
    now: datetime,
    window: timedelta,
) -> int:
    if not flow_settings.get("enabled"):
        return 0
    matching = [r for r in rules if r.flows is None or flow in (store.loads_list(r.flows) or [])]
    interval = expected_interval(flow_settings.get("schedule"), now)
    if not matching or interval is None:
        return 0
    factor = min(r.silent_factor or settings.alert_silent_factor for r in matching)
    H = store.HEALTH
    where = sa.and_(H.c.tenant_id == tenant_id, H.c.flow == flow)
    async with database.session() as session:
        health = (await session.execute(sa.select(H).where(where))).one_or_none()
        last = store.as_utc(health.last_success_at) if health else None
        alerted = store.as_utc(health.silent_alerted_at) if health else None
        baseline = last or min(store.as_utc(r.created_at) or now for r in matching)
        if not is_silent(baseline, alerted, interval, factor, now):
            return 0
        await session.execute(
            store.insert_ignore(database.dialect, H, {"tenant_id": tenant_id, "flow": flow})
        )
        await session.execute(H.update().where(where).values(silent_alerted_at=now))
        draft = AlertDraft(
            kind=RuleKind.silent_flow,
            reason_code="silent_flow",
            reason=f"no successful run since {baseline.isoformat()}",
            flow=flow,
            step="schedule",
            occurred_at=now.isoformat(),
            details={
                "last_success_at": last.isoformat() if last else None,
                "expected_every_seconds": interval.total_seconds(),
                "factor": factor,
            },
        )
        alert = await enqueue(session, database.dialect, tenant_id, draft, now=now, window=window)
        await session.commit()
    return 1 if alert is not None else 0


FINISHED = ("sent", "failed", "digested")


async def purge_log(database: Database, cutoff: datetime) -> int:
    """Finished deliveries older than ``cutoff``, their attempts, and alerts none refer to."""
    A = store.ATTEMPTS
    old = sa.select(D.c.id).where(D.c.status.in_(FINISHED), D.c.created_at < cutoff)
    async with database.session() as session:
        ids = [r.id for r in (await session.execute(old.limit(5000))).all()]
        if not ids:
            return 0
        await session.execute(A.delete().where(A.c.delivery_id.in_(ids)))
        await session.execute(D.delete().where(D.c.id.in_(ids)))
        referenced = sa.select(D.c.alert_id).where(D.c.alert_id.is_not(None))
        await session.execute(
            store.ALERTS.delete().where(
                store.ALERTS.c.created_at < cutoff, store.ALERTS.c.id.not_in(referenced)
            )
        )
        await session.commit()
    return len(ids)
