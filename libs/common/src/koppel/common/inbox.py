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

from sqlalchemy import Column, DateTime, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
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


_table = InboxEntry.__table__  # type: ignore[attr-defined]
# Built once: SQLAlchemy caches its compiled form, so each check is only a cache lookup.
_PROCESSED = select(_table.c.handler).where(
    _table.c.handler == bindparam("handler"), _table.c.message_id == bindparam("message_id")
)
INSERT_ENTRY = _table.insert()


async def is_processed_on(engine: AsyncEngine, handler: str, message_id: UUID) -> bool:
    """``is_processed`` on a pooled connection, without an ORM session: the same query at
    about half the CPU, which counts because every delivery of every handler asks it."""
    async with engine.connect() as conn:
        row = await conn.execute(_PROCESSED, {"handler": handler, "message_id": message_id})
        return row.first() is not None


async def purge_inbox(session: AsyncSession, older_than: timedelta) -> int:
    """Delete inbox rows older than ``older_than``; returns how many. Caller commits."""
    cutoff = utcnow() - older_than
    result = await session.execute(delete(InboxEntry).where(col(InboxEntry.processed_at) < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
