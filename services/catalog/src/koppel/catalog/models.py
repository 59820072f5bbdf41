"""Catalog tables (SQLModel) and API schemas. Table names must be unique across services:
the embedded mode loads every service's models into one metadata."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from koppel.common.messages import utcnow


class ProductLink(SQLModel, table=True):
    """Which eAccounting article a SKU is, and the hash of what was last pushed."""

    __tablename__ = "product_links"

    tenant_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    eaccounting_article_id: str | None = Field(default=None, max_length=64)
    content_hash: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


TABLES: list[type[SQLModel]] = [ProductLink]


class ServiceInfo(BaseModel):
    """What ``GET /internal/catalog/info`` answers."""

    service: str
    handlers: list[str]
    tables: list[str]
