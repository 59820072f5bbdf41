"""The customers service's tables (SQLModel) and API schemas. Table names are unique
across services: the embedded mode loads every service's models into one metadata.

``customer_links`` maps (tenant, normalised e-mail) to the AccountView debtor. The row is
also the claim that serialises the creation of a new debtor: whoever inserts it first (the
primary key decides) creates the debtor; others wait for the link instead of creating a
second one. A claim has a lease, so a crashed claimer does not block the e-mail for ever;
the next one then finds the debtor by e-mail in AccountView if it was created after all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from koppel.common.messages import utcnow


def _stamp(nullable: bool = False) -> Any:
    return sa.Column(
        sa.DateTime(timezone=True), nullable=nullable, default=None if nullable else utcnow
    )


class CustomerLink(SQLModel, table=True):
    __tablename__ = "customer_links"

    tenant_id: str = Field(primary_key=True, max_length=64)
    email: str = Field(primary_key=True, max_length=255)
    debtor_number: str | None = Field(default=None, max_length=16)
    source_id: str | None = Field(default=None, max_length=64)
    fields_hash: str | None = Field(default=None, max_length=64)
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=_stamp(nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_stamp())


class CustomerCursor(SQLModel, table=True):
    __tablename__ = "customer_cursors"

    tenant_id: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=8000)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_stamp())


TABLES: list[type[SQLModel]] = [CustomerLink, CustomerCursor]


class ServiceInfo(BaseModel):
    """What ``GET /internal/customers/info`` answers."""

    service: str
    handlers: list[str]
    tables: list[str]


class CustomerLinkPublic(BaseModel):
    """A customer link as the internal API shows it (no claim internals)."""

    email: str
    debtor_number: str | None
    source_id: str | None
    updated_at: datetime
