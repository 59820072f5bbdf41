"""Customers tables (SQLModel) and API schemas. Table names must be unique across services:
the embedded mode loads every service's models into one metadata."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from koppel.common.messages import utcnow


class CustomerLink(SQLModel, table=True):
    """Which AccountView debtor an e-mail address belongs to, per tenant."""

    __tablename__ = "customer_links"

    tenant_id: str = Field(primary_key=True, max_length=64)
    email: str = Field(primary_key=True, max_length=320)
    debtor_number: str = Field(max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


TABLES: list[type[SQLModel]] = [CustomerLink]


class ServiceInfo(BaseModel):
    """What ``GET /internal/customers/info`` answers."""

    service: str
    handlers: list[str]
    tables: list[str]
