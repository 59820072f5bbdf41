"""Queries over the notifier's tables. Every query filters on ``tenant_id`` first."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koppel.common.db import Database
from koppel.common.errors import PermanentError
from koppel.notifier.models import ActivityEntry, ActivityPublic, DeadLetter, DeadLetterPublic

ENTRY = ActivityEntry.__table__  # type: ignore[attr-defined]
DEAD = DeadLetter.__table__  # type: ignore[attr-defined]


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return int(value["id"])
    except (ValueError, KeyError, TypeError):
        raise PermanentError(
            "cursor is not one this API gave out", reason_code="bad_cursor"
        ) from None


@dataclass(frozen=True)
class ActivityFilter:
    flow: str | None = None
    status: str | None = None
    run_id: UUID | None = None
    entity: str | None = None  # source id, SKU, order number or e-mail
    q: str | None = None  # free text in the reason
    since: datetime | None = None
    until: datetime | None = None


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def activity_public(row: Any) -> ActivityPublic:
    return ActivityPublic(
        id=row.id,
        event_type=row.event_type,
        flow=row.flow,
        run_id=row.run_id,
        correlation_id=row.correlation_id,
        direction=row.direction,
        step=row.step,
        status=row.status,
        outcome=row.outcome,
        entity_type=row.entity_type,
        source_id=row.source_id,
        entity_key=row.entity_key,
        target_id=row.target_id,
        reason_code=row.reason_code,
        reason=row.reason,
        source=_loads(row.source_payload),
        target=_loads(row.target_payload),
        details=_loads(row.details),
        trace_id=row.trace_id,
        redacted=row.redacted,
        occurred_at=as_utc(row.occurred_at),
    )


async def list_activity(
    session: AsyncSession,
    tenant_id: str,
    filters: ActivityFilter,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[ActivityPublic], str | None]:
    query = sa.select(ENTRY).where(ENTRY.c.tenant_id == tenant_id)
    if filters.flow:
        query = query.where(ENTRY.c.flow == filters.flow)
    if filters.status:
        query = query.where(ENTRY.c.status == filters.status)
    if filters.run_id:
        query = query.where(ENTRY.c.run_id == filters.run_id)
    if filters.entity:
        needle = filters.entity.strip()
        query = query.where(
            sa.or_(
                ENTRY.c.entity_key == needle,
                ENTRY.c.source_id == needle,
                ENTRY.c.target_id == needle,
                sa.func.lower(ENTRY.c.entity_key) == needle.lower(),
            )
        )
    if filters.q:
        escaped = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(ENTRY.c.reason.ilike(f"%{escaped}%", escape="\\"))
    if filters.since:
        query = query.where(ENTRY.c.occurred_at >= filters.since)
    if filters.until:
        query = query.where(ENTRY.c.occurred_at < filters.until)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(ENTRY.c.id < after)
    rows = (await session.execute(query.order_by(ENTRY.c.id.desc()).limit(limit + 1))).all()
    items = [activity_public(r) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit and items else None
    return items, next_cursor


async def journey(
    session: AsyncSession, tenant_id: str, correlation_id: UUID
) -> list[ActivityPublic]:
    """One record's whole journey, in the order it happened."""
    query = (
        sa.select(ENTRY)
        .where(ENTRY.c.tenant_id == tenant_id, ENTRY.c.correlation_id == correlation_id)
        .order_by(ENTRY.c.occurred_at, ENTRY.c.id)
    )
    return [activity_public(r) for r in (await session.execute(query)).all()]


async def insert_dead_letter(database: Database, row: dict[str, Any]) -> None:
    if database.dialect == "postgresql":
        statement: Any = pg_insert(DEAD).on_conflict_do_nothing(index_elements=["event_message_id"])
    else:
        statement = sqlite_insert(DEAD).on_conflict_do_nothing(index_elements=["event_message_id"])
    async with database.engine.begin() as conn:
        await conn.execute(statement, [row])


def dead_letter_public(row: Any) -> DeadLetterPublic:
    public = DeadLetterPublic.model_validate(row, from_attributes=True)
    public.dead_lettered_at = as_utc(public.dead_lettered_at) or public.dead_lettered_at
    public.replayed_at = as_utc(public.replayed_at)
    return public


async def list_dead_letters(
    session: AsyncSession,
    tenant_id: str,
    *,
    status: str | None,
    flow: str | None,
    reason_code: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[DeadLetterPublic], str | None]:
    query = sa.select(DEAD).where(DEAD.c.tenant_id == tenant_id)
    if status:
        query = query.where(DEAD.c.status == status)
    if flow:
        query = query.where(DEAD.c.flow == flow)
    if reason_code:
        query = query.where(DEAD.c.reason_code == reason_code)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(DEAD.c.id < after)
    rows = (await session.execute(query.order_by(DEAD.c.id.desc()).limit(limit + 1))).all()
    items = [dead_letter_public(r) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit and items else None
    return items, next_cursor


async def parked_for_replay(
    session: AsyncSession,
    tenant_id: str,
    *,
    ids: list[int] | None,
    flow: str | None,
    reason_code: str | None,
    limit: int,
) -> list[Any]:
    query = sa.select(DEAD).where(DEAD.c.tenant_id == tenant_id, DEAD.c.status == "parked")
    if ids is not None:
        query = query.where(DEAD.c.id.in_(ids))
    if flow:
        query = query.where(DEAD.c.flow == flow)
    if reason_code:
        query = query.where(DEAD.c.reason_code == reason_code)
    return list((await session.execute(query.order_by(DEAD.c.id).limit(limit))).all())


async def mark_replayed(database: Database, tenant_id: str, ids: list[int], now: datetime) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(
            DEAD.update()
            .where(DEAD.c.tenant_id == tenant_id, DEAD.c.id.in_(ids))
            .values(status="replayed", replayed_at=now, replay_count=DEAD.c.replay_count + 1)
        )


async def purge_batch(
    database: Database, tenant_id: str | None, cutoff: datetime, batch: int
) -> int:
    """Delete up to ``batch`` entries older than ``cutoff``; short transactions, so writers
    are never blocked for long. ``tenant_id`` None purges entries of any tenant."""
    ids = sa.select(ENTRY.c.id).where(ENTRY.c.occurred_at < cutoff)
    if tenant_id is not None:
        ids = ids.where(ENTRY.c.tenant_id == tenant_id)
    ids = ids.order_by(ENTRY.c.id).limit(batch)
    async with database.engine.begin() as conn:
        result = await conn.execute(ENTRY.delete().where(ENTRY.c.id.in_(ids.scalar_subquery())))
    return int(result.rowcount or 0)


async def tenants_with_entries(database: Database) -> list[str]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(sa.select(ENTRY.c.tenant_id).distinct())
        return [r[0] for r in rows]
