"""Mapper tables (SQLModel) and API schemas.

Current rows (``mapper_mappings``, ``mapper_value_maps``: one per tenant × flow / name) are
what the handlers read; every saved version is also kept in a history table with who saved
it and when, so a mapping can be rolled back and an auditor can see every change. Every
row carries ``tenant_id`` and every query filters on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from koppel.common.messages import utcnow

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id_column() -> Any:
    return Field(default=None, sa_column=sa.Column(_ID, primary_key=True))


def _time_column() -> Any:
    return Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


class MappingRow(SQLModel, table=True):
    """The tenant's current mapping for one flow."""

    __tablename__ = "mapper_mappings"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "flow", name="uq_mapper_mappings_tenant_flow"),
    )

    id: int | None = _id_column()
    tenant_id: str = Field(max_length=64)
    flow: str = Field(max_length=32)
    version: int
    document: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    saved_by: str = Field(max_length=200)
    saved_at: datetime = _time_column()


class MappingVersionRow(SQLModel, table=True):
    """Every saved version of a mapping (the current one included)."""

    __tablename__ = "mapper_mapping_history"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id", "flow", "version", name="uq_mapper_mapping_history_version"
        ),
    )

    id: int | None = _id_column()
    tenant_id: str = Field(max_length=64)
    flow: str = Field(max_length=32)
    version: int
    document: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    saved_by: str = Field(max_length=200)
    saved_at: datetime = _time_column()
    action: str = Field(max_length=40)  # "save" or "rollback to 3"


class ValueMapRow(SQLModel, table=True):
    """The tenant's current value map ``name``."""

    __tablename__ = "mapper_value_maps"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "name", name="uq_mapper_value_maps_tenant_name"),
    )

    id: int | None = _id_column()
    tenant_id: str = Field(max_length=64)
    name: str = Field(max_length=40)
    version: int
    document: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    saved_by: str = Field(max_length=200)
    saved_at: datetime = _time_column()


class ValueMapVersionRow(SQLModel, table=True):
    __tablename__ = "mapper_value_map_history"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id", "name", "version", name="uq_mapper_value_map_history_version"
        ),
    )

    id: int | None = _id_column()
    tenant_id: str = Field(max_length=64)
    name: str = Field(max_length=40)
    version: int
    document: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    saved_by: str = Field(max_length=200)
    saved_at: datetime = _time_column()


TABLES: list[type[SQLModel]] = [MappingRow, MappingVersionRow, ValueMapRow, ValueMapVersionRow]


# --- API schemas ----------------------------------------------------------------------------


class MappingDocument(BaseModel):
    """What a tenant saves: settings and field overrides (see ``domain.mapping``)."""

    settings: dict[str, Any] = PydanticField(default_factory=dict)
    fields: dict[str, Any] = PydanticField(default_factory=dict)


class MappingPublic(BaseModel):
    flow: str
    version: int  # 0: never saved, the defaults apply
    document: dict[str, Any]
    effective_settings: dict[str, Any]
    saved_by: str | None = None
    saved_at: datetime | None = None


class MappingVersionPublic(BaseModel):
    version: int
    action: str
    saved_by: str
    saved_at: datetime
    document: dict[str, Any]


class RollbackRequest(BaseModel):
    version: int = PydanticField(ge=1)


class ValueMapDocument(BaseModel):
    entries: dict[str, str | int | float] = PydanticField(default_factory=dict)
    default: str | int | float | None = None


class ValueMapPublic(BaseModel):
    name: str
    version: int
    entries: dict[str, str | int | float]
    default: str | int | float | None
    saved_by: str | None = None
    saved_at: datetime | None = None


class PreviewRequest(BaseModel):
    """A sample record in the source API's shape, and optionally a draft mapping (else the
    saved one). ``enrichment`` is the orders poller's extra data (e-mail, customer...)."""

    sample: dict[str, Any]
    mapping: MappingDocument | None = None
    enrichment: dict[str, Any] = PydanticField(default_factory=dict)


class PreviewResponse(BaseModel):
    ok: bool
    target: dict[str, Any] | None = None
    customer: dict[str, Any] | None = None
    body: dict[str, Any] | None = None  # the exact AccountView POST body, for AccountView targets
    validation: dict[str, list[str]] = PydanticField(default_factory=dict)
    lineage: dict[str, Any] = PydanticField(default_factory=dict)
    warnings: list[str] = PydanticField(default_factory=list)
    error: dict[str, Any] | None = None
