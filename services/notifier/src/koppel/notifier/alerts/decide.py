"""Deciding, inside the consumer's transaction, whether an event becomes an alert.

Nothing here talks to a channel: the decision ends in rows (``alerts`` + one
``alert_deliveries`` row per channel) written by the same commit as the handler's inbox row,
so a crash either keeps both or neither, and the sender worker delivers later. The fold row
is read ``FOR UPDATE`` (PostgreSQL) so concurrent consumers of one key count correctly; on
SQLite writers are serialised anyway.

Most failure events match no rule. Those cost no database work: the event's type names the
rule kind, the tenant's rules come from ``AlertConfigCache``, and the inbox row is written
(``store.claim_inbox``) only together with a decision's rows. An event that decides nothing
writes nothing, so a redelivery of it simply decides nothing again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from koppel.common.events import (
    ConnectionNeedsConsent,
    FailureEvent,
    FlowRunFailed,
    FlowRunFetched,
    MessageDeadLettered,
)
from koppel.common.messages import Message
from koppel.notifier.alerts import store
from koppel.notifier.alerts.config_cache import AlertConfigCache, TenantAlertConfig, load_config
from koppel.notifier.alerts.domain import AlertDraft, RuleKind, draft_for, fold, target_channels
from koppel.notifier.alerts.tables import Alert

Clock = Callable[[], datetime]


def kind_of(message: Message) -> RuleKind | None:
    """The rule kind ``message`` may alert as (``draft_for``'s kinds), without building it."""
    if isinstance(message, FailureEvent | FlowRunFailed):
        return RuleKind.failure
    if isinstance(message, MessageDeadLettered):
        return RuleKind.dead_letter
    if isinstance(message, ConnectionNeedsConsent):
        return RuleKind.needs_consent
    return None


async def on_event(
    session: AsyncSession,
    dialect: str,
    message: Message,
    *,
    now: datetime,
    window: timedelta,
    configs: AlertConfigCache | None = None,
    inbox: str | None = None,
) -> Alert | None:
    """The handler's whole job: track run health, or decide and enqueue an alert.

    ``configs``: where the tenant's rules come from (None: read them now). ``inbox``: the
    handler name under which a decision records its inbox row (None: the caller's unit of
    work records one for every message)."""
    if isinstance(message, FlowRunFetched):
        if message.flow is not None:
            await session.execute(
                store.upsert_success(
                    dialect, message.tenant_id, message.flow.value, message.occurred_at
                )
            )
        return None
    kind = kind_of(message)
    if kind is None:
        return None
    tenant_id = message.tenant_id
    if configs is None:
        config = await load_config(session, tenant_id)
    else:
        config = await configs.get(session, tenant_id)
    if not config.rules_of(kind):
        return None
    draft = draft_for(message)
    if draft is None:
        return None
    claim = (inbox, message.message_id) if inbox is not None else None
    return await enqueue(
        session, dialect, tenant_id, draft, now=now, window=window, config=config, claim=claim
    )


async def enqueue(
    session: AsyncSession,
    dialect: str,
    tenant_id: str,
    draft: AlertDraft,
    *,
    now: datetime,
    window: timedelta,
    config: TenantAlertConfig | None = None,
    claim: tuple[str, UUID] | None = None,
) -> Alert | None:
    """Match rules, fold, and stage the alert with its deliveries (the caller commits).

    ``config``: the tenant's rules and channels (None: read them now). ``claim``: the inbox
    row ``(handler, message_id)`` staged with the decision; when it is already there (a
    redelivery of an event decided before), nothing is staged and None returned."""
    if config is None:
        config = await load_config(session, tenant_id)
    rules = config.rules_of(draft.kind)
    if not rules:
        return None
    channels = config.channels
    targets = target_channels(rules, draft, set(channels))
    if not targets:
        return None
    if claim is not None and not await store.claim_inbox(session, dialect, *claim):
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
