"""The inbox: which messages each handler of this service has already handled.

A row ``(handler, message_id)`` is inserted in the same transaction as the handler's state
change and outbox rows (``UnitOfWork.commit``). The primary key makes a second insert fail,
so a redelivered message is a no-op (DESIGN.md section 4), even when two deliveries of it
race. Rows older than ``inbox_retention_seconds`` are purged by the relay's housekeeping:
by then the bus has long given up redelivering.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Column, DateTime, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from koppel.common.messages import utcnow


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    handler: str = Field(primary_key=True, max_length=200)
    message_id: UUID = Field(primary_key=True)
    processed_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )


async def is_processed(session: AsyncSession, handler: str, message_id: UUID) -> bool:
    row = await session.execute(
        select(col(InboxEntry.handler)).where(
            col(InboxEntry.handler) == handler,
            col(InboxEntry.message_id) == message_id,
        )
    )
    return row.first() is not None


async def purge_inbox(session: AsyncSession, older_than: timedelta) -> int:
    """Delete inbox rows older than ``older_than``; returns how many. Caller commits."""
    cutoff = utcnow() - older_than
    result = await session.execute(delete(InboxEntry).where(col(InboxEntry.processed_at) < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
