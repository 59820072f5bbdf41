"""Reads and writes of alert rows shared by the handler, the scheduler and the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koppel.common.inbox import InboxEntry
from koppel.common.messages import utcnow
from koppel.notifier.alerts.domain import RuleView
from koppel.notifier.alerts.tables import (
    Alert,
    AlertAttempt,
    AlertChannel,
    AlertDelivery,
    AlertFold,
    AlertRule,
    FlowHealth,
)

RULES = AlertRule.__table__  # type: ignore[attr-defined]
CHANNELS = AlertChannel.__table__  # type: ignore[attr-defined]
ALERTS = Alert.__table__  # type: ignore[attr-defined]
FOLDS = AlertFold.__table__  # type: ignore[attr-defined]
DELIVERIES = AlertDelivery.__table__  # type: ignore[attr-defined]
ATTEMPTS = AlertAttempt.__table__  # type: ignore[attr-defined]
HEALTH = FlowHealth.__table__  # type: ignore[attr-defined]
INBOX = InboxEntry.__table__  # type: ignore[attr-defined]


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def dumps_list(values: list[Any] | set[Any] | None) -> str | None:
    return None if values is None else json.dumps(sorted(values))


def loads_list(text: str | None) -> list[Any] | None:
    return None if text is None else list(json.loads(text))


def insert_ignore(dialect: str, table: sa.Table, row: dict[str, Any]) -> Any:
    """INSERT that leaves an existing row (same primary key) alone."""
    maker: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    return maker(table).values(**row).on_conflict_do_nothing()


def upsert_success(dialect: str, tenant_id: str, flow: str, at: datetime) -> Any:
    maker: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = maker(HEALTH).values(tenant_id=tenant_id, flow=flow, last_success_at=at)
    return statement.on_conflict_do_update(
        index_elements=["tenant_id", "flow"],
        set_={"last_success_at": at},
        where=sa.or_(HEALTH.c.last_success_at.is_(None), HEALTH.c.last_success_at < at),
    )


async def claim_inbox(session: AsyncSession, dialect: str, handler: str, message_id: UUID) -> bool:
    """Insert the inbox row ``(handler, message_id)`` in the session's transaction; False when
    it is already there (a redelivery whose decision was committed before). A concurrent
    delivery's uncommitted row makes this wait for that transaction, as the runtime's own
    inbox insert would."""
    row = {"handler": handler, "message_id": message_id, "processed_at": utcnow()}
    result: Any = await session.execute(insert_ignore(dialect, INBOX, row))
    return bool(result.rowcount)


def rule_view(row: Any) -> RuleView:
    return RuleView(
        id=row.id,
        kind=row.kind,
        enabled=row.enabled,
        flows=loads_list(row.flows),
        reason_codes=loads_list(row.reason_codes),
        channel_ids=loads_list(row.channel_ids),
        silent_factor=row.silent_factor,
    )


async def enabled_channels(session: AsyncSession, tenant_id: str) -> dict[int, int | None]:
    """Enabled channel id -> its digest interval (None: send each alert at once)."""
    query = sa.select(CHANNELS.c.id, CHANNELS.c.digest_seconds).where(
        CHANNELS.c.tenant_id == tenant_id, CHANNELS.c.enabled.is_(True)
    )
    return {r.id: r.digest_seconds for r in (await session.execute(query)).all()}


def add_deliveries(
    session: AsyncSession,
    tenant_id: str,
    alert: Alert,
    channels: dict[int, int | None],
    targets: set[int],
    now: datetime,
) -> None:
    session.add(alert)
    for channel_id in sorted(targets):
        digest = channels.get(channel_id) is not None
        session.add(
            AlertDelivery(
                tenant_id=tenant_id,
                channel_id=channel_id,
                alert_id=alert.id,
                status="queued" if digest else "pending",
                next_attempt_at=None if digest else now,
                created_at=now,
            )
        )
