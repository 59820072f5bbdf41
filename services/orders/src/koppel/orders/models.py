"""The orders service's tables (SQLModel) and API schemas. Table names are unique across
services: the embedded mode loads every service's models into one metadata.

The tables live in the service's own schema; no other service reads them:

* ``order_links``: eAccounting order ↔ AccountView order, one row per source order. The
  row is claimed (``pending``) in the transaction that sends ``EnsureCustomer``; its
  primary key makes two runs racing for the same order collide instead of both creating it.
* ``order_sagas``: one row per order and run (key: the correlation id the poller gave it),
  holding the mapped order until the customer is ensured.
* ``order_cursors``: where the next run reads from. ``order_runs``: which runs are dry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from koppel.common.messages import utcnow


def _stamp() -> Any:
    return sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


class LinkState:
    pending = "pending"
    synced = "synced"
    failed = "failed"


class OrderLink(SQLModel, table=True):
    __tablename__ = "order_links"

    tenant_id: str = Field(primary_key=True, max_length=64)
    source_id: str = Field(primary_key=True, max_length=64)
    order_number: str | None = Field(default=None, max_length=40)
    state: str = Field(max_length=16)
    correlation_id: UUID | None = Field(default=None, index=True)
    target_kind: str | None = Field(default=None, max_length=16)
    target_number: str | None = Field(default=None, max_length=40)
    debtor_number: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, max_length=2000)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_stamp())


class OrderSaga(SQLModel, table=True):
    __tablename__ = "order_sagas"

    correlation_id: UUID = Field(primary_key=True)
    tenant_id: str = Field(max_length=64, index=True)
    source_id: str = Field(max_length=64)
    run_id: UUID | None = None
    state: str = Field(max_length=32)
    target_kind: str = Field(max_length=16)
    mapped: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    debtor_number: str | None = Field(default=None, max_length=16)
    # Who is creating the order in AccountView right now, until when (see sync.CreateClaim).
    claimed_by: str | None = Field(default=None, max_length=64)
    create_attempts: int = 0
    lease_until: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_stamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_stamp())


class OrderCursor(SQLModel, table=True):
    __tablename__ = "order_cursors"

    tenant_id: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=8000)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_stamp())


class OrderRun(SQLModel, table=True):
    __tablename__ = "order_runs"

    run_id: UUID = Field(primary_key=True)
    tenant_id: str = Field(max_length=64)
    dry_run: bool = False
    fetched: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=_stamp())


TABLES: list[type[SQLModel]] = [OrderLink, OrderSaga, OrderCursor, OrderRun]


class ServiceInfo(BaseModel):
    """What ``GET /internal/orders/info`` answers."""

    service: str
    handlers: list[str]
    tables: list[str]


class OrderLinkPublic(BaseModel):
    """An order link as the internal API shows it."""

    source_id: str
    order_number: str | None
    state: str
    target_kind: str | None
    target_number: str | None
    debtor_number: str | None
    reason: str | None
    updated_at: datetime
