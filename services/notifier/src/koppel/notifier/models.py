"""Notifier tables (SQLModel) and API schemas. Table names must be unique across services:
the embedded mode loads every service's models into one metadata."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from koppel.common.messages import utcnow


class ActivityEntry(SQLModel, table=True):
    """One event of one flow, as the tenant's activity log shows it."""

    __tablename__ = "activity_entries"
    __table_args__ = (sa.Index("ix_activity_entries_tenant_time", "tenant_id", "occurred_at"),)

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    )
    tenant_id: str = Field(max_length=64)
    message_id: UUID
    routing_key: str = Field(max_length=255)
    trace_id: str | None = Field(default=None, max_length=32)
    occurred_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


TABLES: list[type[SQLModel]] = [ActivityEntry]


class ServiceInfo(BaseModel):
    """What ``GET /internal/notifier/info`` answers."""

    service: str
    handlers: list[str]
    tables: list[str]
