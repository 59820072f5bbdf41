"""Deciding, inside the consumer's transaction, whether an event becomes an alert.

Nothing here talks to a channel: the decision ends in rows (``alerts`` + one
``alert_deliveries`` row per channel) written by the same commit as the handler's inbox row,
so a crash either keeps both or neither, and the sender worker delivers later. The fold row
is read ``FOR UPDATE`` (PostgreSQL) so concurrent consumers of one key count correctly; on
SQLite writers are serialised anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from koppel.common.events import FlowRunFetched
from koppel.common.messages import Message
from koppel.notifier.alerts import store
from koppel.notifier.alerts.domain import AlertDraft, draft_for, fold, target_channels
from koppel.notifier.alerts.tables import Alert

Clock = Callable[[], datetime]


async def on_event(
    session: AsyncSession,
    dialect: str,
    message: Message,
    *,
    now: datetime,
    window: timedelta,
) -> Alert | None:
    """The handler's whole job: track run health, or decide and enqueue an alert."""
    if isinstance(message, FlowRunFetched):
        if message.flow is not None:
            await session.execute(
                store.upsert_success(
                    dialect, message.tenant_id, message.flow.value, message.occurred_at
                )
            )
        return None
    draft = draft_for(message)
    if draft is None:
        return None
    return await enqueue(session, dialect, message.tenant_id, draft, now=now, window=window)


async def enqueue(
    session: AsyncSession,
    dialect: str,
    tenant_id: str,
    draft: AlertDraft,
    *,
    now: datetime,
    window: timedelta,
) -> Alert | None:
    """Match rules, fold, and stage the alert with its deliveries (the caller commits)."""
    rules = await store.enabled_rules(session, tenant_id, draft.kind)
    if not rules:
        return None
    channels = await store.enabled_channels(session, tenant_id)
    targets = target_channels(rules, draft, set(channels))
    if not targets:
        return None
    key = draft.fold_key
    folds = store.FOLDS
    where = sa.and_(folds.c.tenant_id == tenant_id, folds.c.fold_key == key)
    await session.execute(
        store.insert_ignore(dialect, folds, {"tenant_id": tenant_id, "fold_key": key, "folded": 0})
    )
    row = (await session.execute(sa.select(folds).where(where).with_for_update())).one()
    started = store.as_utc(row.window_started_at)
    decision = fold(started, row.folded, now, window)
    content = draft.to_json()
    if not decision.send:
        await session.execute(
            folds.update()
            .where(where)
            .values(
                folded=folds.c.folded + 1,
                last_content=content,
                channel_ids=store.dumps_list(targets),
            )
        )
        return None
    await session.execute(
        folds.update()
        .where(where)
        .values(window_started_at=now, folded=0, last_content=content, channel_ids=None)
    )
    alert = Alert(
        tenant_id=tenant_id,
        kind=draft.kind,
        flow=draft.flow,
        reason_code=draft.reason_code,
        fold_key=key,
        content=content,
        folded_count=decision.folded_before,
        folded_since=started if decision.folded_before else None,
        created_at=now,
    )
    store.add_deliveries(session, tenant_id, alert, channels, targets, now)
    return alert
