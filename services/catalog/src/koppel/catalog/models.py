"""Catalog tables (SQLModel) and API schemas. Table names are unique across services: the
embedded mode loads every service's models into one metadata.

* ``product_links``: AccountView article (SKU = ART_CODE) ↔ eAccounting article id, the EAN,
  whether it is active there, and the hash of what an update would last have written. Written
  in the same transaction as the ``ProductUpserted`` / ``ProductDeactivated`` outbox row.
* ``catalog_cursors``: per tenant and flow, where the next incremental read starts
  (``CNG_DATE`` watermark and the codes seen at it) and when the last full sweep ran.
* ``stock_snapshots``: the quantity last pushed to eAccounting per article.
* ``catalog_rate_tokens``: the eAccounting rate-limit tokens of each tenant × endpoint, shared
  by the replicas (``koppel.connectors.common.sharedlimit``); used on PostgreSQL only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from koppel.common.messages import utcnow


def _stamp(nullable: bool = False) -> Any:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class ProductLink(SQLModel, table=True):
    """Which eAccounting article a SKU is, and the hash of what was last pushed."""

    __tablename__ = "product_links"

    tenant_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    ean: str | None = Field(default=None, max_length=64)
    eaccounting_article_id: str | None = Field(default=None, max_length=64)
    content_hash: str | None = Field(default=None, max_length=64)
    active: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_stamp())


class CatalogCursor(SQLModel, table=True):
    __tablename__ = "catalog_cursors"

    tenant_id: str = Field(primary_key=True, max_length=64)
    flow: str = Field(primary_key=True, max_length=16)
    value: str | None = Field(default=None, max_length=8000)
    last_full_sweep_at: datetime | None = Field(default=None, sa_column=_stamp(nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_stamp())


class StockSnapshot(SQLModel, table=True):
    __tablename__ = "stock_snapshots"

    tenant_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    quantity: float
    formula: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_stamp())


class RateToken(SQLModel, table=True):
    """One token of a (tenant connection, api, endpoint) rate limit: free from ``ready_at``
    (seconds on the database's clock, time-scaled), taken while ``holder`` is set."""

    __tablename__ = "catalog_rate_tokens"

    bucket: str = Field(primary_key=True, max_length=200)
    slot: int = Field(primary_key=True)
    ready_at: float = Field(default=0.0, sa_column=sa.Column(sa.Float(), nullable=False))
    holder: str | None = Field(default=None, max_length=32)


RATE_TOKENS_TABLE = "catalog_rate_tokens"

TABLES: list[type[SQLModel]] = [ProductLink, CatalogCursor, StockSnapshot, RateToken]


class ServiceInfo(BaseModel):
    """What ``GET /internal/catalog/info`` answers."""

    service: str
    handlers: list[str]
    tables: list[str]


class ProductLinkPublic(BaseModel):
    sku: str
    ean: str | None
    eaccounting_article_id: str | None
    active: bool
    updated_at: datetime


class StockSnapshotPublic(BaseModel):
    sku: str
    quantity: float
    formula: str
    updated_at: datetime
