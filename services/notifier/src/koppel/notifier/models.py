"""Notifier tables (SQLModel) and API schemas. Table names are unique across services: the
embedded mode loads every service's models into one metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from koppel.common.messages import utcnow
from koppel.notifier.alerts.tables import ALERT_TABLES

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(nullable: bool = False) -> Any:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class ActivityEntry(SQLModel, table=True):
    """One event of one flow, as the tenant's activity log shows it.

    ``message_id`` is unique: a redelivered event is recorded once (``ON CONFLICT DO
    NOTHING``), which is what lets the writer batch without an inbox row per message.
    """

    __tablename__ = "activity_entries"
    __table_args__ = (
        sa.Index("ix_activity_tenant_time", "tenant_id", "occurred_at", "id"),
        sa.Index("ix_activity_tenant_correlation", "tenant_id", "correlation_id"),
        sa.Index("ix_activity_tenant_entity", "tenant_id", "entity_key"),
        sa.Index("ix_activity_recorded", "recorded_at"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(_BIGINT, primary_key=True))
    tenant_id: str = Field(max_length=64)
    message_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, unique=True))
    event_type: str = Field(max_length=255)
    flow: str | None = Field(default=None, max_length=32)
    run_id: UUID | None = None
    correlation_id: UUID
    causation_id: UUID | None = None
    direction: str | None = Field(default=None, max_length=64)
    step: str = Field(max_length=32)
    status: str = Field(max_length=32)
    outcome: str | None = Field(default=None, max_length=32)
    entity_type: str | None = Field(default=None, max_length=32)
    source_id: str | None = Field(default=None, max_length=255)
    entity_key: str | None = Field(default=None, max_length=255)
    target_id: str | None = Field(default=None, max_length=255)
    reason_code: str | None = Field(default=None, max_length=128)
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    source_payload: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    target_payload: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    details: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    trace_id: str | None = Field(default=None, max_length=32)
    redacted: bool = False
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=_time())
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_time())


class DeadLetter(SQLModel, table=True):
    """A message the bus parked, kept with its body so the tenant can replay it."""

    __tablename__ = "dead_letters"
    __table_args__ = (sa.Index("ix_dead_letters_tenant_status", "tenant_id", "status", "id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(_BIGINT, primary_key=True))
    tenant_id: str = Field(max_length=64)
    event_message_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, unique=True))
    service: str = Field(max_length=64)
    queue: str = Field(max_length=255)
    routing_key: str = Field(max_length=255)
    original_message_id: str | None = Field(default=None, max_length=64)
    flow: str | None = Field(default=None, max_length=32)
    correlation_id: UUID | None = None
    entity_key: str | None = Field(default=None, max_length=255)
    reason_code: str = Field(max_length=128)
    reason: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    attempts: int = 0
    body: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    headers: str = Field(default="{}", sa_column=sa.Column(sa.Text(), nullable=False))
    status: str = Field(default="parked", max_length=16)  # parked | replayed
    replay_count: int = 0
    dead_lettered_at: datetime = Field(default_factory=utcnow, sa_column=_time())
    replayed_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))


class TenantPreferences(SQLModel, table=True):
    """What the notifier needs of a tenant's settings, refreshed from the gateway."""

    __tablename__ = "notifier_tenant_preferences"

    tenant_id: str = Field(primary_key=True, max_length=64)
    redact_personal_data: bool = False
    retention_days: int = 30
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time())


TABLES: list[type[SQLModel]] = [ActivityEntry, DeadLetter, TenantPreferences, *ALERT_TABLES]


# --- API schemas --------------------------------------------------------------------------


class ActivityPublic(BaseModel):
    id: int
    event_type: str
    flow: str | None
    run_id: UUID | None
    correlation_id: UUID
    direction: str | None
    step: str
    status: str
    outcome: str | None
    entity_type: str | None
    source_id: str | None
    entity_key: str | None
    target_id: str | None
    reason_code: str | None
    reason: str | None
    source: Any | None
    target: Any | None
    details: Any | None
    trace_id: str | None
    redacted: bool
    occurred_at: datetime


class ActivityPage(BaseModel):
    items: list[ActivityPublic]
    next_cursor: str | None


class DeadLetterPublic(BaseModel):
    id: int
    service: str
    queue: str
    routing_key: str
    original_message_id: str | None
    flow: str | None
    correlation_id: UUID | None
    entity_key: str | None
    reason_code: str
    reason: str
    attempts: int
    status: str
    replay_count: int
    dead_lettered_at: datetime
    replayed_at: datetime | None


class DeadLetterPage(BaseModel):
    items: list[DeadLetterPublic]
    next_cursor: str | None


class ReplayRequest(BaseModel):
    """Replay by ids, or everything parked that matches the filter (flow / reason_code)."""

    ids: list[int] | None = None
    flow: str | None = None
    reason_code: str | None = None
    limit: int = PydanticField(default=1000, ge=1, le=10000)


class ReplayResult(BaseModel):
    replayed: int
    ids: list[int]


class ServiceInfo(BaseModel):
    """What ``GET /internal/notifier/info`` answers."""

    service: str
    handlers: list[str]
    tables: list[str]
