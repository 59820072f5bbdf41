"""Orders tables (SQLModel) and API schemas. Table names must be unique across services:
the embedded mode loads every service's models into one metadata."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from koppel.common.messages import utcnow


class OrderLink(SQLModel, table=True):
    """Which AccountView order an eAccounting order became (the idempotency key of the saga)."""

    __tablename__ = "order_links"

    tenant_id: str = Field(primary_key=True, max_length=64)
    eaccounting_order_id: str = Field(primary_key=True, max_length=64)
    accountview_order_no: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


TABLES: list[type[SQLModel]] = [OrderLink]


class ServiceInfo(BaseModel):
    """What ``GET /internal/orders/info`` answers."""

    service: str
    handlers: list[str]
    tables: list[str]
